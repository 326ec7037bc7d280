# qmlrepro — every target sets up what it needs (`make setup` is implied).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
PROFILE ?= default
export PATH := $(BIN):$(PATH)
# Offline MNIST: point QMLREPRO_DATA_ROOT at a folder holding MNIST/raw/ (CI: ../shared/data).
SHARED_DATA := $(abspath ../shared/data)
ifeq ($(origin QMLREPRO_DATA_ROOT), undefined)
  ifneq ($(wildcard $(SHARED_DATA)/MNIST/raw),)
    export QMLREPRO_DATA_ROOT := $(SHARED_DATA)
  endif
endif

.PHONY: help setup test test-fast reproduce-paper reproduce-qssl-cifar10 smoke bench mlflow-ui lint format data-cifar10 lock clean-venv

help:
	@echo "make reproduce-paper   all papers, default profile (PROFILE=paper for full scale)"
	@echo "make reproduce-<paper> one paper (e.g. make reproduce-example)"
	@echo "make test              the test suite (what CI runs)"
	@echo "make smoke             whole pipeline on the smoke profile (seconds per stage)"
	@echo "make bench             benchmarks -> results/bench/*.json"
	@echo "make mlflow-ui         browse runs at http://127.0.0.1:5000"
	@echo "make lint              ruff check + format check"

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $@

setup: $(STAMP)

test: setup
	$(PY) -m pytest -q

test-fast: setup
	$(PY) -m pytest -q -m "not slow"

reproduce-paper: setup
	$(PY) pipelines/use_profile.py $(PROFILE)
	dvc repro
	@echo "report: results/REPORT.md   runs: make mlflow-ui"

reproduce-%: setup
	$(PY) pipelines/use_profile.py $(PROFILE)
	dvc repro $$($(PY) pipelines/stage_targets.py $*)
	dvc repro --single-item report
	@echo "report: results/REPORT.md   runs: make mlflow-ui"

# The qssl jobs on CIFAR-10 (the paper's data; downloads it), outside the DVC graph.
reproduce-qssl-cifar10: setup data-cifar10
	$(PY) pipelines/run_variant.py paper=qssl variant=cifar10 profile=$(PROFILE) dataset=cifar10
	@echo "report: results/variants/cifar10/REPORT.md"

smoke: setup
	$(PY) pipelines/use_profile.py smoke
	dvc repro
	@echo "report: results/REPORT.md   runs: make mlflow-ui   (back to default: make reproduce-paper)"

bench: setup
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev,bench]"
	$(PY) benchmarks/run.py

mlflow-ui: setup
	mlflow ui --backend-store-uri sqlite:///$(CURDIR)/mlflow.db --host 127.0.0.1 --port 5000

lint: setup
	ruff check .
	ruff format --check .

format: setup
	ruff format .
	ruff check --fix .

data-cifar10: setup
	$(PY) pipelines/prepare_cifar10.py

# Re-pin every package after changing pyproject.toml dependencies.
lock: setup
	$(PY) -m pip freeze --exclude-editable --exclude qmlrepro | grep -v '^-e ' > constraints.txt

clean-venv:
	rm -rf $(VENV)
