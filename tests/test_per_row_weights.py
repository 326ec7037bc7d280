"""Per-row weights: B weight sets of one circuit in one batched call, equal to B single calls.

The reference for row b is the module run alone with its parameter set to weights[b] (the shared,
single-start path); values and gradients must agree to 1e-12 in float64.
"""

import pytest
import torch
from torch.func import functional_call, grad, vmap

from qmlrepro.errors import QmlreproError
from qmlrepro.papers.contextual.circuit import khrnn_spec
from qmlrepro.papers.hqvit.circuit import token_spec
from qmlrepro.papers.hypernet.circuit import hypernetwork_spec
from qmlrepro.quantum import kernels
from qmlrepro.quantum.ansatz import layered_ring_ansatz, z_observables
from qmlrepro.quantum.spec import CircuitSpec, make_spec
from qmlrepro.quantum.torch_executor import TorchCircuit

ROWS = 3


def qssl_ring() -> CircuitSpec:
    """RX encoding, then [RY, CRX ring] x 2: dense controlled gates fed by weights."""
    qc, x, w = layered_ring_ansatz(4, 2, rotations=("ry",), entangler="crx", encoding="rx")
    return make_spec(qc, x, w, observables=z_observables(4))


SPECS = {
    "qssl_ring": qssl_ring,
    "contextual_khrnn": lambda: khrnn_spec(5, 2),  # a * theta_e + c: weights inside expressions
    "hypernet": lambda: hypernetwork_spec(6, 3),
    "hqvit_token": lambda: token_spec(8, 2, "t"),  # amplitude-encoded inputs
}


def _module(spec: CircuitSpec) -> TorchCircuit:
    return TorchCircuit.from_spec(spec, dtype=torch.float64)


def _inputs(spec: CircuitSpec, rows: int, seed: int) -> torch.Tensor | None:
    width = spec.n_amplitude_inputs + len(spec.inputs)
    if width == 0:
        return None
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(rows, width, generator=generator, dtype=torch.float64) * 3


