"""A killed training stage resumes its MLflow run and ends exactly where an uninterrupted run ends;
the same config and seed give identical metrics."""

import json
import os
import signal
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from qmlrepro.data.gaussian import prepare_gaussian
from qmlrepro.data.sequence import SequenceTaskSpec, prepare_sequences
from qmlrepro.stages import evaluate, staged_checkpoint, train
from qmlrepro.tracking.mlflow_run import tracking_uri

from .conftest import REPO, interrupt_at_checkpoint, run_script, without_timings

LONG_RUN = [
    "job=resume",
    "paper=example",
    "model=example/mlp",
    "profile=smoke",
    "paper.steps=5000",
    "paper.checkpoint_every=100",
    "paper.log_every=50",
    "profile.seeds=[0]",
]


def _without_timings(runs: list[dict]) -> list[dict]:
    """Each run's metrics minus wall-clock timings, the one thing a rerun may change."""
    return [without_timings(r["metrics"]) for r in runs]


def _scratch_project(root: Path) -> dict[str, str]:
    prepare_gaussian(root / "data" / "gaussian", 600, 400, seed=3)
    return {
        **os.environ,
        "QMLREPRO_ROOT": str(root),
        "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}",
    }


def test_killed_training_subprocess_resumes_to_identical_final_metrics(tmp_path):
    reference_env = _scratch_project(tmp_path / "reference")
    done = run_script("train.py", *LONG_RUN, cwd=tmp_path / "reference", env=reference_env)
    assert done.returncode == 0, done.stderr[-2000:]

    env = _scratch_project(tmp_path / "killed")
    checkpoint = staged_checkpoint(tmp_path / "killed" / "results" / "checkpoints" / "resume", 0)
    train_cmd = [sys.executable, str(REPO / "pipelines" / "train.py"), *LONG_RUN]
    killed_at, _, _ = interrupt_at_checkpoint(
        train_cmd, tmp_path / "killed", env, checkpoint, 1000, signal.SIGKILL
    )
    assert not killed_at["complete"] and killed_at["step"] < 5000
    metrics_file = tmp_path / "killed" / "results" / "metrics" / "resume" / "train.json"
    assert not metrics_file.exists()

    resumed = run_script("train.py", *LONG_RUN, cwd=tmp_path / "killed", env=env)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    reference = json.loads(
        (tmp_path / "reference" / "results" / "metrics" / "resume" / "train.json").read_text()
    )["runs"][0]
    after = json.loads(metrics_file.read_text())["runs"][0]
    assert after["metrics"] == reference["metrics"]  # bit-identical floats
    assert after["mlflow_run_id"] == killed_at["mlflow_run_id"]  # the same MLflow run continued

    client = MlflowClient(env["MLFLOW_TRACKING_URI"])
    experiment = client.get_experiment_by_name("qmlrepro/example")
    runs = client.search_runs([experiment.experiment_id])
    assert [r.info.run_id for r in runs] == [killed_at["mlflow_run_id"]]
    assert runs[0].info.status == "FINISHED"
    history = {
        m.step: m.value for m in client.get_metric_history(runs[0].info.run_id, "train/loss")
    }
    reference_client = MlflowClient(reference_env["MLFLOW_TRACKING_URI"])
    reference_run = reference_client.get_run(reference["mlflow_run_id"])
    reference_history = {
        m.step: m.value
        for m in reference_client.get_metric_history(reference_run.info.run_id, "train/loss")
    }
    assert history == reference_history  # every logged step, before and after the kill


@pytest.mark.parametrize(
    ("overrides", "backend"),
    [
        (["paper=example", "model=example/mlp", "profile.seeds=[0,1]"], "torch"),
        (
            [
                "paper=contextual",
                "model=contextual/quantum",
                "profile.seeds=[0]",
                "dataset.tasks=[{n:4,k:2}]",
            ],
            "aer_shots",
        ),
    ],
    ids=["example-mlp", "contextual-quantum"],
)
def test_same_config_and_seed_give_identical_metrics(project, overrides, backend):
    """Smoke profile on CPU: training, the tracked metrics and a (seeded) evaluation repeat."""
    if overrides[0] == "paper=example":
        prepare_gaussian(project / "data" / "gaussian", 600, 400, seed=3)
    else:
        spec = SequenceTaskSpec(4, 2, 8, 4, 4)
        prepare_sequences(project / "data" / "sequence", [spec], seed=7)
    first = json.loads(train(["job=a", "profile=smoke", *overrides]).read_text())
    second = json.loads(train(["job=b", "profile=smoke", *overrides]).read_text())
    assert _without_timings(first["runs"]) == _without_timings(second["runs"])
    assert first["runs"][0]["mlflow_run_id"] != second["runs"][0]["mlflow_run_id"]
    client = MlflowClient(tracking_uri(None))
    tracked = [
        {"metrics": client.get_run(r[0]["mlflow_run_id"]).data.metrics}
        for r in (first["runs"], second["runs"])
    ]
    assert _without_timings(tracked[:1]) == _without_timings(tracked[1:])
    again = [json.loads(evaluate(job, backend).read_text())["runs"] for job in ("a", "b")]
    assert _without_timings(again[0]) == _without_timings(again[1])
