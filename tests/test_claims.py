"""Claim types turn per-seed results into verdicts (issue 19): each outcome, the minimum-seed
rule, one seed, clipping, the rendered line, and the error rates of the decisions."""

import numpy as np
import pytest

from qmlrepro.report.claims import (
    CurveArgmax,
    Equivalence,
    PairedDifference,
    PowerLawSlope,
    Status,
    Threshold,
    Verdict,
    by_construction,
    not_testable,
)
from qmlrepro.report.stats import PERCENT, Interval

OURS = [71.0, 73.5, 70.2, 72.9, 71.8]
CONTROL = [66.0, 67.5, 66.9, 67.1, 66.4]  # differences 5.0, 6.0, 3.3, 5.8, 5.4: mean 5.1


def beats(**kw) -> PairedDifference:
    return PairedDifference(statement="ours beats the control", unit=" pp", **kw)


# --- PairedDifference ---------------------------------------------------------------------------


def test_paired_difference_reproduced_and_size_agrees():
    v = beats(paper_value=5.0).evaluate(OURS, CONTROL)
    assert v.status is Status.REPRODUCED and v.firm
    assert v.estimate == pytest.approx(5.1) and v.n == 5 and v.low > 0
    assert "paper's value lies within it" in v.reason
    assert beats().evaluate(OURS, CONTROL).status is Status.REPRODUCED  # no paper number


def test_paired_difference_partly_when_the_papers_size_lies_outside():
    v = beats(paper_value=12.0).evaluate(OURS, CONTROL)
    assert v.status is Status.PARTLY and "+12.00" in v.reason
    # the paper's spread reaching our estimate restores agreement in size
    assert beats(paper_value=12.0, paper_spread=7.5).evaluate(OURS, CONTROL).status is (
        Status.REPRODUCED
    )
    assert beats(paper_value=12.0, paper_spread=6.5).evaluate(OURS, CONTROL).status is (
        Status.PARTLY
    )


def test_paired_difference_not_reproduced_and_inconclusive():
    assert beats().evaluate(CONTROL, OURS).status is Status.NOT_REPRODUCED  # opposite sign
    assert "opposite sign" in beats().evaluate(CONTROL, OURS).reason
    noise = [66.5, 67.0, 67.2, 66.8, 66.6]  # differences -0.5 ... +0.3: straddles 0
    assert beats().evaluate(noise, CONTROL).status is Status.INCONCLUSIVE
    # straddling 0 while excluding the paper's +5: the paper's effect is not there
    v = beats(paper_value=5.0).evaluate(noise, CONTROL)
    assert v.status is Status.NOT_REPRODUCED and "no effect shown" in v.reason
    # ... but a paper value inside our wide interval leaves it open
    assert beats(paper_value=0.2).evaluate(noise, CONTROL).status is Status.INCONCLUSIVE


def test_paired_difference_direction_less_and_seed_matching():
    lower = beats(direction="less")
    assert lower.evaluate(CONTROL, OURS).status is Status.REPRODUCED
    assert lower.evaluate(OURS, CONTROL).status is Status.NOT_REPRODUCED
    ours = {s: v for s, v in zip((0, 1, 2, 3, 4, 9), [*OURS, 0.0], strict=True)}
    ctrl = {s: v for s, v in zip((0, 1, 2, 3, 4, 7), [*CONTROL, 99.0], strict=True)}
    v = beats().evaluate(ours, ctrl)  # seeds 7 and 9 are unpaired and ignored
    assert v.n == 5 and v.estimate == pytest.approx(5.1)
    with pytest.raises(ValueError):
        beats(direction="up")


def test_unpaired_difference_uses_welch():
    v = beats(paired=False).evaluate(OURS, CONTROL[:4])
    assert v.interval.method == "Welch t" and v.interval.sizes == (5, 4) and v.n == 4
    assert v.status is Status.REPRODUCED
    # with only the shared seed-to-seed variance gone, pairing is the narrower of the two
    assert beats().evaluate(OURS, CONTROL).interval.width < (
        beats(paired=False).evaluate(OURS, CONTROL).interval.width
    )


def test_paired_difference_without_shared_seeds():
    v = beats().evaluate({0: 1.0}, {1: 1.0})
    assert v.status is Status.TOO_FEW_SEEDS and v.interval is None and v.n == 0


