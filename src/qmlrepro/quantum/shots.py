"""Finite-shot estimates and parameter-shift gradients estimated with the same shots.

This is how the qssl paper trained with "100 shots": every forward value is an average over S
measurement samples, and every gradient entry combines S-shot estimates of shifted circuits.
"""

import math

import torch

from qmlrepro.errors import QmlreproError
from qmlrepro.quantum import kernels
from qmlrepro.quantum.gates import FOUR_TERM, TWO_TERM
from qmlrepro.quantum.observables import parity
from qmlrepro.quantum.readout import COMPLEX, marginal

_C_PLUS = (math.sqrt(2) + 1) / (4 * math.sqrt(2))
_C_MINUS = (math.sqrt(2) - 1) / (4 * math.sqrt(2))
# (shift, coefficient) pairs: d f / d theta = sum_r c_r f(theta + s_r)
SHIFT_RULES = {
    TWO_TERM: [(math.pi / 2, 0.5), (-math.pi / 2, -0.5)],
    FOUR_TERM: [
        (math.pi / 2, _C_PLUS),
        (-math.pi / 2, -_C_PLUS),
        (3 * math.pi / 2, -_C_MINUS),
        (-3 * math.pi / 2, _C_MINUS),
    ],
}
MAX_ELEMENTS = 1 << 24  # rows x amplitudes simulated at once during the backward pass

_H = torch.tensor([[1, 1], [1, -1]], dtype=torch.complex128) / math.sqrt(2)
_HSDG = _H @ torch.tensor([[1, 0], [0, -1j]], dtype=torch.complex128)


def _sample_mean(
    probs: torch.Tensor, values: torch.Tensor, shots: int, generator: torch.Generator
) -> torch.Tensor:
    """Mean of ``values`` (2^n, k) over ``shots`` samples of each row of probs (B, 2^n)."""
    draws = torch.multinomial(probs.clamp_min(0), shots, replacement=True, generator=generator)
    return values[draws].mean(dim=1)


def estimate(module, angles: torch.Tensor, amplitudes: torch.Tensor | None) -> torch.Tensor:
    """One S-shot estimate per row of the module's readout (no gradient). The samples come from
    ``module.shot_generator(device)``: a fresh, explicitly seeded stream per call."""
    shots, n = module.shots, module.num_qubits
    state = module.simulator.run(angles, amplitudes, COMPLEX[module.dtype])
    probs = (state.real**2 + state.imag**2).to(module.dtype)
    generator = module.shot_generator(state.device)
    if module.terms is None:
        probs_m = marginal(probs, module.measured, n)
        counts = torch.multinomial(
            probs_m.clamp_min(0), shots, replacement=True, generator=generator
        )
        return torch.nn.functional.one_hot(counts, probs_m.shape[1]).to(probs.dtype).mean(dim=1)
    index = torch.arange(2**n, device=state.device)
    columns = []
    for terms in module.terms:
        total = torch.zeros(state.shape[0], dtype=probs.dtype, device=state.device)
        for term in terms:
            if term.diagonal:
                sign = parity(index, term.z_mask).to(probs.dtype).unsqueeze(1)
                sampled = _sample_mean(probs, sign, shots, generator)
                total = total + term.coeff * sampled.squeeze(1)
                continue
            rotated = state
            for q in range(n):
                if term.x_mask >> q & 1:
                    gate = _HSDG if term.z_mask >> q & 1 else _H
                    rotated = kernels.apply_matrix(
                        rotated, gate.to(state.dtype).unsqueeze(0), [q], n
                    )
            rotated_probs = (rotated.real**2 + rotated.imag**2).to(probs.dtype)
            sign = parity(index, term.x_mask | term.z_mask).to(probs.dtype).unsqueeze(1)
            sampled = _sample_mean(rotated_probs, sign, shots, generator)
            total = total + term.coeff * sampled.squeeze(1)
        columns.append(total)
    return torch.stack(columns, dim=1)


class _ShotReadout(torch.autograd.Function):
    @staticmethod
    def forward(ctx, angles, module, amplitudes, active):
        ctx.module, ctx.amplitudes, ctx.active = module, amplitudes, active
        ctx.save_for_backward(angles)
        with torch.no_grad():
            return estimate(module, angles.detach(), amplitudes)

    @staticmethod
    def backward(ctx, grad_out):
        (angles,) = ctx.saved_tensors
        module, amplitudes = ctx.module, ctx.amplitudes
        grad = torch.zeros_like(angles)
        jobs = []  # (slot, coefficient, shifted angles)
        for slot in ctx.active:
            rule = module.program.slots[slot].shift_rule
            if rule is None:
                raise QmlreproError(
                    f"angle slot {slot} has no parameter-shift rule; train this circuit exactly"
                )
            for shift, coeff in SHIFT_RULES[rule]:
                shifted = angles.detach().clone()
                shifted[:, slot] += shift
                jobs.append((slot, coeff, shifted))
        if not jobs:
            return grad, None, None, None
        batch = angles.shape[0]
        per_chunk = max(1, MAX_ELEMENTS // (batch * 2**module.num_qubits))
        with torch.no_grad():
            for start in range(0, len(jobs), per_chunk):
                chunk = jobs[start : start + per_chunk]
                stacked = torch.cat([j[2] for j in chunk])
                amps = amplitudes.repeat(len(chunk), 1) if amplitudes is not None else None
                values = estimate(module, stacked, amps).view(len(chunk), batch, -1)
                for (slot, coeff, _), value in zip(chunk, values, strict=True):
                    grad[:, slot] += coeff * (value * grad_out).sum(-1)
        return grad, None, None, None


def shot_estimate(
    module,
    angles: torch.Tensor,
    amplitudes: torch.Tensor | None,
    weights_trainable: bool | None = None,
) -> torch.Tensor:
    """S-shot estimates (B, n_out) with parameter-shift gradients wrt ``angles`` (B, A).
    ``weights_trainable`` says whether the weights behind ``angles`` need gradients (default:
    the module's own parameter does; per-row weights pass their own flag)."""
    if amplitudes is not None and amplitudes.requires_grad:
        raise QmlreproError(
            "amplitude-encoded inputs have no parameter-shift gradient; train exactly"
        )
    if not angles.requires_grad:
        with torch.no_grad():
            return estimate(module, angles, amplitudes)
    trainable = set()
    if module.weights.requires_grad if weights_trainable is None else weights_trainable:
        trainable |= {p.name for p in module.weight_params}
    trainable |= {p.name for p in module.input_params}  # inputs may carry gradients from below
    active = [i for i, s in enumerate(module.program.slots) if s.depends & trainable]
    return _ShotReadout.apply(angles, module, amplitudes, active)
