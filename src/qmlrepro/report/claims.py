"""Claims as data: typed comparisons that turn per-seed results into a ``Verdict``.

A claim states what a paper asserts (a paired improvement over a control, equivalence within a
margin, a mean above a threshold, a power-law exponent, the position of a curve's maximum),
the paper's own number where it gives one, and the minimum number of seeds a verdict needs.
``evaluate`` takes our per-seed numbers and returns a ``Verdict``: a status, our estimate with
its interval (``qmlrepro.report.stats``), the paper's value and a one-line reason.

Rules every claim follows:

* below ``min_seeds`` (at least 2) the status is ``TOO_FEW_SEEDS`` whatever the numbers say, so
  a smoke run on two seeds can never print "reproduced"; the numbers are still reported;
* one seed never yields an interval (``stats.Interval`` with ``low = high = None``);
* a firm status rests on the interval, not on the point estimate: "reproduced" means the whole
  interval supports the claim, "not reproduced" that the whole interval contradicts it (or that
  it excludes the paper's effect while not showing the claimed sign), anything else is
  "inconclusive";
* where the paper gives a number, the SIZE is compared as well as the sign: the size agrees when
  the paper's value lies in our interval, or our estimate lies within the paper's stated spread.

Nothing here names a paper; each paper declares its claims with these types.
"""

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal

import numpy as np

from qmlrepro.report.stats import (
    Interval,
    bootstrap_argmax,
    mean_interval,
    paired_interval,
    power_law_fit,
    welch_interval,
)

PerSeed = Sequence[float] | Mapping[int, float] | np.ndarray
"""Per-seed values: a sequence (paired by position) or ``{seed: value}`` (paired by seed)."""


class Status(Enum):
    REPRODUCED = "reproduced"
    PARTLY = "partly reproduced"
    NOT_REPRODUCED = "not reproduced"
    INCONCLUSIVE = "inconclusive"
    TOO_FEW_SEEDS = "too few seeds"
    NOT_TESTABLE = "not testable here"
    BY_CONSTRUCTION = "by construction"

    @property
    def firm(self) -> bool:
        """Whether the status is a judgement on the paper (reproduced, partly, not)."""
        return self in (Status.REPRODUCED, Status.PARTLY, Status.NOT_REPRODUCED)