# --- the minimum-seed rule and one seed ----------------------------------------------------------


def test_two_seeds_never_give_a_firm_verdict():
    # a huge, perfectly consistent effect on two seeds is still "too few seeds"
    v = beats().evaluate([90.0, 91.0], [10.0, 11.0])
    assert v.status is Status.TOO_FEW_SEEDS and not v.firm
    assert v.interval.has_interval and v.n == 2  # the numbers are still reported
    assert "reproduced" not in v.line()
    same = beats().evaluate([50.0, 50.0], [50.0, 50.0])  # both seeds predict the same images
    assert same.status is Status.TOO_FEW_SEEDS
    claims_and_data = [
        (Equivalence(statement="same", margin=50.0), ([1.0, 1.1], [1.0, 1.0])),
        (Threshold(statement="above", threshold=0.0), ([5.0, 5.1],)),
        (
            PowerLawSlope(statement="slope", paper_value=1.0, tolerance=0.5),
            ([1, 2, 4], [[1, 2, 4], [1, 2, 4.1]]),
        ),
        (CurveArgmax(statement="peak", paper_value=2), ([1, 2, 3], [[0, 1, 0], [0, 1, 0]])),
    ]
    for claim, data in claims_and_data:
        verdict = claim.evaluate(*data)
        assert verdict.status is Status.TOO_FEW_SEEDS, claim
        assert "below the minimum of 3" in verdict.reason


def test_min_seeds_is_configurable_but_at_least_two():
    assert beats(min_seeds=2).evaluate([90.0, 91.0], [10.0, 10.5]).status is Status.REPRODUCED
    assert beats(min_seeds=6).evaluate(OURS, CONTROL).status is Status.TOO_FEW_SEEDS
    with pytest.raises(ValueError):
        beats(min_seeds=1)


def test_seeds_that_all_agree_give_no_firm_verdict():
    """Three seeds with the same difference give a t interval without width, which would make
    any margin look decided (issue 19's "+0.00 [+0.00, +0.00]"): inconclusive instead."""
    same = beats().evaluate([50.0, 50.0, 50.0], [50.0, 50.0, 50.0])
    assert same.status is Status.INCONCLUSIVE and "same value" in same.reason
    above = Threshold(statement="above", threshold=0.0).evaluate([2.0, 2.0, 2.0])
    assert above.status is Status.INCONCLUSIVE


def test_one_seed_has_no_interval():
    v = beats(min_seeds=2).evaluate([71.0], [66.0])
    assert v.status is Status.TOO_FEW_SEEDS and v.estimate == 5.0
    assert not v.interval.has_interval and v.low is None and v.high is None
    assert "no interval" in v.line() and "CI" not in v.line()
    t = Threshold(statement="above", threshold=0.0, min_seeds=2).evaluate([3.0])
    assert t.status is Status.TOO_FEW_SEEDS and not t.interval.has_interval


def test_smoke_sized_runs_never_print_reproduced():
    # 500 random two-seed "smoke" runs of every difference claim: never a firm verdict
    rng = np.random.default_rng(21)
    for _ in range(500):
        a, b = rng.normal(80, 20, size=2), rng.normal(50, 20, size=2)
        for claim in (beats(), beats(paired=False), Equivalence(statement="e", margin=100.0)):
            assert claim.evaluate(a, b).status is Status.TOO_FEW_SEEDS


# --- Equivalence ------------------------------------------------------------------------------


def test_equivalence_outcomes():
    same = Equivalence(statement="shots match exact", margin=1.0)
    exact = [80.0, 82.0, 79.5, 81.0, 80.5]
    close = [80.2, 81.9, 79.6, 81.2, 80.4]  # differences within ±0.2
    far = [84.0, 86.1, 83.4, 85.2, 84.6]  # ~ +4
    noisy = [80.2, 83.9, 79.6, 80.2, 80.4]
    assert same.evaluate(close, exact).status is Status.REPRODUCED
    assert same.evaluate(far, exact).status is Status.NOT_REPRODUCED
    assert same.evaluate(noisy, exact).status is Status.INCONCLUSIVE
    # against a constant (e.g. the paper's number): one-sample interval of ours - constant
    tight = [80.5, 80.7, 80.6, 80.4, 80.8]
    v = same.evaluate(tight, 80.6)
    assert v.status is Status.REPRODUCED and "constant" in v.interval.method
    assert same.evaluate(tight, 85.0).status is Status.NOT_REPRODUCED
    assert same.evaluate(np.array(tight), np.float64(85.0)).status is Status.NOT_REPRODUCED
    with pytest.raises(ValueError):
        Equivalence(statement="x", margin=0.0)


