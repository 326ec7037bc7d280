"""What a paper contributes to the report, and the building blocks sections share."""

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from qmlrepro.report.claims import Verdict
from qmlrepro.report.results import JobResult, PaperResults
from qmlrepro.report.stats import Summary, paired_difference, summarize

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


class PlotSink:
    """Saves a section's figures as PNG beside the report; returns the Markdown image link."""

    def __init__(self, plots_dir: Path, report_dir: Path, paper: str) -> None:
        self.plots_dir, self.report_dir, self.paper = plots_dir, report_dir, paper
        self.written: list[Path] = []

    def save(self, figure, name: str, alt: str) -> str:
        import matplotlib.pyplot as plt

        self.plots_dir.mkdir(parents=True, exist_ok=True)
        path = self.plots_dir / f"{self.paper}_{name}.png"
        figure.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(figure)
        self.written.append(path)
        return f"![{alt}]({path.relative_to(self.report_dir).as_posix()})"


class ReportSection(ABC):
    """One paper's part of REPORT.md. Subclass, fill the class attributes, register."""

    paper_id: str
    title: str
    claim: str
    order: int = 100
    deviations: Sequence[str] = ()

    @abstractmethod
    def body(self, results: PaperResults, plots: PlotSink) -> SectionBody: ...


def register_section(cls: type[ReportSection]) -> type[ReportSection]:
    SECTIONS[cls.paper_id] = cls()
    return cls


@dataclass(frozen=True)
class Row:
    """One table row: a label, the job result it reads, and (optionally) the paper's number."""

    label: str
    result: JobResult | None
    metric: str
    paper_value: str = "—"


def summary_table(rows: Sequence[Row], scale: float = 1.0, digits: int = 2) -> str:
    """Markdown table of mean ± std [95% CI] over seeds, with the paper's number beside ours."""
    lines = [
        "| | seeds | ours: mean ± std [95% CI] | paper | MLflow runs |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        values = row.result.values(row.metric) if row.result else {}
        if not values:
            lines.append(f"| {row.label} | 0 | not run | {row.paper_value} | |")
            continue
        s = summarize(list(values.values()))
        runs = ", ".join(f"`{rid[:8]}`" for rid in row.result.run_ids())
        lines.append(
            f"| {row.label} | {s.n} | {s.format(digits, scale)} | {row.paper_value} | {runs} |"
        )
    return "\n".join(lines)


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
