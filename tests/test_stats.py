"""Seed statistics used by every verdict."""

import math

import numpy as np
import pytest
from scipy import stats

from qmlrepro.report.stats import (
    PERCENT,
    PROBABILITY,
    Interval,
    bootstrap_argmax,
    bootstrap_interval,
    clip_interval,
    mean_interval,
    paired_difference,
    paired_interval,
    power_law_fit,
    proportion_interval,
    ratio_of_means,
    summarize,
    welch_interval,
)


def test_summary_matches_scipy_t_interval():
    xs = [43.1, 45.0, 41.7, 44.2, 42.9, 46.3]
    s = summarize(xs)
    lo, hi = stats.t.interval(0.95, df=5, loc=np.mean(xs), scale=stats.sem(xs))
    assert s.mean == pytest.approx(np.mean(xs))
    assert s.std == pytest.approx(np.std(xs, ddof=1))
    assert (s.ci_low, s.ci_high) == (pytest.approx(lo), pytest.approx(hi))


def test_one_seed_has_no_spread_and_empty_is_an_error():
    s = summarize([0.7])
    assert s.n == 1 and math.isnan(s.std) and "n=1" in s.format()
    with pytest.raises(ValueError):
        summarize([])


def test_interval_covers_the_mean_about_95_percent_of_the_time():
    rng = np.random.default_rng(0)
    hits = sum(
        (s := summarize(rng.normal(1.0, 2.0, size=5))).ci_low <= 1.0 <= s.ci_high
        for _ in range(4000)
    )
    assert 0.93 < hits / 4000 < 0.97


def test_paired_difference_uses_shared_seeds_only():
    a = {0: 0.50, 1: 0.52, 2: 0.49, 7: 0.9}
    b = {0: 0.45, 1: 0.47, 2: 0.44}
    d = paired_difference(a, b)
    assert d.n == 3 and d.mean == pytest.approx(0.05) and d.std == pytest.approx(0.0, abs=1e-12)
    assert paired_difference({0: 1.0}, {1: 1.0}) is None


# --- Interval functions for verdicts (issue 19) ----------------------------------------------


REPS = 2000
# 95% nominal; with 2,000 replications the binomial sd of the hit rate is 0.005, so +-0.02 is 4 sd
COVERAGE = (0.93, 0.97)


def _coverage(hits: int, reps: int = REPS) -> float:
    return hits / reps


def test_mean_interval_matches_scipy_and_summarize():
    xs = [43.1, 45.0, 41.7, 44.2, 42.9, 46.3]
    i = mean_interval(xs)
    lo, hi = stats.t.interval(0.95, df=5, loc=np.mean(xs), scale=stats.sem(xs))
    assert (i.estimate, i.low, i.high) == (
        pytest.approx(np.mean(xs)),
        pytest.approx(lo),
        pytest.approx(hi),
    )
    s = summarize(xs)
    assert (i.low, i.high) == (pytest.approx(s.ci_low), pytest.approx(s.ci_high))
    assert i.n == 6 and i.method == "Student t"
    i90 = mean_interval(xs, confidence=0.9)
    assert i.low < i90.low < i90.high < i.high


def test_mean_interval_one_seed_has_no_interval_and_zero_spread_is_a_point():
    i = mean_interval([0.7])
    assert i.n == 1 and i.estimate == 0.7 and i.low is None and i.high is None
    assert not i.has_interval and "no interval" in i.format()
    with pytest.raises(ValueError):
        i.contains(0.7)
    z = mean_interval([2.0, 2.0, 2.0])
    assert (z.low, z.high) == (2.0, 2.0)
    for bad in ([], [1.0, math.nan], [1.0, math.inf]):
        with pytest.raises(ValueError):
            mean_interval(bad)
    with pytest.raises(ValueError):
        mean_interval([1.0, 2.0], confidence=1.0)


def test_mean_interval_covers_at_three_seeds():
    # with n = 3 a normal (z) interval would cover only ~83%: the t quantile matters
    rng = np.random.default_rng(11)
    hits = 0
    for _ in range(REPS):
        i = mean_interval(rng.normal(5.0, 2.0, size=3))
        hits += i.low <= 5.0 <= i.high
    assert COVERAGE[0] < _coverage(hits) < COVERAGE[1]


