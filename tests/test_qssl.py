"""qssl: circuit structure, executor agreement, loss, augmentations, probe, train/evaluate."""

import json
import math

import numpy as np
import pytest
import torch
from hydra.utils import instantiate

from qmlrepro.config.compose import compose_config
from qmlrepro.data.augment import AugmentSpec, BatchAugment
from qmlrepro.papers.qssl.losses import nt_xent_loss
from qmlrepro.papers.qssl.models import QuantumRepresentation
from qmlrepro.papers.qssl.probe import train_linear_probe
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
    noisy = json.loads(evaluate("q", "aer_noise").read_text())["runs"][0]["metrics"]
    assert noisy["n_images"] == 6 and 0 <= noisy["test_accuracy"] <= 1

    skipped = json.loads(
        train(["job=s", "model=qssl/classical", "run_in_profiles=[paper]", *common]).read_text()
    )
    assert skipped["runs"] == [] and "paper" in skipped["skipped"]
