"""hqvit: the attention circuit's closed form against its full statevector statistics (torch and
Aer executors), shot estimates converging to it, the qubit formula, tokens, the evaluation sweeps,
the stages and the report on their metrics."""

import json
import math

import pytest
import torch

from qmlrepro.errors import ConfigError
from qmlrepro.papers.hqvit.attention import QuantumScores, attention_from_outcomes, normalise
from qmlrepro.papers.hqvit.circuit import (
    AttentionLayout,
    attention_spec,
    layout_for,
    qubit_count,
)
from qmlrepro.papers.hqvit.models import AttentionClassifier
from qmlrepro.papers.hqvit.tokens import class_targets, patchify
from qmlrepro.quantum.qiskit_executors import AerShots, AerStatevector
from qmlrepro.quantum.torch_executor import TorchCircuit, TorchStatevector
from tests.conftest import requires_mnist

TORCH64 = TorchStatevector(device="cpu", dtype="float64")


def _scores(layout: AttentionLayout, seed: int) -> QuantumScores:
    torch.manual_seed(seed)
    return QuantumScores(2, layout.n_tokens, layout.token_dim, 8, executor=TORCH64)


def _images(layout: AttentionLayout, n: int, seed: int, empty_token: bool = True) -> torch.Tensor:
    """Random non-negative tokens (B, T, d); one all-zero token, as MNIST's blank patches."""
    g = torch.Generator().manual_seed(seed)
    tokens = torch.rand(n, layout.n_tokens, layout.token_dim, generator=g, dtype=torch.float64)
    tokens = tokens * (torch.rand(n, layout.n_tokens, 1, generator=g, dtype=torch.float64) + 0.05)
    if empty_token:
        tokens[:, 1] = 0
    return tokens


def _outcome_probabilities(layout, scores, tokens) -> torch.Tensor:
    """The full circuit's exact outcome probabilities (B, 2^(1 + 2t)) on the torch executor."""
    spec = attention_spec(layout, scores.layers)
    probs = TORCH64.values(spec, tokens.reshape(len(tokens), -1), scores.circuit_weights())
    return torch.as_tensor(probs)


@pytest.mark.parametrize(("n_tokens", "token_dim"), [(4, 4), (4, 8), (16, 16)])
def test_closed_form_equals_the_full_circuit_statevector(n_tokens, token_dim):
    layout = AttentionLayout(n_tokens, token_dim)
    scores = _scores(layout, seed=n_tokens + token_dim)
    tokens = _images(layout, 3, seed=token_dim)
    with torch.no_grad():
        closed, keep = scores(tokens, None)
    probs = _outcome_probabilities(layout, scores, tokens)
    sampled, mass = attention_from_outcomes(probs, n_tokens)
    torch.testing.assert_close(sampled, closed, atol=1e-10, rtol=0)
    # Pr(a, i, j) = p_i p_j (1 +- A_ij) / 2 with p_i = ||x_i||^2 / ||X||^2
    p = tokens.pow(2).sum(-1) / tokens.pow(2).sum((1, 2)).unsqueeze(1)
    torch.testing.assert_close(mass, p.unsqueeze(2) * p.unsqueeze(1), atol=1e-12, rtol=0)
    cells = probs.reshape(3, n_tokens, n_tokens, 2).transpose(1, 2)
    torch.testing.assert_close(cells[..., 0], mass * (1 + closed) / 2, atol=1e-12, rtol=0)
    assert not keep[:, 1].any() and closed[:, 1].abs().max() == 0  # the empty token
    # what evaluation runs: the circuit through an executor, scores from its outcomes
    estimate, cell_mass = scores.circuit_scores(tokens, TORCH64)
    torch.testing.assert_close(estimate, closed, atol=1e-10, rtol=0)
    torch.testing.assert_close(cell_mass, mass, atol=1e-12, rtol=0)


