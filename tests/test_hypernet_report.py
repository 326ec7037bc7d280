"""The hypernet report section: per-start records of every circuit job become tables per task
and scale and typed verdicts that name their scale (issues 19, 22)."""

from dataclasses import replace

import numpy as np
import pytest

from qmlrepro.papers.hypernet.claims import (
    NOISE,
    ONE_LOOP,
    depth_statement,
    high_probability,
    intermediate_depth,
)
from qmlrepro.papers.hypernet.report import DEPTH_ZERO_TEST, HypernetSection
from qmlrepro.records import Record
from qmlrepro.report.claims import Status, Verdict
from qmlrepro.report.results import JobResult, PaperResults
from qmlrepro.report.section import PlotSink

CIRCUIT = "hypernet/circuit"
FULL = list(range(1, 7))  # a depth sweep with an interior (2..5)


def _job(job, stage, model, task, per_seed, describe=None, shots=None) -> JobResult:
    """A job's stored result as the stages write it (the run's dimensions are added when the
    report reads it); ``shots``: what an evaluation's executor ran with."""
    backend = stage.removeprefix("eval-") if stage != "train" else "torch"
    kind = "train" if stage == "train" else "evaluate"
    result = JobResult.from_records(
        job, kind, "hypernet", model, backend, per_seed, describe=describe, dims={"task": task},
        run_id="run{seed:04d}",
    )  # fmt: skip
    if shots is not None:
        runs = tuple({**r, "executors": [{"executor": {"shots": shots}}]} for r in result.runs)
        result = replace(result, runs=runs)
    return result


def _circuit(job, task, qubits, depths, starts, p_opt, converged=lambda d, s: True, noise=None):
    """Train and aer_shots records of one circuit job (seed 0): ``p_opt(d, s)`` per depth and
    start; ``noise``: {p: p_opt(s)} of a depolarising evaluation at D = 4, 2,000 shots."""
    train, ideal = [], []
    for d in depths:
        for s in range(starts):
            p, dims = p_opt(d, s), {"task": task, "depth": d, "start": s}
            ok = converged(d, s)
            train += [
                Record("p_opt", p, dims),
                Record("p_opt_loose", min(1.0, p + 0.05), dims),
                Record("converged", float(ok), dims),
                Record("local_minimum", float(ok and p < 0.05), dims),
                Record("hit_max_iter", float(not ok), dims),
                Record("iterations", 1000.0 if not ok else 400.0 + 10 * s, dims),
                Record("excess_cost", 1e-5 * (1 - p), dims),
                Record("expected_test_accuracy", 0.9, dims),
                Record("hit_within_budget", p, dims),
                Record("best_of_budget_excess", 1e-6, dims),
                Record("choice_probability", 1 - p, {**dims, "choice": "act", "option": "relu"}),
                Record("choice_probability", p, {**dims, "choice": "act", "option": "sigmoid"}),
            ]
            ideal += [Record("p_opt", p - 0.01, dims), Record("excess_cost", 2e-5, dims)]
        train.append(Record("seconds", 10.0 * d, {"task": task, "depth": d}))
    describe = {"n_qubits": qubits, "starts": starts}
    describe |= {f"d{d}_parameters": 2 * d * qubits for d in depths}
    jobs = [
        _job(job, "train", CIRCUIT, task, {0: train}, describe),
        _job(job, "eval-aer_shots", CIRCUIT, task, {0: ideal}, shots=1000),
    ]
    if noise:
        noisy = [
            Record(name, value, {"task": task, "depth": 4, "start": s, "scale": p, "shots": 2000})
            for p, f in noise.items()
            for s in range(starts)
            for name, value in (("p_opt", f(s)), ("excess_cost", 1e-3 * p))
        ]
        jobs.append(_job(job, "eval-aer_depolarizing", CIRCUIT, task, {0: noisy}))
    return jobs


def _scatter(seed: int):
    rng = np.random.default_rng(seed)
    return lambda: float(rng.normal(0, 0.02))


