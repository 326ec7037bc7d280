"""Summary statistics over seeds, with small-sample (Student t) confidence intervals.

Seeds are few (3-6), so a normal-approximation interval would be too narrow; paired differences
use the same seeds on both sides, which removes the shared seed-to-seed variance.

``summarize`` / ``paired_difference`` are the report's original helpers. The
``Interval`` functions below them are what verdicts (``qmlrepro.report.claims``) rest on: scipy's
Student-t, paired-t and Welch intervals, seeded bootstrap intervals, Wilson / Clopper-Pearson
intervals for proportions, log-log slopes with their standard error, each returning no interval
where the data cannot give one (one seed), and clipping to the quantity's range.
"""

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class Summary:
    n: int
    mean: float
    std: float  # sample standard deviation (ddof = 1); nan for n < 2
    ci_low: float
    ci_high: float
    confidence: float = 0.95

    def format(self, digits: int = 2, scale: float = 1.0) -> str:
        m, s = self.mean * scale, self.std * scale
        if self.n < 2:
            return f"{m:.{digits}f} (n=1)"
        lo, hi = self.ci_low * scale, self.ci_high * scale
        return f"{m:.{digits}f} ± {s:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def summarize(values: Sequence[float], confidence: float = 0.95) -> Summary:
    """Mean, sample std (ddof 1) and the Student-t interval of :func:`mean_interval` (scipy);
    std and interval are nan for one value or a non-finite one. Raises ValueError for an empty
    sample."""
    xs = [float(v) for v in values]
    if not xs:
        raise ValueError("cannot summarise an empty sample")
    if not all(math.isfinite(x) for x in xs):  # a diverged run: shown as nan, not hidden
        nan = math.nan
        return Summary(len(xs), float(np.mean(xs)), nan, nan, nan, confidence)
    ci = mean_interval(xs, confidence)
    if ci.low is None or ci.high is None:
        return Summary(1, ci.estimate, math.nan, math.nan, math.nan, confidence)
    return Summary(ci.n, ci.estimate, float(np.std(xs, ddof=1)), ci.low, ci.high, confidence)


def paired_difference(
    a: dict[int, float], b: dict[int, float], confidence: float = 0.95
) -> Summary | None:
    """Summary of a - b over the seeds both have; None when fewer than one seed is shared."""
    shared = sorted(set(a) & set(b))
    if not shared:
        return None
    return summarize([a[s] - b[s] for s in shared], confidence)


# ---------------------------------------------------------------------------------------------
# Intervals for verdicts (issue 19). Every function below returns an ``Interval``; none changes
# the behaviour of ``summarize`` or ``paired_difference`` above, which the paper reports still
# call (a log-log slope: :func:`power_law_fit`, with its standard error).
# ---------------------------------------------------------------------------------------------

CLIP_TOLERANCE = 1e-9
"""Relative slack of :meth:`Interval.clip` for estimates a rounding error past a bound."""
PERCENT: tuple[float, float] = (0.0, 100.0)
"""Range of a percentage (accuracy in %); pass to ``Interval.clip``."""
PROBABILITY: tuple[float, float] = (0.0, 1.0)
"""Range of a probability or a fraction."""


