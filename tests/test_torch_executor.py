"""The torch statevector executor against Qiskit, finite differences and shot statistics."""

import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from qiskit.circuit.library import UnitaryGate
from qiskit.quantum_info import SparsePauliOp, Statevector, random_unitary

from qmlrepro.quantum.ansatz import layered_ring_ansatz, z_observables
from qmlrepro.quantum.encoding import AmplitudeEncoding, bind_amplitudes
from qmlrepro.quantum.program import UnsupportedGate
from qmlrepro.quantum.torch_executor import TorchCircuit

ONE_Q_FIXED = ["h", "x", "y", "z", "s", "sdg", "t", "sx"]
ONE_Q_PARAM = ["rx", "ry", "rz", "p"]
TWO_Q_FIXED = ["cx", "cy", "cz", "swap"]
TWO_Q_PARAM = ["crx", "cry", "crz", "cp", "rzz"]
ALL = (
    ONE_Q_FIXED + ONE_Q_PARAM + TWO_Q_FIXED + TWO_Q_PARAM + ["u", "mcp", "mcx", "cswap", "unitary"]
)


def build(draw, n_qubits: int, n_gates: int):
    """A random circuit over the gate set, angles from inputs x, weights w or 2*x + w."""
    x, w = ParameterVector("x", n_qubits), ParameterVector("w", 3 * n_gates)
    qc, k = QuantumCircuit(n_qubits), 0
    for q in range(n_qubits):
        qc.ry(x[q], q)

    def angle():
        nonlocal k
        k += 1
        choice = draw(st.integers(0, 2))
        return (
            w[k - 1]
            if choice == 0
            else (2 * x[k % n_qubits] + w[k - 1] if choice == 1 else x[k % n_qubits])
        )

    for _ in range(n_gates):
        name = draw(st.sampled_from(ALL))
        qs = draw(st.permutations(range(n_qubits)))
        if name in ONE_Q_FIXED:
            getattr(qc, name)(qs[0])
        elif name in ONE_Q_PARAM:
            getattr(qc, name)(angle(), qs[0])
        elif name in TWO_Q_FIXED:
            getattr(qc, name)(qs[0], qs[1])
        elif name in TWO_Q_PARAM:
            getattr(qc, name)(angle(), qs[0], qs[1])
        elif name == "u":
            qc.u(angle(), angle(), angle(), qs[0])
        elif name == "mcp":
            qc.mcp(angle(), list(qs[:2]), qs[2])
        elif name == "mcx":
            qc.mcx(list(qs[:2]), qs[2])
        elif name == "cswap":
            qc.cswap(qs[0], qs[1], qs[2])
        else:
            seed = draw(st.integers(0, 1000))
            qc.append(UnitaryGate(random_unitary(4, seed=seed)), [qs[0], qs[1]])
    return qc, x, w


