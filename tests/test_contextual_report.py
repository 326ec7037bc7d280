"""The contextual report section gives typed verdicts from small synthetic results: the
separation from the memory probe's bracket, the k-HRNN's random-initialisation success rate and
the bottleneck's achievability."""

import math

import pytest

from qmlrepro.papers.contextual.report import ContextualSection
from qmlrepro.records import Record
from qmlrepro.report.claims import Status
from qmlrepro.report.results import JobResult, PaperResults
from qmlrepro.report.section import PlotSink

BINARY = ((4, 2), (5, 2), (4, 3))  # C = 6 > n + 1; C = 10 > n + 1; C = 4 = n (the control)


def _task(n: int, k: int) -> dict:
    return {"n": n, "k": k, "angles": "binary"}


def _probe_bounds(n: int, k: int) -> tuple[list[float], list[float]]:
    """Synthetic bounds, m = 0..C: n=4,k=2 needs all 6 bits (bracket [6, 6]); n=5,k=2 has the
    bracket [4, 9], which contains n = 5."""
    edges = math.comb(n, k)
    if (n, k) == (4, 2):
        lower = [0.1 * (edges - m) / edges + (0.0 if m == edges else 0.01) for m in range(edges)]
        return [*lower, 0.0], [2 * v for v in lower] + [0.0]
    lower = [max(0.0, 0.1 - 0.025 * m) for m in range(edges + 1)]  # <= 0.01 from m = 4
    upper = [0.1 if m < 9 else 0.0 for m in range(edges + 1)]  # a partition at m = 9
    return lower, upper


def _run(seed: int, records: list[Record]) -> dict:
    return {"seed": seed, "metrics": {}, "mlflow_run_id": f"run{seed}",
            "records": [r.to_json() for r in records]}  # fmt: skip


def _result(job: str, model: str, runs: list[dict]) -> JobResult:
    return JobResult(job, "train", "contextual", model, "torch", "default", tuple(runs), {})


def _papers(seeds: list[int], restarts: int = 4, bottleneck_kl: float = 0.05) -> PaperResults:
    probe = []
    for n, k in BINARY:
        lower, upper = _probe_bounds(n, k) if k == 2 else ([0.05, 0.03, 0.02, 0.01, 0.0],) * 2
        probe += [Record("probed", 1.0, _task(n, k)), Record("seconds", 1.0, _task(n, k))]
        for m, (low, high) in enumerate(zip(lower, upper, strict=True)):
            dims = {**_task(n, k), "memory": m}
            probe += [Record("kl_lower", low, dims), Record("exact", float(low == high), dims),
                      Record("kl_upper", high, {**dims, "partition": "keep-edges"})]  # fmt: skip
    quantum, bottleneck = [], []
    for seed in seeds:
        q, b = [], []
        for n, k in BINARY:
            q.append(Record("blind_kl", 0.08, _task(n, k)))
            q.append(Record("gradient_variance", 0.01 / n + 1e-4 * seed, _task(n, k)))
            for r in range(restarts):
                # n=4: every run succeeds; n=5, k=2: only restart 0 of seed 0
                kl = 1e-4 * (1 + seed) if n == 4 or (r == 0 and seed == 0) else 0.08
                dims = {**_task(n, k), "size": n, "memory": n, "lr": 0.05, "restart": r}
                q += [Record(m, kl, dims) for m in ("val_kl", "test_kl", "train_kl")]
                q += [Record("converged", 1.0, dims), Record("best_epoch", 5.0, dims)]
            c = math.comb(n, k)
            dims = {**_task(n, k), "size": c, "memory": c, "lr": 0.003, "restart": 0}
            kl = bottleneck_kl * (1 + 0.1 * seed)
            b += [Record("population_kl", kl, dims), Record("population_floor", 0.08, dims),
                  Record("steps", 1500.0, dims)]  # fmt: skip
        quantum.append(_run(seed, q))
        bottleneck.append(_run(seed, b))
    jobs = {
        ("contextual-probe", "train"): _result(
            "contextual-probe", "contextual/probe", [_run(0, probe)]
        ),
        ("contextual-quantum", "train"): _result(
            "contextual-quantum", "contextual/quantum", quantum
        ),
        ("contextual-bottleneck", "train"): _result(
            "contextual-bottleneck", "contextual/bottleneck", bottleneck
        ),
    }
    return PaperResults("contextual", jobs)


def _body(tmp_path, papers, sink=None):
    sink = sink or PlotSink(tmp_path / "plots", tmp_path, "contextual")
    return ContextualSection().body(papers, sink)


