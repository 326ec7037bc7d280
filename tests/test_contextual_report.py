"""The contextual report section gives typed verdicts from small synthetic results."""

import math

import pytest

from qmlrepro.papers.contextual.report import ContextualSection
from qmlrepro.report.claims import Status
from qmlrepro.report.results import JobResult, PaperResults
from qmlrepro.report.section import PlotSink

TASKS = ((4, 2), (5, 2), (6, 2))


def _result(job: str, seeds: list[int], point) -> JobResult:
    runs = []
    for seed in seeds:
        metrics = {}
        for n, k in TASKS:
            metrics[f"n{n}_k{k}/blind_kl"] = 0.08
            for size, kl in point(n, seed):
                for name, value in (("val_kl", kl), ("test_kl", kl), ("memory", size)):
                    metrics[f"n{n}_k{k}/d{size}/lr0/{name}"] = value
        runs.append({"seed": seed, "metrics": metrics, "mlflow_run_id": f"run{seed}"})
    return JobResult(job, "train", "contextual", "m", "torch", "default", tuple(runs), {})


def _papers(seeds: list[int], classical_reaches: bool = False) -> PaperResults:
    def quantum(n, seed):
        return [(n, 0.001 + 0.0005 * seed)]

    def gru(n, seed):
        # reaches the threshold at memory C(n, 2) - 1 when asked to, never otherwise
        return [(4, 0.09), (math.comb(n, 2) - 1, 0.005 if classical_reaches else 0.085)]

    return PaperResults(
        "contextual",
        {
            ("contextual-quantum", "train"): _result("contextual-quantum", seeds, quantum),
            ("contextual-gru", "train"): _result("contextual-gru", seeds, gru),
        },
    )


def _body(tmp_path, papers):
    return ContextualSection().body(papers, PlotSink(tmp_path / "plots", tmp_path, "contextual"))


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