def _results(starts: int = 30) -> PaperResults:
    """Default-profile shaped: MNIST 0/1 3x3 peaks at D = 3 (interior), Gaussian 2-2-1 rises
    monotonically, MNIST 0/1 at 17 qubits has D = 2, 4 with 5 starts (start 4 not converged at
    D = 4) and the noise sweep; the full-size sweeps are declared but skipped (paper only)."""
    e1, e2, e3 = _scatter(1), _scatter(2), _scatter(3)
    peak = _circuit(
        "hypernet-mnist01-3x3-circuit", "mnist01_3x3", 10, FULL, starts,
        lambda d, s: float(np.clip((0.9 if d == 3 else 0.3) + e1(), 0, 1)),
        converged=lambda d, s: s >= 2,  # two starts per depth at max_iter
        noise={0.2: lambda s: 0.6},
    )  # fmt: skip
    rising = _circuit(
        "hypernet-gaussian-h2-circuit", "gaussian_h2", 10, FULL, starts,
        lambda d, s: float(np.clip(0.15 * d + e2(), 0, 1)),
    )  # fmt: skip
    d24 = _circuit(
        "hypernet-mnist01-circuit-d4", "mnist01", 17, [2, 4], 5,
        lambda d, s: float(np.clip((0.95 if d == 4 else 0.4) + e3(), 0, 1)),
        converged=lambda d, s: not (d == 4 and s == 4),
        noise={0.2: lambda s: 0.0 if s == 4 else 0.74 + 0.01 * s,
               2.0: lambda s: 0.0 if s == 4 else 0.40 + 0.01 * s},
    )  # fmt: skip
    search = {
        seed: [Record("hit_within_budget", 0.04, {"task": "mnist01", "budget": 1000, "runs": 1})]
        for seed in range(10)
    }
    jobs = [
        *peak,
        *rising,
        *d24,
        _job("hypernet-mnist01-random", "train", "hypernet/random_search", "mnist01", search),
        _job("hypernet-mnist01-circuit", "train", CIRCUIT, "mnist01", {}),  # paper profile only
        _job("hypernet-mnist37-circuit", "train", CIRCUIT, "mnist37", {}),  # paper profile only
    ]
    key = {"train": "train", "evaluate": None}
    return PaperResults("hypernet", {(j.job, key[j.stage] or f"eval-{j.backend}"): j for j in jobs})


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    plots = PlotSink(tmp / "plots", tmp, "hypernet")
    return HypernetSection().body(_results(), plots), plots, tmp


def _by_claim(verdicts: list[Verdict]) -> dict[str, Verdict]:
    claims = [v.claim for v in verdicts]
    assert len(claims) == len(set(claims)), "one verdict per claim"
    return {v.claim: v for v in verdicts}


def test_an_interior_peak_is_an_intermediate_optimum_at_its_scale(rendered):
    body = rendered[0]
    assert body.verdicts and all(isinstance(v, Verdict) for v in body.verdicts)
    v = _by_claim(body.verdicts)
    depth = v[intermediate_depth("MNIST 0/1 3x3, 10 qubits", FULL).statement]
    assert depth.status is Status.REPRODUCED and depth.estimate == 3
    assert depth.paper_value is None  # the paper gives no position: no invented paper number
    assert "interior depths [2, 5]" in depth.reason and "D = 3 100%" in depth.reason
    assert "resampled on their own" in depth.interval.method  # stratified by depth
    assert v[high_probability("MNIST 0/1 3x3, 10 qubits").statement].status is Status.REPRODUCED
    assert v[ONE_LOOP.claim].status is Status.BY_CONSTRUCTION


def test_a_monotone_curve_is_not_an_intermediate_optimum(rendered):
    v = _by_claim(rendered[0].verdicts)
    depth = v[depth_statement("Gaussian 2-2-1, 10 qubits")]
    assert depth.status is Status.NOT_REPRODUCED and depth.estimate == 6


def test_two_depths_leave_the_depth_claim_untested_at_17_qubits(rendered):
    body = rendered[0]
    v = _by_claim(body.verdicts)
    depth = v[depth_statement("MNIST 0/1, 17 qubits")]
    assert depth.status is Status.NOT_TESTABLE and "no interior point" in depth.reason
    best = v[high_probability("MNIST 0/1, 17 qubits").statement]
    assert best.status is Status.REPRODUCED and "D = 4 (L = 2)" in best.reason
    assert "no interior depth: the depth claim is untested" in body.markdown


