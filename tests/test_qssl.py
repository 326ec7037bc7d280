"""qssl: circuit structure, executor agreement, loss, augmentations, probe, train/evaluate."""

import json
import math

import numpy as np
import pytest
import torch
from hydra.utils import instantiate

from qmlrepro.config.compose import compose_config
from qmlrepro.data.augment import AugmentSpec, BatchAugment
from qmlrepro.papers.qssl.experiment import best_lr
from qmlrepro.papers.qssl.losses import nt_xent_loss
from qmlrepro.papers.qssl.models import QuantumRepresentation, count_parameters
from qmlrepro.papers.qssl.probe import effective_rank, fit_converged_probe, train_linear_probe
from tests.conftest import requires_mnist

WIDTH = 8


def representation(model: str, backend: str, width: int = WIDTH) -> QuantumRepresentation:
    cfg = compose_config(
        ["paper=qssl", f"model=qssl/{model}", f"backend={backend}", f"paper.width={width}"]
    )
    torch.manual_seed(0)
    return instantiate(cfg.model, _partial_=True)(executor=instantiate(cfg.backend.executor))


def test_ring_circuit_structure():
    """W qubits: RX(x_i); per layer W RY then W CRX i -> i+1 mod W (2W weights); <Z_i> out."""
    rep = representation("quantum_ring", "torch")
    qc = rep.spec.circuit
    assert qc.num_qubits == WIDTH and len(rep.spec.inputs) == WIDTH
    assert len(rep.spec.weights) == 2 * 2 * WIDTH  # 2 layers x (W RY + W CRX)
    ops = [(inst.operation.name, [qc.find_bit(q).index for q in inst.qubits]) for inst in qc.data]
    expected = [("rx", [q]) for q in range(WIDTH)]
    for _ in range(2):
        expected += [("ry", [q]) for q in range(WIDTH)]
        expected += [("crx", [q, (q + 1) % WIDTH]) for q in range(WIDTH)]
    assert ops == expected
    weights_in_order = [inst.operation.params[0] for inst in qc.data[WIDTH:]]
    assert weights_in_order == list(rep.spec.weights)  # every weight used once, in order
    assert [str(o.paulis[0]) for o in rep.spec.observables] == [
        "I" * (WIDTH - 1 - q) + "Z" + "I" * q for q in range(WIDTH)
    ]
    # The authors' QNet initialisation, N(0, 1/sqrt(W)).
    assert rep.layer.weights.std().item() == pytest.approx(1 / math.sqrt(WIDTH), rel=0.35)


def test_all_to_all_circuit_structure():
    rep = representation("quantum_all_to_all", "torch")
    counts = rep.spec.circuit.count_ops()
    assert counts["rx"] == WIDTH and counts["ry"] == 4 * WIDTH
    assert counts["cx"] == 3 * WIDTH * (WIDTH - 1) // 2
    assert len(rep.spec.weights) == 4 * WIDTH


@pytest.mark.parametrize("model", ["quantum_ring", "quantum_all_to_all"])
def test_torch_and_aer_executions_agree(model):
    """The same trained weights give the same <Z_i> on the torch trainer and on Aer."""
    trained = representation(model, "torch")
    on_aer = representation(model, "aer_statevector")
    on_aer.load_state_dict(trained.state_dict())
    angles = torch.rand(5, WIDTH, generator=torch.Generator().manual_seed(1)) * math.pi
    with torch.no_grad():
        ours = trained(angles).double()
    theirs = on_aer(angles.double())
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=2e-5)


def test_shot_trained_ring_has_unbiased_gradients():
    """100-shot forward/backward average to the exact gradient (four-term rule for CRX)."""
    exact = representation("quantum_ring", "torch", width=3)
    shots = representation("quantum_ring", "torch_shots", width=3)
    shots.load_state_dict(exact.state_dict())
    angles = torch.full((1, 3), 0.7)
    exact(angles).sum().backward()
    grads = []
    for _ in range(300):
        shots.zero_grad()
        shots(angles).sum().backward()
        grads.append(shots.layer.weights.grad.clone())
    mean = torch.stack(grads).mean(0)
    assert torch.allclose(mean, exact.layer.weights.grad, atol=0.06)


def test_nt_xent_matches_the_authors_formula():
    torch.manual_seed(0)
    z1 = torch.nn.functional.normalize(torch.randn(6, 4), dim=1)
    z2 = torch.nn.functional.normalize(torch.randn(6, 4), dim=1)
    t = 0.07
    out = torch.cat([z1, z2])
    sim = torch.exp(out @ out.T / t)
    mask = ~torch.eye(12, dtype=torch.bool)
    negatives = sim.masked_select(mask).view(12, -1).sum(dim=-1)
    positive = torch.exp((z1 * z2).sum(-1) / t).repeat(2)
    reference = (-torch.log(positive / negatives)).mean()
    assert nt_xent_loss(z1, z2, t).item() == pytest.approx(reference.item(), rel=1e-4)
    assert nt_xent_loss(z1, z1, t) < nt_xent_loss(z1, z2, t)