@dataclass(frozen=True)
class Verdict:
    """The outcome of one claim: status, our numbers, the paper's, and why.

    ``interval`` is None for verdicts without numbers (by construction, not testable, no data).
    ``unit`` is appended verbatim to numbers in ``line()`` (e.g. ``" pp"``, ``"%"``); ``signed``
    prints a + on positive numbers (differences).
    """

    status: Status
    reason: str
    claim: str = ""
    interval: Interval | None = None
    paper_value: float | None = None
    paper_spread: float | None = None
    unit: str = ""
    digits: int = 2
    signed: bool = False
    # what paper_value is: "paper" (its reported number) or e.g. "expected" (a reference of ours)
    reference: str = "paper"

    @property
    def estimate(self) -> float | None:
        return None if self.interval is None else self.interval.estimate

    @property
    def low(self) -> float | None:
        return None if self.interval is None else self.interval.low

    @property
    def high(self) -> float | None:
        return None if self.interval is None else self.interval.high

    @property
    def n(self) -> int:
        return 0 if self.interval is None else self.interval.n

    @property
    def firm(self) -> bool:
        return self.status.firm

    def _num(self, value: float) -> str:
        return format(value, f"{'+' if self.signed else ''}.{self.digits}f")

    def numbers(self) -> str:
        """``"+3.10 [95% CI +1.20, +5.00] pp (n=5, paired t)"``; empty without numbers."""
        i = self.interval
        if i is None:
            return ""
        text = f"{self._num(i.estimate)}"
        if i.low is not None and i.high is not None:
            # confidence 1: a rigorous range (exact bounds), not a statistical interval
            label = "bracket" if i.confidence >= 1 else f"{i.confidence:.0%} CI"
            text += f" [{label} {self._num(i.low)}, {self._num(i.high)}]"
        text += self.unit
        detail = i.n_label() + (f", {i.method}" if i.method else "")
        if not i.has_interval:
            detail += ", no interval"
        if i.clipped:
            detail += ", clipped to range"
        return f"{text} ({detail})"

    def paper(self) -> str:
        """``"+4.00 ± 1.00 pp"``; empty when the paper gives no number."""
        if self.paper_value is None:
            return ""
        text = self._num(self.paper_value)
        if self.paper_spread is not None:
            text += f" ± {self.paper_spread:.{self.digits}f}"
        return text + self.unit

    def line(self) -> str:
        """One Markdown line: bold status, the claim, our numbers, the paper's, the reason."""
        head = f"**{self.status.value}**"
        if self.claim:
            head += f" — {self.claim}"
        parts = []
        if ours := self.numbers():
            parts.append(f"ours {ours}")
        if paper := self.paper():
            parts.append(f"{self.reference} {paper}")
        body = "; ".join(parts)
        text = f"{head}: {body}." if body else f"{head}."
        reason = self.reason.strip()
        if reason:
            text += f" {reason[0].upper()}{reason[1:]}"
            if not reason.endswith("."):
                text += "."
        return text

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready record (status as its text)."""
        i = self.interval
        return {
            "claim": self.claim,
            "status": self.status.value,
            "estimate": None if i is None else i.estimate,
            "low": None if i is None else i.low,
            "high": None if i is None else i.high,
            "n": self.n,
            "confidence": None if i is None else i.confidence,
            "method": None if i is None else i.method,
            "paper_value": self.paper_value,
            "paper_spread": self.paper_spread,
            "reason": self.reason,
        }


def by_construction(claim: str, reason: str) -> Verdict:
    """A claim our setup satisfies by how it is built (e.g. a qubit count fixed by the circuit)."""
    return Verdict(Status.BY_CONSTRUCTION, reason, claim)


def not_testable(claim: str, reason: str) -> Verdict:
    """A claim this reproduction cannot test (hardware, data or budget we do not have)."""
    return Verdict(Status.NOT_TESTABLE, reason, claim)


def _fmt(x: float, digits: int, signed: bool = False) -> str:
    return format(x, f"{'+' if signed else ''}.{digits}f")


@dataclass(frozen=True, kw_only=True)
class Claim:
    """Fields every claim has.

    ``statement``: the claim in one line (becomes ``Verdict.claim``). ``min_seeds``: fewest
    seeds for a firm verdict (>= 2). ``confidence``: level of every interval. ``paper_value`` /
    ``paper_spread``: the paper's number for this quantity (in our units) and its stated ±, if
    any. ``bounds``: the quantity's range, to clip intervals (e.g. ``stats.PERCENT``; for a
    difference of percentages (-100, 100)). ``unit`` / ``digits``: rendering.
    """

    statement: str
    min_seeds: int = 3
    confidence: float = 0.95
    paper_value: float | None = None
    paper_spread: float | None = None
    bounds: tuple[float | None, float | None] | None = None
    unit: str = ""
    digits: int = 2
    # "paper" when paper_value is the paper's reported number; name any other reference (e.g.
    # "expected" for our construction's own prediction) so no table calls it the paper's
    reference: str = "paper"

    _signed = False
    # True where the interval lives on a grid (a curve's argmax over depths): every resample
    # agreeing is a finding there, not an interval without width
    _grid_interval = False

    def __post_init__(self) -> None:
        if self.min_seeds < 2:
            raise ValueError(
                f"min_seeds must be >= 2 (one seed has no interval), got {self.min_seeds}"
            )
        if not 0.0 < self.confidence < 1.0:
            raise ValueError(f"confidence must lie in (0, 1), got {self.confidence}")
        if self.paper_spread is not None and not self.paper_spread >= 0:
            raise ValueError(f"paper_spread must be >= 0, got {self.paper_spread}")
        if self.paper_spread is not None and self.paper_value is None:
            raise ValueError("paper_spread given without paper_value")

    def verdict(self, status: Status, reason: str, interval: Interval | None = None) -> Verdict:
        return Verdict(
            status,
            reason,
            self.statement,
            interval,
            self.paper_value,
            self.paper_spread,
            self.unit,
            self.digits,
            self._signed,
            self.reference,
        )

    def _compared(self, ours: PerSeed, control: "PerSeed | float") -> "Interval | Verdict":
        """The interval of ours - control (paired, or Welch with ``paired=False``), clipped; or
        the verdict that there is nothing or too little to compare."""
        interval = _difference(ours, control, getattr(self, "paired", True), self.confidence)
        if interval is None:
            return self.verdict(Status.TOO_FEW_SEEDS, "no seeds to compare")
        interval = self._clip(interval)
        return self._too_few(interval, interval.n) or interval

    def _clip(self, interval: Interval) -> Interval:
        return interval if self.bounds is None else interval.clip(*self.bounds)

    def _too_few(self, interval: Interval | None, n: int) -> Verdict | None:
        """The verdict when ``n`` seeds cannot judge: below ``min_seeds``, or (unless the
        quantity is deterministic) every seed giving the same value, whose t interval has no
        width and would make any margin look decided (three seeds predicting the same six
        images are not a certainty)."""
        if n < self.min_seeds:
            return self.verdict(
                Status.TOO_FEW_SEEDS,
                f"{n} seed{'' if n == 1 else 's'}, below the minimum of {self.min_seeds}: "
                "no verdict",
                interval,
            )
        degenerate = (
            interval is not None
            and interval.has_interval
            and interval.low == interval.high
            and not getattr(self, "deterministic", False)
            and not self._grid_interval
        )
        if degenerate:
            return self.verdict(
                Status.INCONCLUSIVE,
                f"all {n} seeds gave the same value: an interval without width cannot judge",
                interval,
            )
        return None

    def _f(self, x: float) -> str:
        return _fmt(x, self.digits, self._signed)

    def _size_agrees(self, interval: Interval) -> bool | None:
        """None without a paper value; else whether the paper's value lies in our interval or
        our estimate lies within the paper's spread."""
        if self.paper_value is None or not interval.has_interval:
            return None
        if interval.contains(self.paper_value):
            return True
        return (
            self.paper_spread is not None
            and abs(interval.estimate - self.paper_value) <= self.paper_spread
        )

    def _paper_outside(self) -> str:
        spread = "" if self.paper_spread is None else f" (± {self.paper_spread:.{self.digits}f})"
        return f"the paper's {self._f(self.paper_value)}{spread} lies outside our interval"

    def _region(self, interval: Interval, lo: float, hi: float, what: str) -> Verdict:
        """Reproduced when the interval lies within [lo, hi], not when it misses it entirely."""
        assert interval.low is not None and interval.high is not None
        region = f"[{self._f(lo)}, {self._f(hi)}]"
        if lo <= interval.low and interval.high <= hi:
            return self.verdict(
                Status.REPRODUCED, f"the whole interval lies within {what} {region}", interval
            )
        if interval.low > hi or interval.high < lo:
            return self.verdict(
                Status.NOT_REPRODUCED, f"the whole interval lies outside {what} {region}", interval
            )
        return self.verdict(
            Status.INCONCLUSIVE,
            f"the interval straddles an edge of {what} {region}",
            interval,
        )


