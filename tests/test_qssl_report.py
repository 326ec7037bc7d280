"""qssl report section: typed verdicts from per-seed results (claims in papers/qssl/claims.py)."""

from pathlib import Path

import pytest

from qmlrepro.papers.qssl.claims import CLAIMS, NOISE_MARGIN, PAPER_GAP
from qmlrepro.papers.qssl.report import MODELS, QsslSection, _steps
from qmlrepro.records import Records
from qmlrepro.report.claims import Status
from qmlrepro.report.results import JobResult, PaperResults
from qmlrepro.report.section import PlotSink

STEPS = _steps("default")
GRID = (1e-4, 3e-4, 1e-3)


def _job(key: str, stage: str, backend: str, per_seed, role="comparison", steps=None, width=8):
    """A job's records as the qssl experiment writes them: ``per_seed(seed, records)`` adds one
    seed's records."""
    _, model, trained_on, _ = MODELS[key]
    steps = (0 if role == "random_init" else STEPS) if steps is None else steps
    runs = []
    for seed in range(N_SEEDS[0]):
        records = Records(width=width, steps=steps, dataset="mnist", role=role)
        per_seed(seed, records)
        run = {"seed": seed, "mlflow_run_id": f"{key}-{role}-{stage}-{seed}", "metrics": {}}
        runs.append({**run, "records": [r.to_json() for r in records]})
    kind = "train" if stage == "train" else "evaluate"
    name = {"comparison": "", "random_init": "random-", "tuning": "tune-"}[role]
    return JobResult(
        f"qssl-{name}{key}", kind, "qssl", model, backend or trained_on, "default", tuple(runs), {}
    )


N_SEEDS = [5]


def _trained(accuracy: list[float], val: list[float] | None = None):
    def add(seed: int, r: Records) -> None:
        a = accuracy[seed]
        for features in ("representation", "angles"):
            r.add("converged_test_accuracy", a, features=features)
            r.add("converged_val_accuracy", (val or accuracy)[seed], features=features)
            r.add("converged", 1.0, features=features)
            r.add("effective_rank", 3.0, features=features)
        r.update({"probe_best_accuracy": a, "probe_final_accuracy": a, "lr": 1e-3})
        r.update({"angle_saturation": 0.01, "n_images": 50.0, "wall_seconds": 10.0})
        r.add("test_accuracy", a, probe="converged")
        r.add("test_accuracy", a, probe="paper")

    return add


def _tuned(best_lr: float):
    def add(seed: int, r: Records) -> None:
        for lr in GRID:
            r.add("val_accuracy", 0.6 if lr == best_lr else 0.5, lr=lr, features="representation")
        r.add("wall_seconds", 30.0)

    return add


def _noisy(accuracy: list[float]):
    def add(seed: int, r: Records) -> None:
        r.add("test_accuracy", accuracy[seed], probe="converged")
        r.add("test_accuracy", accuracy[seed], probe="paper")
        r.update({"n_images": 50.0, "wall_seconds": 4.0})

    return add


def _results(accuracy: dict[str, list[float]], noisy: list[float] | None, val=None):
    """Converged-probe accuracies (fractions) per model key and seed; ``noisy`` the ring's
    accuracies under noise; ``val`` per model key: validation accuracies (default: test's)."""
    N_SEEDS[0] = len(next(iter(accuracy.values())))
    jobs = {}
    for key, values in accuracy.items():
        job = _job(key, "train", "", _trained(values, (val or {}).get(key)))
        jobs[(job.job, "train")] = job
        tune = _job(key, "train", "", _tuned(1e-3), role="tuning")
        jobs[(tune.job, "train")] = tune
        if key != "quantum-ring-shots":
            chance = _job(key, "train", "", _trained([0.3] * len(values)), role="random_init")
            jobs[(chance.job, "train")] = chance
    if noisy is not None:
        job = _job("quantum-ring", "eval", "aer_noise", _noisy(noisy))
        jobs[(job.job, "eval-aer_noise")] = job
    return PaperResults("qssl", jobs)


def _all(classical: list[float], ring: list[float], **others: list[float]) -> dict:
    accuracy = {key: classical for key in MODELS}
    accuracy.update({"quantum-ring": ring, "quantum-ring-shots": ring, "quantum-all-to-all": ring})
    accuracy.update({k.replace("_", "-"): v for k, v in others.items()})
    return accuracy


def _body(results: PaperResults, tmp_path: Path):
    return QsslSection().body(results, PlotSink(tmp_path / "plots", tmp_path, "qssl"))


CLASSICAL = [0.40, 0.42, 0.41, 0.43, 0.39]


def _plus(values: list[float], deltas) -> list[float]:
    return [v + d for v, d in zip(values, deltas, strict=True)]


def test_claims_are_declared_as_data():
    assert len(CLAIMS) == 5
    assert all(len(c.statement) <= 90 and c.min_seeds >= 3 for c in CLAIMS)
    # the size of the gap is compared with the paper's (+3.02, +2.85 points)
    assert [c.paper_value for c in CLAIMS[:2]] == [PAPER_GAP["quantum-ring"], 2.85]
    assert PAPER_GAP["quantum-ring"] == pytest.approx(3.02)