def test_identity_augmentation_only_normalises():
    spec = AugmentSpec((1.0, 1.0), (1.0, 1.0), (0, 0, 0, 0), 0.0, 0.0, 0.0, (0.5,), (0.25,))
    x = torch.rand(4, 1, 28, 28)
    assert torch.allclose(BatchAugment(spec)(x), (x - 0.5) / 0.25, atol=1e-5)


def test_augmentations_differ_per_image_and_follow_the_seed():
    aug = BatchAugment(AugmentSpec(mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0)))
    x = torch.rand(1, 3, 32, 32).expand(8, -1, -1, -1)
    torch.manual_seed(3)
    a = aug(x)
    torch.manual_seed(3)
    b = aug(x)
    assert a.shape == x.shape and torch.equal(a, b)
    assert len({round(v, 5) for v in a.flatten(1).sum(1).tolist()}) == 8  # each image its own view
    assert a.min() >= 0 and a.max() <= 1


def test_linear_probe_separates_separable_features():
    torch.manual_seed(0)
    y = torch.randint(0, 5, (400,)) + 10  # arbitrary label values
    feats = torch.nn.functional.one_hot(y - 10, 8).float() + 0.05 * torch.randn(400, 8)
    result = train_linear_probe(
        lambda _: feats[:300], y[:300], feats[300:], y[300:], 30, 0.05, [20], 64
    )
    assert result.final == 1.0 and result.best == 1.0 and len(result.test_accuracy) == 30
    assert result.classes.tolist() == [10, 11, 12, 13, 14]


@requires_mnist
def test_qssl_train_evaluate_and_skip(project, monkeypatch):
    from qmlrepro.stages import evaluate, train
    from tests.conftest import prepare_offline_mnist

    prepare_offline_mnist(project, monkeypatch, 28, "none")
    common = ["profile=smoke", "paper=qssl", "profile.seeds=[0]"]
    out = train(["job=q", "model=qssl/quantum_ring", *common])
    record = json.loads(out.read_text())
    metrics = record["runs"][0]["metrics"]
    assert 0 <= metrics["probe_final_accuracy"] <= metrics["probe_best_accuracy"] <= 1
    assert record["describe"]["n_qubits"] == WIDTH
    assert metrics["converged/features:representation"] == 1.0  # L-BFGS met its tolerance
    noisy = json.loads(evaluate("q", "aer_noise").read_text())["runs"][0]["metrics"]
    assert noisy["n_images"] == 6
    assert 0 <= noisy["test_accuracy/probe:converged"] <= 1
    assert 0 <= noisy["test_accuracy/probe:paper"] <= 1

    skipped = json.loads(
        train(["job=s", "model=qssl/classical", "run_in_profiles=[paper]", *common]).read_text()
    )
    assert skipped["runs"] == [] and "paper" in skipped["skipped"]