def _difference(
    ours: PerSeed, control: PerSeed | float, paired: bool, confidence: float
) -> Interval | None:
    """ours - control: paired t / Welch / one-sample t against a constant; None for no data."""
    if isinstance(control, numbers.Real) and not isinstance(control, bool):
        vals = list(ours.values()) if isinstance(ours, Mapping) else list(ours)
        if not vals:
            return None
        m = mean_interval([v - float(control) for v in vals], confidence)
        return Interval(m.estimate, m.low, m.high, m.n, confidence, f"{m.method} vs constant")
    if paired:
        if isinstance(ours, Mapping) and isinstance(control, Mapping):
            if not set(ours) & set(control):
                return None
        elif len(ours) == 0 and len(control) == 0:
            return None
        return paired_interval(ours, control, confidence)
    a = list(ours.values()) if isinstance(ours, Mapping) else list(ours)
    b = list(control.values()) if isinstance(control, Mapping) else list(control)
    if not a or not b:
        return None
    return welch_interval(a, b, confidence)


@dataclass(frozen=True, kw_only=True)
class PairedDifference(Claim):
    """Ours beats (``direction="greater"``) or stays below (``"less"``) a control.

    ``evaluate(ours, control)`` with per-seed values; the difference is ours - control, paired by
    seed (paired t interval), or with ``paired=False`` between unpaired groups (Welch interval;
    n is the smaller group). ``paper_value`` is the paper's ours - control, if reported.

    * interval entirely on the claimed side of 0: reproduced, or partly reproduced when the
      paper's size does not agree (its value outside our interval and our estimate outside its
      spread);
    * interval entirely on the other side: not reproduced (opposite sign);
    * interval contains 0: not reproduced when the paper's size does not agree (the paper's
      effect is excluded), else inconclusive.
    """

    direction: Literal["greater", "less"] = "greater"
    paired: bool = True

    _signed = True

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.direction not in ("greater", "less"):
            raise ValueError(f"direction must be 'greater' or 'less', got {self.direction!r}")

    def evaluate(self, ours: PerSeed, control: PerSeed) -> Verdict:
        interval = self._compared(ours, control)
        if isinstance(interval, Verdict):
            return interval
        assert interval.low is not None and interval.high is not None
        greater = self.direction == "greater"
        side = "above" if greater else "below"
        supports = interval.low > 0 if greater else interval.high < 0
        opposes = interval.high < 0 if greater else interval.low > 0
        size = self._size_agrees(interval)
        if supports:
            if size is False:
                return self.verdict(
                    Status.PARTLY,
                    f"the sign holds (interval {side} 0) but {self._paper_outside()}",
                    interval,
                )
            extra = ""
            if size:
                assert self.paper_value is not None
                extra = (
                    "; the paper's value lies within it"
                    if interval.contains(self.paper_value)
                    else "; our estimate lies within the paper's spread"
                )
            return self.verdict(Status.REPRODUCED, f"the interval lies {side} 0{extra}", interval)
        if opposes:
            return self.verdict(
                Status.NOT_REPRODUCED,
                f"opposite sign: the interval lies {'below' if greater else 'above'} 0",
                interval,
            )
        if size is False:
            return self.verdict(
                Status.NOT_REPRODUCED,
                f"no effect shown (interval includes 0) and {self._paper_outside()}",
                interval,
            )
        return self.verdict(Status.INCONCLUSIVE, "the interval includes 0", interval)


