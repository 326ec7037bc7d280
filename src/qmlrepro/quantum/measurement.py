"""From a circuit spec to measured circuits, and from sampled bits back to the spec's outputs.

Observables are split into qubit-wise commuting groups; each group is one circuit with basis
changes (H for X, S^dagger then H for Y) and measurements, so every Pauli term is a parity of
measured bits. This is what any sampler (Aer, IBM hardware) can run.

A model circuit may carry its own measurements (``measure_all()``, ``QuantumCircuit(n, n)``):
its *final* measurements (nothing acts on the qubit afterwards and no later operation reads the
bit) are dropped by every executor, since the spec's observables or measured qubits say what is
read out. Mid-circuit measurements, resets and classically controlled blocks are kept: the
sampling executors simulate them, the exact ones (torch, Aer statevector) refuse them with one
clear error (:func:`require_unitary`).
"""

from dataclasses import dataclass

import numpy as np
from qiskit import ClassicalRegister, QuantumCircuit
from qiskit.circuit import ControlFlowOp

from qmlrepro.errors import QmlreproError
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


TRANSPARENT = ("barrier", "delay")  # act on no state: a measurement before them is still final


def final_measurements(circuit: QuantumCircuit) -> frozenset[int]:
    """Indices into ``circuit.data`` of its final measurements: no later operation other than a
    barrier, a delay or another final measurement acts on the measured qubit, and none reads the
    written bit (as a condition does)."""
    used_qubits, read_clbits, final = set(), set(), set()
    for index in range(len(circuit.data) - 1, -1, -1):
        inst = circuit.data[index]
        name = inst.operation.name
        if name in TRANSPARENT:
            continue
        if name == "measure" and not (
            used_qubits & set(inst.qubits) or read_clbits & set(inst.clbits)
        ):
            final.add(index)
            continue
        used_qubits |= set(inst.qubits)
        if name != "measure":
            read_clbits |= set(inst.clbits)
    return frozenset(final)


def require_unitary(
    circuit: QuantumCircuit, final: frozenset[int], executor: str, error: type[QmlreproError]
) -> None:
    """Raise ``error`` (one line) at the first operation of ``circuit`` that is neither unitary nor
    one of its ``final`` measurements: a mid-circuit measurement, a reset, a classically
    controlled block, anything acting on classical bits. ``executor`` names who refuses."""
    for index, inst in enumerate(circuit.data):
        op = inst.operation
        measure = op.name == "measure"
        if index in final or not (
            measure or inst.clbits or op.name == "reset" or isinstance(op, ControlFlowOp)
        ):
            continue
        qubits = [circuit.find_bit(q).index for q in inst.qubits]
        if measure:
            reason = (
                f"mid-circuit measurement of qubit {qubits[0]} (instruction {index}): a later "
                "operation acts on the qubit or reads its bit"
            )
        else:
            reason = f"gate '{op.name}' is not supported on qubits {qubits}: it is not unitary"
        raise error(
            f"{reason}; {executor} simulates unitary circuits whose measurements all come last: "
            "move the measurements to the end, or use a sampling backend (aer_shots, aer_noise)"
        )


def without_final_measurements(circuit: QuantumCircuit) -> QuantumCircuit:
    """A copy of ``circuit`` without its final measurements (:func:`final_measurements`), and
    without classical bits unless a remaining operation uses them."""
    final = final_measurements(circuit)
    kept = [inst for index, inst in enumerate(circuit.data) if index not in final]
    if any(inst.clbits for inst in kept):
        out = circuit.copy_empty_like()
    else:
        out = QuantumCircuit(
            list(circuit.qubits),
            *circuit.qregs,
            name=circuit.name,
            global_phase=circuit.global_phase,
            metadata=circuit.metadata,
        )
    for inst in kept:
        out.append(inst)
    return out


def _readout_register(circuit: QuantumCircuit, size: int) -> ClassicalRegister:
    """A register for the executor's own measurements: 'meas', or 'meas<k>' when the circuit
    already has a register of that name (a mid-circuit ``measure_all()``)."""
    taken = {r.name for r in circuit.cregs}
    name = next(n for n in ("meas", *(f"meas{k}" for k in range(len(taken) + 1))) if n not in taken)
    register = ClassicalRegister(size, name)
    circuit.add_register(register)
    return register


def readout_name(circuit: QuantumCircuit) -> str:
    """The name of the register the executor reads: the one :func:`observable_circuits` and
    :func:`probability_circuit` add last (the transpiler keeps registers and their order)."""
    return circuit.cregs[-1].name


def _measurable(circuit: QuantumCircuit) -> QuantumCircuit:
    """A copy of a model circuit ready for the executor's own measurements."""
    return without_final_measurements(circuit) if circuit.num_clbits else circuit.copy()


def observable_circuits(spec: CircuitSpec) -> list[MeasuredCircuit]:
    """One measured circuit per qubit-wise commuting group of the spec's Pauli terms; its readout
    register (:func:`readout_name`) holds one bit per qubit (bit q = qubit q)."""
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
        qc = _measurable(spec.circuit)
        for q, b in sorted(basis.items()):
            if b == "Y":
                qc.sdg(q)
            if b in ("X", "Y"):
                qc.h(q)
        qc.measure(range(n), _readout_register(qc, n))
        circuits.append(MeasuredCircuit(qc, members))
    return circuits


def probability_circuit(spec: CircuitSpec) -> QuantumCircuit:
    """The spec's circuit measuring ``spec.measured`` into its readout register (bit i = qubit
    ``measured[i]``; :func:`readout_name`)."""
    qc = _measurable(spec.circuit)
    qc.measure(list(spec.measured), _readout_register(qc, len(spec.measured)))
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