@requires_mnist
def test_tuning_job_picks_the_best_validation_lr_and_random_init_trains_nothing(
    project, monkeypatch
):
    """A tuning job records the converged probe's validation accuracy per lr; a comparison job
    with lr_from trains at the lr of the best mean (and refuses another model's tuning); a
    steps=0 job keeps no weights and records no lr."""
    from qmlrepro.errors import ConfigError
    from qmlrepro.papers.qssl.experiment import best_lr
    from qmlrepro.stages import train
    from tests.conftest import prepare_offline_mnist

    prepare_offline_mnist(project, monkeypatch, 28, "none")
    common = ["profile=smoke", "paper=qssl", "profile.seeds=[0]", "model=qssl/classical_cos"]
    tuned = json.loads(
        train(
            ["job=t", "paper.lr_grid=[0.0001,0.001]", "paper.keep_model=false", *common]
        ).read_text()
    )
    records = [r for r in tuned["runs"][0]["records"] if r["name"] == "val_accuracy"]
    per_lr = {
        r["dims"]["lr"]: [r["value"]] for r in records if r["dims"]["features"] == "representation"
    }
    assert set(per_lr) == {0.0001, 0.001}
    # each lr draws from its own stream: lr 0.001 alone gives what it gave after lr 0.0001, so a
    # tuning run resumed at its second lr reproduces an uninterrupted one
    alone = json.loads(
        train(["job=t2", "paper.lr_grid=[0.001]", "paper.keep_model=false", *common]).read_text()
    )

    def at_lr(record: dict, lr: float) -> dict:
        return {
            (r["name"], r["dims"].get("features")): r["value"]
            for r in record["runs"][0]["records"]
            if r["dims"].get("lr") == lr and r["name"] != "pretrain_seconds"
        }

    assert at_lr(alone, 0.001) == at_lr(tuned, 0.001)  # effective ranks too: continuous values
    main = json.loads(train(["job=m", "paper.lr_from=t", *common]).read_text())
    assert main["runs"][0]["metrics"]["lr"] == best_lr(per_lr) == main["describe"]["lr"]
    # killed after its final checkpoint but before the commit, at an lr no longer chosen: the
    # rerun trains again (a finished checkpoint holds no optimiser state to resume from)
    staged = project / "results/checkpoints/m/in-progress/seed0.pt"
    staged.parent.mkdir(parents=True, exist_ok=True)
    stale = torch.load(project / "results/checkpoints/m/seed0.pt", weights_only=False)
    torch.save({**stale, "lr": 0.5}, staged)
    rerun = json.loads(train(["job=m", "paper.lr_from=t", *common]).read_text())

    def measured(record: dict) -> dict:
        return {k: v for k, v in record["runs"][0]["metrics"].items() if "seconds" not in k}

    assert measured(rerun) == measured(main)
    with pytest.raises(
        ConfigError, match=r"tuned another setting: choices\.model=qssl/classical_cos"
    ):
        train(["job=x", "paper.lr_from=t", "profile=smoke", "paper=qssl", "model=qssl/identity"])

    # a tuning job skipped in this profile (the smoke profile skips tuning): the paper's lr
    train(["job=ts", "paper.lr_grid=[0.0001]", "run_in_profiles=[paper]", *common])
    fallback = json.loads(train(["job=ms", "paper.lr_from=ts", *common]).read_text())
    assert fallback["runs"][0]["metrics"]["lr"] == 1e-3  # conf/paper/qssl.yaml paper.lr

    random = json.loads(
        train(["job=r", "paper.steps=0", "paper.keep_model=false", *common]).read_text()
    )
    metrics = random["runs"][0]["metrics"]
    assert "lr" not in metrics and 0 <= metrics["converged_test_accuracy/features:angles"] <= 1
    state = torch.load(project / "results/checkpoints/r/seed0.pt", weights_only=False)
    assert "model" not in state and "optimizer" not in state and state["complete"]


def test_best_lr_takes_the_highest_mean_and_the_smallest_lr_on_a_tie():
    assert best_lr({1e-3: [0.5, 0.7], 1e-4: [0.6, 0.65], 3e-4: [0.2]}) == 1e-4
    assert best_lr({1e-3: [0.5], 1e-4: [0.5]}) == 1e-4


# -- the converged probe ----------------------------------------------------------------------


def test_converged_probe_separates_a_separable_set_whatever_the_feature_scale():
    """Separable classes: 100% on train and test; multiplying a feature by 1000 (a scale the
    paper's Adam probe would struggle with) changes nothing after standardisation."""
    torch.manual_seed(0)
    y = torch.randint(0, 4, (300,)) + 3
    x = torch.nn.functional.one_hot(y - 3, 6).double() + 0.05 * torch.randn(300, 6)
    probe = fit_converged_probe(x[:200], y[:200], x[200:250], y[200:250], [1.0, 10.0])
    assert probe.converged and probe.val_accuracy == 1.0
    assert probe.accuracy(x[250:], y[250:]) == 1.0 and probe.classes.tolist() == [3, 4, 5, 6]
    scaled = x * torch.tensor([1000.0, 1, 1, 1e-3, 1, 1])
    again = fit_converged_probe(scaled[:200], y[:200], scaled[200:250], y[200:250], [1.0, 10.0])
    torch.testing.assert_close(again.coef, probe.coef, rtol=1e-4, atol=1e-6)


