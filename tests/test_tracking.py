"""The MLflow store shared by parallel processes (sweeps, queued DVC experiments)."""

import subprocess
import sys
import textwrap

from mlflow.tracking import MlflowClient

WRITER = textwrap.dedent(
    """
    import sys
    from qmlrepro.tracking.mlflow_run import tracked_run

    uri, worker = sys.argv[1], int(sys.argv[2])
    for r in range(2):
        tags = {"worker": str(worker)}
        with tracked_run(uri, "qmlrepro/concurrency", f"w{worker}r{r}", tags) as run:
            run.log_params({f"p{k}": str(worker * 100 + k) for k in range(20)})
            for step in range(30):
                run.log_metrics({"loss": worker + step / 100}, step)
    """
)


def test_concurrent_writers_on_a_fresh_sqlite_store_lose_nothing(tmp_path):
    uri = f"sqlite:///{tmp_path / 'shared' / 'mlflow.db'}"
    workers = 6
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, uri, str(w)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(workers)
    ]
    outcomes = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    assert all(code == 0 for code, _ in outcomes), [err[-500:] for code, err in outcomes if code]
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("qmlrepro/concurrency")
    runs = client.search_runs([experiment.experiment_id], max_results=100)
    assert sorted(r.info.run_name for r in runs) == sorted(
        f"w{w}r{r}" for w in range(workers) for r in range(2)
    )
    for run in runs:
        worker = int(run.data.tags["worker"])
        assert run.info.status == "FINISHED"
        assert run.data.params == {f"p{k}": str(worker * 100 + k) for k in range(20)}
        history = client.get_metric_history(run.info.run_id, "loss")
        assert sorted(m.step for m in history) == list(range(30))
        assert all(abs(m.value - (worker + m.step / 100)) < 1e-12 for m in history)
