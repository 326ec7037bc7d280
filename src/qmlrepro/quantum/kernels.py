"""Batched statevector kernels: pure functions of a state tensor (B, 2^n), no model logic.

Qubit q is bit q of the basis index (Qiskit's little-endian order). Matrices carry a leading batch
dimension that is 1 (shared by every row) or B (one per row).
"""

import torch


def basis_bits(n: int, device: torch.device | None = None) -> torch.Tensor:
    """(n, 2^n) float: row q holds bit q of every basis index."""
    index = torch.arange(2**n, device=device)
    return ((index.unsqueeze(0) >> torch.arange(n, device=device).unsqueeze(1)) & 1).float()


def zero_state(batch: int, n: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    state = torch.zeros(batch, 2**n, dtype=dtype, device=device)
    state[:, 0] = 1
    return state


def product_state(columns: list[torch.Tensor]) -> torch.Tensor:
    """Kronecker product of per-qubit 2-vectors (B|1, 2), qubit 0 first (least significant)."""
    state = columns[0]
    for col in columns[1:]:
        state = (col.unsqueeze(-1) * state.unsqueeze(-2)).flatten(-2)
    return state


def kron_matrices(mats: list[torch.Tensor]) -> torch.Tensor:
    """Kronecker product of (B|1, 2, 2) matrices for consecutive qubits lo..hi (lo first)."""
    out = mats[0]
    for m in mats[1:]:
        b = torch.broadcast_shapes(out.shape[:1], m.shape[:1])[0]
        d1, d2 = out.shape[-1], m.shape[-1]
        out = (m[:, :, None, :, None] * out[:, None, :, None, :]).reshape(b, d1 * d2, d1 * d2)
    return out


def apply_block(
    state: torch.Tensor, matrix: torch.Tensor, lo: int, width: int, n: int
) -> torch.Tensor:
    """Apply a (B|1, 2^w, 2^w) matrix to the contiguous qubits lo .. lo+w-1 of a (B, 2^n) state.

    A shared (1, 2^w, 2^w) matrix is one GEMM over every row; per-row (B, 2^w, 2^w) matrices are
    one batched GEMM with B matrices (no broadcasting of the matrix over the other qubits)."""
    if matrix.shape[0] != 1:
        return _apply_block_rows(state, matrix, lo, width, n)
    b, dim = state.shape[0], 2**width
    mat_t = matrix[0].transpose(0, 1)
    if lo == 0:
        return torch.matmul(state.reshape(-1, dim), mat_t).reshape(b, 2**n)
    view = state.reshape(b, 2 ** (n - lo - width), dim, 2**lo).transpose(-1, -2)
    out = torch.matmul(view, mat_t)
    return out.transpose(-1, -2).reshape(b, 2**n)


def _apply_block_rows(
    state: torch.Tensor, matrix: torch.Tensor, lo: int, width: int, n: int
) -> torch.Tensor:
    """Row b's (2^w, 2^w) matrix on row b's state, as a batched matmul over the B rows. A block
    at either end of the index needs no copy; a middle block moves its qubits to the front."""
    b, dim, low, high = state.shape[0], 2**width, 2**lo, 2 ** (n - lo - width)
    if low == 1:
        return torch.matmul(state.reshape(b, high, dim), matrix.transpose(-1, -2)).reshape(b, -1)
    if high == 1:
        return torch.matmul(matrix, state.reshape(b, dim, low)).reshape(b, -1)
    view = state.reshape(b, high, dim, low).transpose(1, 2).reshape(b, dim, high * low)
    out = torch.matmul(matrix, view).reshape(b, dim, high, low)
    return out.transpose(1, 2).reshape(b, -1)


def apply_one_qubit_rows(
    state: torch.Tensor, matrix: torch.Tensor, qubit: int, n: int
) -> torch.Tensor:
    """Apply per-row (B, 2, 2) matrices to one qubit elementwise (memory-bound, no GEMM)."""
    b = state.shape[0]
    view = state.reshape(b, 2 ** (n - qubit - 1), 2, 2**qubit)
    v0, v1 = view[:, :, 0, :], view[:, :, 1, :]
    m = matrix.reshape(-1, 4, 1, 1)
    out0 = m[:, 0] * v0 + m[:, 1] * v1
    out1 = m[:, 2] * v0 + m[:, 3] * v1
    return torch.stack([out0, out1], dim=2).reshape(b, 2**n)


def apply_matrix(
    state: torch.Tensor, matrix: torch.Tensor, qubits: list[int], n: int
) -> torch.Tensor:
    """Apply a (B|1, 2^k, 2^k) matrix on arbitrary qubits (qubits[0] = low bit of its index)."""
    b, k = state.shape[0], len(qubits)
    psi = state.reshape((b,) + (2,) * n)
    axes = [n - q for q in reversed(qubits)]  # tensor axis of each qubit, high bit first
    psi = torch.movedim(psi, axes, list(range(n - k + 1, n + 1)))
    flat = psi.reshape(b, -1, 2**k)
    mat_t = matrix.transpose(-1, -2)
    out = torch.matmul(flat, mat_t if matrix.shape[0] > 1 else mat_t[0])
    out = out.reshape(psi.shape)
    return torch.movedim(out, list(range(n - k + 1, n + 1)), axes).reshape(b, 2**n)


def apply_phase(state: torch.Tensor, phase: torch.Tensor) -> torch.Tensor:
    """Multiply by exp(i * phase), phase (B|1, 2^n) real."""
    return state * torch.polar(torch.ones_like(phase), phase).to(state.dtype)


class _Permute(torch.autograd.Function):
    """Gather by a permutation; its gradient is the gather by the inverse permutation (cheaper
    than index_select's scatter-add backward). Forward and ``setup_context`` are separate and the
    vmap rule is generated, so ``torch.func`` transforms (vmap, grad, jacrev) compose with it."""

    generate_vmap_rule = True

    @staticmethod
    def forward(state, source, inverse):
        return state.index_select(1, source)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[2])

    @staticmethod
    def backward(ctx, grad):
        (inverse,) = ctx.saved_tensors
        return grad.index_select(1, inverse), None, None


def apply_permutation(
    state: torch.Tensor, source: torch.Tensor, inverse: torch.Tensor
) -> torch.Tensor:
    """``state[:, source]``, with ``inverse = argsort(source)`` for the backward pass."""
    return _Permute.apply(state, source, inverse)
