"""Tidy records: what experiments return, what the stages store, what the report selects."""

import pytest

from qmlrepro.errors import DataError
from qmlrepro.records import Record, Records, Table, as_records
from qmlrepro.report.results import JobResult, summarize_records


def test_records_keep_dimensions_and_flat_names_leave_out_the_run_constants():
    records = Records(task="mnist01")
    records.add("p_opt", 0.25, depth=2)
    records.update({"iterations": 250, "converged": 0.0}, depth=3)
    assert next(r.dims for r in records) == {"task": "mnist01", "depth": 2}
    assert records.flat() == {"p_opt/depth:2": 0.25, "iterations/depth:3": 250.0,
                              "converged/depth:3": 0.0}  # fmt: skip
    with pytest.raises(ValueError, match="added twice"):
        records.add("p_opt", 0.3, depth=2)
    with pytest.raises(TypeError, match="not a number or text"):
        records.add("p_opt", 0.3, depth=[2])
    with pytest.raises(TypeError, match="not a number"):
        records.add("p_opt", "high", depth=4)


def test_a_plain_dict_is_records_without_dimensions():
    records = as_records({"test_accuracy": 0.9})
    assert [(r.name, r.value, dict(r.dims)) for r in records] == [("test_accuracy", 0.9, {})]
    with pytest.raises(TypeError, match="return Records"):
        as_records([0.9])


def test_extend_adds_the_sweep_point_and_keeps_the_experiments_constants():
    inner = Records(task="gaussian")
    inner.add("accuracy", 0.8)
    outer = Records()
    outer.extend(inner, shots=1000)
    assert outer.flat() == {"accuracy/shots:1000": 0.8}
    assert next(iter(outer)).dims == {"task": "gaussian", "shots": 1000}


def _table() -> Table:
    rows = []
    for seed in range(3):
        for shots in (100, 1000):
            for model in ("a", "b"):
                rows.append(Record("accuracy", seed + shots / 1000, {"seed": seed, "shots": shots,
                                   "model": model, "mlflow_run_id": f"{model}{seed}"}))  # fmt: skip
    rows.append(Record("accuracy", 5.0, {"seed": 0, "model": "a", "mlflow_run_id": "a0"}))
    return Table(rows)


def test_select_filters_by_dimensions_and_values_refuse_an_ambiguous_selection():
    table = _table()
    assert table.select("accuracy", model="a", shots=1000).values() == {0: 1.0, 1: 2.0, 2: 3.0}
    assert table.select("accuracy", model="a", shots=None).values() == {0: 5.0}  # no shots dim
    assert table.select("accuracy", model="a", shots=1000.0).run_ids() == ["a0", "a1", "a2"]
    assert table.levels("shots") == [100, 1000]
    assert list(table.select(model="b").groups("shots")) == [100, 1000]
    with pytest.raises(DataError, match=r"ambiguous.*shots"):
        table.select("accuracy", model="a").values()
    assert not table.select("loss")
    with pytest.raises(DataError, match="expected one record"):
        table.select("loss").one()


def _job(records_per_seed) -> JobResult:
    return JobResult.from_records(
        "job", "train", "paper", "paper/model", "torch", records_per_seed, profile="smoke",
        run_id="r{seed}",
    )  # fmt: skip


def test_job_tables_carry_the_runs_dimensions_and_summaries_give_t_intervals():
    per_seed = {}
    for seed, value in enumerate((0.5, 0.6, 0.7)):
        records = Records(task="t")
        records.add("p_opt", value, depth=1)
        records.add("seconds", 1.0 + seed)
        per_seed[seed] = records
    job = _job(per_seed)
    row = job.table().select("p_opt", seed=1).records[0]
    assert row.dims == {"task": "t", "depth": 1, "job": "job", "stage": "train",
                        "model": "paper/model", "backend": "torch", "train_backend": "torch",
                        "profile": "smoke", "seed": 1, "mlflow_run_id": "r1"}  # fmt: skip
    summary = summarize_records(job, {"p_opt": (0.0, 1.0)})
    stats = summary["p_opt"]["task:t/depth:1"]
    assert stats["mean"] == pytest.approx(0.6) and stats["n_seeds"] == 3
    assert stats["std"] == pytest.approx(0.1)
    # t_{0.975, 2} = 4.3027: the interval scipy gives for three seeds
    assert stats["ci_high"] - stats["mean"] == pytest.approx(4.3027 * 0.1 / 3**0.5, rel=1e-4)
    assert "seconds" not in summary
    one = summarize_records(_job({0: per_seed[0]}), {"seconds": (0.0, None)})
    assert one["seconds"]["task:t"] == {
        "mean": 1.0,
        "n_seeds": 1,
    }  # no std, no interval from one seed


def test_summaries_clip_to_the_range_restrict_by_stage_and_count_diverged_runs():
    per_seed = {}
    for seed, value in enumerate((0.98, 1.0, float("nan"))):
        records = Records()
        records.add("accuracy", value)
        per_seed[seed] = records
    stats = summarize_records(_job(per_seed), {"accuracy": (0.0, 1.0)})["accuracy"]
    assert stats["ci_high"] == 1.0 and stats["ci_low"] < 0.99  # the t interval, cut at 1
    assert stats["n_seeds"] == 2 and stats["n_nonfinite"] == 1
    assert summarize_records(_job(per_seed), {"evaluate/accuracy": (0.0, 1.0)}) == {}
    assert "accuracy" in summarize_records(_job(per_seed), {"train/accuracy": (0.0, 1.0)})


def test_metrics_written_before_records_are_refused_not_read_as_missing():
    runs = ({"seed": 0, "mlflow_run_id": "r", "metrics": {"test_accuracy": 0.5}},)
    job = JobResult("j", "train", "p", "p/m", "torch", "smoke", runs, {})
    with pytest.raises(DataError, match=r"before tidy records.*rerun"):
        job.table()


def test_records_refuse_the_stages_own_dimensions():
    with pytest.raises(ValueError, match="dimension 'seed' is the stage's"):
        Records().add("accuracy", 0.5, seed=3)
