"""Summary statistics over seeds, with small-sample (Student t) confidence intervals.

Seeds are few (3-6), so a normal-approximation interval would be too narrow; paired differences
use the same seeds on both sides, which removes the shared seed-to-seed variance.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

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
    xs = [float(v) for v in values]
    n = len(xs)
    if n == 0:
        raise ValueError("cannot summarise an empty sample")
    mean = sum(xs) / n
    if n < 2:
        return Summary(n, mean, math.nan, math.nan, math.nan, confidence)
    std = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1))
    half = stats.t.ppf(0.5 + confidence / 2, df=n - 1) * std / math.sqrt(n)
    return Summary(n, mean, std, mean - half, mean + half, confidence)


def paired_difference(
    a: dict[int, float], b: dict[int, float], confidence: float = 0.95
) -> Summary | None:
    """Summary of a - b over the seeds both have; None when fewer than one seed is shared."""
    shared = sorted(set(a) & set(b))
    if not shared:
        return None
    return summarize([a[s] - b[s] for s in shared], confidence)


def loglog_slope(points: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope of log y against log x: the exponent of a power law y ~ x^s."""
    lx = [math.log(x) for x, _ in points]
    ly = [math.log(y) for _, y in points]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly, strict=True)) / sum(
        (a - mx) ** 2 for a in lx
    )