def test_a_gap_of_the_papers_size_is_reproduced_and_the_noise_claims_judged(tmp_path: Path):
    ring = _plus(CLASSICAL, (0.030, 0.031, 0.029, 0.032, 0.028))
    noisy = _plus(ring, (-0.01, -0.008, -0.012, -0.01, -0.009))
    body = _body(_results(_all(CLASSICAL, ring), noisy), tmp_path)
    exact, _, control, noise_exact, noise_exact_paper, noise_control, _ = body.verdicts
    # the noise claims are judged with each probe
    statements = [c.statement for c in CLAIMS]
    expected = statements[:3] + [
        f"{statement} ({probe})"
        for statement in statements[3:]
        for probe in ("converged probe", "the paper's probe")
    ]
    assert [v.claim for v in body.verdicts] == expected
    assert noise_exact_paper.status is Status.REPRODUCED
    assert exact.status is Status.REPRODUCED and exact.estimate == pytest.approx(3.0)
    assert "the paper's value lies within it" in exact.reason
    assert "at random initialisation the same gap is +0.00" in exact.reason
    assert control.status is Status.REPRODUCED  # every control scores like the classical one
    assert noise_exact.status is Status.REPRODUCED and noise_exact.estimate == pytest.approx(-0.98)
    assert noise_control.status is Status.REPRODUCED
    assert noise_control.estimate == pytest.approx(2.02) and "paired t" in noise_control.numbers()
    assert "| lr 0.0001 | lr 0.0003 | lr 0.001 | chosen lr |" in body.markdown
    assert "| 0.001 (edge of the grid: " in body.markdown  # the best mean is the largest lr
    assert "what training added" in body.markdown


def test_a_gap_far_larger_than_the_papers_is_only_partly_reproduced(tmp_path: Path):
    ring = _plus(CLASSICAL, (0.20, 0.21, 0.19, 0.22, 0.18))
    exact = _body(_results(_all(CLASSICAL, ring), None), tmp_path).verdicts[0]
    assert exact.status is Status.PARTLY and "lies outside our interval" in exact.reason


def test_a_control_that_matches_the_quantum_model_explains_the_gap(tmp_path: Path):
    """The ring beats the LeakyReLU network, but the identity control (chosen on validation)
    scores as high: the quantum layer is not what helps."""
    ring = _plus(CLASSICAL, (0.050, 0.051, 0.049, 0.052, 0.048))
    identity = _plus(ring, (0.002, -0.003, 0.001, -0.001, 0.0))
    val = {"identity": [0.9] * 5}
    body = _body(_results(_all(CLASSICAL, ring, identity=identity), None, val), tmp_path)
    exact, _, control, *_ = body.verdicts
    assert exact.status is Status.PARTLY  # +5 points: the sign holds, the size is not the paper's
    assert "against the strongest control (identity" in exact.reason
    assert control.status is Status.INCONCLUSIVE and "identity" in control.reason


def test_a_chosen_lr_that_is_not_the_tuning_jobs_best_is_flagged(tmp_path: Path):
    results = _results(_all(CLASSICAL, CLASSICAL), None)
    tune = _job("classical", "train", "", _tuned(1e-4), role="tuning")
    results.jobs[(tune.job, "train")] = tune  # the comparison jobs recorded lr 1e-3
    assert "not the best mean, 0.0001" in _body(results, tmp_path).markdown


def test_noise_outside_the_margin_is_not_reproduced(tmp_path: Path):
    noisy = [c - 0.10 for c in CLASSICAL]
    verdicts = _body(_results(_all(CLASSICAL, CLASSICAL), noisy), tmp_path).verdicts
    assert verdicts[3].status is Status.NOT_REPRODUCED
    assert verdicts[5].status is Status.NOT_REPRODUCED and verdicts[5].high < -NOISE_MARGIN


def test_two_seeds_give_no_firm_verdict(tmp_path: Path):
    body = _body(_results(_all([0.40, 0.50], [0.60, 0.70]), [0.60, 0.70]), tmp_path)
    assert len(body.verdicts) == 7
    assert all(v.status is Status.TOO_FEW_SEEDS for v in body.verdicts)


def test_missing_noise_stages_are_not_a_verdict(tmp_path: Path):
    verdicts = _body(_results(_all([0.4] * 3, [0.5] * 3), None), tmp_path).verdicts
    assert all(v.status is Status.TOO_FEW_SEEDS and "not run" in v.reason for v in verdicts[3:])


def test_lr_selection_and_width_ablation_are_curves_with_dvc_series(tmp_path: Path):
    results = _results(_all([0.4] * 3, [0.5] * 3), None)
    for width in (2, 8):
        for key in ("classical", "quantum-ring"):

            def add(seed: int, r: Records, width: int = width) -> None:
                r.add("probe_best_accuracy", 0.3 + width / 100 + seed / 100)

            job = _job(key, "train", "", add, steps=97, width=width)
            results.jobs[(f"{job.job}-w{width}", "train")] = job
    sink = PlotSink(tmp_path / "plots", tmp_path, "qssl")
    QsslSection().body(results, sink)
    lr, ablation = sink.series
    assert (lr.name, lr.x, lr.y) == ("lr_selection", "lr", "val_accuracy")
    assert [x for x, _ in lr.points[MODELS["classical"][0]]] == list(GRID)
    assert (ablation.name, ablation.x) == ("width_ablation", "width")
    assert sorted(ablation.points) == ["classical (ours)", "quantum-ring (ours)"]
    assert [x for x, _ in ablation.points["classical (ours)"]] == [2, 8]  # not the main run
