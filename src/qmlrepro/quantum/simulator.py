"""Runs a compiled :class:`~qmlrepro.quantum.program.Program` on batched gate angles.

Work per segment is vectorised over its gates: all rotations of one type in a fused single-qubit
layer are built in one call, all parameterised phases of a diagonal segment in one matmul. That
keeps the autograd graph small, which is what dominates at small batch sizes.
"""

from dataclasses import dataclass

import torch

from qmlrepro.errors import QmlreproError
from qmlrepro.quantum import kernels
from qmlrepro.quantum.encoding import require_nonzero
from qmlrepro.quantum.gates import DENSE, DIAGONAL, ONE_QUBIT, PERMUTATION, GateSpec
from qmlrepro.quantum.program import GateCall, Program, Segment


@dataclass
class GateGroup:
    """Gates of one type at one depth of a single-qubit layer."""

    spec: GateSpec
    positions: torch.Tensor  # index into the layer's qubit list
    slots: torch.Tensor  # (n_gates, n_params)
    constant: torch.Tensor | None  # unitary matrices (n_gates, 2, 2) for 'unitary'


@dataclass(frozen=True)
class Call:
    """One simulation's inputs, shared by every plan: gate angles (B, A) in radians,
    amplitude-encoded inputs (B|1, n_amp) or None, the complex dtype, the slots holding one value
    for every row, and whether per-row single-qubit layers are fused into GEMMs."""

    angles: torch.Tensor
    amplitudes: torch.Tensor | None
    cdtype: torch.dtype
    shared: frozenset[int]
    fuse_rows: bool


@dataclass
class OneQubitPlan:
    qubits: list[int]
    steps: list[list[GateGroup]]
    slots: frozenset[int]

    def apply(self, sim: "Simulator", state: torch.Tensor | None, call: Call) -> torch.Tensor:
        rows = call.angles[:1] if call.shared.issuperset(self.slots) else call.angles
        mats = sim._layer_matrices(self, rows, call.cdtype)
        n = sim.program.num_qubits
        if state is None and not sim.program.encodings:  # a product state: no |0...0> needed
            batch, device = call.angles.shape[0], call.angles.device
            return sim._product_from_zero(self.qubits, mats, n, batch, call.cdtype, device)
        state = sim._initial(state, call)
        return sim._apply_layer(state, self.qubits, mats, n, call.fuse_rows)


@dataclass
class DiagonalPlan:
    slots: torch.Tensor  # (G,) angle slot per parameterised gate
    patterns: torch.Tensor  # (G, 2^n)
    constant: torch.Tensor  # (2^n,) fixed phases
    slot_set: frozenset[int]

    def apply(self, sim: "Simulator", state: torch.Tensor | None, call: Call) -> torch.Tensor:
        state = sim._initial(state, call)
        angles, device = call.angles, call.angles.device
        phase = sim._on("const", self.constant, device, angles.dtype).unsqueeze(0)
        if len(self.slots):
            rows = angles[:1] if call.shared.issuperset(self.slot_set) else angles
            picked = rows.index_select(1, sim._on("dslots", self.slots, device))
            phase = phase + picked @ sim._on("pat", self.patterns, device, angles.dtype)
        return kernels.apply_phase(state, phase)


@dataclass
class PermutationPlan:
    source: torch.Tensor  # (2^n,) composed gather index of the segment's X / CX / SWAP gates

    def apply(self, sim: "Simulator", state: torch.Tensor | None, call: Call) -> torch.Tensor:
        state = sim._initial(state, call)
        device = call.angles.device
        source = sim._on("perm", self.source, device)
        inverse = sim._on("perm_inv", sim._inverse_perm(self.source), device)
        return kernels.apply_permutation(state, source, inverse)


@dataclass
class DensePlan:
    gate: GateCall  # one multi-qubit gate with a dense matrix

    def apply(self, sim: "Simulator", state: torch.Tensor | None, call: Call) -> torch.Tensor:
        state = sim._initial(state, call)
        matrix = sim._dense(self.gate, call.angles, call.shared, call.cdtype)
        return kernels.apply_matrix(state, matrix, self.gate.qubits, sim.program.num_qubits)


def _plan_one_qubit(segment: Segment) -> OneQubitPlan:
    qubits = sorted(segment.qubits)
    pos = {q: i for i, q in enumerate(qubits)}
    per_qubit: dict[int, list[GateCall]] = {}
    for call in segment.calls:
        per_qubit.setdefault(call.qubits[0], []).append(call)
    steps = []
    for depth in range(max(len(c) for c in per_qubit.values())):
        groups: dict[object, list[GateCall]] = {}
        for q in qubits:
            calls = per_qubit[q]
            if depth < len(calls):
                key = calls[depth].spec if calls[depth].constant_matrix is None else "unitary"
                groups.setdefault(key, []).append(calls[depth])
        step = []
        for key, calls in groups.items():
            step.append(
                GateGroup(
                    spec=calls[0].spec,
                    positions=torch.tensor([pos[c.qubits[0]] for c in calls]),
                    slots=torch.tensor([c.slots for c in calls], dtype=torch.long).reshape(
                        len(calls), -1
                    ),
                    constant=torch.cat([c.constant_matrix for c in calls])
                    if key == "unitary"
                    else None,
                )
            )
        steps.append(step)
    return OneQubitPlan(qubits, steps, frozenset(s for c in segment.calls for s in c.slots))


