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


def test_every_key_reaches_mlflow_and_distinct_keys_stay_distinct(tmp_path):
    """The keys hypernet's 3-vs-7 task emits (alphabet meanings with braces and commas) plus
    every way a key can break MLflow's rules, logged for real as metrics, params and tags."""
    from qmlrepro.papers.hypernet.bnn import LogisticTask
    from qmlrepro.tracking.keys import MAX_KEY_LENGTH, mlflow_key
    from qmlrepro.tracking.mlflow_run import tracked_run

    task = LogisticTask("mnist37", "v", (3, 7), 7, alphabet_bits=2)
    meanings = task.choices["alphabet"][1]
    hypernet = [f"d{d}/choice/alphabet/{m}" for d in (1, 2) for m in meanings]
    long = "x" * 300
    awkward = [
        "d1/choice/alphabet/(0,1)", "d1/choice/alphabet/[0,1]", f"{long}a", f"{long}b",
        "a//b", "a/./b", "../up", "/lead", "trail/", "é", "",
    ]  # fmt: skip
    fine = ["final/d2/p_opt", "eval/aer_shots/acc", "paper.lr", "tag with space:1"]
    names = hypernet + awkward + fine
    keys = [mlflow_key(n) for n in names]
    assert len(set(keys)) == len(names)
    assert [mlflow_key(n) for n in fine] == fine  # accepted keys keep their names
    assert all(len(k) <= MAX_KEY_LENGTH for k in keys)
    assert keys[0].startswith("d1/choice/alphabet/_0_1_-")

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    with tracked_run(uri, "qmlrepro/keys", "keys", {}) as run:
        run.log_metrics({n: i for i, n in enumerate(names)}, step=1)
        run.log_params({n: str(i) for i, n in enumerate(names)})
        run.set_tags({n: str(i) for i, n in enumerate(names)})
    data = MlflowClient(tracking_uri=uri).get_run(run.run_id).data
    expected = {k: i for i, k in enumerate(keys)}
    assert data.metrics == expected
    assert data.params == {k: str(i) for k, i in expected.items()}
    assert {k: data.tags[k] for k in keys} == {k: str(i) for k, i in expected.items()}


def test_records_with_dimensions_become_child_runs_that_a_rerun_reuses(tmp_path):
    """A sweep's records reach MLflow as nested runs with the dimensions as params, so the runs
    table charts a metric against shots or depth; the run's constants are its own params."""
    from qmlrepro.records import Records
    from qmlrepro.tracking.mlflow_run import tracked_run

    records = Records(task="mnist01")
    for shots in (100, 1000):
        records.add("accuracy", shots / 2000, shots=shots, backend_options="a{0,1}")
    records.add("seconds", 3.0)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    with tracked_run(uri, "qmlrepro/records", "job/seed0", {}) as run:
        assert run.log_records(records, "eval/aer_shots", {"seed": "0"}) == 2
    with tracked_run(uri, "qmlrepro/records", "job/seed0", {}, run_id=run.run_id) as again:
        assert again.log_records(records, "eval/aer_shots", {"seed": "0"}) == 2
    client = MlflowClient(tracking_uri=uri)
    parent = client.get_run(run.run_id)
    assert parent.data.params["dim.task"] == "mnist01"
    children = client.search_runs(
        [parent.info.experiment_id], f"tags.mlflow.parentRunId = '{run.run_id}'"
    )
    assert len(children) == 2  # reused, not duplicated
    by_shots = {c.data.params["shots"]: c for c in children}
    assert by_shots["1000"].data.metrics == {"accuracy": 0.5}
    assert by_shots["100"].data.tags["seed"] == "0"
    assert (
        by_shots["100"].info.run_name == "job/seed0/eval/aer_shots/shots:100/backend_options:a{0,1}"
    )
    assert all(c.info.status == "FINISHED" for c in children)
