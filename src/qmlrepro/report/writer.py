"""Assembles REPORT.md from the registered paper sections and the stages' metrics files."""

import datetime as dt
import importlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from qmlrepro.data.artifacts import write_json
from qmlrepro.papers import paper_modules
from qmlrepro.report.results import JobResult, PaperResults, metrics_path, summarize_records
from qmlrepro.report.section import SECTIONS, PlotSink, ReportSection, SectionBody


def load_sections() -> None:
    for module in paper_modules("report"):
        importlib.import_module(module)


def collect(
    results_dir: Path, jobs: Mapping[str, Mapping[str, Any]]
) -> tuple[dict[str, PaperResults], list[Path]]:
    """Read the metrics of the listed jobs: {job: {"stages": [("train", None), ("evaluate", b)]}}.

    Returns the results by paper and the metrics files not written yet (stages not run).
    """
    papers: dict[str, PaperResults] = {}
    missing: list[Path] = []
    for job, spec in jobs.items():
        for stage, backend in spec["stages"]:
            path = metrics_path(results_dir, job, stage, backend)
            if not path.is_file():
                missing.append(path)
                continue
            result = JobResult.read(path)
            key = stage if stage == "train" else f"eval-{backend}"
            papers.setdefault(result.paper, PaperResults(result.paper, {})).jobs[(job, key)] = (
                result
            )
    return papers, missing


def write_report(
    results_dir: Path,
    jobs: Mapping[str, Mapping[str, Any]],
    profile: str,
    git: Mapping[str, str],
    out: Path,
) -> list[Path]:
    """Write ``out`` (REPORT.md), its plots (``plots/*.png``) and their data (``series/*.csv``,
    what dvc.yaml's ``plots:`` declare) beside it; return every file written, REPORT.md first."""
    load_sections()
    papers, missing = collect(results_dir, jobs)
    plots_dir = out.parent / "plots"
    for owned, pattern in ((plots_dir, "*.png"), (out.parent / "series", "*.csv"),
                           (out.parent / "summary", "*.json")):  # fmt: skip
        for stale in owned.glob(pattern):  # of another profile or an older report
            stale.unlink()
    written: list[Path] = []
    parts: list[str] = [
        "# qmlrepro reproduction report",
        "",
        f"Profile **{profile}**, code `{git.get('git_commit', 'unknown')[:12]}`"
        f"{' (uncommitted changes)' if git.get('git_dirty') == 'true' else ''}, "
        f"written {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}.",
        "Tables give mean ± sample std over seeds with a Student-t 95% confidence interval "
        "unless they say otherwise; each verdict names its own interval (paired t, Welch, "
        "Wilson, bootstrap) and needs a claim's minimum number of seeds. Every number links to "
        "its MLflow runs (`make mlflow-ui`). Verdicts compare our measurements with the paper's "
        "claim; they are not tuned to agree.",
        "",
    ]
    sections = sorted(SECTIONS.values(), key=lambda s: (s.order, s.paper_id))
    bodies: dict[str, SectionBody] = {}
    for section in sections:
        results = papers.get(section.paper_id)
        if results is not None:
            sink = PlotSink(plots_dir, out.parent, section.paper_id)
            bodies[section.paper_id] = section.body(results, sink)
            written += sink.written
            for series in sink.series:
                path = out.parent / "series" / f"{section.paper_id}_{series.name}.csv"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(series.csv())
                written.append(path)
    for section in sections:
        if section.paper_id in papers:
            written += write_summaries(papers[section.paper_id], section, out.parent / "summary")
    parts += ["## Verdicts", "", verdict_table(sections, bodies), ""]
    toc = [f"- [{s.title}](#{_anchor(s.title)})" for s in sections]
    parts += ["## Contents", "", *toc, ""]
    if missing:
        parts += [
            "Stages listed in params.yaml but not run yet (their numbers are absent below):",
            "",
        ]
        parts += [f"- `{p.relative_to(results_dir).as_posix()}`" for p in missing] + [""]
    for section in sections:
        results = papers.get(section.paper_id)
        parts += [f"## {section.title}", "", f"**Claim.** {section.claim}", ""]
        if results is None:
            parts += [f"_No results in profile `{profile}`: no job of this paper has run._", ""]
            continue
        body = bodies[section.paper_id]
        parts += [body.markdown, ""]
        if body.verdicts:
            parts += ["**Verdicts.**", ""] + [f"- {v.line()}" for v in body.verdicts] + [""]
        if body.verdict:
            parts += [f"**Verdict.** {body.verdict}", ""]
        deviations = [*section.deviations, *body.deviations]
        parts += ["**Deviations from the paper.**", ""]
        parts += [f"- {d}" for d in deviations] or ["- none"]
        parts.append("")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(parts).rstrip() + "\n")
    return [out, *written]