@dataclass(frozen=True, kw_only=True)
class Equivalence(Claim):
    """Ours and a control agree within ± ``margin`` (e.g. shots vs exact simulation).

    ``evaluate(ours, control)``: the difference ours - control (paired t; Welch with
    ``paired=False``; a one-sample t when ``control`` is a number, e.g. the paper's accuracy).
    Reproduced when the whole interval lies within [-margin, margin], not reproduced when it lies
    entirely outside, else inconclusive. With the default 95% level this is a two one-sided
    tests (TOST) decision at 2.5% per side, slightly stricter than the usual 90% interval.
    """

    margin: float
    paired: bool = True

    _signed = True

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.margin > 0:
            raise ValueError(f"margin must be > 0, got {self.margin}")

    def evaluate(self, ours: PerSeed, control: PerSeed | float) -> Verdict:
        interval = self._compared(ours, control)
        if isinstance(interval, Verdict):
            return interval
        return self._region(interval, -self.margin, self.margin, "the margin")


@dataclass(frozen=True, kw_only=True)
class Threshold(Claim):
    """The mean over seeds lies ``"above"`` or ``"below"`` ``threshold`` (e.g. above chance).

    Student-t interval of the mean (clipped to ``bounds``). Entirely on the claimed side:
    reproduced, or partly reproduced when the paper's ``paper_value`` (its mean) does not agree
    in size; entirely on the other side: not reproduced; else inconclusive.
    """

    threshold: float
    direction: Literal["above", "below"] = "above"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.direction not in ("above", "below"):
            raise ValueError(f"direction must be 'above' or 'below', got {self.direction!r}")

    def evaluate(self, values: PerSeed) -> Verdict:
        vals = list(values.values()) if isinstance(values, Mapping) else list(values)
        if not vals:
            return self.verdict(Status.TOO_FEW_SEEDS, "no seeds")
        interval = self._clip(mean_interval(vals, self.confidence))
        if too_few := self._too_few(interval, interval.n):
            return too_few
        assert interval.low is not None and interval.high is not None
        above = self.direction == "above"
        t = self._f(self.threshold)
        supports = interval.low > self.threshold if above else interval.high < self.threshold
        opposes = interval.high < self.threshold if above else interval.low > self.threshold
        if supports:
            if self._size_agrees(interval) is False:
                return self.verdict(
                    Status.PARTLY,
                    f"the interval lies {self.direction} {t} but {self._paper_outside()}",
                    interval,
                )
            return self.verdict(
                Status.REPRODUCED, f"the interval lies {self.direction} {t}", interval
            )
        if opposes:
            other = "below" if above else "above"
            return self.verdict(Status.NOT_REPRODUCED, f"the interval lies {other} {t}", interval)
        return self.verdict(Status.INCONCLUSIVE, f"the interval includes {t}", interval)