# --- Threshold --------------------------------------------------------------------------------


def test_threshold_outcomes_and_clipping():
    chance = Threshold(statement="above chance", threshold=50.0, bounds=PERCENT, unit="%")
    assert chance.evaluate([71.0, 74.0, 69.0]).status is Status.REPRODUCED
    assert chance.evaluate([31.0, 34.0, 29.0]).status is Status.NOT_REPRODUCED
    assert chance.evaluate([40.0, 74.0, 52.0]).status is Status.INCONCLUSIVE
    near_top = chance.evaluate({0: 99.0, 1: 100.0, 2: 98.0})
    assert near_top.high == 100.0 and near_top.interval.clipped  # t interval reaches 100.48
    assert near_top.status is Status.REPRODUCED and "clipped" in near_top.line()
    below = Threshold(statement="error below 5%", threshold=5.0, direction="below")
    assert below.evaluate([1.0, 2.0, 1.5]).status is Status.REPRODUCED
    assert below.evaluate([9.0, 8.0, 8.5]).status is Status.NOT_REPRODUCED


def test_threshold_partly_when_the_papers_mean_lies_outside():
    claim = Threshold(statement="above chance", threshold=50.0, paper_value=92.0)
    assert claim.evaluate([71.0, 74.0, 69.0]).status is Status.PARTLY
    agree = Threshold(statement="above chance", threshold=50.0, paper_value=72.0)
    assert agree.evaluate([71.0, 74.0, 69.0]).status is Status.REPRODUCED
    assert claim.evaluate([]).status is Status.TOO_FEW_SEEDS


# --- PowerLawSlope ----------------------------------------------------------------------------


def test_power_law_slope_per_seed():
    x = np.array([8.0, 16.0, 32.0, 64.0])
    rng = np.random.default_rng(22)
    curves = 3.0 * x**1.5 * np.exp(rng.normal(0, 0.03, size=(5, 4)))
    claim = PowerLawSlope(statement="cost ~ N^1.5", paper_value=1.5, tolerance=0.2)
    v = claim.evaluate(x, curves)
    assert v.status is Status.REPRODUCED and v.n == 5
    assert "per-seed slopes" in v.interval.method and v.estimate == pytest.approx(1.5, abs=0.1)
    wrong = PowerLawSlope(statement="cost ~ N^2", paper_value=2.0, tolerance=0.2)
    assert wrong.evaluate(x, curves).status is Status.NOT_REPRODUCED
    edge = PowerLawSlope(statement="cost ~ N^1.7", paper_value=1.7, tolerance=0.2)
    noisy = 3.0 * x**1.5 * np.exp(rng.normal(0, 0.3, size=(5, 4)))
    assert edge.evaluate(x, noisy).status is Status.INCONCLUSIVE
    # a non-deterministic single curve is one seed
    assert claim.evaluate(x, curves[0]).status is Status.TOO_FEW_SEEDS


def test_power_law_slope_deterministic_counts():
    n = [4, 16, 64, 256]
    claim = PowerLawSlope(
        statement="queries ~ N^(k/2)", paper_value=1.0, tolerance=0.05, deterministic=True
    )
    assert claim.evaluate(n, [2.0 * v for v in n]).status is Status.REPRODUCED
    assert claim.evaluate(n, [v**0.5 for v in n]).status is Status.NOT_REPRODUCED
    two = claim.evaluate([4, 16], [8.0, 32.0])
    assert two.status is Status.TOO_FEW_SEEDS and not two.interval.has_interval
    with pytest.raises(ValueError):
        PowerLawSlope(statement="s", paper_value=1.0, tolerance=0.0)
    with pytest.raises(ValueError):
        PowerLawSlope(statement="s", tolerance=0.1)


# --- CurveArgmax ------------------------------------------------------------------------------


