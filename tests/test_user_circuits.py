"""Circuits as Qiskit users write them, on every backend: their own classical registers
(``QuantumCircuit(n, n)``), ``measure_all()``, mid-circuit measurements, resets and classically
controlled blocks, at every optimisation level. Every backend gives the same distribution (within
the tolerances of ``executors``) or one clear error before any work; none silently ignores an
operation."""

import math

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter, ParameterVector
from qiskit.quantum_info import SparsePauliOp

from qmlrepro.quantum.program import UnsupportedGate
from qmlrepro.quantum.spec import CircuitSpec, make_spec

from .executors import assert_agrees, backends_fixture, exact

SHOTS = 2000
REGISTERS = ("none", "own", "measure_all", "idle")  # case i runs at optimisation level i
ONE_QUBIT, ONE_QUBIT_ANGLE = ("h", "sx", "t"), ("rx", "ry", "p")
TWO_QUBIT, TWO_QUBIT_ANGLE = ("cx", "swap"), ("crx", "rzz", "cp")
ALL_BACKENDS = (
    "torch",
    "torch_float32",
    "torch_shots",
    "aer_statevector",
    "aer_shots",
    "aer_depolarizing",
    "aer_noise",
    "aer_noise_ideal",
    "ibm_runtime_local",
)
EXACT_ONLY = ("torch", "torch_shots", "aer_statevector")  # refuse non-unitary operations
SAMPLERS = tuple(b for b in ALL_BACKENDS if b not in (*EXACT_ONLY, "torch_float32"))
DEVICES = ("aer_noise", "aer_noise_ideal", "ibm_runtime_local")  # fake_paris: no if_else


backends = backends_fixture(SHOTS)


def user_circuit(seed: int, registers: str, n: int = 3, n_gates: int = 8):
    """A seeded random circuit: RY(x) encoding, ``n_gates`` random gates with angles w_k or
    2 x_q + w_k, then a diagonal last layer (RZ with angles of its own, a CZ) that optimisation
    levels 2-3 remove before measurements. ``registers``: 'none'; 'own' (QuantumCircuit(n, n),
    a barrier and final measurements into it); 'measure_all'; 'idle' (a register never used)."""
    rng = np.random.default_rng(seed)
    x, w = ParameterVector("x", n), ParameterVector("w", n_gates + n)
    qc = QuantumCircuit(n, n) if registers in ("own", "idle") else QuantumCircuit(n)
    for q in range(n):
        qc.ry(x[q], q)
    for k in range(n_gates):
        a, b = (int(q) for q in rng.choice(n, 2, replace=False))
        angle = w[k] if rng.random() < 0.5 else 2 * x[a] + w[k]
        gate = str(rng.choice(ONE_QUBIT + ONE_QUBIT_ANGLE + TWO_QUBIT + TWO_QUBIT_ANGLE))
        args = ([angle] if gate in ONE_QUBIT_ANGLE + TWO_QUBIT_ANGLE else []) + [a]
        getattr(qc, gate)(*args, *([b] if gate in TWO_QUBIT + TWO_QUBIT_ANGLE else []))
    for q in range(n):
        qc.rz(w[n_gates + q], q)
    qc.cz(0, n - 1)
    if registers == "own":
        qc.barrier()
        qc.measure(range(n), range(n))
    elif registers == "measure_all":
        qc.measure_all()
    return qc, x, w


def _specs(qc, x, w) -> list[CircuitSpec]:
    n = qc.num_qubits
    observables = [
        SparsePauliOp.from_sparse_list([("Z", [0], 1.0)], n),
        SparsePauliOp.from_list([("XYZ", 0.5), ("IZZ", 0.1)]),
    ]
    return [
        make_spec(qc, x, w, measured=list(range(n))[::-1]),
        make_spec(qc, x, w, observables=observables),
    ]


