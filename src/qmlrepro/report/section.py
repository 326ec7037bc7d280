"""What a paper contributes to the report, and the building blocks sections share."""

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from qmlrepro.records import Table
from qmlrepro.report.claims import Verdict
from qmlrepro.report.results import JobResult, PaperResults
from qmlrepro.report.stats import (
    Interval,
    Summary,
    clip_interval,
    mean_interval,
    paired_difference,
    summarize,
)

SECTIONS: dict[str, "ReportSection"] = {}


@dataclass
class SectionBody:
    """A section's text. ``verdicts``: one typed :class:`Verdict` per claim (from the shared
    claim types of :mod:`qmlrepro.report.claims`), listed in the section and in the verdict table
    that opens REPORT.md; ``verdict``: free prose, for a section whose claims are not typed yet."""

    markdown: str
    verdict: str = ""
    deviations: list[str] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)


@dataclass(frozen=True)
class Series:
    """A figure's data as DVC plots reads it: one long-format CSV
    (``results/series/<paper>_<name>.csv``) with columns ``x``, ``line`` (the legend label),
    ``y`` (the mean over seeds), ``ci_low``, ``ci_high`` (its 95% interval; empty for one seed)
    and ``n_seeds``. dvc.yaml's ``plots:`` declares each file with the ``lines`` template
    (``.dvc/plots/lines.json``: one coloured line per ``line``), so ``dvc plots show`` /
    ``dvc plots diff`` draw it."""

    name: str
    x: str
    y: str
    points: dict[str, list[tuple[float, Interval]]]

    def csv(self) -> str:
        rows = [",".join([self.x, "line", self.y, "ci_low", "ci_high", "n_seeds"])]
        for label, points in self.points.items():
            for x, ci in points:
                cells = [_cell(x), label.replace(",", ";"), _cell(ci.estimate)]
                rows.append(",".join([*cells, _cell(ci.low), _cell(ci.high), str(ci.n)]))
        return "\n".join(rows) + "\n"


def _cell(value: float | None) -> str:
    return "" if value is None else f"{value:.10g}"


def curve(
    table: Table,
    x: str,
    scale: float = 1.0,
    bounds: tuple[float | None, float | None] = (None, None),
) -> list[tuple[float, Interval]]:
    """Per level of dimension ``x``: the mean over seeds with its Student-t interval
    (:func:`~qmlrepro.report.stats.mean_interval`), values times ``scale``, the interval clipped
    to ``bounds`` (the quantity's range in the scaled unit, e.g. (0, 1) for a fidelity, (0,
    None) for a count). ``table`` must leave only ``x`` and ``seed`` free (else
    :meth:`Table.values` raises DataError)."""
    points = []
    for level, rows in table.groups(x).items():
        values = [scale * v for v in rows.values("seed").values()]
        points.append((level, clip_interval(mean_interval(values), bounds)))
    return points


