"""The contextual report section gives typed verdicts from small synthetic results."""

import math

import pytest

from qmlrepro.papers.contextual.report import ContextualSection
from qmlrepro.records import Record
from qmlrepro.report.claims import Status
from qmlrepro.report.results import JobResult, PaperResults
from qmlrepro.report.section import PlotSink

TASKS = ((4, 2), (5, 2), (6, 2))


def _result(job: str, model: str, seeds: list[int], point) -> JobResult:
    """A train metrics file as the stage writes it: per seed, tidy records (one try per size)."""
    runs = []
    for seed in seeds:
        records = []
        for n, k in TASKS:
            records.append(Record("blind_kl", 0.08, {"n": n, "k": k}))
            for size, kl in point(n, seed):
                dims = {"n": n, "k": k, "size": size, "memory": size, "lr": 0.01, "restart": 0}
                records += [Record(name, kl, dims) for name in ("val_kl", "test_kl")]
        runs.append({"seed": seed, "metrics": {}, "mlflow_run_id": f"run{seed}",
                     "records": [r.to_json() for r in records]})  # fmt: skip
    return JobResult(job, "train", "contextual", model, "torch", "default", tuple(runs), {})


def _papers(seeds: list[int], classical_reaches: bool = False) -> PaperResults:
    def quantum(n, seed):
        return [(n, 0.001 + 0.0005 * seed)]

    def gru(n, seed):
        # reaches the threshold at memory C(n, 2) - 1 when asked to, never otherwise
        return [(4, 0.09), (math.comb(n, 2) - 1, 0.005 if classical_reaches else 0.085)]

    return PaperResults(
        "contextual",
        {
            ("contextual-quantum", "train"): _result(
                "contextual-quantum", "contextual/quantum", seeds, quantum
            ),
            ("contextual-gru", "train"): _result("contextual-gru", "contextual/gru", seeds, gru),
        },
    )


def _body(tmp_path, papers, sink=None):
    sink = sink or PlotSink(tmp_path / "plots", tmp_path, "contextual")
    return ContextualSection().body(papers, sink)


def test_three_seeds_give_typed_verdicts(tmp_path):
    body = _body(tmp_path, _papers([0, 1, 2]))
    assert body.verdict == "" and body.verdicts
    by_claim = {v.claim: v for v in body.verdicts}
    assert by_claim["k-HRNN with the generator's parameters is exact with n qubits"].status is (
        Status.BY_CONSTRUCTION
    )
    exact = [v for v in body.verdicts if v.claim.startswith("trained k-HRNN")]
    assert len(exact) == len(TASKS)
    assert all(v.status is Status.REPRODUCED and v.n == 3 for v in exact)
    (growth,) = [v for v in body.verdicts if v.claim.startswith("classical memory")]
    assert growth.status is Status.INCONCLUSIVE and "no slope" in growth.reason
    assert growth.paper_value == pytest.approx(2.54, abs=0.01)  # C(n, 2) - 1 over n = 4..6
    assert all(len(v.claim) <= 90 for v in body.verdicts)


def test_d_star_slope_is_fitted_when_found_on_three_tasks(tmp_path):
    body = _body(tmp_path, _papers([0, 1, 2], classical_reaches=True))
    (growth,) = [v for v in body.verdicts if v.claim.startswith("classical memory")]
    assert growth.estimate == pytest.approx(growth.paper_value)  # d* = C(n, 2) - 1 exactly
    assert growth.n == 3 and growth.low < growth.estimate < growth.high
    # C(n, 2) - 1 is no exact power law: three points (df = 1) leave a wide slope interval
    assert growth.status is Status.INCONCLUSIVE and "straddles" in growth.reason


def test_two_seeds_give_no_firm_verdict(tmp_path):
    body = _body(tmp_path, _papers([0, 1]))
    assert not any(v.firm for v in body.verdicts)
    exact = [v for v in body.verdicts if v.claim.startswith("trained k-HRNN")]
    assert exact and all(v.status is Status.TOO_FEW_SEEDS for v in exact)


def test_kl_against_memory_is_written_as_a_series(tmp_path):
    sink = PlotSink(tmp_path / "plots", tmp_path, "contextual")
    body = _body(tmp_path, _papers([0, 1, 2]), sink)
    (series,) = sink.series
    assert (series.name, series.x, series.y) == ("kl_vs_memory", "memory", "test_kl")
    # one line per model and task: the k-HRNN at n qubits, the GRU at each of its memories
    assert set(series.points) == {f"{m} n={n} k=2" for m in ("k-HRNN", "GRU") for n in (4, 5, 6)}
    (quantum,) = series.points["k-HRNN n=4 k=2"]
    assert quantum[0] == 4 and quantum[1].estimate == pytest.approx(0.0015) and quantum[1].n == 3
    gru = dict(series.points["GRU n=6 k=2"])
    assert set(gru) == {4, 14} and gru[14].estimate == pytest.approx(0.085)
    assert series.csv().splitlines()[0] == "memory,line,test_kl,ci_low,ci_high,n_seeds"
    assert sink.written and "contextual_kl_vs_memory.png" in body.markdown