@dataclass(frozen=True)
class Interval:
    """A point estimate with (optionally) a two-sided confidence interval.

    ``low`` and ``high`` are both ``None`` when the data cannot give an interval (one seed, two
    points for a slope): the estimate is then reported alone and no claim may rest on it.
    ``n`` is the number of independent units the interval rests on (seeds, trials, fitted
    points; for two unpaired groups the smaller group); ``sizes`` keeps every group's size when
    there are several. ``method`` names the formula (e.g. ``"paired t"``), ``clipped`` records
    that a bound was cut to the quantity's range.
    """

    estimate: float
    low: float | None
    high: float | None
    n: int
    confidence: float = 0.95
    method: str = ""
    sizes: tuple[int, ...] = ()
    clipped: bool = False

    def __post_init__(self) -> None:
        if (self.low is None) != (self.high is None):
            raise ValueError("an interval has both bounds or neither")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"interval bounds out of order: [{self.low}, {self.high}]")

    @property
    def has_interval(self) -> bool:
        return self.low is not None

    @property
    def width(self) -> float | None:
        return None if self.low is None or self.high is None else self.high - self.low

    def contains(self, value: float) -> bool:
        """Whether ``value`` lies in [low, high] (closed); ValueError when there is no interval."""
        if self.low is None or self.high is None:
            raise ValueError("no interval (too few units); check has_interval first")
        return self.low <= value <= self.high

    def clip(self, lower: float | None = None, upper: float | None = None) -> "Interval":
        """The interval cut to the quantity's range ``[lower, upper]`` (e.g. ``PERCENT``).

        t intervals are symmetric and can leave the range (an accuracy CI of [-80, 130] from two
        seeds); clipping keeps what is possible. The estimate is not moved, except from a
        rounding error past a bound (within ``CLIP_TOLERANCE`` of the range's scale, e.g. a
        fidelity of 1 + 3e-16) back onto it; ValueError when it lies further outside, which
        means the range is wrong.
        """
        if lower is not None and upper is not None and lower > upper:
            raise ValueError(f"empty range [{lower}, {upper}]")
        scale = max(abs(b) for b in (lower, upper, 1.0) if b is not None)
        slack = CLIP_TOLERANCE * scale
        if (lower is not None and self.estimate < lower - slack) or (
            upper is not None and self.estimate > upper + slack
        ):
            raise ValueError(f"estimate {self.estimate} outside the range [{lower}, {upper}]")
        estimate = self.estimate
        if lower is not None:
            estimate = max(estimate, lower)
        if upper is not None:
            estimate = min(estimate, upper)
        if estimate != self.estimate:
            return replace(self, estimate=estimate).clip(lower, upper)
        if self.low is None or self.high is None:
            return self
        low, high = self.low, self.high
        if lower is not None:
            low, high = max(low, lower), max(high, lower)
        if upper is not None:
            low, high = min(low, upper), min(high, upper)
        changed = (low, high) != (self.low, self.high)
        return replace(self, low=low, high=high, clipped=self.clipped or changed)

    def format(self, digits: int = 2, scale: float = 1.0, signed: bool = False) -> str:
        """``"+1.23 [95% CI +0.40, +2.06]"``, or ``"1.23 (n=1, no interval)"``."""
        spec = f"{'+' if signed else ''}.{digits}f"
        est = format(self.estimate * scale, spec)
        if self.low is None or self.high is None:
            return f"{est} (n={self.n}, no interval)"
        lo, hi = format(self.low * scale, spec), format(self.high * scale, spec)
        return f"{est} [{self.confidence:.0%} CI {lo}, {hi}]"

    def n_label(self) -> str:
        """``"n=5"``, or ``"n=3+4"`` for unpaired groups."""
        if len(self.sizes) > 1:
            return "n=" + "+".join(str(s) for s in self.sizes)
        return f"n={self.n}"


def _finite(values: Sequence[float] | np.ndarray, what: str = "values") -> np.ndarray:
    xs = np.asarray(values, dtype=float)
    if xs.ndim != 1:
        raise ValueError(f"{what}: expected a 1-D sequence, got shape {xs.shape}")
    if not np.all(np.isfinite(xs)):
        raise ValueError(f"{what}: non-finite entries {xs[~np.isfinite(xs)].tolist()}")
    return xs


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")


def mean_interval(values: Sequence[float], confidence: float = 0.95) -> Interval:
    """Mean over seeds with its Student-t interval.

    ``values``: 1-D, one number per seed (any unit; the interval has the same unit).
    Interval: mean ± t_{(1+c)/2, n-1} · s/√n, i.e. ``scipy.stats.t.interval(c, n - 1, mean,
    scipy.stats.sem(values))``. n = 1 gives the value with no interval; identical values give the
    zero-width interval [mean, mean] (the formula's limit). Raises ValueError for an empty or
    non-finite sample or a confidence outside (0, 1).
    """
    _check_confidence(confidence)
    xs = _finite(values)
    n = len(xs)
    if n == 0:
        raise ValueError("cannot summarise an empty sample")
    mean = float(np.mean(xs))
    if n == 1:
        return Interval(mean, None, None, 1, confidence, "mean (one seed)")
    sem = float(np.std(xs, ddof=1)) / math.sqrt(n)  # = scipy.stats.sem(xs)
    if sem == 0.0 or np.all(xs == xs[0]):
        return Interval(mean, mean, mean, n, confidence, "Student t (zero spread)")
    lo, hi = stats.t.interval(confidence, n - 1, loc=mean, scale=sem)
    return Interval(mean, float(lo), float(hi), n, confidence, "Student t")


