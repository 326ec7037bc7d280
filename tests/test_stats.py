"""Seed statistics used by every verdict."""

import math

import numpy as np
import pytest
from scipy import stats

from qmlrepro.report.stats import paired_difference, summarize


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


def test_loglog_slope_recovers_a_power_law_exponent():
    from qmlrepro.report.stats import loglog_slope

    assert loglog_slope([(n, 3.0 * n**1.5) for n in (4, 16, 64, 256)]) == pytest.approx(1.5)