def test_noise_pools_every_trained_circuit_and_counts_the_converged(rendered):
    body = rendered[0]
    v = _by_claim(body.verdicts)
    low, high = v[NOISE[0.2].statement], v[NOISE[2.0].statement]
    assert low.n == 5 and high.n == 5  # all 5 D = 4 circuits; start 4 did not converge
    assert low.paper_value == 0.76
    assert high.status in (Status.NOT_REPRODUCED, Status.INCONCLUSIVE)  # start 4 is an outlier
    assert "5 trained D = 4 circuits" in low.reason and "(4 converged)" in low.reason
    assert "5 x 2,000 = 10,000" in low.reason
    md = body.markdown
    assert "| 0.2 | 0.0002 / 0.00075 | 5 x 2,000 = 10,000 |" in md
    assert "| 0 (ideal) | 0 / 0 | 5 x 1,000 = 5,000 |" in md
    assert "of which 4 converged" in md and "stopped at max_iter" in md
    assert "| 0.76 |" in md and "| 0.56 |" in md  # the paper's, at its own scale only
    assert "all 30 trained circuits are pooled, of which 28 converged" in md  # the 3x3 job
    assert "no size comparison" in md
    assert "near-degenerate optima within 7e-07 of C_min" in md


def test_a_skipped_paper_only_job_renders_and_is_not_testable(rendered):
    body = rendered[0]
    v = _by_claim(body.verdicts)  # the skipped full MNIST 0/1 job repeats no 17-qubit claim
    assert v[depth_statement("MNIST 3/7, 19 qubits")].status is Status.NOT_TESTABLE
    assert "runs in the `paper` profile only" in v[depth_statement("MNIST 3/7, 19 qubits")].reason
    (line,) = [x for x in body.markdown.splitlines() if "`hypernet-mnist37-circuit`;" in x]
    assert line.startswith("**MNIST 3/7, 19 qubits**")
    assert line.endswith("runs in the `paper` profile only.")
    assert "Not run in the `default` profile: `hypernet-mnist01-circuit`" in body.markdown


def test_the_depth_table_reads_its_numbers_from_the_records(rendered):
    md = rendered[0].markdown
    row = next(line for line in md.splitlines() if line.startswith("| 3 (1.5) | 60 |"))
    cells = [c.strip() for c in row.split("|")[1:-1]]
    assert cells[2].startswith("0.89") and cells[4].startswith("0.94")  # both tolerances
    assert cells[3] == "—"  # no init control in these synthetic records
    # converged, local minimum, capped / stalled (not recorded here), median iterations
    assert cells[6:10] == ["28/30", "0/30", "2/30 / —", "565"]
    assert cells[12] == "30"  # seconds of the depth
    assert DEPTH_ZERO_TEST in md  # D = 0 is D = 1: the test that shows it
    assert "Optimal depth D = 3 (L = 1.5)" in md and "D = 3 100%" in md
    assert "probability on each act option" in md
    budget = next(line for line in md.splitlines() if "| 1000 |" in line)
    assert "`hypernet-mnist01-circuit-d4`, D = 4 | 0.9" in budget
    assert "MNIST 0/1 3x3, 10 qubits: `hypernet-mnist01-3x3-circuit`, D = 1, 2" in md
    assert "30 random starts per depth (the paper: 10)" in "\n".join(rendered[0].deviations)


def test_p_opt_against_depth_is_written_as_a_dvc_series(rendered):
    _, plots, tmp = rendered
    (series,) = plots.series
    assert (series.name, series.x, series.y) == ("p_opt_vs_depth", "depth", "p_opt")
    assert list(series.points) == [
        "MNIST 0/1 3x3 (10 qubits)",
        "Gaussian 2-2-1 (10 qubits)",
        "MNIST 0/1 (17 qubits)",
    ]
    points = series.points["MNIST 0/1 3x3 (10 qubits)"]
    assert [x for x, _ in points] == FULL
    assert all(ci.n == 30 and ci.has_interval for _, ci in points)  # one unit per start
    assert max(points, key=lambda p: p[1].estimate)[0] == 3
    assert series.csv().splitlines()[0] == "depth,line,p_opt,ci_low,ci_high,n_seeds"
    assert (tmp / "plots" / "hypernet_p_opt_vs_depth.png").is_file()