def test_token_layers_come_from_the_executor_given():
    layout = AttentionLayout(4, 4)
    scores = _scores(layout, seed=0)
    assert isinstance(scores.query, TorchCircuit) and scores.query.dtype == torch.float64
    float32 = QuantumScores(2, 4, 4, 8, executor=TorchStatevector(device="cpu"))
    assert float32.key.weights.dtype == torch.float32
    # the closed form needs U_Q and U_K as matrices: a sampling executor cannot give them
    with pytest.raises(ConfigError, match="statevector"):
        QuantumScores(2, 4, 4, 8, executor=AerShots(100, seed=0))


@pytest.mark.parametrize(
    ("n_tokens", "token_dim", "n_images", "seed", "atol"),
    [(4, 4, 2, 3, 1e-7), (16, 16, 1, 0, 1e-6)],  # 9 qubits; the default model's 17
)
def test_closed_form_equals_aer_statevector(n_tokens, token_dim, n_images, seed, atol):
    layout = AttentionLayout(n_tokens, token_dim)
    scores = _scores(layout, seed=seed)
    tokens = _images(layout, n_images, seed=seed + 2)
    with torch.no_grad():
        closed, _ = scores(tokens, None)
    spec = attention_spec(layout, scores.layers)
    probs = AerStatevector().values(
        spec, tokens.reshape(n_images, -1).numpy(), scores.circuit_weights().numpy()
    )
    sampled, _ = attention_from_outcomes(torch.as_tensor(probs), layout.n_tokens)
    torch.testing.assert_close(sampled, closed, atol=atol, rtol=0)
    via_model, _ = scores.circuit_scores(tokens, AerStatevector())
    torch.testing.assert_close(via_model, closed, atol=atol, rtol=0)


def test_shot_estimates_converge_to_the_closed_form():
    layout = AttentionLayout(4, 4)
    scores = _scores(layout, seed=7)
    tokens = _images(layout, 1, seed=9, empty_token=False)
    with torch.no_grad():
        closed, _ = scores(tokens, None)
    spec = attention_spec(layout, scores.layers)
    errors = {}
    for shots in (200, 5_000, 100_000):
        probs = AerShots(shots, seed=11).values(
            spec, tokens.reshape(1, -1).numpy(), scores.circuit_weights().numpy()
        )
        estimate, mass = attention_from_outcomes(torch.as_tensor(probs), layout.n_tokens)
        # the estimate's standard error in cell (i, j) is ~ 1 / sqrt(shots * p_i p_j)
        errors[shots] = ((estimate - closed).abs() * mass.sqrt()).max().item()
    assert errors[100_000] < errors[5_000] < errors[200]
    assert errors[100_000] < 5 / math.sqrt(100_000)


@pytest.mark.parametrize(
    ("side", "patch", "qubits"), [(4, 2, 9), (8, 2, 13), (8, 4, 13), (16, 4, 17), (32, 8, 21)]
)
def test_qubit_count_is_two_log2_pixels_plus_one(side, patch, qubits):
    layout = layout_for(side, patch)
    assert layout.n_qubits == qubit_count(side * side) == qubits
    circuit = attention_spec(layout, 1).circuit
    assert circuit.num_qubits == qubits
    # parameterised gates: 2 registers x layers x log2 d, independent of the number of tokens
    assert sum(1 for inst in circuit.data if inst.operation.params) == 2 * layout.feature_qubits


def test_layouts_that_cannot_be_amplitude_encoded_are_refused():
    with pytest.raises(ConfigError, match="power of two"):
        layout_for(28, 4)  # 49 tokens
    with pytest.raises(ConfigError, match="multiple"):
        layout_for(16, 3)


def test_patches_are_contiguous_tokens():
    images = torch.arange(2 * 16 * 16, dtype=torch.float64).reshape(2, 1, 16, 16)
    tokens = patchify(images, 4)
    assert tokens.shape == (2, 16, 16)
    # token 5 = grid row 1, column 1: rows 4-7, columns 4-7, row-major inside the patch
    torch.testing.assert_close(tokens[1, 5], images[1, 0, 4:8, 4:8].reshape(-1))
    assert class_targets(torch.tensor([5, 3, 5]), torch.tensor([3, 5])).tolist() == [1, 0, 1]
    with pytest.raises(ConfigError, match="outside"):
        class_targets(torch.tensor([7]), torch.tensor([3, 5]))