def bind(qc, x, w, xv, wv):
    values = {**dict(zip(x, xv, strict=False)), **dict(zip(w, wv, strict=False))}
    return qc.assign_parameters({p: v for p, v in values.items() if p in qc.parameters})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_circuits_match_qiskit_statevector(data):
    n = data.draw(st.integers(3, 5))
    qc, x, w = build(data.draw, n, data.draw(st.integers(1, 14)))
    module = TorchCircuit(
        qc,
        x,
        w,
        observables=z_observables(n),
        dtype=torch.float64,
        init_weights=torch.randn(
            len(w), generator=torch.Generator().manual_seed(1), dtype=torch.float64
        ),
    )
    xv = torch.randn(3, n, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        states = module.state(xv)
    for b in range(3):
        ref = Statevector(bind(qc, x, w, xv[b].tolist(), module.weights.tolist())).data
        assert np.abs(states[b].numpy() - ref).max() < 1e-10


def test_general_pauli_observables_match_qiskit():
    n = 4
    x, w = ParameterVector("x", n), ParameterVector("w", 8)
    qc = QuantumCircuit(n)
    for q in range(n):
        qc.ry(x[q], q)
        qc.rx(w[q], q)
    for q in range(n - 1):
        qc.crx(w[4 + q], q, q + 1)
    obs = [
        SparsePauliOp.from_list([("XYZI", 0.5), ("IZZX", -1.0), ("YYII", 0.25)]),
        *z_observables(n),
    ]
    module = TorchCircuit(
        qc, x, w[:7], observables=obs, dtype=torch.float64, init_weights=torch.randn(7).double()
    )
    xv = torch.randn(2, n, dtype=torch.float64)
    with torch.no_grad():
        got = module(xv)
    for b in range(2):
        sv = Statevector(bind(qc, x, w, xv[b].tolist(), module.weights.tolist()))
        assert np.allclose(got[b].numpy(), [sv.expectation_value(o).real for o in obs], atol=1e-12)


@settings(max_examples=15, deadline=None)
@given(st.data())
def test_autograd_gradients_match_finite_differences(data):
    n = 3
    qc, x, w = build(data.draw, n, data.draw(st.integers(1, 8)))
    module = TorchCircuit(
        qc,
        x,
        w,
        observables=z_observables(n),
        dtype=torch.float64,
        init_weights=torch.randn(len(w), dtype=torch.float64),
    )
    xv = torch.randn(2, n, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda a, b: _with_weights(module, a, b),
        (xv, module.weights.detach().clone().requires_grad_()),
        atol=1e-7,
    )


def _with_weights(module, inputs, weights):
    """The module's readout as a function of explicit inputs and weights (for gradcheck)."""
    values = torch.cat([inputs, weights.unsqueeze(0).expand(inputs.shape[0], -1)], dim=1)
    angles = module.simulator.angles(values)
    return module.readout(module.state_from_angles(angles, None))


def ring_circuit(n: int, layers: int = 2):
    """The qssl ring ansatz: RX(x) encoding, then [RY(w) on all, CRX(w) i -> i+1] x layers."""
    return layered_ring_ansatz(n, layers, rotations=("ry",), entangler="crx", encoding="rx")


def test_shot_estimates_are_unbiased():
    qc, x, w = ring_circuit(3)
    exact = TorchCircuit(
        qc,
        x,
        w,
        observables=z_observables(3),
        dtype=torch.float64,
        init_weights=torch.randn(len(w), dtype=torch.float64),
    )
    shots = TorchCircuit(
        qc,
        x,
        w,
        observables=z_observables(3),
        shots=100,
        dtype=torch.float64,
        init_weights=exact.weights.detach().clone(),
    )
    xv = torch.rand(1, 3, dtype=torch.float64).repeat(4000, 1)
    with torch.no_grad():
        truth, est = exact(xv[:1]), shots(xv)
    # each row is an independent 100-shot mean: its variance is (1 - <Z>^2) / 100
    se = torch.sqrt((1 - truth**2) / 100 / len(xv))
    assert ((est.mean(0) - truth[0]).abs() < 5 * se[0] + 1e-9).all()
    assert torch.allclose(est.var(0), (1 - truth[0] ** 2) / 100, rtol=0.15, atol=1e-4)


@pytest.mark.parametrize("gate", ["ry", "crx", "cry", "crz", "cp", "rzz", "u"])
def test_parameter_shift_with_shots_is_unbiased(gate):
    n = 3
    x, w = ParameterVector("x", n), ParameterVector("w", 3)
    qc = QuantumCircuit(n)
    for q in range(n):
        qc.rx(x[q], q)
        qc.h(q) if q == 2 else None
    if gate == "u":
        qc.u(w[0], w[1], w[2], 1)
    elif gate == "ry":
        qc.ry(w[0], 1)
    else:
        getattr(qc, gate)(w[0], 0, 1)
    qc.cx(1, 2)
    obs = [SparsePauliOp.from_list([("IZZ", 1.0)]), SparsePauliOp.from_list([("XIZ", 0.7)])]
    params = list(w) if gate == "u" else [w[0]]
    init = torch.tensor([0.7, -0.4, 1.1][: len(params)], dtype=torch.float64)
    exact = TorchCircuit(qc, x, params, observables=obs, dtype=torch.float64, init_weights=init)
    xv = torch.tensor([[0.3, 1.2, -0.5]], dtype=torch.float64)
    exact(xv).sum().backward()
    truth = exact.weights.grad.clone()
    noisy = TorchCircuit(
        qc, x, params, observables=obs, shots=50, dtype=torch.float64, init_weights=init
    )
    batch = xv.repeat(3000, 1).requires_grad_(True)
    noisy(batch).sum().backward()
    estimate = noisy.weights.grad / len(batch)
    input_grad = batch.grad.mean(0)
    exact_input = xv.clone().requires_grad_(True)
    exact(exact_input).sum().backward()
    # Each row's gradient is a sum of 2 or 4 independent 50-shot means of values in [-1.7, 1.7]:
    # its standard deviation is below 1.2, so the mean over 3000 rows is within ~0.022 * 5.
    assert torch.allclose(estimate, truth, atol=0.11), (estimate, truth)
    assert torch.allclose(input_grad, exact_input.grad[0], atol=0.11)


def test_amplitude_encoding_matches_state_preparation():
    x = ParameterVector("x", 0)
    w = ParameterVector("w", 2)
    qc = QuantumCircuit(3)
    qc.append(AmplitudeEncoding(2, start=0), [0, 1])
    qc.ry(w[0], 2)
    qc.crx(w[1], 2, 0)
    module = TorchCircuit(
        qc,
        x,
        w,
        measured=[0, 1, 2],
        dtype=torch.float64,
        init_weights=torch.tensor([0.4, 1.3], dtype=torch.float64),
        n_amplitude_inputs=4,
    )
    amps = torch.tensor([[0.2, -0.5, 0.7, 0.1], [1.0, 2.0, 0.0, -1.0]], dtype=torch.float64)
    with torch.no_grad():
        probs = module(amps)
    for b in range(2):
        bound = bind_amplitudes(
            qc.assign_parameters(dict(zip(w, [0.4, 1.3], strict=True))), amps[b].numpy()
        )
        assert np.allclose(probs[b].numpy(), Statevector(bound).probabilities(), atol=1e-12)


def test_marginal_probabilities_follow_qiskit_order():
    qc = QuantumCircuit(3)
    qc.x(2)
    qc.h(0)
    module = TorchCircuit(qc, [], [], measured=[2, 0], dtype=torch.float64)
    with torch.no_grad():
        probs = module()
    assert np.allclose(probs[0].numpy(), Statevector(qc).probabilities([2, 0]))


def test_unsupported_gate_is_named():
    qc = QuantumCircuit(2)
    qc.reset(0)
    with pytest.raises(UnsupportedGate, match="gate 'reset' is not supported"):
        TorchCircuit(qc, [], [], observables=z_observables(2))


def test_complex64_matches_complex128():
    qc, x, w = ring_circuit(4)
    init = torch.randn(len(w))
    lo = TorchCircuit(
        qc, x, w, observables=z_observables(4), dtype=torch.float32, init_weights=init
    )
    hi = TorchCircuit(
        qc, x, w, observables=z_observables(4), dtype=torch.float64, init_weights=init.double()
    )
    xv = torch.rand(5, 4) * math.pi
    with torch.no_grad():
        assert torch.allclose(lo(xv).double(), hi(xv.double()), atol=1e-5)


def _z_terms(n: int, coeffs: list[float]) -> list[SparsePauliOp]:
    """Z/I-only observables: coefficient c_k on Z_k, plus a ZZ term on the first two qubits."""
    return [
        SparsePauliOp.from_sparse_list([("Z", [k], c), ("ZZ", [0, 1], c / 3)], n)
        for k, c in enumerate(coeffs)
    ]


def test_diagonal_observables_are_exact_in_complex128():
    """Z/I-only observables with coefficients such as 0.1 were built in float32 (off by 7e-8)."""
    qc, x, w = ring_circuit(3)
    obs = _z_terms(3, [0.1, -0.3, 0.7])
    init = torch.linspace(-1, 1, len(w), dtype=torch.float64)
    module = TorchCircuit(qc, x, w, observables=obs, dtype=torch.float64, init_weights=init)
    xv = torch.tensor([[0.3, 1.1, 2.0], [-0.4, 0.2, 0.9]], dtype=torch.float64)
    with torch.no_grad():
        got = module(xv).numpy()
    for b in range(2):
        sv = Statevector(bind(qc, x, w, xv[b].tolist(), init.tolist()))
        want = [sv.expectation_value(o).real for o in obs]
        assert np.abs(got[b] - want).max() < 1e-14


def test_float32_diagonal_readout_keeps_its_exact_values():
    """What float32 runs read out is bit-identical to the float32 construction it replaced, for
    the +-1 coefficients every paper uses."""
    from qmlrepro.quantum.observables import diagonal_matrix, parity, pauli_terms

    n = 4
    sums = SparsePauliOp.from_list([("IIZZ", 1.0), ("ZIZI", -1.0), ("IIII", 1.0)])
    terms = [pauli_terms(o) for o in [*z_observables(n), sums]]
    before = torch.stack(
        [sum(t.coeff * parity(torch.arange(2**n), t.z_mask) for t in ts) for ts in terms], dim=1
    )
    assert before.dtype == torch.float32
    assert torch.equal(diagonal_matrix(terms, n, "cpu").to(torch.float32), before)


def test_all_zero_amplitudes_are_one_clear_error_on_every_executor():
    from qmlrepro.quantum.encoding import ZeroAmplitudes
    from qmlrepro.quantum.qiskit_executors import AerStatevector
    from qmlrepro.quantum.spec import make_spec

    qc = QuantumCircuit(2)
    qc.append(AmplitudeEncoding(2, start=0), [0, 1])
    spec = make_spec(qc, [], [], measured=[0, 1], n_amplitude_inputs=4)
    amps = torch.tensor([[0.2, -0.5, 0.7, 0.1], [0.0, 0.0, 0.0, 0.0]], dtype=torch.float64)
    module = TorchCircuit.from_spec(spec, dtype=torch.float64)
    match = r"slice x\[0:4\] is all zero in row\(s\) \[1\]"
    with pytest.raises(ZeroAmplitudes, match=match):
        module(amps)
    with pytest.raises(ZeroAmplitudes, match=r"slice x\[0:4\] is all zero"):
        AerStatevector().values(spec, amps.numpy(), np.zeros(0))


def test_complex_coefficients_are_refused_unless_they_cancel():
    from qmlrepro.quantum.observables import NonHermitianObservable
    from qmlrepro.quantum.qiskit_executors import AerShots, AerStatevector
    from qmlrepro.quantum.spec import make_spec

    qc, x, w = ring_circuit(2)
    bad = SparsePauliOp.from_list([("ZI", 0.5j), ("XX", 1.0)])
    with pytest.raises(NonHermitianObservable, match=r"complex coefficient 0\.5j"):
        TorchCircuit(qc, x, w, observables=[bad])
    spec = make_spec(qc, x, w, observables=[bad])
    for executor in (AerStatevector(), AerShots(shots=10, seed=1)):
        with pytest.raises(NonHermitianObservable, match="not Hermitian"):
            executor.values(spec, np.zeros((1, 2)), np.zeros(len(w)))
    hermitian = SparsePauliOp.from_list([("ZI", 1j), ("XX", 0.5), ("ZI", -1j)])
    init = torch.linspace(-1, 1, len(w), dtype=torch.float64)
    module = TorchCircuit(qc, x, w, observables=[hermitian], dtype=torch.float64, init_weights=init)
    xv = torch.tensor([[0.3, 1.1]], dtype=torch.float64)
    with torch.no_grad():
        got = module(xv)[0, 0].item()
    sv = Statevector(bind(qc, x, w, xv[0].tolist(), init.tolist()))
    assert abs(got - sv.expectation_value(SparsePauliOp("XX", 0.5)).real) < 1e-14


def test_state_is_documented_to_leave_out_the_global_phase():
    from qiskit.circuit.library import GlobalPhaseGate

    qc = QuantumCircuit(2, global_phase=0.7)
    qc.h(0)
    qc.cx(0, 1)
    qc.append(GlobalPhaseGate(0.2), [])
    module = TorchCircuit(qc, [], [], measured=[0, 1], dtype=torch.float64)
    with torch.no_grad():
        state = module.state()[0].numpy()
    assert np.abs(state - np.exp(-0.9j) * Statevector(qc).data).max() < 1e-14
    assert "global phase" in TorchCircuit.state.__doc__


def test_lower_precision_init_weights_are_flagged():
    from qmlrepro.quantum.torch_executor import PrecisionWarning

    qc, x, w = ring_circuit(2)
    init = torch.full((len(w),), 0.1)
    with pytest.warns(PrecisionWarning, match="init_weights are torch.float32 but the circuit"):
        module = TorchCircuit(
            qc, x, w, observables=z_observables(2), dtype=torch.float64, init_weights=init
        )
    assert module.weights.dtype == torch.float64 and module.weights[0].item() != 0.1
    with warnings.catch_warnings():
        warnings.simplefilter("error", PrecisionWarning)
        exact = TorchCircuit(
            qc,
            x,
            w,
            observables=z_observables(2),
            dtype=torch.float64,
            init_weights=init.double().fill_(0.1),
        )
        TorchCircuit(qc, x, w, observables=z_observables(2), init_weights=init)  # float32 both
    assert exact.weights[0].item() == 0.1