def _weights(spec: CircuitSpec, rows: int, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(rows, len(spec.weights), generator=generator, dtype=torch.float64) * 6


def _scale(n_outputs: int) -> torch.Tensor:
    """Distinct coefficients in (0, 1] per output, so the loss sees every output column and
    stays O(1) (probabilities sum to 1) at 2^17 outputs."""
    return torch.arange(1, n_outputs + 1, dtype=torch.float64) / n_outputs


def _single_starts(module, weights, inputs):
    """Row b's outputs and weight gradient from the module alone with weights[b]."""
    outputs, grads = [], []
    for b, w in enumerate(weights):
        module.weights.data.copy_(w)
        module.weights.grad = None
        row = b if inputs is not None and len(inputs) > 1 else 0
        out = module(None if inputs is None else inputs[row : row + 1])
        (out[0] @ _scale(out.shape[1])).backward()
        outputs.append(out[0].detach())
        grads.append(module.weights.grad.clone())
    return torch.stack(outputs), torch.stack(grads)


def _per_row(module, weights, inputs):
    weights = weights.clone().requires_grad_(True)
    out = module(inputs, weights=weights)
    (out @ _scale(out.shape[1])).sum().backward()
    return out.detach(), weights.grad


@pytest.mark.parametrize(
    ("name", "input_rows"),
    [(name, rows) for name in sorted(SPECS) if name != "hypernet" for rows in (ROWS, 1)]
    + [("hypernet", 0)],  # no inputs at all
)
def test_per_row_weights_equal_separate_single_starts(name, input_rows):
    spec = SPECS[name]()
    module = _module(spec)
    weights = _weights(spec, ROWS)
    inputs = _inputs(spec, input_rows, seed=1)
    assert (inputs is None) == (input_rows == 0)
    out, grads = _per_row(module, weights, inputs)
    ref_out, ref_grads = _single_starts(module, weights, inputs)
    assert out.shape == (ROWS, spec.n_outputs)
    assert grads.shape == weights.shape
    assert torch.allclose(out, ref_out, rtol=0, atol=1e-12)
    assert torch.allclose(grads, ref_grads, rtol=0, atol=1e-12)


def test_shared_weights_tensor_acts_as_the_module_parameter():
    """weights=(n_w,) runs every row with that tensor, exactly as the module's own parameter."""
    spec = qssl_ring()
    module = _module(spec)
    weights, inputs = _weights(spec, 1, seed=6)[0], _inputs(spec, ROWS, seed=6)
    given = module(inputs, weights=weights)
    module.weights.data.copy_(weights)
    assert torch.equal(given, module(inputs))


def test_per_row_input_gradients_equal_separate_single_starts():
    spec = qssl_ring()
    module = _module(spec)
    weights, inputs = _weights(spec, ROWS), _inputs(spec, ROWS, seed=2).requires_grad_(True)
    module(inputs, weights=weights).sum().backward()
    for b in range(ROWS):
        module.weights.data.copy_(weights[b])
        row = inputs[b : b + 1].detach().clone().requires_grad_(True)
        module(row).sum().backward()
        assert torch.allclose(inputs.grad[b], row.grad[0], rtol=0, atol=1e-12)


def test_hypernet_17_qubits_per_row_equal_single_starts():
    """The realistic case: brick-wall CX + RY + RZ on 17 qubits (blocks at both ends of the
    basis index and in the middle), no inputs."""
    spec = hypernetwork_spec(17, 2)
    module = _module(spec)
    weights = _weights(spec, 2, seed=3)
    out, grads = _per_row(module, weights, None)
    ref_out, ref_grads = _single_starts(module, weights, None)
    assert torch.allclose(out, ref_out, rtol=0, atol=1e-12)
    assert torch.allclose(grads, ref_grads, rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_torch_func_vmap_and_grad_over_functional_call(name):
    """vmap over starts of a single-start functional call, and per-start gradients by
    vmap(grad(.)), equal the per-row batched call and its autograd gradients."""
    spec = SPECS[name]()
    module = _module(spec)
    weights = _weights(spec, ROWS, seed=4)
    inputs = _inputs(spec, 2, seed=5)
    scale = _scale(spec.n_outputs)

    def loss(w: torch.Tensor) -> torch.Tensor:
        args = () if inputs is None else (inputs,)
        return (functional_call(module, {"weights": w}, args) @ scale).sum()

    values = vmap(loss)(weights)
    grads = vmap(grad(loss))(weights)
    repeated = None if inputs is None else inputs.repeat(ROWS, 1)
    rows = weights.repeat_interleave(1 if inputs is None else len(inputs), dim=0)
    rows.requires_grad_(True)
    batched = module(repeated, weights=rows) @ scale
    batched.sum().backward()
    per_start = batched.reshape(ROWS, -1).sum(1)
    per_start_grad = rows.grad.reshape(ROWS, -1, rows.shape[1]).sum(1)
    assert torch.allclose(values, per_start.detach(), rtol=0, atol=1e-12)
    assert torch.allclose(grads, per_start_grad, rtol=0, atol=1e-12)


def test_per_row_weights_with_shots_train_the_given_weights():
    """Parameter-shift gradients reach per-row weights even when the module's own weights are
    frozen (the shot path used to decide from the module's parameter alone)."""
    spec = qssl_ring()
    exact = _module(spec)
    noisy = TorchCircuit.from_spec(spec, shots=4000, dtype=torch.float64, seed=7)
    noisy.weights.requires_grad_(False)
    weights, inputs = _weights(spec, 2, seed=8), _inputs(spec, 1, seed=9)
    _, truth = _per_row(exact, weights, inputs)
    _, estimate = _per_row(noisy, weights, inputs)
    # each entry: 2- or 4-term shift rules of a (0, 1]-weighted sum of four 4000-shot <Z> means,
    # variance at most 0.5 * 1.875 / 4000, standard deviation below 0.016; 0.08 is 5 of them
    assert truth.abs().max() > 0.2
    assert torch.allclose(estimate, truth, atol=0.08)


def test_bad_per_row_shapes_are_named():
    spec = qssl_ring()
    module = _module(spec)
    n_w = len(spec.weights)
    with pytest.raises(QmlreproError, match=rf"weights must be \({n_w},\) or \(B, {n_w}\)"):
        module(_inputs(spec, 1, 0), weights=torch.zeros(2, n_w + 1, dtype=torch.float64))
    with pytest.raises(QmlreproError, match="inputs have 2 rows and weights 3"):
        module(_inputs(spec, 2, 0), weights=torch.zeros(3, n_w, dtype=torch.float64))


@pytest.mark.parametrize("lo", [0, 2, 3])
def test_per_row_block_kernel_equals_per_row_matrix(lo):
    """apply_block with (B, 4, 4) matrices on qubits lo, lo + 1 of 5 (lowest, middle, highest
    block) equals the general kernel."""
    generator = torch.Generator().manual_seed(lo)
    state = torch.randn(ROWS, 32, dtype=torch.complex128, generator=generator)
    matrix = torch.randn(ROWS, 4, 4, dtype=torch.complex128, generator=generator)
    got = kernels.apply_block(state, matrix, lo, 2, 5)
    want = kernels.apply_matrix(state, matrix, [lo, lo + 1], 5)
    assert torch.allclose(got, want, rtol=0, atol=1e-12)