def test_without_positional_information_the_model_ignores_patch_order():
    layout = AttentionLayout(16, 16)
    model = AttentionClassifier(
        lambda **kw: QuantumScores(2, **kw), "softmax", 16, 16, 8, 16, 10, executor=TORCH64
    ).double()
    tokens = _images(layout, 4, seed=1)
    order = torch.randperm(16, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        torch.testing.assert_close(model(tokens[:, order]), model(tokens))


@pytest.mark.parametrize(
    ("backend", "profile", "inputs", "shots"),
    [
        ("aer_shots", "default", 40, [100, 1000, 8000, 32000]),
        ("aer_shots", "smoke", 2, [100, 1000]),
        ("aer_noise", "paper", 4, [1000]),
        ("aer_depolarizing", "default", 2, [1000]),  # the paper's entry, no profile override
        ("aer_statevector", "default", 10, []),
    ],
)
def test_evaluation_sweeps_reach_the_executor(backend, profile, inputs, shots):
    """Each profile's `evaluation.<backend>`: how many test images, and one executor per shot
    count, metrics prefixed shots<N>/ (aer_statevector: one exact point, unprefixed)."""
    from qmlrepro.config.compose import compose_config
    from qmlrepro.stages import build_executor, evaluation_setting, sweep_points

    base = ["paper=hqvit", f"backend={backend}", f"profile={profile}", "job=x"]
    cfg = compose_config(base)
    setting = evaluation_setting(cfg, backend)
    assert setting["inputs"] == inputs and "evaluation" not in cfg.paper
    points = sweep_points(cfg, setting)
    assert [label for label, _, _ in points] == ([f"shots{n}/" for n in shots] or [""])
    for _, point, overrides in points:
        executor = build_executor(compose_config([*base, *overrides, "backend.seed=3"]))
        assert executor.shots == point.get("shots") and executor.seed == 3


def test_normalisations_mask_empty_keys():
    scores = torch.rand(2, 4, 4, dtype=torch.float64)
    keys = torch.tensor([[True, False, True, True]] * 2)
    for how in ("row", "softmax"):
        weights = normalise(scores, keys, how, torch.tensor(3.0, dtype=torch.float64))
        torch.testing.assert_close(weights.sum(-1), torch.ones(2, 4, dtype=torch.float64))
        assert weights[..., 1].abs().max() == 0
    with pytest.raises(ConfigError, match="normalisation"):
        normalise(scores, keys, "sigmoid", None)


@requires_mnist
def test_hqvit_train_and_evaluate(project, monkeypatch):
    from qmlrepro.report.results import JobResult
    from qmlrepro.stages import evaluate, train
    from tests.conftest import prepare_offline_mnist

    prepare_offline_mnist(project, monkeypatch, 8, "bilinear")
    common = ["profile=smoke", "paper=hqvit", "profile.seeds=[0]", "dataset.digits=[3,5]"]
    path = train(["job=q", "model=hqvit/quantum", *common])
    record, trained = json.loads(path.read_text()), JobResult.read(path).table()
    assert {r.dims["task"] for r in trained} == {"mnist35"}  # 3 vs 5: the job's task
    accuracy = trained.select("test_accuracy", task="mnist35", seed=0).one()
    assert 0 <= accuracy <= 1
    assert trained.select("shuffled_patches_test_accuracy").one() == accuracy
    assert record["describe"]["circuit_n_qubits"] == 13 and record["describe"]["n_classes"] == 2
    qubits = trained.select("resources_n_qubits", pixels=64, token_dim=16, seed=0).one()
    assert qubits == 13 and "scaling/N64_d16/n_qubits" not in record["describe"]
    exact = JobResult.read(evaluate("q", "aer_statevector")).table()
    assert set(exact.names()) == set(POINT_METRICS)  # one point, no sweep: no shots dimension
    assert exact.levels("shots") == [] and exact.levels("task") == ["mnist35"]
    assert exact.select("attention_max_error").one() < 1e-6
    assert exact.select("agreement").one() == 1 and exact.select("n_images").one() == 2
    assert exact.select("accuracy").one() == exact.select("exact_accuracy").one()
    shots = JobResult.read(evaluate("q", "aer_shots")).table()
    assert shots.levels("shots") == [100, 1000]
    for n in (100, 1000):
        assert set(shots.select(shots=n, task="mnist35").names()) == set(POINT_METRICS)
    assert 0 <= shots.select("cells_without_outcomes", shots=100).one() <= 1
    assert shots.select("exact_accuracy", shots=100).one() == exact.select("exact_accuracy").one()
    # evaluation.<backend>.inputs from the command line: the first 3 test images
    three = evaluate("q", "aer_statevector", ["evaluation.aer_statevector.inputs=3"])
    assert JobResult.read(three).table().select("n_images").one() == 3

    vit = json.loads(train(["job=v", "model=hqvit/vit_pos", *common]).read_text())
    assert vit["describe"]["n_params"] > 0 and "circuit_n_qubits" not in vit["describe"]
    with pytest.raises(ConfigError, match="no attention circuit"):
        evaluate("v", "aer_shots")
    with pytest.raises(ConfigError, match="attention_norm"):
        train(["job=x", "model=hqvit/quantum", *common, "paper.attention_norm=sigmoid"])


POINT_METRICS = (
    "exact_accuracy",
    "n_images",
    "accuracy",
    "agreement",
    "attention_mae",
    "attention_max_error",
    "attention_weighted_mae",
    "cells_without_outcomes",
    "seconds",
)


def _eval_result(job: str, backend: str, points: dict[int, list[tuple[dict, dict]]]):
    """An evaluate stage's result of ``job`` on ``backend`` as the stage writes it: seed ->
    [(sweep point's dims, e.g. {"shots": 1000} or {}, {metric: value})], each metric a record
    with the job's ``task`` and the point's dims."""
    from qmlrepro.records import Records
    from qmlrepro.report.results import JobResult

    task = job.split("-")[1]
    runs = []
    for seed, seed_points in points.items():
        records = Records(task=task)
        for dims, metrics in seed_points:
            records.update(metrics, **dims)
        runs.append({"seed": seed, "mlflow_run_id": f"run{seed}", "metrics": records.flat(),
                     "records": [r.to_json() for r in records]})  # fmt: skip
    return JobResult(job, "evaluate", "hqvit", "hqvit/quantum", backend, "smoke", tuple(runs), {})


def test_report_reads_the_evaluation_points(tmp_path):
    """The circuit table: aer_statevector's point without shots as `exact`, one row per swept
    shot count of aer_shots (from the records' shots dimension, sorted), each with its own exact
    accuracy and image count; the shot curves and their DVC series from aer_shots; the noise
    line from aer_noise."""
    from qmlrepro.papers.hqvit.report import HqvitSection
    from qmlrepro.report.results import PaperResults
    from qmlrepro.report.section import PlotSink

    def point(accuracy, exact_accuracy, images, weighted):
        return {
            "exact_accuracy": exact_accuracy, "n_images": images, "accuracy": accuracy,
            "agreement": 0.5, "attention_mae": 0.25, "attention_max_error": 0.5,
            "attention_weighted_mae": weighted, "cells_without_outcomes": 0.125, "seconds": 2.0,
        }  # fmt: skip

    job = "hqvit-mnist10-quantum"
    statevector = {s: [({}, point(0.75, 0.75, 4, 0.0))] for s in (0, 1)}
    swept = {
        s: [
            ({"shots": 1000}, point(0.5 + 0.125 * s, 0.625, 8, 0.03)),
            ({"shots": 100}, point(0.25, 0.625, 8, 0.1)),
        ]
        for s in (0, 1)
    }
    noisy = {0: [({"shots": 100}, point(0.0, 0.625, 1, 0.2))]}
    results = PaperResults(
        "hqvit",
        {
            (job, "eval-aer_statevector"): _eval_result(job, "aer_statevector", statevector),
            (job, "eval-aer_shots"): _eval_result(job, "aer_shots", swept),
            (job, "eval-aer_noise"): _eval_result(job, "aer_noise", noisy),
        },
    )
    plots = PlotSink(tmp_path, tmp_path, "hqvit")
    body = HqvitSection().body(results, plots).markdown
    rows = [line for line in body.splitlines() if line.startswith("| MNIST 10-class | aer_")]
    cells = [[c.strip() for c in row.split("|")[2:6]] for row in rows]
    assert [c[:3] for c in cells] == [
        ["aer_statevector", "exact", "4"],
        ["aer_shots", "100", "8"],
        ["aer_shots", "1000", "8"],
        ["aer_noise", "100", "1"],
    ]
    assert rows[0].split("|")[6].strip().startswith("75.0")  # its exact accuracy
    assert rows[1].split("|")[6].strip().startswith("62.5")
    assert "0.2000" in body and "0.1000 (ideal Aer, 100 shots" in body  # the noise line
    for name in ("accuracy_vs_shots", "attention_error_vs_shots"):
        assert (tmp_path / f"hqvit_{name}.png").is_file() and f"hqvit_{name}.png" in body
    # the DVC series: accuracy (%) against shots, one line per task on aer_shots, mean over seeds
    series = {s.name: s for s in plots.series}
    accuracy = series["accuracy_vs_shots"]
    assert (accuracy.x, accuracy.y) == ("shots", "accuracy")
    assert list(accuracy.points) == ["MNIST 10-class (aer_shots)"]
    points = accuracy.points["MNIST 10-class (aer_shots)"]
    assert [x for x, _ in points] == [100, 1000]
    assert [ci.estimate for _, ci in points] == pytest.approx([25.0, 56.25])
    assert points[1][1].n == 2 and points[1][1].low < 56.25 < points[1][1].high
    assert accuracy.csv().splitlines()[0] == "shots,line,accuracy,ci_low,ci_high,n_seeds"
    error = series["attention_error_vs_shots"]
    assert [ci.estimate for _, ci in error.points["MNIST 10-class (aer_shots)"]] == pytest.approx(
        [0.1, 0.03]
    )


def test_report_section_without_runs_says_not_tested(tmp_path):
    from qmlrepro.papers.hqvit.report import HqvitSection
    from qmlrepro.report.results import PaperResults
    from qmlrepro.report.section import PlotSink

    body = HqvitSection().body(PaperResults("hqvit", {}), PlotSink(tmp_path, tmp_path, "hqvit"))
    assert "not run" in body.markdown and "evaluation stages have not run" in body.markdown
    assert body.verdict == ""
    assert not any(v.firm for v in body.verdicts)
    assert {v.status.value for v in body.verdicts} <= {"not testable here", "too few seeds"}


def _train_result(task: str, model: str, accuracies: dict[int, float], shuffled=None):
    """A train stage's result as the stage writes it: per seed the accuracies (dimension
    ``task``) and, for the quantum model, the resource sweep (``resources_<count>`` with dims
    ``pixels`` and ``token_dim``)."""
    from qmlrepro.records import Records
    from qmlrepro.report.results import JobResult

    runs = []
    for seed, accuracy in accuracies.items():
        records = Records(task=task)
        records.update(
            {
                "test_accuracy": accuracy,
                "shuffled_patches_test_accuracy": accuracy if shuffled is None else shuffled,
            }
        )
        if model == "quantum":
            for n in (16, 64, 256):
                for d in (4, 16):
                    if d >= n:
                        continue
                    counts = {
                        "n_qubits": 2 * (n.bit_length() - 1) + 1,
                        "param_gates": 4 * (d.bit_length() - 1),
                        "cx_total": 2 * n,
                        "classical_qk_macs": n * n // d,
                    }
                    records.update(
                        {f"resources_{k}": float(v) for k, v in counts.items()},
                        pixels=n,
                        token_dim=d,
                    )
        runs.append({"seed": seed, "mlflow_run_id": f"{model}{seed}", "metrics": records.flat(),
                     "records": [r.to_json() for r in records]})  # fmt: skip
    describe = {"n_params": 100, "n_params_attention_scores": 10}
    return JobResult(f"hqvit-{task}-{model}", "train", "hqvit", f"hqvit/{model.replace('-', '_')}",
                     "torch", "smoke", tuple(runs), describe)  # fmt: skip


def _section(tmp_path, seeds):
    """The section on synthetic runs: quantum 1 point above softmax on every seed, the ViT with
    positional encoding 10 points above the one without, the circuit agreeing on 39 of 40 images
    per seed with shots and on 1 image per seed under noise."""
    from qmlrepro.papers.hqvit.report import HqvitSection
    from qmlrepro.report.results import PaperResults
    from qmlrepro.report.section import PlotSink

    base = {s: 0.80 + 0.01 * s for s in seeds}
    offsets = {"quantum": 0.01, "softmax": 0.0, "fidelity": 0.005, "vit": 0.0, "vit-pos": 0.10}
    jobs = {}
    for task in ("mnist10", "mnist35"):
        for model, off in offsets.items():
            noise = {s: 0.002 * ((s * 7 + len(model) + ord(model[0])) % 3) for s in seeds}
            jobs[(f"hqvit-{task}-{model}", "train")] = _train_result(
                task, model, {s: base[s] + off + noise[s] for s in seeds}
            )
    point = {"accuracy": 0.9, "exact_accuracy": 0.9, "agreement": 0.975, "n_images": 40.0,
             "attention_mae": 0.1, "attention_weighted_mae": 0.05,
             "cells_without_outcomes": 0.1, "seconds": 8.0}  # fmt: skip
    job = "hqvit-mnist10-quantum"
    shots = {s: [({"shots": 1000}, point)] for s in seeds}
    noisy = {s: [({"shots": 100}, point | {"agreement": 1.0, "n_images": 1.0})] for s in seeds}
    jobs[(job, "eval-aer_shots")] = _eval_result(job, "aer_shots", shots)
    jobs[(job, "eval-aer_noise")] = _eval_result(job, "aer_noise", noisy)
    return HqvitSection().body(PaperResults("hqvit", jobs), PlotSink(tmp_path, tmp_path, "hqvit"))


def test_report_gives_typed_verdicts(tmp_path):
    from qmlrepro.report.claims import Status

    body = _section(tmp_path, (0, 1, 2, 3))
    assert body.verdict == ""
    by_claim = {v.claim: v for v in body.verdicts}
    assert len(by_claim) == len(body.verdicts) == 11
    status = {claim: v.status for claim, v in by_claim.items()}
    qubits = next(c for c in status if c.startswith("qubits"))
    gates = next(c for c in status if c.startswith("parameterised gates"))
    assert status[qubits] == status[gates] == Status.BY_CONSTRUCTION
    position = [v for c, v in by_claim.items() if c.startswith("no positional encoding")]
    assert [v.status for v in position] == [Status.NOT_REPRODUCED] * 2
    assert all(9.0 < v.estimate < 11.0 and v.unit == " pp" for v in position)
    versus = [v for c, v in by_claim.items() if "softmax" in c]
    assert [v.status for v in versus] == [Status.REPRODUCED] * 2  # +1 point on every seed
    assert all(v.interval.method.startswith("paired t") for v in versus)
    assert any(v.status == Status.NOT_TESTABLE for v in body.verdicts)
    shots = next(v for c, v in by_claim.items() if "shots" in c)
    noise = next(v for c, v in by_claim.items() if "noise" in c)
    # 39 of the same 40 images on every seed: 40 units, not 160 (Wilson [87.1, 99.6]: the 90%
    # bar is inside, so 40 images cannot decide it)
    assert shots.status == Status.INCONCLUSIVE
    assert "Wilson" in shots.interval.method and "39 of 40" in shots.interval.method
    # one image, the same on every seed: one unit, a wide interval, never "100.0 ± 0.0"
    assert noise.status == Status.INCONCLUSIVE and noise.estimate == 100.0
    assert noise.low < 25.0 and "1 of 1 images" in noise.numbers()
    assert "100.0 ± 0.0" not in body.markdown


def test_report_with_two_seeds_gives_no_firm_verdict(tmp_path):
    from qmlrepro.report.claims import Status

    body = _section(tmp_path, (0, 1))
    assert body.verdicts and not any(v.firm for v in body.verdicts)
    measured = [v for v in body.verdicts if v.interval is not None]
    assert measured and all(v.status == Status.TOO_FEW_SEEDS for v in measured)