def test_curve_argmax_outcomes():
    depths = [1, 2, 3, 4, 5, 6]
    rng = np.random.default_rng(23)
    shape = np.array([0.1, 0.3, 0.6, 0.9, 0.6, 0.3])  # peak at depth 4
    sharp = shape + rng.normal(0, 0.02, size=(6, 6))
    at4 = CurveArgmax(statement="P_opt peaks at depth 4", paper_value=4, n_resamples=2000)
    v = at4.evaluate(depths, sharp)
    assert v.status is Status.REPRODUCED and (v.estimate, v.low, v.high) == (4, 4, 4)
    at2 = CurveArgmax(statement="P_opt peaks at depth 2", paper_value=2, n_resamples=2000)
    assert at2.evaluate(depths, sharp).status is Status.NOT_REPRODUCED
    plateau = np.array([0.1, 0.3, 0.85, 0.9, 0.85, 0.3]) + rng.normal(0, 0.1, size=(6, 6))
    w = at4.evaluate(depths, plateau)
    assert w.status is Status.INCONCLUSIVE and (w.estimate, w.low, w.high) == (4, 3, 5)
    wide = CurveArgmax(statement="peak near 4", paper_value=4, tolerance=1, n_resamples=2000)
    assert wide.evaluate(depths, plateau).status is Status.REPRODUCED
    assert at4.evaluate(depths, plateau) == w  # seeded


# --- Verdict rendering and helpers -------------------------------------------------------------


def test_verdict_line_renders_status_numbers_paper_and_reason():
    v = beats(paper_value=5.0, paper_spread=1.5).evaluate(OURS, CONTROL)
    line = v.line()
    assert line.startswith("**reproduced** — ours beats the control: ours +5.10 [95% CI ")
    assert f"{v.low:+.2f}, {v.high:+.2f}] pp (n=5, paired t)" in line
    assert "paper +5.00 ± 1.50 pp." in line and line.endswith("lies within it.")
    assert "\n" not in line
    d = v.to_dict()
    assert d["status"] == "reproduced" and d["n"] == 5 and d["paper_value"] == 5.0


def test_by_construction_and_not_testable():
    b = by_construction("qubits = 2 log2 N + 1", "the circuit is built with that many qubits")
    assert b.status is Status.BY_CONSTRUCTION and not b.firm and b.interval is None
    assert b.line() == (
        "**by construction** — qubits = 2 log2 N + 1. The circuit is built with that many qubits."
    )
    t = not_testable("runs on ibmq_paris", "no access to the device")
    assert t.status.value == "not testable here" and "**not testable here**" in t.line()


def test_verdict_status_values():
    assert [s.value for s in Status] == [
        "reproduced",
        "partly reproduced",
        "not reproduced",
        "inconclusive",
        "too few seeds",
        "not testable here",
        "by construction",
    ]
    assert {s for s in Status if s.firm} == {
        Status.REPRODUCED,
        Status.PARTLY,
        Status.NOT_REPRODUCED,
    }
    v = Verdict(Status.INCONCLUSIVE, "r", "c", Interval(1.0, 0.0, 2.0, 3))
    assert (v.estimate, v.low, v.high, v.n) == (1.0, 0.0, 2.0, 3)


# --- error rates of the decisions ------------------------------------------------------------


def test_paired_difference_false_positive_rate():
    # no true effect: "reproduced" (interval above 0) should happen ~2.5% of the time (one side
    # of a 95% interval); a z interval would give ~6% at five seeds
    rng = np.random.default_rng(24)
    claim, reps, wins = beats(), 2000, 0
    for _ in range(reps):
        shared = rng.normal(70, 5, size=5)
        ours, ctrl = shared + rng.normal(0, 1, size=5), shared + rng.normal(0, 1, size=5)
        wins += claim.evaluate(ours, ctrl).status is Status.REPRODUCED
    assert 0.015 < wins / reps < 0.037


def test_equivalence_false_claim_rate_at_the_margin():
    # a true difference exactly at the margin: "reproduced" at most ~2.5% of the time
    rng = np.random.default_rng(25)
    claim, reps, wins = Equivalence(statement="equal", margin=1.0), 2000, 0
    for _ in range(reps):
        ctrl = rng.normal(70, 5, size=6)
        ours = ctrl + 1.0 + rng.normal(0, 0.3, size=6)
        wins += claim.evaluate(ours, ctrl).status is Status.REPRODUCED
    assert wins / reps < 0.037
