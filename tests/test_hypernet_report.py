"""The hypernet report section turns per-start results into typed verdicts (issue 19)."""

import numpy as np
import pytest

from qmlrepro.papers.hypernet.claims import HIGH_PROBABILITY, NOISE, ONE_LOOP, intermediate_depth
from qmlrepro.papers.hypernet.report import HypernetSection
from qmlrepro.report.claims import Status, Verdict
from qmlrepro.report.results import JobResult, PaperResults
from qmlrepro.report.section import PlotSink


def _job(job: str, stage: str, per_seed: dict[int, dict[str, float]]) -> JobResult:
    runs = tuple(
        {"seed": s, "mlflow_run_id": f"run{s:04d}", "metrics": m} for s, m in per_seed.items()
    )
    backend = stage.removeprefix("eval-") if stage != "train" else "torch_statevector"
    return JobResult(job, stage, "hypernet", "circuit", backend, "default", runs, {})


def _results(seeds: list[int], depths: list[int], peak: int, noise_depth: int) -> PaperResults:
    """P_opt per start: high at ``peak``, low elsewhere, with start-to-start scatter."""
    rng = np.random.default_rng(1)
    train, shots, noisy = {}, {}, {}
    for s in seeds:
        m, sh, no = {}, {}, {}
        for d in depths:
            p = float(np.clip((0.9 if d == peak else 0.2) + rng.normal(0, 0.03), 0, 1))
            m |= {f"d{d}/p_opt": p, f"d{d}/iterations": 100.0, f"d{d}/seconds": 1.0}
            sh[f"d{d}/p_opt"] = p
        train[s], shots[s] = m, sh
        p = sh[f"d{noise_depth}/p_opt"]
        no = {f"scale0.2/d{noise_depth}/p_opt": p - 0.02, f"scale2.0/d{noise_depth}/p_opt": p - 0.1}
        noisy[s] = no
    jobs = [
        _job("hypernet-mnist01-circuit", "train", train),
        _job("hypernet-mnist01-circuit", "eval-aer_shots", shots),
        _job("hypernet-mnist01-circuit", "eval-aer_depolarizing", noisy),
        _job("hypernet-gaussian-circuit", "train", {}),  # declared, skipped in this profile
    ]
    return PaperResults("hypernet", {(j.job, j.stage): j for j in jobs})


def _body(tmp_path, results):
    return HypernetSection().body(results, PlotSink(tmp_path / "plots", tmp_path, "hypernet"))


def _by_claim(verdicts: list[Verdict]) -> dict[str, Verdict]:
    return {v.claim: v for v in verdicts}


def test_ten_starts_give_typed_firm_verdicts(tmp_path):
    body = _body(tmp_path, _results(list(range(10)), [1, 2, 4, 6, 8], peak=4, noise_depth=4))
    assert body.verdict == ""
    assert body.verdicts and all(isinstance(v, Verdict) for v in body.verdicts)
    v = _by_claim(body.verdicts)
    depth = v[intermediate_depth("mnist01", [1, 2, 4, 6, 8]).statement]
    assert depth.status is Status.REPRODUCED and depth.estimate == 4
    assert depth.paper_value is None  # the paper gives no position: no invented paper number
    assert "interior depths [2, 6]" in depth.reason
    assert v[HIGH_PROBABILITY["mnist01"].statement].status is Status.REPRODUCED
    # noisy P_opt ~0.88 and ~0.80: above 1/2; the paper's 0.76 / 0.56 are outside our intervals
    assert v[NOISE[0.2].statement].status is Status.PARTLY
    assert v[NOISE[2.0].statement].paper_value == 0.56
    assert "paired t" in v[NOISE[0.2].statement].reason
    assert v[ONE_LOOP.claim].status is Status.BY_CONSTRUCTION
    not_run = [x for x in body.verdicts if "(Gaussian)" in x.claim]
    assert [x.status for x in not_run] == [Status.NOT_TESTABLE]
    assert "Welch t" in body.markdown


def test_a_peak_at_the_product_state_is_not_an_intermediate_optimum(tmp_path):
    body = _body(tmp_path, _results(list(range(10)), [1, 2, 4, 6, 8], peak=1, noise_depth=4))
    depth = _by_claim(body.verdicts)[intermediate_depth("mnist01", [1, 2, 4]).statement]
    assert depth.status is Status.NOT_REPRODUCED


def test_two_starts_give_no_firm_verdict(tmp_path):
    body = _body(tmp_path, _results([0, 1], [1, 2, 4, 6, 8], peak=4, noise_depth=4))
    assert not any(v.firm for v in body.verdicts)
    numeric = [v for v in body.verdicts if v.interval is not None]
    assert len(numeric) == 4
    assert all(v.status is Status.TOO_FEW_SEEDS for v in numeric)
    assert "**reproduced**" not in "\n".join(v.line() for v in body.verdicts)


def test_smoke_grid_has_no_interior_depth_and_no_paper_noise_depth(tmp_path):
    body = _body(tmp_path, _results([0, 1], [1, 2], peak=2, noise_depth=2))
    v = _by_claim(body.verdicts)
    assert v[intermediate_depth("mnist01", [1, 2, 4]).statement].status is Status.NOT_TESTABLE
    for claim in NOISE.values():
        assert v[claim.statement].status is Status.NOT_TESTABLE
    assert not any(v.firm for v in body.verdicts)


@pytest.mark.parametrize(
    "statement",
    [c.statement for c in (*HIGH_PROBABILITY.values(), *NOISE.values())]
    + [ONE_LOOP.claim, intermediate_depth("mnist37", [1, 2, 4]).statement],
)
def test_claim_statements_are_short(statement):
    assert len(statement) <= 90