def test_paired_interval_known_value_and_seed_matching():
    ours = {0: 71.0, 1: 73.5, 2: 70.2, 3: 72.9, 9: 10.0}
    ctrl = {0: 66.0, 1: 67.5, 2: 66.9, 3: 67.1, 5: 99.0}
    i = paired_interval(ours, ctrl)
    d = np.array([5.0, 6.0, 3.3, 5.8])
    half = stats.t.ppf(0.975, 3) * d.std(ddof=1) / 2.0
    assert i.n == 4 and i.estimate == pytest.approx(d.mean())
    assert (i.low, i.high) == (pytest.approx(d.mean() - half), pytest.approx(d.mean() + half))
    seq = paired_interval([71.0, 73.5, 70.2, 72.9], [66.0, 67.5, 66.9, 67.1])
    assert (seq.low, seq.high) == (pytest.approx(i.low), pytest.approx(i.high))
    assert not paired_interval({4: 1.0}, {4: 0.5}).has_interval
    assert paired_interval([1.0, 2.0], [0.0, 1.0]).width == 0.0
    with pytest.raises(ValueError):
        paired_interval({0: 1.0}, {1: 1.0})
    with pytest.raises(ValueError):
        paired_interval([1.0, 2.0], [1.0])
    with pytest.raises(TypeError):
        paired_interval({0: 1.0}, [1.0])


def test_paired_interval_covers_and_removes_the_shared_seed_effect():
    # a large seed effect shared by both arms: pairing removes it (much narrower than Welch)
    rng = np.random.default_rng(12)
    hits, narrower = 0, 0
    for k in range(REPS):
        seed_effect = rng.normal(0.0, 5.0, size=5)
        a = seed_effect + 1.0 + rng.normal(0.0, 0.5, size=5)
        b = seed_effect + rng.normal(0.0, 0.5, size=5)
        i = paired_interval(a, b)
        hits += i.low <= 1.0 <= i.high
        if k < 200:
            narrower += i.width < welch_interval(a, b).width
    assert COVERAGE[0] < _coverage(hits) < COVERAGE[1]
    assert narrower / 200 > 0.95


def test_welch_interval_known_value():
    a, b = [0.31, 0.29, 0.35, 0.40], [0.20, 0.26, 0.18, 0.22, 0.25, 0.21]
    i = welch_interval(a, b)
    va, vb = np.var(a, ddof=1) / 4, np.var(b, ddof=1) / 6
    dof = (va + vb) ** 2 / (va**2 / 3 + vb**2 / 5)
    half = stats.t.ppf(0.975, dof) * math.sqrt(va + vb)
    diff = np.mean(a) - np.mean(b)
    assert i.estimate == pytest.approx(diff)
    assert (i.low, i.high) == (pytest.approx(diff - half), pytest.approx(diff + half))
    assert i.n == 4 and i.sizes == (4, 6) and i.n_label() == "n=4+6"
    one = welch_interval([1.0], [0.0, 0.5])
    assert one.estimate == 0.75 and not one.has_interval
    with pytest.raises(ValueError):
        welch_interval([], [1.0])


def test_welch_interval_covers_with_unequal_variances_and_sizes():
    # the pooled-variance interval covers only ~66% here; Welch's stays near 95%
    rng = np.random.default_rng(13)
    hits = 0
    for _ in range(REPS):
        i = welch_interval(rng.normal(1.0, 3.0, size=4), rng.normal(0.0, 0.5, size=10))
        hits += i.low <= 1.0 <= i.high
    assert COVERAGE[0] < _coverage(hits) < COVERAGE[1]


