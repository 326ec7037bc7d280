"""The gate set of the torch executor: each gate's kind, matrix, phase pattern or permutation, and
its parameter-shift rule.

Matrices use Qiskit's convention: on ``qubits = [q0, q1, ...]`` the matrix index has q0 as its least
significant bit, and controls come first in ``qubits``.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

# Kinds drive fusion: consecutive gates of one kind become one kernel call.
ONE_QUBIT, DIAGONAL, PERMUTATION, DENSE = "1q", "diag", "perm", "dense"

# Parameter-shift rules by the spectrum of the gate generator. Rotations exp(-i t P / 2) have
# eigenvalue gap 1: two terms at +-pi/2. Controlled rotations have gaps {1/2, 1}: four terms
# (Anselmetti et al. 2021). Phase gates p/cp/mcp have gap 1 only (|1..1><1..1| has eigenvalues
# {0, 1}), so the two-term rule is exact for them.
TWO_TERM, FOUR_TERM = "two_term", "four_term"

MatrixFn = Callable[[list[torch.Tensor]], torch.Tensor]  # angles [S] -> S + (2^k, 2^k), or (d, d)
PatternFn = Callable[[list[torch.Tensor]], torch.Tensor]  # bits of the gate's qubits -> pattern


@dataclass(frozen=True)
class GateSpec:
    """``matrix`` for ONE_QUBIT/DENSE; for DIAGONAL the phase on each basis state is
    ``pattern(bits) * (angle if phase_scale is None else phase_scale)``."""

    kind: str
    n_params: int = 0
    matrix: MatrixFn | None = None
    pattern: PatternFn | None = None
    phase_scale: float | None = None
    permute: Callable[[torch.Tensor, list[int]], torch.Tensor] | None = None
    shift_rule: str | None = None


def _m(rows: list[list[complex]]) -> MatrixFn:
    const = torch.tensor(rows, dtype=torch.complex128)
    return lambda angles: const


def _complex(real: torch.Tensor) -> torch.Tensor:
    return torch.complex(real, torch.zeros_like(real))


def _pack(entries: list[torch.Tensor]) -> torch.Tensor:
    """Four same-shape complex tensors -> shape + (2, 2)."""
    return torch.stack(entries, -1).reshape(*entries[0].shape, 2, 2)


def _rx(a: list[torch.Tensor]) -> torch.Tensor:
    c, s = torch.cos(a[0] / 2), torch.sin(a[0] / 2)
    z = torch.zeros_like(c)
    return _pack([_complex(c), torch.complex(z, -s), torch.complex(z, -s), _complex(c)])


def _ry(a: list[torch.Tensor]) -> torch.Tensor:
    c, s = torch.cos(a[0] / 2), torch.sin(a[0] / 2)
    return _complex(torch.stack([c, -s, s, c], -1).reshape(*c.shape, 2, 2))


def _rz(a: list[torch.Tensor]) -> torch.Tensor:
    half, zero = a[0] / 2, torch.zeros_like(a[0])
    one = torch.ones_like(half)
    return _pack([torch.polar(one, -half), _complex(zero), _complex(zero), torch.polar(one, half)])


def _p(a: list[torch.Tensor]) -> torch.Tensor:
    zero, one = torch.zeros_like(a[0]), torch.ones_like(a[0])
    return _pack([_complex(one), _complex(zero), _complex(zero), torch.polar(one, a[0])])


def _u(a: list[torch.Tensor]) -> torch.Tensor:
    theta, phi, lam = a
    c, s = torch.cos(theta / 2), torch.sin(theta / 2)
    one = torch.ones_like(c)
    e_l, e_p, e_pl = torch.polar(one, lam), torch.polar(one, phi), torch.polar(one, phi + lam)
    return _pack([_complex(c), -e_l * s, e_p * s, e_pl * c])


def controlled(base: MatrixFn, n_controls: int = 1) -> MatrixFn:
    """Controlled-U with the controls as the low bits of the matrix index (Qiskit's order).

    Built by one gather from U's four entries, 0 and 1 (no in-place writes, so ``torch.func.vmap``
    can batch it, and the entries are U's own values, bit for bit)."""
    dim = 2 ** (n_controls + 1)
    on = [(1 << n_controls) - 1 + (t << n_controls) for t in (0, 1)]  # controls all 1, target t
    source = torch.where(torch.eye(dim, dtype=torch.bool), 5, 4)  # index 5: one, 4: zero
    for i in (0, 1):
        for j in (0, 1):
            source[on[i], on[j]] = 2 * i + j
    source = source.flatten()

    def matrix(angles: list[torch.Tensor]) -> torch.Tensor:
        u = base(angles)
        entries = u.flatten(-2)
        zero, one = torch.zeros_like(entries[..., :1]), torch.ones_like(entries[..., :1])
        table = torch.cat([entries, zero, one], dim=-1)
        return table.index_select(-1, source.to(u.device)).unflatten(-1, (dim, dim))

    return matrix


def _bits_product(bits: list[torch.Tensor]) -> torch.Tensor:
    out = bits[0]
    for b in bits[1:]:
        out = out * b
    return out


def _flip(target: int, controls: list[int]):
    def permute(index: torch.Tensor, qubits: list[int]) -> torch.Tensor:
        q = [qubits[i] for i in controls] if controls else []
        t = qubits[target]
        active = torch.ones_like(index, dtype=torch.bool)
        for c in q:
            active &= ((index >> c) & 1).bool()
        return torch.where(active, index ^ (1 << t), index)

    return permute


def _swap(controlled_by: bool):
    def permute(index: torch.Tensor, qubits: list[int]) -> torch.Tensor:
        a, b = (qubits[1], qubits[2]) if controlled_by else (qubits[0], qubits[1])
        bit_a, bit_b = (index >> a) & 1, (index >> b) & 1
        swapped = index ^ ((bit_a ^ bit_b) << a) ^ ((bit_a ^ bit_b) << b)
        if not controlled_by:
            return swapped
        return torch.where(((index >> qubits[0]) & 1).bool(), swapped, index)

    return permute


SQ = 1 / math.sqrt(2)
GATES: dict[str, GateSpec] = {
    # single-qubit
    "id": GateSpec(ONE_QUBIT, matrix=_m([[1, 0], [0, 1]])),
    "h": GateSpec(ONE_QUBIT, matrix=_m([[SQ, SQ], [SQ, -SQ]])),
    "x": GateSpec(ONE_QUBIT, matrix=_m([[0, 1], [1, 0]])),
    "y": GateSpec(ONE_QUBIT, matrix=_m([[0, -1j], [1j, 0]])),
    "z": GateSpec(ONE_QUBIT, matrix=_m([[1, 0], [0, -1]])),
    "s": GateSpec(ONE_QUBIT, matrix=_m([[1, 0], [0, 1j]])),
    "sdg": GateSpec(ONE_QUBIT, matrix=_m([[1, 0], [0, -1j]])),
    "t": GateSpec(ONE_QUBIT, matrix=_m([[1, 0], [0, complex(SQ, SQ)]])),
    "tdg": GateSpec(ONE_QUBIT, matrix=_m([[1, 0], [0, complex(SQ, -SQ)]])),
    "sx": GateSpec(
        ONE_QUBIT, matrix=_m([[(1 + 1j) / 2, (1 - 1j) / 2], [(1 - 1j) / 2, (1 + 1j) / 2]])
    ),
    "sxdg": GateSpec(
        ONE_QUBIT, matrix=_m([[(1 - 1j) / 2, (1 + 1j) / 2], [(1 + 1j) / 2, (1 - 1j) / 2]])
    ),
    "rx": GateSpec(ONE_QUBIT, 1, matrix=_rx, shift_rule=TWO_TERM),
    "ry": GateSpec(ONE_QUBIT, 1, matrix=_ry, shift_rule=TWO_TERM),
    "rz": GateSpec(ONE_QUBIT, 1, matrix=_rz, shift_rule=TWO_TERM),
    "p": GateSpec(ONE_QUBIT, 1, matrix=_p, shift_rule=TWO_TERM),
    "u": GateSpec(ONE_QUBIT, 3, matrix=_u, shift_rule=TWO_TERM),
    # diagonal multi-qubit: phase = pattern(bits of the gate's qubits) * (angle or phase_scale)
    "cz": GateSpec(DIAGONAL, pattern=_bits_product, phase_scale=math.pi),
    "ccz": GateSpec(DIAGONAL, pattern=_bits_product, phase_scale=math.pi),
    "cp": GateSpec(DIAGONAL, 1, pattern=_bits_product, shift_rule=TWO_TERM),
    "mcphase": GateSpec(DIAGONAL, 1, pattern=_bits_product, shift_rule=TWO_TERM),
    "crz": GateSpec(DIAGONAL, 1, pattern=lambda b: b[0] * (b[1] - 0.5), shift_rule=FOUR_TERM),
    "rzz": GateSpec(
        DIAGONAL, 1, pattern=lambda b: -(1 - 2 * b[0]) * (1 - 2 * b[1]) / 2, shift_rule=TWO_TERM
    ),
    # permutations of the computational basis
    "cx": GateSpec(PERMUTATION, permute=_flip(1, [0])),
    "ccx": GateSpec(PERMUTATION, permute=_flip(2, [0, 1])),
    "swap": GateSpec(PERMUTATION, permute=_swap(False)),
    "cswap": GateSpec(PERMUTATION, permute=_swap(True)),
    # dense multi-qubit
    "crx": GateSpec(DENSE, 1, matrix=controlled(_rx), shift_rule=FOUR_TERM),
    "cry": GateSpec(DENSE, 1, matrix=controlled(_ry), shift_rule=FOUR_TERM),
    "cy": GateSpec(DENSE, matrix=controlled(_m([[0, -1j], [1j, 0]]))),
    "ch": GateSpec(DENSE, matrix=controlled(_m([[SQ, SQ], [SQ, -SQ]]))),
}
# Single-qubit diagonal gates may also join a diagonal segment (phase on one bit).
ONE_QUBIT_PHASES: dict[str, GateSpec] = {
    "z": GateSpec(DIAGONAL, pattern=_bits_product, phase_scale=math.pi),
    "s": GateSpec(DIAGONAL, pattern=_bits_product, phase_scale=math.pi / 2),
    "sdg": GateSpec(DIAGONAL, pattern=_bits_product, phase_scale=-math.pi / 2),
    "t": GateSpec(DIAGONAL, pattern=_bits_product, phase_scale=math.pi / 4),
    "tdg": GateSpec(DIAGONAL, pattern=_bits_product, phase_scale=-math.pi / 4),
    "p": GateSpec(DIAGONAL, 1, pattern=_bits_product, shift_rule=TWO_TERM),
    "rz": GateSpec(DIAGONAL, 1, pattern=lambda b: b[0] - 0.5, shift_rule=TWO_TERM),
}
X_PERMUTATION = GateSpec(PERMUTATION, permute=lambda index, qubits: index ^ (1 << qubits[0]))
# No effect on measured probabilities. Measurements are not here: only final ones may be dropped
# (program.compile_circuit); a mid-circuit one changes the state and is refused.
IGNORED = {"barrier", "delay", "global_phase"}


def mcx_spec(n_controls: int) -> GateSpec:
    return GateSpec(PERMUTATION, permute=_flip(n_controls, list(range(n_controls))))
