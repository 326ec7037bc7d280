"""Compile a parameterised Qiskit circuit into fused segments for the torch executor.

Consecutive gates of one kind fuse: single-qubit gates into one 2x2 per qubit (then one small
Kronecker matrix per group of neighbouring qubits), diagonal gates into one phase vector,
basis permutations into one gather index. A typical layered ansatz then runs as a handful of
batched matmuls instead of one kernel call per gate.
"""

from dataclasses import dataclass, field

import torch
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter

from qmlrepro.errors import QmlreproError
from qmlrepro.quantum.encoding import AmplitudeEncoding
from qmlrepro.quantum.expressions import compile_angle, depends_on, parameter_columns
from qmlrepro.quantum.gates import (
    DENSE,
    DIAGONAL,
    GATES,
    IGNORED,
    ONE_QUBIT,
    ONE_QUBIT_PHASES,
    PERMUTATION,
    X_PERMUTATION,
    GateSpec,
    mcx_spec,
)
from qmlrepro.quantum.measurement import final_measurements, require_unitary


class UnsupportedGate(QmlreproError):
    """The circuit holds an operation the executor does not implement (for the exact executors:
    also any non-unitary operation other than a final measurement)."""


@dataclass
class GateCall:
    """One gate occurrence: its spec, qubits, and the angle slots that feed its parameters."""

    spec: GateSpec
    qubits: list[int]
    slots: list[int]
    constant_matrix: torch.Tensor | None = None  # for 'unitary'


@dataclass
class Segment:
    kind: str
    calls: list[GateCall] = field(default_factory=list)
    permutation: torch.Tensor | None = None  # composed gather index for PERMUTATION

    @property
    def qubits(self) -> set[int]:
        return {q for c in self.calls for q in c.qubits}


@dataclass
class AngleSlot:
    column: int | None  # plain parameter
    fn: object  # expression fn, or a float constant
    depends: frozenset[str]
    shift_rule: str | None


@dataclass
class Program:
    num_qubits: int
    parameters: list[Parameter]  # column order of the values tensor
    slots: list[AngleSlot]
    encodings: list[tuple[list[int], int]]  # (qubits, input start) of amplitude encodings
    segments: list[Segment]


def _spec_for(inst_op, n_qubits: int) -> GateSpec:
    name = inst_op.name
    if name in GATES:
        return GATES[name]
    if name == "mcx" or (name.startswith("mcx") and hasattr(inst_op, "num_ctrl_qubits")):
        return mcx_spec(inst_op.num_ctrl_qubits)
    if name == "unitary":
        return GateSpec(ONE_QUBIT if n_qubits == 1 else DENSE)
    supported = sorted({*GATES, "mcx", "unitary", "amplitude_encoding"})
    raise UnsupportedGate(
        f"gate '{name}' is not supported by the torch executor "
        f"(supported: {', '.join(supported)}); "
        "decompose it first, e.g. qiskit.transpile(circuit, basis_gates=[...])"
    )


def compile_circuit(circuit: QuantumCircuit, parameters: list[Parameter]) -> Program:
    """``parameters`` fixes the column order of the values the executor is called with.

    Final measurements are dropped (the executor reads out what it is asked for); barriers,
    delays and global phases are ignored.

    Raises:
        UnsupportedGate: a gate outside the gate set, or a mid-circuit measurement, reset or
            classically controlled block (never silently ignored).
    """
    columns = parameter_columns(parameters)
    missing = {p.name for p in circuit.parameters} - set(columns)
    if missing:
        raise QmlreproError(f"circuit parameters {sorted(missing)} are neither inputs nor weights")
    n = circuit.num_qubits
    slots: list[AngleSlot] = []
    encodings: list[tuple[list[int], int]] = []
    segments: list[Segment] = []
    touched: set[int] = set()
    index = torch.arange(2**n)
    final = final_measurements(circuit)
    require_unitary(circuit, final, "the torch executor", UnsupportedGate)

    for position, inst in enumerate(circuit.data):
        op = inst.operation
        qubits = [circuit.find_bit(q).index for q in inst.qubits]
        if op.name in IGNORED or position in final:
            continue
        if isinstance(op, AmplitudeEncoding):
            if touched & set(qubits):
                raise UnsupportedGate("amplitude encoding must come first on its qubits")
            encodings.append((qubits, op.start))
            touched |= set(qubits)
            continue
        spec = _spec_for(op, len(qubits))
        call_slots = []
        for param in op.params if op.name != "unitary" else []:
            column, fn = compile_angle(param, columns)
            call_slots.append(len(slots))
            slots.append(AngleSlot(column, fn, frozenset(depends_on(param)), spec.shift_rule))
        matrix = None
        if op.name == "unitary":
            matrix = torch.as_tensor(op.to_matrix(), dtype=torch.complex128).unsqueeze(0)
        call = GateCall(spec, qubits, call_slots, matrix)
        touched |= set(qubits)
        _append(segments, call, op.name, index)
    return Program(n, list(parameters), slots, encodings, segments)


def _append(segments: list[Segment], call: GateCall, name: str, index: torch.Tensor) -> None:
    current = segments[-1].kind if segments else None
    kind = call.spec.kind
    if kind == ONE_QUBIT and name in ONE_QUBIT_PHASES and current == DIAGONAL:
        call = GateCall(ONE_QUBIT_PHASES[name], call.qubits, call.slots)
        kind = DIAGONAL
    if kind == ONE_QUBIT and name == "x" and current == PERMUTATION:
        call = GateCall(X_PERMUTATION, call.qubits, [])
        kind = PERMUTATION
    if kind != current or kind == DENSE:
        segments.append(Segment(kind))
    segment = segments[-1]
    segment.calls.append(call)
    if kind == PERMUTATION:
        mapped = call.spec.permute(index, call.qubits)
        base = segment.permutation if segment.permutation is not None else index
        segment.permutation = base[mapped]