def _plan_diagonal(segment: Segment, n: int) -> DiagonalPlan:
    bits = kernels.basis_bits(n).double()
    slots, patterns = [], []
    constant = torch.zeros(2**n, dtype=torch.float64)
    for call in segment.calls:
        pattern = call.spec.pattern([bits[q] for q in call.qubits])
        if call.spec.phase_scale is not None:
            constant += call.spec.phase_scale * pattern
        else:
            (slot,) = call.slots
            slots.append(slot)
            patterns.append(pattern)
    return DiagonalPlan(
        torch.tensor(slots, dtype=torch.long),
        torch.stack(patterns) if patterns else torch.zeros(0, 2**n, dtype=torch.float64),
        constant,
        frozenset(slots),
    )


# The one dispatch on segment kind: each kind's plan is built here and applies itself.
PLANNERS = {
    ONE_QUBIT: lambda segment, n: _plan_one_qubit(segment),
    DIAGONAL: _plan_diagonal,
    PERMUTATION: lambda segment, n: PermutationPlan(segment.permutation),
    DENSE: lambda segment, n: DensePlan(segment.calls[0]),
}


def _ket_zero(cdtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """|0> as a (1, 2) column for product states."""
    ket = torch.zeros(1, 2, dtype=cdtype, device=device)
    ket[0, 0] = 1
    return ket


class Simulator:
    """Statevector simulation of a program; ``fuse_qubits`` bounds the Kronecker blocks."""

    def __init__(self, program: Program, fuse_qubits: int = 4) -> None:
        self.program = program
        self.fuse_qubits = fuse_qubits
        n = program.num_qubits
        self.plans = [PLANNERS[segment.kind](segment, n) for segment in program.segments]
        slots = program.slots
        self._plain = [i for i, s in enumerate(slots) if s.column is not None]
        self._plain_cols = torch.tensor([slots[i].column for i in self._plain], dtype=torch.long)
        self._other = [i for i, s in enumerate(slots) if s.column is None]
        order = self._plain + self._other
        self._inverse = torch.argsort(torch.tensor(order, dtype=torch.long)) if order else None
        self._cache: dict[tuple, torch.Tensor] = {}

    def _on(self, key: str, tensor: torch.Tensor, device, dtype=None) -> torch.Tensor:
        cache_key = (key, id(tensor), device, dtype)
        if cache_key not in self._cache:
            self._cache[cache_key] = tensor.to(device=device, dtype=dtype or tensor.dtype)
        return self._cache[cache_key]

    def _inverse_perm(self, source: torch.Tensor) -> torch.Tensor:
        key = ("inverse_of", id(source))
        if key not in self._cache:
            self._cache[key] = torch.argsort(source)
        return self._cache[key]

    def angles(self, values: torch.Tensor) -> torch.Tensor:
        """(B, P) parameter values -> (B, A) gate angles, one gather for the plain parameters."""
        if self._inverse is None:
            return values.new_zeros(values.shape[0], 0)
        parts = [values.index_select(1, self._on("cols", self._plain_cols, values.device))]
        for i in self._other:
            fn = self.program.slots[i].fn
            column = fn(values) if callable(fn) else values.new_full(values.shape[:1], fn)
            parts.append(column.unsqueeze(1))
        stacked = torch.cat(parts, dim=1)
        return stacked.index_select(1, self._on("inv", self._inverse, values.device))

    def run(
        self,
        angles: torch.Tensor,
        amplitudes: torch.Tensor | None,
        cdtype: torch.dtype,
        shared: frozenset[int] = frozenset(),
        fuse_rows: bool = False,
    ) -> torch.Tensor:
        """Final statevector (B, 2^n), complex ``cdtype``, from gate angles (B, A) in radians
        and amplitude-encoded inputs (B|1, n_amp) (None when the circuit encodes none).

        Gates fed only by ``shared`` slots (one value for every row; row 0 is read) are built
        once and applied as shared matrices. Single-qubit layers that differ per row are applied
        qubit by qubit with elementwise kernels, or, with ``fuse_rows``, fused into the same
        Kronecker blocks as shared layers and applied as batched GEMMs (one matrix per row): the
        path for per-row weights. ``fuse_rows=False`` keeps the results of earlier releases bit
        for bit; the two agree to rounding (a few 1e-15 in complex128).

        Raises QmlreproError when the circuit amplitude-encodes inputs and ``amplitudes`` is None.
        """
        call = Call(angles, amplitudes, cdtype, shared, fuse_rows)
        state = None
        for plan in self.plans:
            state = plan.apply(self, state, call)
        return self._initial(state, call)

    @staticmethod
    def _dense(call: GateCall, angles, shared, cdtype) -> torch.Tensor:
        if call.constant_matrix is not None:
            return call.constant_matrix.to(device=angles.device, dtype=cdtype)
        rows = angles[:1] if shared.issuperset(call.slots) else angles
        matrix = call.spec.matrix([rows[:, s] for s in call.slots])
        if matrix.dim() == 2:
            matrix = matrix.unsqueeze(0)
        return matrix.to(device=angles.device, dtype=cdtype)

    def _layer_matrices(self, plan: OneQubitPlan, rows: torch.Tensor, cdtype) -> torch.Tensor:
        """(R, Q, 2, 2): the product of each qubit's gates in this layer."""
        device, r = rows.device, rows.shape[0]
        total = None
        for step in plan.steps:
            mats, positions = [], []
            for group in step:
                k = len(group.positions)
                if group.constant is not None:
                    m = (
                        group.constant.to(device=device, dtype=cdtype)
                        .unsqueeze(0)
                        .expand(r, -1, -1, -1)
                    )
                elif group.spec.n_params == 0:
                    m = group.spec.matrix([]).to(device=device, dtype=cdtype).expand(r, k, 2, 2)
                else:
                    slots = self._on("gslots", group.slots, device)
                    args = [rows.index_select(1, slots[:, j]) for j in range(group.spec.n_params)]
                    m = group.spec.matrix(args).to(cdtype)
                mats.append(m)
                positions.append(group.positions)
            m = torch.cat(mats, dim=1) if len(mats) > 1 else mats[0]
            pos = torch.cat(positions) if len(positions) > 1 else positions[0]
            covers_all = len(pos) == len(plan.qubits) and bool(
                (pos == torch.arange(len(pos))).all()
            )
            if total is None and covers_all:
                total = m.expand(r, -1, -1, -1) if m.shape[0] != r else m
                continue
            if total is None:
                total = torch.eye(2, dtype=cdtype, device=device).expand(r, len(plan.qubits), 2, 2)
            if covers_all:
                total = torch.matmul(m, total)
            else:
                pos = pos.to(device)
                total = total.index_copy(1, pos, torch.matmul(m, total.index_select(1, pos)))
        return total

    @staticmethod
    def _product_from_zero(qubits, mats, n, batch, cdtype, device) -> torch.Tensor:
        e0 = _ket_zero(cdtype, device)
        where = {q: i for i, q in enumerate(qubits)}
        columns = [mats[:, where[q], :, 0] if q in where else e0 for q in range(n)]
        state = kernels.product_state(columns)
        return state.expand(batch, -1) if state.shape[0] == 1 else state

    def _apply_layer(
        self, state, qubits: list[int], mats: torch.Tensor, n: int, fuse_rows: bool
    ) -> torch.Tensor:
        if mats.shape[0] != 1 and not fuse_rows:
            for i, q in enumerate(qubits):
                state = kernels.apply_one_qubit_rows(state, mats[:, i], q, n)
            return state
        where = {q: i for i, q in enumerate(qubits)}
        identity = torch.eye(2, dtype=state.dtype, device=state.device).unsqueeze(0)
        lo = 0
        while lo < len(qubits):
            start, hi = qubits[lo], lo
            while hi + 1 < len(qubits) and qubits[hi + 1] - start < self.fuse_qubits:
                hi += 1
            stop = qubits[hi] + 1
            block = kernels.kron_matrices(
                [mats[:, where[q]] if q in where else identity for q in range(start, stop)]
            )
            state = kernels.apply_block(state, block, start, stop - start, n)
            lo = hi + 1
        return state

    def _initial(self, state: torch.Tensor | None, call: Call) -> torch.Tensor:
        """``state``, or the initial state (|0...0>, or the amplitude-encoded product) before
        the first gate that needs a full statevector."""
        if state is not None:
            return state
        batch, amplitudes = call.angles.shape[0], call.amplitudes
        cdtype, device = call.cdtype, call.angles.device
        n = self.program.num_qubits
        if not self.program.encodings:
            return kernels.zero_state(batch, n, cdtype, device)
        if amplitudes is None:
            raise QmlreproError("this circuit amplitude-encodes its inputs: pass inputs")
        registers: dict[int, torch.Tensor] = {}
        for qubits, start in self.program.encodings:
            if qubits != list(range(qubits[0], qubits[0] + len(qubits))):
                raise QmlreproError("amplitude encoding needs consecutive ascending qubits")
            chunk = amplitudes[:, start : start + 2 ** len(qubits)]
            norm = chunk.norm(dim=1, keepdim=True)
            if not bool(norm.all()):  # a NaN state otherwise
                require_nonzero(norm.detach().squeeze(1).cpu().numpy(), start, chunk.shape[1])
            registers[qubits[0]] = (chunk / norm).to(cdtype)
        e0 = _ket_zero(cdtype, device)
        columns, q = [], 0
        while q < n:
            reg = registers.get(q, e0)
            columns.append(reg)
            q += reg.shape[1].bit_length() - 1
        state = kernels.product_state(columns)
        return state.expand(batch, -1) if state.shape[0] == 1 else state
