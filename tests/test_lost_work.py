"""No lost work: a killed ``dvc repro`` resumes the same MLflow run, SIGTERM closes open runs, a
run's final state never goes backwards, and an interrupted rerun with another config leaves the
committed model (the one ``train.json`` describes) in place for evaluate."""

import json
import os
import signal
import subprocess
import sys

import pytest
import torch
import yaml
from mlflow.tracking import MlflowClient

from qmlrepro.cli import Terminated, sigterm_unwinds
from qmlrepro.data.gaussian import prepare_gaussian
from qmlrepro.stages import code_digest, evaluate, staged_checkpoint, train
from qmlrepro.tracking.mlflow_run import tracked_run, tracking_uri

from .conftest import BIN, REPO, env_for, fresh_copy, interrupt_at_checkpoint, run_script

EXAMPLE = ["paper=example", "model=example/mlp", "profile=smoke", "profile.seeds=[0]"]
# Long enough to be interrupted half-way on a busy machine; 50-step checkpoints.
LONG = ["paper.steps=1000", "paper.checkpoint_every=50", "paper.log_every=50"]


def _states(uri: str) -> dict[str, str]:
    """``{run id: status}`` of every run in the store."""
    client = MlflowClient(uri)
    experiments = [e.experiment_id for e in client.search_experiments()]
    return {r.info.run_id: r.info.status for r in client.search_runs(experiments)}


def _train_cmd(*overrides: str) -> list[str]:
    return [sys.executable, str(REPO / "pipelines" / "train.py"), *overrides]


def test_a_failure_never_moves_a_run_state_backwards(project):
    client = MlflowClient(tracking_uri(None))

    def status(run_id: str) -> str:
        return client.get_run(run_id).info.status

    with pytest.raises(RuntimeError), tracked_run(None, "qmlrepro/t", "fresh", {}) as fresh:
        raise RuntimeError("boom")
    assert status(fresh.run_id) == "FAILED"
    assert client.get_run(fresh.run_id).data.tags["error"] == "RuntimeError: boom"
    with pytest.raises(KeyboardInterrupt), tracked_run(None, "qmlrepro/t", "cut", {}) as cut:
        raise KeyboardInterrupt
    assert status(cut.run_id) == "KILLED"

    with tracked_run(None, "qmlrepro/t", "done", {}) as done:
        pass
    for exc in (RuntimeError("late"), KeyboardInterrupt()):
        with pytest.raises(type(exc)), tracked_run(None, "qmlrepro/t", "x", {}, done.run_id):
            assert status(done.run_id) == "FINISHED"  # not RUNNING, even while open
            raise exc
        assert status(done.run_id) == "FINISHED"
    assert client.get_run(done.run_id).data.tags["error"] == "KeyboardInterrupt: "

    with tracked_run(None, "qmlrepro/t", "again", {}, cut.run_id):  # an interrupted run resumed
        assert status(cut.run_id) == "RUNNING"
    assert status(cut.run_id) == "FINISHED"


def test_sigterm_raises_once_and_the_old_handler_comes_back():
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Terminated), sigterm_unwinds():
        os.kill(os.getpid(), signal.SIGTERM)
        signal.sigtimedwait([], 5)  # unreachable: the handler raises first
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_finished_job_retrains_and_a_changed_config_gets_a_new_run(project, monkeypatch):
    prepare_gaussian(project / "data" / "gaussian", 600, 400, seed=3)
    first = json.loads(train(["job=j", *EXAMPLE]).read_text())["runs"][0]
    staging = staged_checkpoint(project / "results" / "checkpoints" / "j", 0).parent
    assert not staging.exists()  # a finished attempt leaves nothing to resume or to cache
    again = json.loads(train(["job=j", *EXAMPLE]).read_text())["runs"][0]
    # A finished job trains afresh (dvc repro -f, new data): a new run, the same numbers.
    assert again["mlflow_run_id"] != first["mlflow_run_id"]
    assert again["metrics"] == first["metrics"]

    monkeypatch.setattr("qmlrepro.stages.code_digest", lambda paper: "other training code")
    new_code = json.loads(train(["job=j", *EXAMPLE]).read_text())["runs"][0]
    assert new_code["mlflow_run_id"] != first["mlflow_run_id"]
    other_lr = json.loads(train(["job=j", *EXAMPLE, "paper.lr=0.01"]).read_text())["runs"][0]
    assert other_lr["mlflow_run_id"] not in (first["mlflow_run_id"], new_code["mlflow_run_id"])
    assert other_lr["metrics"] != first["metrics"]
    evaluated = json.loads(evaluate("j", "torch").read_text())["runs"][0]
    assert evaluated["metrics"]["test_loss"] == other_lr["metrics"]["test_loss"]
    assert set(_states(tracking_uri(None)).values()) == {"FINISHED"}


def test_code_digest_follows_the_training_files_only():
    assert code_digest("example") == code_digest("example") != code_digest("qssl")
    assert code_digest("no-such-paper") == "unknown"  # then reruns resume by config hash alone