def test_bootstrap_is_seeded_and_handles_medians_maxima_ratios():
    xs = [3.1, 2.7, 4.4, 3.9, 3.3, 2.9, 5.2, 3.6]
    a = bootstrap_interval([xs], np.median, seed=5, n_resamples=2000)
    b = bootstrap_interval([xs], np.median, seed=5, n_resamples=2000)
    c = bootstrap_interval([xs], np.median, seed=6, n_resamples=2000)
    assert a == b and (a.low, a.high) != (c.low, c.high)
    assert a.estimate == pytest.approx(np.median(xs)) and a.low <= a.estimate <= a.high
    mx = bootstrap_interval([xs], np.max, seed=5, n_resamples=2000)
    assert mx.estimate == 5.2 and mx.high == 5.2 and mx.low >= np.sort(xs)[-4]
    r = bootstrap_interval([[2.0, 2.2, 1.8, 2.1], [1.0, 1.1, 0.9]], ratio_of_means, seed=1)
    assert r.estimate == pytest.approx(2.025) and r.sizes == (4, 3) and r.low < 2.025 < r.high
    assert r.low > 1.5 and r.high < 2.6
    assert not bootstrap_interval([[4.0]], np.median, seed=0).has_interval
    flat = bootstrap_interval([[1.0, 1.0, 1.0]], np.median, seed=0, method="BCa")
    assert (flat.low, flat.high) == (1.0, 1.0)
    with pytest.raises(ValueError):
        bootstrap_interval([[]], np.median, seed=0)


def test_bootstrap_median_interval_covers():
    rng = np.random.default_rng(14)
    reps, hits = 1000, 0
    for k in range(reps):
        i = bootstrap_interval([rng.normal(2.0, 1.0, size=25)], np.median, seed=k, n_resamples=999)
        hits += i.low <= 2.0 <= i.high
    assert 0.925 < hits / reps < 0.975


def test_proportion_intervals_known_values():
    w = proportion_interval(8, 10)
    z, p, n = stats.norm.ppf(0.975), 0.8, 10
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    assert w.estimate == 0.8 and w.method == "Wilson" and w.n == 10
    assert (w.low, w.high) == (pytest.approx(centre - half), pytest.approx(centre + half))
    cp0 = proportion_interval(0, 12, method="exact")
    assert cp0.low == 0.0 and cp0.high == pytest.approx(1 - 0.025 ** (1 / 12))
    cp1 = proportion_interval(12, 12, method="clopper-pearson")
    assert cp1.high == 1.0 and cp1.low == pytest.approx(0.025 ** (1 / 12))
    assert cp1.method == "Clopper-Pearson"
    one = proportion_interval(1, 1)  # one image right: an interval, and a wide one
    assert one.has_interval and one.high == 1.0 and one.low < 0.25
    for bad in ((3, 2), (-1, 2), (0, 0), (1.5, 3)):
        with pytest.raises(ValueError):
            proportion_interval(*bad)
    with pytest.raises(ValueError):
        proportion_interval(1, 2, method="wald")


def _exact_coverage(n: int, grid: np.ndarray, method: str) -> np.ndarray:
    """Exact coverage at each p: the binomial probability of the k whose interval holds p."""
    cis = [proportion_interval(k, n, method=method) for k in range(n + 1)]
    lo, hi = np.array([c.low for c in cis]), np.array([c.high for c in cis])
    pmf = stats.binom.pmf(np.arange(n + 1)[None, :], n, grid[:, None])
    held = (lo[None, :] <= grid[:, None]) & (grid[:, None] <= hi[None, :])
    return (pmf * held).sum(axis=1)


def test_proportion_interval_coverage_is_exact_over_the_binomial():
    n, grid = 15, np.linspace(0.05, 0.95, 37)
    cp = _exact_coverage(n, grid, "exact")
    wilson = _exact_coverage(n, grid, "wilson")
    assert cp.min() >= 0.95  # Clopper-Pearson never falls below its level
    # Wilson: about nominal on average, never far below; a Wald interval p ± z sqrt(p(1-p)/n)
    # averages 0.87 here with a minimum of 0.54
    assert 0.94 < wilson.mean() < 0.965 and wilson.min() > 0.85