def test_three_starts_give_no_firm_verdict(tmp_path):
    plots = PlotSink(tmp_path / "plots", tmp_path, "hypernet")
    body = HypernetSection().body(_results(starts=3), plots)
    v = _by_claim(body.verdicts)
    assert v[depth_statement("MNIST 0/1 3x3, 10 qubits")].status is Status.TOO_FEW_SEEDS
    assert (
        "3 starts, below the minimum of 5" in v[depth_statement("MNIST 0/1 3x3, 10 qubits")].reason
    )


def test_a_smoke_shaped_profile_has_no_firm_verdict_and_no_noise_claim(tmp_path):
    jobs = [
        *_circuit("hypernet-mnist01-3x3-circuit", "mnist01_3x3", 10, [1, 2], 3, lambda d, s: 0.5),
        _job("hypernet-mnist01-circuit-d4", "train", CIRCUIT, "mnist01", {}),
        _job("hypernet-mnist01-circuit", "train", CIRCUIT, "mnist01", {}),
    ]
    results = PaperResults(
        "hypernet",
        {(j.job, j.stage if j.stage == "train" else f"eval-{j.backend}"): j for j in jobs},
    )
    body = HypernetSection().body(results, PlotSink(tmp_path / "plots", tmp_path, "hypernet"))
    v = _by_claim(body.verdicts)
    assert not any(x.firm for x in body.verdicts)
    assert v[depth_statement("MNIST 0/1 3x3, 10 qubits")].status is Status.NOT_TESTABLE
    assert v[depth_statement("MNIST 0/1, 17 qubits")].status is Status.NOT_TESTABLE
    noise = v[NOISE[0.2].statement]
    assert noise.status is Status.NOT_TESTABLE and "profile only" in noise.reason


@pytest.mark.parametrize(
    "statement",
    [c.statement for c in NOISE.values()]
    + [ONE_LOOP.claim, depth_statement("MNIST 3/7 3x3, 12 qubits")]
    + [high_probability("Gaussian 2-2-1, 10 qubits").statement],
)
def test_claim_statements_are_short(statement):
    assert len(statement) <= 90


def test_nothing_run_says_so(tmp_path):
    body = HypernetSection().body(
        PaperResults("hypernet", {}), PlotSink(tmp_path / "plots", tmp_path, "hypernet")
    )
    assert "not run" in body.markdown
    assert all(v.status in (Status.NOT_TESTABLE, Status.BY_CONSTRUCTION) for v in body.verdicts)


def test_an_interior_argmax_is_a_peak_only_if_p_opt_falls_after_it():
    """Rise then fall: reproduced; rise then a plateau at the deepest circuit: not reproduced
    (the paper's shape has a fall); a noisy tail: inconclusive."""
    from qmlrepro.papers.hypernet.report import _falls

    rng = np.random.default_rng(0)
    depths = [1, 2, 3, 4, 5]
    base = np.array([0.3, 0.9, 0.99, 0.95, 0.6])
    peak = np.clip(base + 0.02 * rng.standard_normal((30, 5)), 0, 1)
    assert _falls(depths, peak)[0] is Status.REPRODUCED
    plateau = np.clip(np.array([0.3, 0.9, 0.999, 0.998, 0.998]) + 0.001 * rng.random((30, 5)), 0, 1)
    status, text = _falls(depths, plateau)
    assert status is Status.NOT_REPRODUCED and "plateau" in text
    noisy = np.clip(base + np.array([0, 0, 0, 0, 0.3]) + 0.4 * rng.random((30, 5)) - 0.2, 0, 1)
    assert _falls(depths, noisy)[0] is Status.INCONCLUSIVE
