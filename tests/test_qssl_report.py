"""qssl report section: typed verdicts from per-seed results (claims in papers/qssl/claims.py)."""

from pathlib import Path

import pytest

from qmlrepro.papers.qssl.claims import CLAIMS, NOISE_MARGIN, PAPER_GAP
from qmlrepro.papers.qssl.report import QsslSection, _steps
from qmlrepro.records import Records
from qmlrepro.report.claims import Status
from qmlrepro.report.results import JobResult, PaperResults
from qmlrepro.report.section import PlotSink

STEPS = _steps("default")
JOBS = {  # job -> (model, training backend)
    "qssl-classical": ("qssl/classical", "torch"),
    "qssl-quantum-ring": ("qssl/quantum_ring", "torch"),
    "qssl-quantum-ring-shots": ("qssl/quantum_ring", "torch_shots"),
    "qssl-quantum-all-to-all": ("qssl/quantum_all_to_all", "torch"),
}


def _job(name: str, stage: str, backend: str, metrics: dict, width: int = 8, steps=STEPS):
    """A job's per-seed records as the qssl experiment writes them (``metrics``: name ->
    per-seed values)."""
    model, trained_on = JOBS[name]
    runs = []
    for seed in range(len(next(iter(metrics.values())))):
        records = Records(width=width, steps=steps, dataset="mnist")
        records.update({m: values[seed] for m, values in metrics.items()})
        run = {"seed": seed, "mlflow_run_id": f"{name}-{stage}-{seed}", "metrics": {}}
        runs.append({**run, "records": [r.to_json() for r in records]})
    kind = "train" if stage == "train" else "evaluate"
    return JobResult(name, kind, "qssl", model, backend or trained_on, "default", tuple(runs), {})


def _results(
    classical: list[float], ring: list[float], shots: list[float], noisy: list[float]
) -> PaperResults:
    """Probe accuracies (fractions) per seed; evaluation accuracies on the noise stages."""
    jobs = {}
    for name, values in (
        ("qssl-classical", classical),
        ("qssl-quantum-ring", ring),
        ("qssl-quantum-ring-shots", shots),
        ("qssl-quantum-all-to-all", classical),
    ):
        metrics = {"probe_best_accuracy": values, "probe_final_accuracy": values}
        jobs[(name, "train")] = _job(name, "train", "", metrics)
    for name, backend, values in (
        ("qssl-classical", "torch", classical),
        ("qssl-quantum-ring", "torch", ring),
        ("qssl-quantum-ring", "aer_noise", noisy),
    ):
        metrics = {"test_accuracy": values, "n_images": [50.0] * len(values)}
        jobs[(name, f"eval-{backend}")] = _job(name, "eval", backend, metrics)
    return PaperResults("qssl", jobs)


def _body(results: PaperResults, tmp_path: Path):
    return QsslSection().body(results, PlotSink(tmp_path / "plots", tmp_path, "qssl"))


def test_claims_are_declared_as_data():
    assert len(CLAIMS) == 3
    assert all(len(c.statement) <= 90 and c.min_seeds >= 3 for c in CLAIMS)
    # the paper's gaps are CIFAR-10 numbers: quoted as context, not compared with our MNIST ones
    assert [c.paper_value for c in CLAIMS[:2]] == [None, None]
    assert {
        "quantum-ring": pytest.approx(3.02),
        "quantum-ring-shots": pytest.approx(2.85),
    } == PAPER_GAP


def test_section_gives_typed_verdicts(tmp_path: Path):
    classical = [0.40, 0.42, 0.41, 0.43, 0.39]
    ring = [c + d for c, d in zip(classical, (0.030, 0.031, 0.029, 0.032, 0.028), strict=True)]
    shots = [c + d for c, d in zip(classical, (0.20, 0.21, 0.19, 0.22, 0.18), strict=True)]
    noisy = [
        c - 0.01 + d for c, d in zip(classical, (0.0, 0.002, -0.002, 0.001, -0.001), strict=True)
    ]
    body = _body(_results(classical, ring, shots, noisy), tmp_path)
    assert body.verdict == ""
    exact, with_shots, noise = body.verdicts
    assert [v.claim for v in body.verdicts] == [c.statement for c in CLAIMS]
    # exact: +3 points
    assert exact.status is Status.REPRODUCED and exact.estimate == pytest.approx(3.0)
    # 100 shots: +20 points; the sign holds (sizes are not compared across datasets)
    assert with_shots.status is Status.REPRODUCED and "CIFAR-10: not compared" in with_shots.reason
    assert "classical control scores" in with_shots.reason
    # noisy quantum 1 point below classical, within the non-inferiority margin
    assert noise.status is Status.REPRODUCED and noise.estimate == pytest.approx(-1.0)
    assert noise.low > -NOISE_MARGIN and "paired t" in noise.numbers()


def test_noise_below_margin_is_not_reproduced(tmp_path: Path):
    classical = [0.40, 0.42, 0.41, 0.43]
    noisy = [c - d for c, d in zip(classical, (0.10, 0.11, 0.09, 0.10), strict=True)]
    noise = _body(_results(classical, classical, classical, noisy), tmp_path).verdicts[2]
    assert noise.status is Status.NOT_REPRODUCED


def test_two_seeds_give_no_firm_verdict(tmp_path: Path):
    body = _body(_results([0.40, 0.50], [0.60, 0.70], [0.60, 0.71], [0.60, 0.70]), tmp_path)
    assert len(body.verdicts) == 3
    assert all(v.status is Status.TOO_FEW_SEEDS for v in body.verdicts)
    assert all("too few seeds" in v.line() for v in body.verdicts)


def test_missing_noise_stages_are_not_a_verdict(tmp_path: Path):
    results = _results([0.4] * 3, [0.5] * 3, [0.5] * 3, [0.5] * 3)
    del results.jobs[("qssl-quantum-ring", "eval-aer_noise")]
    noise = _body(results, tmp_path).verdicts[2]
    assert noise.status is Status.TOO_FEW_SEEDS and "not run" in noise.reason


def test_the_width_ablation_is_a_curve_with_its_dvc_series(tmp_path: Path):
    results = _results([0.4] * 3, [0.5] * 3, [0.5] * 3, [0.5] * 3)
    for width in (2, 8):
        for name in ("qssl-classical", "qssl-quantum-ring"):
            metrics = {"probe_best_accuracy": [0.3 + width / 100, 0.31, 0.32]}
            job = _job(name, "train", "", metrics, width=width, steps=97)
            results.jobs[(f"{name}-w{width}", "train")] = job
    sink = PlotSink(tmp_path / "plots", tmp_path, "qssl")
    QsslSection().body(results, sink)
    (series,) = sink.series
    assert (series.name, series.x, series.y) == ("width_ablation", "width", "probe_best_accuracy")
    assert sorted(series.points) == ["classical (ours)", "quantum-ring (ours)"]
    assert [x for x, _ in series.points["classical (ours)"]] == [2, 8]  # not the main W = 8 run
    assert series.csv().splitlines()[0] == "width,line,probe_best_accuracy,ci_low,ci_high,n_seeds"
