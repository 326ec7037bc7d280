"""From a circuit spec to measured circuits, and from sampled bits back to the spec's outputs.

Observables are split into qubit-wise commuting groups; each group is one circuit with basis
changes (H for X, S^dagger then H for Y) and measurements, so every Pauli term is a parity of
measured bits. This is what any sampler (Aer, IBM hardware) can run.
"""

from dataclasses import dataclass

import numpy as np
from qiskit import ClassicalRegister, QuantumCircuit

from qmlrepro.quantum.observables import pauli_terms
from qmlrepro.quantum.spec import CircuitSpec


@dataclass
class MeasuredCircuit:
    circuit: QuantumCircuit
    # (observable index, coefficient, measured-bit positions whose parity is the term's value)
    terms: list[tuple[int, float, list[int]]]


def _basis_of(x_mask: int, z_mask: int, n: int) -> dict[int, str]:
    out = {}
    for q in range(n):
        x, z = x_mask >> q & 1, z_mask >> q & 1
        if x or z:
            out[q] = "Y" if x and z else ("X" if x else "Z")
    return out


def observable_circuits(spec: CircuitSpec) -> list[MeasuredCircuit]:
    n = spec.circuit.num_qubits
    groups: list[tuple[dict[int, str], list[tuple[int, float, list[int]]]]] = []
    for index, observable in enumerate(spec.observables):
        for term in pauli_terms(observable):
            basis = _basis_of(term.x_mask, term.z_mask, n)
            support = sorted(basis)
            for group_basis, members in groups:
                if all(group_basis.get(q, b) == b for q, b in basis.items()):
                    group_basis.update(basis)
                    members.append((index, term.coeff, support))
                    break
            else:
                groups.append((dict(basis), [(index, term.coeff, support)]))
    circuits = []
    for basis, members in groups:
        qc = spec.circuit.copy()
        for q, b in sorted(basis.items()):
            if b == "Y":
                qc.sdg(q)
            if b in ("X", "Y"):
                qc.h(q)
        creg = ClassicalRegister(n, "meas")
        qc.add_register(creg)
        qc.measure(range(n), creg)
        circuits.append(MeasuredCircuit(qc, members))
    return circuits


def probability_circuit(spec: CircuitSpec) -> QuantumCircuit:
    qc = spec.circuit.copy()
    creg = ClassicalRegister(len(spec.measured), "meas")
    qc.add_register(creg)
    qc.measure(list(spec.measured), creg)
    return qc


def unpack_bits(packed: np.ndarray, n_bits: int) -> np.ndarray:
    """BitArray bytes (..., shots, n_bytes), big-endian -> (..., shots, n_bits), bit i = clbit i."""
    bits = np.unpackbits(packed, axis=-1, bitorder="big")
    return bits[..., ::-1][..., :n_bits]


def expectations_from_bits(
    spec: CircuitSpec, groups: list[MeasuredCircuit], bits: list[np.ndarray]
) -> np.ndarray:
    """Per-group bits (B, S, n) -> (B, n_obs) estimates."""
    batch = bits[0].shape[0]
    out = np.zeros((batch, len(spec.observables)))
    for group, group_bits in zip(groups, bits, strict=True):
        for index, coeff, support in group.terms:
            if not support:
                out[:, index] += coeff
                continue
            parity = group_bits[..., support].astype(np.int64).sum(axis=-1) % 2
            out[:, index] += coeff * (1 - 2 * parity).mean(axis=-1)
    return out


def probabilities_from_bits(bits: np.ndarray, n_measured: int) -> np.ndarray:
    """(B, S, m) bits -> (B, 2^m) frequencies, outcome bit i = measured qubit i."""
    outcomes = (bits.astype(np.int64) << np.arange(n_measured)).sum(axis=-1)
    batch = bits.shape[0]
    freq = np.zeros((batch, 2**n_measured))
    for b in range(batch):
        freq[b] = np.bincount(outcomes[b], minlength=2**n_measured) / bits.shape[1]
    return freq
