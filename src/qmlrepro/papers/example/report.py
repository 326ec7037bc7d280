"""Report section of the pipeline self-check."""

from qmlrepro.papers.example.claims import MLP_BEATS_LOGISTIC, SUMMARY
from qmlrepro.records import Table
from qmlrepro.report.results import PaperResults
from qmlrepro.report.section import (
    PlotSink,
    ReportSection,
    Row,
    SectionBody,
    register_section,
    summary_table,
)
from qmlrepro.report.stats import PERCENT


def _percent(table: Table) -> dict[int, float]:
    """{seed: test accuracy in %}; empty when the job has not run."""
    return {seed: 100.0 * v for seed, v in table.values("seed").items()}


@register_section
class ExampleSection(ReportSection):
    paper_id = "example"
    summary = SUMMARY
    title = "Pipeline self-check (not a paper): classifiers on the 2D Gaussian mixture"
    claim = (
        "A one-hidden-layer MLP classifies the hypernet paper's 2D Gaussian mixture more "
        "accurately "
        "than logistic regression (a check of the machinery, not of any paper: the classes are "
        "nearly, but not exactly, linearly separable)."
    )
    order = 1000

    def body(self, results: PaperResults, plots: PlotSink) -> SectionBody:
        """Every model's test accuracy per stage and backend (selected by dimensions, never by
        job name: the template for a paper's section)."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        accuracy = results.select("test_accuracy")
        rows = []
        for model, by_model in accuracy.groups("model").items():
            n_params = results.describe(by_model).get("n_params", "?")
            for (stage, backend), table in _by_stage(by_model).items():
                rows.append(Row(f"{model} ({n_params} params), {stage} on {backend}", table))
        table = summary_table(rows, scale=100.0, bounds=PERCENT)
        trained = accuracy.select(stage="train")
        verdict = MLP_BEATS_LOGISTIC.evaluate(
            _percent(trained.select(model="example/mlp")),
            _percent(trained.select(model="example/logistic")),
        )
        fig, ax = plt.subplots(figsize=(5, 3))
        for model, by_model in trained.groups("model").items():
            values = by_model.values("seed")
            ax.scatter([model] * len(values), [100 * v for v in values.values()], label=model)
        ax.set_ylabel("test accuracy (%)")
        ax.set_title("per-seed test accuracy")
        link = plots.save(fig, "accuracy", "per-seed test accuracy")
        markdown = "\n".join(["Test accuracy (%) over seeds:", "", table, "", link])
        return SectionBody(markdown, verdicts=[verdict])


def _by_stage(table: Table) -> dict[tuple[str, str], Table]:
    """{(stage, backend): records}, training first."""
    out = {}
    for stage, rows in sorted(table.groups("stage").items(), key=lambda kv: kv[0] != "train"):
        for backend, by_backend in rows.groups("backend").items():
            out[(stage, backend)] = by_backend
    return out