def test_separation_is_judged_by_the_probe_bracket(tmp_path):
    body = _body(tmp_path, _papers([0, 1, 2]))
    assert body.verdict == "" and body.verdicts
    by_claim = {v.claim: v for v in body.verdicts}
    assert by_claim["k-HRNN with the generator's parameters is exact with n qubits"].status is (
        Status.BY_CONSTRUCTION
    )
    separation = [v for v in body.verdicts if v.claim.startswith("m*(")]
    # n = 4, k = 3 (C = 4 = n) is the control: no separation verdict there
    assert [v.claim.split("(n=")[1][:8] for v in separation] == ["4, k=2; ", "5, k=2; "]
    needs_all, straddles = separation
    assert needs_all.status is Status.REPRODUCED and (needs_all.low, needs_all.high) == (6, 6)
    assert needs_all.paper_value == 5  # C(n, k) - 1
    assert straddles.status is Status.INCONCLUSIVE and "contains n = 5" in straddles.reason
    assert "| 4 | 2 | 6 |" in body.markdown and "| 6 | 6 | 4 | 1 |" in body.markdown
    assert all(len(v.claim) <= 90 for v in body.verdicts)


def test_trainability_counts_every_random_initialisation(tmp_path):
    body = _body(tmp_path, _papers([0, 1, 2]))
    rates = {v.claim: v for v in body.verdicts if "random init" in v.claim}
    every = rates["k-HRNN, random init: P(run reaches KL <= 0.01) >= 0.5 (ours; n=4, k=2)"]
    assert every.status is Status.REPRODUCED and every.n == 12 and every.estimate == 1.0
    assert "succeeded on 3 of 3 seeds" in every.reason  # each seed's best run on validation
    rare = rates["k-HRNN, random init: P(run reaches KL <= 0.01) >= 0.5 (ours; n=5, k=2)"]
    assert rare.status is Status.NOT_REPRODUCED and rare.estimate == pytest.approx(1 / 12)
    assert "1/12 [0.00, 0.38] | 0.29 |" in body.markdown  # Clopper-Pearson; best of 4
    # the paper's own trainability claim is asymptotic: numbers, no firm verdict
    (plateau,) = [v for v in body.verdicts if v.claim.startswith("no barren plateau")]
    assert plateau.status is Status.NOT_TESTABLE and "n=4: " in plateau.reason


def test_bottleneck_achievability_is_judged_on_the_population(tmp_path):
    failing = _body(tmp_path, _papers([0, 1, 2], bottleneck_kl=0.05))
    lines = [v for v in failing.verdicts if v.claim.startswith("m-bit bottleneck")]
    assert len(lines) == len(BINARY)
    assert all(v.status is Status.NOT_REPRODUCED for v in lines)
    # the table puts each bottleneck next to the probe's bracket at its memory
    assert "| 4 | 2 | 6 | = 0.0000 | 0.0550 ± 0.0050 | 0.0800 ± 0.0000 | 1500 |" in failing.markdown
    reaching = _body(tmp_path, _papers([0, 1, 2], bottleneck_kl=0.001))
    lines = [v for v in reaching.verdicts if v.claim.startswith("m-bit bottleneck")]
    assert all(v.status is Status.REPRODUCED for v in lines)


def test_two_seeds_give_no_firm_trainability_verdict(tmp_path):
    body = _body(tmp_path, _papers([0, 1]))
    rates = [v for v in body.verdicts if v.claim.startswith("k-HRNN, random init")]
    assert rates and all(v.status is Status.TOO_FEW_SEEDS for v in rates)  # 8 runs, 2 seeds
    achievability = [v for v in body.verdicts if v.claim.startswith("m-bit bottleneck")]
    assert achievability and not any(v.firm for v in achievability)


def test_separation_bracket_prints_as_a_bracket_not_an_interval(tmp_path):
    body = _body(tmp_path, _papers([0, 1]))
    (straddles,) = [v for v in body.verdicts if v.claim.startswith("m*(0.01) > n = 5")]
    assert "[bracket 4, 9] bits" in straddles.line() and "CI" not in straddles.numbers()


def test_probe_bounds_are_written_as_a_series(tmp_path):
    sink = PlotSink(tmp_path / "plots", tmp_path, "contextual")
    body = _body(tmp_path, _papers([0, 1, 2]), sink)
    (series,) = sink.series
    assert (series.name, series.x, series.y) == ("probe_bounds", "memory", "kl")
    assert {"lower n=4 k=2", "upper n=4 k=2", "k-HRNN n=4 k=2"} <= set(series.points)
    (quantum,) = series.points["k-HRNN n=4 k=2"]
    assert quantum[0] == 4 and quantum[1].estimate == pytest.approx(2e-4) and quantum[1].n == 3
    (bottleneck,) = series.points["m-bit bottleneck n=4 k=2"]
    assert bottleneck[0] == 6 and bottleneck[1].estimate == pytest.approx(0.055)
    assert [x for x, _ in series.points["lower n=5 k=2"]] == list(range(11))
    assert series.csv().splitlines()[0] == "memory,line,kl,ci_low,ci_high,n_seeds"
    assert sink.written and "contextual_probe_bounds.png" in body.markdown