def test_converged_probe_reaches_the_optimum_of_its_objective():
    """On overlapping classes the fitted weights minimise the L2-penalised multinomial
    cross-entropy sum_i -log softmax(W x_i + b)_{y_i} + ||W||^2 / (2C): the same objective
    minimised independently by scipy's BFGS to a tight tolerance gives the same value."""
    from scipy.optimize import minimize

    rng = np.random.default_rng(0)
    n, w, k, c = 240, 3, 3, 0.5
    y = rng.integers(0, k, n)
    x = rng.normal(size=(n, w)) + 0.8 * np.eye(k, w)[y]
    probe = fit_converged_probe(
        torch.from_numpy(x),
        torch.from_numpy(y),
        torch.from_numpy(x),
        torch.from_numpy(y),
        [c],
        max_iter=5000,
        tol=1e-10,
    )
    xs = (x - probe.mean.numpy()) / probe.scale.numpy()

    def objective(theta: np.ndarray) -> float:
        weights, bias = theta[: k * w].reshape(k, w), theta[k * w :]
        logits = xs @ weights.T + bias
        log_norm = np.log(np.exp(logits - logits.max(1, keepdims=True)).sum(1)) + logits.max(1)
        return float((log_norm - logits[np.arange(n), y]).sum() + (weights**2).sum() / (2 * c))

    best = minimize(objective, np.zeros(k * w + k), method="BFGS", options={"gtol": 1e-10})
    ours = objective(np.concatenate([probe.coef.numpy().ravel(), probe.intercept.numpy()]))
    assert probe.converged
    assert ours == pytest.approx(best.fun, rel=1e-7)


def test_effective_rank_counts_directions():
    torch.manual_seed(0)
    line = torch.randn(100, 1) * torch.tensor([[1.0, 2.0, -1.0]])
    assert effective_rank(line) == pytest.approx(1.0, abs=1e-6)
    assert effective_rank(torch.randn(5000, 4)) == pytest.approx(4.0, abs=0.1)


# -- controls ---------------------------------------------------------------------------------

CONTROLS = {  # model -> representation parameters at W = 8
    "classical": 2 * (WIDTH * WIDTH + WIDTH),
    "classical_tanh": 2 * (WIDTH * WIDTH + WIDTH),
    "classical_cos": 2 * (WIDTH * WIDTH + WIDTH),
    "identity": 0,
    "quantum_ring": 2 * 2 * WIDTH,
    "quantum_all_to_all": 4 * WIDTH,
}


def _network(model: str, seed: int = 3):
    from qmlrepro.papers.qssl.experiment import QsslExperiment

    cfg = compose_config(["paper=qssl", f"model=qssl/{model}", "profile=smoke"])
    return QsslExperiment(cfg)._network(
        torch.device("cpu"), 1, seed, instantiate(cfg.backend.executor)
    )


def test_each_control_builds_its_stated_parameter_count_and_activation():
    for model, count in CONTROLS.items():
        net = _network(model)
        assert count_parameters(net.representation) == count, model
    angles = torch.rand(5, WIDTH) * math.pi
    torch.testing.assert_close(_network("identity").representation(angles), angles)
    cos = _network("classical_cos").representation
    first, second = cos[0], cos[2]
    torch.testing.assert_close(cos(angles), torch.cos(second(torch.cos(first(angles)))))
    tanh = _network("classical_tanh").representation
    torch.testing.assert_close(tanh(angles), torch.tanh(tanh[2](torch.tanh(tanh[0](angles)))))


def test_paired_models_share_trunk_angles_and_head_weights_at_step_zero():
    """Every model of a seed starts from bit-identical trunk, Linear(512, W) and projection head
    (each from its own seeded stream), whatever its representation network; another seed
    differs."""
    nets = {model: _network(model) for model in CONTROLS}
    reference = nets["classical"]
    for model, net in nets.items():
        for part in ("trunk", "to_angles", "projection"):
            ours, theirs = getattr(net, part).state_dict(), getattr(reference, part).state_dict()
            assert ours.keys() == theirs.keys()
            for key in ours:
                assert torch.equal(ours[key], theirs[key]), (model, part, key)
    other = _network("classical", seed=4)
    assert not torch.equal(other.to_angles.weight, reference.to_angles.weight)
    assert reference.projection[-1].out_features == WIDTH  # the authors' output W


def test_random_init_calibration_sets_batchnorm_statistics_and_leaves_weights():
    from qmlrepro.experiment import RunContext
    from qmlrepro.papers.qssl.experiment import QsslExperiment

    cfg = compose_config(["paper=qssl", "model=qssl/classical", "profile=smoke"])
    experiment = QsslExperiment(cfg)
    net = _network("classical")
    before = {k: v.clone() for k, v in net.state_dict().items()}
    x = torch.rand(64, 1, 28, 28)
    ctx = RunContext(3, None, None, torch.device("cpu"))
    experiment._calibrate(net, x, experiment._augment(), ctx)
    after = net.state_dict()
    for key, value in before.items():
        if "running" in key:
            assert not torch.equal(after[key], value), key  # statistics moved off 0 / 1
        elif "num_batches_tracked" not in key:
            assert torch.equal(after[key], value), key  # no weight changed
    assert net.trunk.bn1.momentum == 0.1  # restored after the cumulative average
