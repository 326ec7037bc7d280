"""The interface between the generic stages and a paper's experiment logic."""

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig

from qmlrepro.quantum.executor import Executor
from qmlrepro.records import Records
from qmlrepro.tracking.mlflow_run import TrackedRun


@dataclass
class RunContext:
    """What one (job, seed) gets from the stage: where to log, where to checkpoint, on what.

    ``executor`` is the backend's executor, built once by the stage from ``backend.executor``
    for this seed (models take their quantum layers from it: ``executor.layer(spec, init)``);
    ``reference`` the exact torch statevector executor in float64 on ``device``, what a
    backend's numbers are compared with. In evaluation, ``eval_inputs`` caps the test inputs
    (``evaluation.<backend>.inputs``; None: the paper's own choice) and ``sweep`` names this
    evaluation's point of the declared sweep (e.g. ``{"shots": 1000}``; empty without one)."""

    seed: int
    run: TrackedRun
    checkpoint: Path
    device: torch.device
    config_hash: str = ""  # a checkpoint from another configuration is never resumed
    executor: Executor | None = None
    reference: Executor | None = None
    eval_inputs: int | None = None
    sweep: dict[str, Any] = field(default_factory=dict)


class Experiment(ABC):
    """A paper's train/evaluate logic for one composed config (one model, one profile).

    :meth:`train` and :meth:`evaluate` return :class:`~qmlrepro.records.Records`: each number with
    its dimensions (``records.add("test_kl", kl, n=4, k=2, memory=3)``), never dimensions
    spelled into the metric's name; the stage adds the seed, job, model and backend (and an
    evaluation's sweep point). A plain ``{name: value}`` dict is taken as records without
    dimensions.

    ``takes_eval_inputs``: whether :meth:`evaluate` honours ``ctx.eval_inputs`` (a cap on the
    test inputs); the stage refuses ``evaluation.<backend>.inputs`` for one that does not.
    What DVC lists as a job's metrics (mean, std, 95% CI over seeds of its headline records) is
    the report's choice: ``SUMMARY`` in the paper's ``claims.py``, written by the report stage."""

    takes_eval_inputs: bool = False

    def __init__(self, cfg: DictConfig) -> None:
        self.cfg = cfg

    @abstractmethod
    def train(self, ctx: RunContext) -> Records | dict[str, float]:
        """Train from scratch (or resume from ``ctx.checkpoint``); return the final records."""

    @abstractmethod
    def evaluate(self, ctx: RunContext) -> Records | dict[str, float]:
        """Evaluate the trained ``ctx.checkpoint`` on the configured backend; return records."""

    def dims(self) -> dict[str, int | float | str | bool]:
        """The job's constant dimensions, those that tell this paper's jobs apart beyond model
        and backend (e.g. ``{"task": "mnist01"}``): every record of the job carries them
        (``Records(**self.dims())``), and the stage writes them into the job's metrics files,
        also for a job skipped in this profile, so a report finds jobs by what they are."""
        return {}

    def describe(self) -> dict[str, float | int | str]:
        """Facts about the model logged once per run (parameter counts, qubits, ...)."""
        return {}
