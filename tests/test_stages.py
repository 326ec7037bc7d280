"""Generic train/evaluate stages and the report, in-process on the smoke profile."""

import json

from mlflow.tracking import MlflowClient

from qmlrepro.data.gaussian import prepare_gaussian
from qmlrepro.report.writer import stage_list, write_report
from qmlrepro.stages import evaluate, train
from qmlrepro.tracking.mlflow_run import flatten, tracking_uri


def test_train_evaluate_report_roundtrip(project):
    prepare_gaussian(project / "data" / "gaussian", 600, 400, seed=3)
    overrides = [
        "job=ex-mlp",
        "profile=smoke",
        "paper=example",
        "model=example/mlp",
        "paper.steps=20",
        "profile.seeds=[0,1,2]",
    ]
    train_json = train(overrides)
    record = json.loads(train_json.read_text())
    assert [r["seed"] for r in record["runs"]] == [0, 1, 2]
    assert record["describe"]["n_params"] == 33
    assert (project / "results" / "checkpoints" / "ex-mlp" / "seed2.pt").is_file()

    eval_json = evaluate("ex-mlp", "torch")
    evaluated = json.loads(eval_json.read_text())
    for trained, checked in zip(record["runs"], evaluated["runs"], strict=True):
        assert checked["mlflow_run_id"] == trained["mlflow_run_id"]  # logged into the train run
        assert checked["metrics"]["test_accuracy"] == trained["metrics"]["test_accuracy"]

    client = MlflowClient(tracking_uri(None))
    experiment = client.get_experiment_by_name("qmlrepro/example")
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 3
    run = client.get_run(record["runs"][0]["mlflow_run_id"])
    assert run.data.tags["profile"] == "smoke" and run.data.tags["seed"] == "0"
    assert "git_commit" in run.data.tags and run.data.params["paper.steps"] == "20"
    assert "eval/torch/test_accuracy" in run.data.metrics
    history = client.get_metric_history(run.info.run_id, "train/loss")
    assert [m.step for m in history] == [10, 20]
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"config.yaml", "checkpoints"} <= artifacts

    jobs = stage_list({"ex-mlp": {}}, {"e": {"job": "ex-mlp", "backend": "torch"}})
    written = write_report(
        project / "results", jobs, "smoke", {"git_commit": "abc"}, project / "results" / "REPORT.md"
    )
    report = (project / "results" / "REPORT.md").read_text()
    assert "Pipeline self-check" in report and "example/mlp (33 params)" in report
    assert record["runs"][0]["mlflow_run_id"][:8] in report
    assert any(p.suffix == ".png" and p.stat().st_size > 1000 for p in written)


def test_report_lists_stages_not_run_yet(project):
    jobs = stage_list({"never-ran": {}}, {})
    write_report(project / "results", jobs, "smoke", {}, project / "results" / "REPORT.md")
    report = (project / "results" / "REPORT.md").read_text()
    assert "metrics/never-ran/train.json" in report and "no job of this paper has run" in report


def test_flatten_config_for_mlflow_params():
    assert flatten({"a": {"b": 1, "c": {"d": [1, 2]}}, "e": None}) == {
        "a.b": "1",
        "a.c.d": "[1, 2]",
        "e": "None",
    }
