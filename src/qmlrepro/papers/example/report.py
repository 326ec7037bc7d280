"""Report section of the pipeline self-check."""

from qmlrepro.papers.example.claims import MLP_BEATS_LOGISTIC
from qmlrepro.report.results import JobResult, PaperResults
from qmlrepro.report.section import (
    PlotSink,
    ReportSection,
    Row,
    SectionBody,
    register_section,
    summary_table,
)


def _percent(result: JobResult | None) -> dict[int, float]:
    """{seed: test accuracy in %}; empty when the job has not run."""
    if result is None:
        return {}
    return {seed: 100.0 * v for seed, v in result.values("test_accuracy").items()}


@register_section
class ExampleSection(ReportSection):
    paper_id = "example"
    title = "Pipeline self-check (not a paper): classifiers on the 2D Gaussian mixture"
    claim = (
        "A one-hidden-layer MLP classifies the hypernet paper's 2D Gaussian mixture more "
        "accurately "
        "than logistic regression (a check of the machinery, not of any paper: the classes are "
        "nearly, but not exactly, linearly separable)."
    )
    order = 1000

    def body(self, results: PaperResults, plots: PlotSink) -> SectionBody:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        rows, evals = [], {}
        for job in results.by_stage("train"):
            n_params = job.describe.get("n_params", "?")
            rows.append(Row(f"{job.model} ({n_params} params), train stage", job, "test_accuracy"))
            for key in results.stages_of(job.job):
                if key.startswith("eval-"):
                    evaluated = results.get(job.job, key)
                    evals[job.model] = evaluated
                    rows.append(Row(f"{job.model}, {key}", evaluated, "test_accuracy"))
        table = summary_table(rows, scale=100.0)
        mlp = next((r for r in results.by_stage("train") if r.model.endswith("mlp")), None)
        logistic = next(
            (r for r in results.by_stage("train") if r.model.endswith("logistic")), None
        )
        verdict = MLP_BEATS_LOGISTIC.evaluate(_percent(mlp), _percent(logistic))
        fig, ax = plt.subplots(figsize=(5, 3))
        for job in results.by_stage("train"):
            values = job.values("test_accuracy")
            ax.scatter(
                [job.model] * len(values), [100 * v for v in values.values()], label=job.model
            )
        ax.set_ylabel("test accuracy (%)")
        ax.set_title("per-seed test accuracy")
        link = plots.save(fig, "accuracy", "per-seed test accuracy")
        markdown = "\n".join(["Test accuracy (%) over seeds:", "", table, "", link])
        return SectionBody(markdown, verdicts=[verdict])
