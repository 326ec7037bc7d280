"""End to end: `dvc repro` of the smoke profile in a fresh copy, then its runs read back over
MLflow's REST API from a real `mlflow ui` process on a loopback port."""

import json
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from .conftest import BIN, env_for, fresh_copy, requires_mnist

pytestmark = [pytest.mark.slow, requires_mnist]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url: str, body: dict) -> dict:
    req = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


@pytest.fixture(scope="module")
def smoke_project(tmp_path_factory) -> Path:
    copy = fresh_copy(tmp_path_factory.mktemp("clone"))
    env = env_for(copy)
    subprocess.run(
        [str(BIN / "python"), "pipelines/use_profile.py", "smoke"], cwd=copy, env=env, check=True
    )
    first = subprocess.run(
        [str(BIN / "dvc"), "repro"], cwd=copy, env=env, capture_output=True, text=True, timeout=1800
    )
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    return copy


def test_smoke_repro_writes_report_and_is_idempotent(smoke_project):
    report = (smoke_project / "results" / "REPORT.md").read_text()
    assert "Profile **smoke**" in report and "## Verdicts" in report
    # two seeds are below every claim's minimum: no firm verdict can come out of a smoke run
    assert "**too few seeds**" in report
    for firm in ("**reproduced**", "**partly reproduced**", "**not reproduced**"):
        assert firm not in report, firm
    assert list((smoke_project / "results" / "plots").glob("*.png"))
    for name in ("x28", "x4_bilinear_0v1"):
        assert (smoke_project / "data" / "mnist" / f"{name}.pt").is_file()
    again = subprocess.run(
        [str(BIN / "dvc"), "repro"],
        cwd=smoke_project,
        env=env_for(smoke_project),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert again.returncode == 0
    assert "Data and pipelines are up to date" in again.stdout + again.stderr
    assert "Running stage" not in again.stdout


def _dvc_json(project: Path, *args: str) -> dict:
    done = subprocess.run(
        [str(BIN / "dvc"), *args, "--json"],
        cwd=project,
        env=env_for(project),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def test_dvc_reads_summary_metrics_and_plots(smoke_project):
    """`dvc metrics show` lists the mean (std, CI) over seeds per record and model; `dvc plots
    show` renders the report's curves from results/series."""
    metrics = _dvc_json(smoke_project, "metrics", "show")
    files = next(iter(metrics.values()))["data"]
    summary = files["results/summary/example-mlp.json"]["data"]
    accuracy = summary["train"]["test_accuracy"]
    assert accuracy["n_seeds"] == 2 and 0 <= accuracy["ci_low"] <= accuracy["mean"] <= 1
    assert summary["eval-torch"]["test_accuracy"]["mean"] == accuracy["mean"]
    # one file per job: accuracy, KL, P_opt and fidelity means are all there
    names = {
        name for body in files.values() for stage in body.get("data", {}).values() for name in stage
    }
    assert {"probe_best_accuracy", "test_kl", "p_opt", "fidelity", "test_accuracy"} <= names
    assert all(f.startswith("results/summary/") for f in files)  # per-seed detail is no metric
    plots = _dvc_json(smoke_project, "plots", "show")["data"]
    rendered = {path for path, views in plots.items() if views and views[0]["type"] == "vega"}
    assert {
        "results/series/hypernet_p_opt_vs_depth.csv",
        "results/series/contextual_probe_bounds.csv",
        "results/series/qresnet_fidelity_vs_degree.csv",
        "results/series/hqvit_accuracy_vs_shots.csv",
    } <= rendered
    values = plots["results/series/hypernet_p_opt_vs_depth.csv"][0]["content"]["data"]["values"]
    assert values and {"depth", "line", "p_opt"} <= set(values[0])


def test_runs_are_visible_through_a_real_mlflow_server(smoke_project):
    port = free_port()
    server = subprocess.Popen(
        [
            str(BIN / "mlflow"),
            "ui",
            "--backend-store-uri",
            f"sqlite:///{smoke_project / 'mlflow.db'}",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=smoke_project,
        env=env_for(smoke_project),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("mlflow ui did not come up")
                time.sleep(1)
        experiments = post(f"{base}/api/2.0/mlflow/experiments/search", {"max_results": 100})
        names = {e["name"]: e["experiment_id"] for e in experiments["experiments"]}
        assert "qmlrepro/example" in names
        runs = post(
            f"{base}/api/2.0/mlflow/runs/search",
            {"experiment_ids": [names["qmlrepro/example"]], "max_results": 100},
        )["runs"]
        tags_of = {
            r["info"]["run_id"]: {t["key"]: t["value"] for t in r["data"]["tags"]} for r in runs
        }
        reports = [r for r in runs if tags_of[r["info"]["run_id"]].get("stage") == "report"]
        runs = [r for r in runs if r not in reports]
        assert len(runs) == 4  # 2 jobs x 2 smoke seeds
        # the report stage's run holds the section's figure (and REPORT.md)
        (report,) = reports
        listed = urllib.request.urlopen(
            f"{base}/api/2.0/mlflow/artifacts/list?run_id={report['info']['run_id']}&path=plots",
            timeout=10,
        )
        files = {f["path"] for f in json.loads(listed.read())["files"]}
        assert "plots/example_accuracy.png" in files
        for run in runs:
            tags = tags_of[run["info"]["run_id"]]
            metrics = {m["key"] for m in run["data"]["metrics"]}
            assert tags["profile"] == "smoke" and len(tags["git_commit"]) == 40
            assert {"final/test_accuracy", "eval/torch/test_accuracy"} <= metrics
            assert run["info"]["status"] == "FINISHED"
    finally:
        server.terminate()
        server.wait(timeout=30)
