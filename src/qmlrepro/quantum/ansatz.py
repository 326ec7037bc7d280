"""Reusable circuit builders: angle encodings, layered rotation + ring-entangler ansätze, and
single-qubit Z observables. Papers and benchmarks compose their circuits from these."""

from collections.abc import Sequence

from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import SparsePauliOp

PARAMETRISED_ENTANGLERS = ("crx", "cry", "crz", "cp", "rzz")
FIXED_ENTANGLERS = ("cx", "cz")


def layered_ring_ansatz(
    n: int,
    layers: int,
    rotations: Sequence[str] = ("ry",),
    entangler: str = "cx",
    encoding: str | None = "ry",
) -> tuple[QuantumCircuit, ParameterVector, ParameterVector]:
    """``encoding(x_i)`` on qubit i, then per layer: each rotation in ``rotations`` with its own
    weight on every qubit (in qubit order, rotations interleaved per qubit), then ``entangler``
    from qubit i to (i + 1) mod n for every i (with a weight if it is parametrised).

    Returns the circuit and its input and weight parameter vectors.
    """
    if entangler not in PARAMETRISED_ENTANGLERS + FIXED_ENTANGLERS:
        raise ValueError(
            f"entangler '{entangler}' is not one of {PARAMETRISED_ENTANGLERS + FIXED_ENTANGLERS}"
        )
    per_layer = n * len(rotations) + (n if entangler in PARAMETRISED_ENTANGLERS else 0)
    x = ParameterVector("x", n if encoding else 0)
    w = ParameterVector("w", layers * per_layer)
    qc, k = QuantumCircuit(n), 0
    if encoding:
        for q in range(n):
            getattr(qc, encoding)(x[q], q)
    for _ in range(layers):
        for q in range(n):
            for rotation in rotations:
                getattr(qc, rotation)(w[k], q)
                k += 1
        for q in range(n):
            target = (q + 1) % n
            if entangler in PARAMETRISED_ENTANGLERS:
                getattr(qc, entangler)(w[k], q, target)
                k += 1
            else:
                getattr(qc, entangler)(q, target)
    return qc, x, w


def z_observables(n: int) -> list[SparsePauliOp]:
    """<Z_i> for every qubit i."""
    return [SparsePauliOp.from_sparse_list([("Z", [q], 1.0)], n) for q in range(n)]


def all_to_all_ansatz(
    n: int, layers: int, encoding: str | None = "rx"
) -> tuple[QuantumCircuit, ParameterVector, ParameterVector]:
    """``encoding(x_i)``, an RY layer, then per layer: CNOT(i, j) for every pair i < j and another
    RY layer (circuit 15 of Sim et al. with all-to-all CNOTs, as in Abbas et al. 2011.00027).

    ``(layers + 1) * n`` weights. Returns the circuit and its input and weight vectors.
    """
    x = ParameterVector("x", n if encoding else 0)
    w = ParameterVector("w", (layers + 1) * n)
    qc = QuantumCircuit(n)
    if encoding:
        for q in range(n):
            getattr(qc, encoding)(x[q], q)
    for block in range(layers + 1):
        if block:
            for i in range(n):
                for j in range(i + 1, n):
                    qc.cx(i, j)
        for q in range(n):
            qc.ry(w[block * n + q], q)
    return qc, x, w