def _paired_arrays(
    ours: Sequence[float] | Mapping[int, float], control: Sequence[float] | Mapping[int, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Aligned per-seed arrays: mappings are matched on their shared seeds (sorted), sequences
    by position (same length required)."""
    if isinstance(ours, Mapping) and isinstance(control, Mapping):
        shared = sorted(set(ours) & set(control))
        return (
            _finite([ours[s] for s in shared], "ours"),
            _finite([control[s] for s in shared], "control"),
        )
    if isinstance(ours, Mapping) or isinstance(control, Mapping):
        raise TypeError("pair seed -> value mappings with mappings, sequences with sequences")
    a, b = _finite(ours, "ours"), _finite(control, "control")
    if len(a) != len(b):
        raise ValueError(f"paired samples differ in length: {len(a)} vs {len(b)}")
    return a, b


def paired_interval(
    ours: Sequence[float] | Mapping[int, float],
    control: Sequence[float] | Mapping[int, float],
    confidence: float = 0.95,
) -> Interval:
    """Mean of ``ours - control`` paired by seed, with its paired t interval.

    Sequences are paired by position, ``{seed: value}`` mappings on their shared seeds. Same
    unit as the inputs. Interval: ``scipy.stats.ttest_rel(ours, control)
    .confidence_interval(c)`` (a one-sample t interval of the differences). n = 1 gives no
    interval, zero spread of the differences gives [d, d]. Raises ValueError when no seed is
    shared (n = 0), lengths differ, values are non-finite; TypeError when mixing a mapping with
    a sequence.
    """
    _check_confidence(confidence)
    a, b = _paired_arrays(ours, control)
    n = len(a)
    if n == 0:
        raise ValueError("no shared seeds to pair")
    d = a - b
    mean = float(np.mean(d))
    if n == 1:
        return Interval(mean, None, None, 1, confidence, "paired difference (one seed)")
    if np.all(d == d[0]):
        return Interval(mean, mean, mean, n, confidence, "paired t (zero spread)")
    ci = stats.ttest_rel(a, b).confidence_interval(confidence_level=confidence)
    return Interval(mean, float(ci.low), float(ci.high), n, confidence, "paired t")


def welch_interval(
    ours: Sequence[float], control: Sequence[float], confidence: float = 0.95
) -> Interval:
    """Difference of means ``mean(ours) - mean(control)`` of two unpaired groups, with Welch's
    interval (unequal variances, Welch-Satterthwaite degrees of freedom).

    Interval: ``scipy.stats.ttest_ind(ours, control, equal_var=False)
    .confidence_interval(c)``. Needs two values in each group for an interval (else the
    estimate alone); ``n`` is the smaller group, ``sizes`` both. Both groups without spread give
    [d, d]. Raises ValueError for an empty group or non-finite values.
    """
    _check_confidence(confidence)
    a, b = _finite(ours, "ours"), _finite(control, "control")
    if len(a) == 0 or len(b) == 0:
        raise ValueError("a group is empty")
    diff = float(np.mean(a) - np.mean(b))
    sizes = (len(a), len(b))
    n = min(sizes)
    if n < 2:
        return Interval(diff, None, None, n, confidence, "difference of means (one seed)", sizes)
    if np.all(a == a[0]) and np.all(b == b[0]):
        return Interval(diff, diff, diff, n, confidence, "Welch t (zero spread)", sizes)
    ci = stats.ttest_ind(a, b, equal_var=False).confidence_interval(confidence_level=confidence)
    return Interval(diff, float(ci.low), float(ci.high), n, confidence, "Welch t", sizes)


def ratio_of_means(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
    """``mean(a) / mean(b)`` along ``axis``: a vectorised statistic for ``bootstrap_interval``."""
    return np.mean(a, axis=axis) / np.mean(b, axis=axis)


def bootstrap_interval(
    samples: Sequence[Sequence[float]],
    statistic: Callable[..., np.ndarray],
    *,
    seed: int,
    confidence: float = 0.95,
    n_resamples: int = 9999,
    method: str = "percentile",
    paired: bool = False,
) -> Interval:
    """A seeded bootstrap interval for any statistic (median, maximum, ratio of means, ...).

    ``samples``: one 1-D sequence per argument of ``statistic`` (one for ``np.median``, two for
    ``ratio_of_means``). ``statistic(*samples, axis=-1)`` must be vectorised like numpy
    reductions. Interval: ``scipy.stats.bootstrap(samples, statistic, method=method,
    rng=numpy.random.default_rng(seed))`` with ``paired`` resampling the groups together (same
    seeds) or separately. The same ``seed`` gives the same interval. ``method`` defaults to
    ``"percentile"``: BCa is undefined for the few, often tied values of a handful of seeds.
    Bootstrap intervals from very few seeds cover less than their nominal level (a sample of 3
    has 10 distinct resamples); claims set their own minimum. Needs two values in every sample
    for an interval; ``n`` is the smallest sample. Raises ValueError for an empty sample or
    non-finite values.
    """
    _check_confidence(confidence)
    data = tuple(_finite(s, f"sample {i}") for i, s in enumerate(samples))
    if not data or any(len(s) == 0 for s in data):
        raise ValueError("bootstrap needs at least one non-empty sample")
    sizes = tuple(len(s) for s in data)
    n = min(sizes)
    estimate = float(statistic(*data, axis=-1))
    label = f"bootstrap {method} ({n_resamples} resamples, seed {seed})"
    if n < 2:
        return Interval(estimate, None, None, n, confidence, f"{label}: one seed", sizes)
    if all(np.all(s == s[0]) for s in data):
        return Interval(estimate, estimate, estimate, n, confidence, f"{label}: zero spread", sizes)
    res = stats.bootstrap(
        data,
        statistic,
        n_resamples=n_resamples,
        vectorized=True,
        paired=paired,
        confidence_level=confidence,
        method=method,
        rng=np.random.default_rng(seed),
    )
    lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError(f"bootstrap ({method}) gave no finite interval for this sample")
    return Interval(estimate, lo, hi, n, confidence, label, sizes if len(sizes) > 1 else ())


_PROPORTION_METHODS = {
    "wilson": "wilson",
    "wilsoncc": "wilsoncc",
    "exact": "exact",
    "clopper-pearson": "exact",
}


def proportion_interval(
    successes: int, trials: int, confidence: float = 0.95, method: str = "wilson"
) -> Interval:
    """A proportion ``successes / trials`` (a hit rate, an accuracy on a few images) with a
    binomial interval, as a fraction in [0, 1] (multiply by 100 for percent).

    Interval: ``scipy.stats.binomtest(successes, trials).proportion_ci(c, method)``;
    ``method`` is ``"wilson"`` (score interval), ``"wilsoncc"`` (with continuity correction) or
    ``"exact"`` / ``"clopper-pearson"`` (never below the nominal coverage). Unlike a mean over
    seeds, a single trial already has an interval (a wide one: 1 of 1 correct gives
    [0.21, 1] with Wilson), which is the honest report of an accuracy on one image. Raises
    ValueError unless 0 <= successes <= trials and trials >= 1, or for an unknown method.
    """
    _check_confidence(confidence)
    if method not in _PROPORTION_METHODS:
        raise ValueError(f"unknown method {method!r}; one of {sorted(_PROPORTION_METHODS)}")
    if int(successes) != successes or int(trials) != trials:
        raise ValueError("successes and trials are counts")
    k, n = int(successes), int(trials)
    if n < 1 or not 0 <= k <= n:
        raise ValueError(f"need 0 <= successes <= trials, trials >= 1; got {k} of {n}")
    ci = stats.binomtest(k, n).proportion_ci(
        confidence_level=confidence, method=_PROPORTION_METHODS[method]
    )
    name = "Clopper-Pearson" if _PROPORTION_METHODS[method] == "exact" else method.capitalize()
    return Interval(k / n, float(ci.low), float(ci.high), n, confidence, name)


def clip_interval(interval: Interval, bounds: tuple[float | None, float | None]) -> Interval:
    """``interval.clip(*bounds)``: e.g. ``clip_interval(i, PERCENT)``."""
    return interval.clip(*bounds)


@dataclass(frozen=True)
class PowerLawFit:
    """Least-squares fit of ``log y = log a + s log x`` (natural logs): ``y ≈ a x^s``.

    ``slope`` carries the exponent s with its t interval (``n`` = number of points, df =
    n - 2); ``stderr`` is the slope's standard error, ``prefactor`` = a, ``rvalue`` the
    correlation of the logs.
    """

    slope: Interval
    stderr: float | None
    intercept: float
    prefactor: float
    rvalue: float


def power_law_fit(x: Sequence[float], y: Sequence[float], confidence: float = 0.95) -> PowerLawFit:
    """Exponent of a power law ``y ~ x^s`` from a log-log least-squares fit.

    Fit: ``scipy.stats.linregress(log x, log y)``; the slope's interval is slope ±
    t_{(1+c)/2, n-2} · stderr (n points). Two points give the exact slope through them with no
    interval (and no standard error); points exactly on a power law give a zero-width interval.
    Raises ValueError for fewer than two distinct x, non-positive or non-finite values, or
    mismatched lengths.
    """
    _check_confidence(confidence)
    xs, ys = _finite(x, "x"), _finite(y, "y")
    if len(xs) != len(ys):
        raise ValueError(f"x and y differ in length: {len(xs)} vs {len(ys)}")
    if np.any(xs <= 0) or np.any(ys <= 0):
        raise ValueError("a log-log fit needs positive x and y")
    if len(np.unique(xs)) < 2:
        raise ValueError("a slope needs at least two distinct x")
    lx, ly = np.log(xs), np.log(ys)
    fit = stats.linregress(lx, ly)
    n = len(xs)
    slope = float(fit.slope)
    if n == 2:
        interval = Interval(slope, None, None, n, confidence, "log-log slope (two points)")
        stderr = None
    else:
        stderr = float(fit.stderr)
        half = float(stats.t.ppf(0.5 + confidence / 2, n - 2)) * stderr
        interval = Interval(slope, slope - half, slope + half, n, confidence, "log-log t")
    return PowerLawFit(
        interval, stderr, float(fit.intercept), math.exp(fit.intercept), float(fit.rvalue)
    )


def bootstrap_argmax(
    x: Sequence[float],
    curves: Sequence[Sequence[float]] | np.ndarray,
    *,
    seed: int,
    confidence: float = 0.95,
    n_resamples: int = 9999,
    stratified: bool = False,
) -> Interval:
    """Position of the maximum of the mean curve over seeds, with a seeded bootstrap interval.

    ``x``: the curve's positions, shape (P,) (e.g. depths); ``curves``: shape (S, P), one curve
    per seed. Estimate: ``x[argmax(mean over seeds)]`` (first maximum on ties). Interval: resample
    the S seeds with replacement ``n_resamples`` times (``numpy.random.default_rng(seed)``),
    take the argmax position of each resampled mean curve, and report the lower / upper
    (1 ∓ c)/2 quantiles of those positions (``numpy.quantile`` with ``method="lower"`` /
    ``"higher"``, so both bounds are points of ``x``): a percentile bootstrap on a discrete
    statistic, which ``scipy.stats.bootstrap`` would interpolate between grid points. One seed
    gives no interval. ``stratified``: the values at different positions are independent draws
    (e.g. random starts drawn per depth), so each position's S values are resampled on their
    own (draws of shape (n_resamples, S, P)) instead of whole curves; the positions' pairing by
    seed index then plays no role. Raises ValueError for mismatched shapes, non-finite values
    or no seeds.
    """
    _check_confidence(confidence)
    xs = _finite(x, "x")
    ys = np.asarray(curves, dtype=float)
    if ys.ndim != 2 or ys.shape[1] != len(xs):
        raise ValueError(f"curves must have shape (seeds, {len(xs)}), got {ys.shape}")
    if ys.shape[0] == 0 or len(xs) == 0:
        raise ValueError("no curves")
    if not np.all(np.isfinite(ys)):
        raise ValueError("curves: non-finite entries")
    n = ys.shape[0]
    estimate = float(xs[int(np.argmax(ys.mean(axis=0)))])
    label = f"bootstrap over seeds ({n_resamples} resamples, seed {seed})"
    if stratified:
        label = f"bootstrap over seeds, per position ({n_resamples} resamples, seed {seed})"
    if n < 2:
        return Interval(estimate, None, None, 1, confidence, "argmax (one seed)")
    positions = xs[argmax_draws(ys, seed=seed, n_resamples=n_resamples, stratified=stratified)]
    alpha = 1.0 - confidence
    lo = float(np.quantile(positions, alpha / 2, method="lower"))
    hi = float(np.quantile(positions, 1 - alpha / 2, method="higher"))
    return Interval(estimate, lo, hi, n, confidence, label)


def argmax_draws(
    curves: np.ndarray, *, seed: int, n_resamples: int = 9999, stratified: bool = False
) -> np.ndarray:
    """Index of the maximum of each bootstrap resample's mean curve, shape (n_resamples,):
    the draws behind :func:`bootstrap_argmax` (``numpy.random.default_rng(seed)``; whole curves,
    or each position on its own when ``stratified``). ``curves``: (S, P) float."""
    n, p = curves.shape
    rng = np.random.default_rng(seed)
    if not stratified:
        draws = rng.integers(0, n, size=(n_resamples, n))
        return np.argmax(curves[draws].mean(axis=1), axis=1)
    draws = rng.integers(0, n, size=(n_resamples, n, p))
    means = np.take_along_axis(curves, draws.reshape(-1, p), axis=0).reshape(n_resamples, n, p)
    return np.argmax(means.mean(axis=1), axis=1)