def test_a_killed_rerun_with_another_lr_leaves_the_committed_model(project):
    prepare_gaussian(project / "data" / "gaussian", 600, 400, seed=3)
    trained = json.loads(train(["job=lr", *EXAMPLE, *LONG]).read_text())["runs"][0]
    committed = project / "results" / "checkpoints" / "lr" / "seed0.pt"
    before = committed.read_bytes()

    staged = staged_checkpoint(committed.parent, 0)
    cmd = _train_cmd("job=lr", *EXAMPLE, *LONG, "paper.lr=0.01")
    killed, _, _ = interrupt_at_checkpoint(
        cmd, project, dict(os.environ), staged, 100, signal.SIGKILL
    )
    assert killed["step"] < 1000  # model B half-trained in in-progress/ ...
    assert killed["config_hash"] != torch.load(committed, weights_only=False)["config_hash"]
    assert committed.read_bytes() == before  # ... model A, which train.json describes, intact

    evaluated = json.loads(evaluate("lr", "torch").read_text())["runs"][0]
    assert evaluated["mlflow_run_id"] == trained["mlflow_run_id"]
    for key in ("test_accuracy", "test_loss"):
        assert evaluated["metrics"][key] == trained["metrics"][key]  # model A, bit for bit


def test_sigterm_mid_training_closes_the_runs_and_a_rerun_resumes(project):
    prepare_gaussian(project / "data" / "gaussian", 600, 400, seed=3)
    overrides = ["job=term", *EXAMPLE, *LONG, "profile.seeds=[0,1]"]
    staged = staged_checkpoint(project / "results" / "checkpoints" / "term", 1)
    env = dict(os.environ)
    killed, rc, err = interrupt_at_checkpoint(
        _train_cmd(*overrides), project, env, staged, 100, signal.SIGTERM
    )
    assert rc == 143 and "Traceback" not in err, err
    assert "interrupted: finished work is saved" in err
    done_id = torch.load(staged_checkpoint(staged.parent.parent, 0), weights_only=False)[
        "mlflow_run_id"
    ]
    uri = tracking_uri(None)
    assert _states(uri) == {done_id: "FINISHED", killed["mlflow_run_id"]: "KILLED"}

    rerun = run_script("train.py", *overrides, cwd=project, env=env)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    runs = json.loads((project / "results" / "metrics" / "term" / "train.json").read_text())
    assert [r["mlflow_run_id"] for r in runs["runs"]] == [done_id, killed["mlflow_run_id"]]
    assert _states(uri) == {done_id: "FINISHED", killed["mlflow_run_id"]: "FINISHED"}


@pytest.mark.slow
def test_killed_dvc_repro_resumes_the_same_run_to_identical_metrics(tmp_path):
    """``kill -9`` of ``dvc repro train@example-mlp`` and its stage, then ``dvc repro`` again."""
    copy = fresh_copy(tmp_path)
    params = yaml.safe_load((copy / "params.yaml").read_text())
    params["profile"] = "smoke"
    overrides = "model=example/mlp paper.steps=1500 paper.checkpoint_every=100 profile.seeds=[0]"
    params["train"]["example-mlp"]["overrides"] = overrides
    (copy / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    env = env_for(copy)
    repro = [str(BIN / "dvc"), "repro", "train@example-mlp"]
    staged = staged_checkpoint(copy / "results" / "checkpoints" / "example-mlp", 0)
    killed, _, _ = interrupt_at_checkpoint(repro, copy, env, staged, 500, signal.SIGKILL)
    assert killed["step"] < 1500
    uri = f"sqlite:///{copy / 'mlflow.db'}"
    assert _states(uri) == {killed["mlflow_run_id"]: "RUNNING"}  # what the kill left

    again = subprocess.run(repro, cwd=copy, env=env, capture_output=True, text=True, timeout=900)
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
    resumed = json.loads((copy / "results/metrics/example-mlp/train.json").read_text())["runs"][0]
    assert resumed["mlflow_run_id"] == killed["mlflow_run_id"]
    assert _states(uri) == {killed["mlflow_run_id"]: "FINISHED"}

    flags = ["job=reference", "profile=smoke", "paper=example", *overrides.split()]
    reference = run_script("train.py", *flags, cwd=copy, env=env)  # the same job, uninterrupted
    assert reference.returncode == 0, reference.stderr[-2000:]
    uninterrupted = json.loads((copy / "results/metrics/reference/train.json").read_text())
    assert resumed["metrics"] == uninterrupted["runs"][0]["metrics"]  # bit-identical floats


def test_retraining_one_seed_keeps_the_jobs_other_finished_seeds(project):
    """``seed=1`` on a finished two-seed job retrains seed 1 only; train.json still lists both
    seeds (evaluate and the report see them) and the recorded overrides do not pin seed 1."""
    prepare_gaussian(project / "data" / "gaussian", 600, 400, seed=3)
    both = json.loads(train(["job=two", *EXAMPLE, "profile.seeds=[0,1]"]).read_text())["runs"]
    again = json.loads(train(["job=two", *EXAMPLE, "profile.seeds=[0,1]", "seed=1"]).read_text())
    assert [r["seed"] for r in again["runs"]] == [0, 1]
    assert again["runs"][0] == both[0]  # seed 0 untouched
    assert again["runs"][1]["mlflow_run_id"] != both[1]["mlflow_run_id"]
    assert again["runs"][1]["metrics"] == both[1]["metrics"]  # retrained, same numbers
    saved = json.loads((project / "results/checkpoints/two/overrides.json").read_text())
    assert not any(o.startswith("seed=") for o in saved["overrides"])
    assert len(json.loads(evaluate("two", "torch").read_text())["runs"]) == 2