@pytest.mark.parametrize("level, registers", list(enumerate(REGISTERS)))
def test_user_circuits_give_one_answer_on_every_backend(backends, level, registers):
    qc, x, w = user_circuit(level, registers)
    plain = user_circuit(level, "none")
    rng = np.random.default_rng(level)
    inputs, weights = rng.uniform(-3, 3, (2, len(x))), rng.normal(size=len(w))
    for spec, reference in zip(_specs(qc, x, w), _specs(*plain), strict=True):
        expected = exact(reference, inputs, weights)
        for backend in ALL_BACKENDS:
            got = backends.run(backend, level)(spec, inputs, weights)
            assert_agrees(f"{backend}/o{level}", spec, got, expected, SHOTS, 0.05)


def _measure_then_undo() -> tuple[CircuitSpec, np.ndarray, list[float]]:
    """The issue's example: ry(x); measure; ry(-x) at x = pi/2 is [0.5, 0.5], not [1, 0]."""
    x = Parameter("x")
    qc = QuantumCircuit(1, 1)
    qc.ry(x, 0)
    qc.measure(0, 0)
    qc.ry(-x, 0)
    return make_spec(qc, [x], [], measured=[0]), np.array([[math.pi / 2]]), [0.5, 0.5]


def _measure_then_entangle():
    """h; measure q0; h; cx: the measurement leaves |0> or |1>, so the last h and cx make a
    Bell pair up to a sign: [0.5, 0, 0, 0.5] (Aer), not [1, 0, 0, 0] (the measurement ignored)."""
    qc = QuantumCircuit(2, 1)
    qc.h(0)
    qc.measure(0, 0)
    qc.h(0)
    qc.cx(0, 1)
    return make_spec(qc, [], [], measured=[0, 1]), np.zeros((1, 0)), [0.5, 0, 0, 0.5]


def _reset_midway():
    """A Bell pair, then reset q0: [0.5, 0, 0.5, 0], not the pair's [0.5, 0, 0, 0.5]."""
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    qc.reset(0)
    return make_spec(qc, [], [], measured=[0, 1]), np.zeros((1, 0)), [0.5, 0, 0.5, 0]


def _measure_all_midway():
    """measure_all() and then more gates: the model's 'meas' register is read by no executor."""
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.measure_all()
    qc.h(0)
    return make_spec(qc, [], [], measured=[0]), np.zeros((1, 0)), [0.5, 0.5]


def _conditional():
    qc = QuantumCircuit(2, 1)
    qc.h(0)
    qc.measure(0, 0)
    with qc.if_test((qc.clbits[0], 1)):
        qc.x(1)
    return make_spec(qc, [], [], measured=[0, 1]), np.zeros((1, 0)), [0.5, 0, 0, 0.5]


NON_UNITARY = {
    "measure_then_undo": (_measure_then_undo, "mid-circuit measurement of qubit 0"),
    "measure_then_entangle": (_measure_then_entangle, "mid-circuit measurement of qubit 0"),
    "reset_midway": (_reset_midway, "gate 'reset' is not supported on qubits \\[0\\]"),
    "measure_all_midway": (_measure_all_midway, "mid-circuit measurement of qubit 0"),
    "conditional": (_conditional, "mid-circuit measurement of qubit 0"),
}


@pytest.mark.parametrize("case", list(NON_UNITARY))
def test_non_unitary_circuits_are_sampled_or_refused_never_ignored(backends, case):
    build, refusal = NON_UNITARY[case]
    spec, inputs, distribution = build()
    expected = np.array([distribution])
    for backend in EXACT_ONLY:
        with pytest.raises(UnsupportedGate, match=refusal):
            backends.run(backend)(spec, inputs, np.zeros(0))
    for level, backend in enumerate(SAMPLERS):
        run = backends.run(backend, level % 4)
        if case == "conditional" and backend in DEVICES:
            with pytest.raises(UnsupportedGate, match=r"'if_else' .* not supported by device"):
                run(spec, inputs, np.zeros(0))
            continue
        got = run(spec, inputs, np.zeros(0))
        # a device's noise on 1-2 qubits and a few gates is small: ignoring the operation would
        # move an entry by 0.5
        assert_agrees(f"{backend}/o{level % 4}", spec, got, expected, SHOTS, 0.05, 0.1)
