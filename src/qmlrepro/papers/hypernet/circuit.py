"""The hypernetwork circuit (the authors' ``variationalcircuit``) and the qubit <-> bit order.

Qubit k carries the BNN's bit k (paper order). From |0..0>, for d = 1..D: CX on neighbouring
pairs (j, j + 1) for j = d mod 2, d mod 2 + 2, ... (a brick wall whose offset alternates), RY on
every qubit, RZ on every qubit; 2 D N angles, all RY layers first then all RZ layers (the
authors' theta[d], theta[d + D]). D = 1 is a product state: the first CX layer acts on |0..0>.

Qiskit numbers basis states little-endian (qubit q is bit q of the index) while the cost vector
puts bit 0 most significant, so a Qiskit index is the paper index with its N bits reversed.
"""

import torch
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector

from qmlrepro.errors import ConfigError
from qmlrepro.quantum.spec import CircuitSpec, make_spec


def hypernetwork_circuit(n_qubits: int, depth: int) -> tuple[QuantumCircuit, ParameterVector]:
    if depth < 1 or n_qubits < 2:
        raise ConfigError(
            f"hypernetwork needs depth >= 1 and >= 2 qubits (got {depth}, {n_qubits})"
        )
    theta = ParameterVector("theta", 2 * depth * n_qubits)
    qc = QuantumCircuit(n_qubits, name=f"hypernet_N{n_qubits}_D{depth}")
    for d in range(1, depth + 1):
        for j in range(d % 2, n_qubits - 1, 2):
            qc.cx(j, j + 1)
        for q in range(n_qubits):
            qc.ry(theta[(d - 1) * n_qubits + q], q)
        for q in range(n_qubits):
            qc.rz(theta[(depth + d - 1) * n_qubits + q], q)
    return qc, theta


def hypernetwork_spec(n_qubits: int, depth: int) -> CircuitSpec:
    """No inputs, 2 D N weights, probabilities of every basis state (Qiskit order)."""
    qc, theta = hypernetwork_circuit(n_qubits, depth)
    return make_spec(qc, (), list(theta), measured=list(range(n_qubits)))


def reversed_bits(n_bits: int) -> torch.Tensor:
    """r[i] = i with its n_bits bits reversed: Qiskit index <-> paper index (an involution)."""
    index = torch.arange(2**n_bits)
    out = torch.zeros_like(index)
    for k in range(n_bits):
        out |= ((index >> k) & 1) << (n_bits - 1 - k)
    return out


def to_qiskit_order(paper_vector: torch.Tensor) -> torch.Tensor:
    """A per-network vector in paper order, re-indexed by Qiskit basis state."""
    return paper_vector[reversed_bits(paper_vector.numel().bit_length() - 1)]


def to_paper_order(qiskit_vector: torch.Tensor) -> torch.Tensor:
    """Probabilities (..., 2^N) over Qiskit basis states, re-indexed by paper index."""
    return qiskit_vector[..., reversed_bits(qiskit_vector.shape[-1].bit_length() - 1)]