def test_clipping_to_the_quantitys_range():
    wide = Interval(25.0, -80.89, 130.89, 2, method="Student t")
    c = wide.clip(*PERCENT)
    assert (c.estimate, c.low, c.high, c.clipped) == (25.0, 0.0, 100.0, True)
    assert clip_interval(wide, PERCENT) == c
    inside = Interval(0.5, 0.4, 0.6, 5)
    assert inside.clip(*PROBABILITY) == inside and not inside.clip(*PROBABILITY).clipped
    one_sided = Interval(0.98, 0.9, 1.04, 4).clip(*PROBABILITY)
    assert (one_sided.low, one_sided.high) == (0.9, 1.0)
    assert Interval(0.5, None, None, 1).clip(*PROBABILITY).low is None
    below = Interval(0.0, -0.5, -0.1, 3).clip(*PROBABILITY)  # e.g. a bootstrap of a ratio
    assert (below.low, below.high) == (0.0, 0.0)
    with pytest.raises(ValueError):
        Interval(120.0, 110.0, 130.0, 3).clip(*PERCENT)
    with pytest.raises(ValueError):
        Interval(1.0, 2.0, 0.0, 3)
    with pytest.raises(ValueError):
        Interval(1.0, 0.0, None, 3)
    assert mean_interval([0.0, 100.0]).clip(*PERCENT).format(1) == "50.0 [95% CI 0.0, 100.0]"


def test_power_law_fit_matches_linregress():
    x = [4, 8, 16, 32, 64]
    y = [3.2, 9.8, 24.0, 70.1, 190.0]
    fit = power_law_fit(x, y)
    ref = stats.linregress(np.log(x), np.log(y))
    half = stats.t.ppf(0.975, 3) * ref.stderr
    assert fit.slope.estimate == pytest.approx(ref.slope) and fit.stderr == pytest.approx(
        ref.stderr
    )
    assert (fit.slope.low, fit.slope.high) == (
        pytest.approx(ref.slope - half),
        pytest.approx(ref.slope + half),
    )
    assert fit.prefactor == pytest.approx(math.exp(ref.intercept)) and fit.slope.n == 5
    assert fit.slope.estimate == pytest.approx(ref.slope)
    exact = power_law_fit([4, 16, 64, 256], [3.0 * n**1.5 for n in (4, 16, 64, 256)])
    assert exact.slope.estimate == pytest.approx(1.5) and exact.slope.width < 1e-9
    two = power_law_fit([2, 4], [1.0, 4.0])
    assert two.slope.estimate == pytest.approx(2.0) and not two.slope.has_interval
    assert two.stderr is None
    for bad in (([1, 2, 3], [1, 0, 2]), ([1, 1, 1], [1, 2, 3]), ([1, 2], [1, 2, 3])):
        with pytest.raises(ValueError):
            power_law_fit(*bad)


def test_power_law_slope_interval_covers():
    rng = np.random.default_rng(15)
    x = np.array([8.0, 16.0, 32.0, 64.0, 128.0])
    hits = 0
    for _ in range(REPS):
        y = 2.0 * x**0.75 * np.exp(rng.normal(0.0, 0.2, size=x.size))
        s = power_law_fit(x, y).slope
        hits += s.low <= 0.75 <= s.high
    assert COVERAGE[0] < _coverage(hits) < COVERAGE[1]


def test_bootstrap_argmax_over_seeds():
    x = [1, 2, 4, 8, 16]
    rng = np.random.default_rng(16)
    peaked = np.array([0.1, 0.4, 0.9, 0.5, 0.2]) + rng.normal(0, 0.02, size=(6, 5))
    i = bootstrap_argmax(x, peaked, seed=0, n_resamples=2000)
    assert (i.estimate, i.low, i.high, i.n) == (4.0, 4.0, 4.0, 6)
    flat = 0.5 + rng.normal(0, 0.2, size=(6, 5))
    f = bootstrap_argmax(x, flat, seed=0, n_resamples=2000)
    assert f.low in x and f.high in x and f.width >= 6
    # bounds are grid points even when a quantile falls between two resampled positions
    for k in range(20):
        few = bootstrap_argmax(x, flat, seed=k, n_resamples=10)
        assert few.low in x and few.high in x
    assert bootstrap_argmax(x, flat, seed=0, n_resamples=2000) == f
    assert not bootstrap_argmax(x, peaked[:1], seed=0).has_interval
    with pytest.raises(ValueError):
        bootstrap_argmax(x, peaked[:, :4], seed=0)