@dataclass(frozen=True, kw_only=True)
class PowerLawSlope(Claim):
    """A quantity grows as x^s with the paper's exponent ``paper_value`` ± ``tolerance``.

    ``evaluate(x, y)``: ``x`` shape (P,) positive; ``y`` shape (S, P), one curve per seed: each
    seed's log-log slope is fitted (``stats.power_law_fit``) and the slopes get a Student-t
    interval over seeds (``min_seeds`` applies). For a deterministic quantity (a gate or query
    count) set ``deterministic=True`` and pass one curve (P,): the interval is linregress's
    t interval (df = P - 2), which needs at least 3 points. Reproduced when the interval lies
    within [paper - tolerance, paper + tolerance], not reproduced when it misses it, else
    inconclusive. A non-deterministic 1-D ``y`` counts as one seed.
    """

    tolerance: float
    deterministic: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.paper_value is None:
            raise ValueError("PowerLawSlope needs the paper's exponent (paper_value)")
        if not self.tolerance > 0:
            raise ValueError(f"tolerance must be > 0, got {self.tolerance}")

    def evaluate(
        self, x: Sequence[float], y: Sequence[float] | np.ndarray, seeds: int | None = None
    ) -> Verdict:
        """``seeds``: for a deterministic curve derived from several seeds' runs (e.g. the
        smallest memory at which any seed succeeds), how many seeds stand behind it;
        ``min_seeds`` applies to it. None: a count that depends on no seed."""
        ys = np.asarray(y, dtype=float)
        assert self.paper_value is not None
        lo, hi = self.paper_value - self.tolerance, self.paper_value + self.tolerance
        if self.deterministic:
            if ys.ndim != 1:
                raise ValueError(f"a deterministic quantity is one curve, got shape {ys.shape}")
            fit = power_law_fit(x, ys, self.confidence)
            interval = self._clip(fit.slope)
            if seeds is not None and seeds < self.min_seeds:
                return self.verdict(
                    Status.TOO_FEW_SEEDS,
                    f"the curve comes from {seeds} seed{'' if seeds == 1 else 's'}, below the "
                    f"minimum of {self.min_seeds}: no verdict",
                    interval,
                )
            if interval.n < 3:
                return self.verdict(
                    Status.TOO_FEW_SEEDS,
                    f"{interval.n} points: a slope interval needs at least 3",
                    interval,
                )
            return self._region(interval, lo, hi, "the paper's exponent ± tolerance")
        if ys.ndim == 1:
            ys = ys[None, :]
        if ys.ndim != 2:
            raise ValueError(f"y must have shape (seeds, points), got {ys.shape}")
        if ys.shape[0] == 0:
            return self.verdict(Status.TOO_FEW_SEEDS, "no seeds")
        slopes = [power_law_fit(x, row, self.confidence).slope.estimate for row in ys]
        m = mean_interval(slopes, self.confidence)
        interval = self._clip(
            Interval(m.estimate, m.low, m.high, m.n, m.confidence, f"per-seed slopes, {m.method}")
        )
        if too_few := self._too_few(interval, interval.n):
            return too_few
        return self._region(interval, lo, hi, "the paper's exponent ± tolerance")


@dataclass(frozen=True, kw_only=True)
class CurveArgmax(Claim):
    """A curve (e.g. success probability over depth) peaks at the paper's position
    ``paper_value`` ± ``tolerance`` (0: exactly that grid point).

    ``evaluate(x, curves)``: ``x`` shape (P,), ``curves`` shape (S, P), one per seed. Estimate:
    the position of the mean curve's maximum; interval: seeded bootstrap over seeds
    (``stats.bootstrap_argmax``, ``seed``, ``n_resamples``, ``stratified``; both bounds are
    grid points).
    Reproduced when the interval lies within [paper - tolerance, paper + tolerance], not
    reproduced when it lies entirely outside, else inconclusive.
    """

    _grid_interval = True

    tolerance: float = 0.0
    seed: int = 0
    n_resamples: int = 9999
    stratified: bool = False  # positions are independent draws: resample each on its own

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.paper_value is None:
            raise ValueError("CurveArgmax needs the paper's position of the maximum (paper_value)")
        if not self.tolerance >= 0 or math.isinf(self.tolerance):
            raise ValueError(f"tolerance must be finite and >= 0, got {self.tolerance}")

    def evaluate(
        self, x: Sequence[float], curves: Sequence[Sequence[float]] | np.ndarray
    ) -> Verdict:
        ys = np.asarray(curves, dtype=float)
        if ys.ndim == 2 and ys.shape[0] == 0:
            return self.verdict(Status.TOO_FEW_SEEDS, "no seeds")
        interval = self._clip(
            bootstrap_argmax(
                x,
                ys,
                seed=self.seed,
                confidence=self.confidence,
                n_resamples=self.n_resamples,
                stratified=self.stratified,
            )
        )
        if too_few := self._too_few(interval, interval.n):
            return too_few
        assert self.paper_value is not None
        return self._region(
            interval,
            self.paper_value - self.tolerance,
            self.paper_value + self.tolerance,
            "the paper's position",
        )