def write_summaries(results: PaperResults, section: ReportSection, out_dir: Path) -> list[Path]:
    """``<out_dir>/<job>.json`` per job that ran: ``{"train": ..., "eval-<backend>": ...}``, each
    :func:`~qmlrepro.report.results.summarize_records` of the section's headline records
    (``section.summary``): the files DVC lists as metrics."""
    by_job: dict[str, dict[str, Any]] = {}
    for (job, key), result in sorted(results.jobs.items()):
        summary = summarize_records(result, section.summary) if result.runs else {}
        if summary:
            by_job.setdefault(job, {})[key] = summary
    written = []
    for job, summary in by_job.items():
        path = out_dir / f"{job}.json"
        write_json(path, summary)
        written.append(path)
    return written


def verdict_table(sections: Sequence[ReportSection], bodies: Mapping[str, SectionBody]) -> str:
    """The table that opens REPORT.md (and README's verdict block): per paper and claim, the
    verdict, our key number and the paper's. A section whose claims are not typed yet gets one
    row pointing to its prose verdict."""
    lines = [
        "| paper | claim | verdict | ours | paper's | why |",
        "|---|---|---|---|---|---|",
    ]
    for section in sections:
        body = bodies.get(section.paper_id)
        link = f"[{section.paper_id}](#{_anchor(section.title)})"
        if body is None:
            lines.append(f"| {link} | {section.claim} | not run | — | — | — |")
            continue
        if not body.verdicts:
            lines.append(f"| {link} | {section.claim} | see its section | — | — | — |")
            continue
        for verdict in body.verdicts:
            cells = [
                link,
                verdict.claim or section.claim,
                f"**{verdict.status.value}**",
                verdict.numbers() or "—",
                _reference(verdict),
                _short(verdict.reason),
            ]
            lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines)


def _short(reason: str, limit: int = 160) -> str:
    """A verdict's reason for a table cell: at most ``limit`` characters."""
    reason = " ".join(reason.split()) or "—"
    return reason if len(reason) <= limit else reason[: limit - 1].rstrip() + "…"


def _reference(verdict) -> str:
    """The paper's number, or a reference of ours named as such ("1.00 (expected (ours))")."""
    text = verdict.paper()
    if not text:
        return "—"
    return text if verdict.reference == "paper" else f"{text} ({verdict.reference})"


README_BEGIN, README_END = "<!-- report:verdicts -->", "<!-- /report:verdicts -->"


def update_readme_verdicts(report: Path, readme: Path) -> bool:
    """Copy REPORT.md's verdict table into README.md between its markers; False (nothing
    written) when either has no such block."""
    text, source = readme.read_text(), report.read_text()
    if README_BEGIN not in text or "## Verdicts\n\n" not in source:
        return False
    table = source.split("## Verdicts\n\n", 1)[1].split("\n\n", 1)[0]
    table = table.replace("](#", "](results/REPORT.md#")
    head, rest = text.split(README_BEGIN, 1)
    _, tail = rest.split(README_END, 1)
    readme.write_text(f"{head}{README_BEGIN}\n{table}\n{README_END}{tail}")
    return True


def _anchor(title: str) -> str:
    keep = [c for c in title.lower() if c.isalnum() or c in " -"]
    return "".join(keep).replace(" ", "-")


def stage_list(train_jobs: Mapping[str, Any], eval_jobs: Mapping[str, Any]) -> dict[str, dict]:
    """Turn params.yaml's train/evaluate job tables into {job: {"stages": [...]}}."""
    jobs: dict[str, dict[str, list]] = {job: {"stages": [("train", None)]} for job in train_jobs}
    for spec in eval_jobs.values():
        jobs.setdefault(spec["job"], {"stages": []})["stages"].append(("evaluate", spec["backend"]))
    return jobs
