"""The pipeline self-check's report section gives a typed, seed-paired verdict."""

import pytest

from qmlrepro.papers.example.report import ExampleSection
from qmlrepro.records import Record
from qmlrepro.report.claims import Status
from qmlrepro.report.results import JobResult, PaperResults
from qmlrepro.report.section import PlotSink


def _job(job: str, model: str, accuracy: dict[int, float]) -> JobResult:
    per_seed = {s: [Record("test_accuracy", a)] for s, a in accuracy.items()}
    return JobResult.from_records(
        job, "train", "example", model, "torch", per_seed, describe={"n_params": 3},
        run_id="{job}{seed}",
    )  # fmt: skip


def _body(tmp_path, mlp: dict[int, float], logistic: dict[int, float]):
    papers = PaperResults(
        "example",
        {
            ("example-mlp", "train"): _job("example-mlp", "example/mlp", mlp),
            ("example-logistic", "train"): _job("example-logistic", "example/logistic", logistic),
        },
    )
    return ExampleSection().body(papers, PlotSink(tmp_path / "plots", tmp_path, "example"))


def test_mlp_ahead_on_every_seed_is_reproduced_paired_by_seed(tmp_path):
    # seed-to-seed spread is large, the paired difference is not: only pairing shows the effect
    mlp = {0: 0.80, 1: 0.90, 2: 0.70}
    logistic = {0: 0.79, 1: 0.885, 2: 0.69}
    body = _body(tmp_path, mlp, logistic)
    (verdict,) = body.verdicts
    assert body.verdict == "" and verdict.status is Status.REPRODUCED
    assert verdict.estimate == pytest.approx(1.1667, abs=1e-3) and verdict.n == 3
    assert "paired t" in verdict.numbers() and verdict.numbers().endswith("paired t)")
    assert len(verdict.claim) <= 90


def test_logistic_ahead_is_not_reproduced(tmp_path):
    body = _body(tmp_path, {0: 0.7, 1: 0.72, 2: 0.71}, {0: 0.8, 1: 0.81, 2: 0.83})
    assert body.verdicts[0].status is Status.NOT_REPRODUCED


def test_two_seeds_give_no_firm_verdict(tmp_path):
    body = _body(tmp_path, {0: 0.9, 1: 0.97}, {0: 0.5, 1: 0.55})
    (verdict,) = body.verdicts
    assert verdict.status is Status.TOO_FEW_SEEDS and not verdict.firm
    assert "too few seeds" in verdict.line()
