"""Configuration: composition, schema validation, and one-line errors before any work."""

import pytest

from qmlrepro.config.compose import compose_config
from qmlrepro.errors import ConfigError

from .conftest import run_script


def test_default_composition_selects_paper_dataset_and_model():
    cfg = compose_config(["job=x"])
    assert cfg.paper.id == "example"
    assert cfg.dataset.name == "gaussian"
    assert cfg.choices.model == "example/mlp"
    assert cfg.profile.name == "default" and len(cfg.profile.seeds) == 5


def test_profile_specialisation_applies_per_paper_and_dataset():
    smoke = compose_config(["profile=smoke"])
    default = compose_config([])
    assert smoke.paper.steps < default.paper.steps
    seq_smoke = compose_config(["dataset=sequence", "profile=smoke"]).dataset
    seq_default = compose_config(["dataset=sequence"]).dataset
    assert len(seq_smoke.tasks) < len(seq_default.tasks)


def test_command_line_model_beats_paper_default():
    assert compose_config(["model=example/logistic"]).choices.model == "example/logistic"


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["profile=nope"], "unknown option profile=nope; choose one of: default, paper, smoke"),
        (["dataset.n_train=-3"], "dataset.n_train=-3 must be a positive integer"),
        (["dataset.n_train=abc"], "could not be converted to Integer (key dataset.n_train)"),
        (["dataset.nope=1"], "Could not override 'dataset.nope'"),
        (["model=example/zzz"], "example/logistic, example/mlp,"),
        (["backend.device=tpu"], "backend.device=tpu is not one of auto, cpu, cuda"),
        (["profile.seeds=[]"], "profile.seeds is empty"),
        (["profile.seeds=[1,1]"], "must be distinct"),
        (["paper.lr=-1"], "paper.lr=-1.0 must be a finite number > 0"),
        (["dataset=mnist", "dataset.variant=x99"], "dataset.variant=x99 is not a prepared variant"),
        (["dataset=sequence", "dataset.tasks=[{n:3,k:5}]"], "needs 1 <= k <= n <= 16"),
        (["dataset=sequence", "dataset.theta_levels=1"], "theta_levels=1 must be >= 2"),
        (["backend.shots=0"], "backend.shots=0 must be a positive integer"),
        (["seed"], "Error parsing override 'seed'"),
        (["paper=contextual", "paper.val_fraction=1.5"], "val_fraction=1.5 must be in (0, 1)"),
        (
            ["paper=contextual", "paper.kl_threshold=0"],
            "kl_threshold=0.0 must be a finite number > 0",
        ),
        (["paper=contextual", "paper.sizes=[]"], "paper.sizes=[] must be a non-empty list"),
        (["paper=contextual", "paper.eval_shots=0"], "eval_shots=0 must be a positive integer"),
        (["paper=qresnet", "paper.block_degrees=[2]"], "QSVT degrees must be odd"),
        (["paper=qresnet", "paper.scaling_epsilon=2"], "scaling_epsilon=2.0 must be in (0, 1)"),
        (["paper=qresnet", "paper.channels=0"], "paper.channels=0 must be a positive integer"),
        (["paper=contextual", "model=contextual/zzz"], "contextual/gru, contextual/lstm"),
    ],
)
def test_bad_overrides_give_one_clear_line(overrides, expected):
    with pytest.raises(ConfigError) as err:
        compose_config(overrides)
    message = str(err.value)
    assert expected in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["job=x", "profile=nope"], "error: unknown option profile=nope"),
        (["job=x", "dataset.n_train=-3"], "error: dataset.n_train=-3 must be a positive integer"),
    ],
)
def test_cli_prints_a_single_error_line_without_traceback(project, args, expected):
    proc = run_script("train.py", *args, cwd=project)
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines == [lines[0]] and lines[0].startswith(expected), proc.stderr
    assert not (project / "results").exists(), "a config error must not start any work"