class PlotSink:
    """Saves a section's figures as PNG beside the report (and their data as :class:`Series`);
    returns the Markdown image link."""

    def __init__(self, plots_dir: Path, report_dir: Path, paper: str) -> None:
        self.plots_dir, self.report_dir, self.paper = plots_dir, report_dir, paper
        self.written: list[Path] = []
        self.series: list[Series] = []

    def curves(
        self,
        name: str,
        alt: str,
        lines: dict[str, Table],
        x: str,
        *,
        y: str,
        xlabel: str,
        ylabel: str,
        scale: float = 1.0,
        logx: bool = False,
        logy: bool = False,
        references: dict[str, tuple[list[float], list[float]]] | None = None,
        title: str = "",
        bounds: tuple[float | None, float | None] = (None, None),
    ) -> str:
        """The standard curve figure: per line, the mean over seeds against dimension ``x``
        with its 95% Student-t interval as error bars (one seed: the point alone), dashed
        ``references`` (label -> (xs, ys), e.g. the paper's numbers or a bound) beside them;
        intervals clipped to ``bounds`` (the quantity's range in the plotted unit).
        Saves the PNG, records the points as a :class:`Series` named ``name`` (columns ``x``
        and ``y``, a short field name such as ``p_opt``) and returns the Markdown link."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5.5, 3.5))
        series: dict[str, list[tuple[float, Interval]]] = {}
        for label, table in lines.items():
            points = curve(table, x, scale, bounds)
            if not points:
                continue
            xs = [p for p, _ in points]
            ys = [i.estimate for _, i in points]
            low = [i.estimate - i.low if i.low is not None else 0.0 for _, i in points]
            high = [i.high - i.estimate if i.high is not None else 0.0 for _, i in points]
            ax.errorbar(xs, ys, yerr=[low, high], fmt="o-", capsize=3, label=label)
            series[label] = points
        for label, (xs, ys) in (references or {}).items():
            ax.plot(xs, ys, "k--", lw=0.9, label=label)
        if logx:
            ax.set_xscale("log")
        if logy:
            ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if title:
            ax.set_title(title)
        ax.legend(fontsize=7)
        self.series.append(Series(name, x, y, series))
        return self.save(fig, name, alt)

    def save(self, figure, name: str, alt: str) -> str:
        import matplotlib.pyplot as plt

        self.plots_dir.mkdir(parents=True, exist_ok=True)
        path = self.plots_dir / f"{self.paper}_{name}.png"
        figure.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(figure)
        self.written.append(path)
        return f"![{alt}]({path.relative_to(self.report_dir).as_posix()})"


class ReportSection(ABC):
    """One paper's part of REPORT.md. Subclass, fill the class attributes, register.

    ``summary``: the headline record names and their ranges (``{"p_opt": (0, 1)}``; from the
    paper's ``claims.SUMMARY``) that the report stage summarises per job for DVC
    (``results/summary/<job>.json``)."""

    paper_id: str
    title: str
    claim: str
    order: int = 100
    deviations: Sequence[str] = ()
    summary: Mapping[str, tuple[float | None, float | None]] = {}

    @abstractmethod
    def body(self, results: PaperResults, plots: PlotSink) -> SectionBody: ...


def register_section(cls: type[ReportSection]) -> type[ReportSection]:
    SECTIONS[cls.paper_id] = cls()
    return cls


@dataclass(frozen=True)
class Row:
    """One table row: a label, the numbers it summarises (a :class:`Table` selection with one
    record per seed, e.g. ``results.select("test_accuracy", model="qssl/classical")``; or a
    JobResult and its ``metric``), and (optionally) the paper's number."""

    label: str
    result: Table | JobResult | None
    metric: str = ""
    paper_value: str = "—"

    def seeds(self) -> dict:
        if isinstance(self.result, Table):
            return self.result.values("seed")
        return self.result.values(self.metric) if self.result else {}

    def run_ids(self) -> list[str]:
        return self.result.run_ids() if self.result is not None else []


def summary_table(
    rows: Sequence[Row],
    scale: float = 1.0,
    digits: int = 2,
    bounds: tuple[float | None, float | None] = (None, None),
) -> str:
    """Markdown table of mean ± std [95% CI] over seeds, values times ``scale``, the interval
    clipped to ``bounds`` (the quantity's range in the table's unit, e.g. ``PERCENT``), with the
    paper's number beside ours."""
    lines = [
        "| | seeds | ours: mean ± std [95% CI] | paper | MLflow runs |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        values = row.seeds()
        if not values:
            lines.append(f"| {row.label} | 0 | not run | {row.paper_value} | |")
            continue
        s = _clipped(summarize([scale * v for v in values.values()]), bounds)
        runs = ", ".join(f"`{rid[:8]}`" for rid in row.run_ids())
        lines.append(f"| {row.label} | {s.n} | {s.format(digits)} | {row.paper_value} | {runs} |")
    return "\n".join(lines)


def _clipped(s: Summary, bounds: tuple[float | None, float | None]) -> Summary:
    """``s`` with its interval cut to the quantity's range (in the table's unit), by
    :meth:`~qmlrepro.report.stats.Interval.clip`."""
    if s.n < 2 or math.isnan(s.ci_low):
        return s
    ci = Interval(s.mean, s.ci_low, s.ci_high, s.n, s.confidence).clip(*bounds)
    return replace(s, ci_low=ci.low, ci_high=ci.high)


def difference_verdict(
    diff: Summary | None,
    claim: str,
    expect_positive: bool = True,
    scale: float = 1.0,
    unit: str = "",
) -> str:
    """Reproduced if the paired 95% CI lies on the claimed side of 0; otherwise not reproduced."""
    if diff is None:
        return f"**not tested**: no shared seeds to compare ({claim})"
    if diff.n < 2:
        return (
            f"**inconclusive**: one seed only; difference {diff.mean * scale:+.2f}{unit} ({claim})"
        )
    lo, hi = diff.ci_low * scale, diff.ci_high * scale
    interval = (
        f"paired difference {diff.mean * scale:+.2f}{unit}, "
        f"95% CI [{lo:+.2f}, {hi:+.2f}]{unit}, n={diff.n}"
    )
    supports = lo > 0 if expect_positive else hi < 0
    opposes = hi < 0 if expect_positive else lo > 0
    if supports:
        return f"**reproduced**: {claim}; {interval}"
    if opposes:
        return f"**not reproduced** (opposite sign): {claim}; {interval}"
    return f"**not reproduced** (inconclusive, CI includes 0): {claim}; {interval}"


def compare(a: JobResult | None, b: JobResult | None, metric: str) -> Summary | None:
    if a is None or b is None:
        return None
    return paired_difference(a.values(metric), b.values(metric))
