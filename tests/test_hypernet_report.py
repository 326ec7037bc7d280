"""The hypernet report section turns per-start results into typed verdicts (issue 19)."""

import numpy as np
import pytest

from qmlrepro.papers.hypernet.claims import HIGH_PROBABILITY, NOISE, ONE_LOOP, intermediate_depth
from qmlrepro.papers.hypernet.report import HypernetSection
from qmlrepro.records import Record
from qmlrepro.report.claims import Status, Verdict
from qmlrepro.report.results import JobResult, PaperResults
from qmlrepro.report.section import PlotSink


def _job(
    job: str, stage: str, model: str, per_seed: dict[int, list[Record]], describe=None
) -> JobResult:
    """A job's stored result: every seed's tidy records (their dimensions; the run's are added
    when the report reads them), as the stages write them."""
    backend = stage.removeprefix("eval-") if stage != "train" else "torch"
    kind = "train" if stage == "train" else "evaluate"
    dims = {"task": job.split("-")[1]}  # what HypernetExperiment.dims() writes
    return JobResult.from_records(
        job, kind, "hypernet", model, backend, per_seed, describe=describe, dims=dims,
        run_id="run{seed:04d}",
    )  # fmt: skip


def _results(seeds: list[int], depths: list[int], peak: int, noise_depth: int) -> PaperResults:
    """P_opt per start: high at ``peak``, low elsewhere, with start-to-start scatter; a random
    search on the same task with budget 50."""
    rng = np.random.default_rng(1)
    train, shots, noisy, search = {}, {}, {}, {}
    for s in seeds:
        m, sh = [], []
        for d in depths:
            p = float(np.clip((0.9 if d == peak else 0.2) + rng.normal(0, 0.03), 0, 1))
            dims = {"task": "mnist01", "depth": d}
            m += [Record("p_opt", p, dims), Record("iterations", 100.0, dims)]
            m += [Record("seconds", 1.0, dims), Record("hit_within_budget", p / 2, dims)]
            m += [Record("choice_probability", 1 - p, {**dims, "choice": "act", "option": "relu"})]
            m += [Record("choice_probability", p, {**dims, "choice": "act", "option": "sigmoid"})]
            sh.append(Record("p_opt", p, dims))
        train[s], shots[s] = m, sh
        p = next(r.value for r in sh if r.dims["depth"] == noise_depth)
        noisy[s] = [
            Record("p_opt", p - 0.02, {"task": "mnist01", "depth": noise_depth, "scale": 0.2}),
            Record("p_opt", p - 0.1, {"task": "mnist01", "depth": noise_depth, "scale": 2.0}),
        ]
        dims = {"task": "mnist01", "budget": 50, "runs": 1000}
        search[s] = [Record("hit_within_budget", 0.04 + 0.001 * s, dims)]
    circuit = "hypernet/circuit"
    jobs = [
        _job("hypernet-mnist01-circuit", "train", circuit, train, {"d4_parameters": 136}),
        _job("hypernet-mnist01-circuit", "eval-aer_shots", circuit, shots),
        _job("hypernet-mnist01-circuit", "eval-aer_depolarizing", circuit, noisy),
        _job("hypernet-mnist01-random", "train", "hypernet/random_search", search),
        _job("hypernet-gaussian-circuit", "train", circuit, {}),  # declared, skipped here
    ]
    key = {"train": "train", "evaluate": None}
    return PaperResults("hypernet", {(j.job, key[j.stage] or f"eval-{j.backend}"): j for j in jobs})


def _body(tmp_path, results, plots=None):
    plots = plots or PlotSink(tmp_path / "plots", tmp_path, "hypernet")
    return HypernetSection().body(results, plots)


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


def test_the_section_reads_its_tables_from_the_records(tmp_path):
    body = _body(tmp_path, _results(list(range(10)), [1, 2, 4, 6, 8], peak=4, noise_depth=4))
    md = body.markdown
    assert (
        "| 4 | 136 | 0.894 ± 0.008 | 10/10 |" in md
    )  # P_opt at the peak, its angles from the job's describe
    assert "Best depth D = 4. Probability the trained circuit puts on each act choice" in md
    assert "relu 0.106 ± 0.008; sigmoid 0.894 ± 0.008" in md
    budget = next(line for line in md.splitlines() if "| 50 |" in line)
    assert "| 50 | 0.447 ± 0.004 | — | 0.044 ± 0.001 |" in budget
    assert (
        "| 0.2 | 0.0002 / 0.00075 | 0.874 ± 0.008 |" in md
    )  # the depolarising sweep's scale dimension
    assert "mnist01: 10 random starts per depth" in "\n".join(body.deviations)
    assert "circuit search runs in the `paper` profile only" in md  # the skipped Gaussian job


def test_p_opt_against_depth_is_written_as_a_dvc_series(tmp_path):
    plots = PlotSink(tmp_path / "plots", tmp_path, "hypernet")
    _body(tmp_path, _results([0, 1, 2], [1, 2, 4], peak=2, noise_depth=4), plots)
    (series,) = plots.series
    assert (series.name, series.x, series.y) == ("p_opt_vs_depth", "depth", "p_opt")
    assert list(series.points) == ["MNIST 0/1"]
    points = series.points["MNIST 0/1"]
    assert [x for x, _ in points] == [1, 2, 4]
    assert all(ci.n == 3 and ci.has_interval for _, ci in points)
    assert max(points, key=lambda p: p[1].estimate)[0] == 2
    csv = series.csv().splitlines()
    assert csv[0] == "depth,line,p_opt,ci_low,ci_high,n_seeds" and len(csv) == 4
    assert (tmp_path / "plots" / "hypernet_p_opt_vs_depth.png").is_file()


def test_nothing_run_says_so(tmp_path):
    body = _body(tmp_path, PaperResults("hypernet", {}))
    assert "not run" in body.markdown
    assert all(v.status in (Status.NOT_TESTABLE, Status.BY_CONSTRUCTION) for v in body.verdicts)
