"""Gate-level Qiskit constructions of the paper's building blocks, each a block-encoding.

Convention: a :class:`Block` is a circuit on ``data + ancilla`` qubits (data first, so in Qiskit's
little-endian order the data index is the low bits) with ``alpha``: the ancilla-all-zero block of
its unitary times ``alpha`` is the encoded matrix, ``alpha * (<0|_anc x I) U (|0>_anc x I) = A``.
A vector encoding (VE) of |v> is a block whose first column is ``v / alpha``.

Image vectors are flattened channel-major, row-major: index = (c * H + r) * W + col, so column
bits are the lowest data qubits, then row bits, then channel bits.
"""

import math
from dataclasses import dataclass

import numpy as np
from qiskit import QuantumCircuit, QuantumRegister
from qiskit.circuit.library import DiagonalGate, QFTGate, StatePreparation, UCGate, UnitaryGate
from qiskit.quantum_info import Statevector


@dataclass
class Block:
    circuit: QuantumCircuit
    n_data: int
    alpha: float = 1.0

    @property
    def n_ancilla(self) -> int:
        return self.circuit.num_qubits - self.n_data

    def matrix(self) -> np.ndarray:
        """The encoded matrix: alpha times the ancilla-zero block of the circuit's unitary, one
        exact statevector per data column (a dense Operator of 11+ qubits takes minutes)."""
        dim = 2**self.n_data
        columns = [
            Statevector.from_int(j, 2**self.circuit.num_qubits).evolve(self.circuit).data[:dim]
            for j in range(dim)
        ]
        return self.alpha * np.stack(columns, axis=1)


def cyclic_shift(n: int, step: int = 1) -> QuantumCircuit:
    """S^step |j> = |j + step mod 2^n>: diagonal phases between a QFT and its inverse (the QFT
    is where the controlled phases are)."""
    qc = QuantumCircuit(n, name=f"S^{step}")
    qc.append(QFTGate(n), range(n))
    for q in range(n):
        qc.p(2 * math.pi * step * 2**q / 2**n, q)
    qc.append(QFTGate(n).inverse(), range(n))
    return qc


def non_wrapping_shift(n: int, step: int) -> Block:
    """T_step = sum_{0 <= r, r + step < N} |r><r + step| (zero padding at the border), as
    (x shifted by step)[r] = x[r + step]; PyTorch's cross-correlation uses positive steps.

    T = S^(-step) P with P the projector on the indices that do not wrap; P = (I + R) / 2 with R
    the reflection that flips their complement: an LCU of two unitaries with weights 1/2 and one
    ancilla, exact with alpha = 1 (so no amplification is needed)."""
    size = 2**n
    keep = [0 <= j - step < size for j in range(size)]  # columns j = r + step that survive
    data, anc = QuantumRegister(n, "d"), QuantumRegister(1, "a")
    qc = QuantumCircuit(data, anc, name=f"T{step:+d}")
    if all(keep):
        qc.compose(cyclic_shift(n, -step), data, inplace=True)
        return Block(qc, n)
    reflection = DiagonalGate([1.0 if k else -1.0 for k in keep])
    qc.h(anc)
    qc.append(reflection.control(1), [anc[0], *data])
    qc.h(anc)
    qc.compose(cyclic_shift(n, -step), data, inplace=True)
    return Block(qc, n)


def shift_matrix(size: int, step: int) -> np.ndarray:
    out = np.zeros((size, size))
    for r in range(size):
        if 0 <= r + step < size:
            out[r, r + step] = 1.0
    return out


def unitary_dilation(matrix: np.ndarray) -> tuple[np.ndarray, float]:
    """[[A, sqrt(I - A A^T)], [sqrt(I - A^T A), -A^T]] for A = M / ||M||_2: a one-ancilla
    block-encoding of a square real matrix M with alpha = ||M||_2."""
    norm = float(np.linalg.norm(matrix, 2))
    if norm == 0:
        return np.eye(2 * len(matrix)), 1.0
    a = matrix / norm

    def sqrt_psd(m: np.ndarray) -> np.ndarray:
        w, v = np.linalg.eigh((m + m.T) / 2)
        return (v * np.sqrt(np.clip(w, 0, None))) @ v.T

    top = np.hstack([a, sqrt_psd(np.eye(len(a)) - a @ a.T)])
    bottom = np.hstack([sqrt_psd(np.eye(len(a)) - a.T @ a), -a.T])
    return np.vstack([top, bottom]), norm


def conv_matrix(kernel: np.ndarray, side: int) -> np.ndarray:
    """The dense operator of PyTorch's conv2d (cross-correlation, stride 1, zero 'same' padding,
    odd kernel) on images (C, side, side) flattened channel-major."""
    c_out, c_in, kh, kw = kernel.shape
    out = np.zeros((c_out * side * side, c_in * side * side))
    for dr in range(kh):
        for dc in range(kw):
            spatial = np.kron(shift_matrix(side, dr - kh // 2), shift_matrix(side, dc - kw // 2))
            out += np.kron(kernel[:, :, dr, dc], spatial)
    return out


def _indexed_shift(
    qc: QuantumCircuit, data: QuantumRegister, anc, index: QuantumRegister, steps: list[int]
) -> None:
    """Apply T_{steps[t]} to ``data`` for index state t (identity on unused index states).

    Both factors of T = S^(-step) P are made index-controlled without controlling big gates:
    the projector's reflection is one diagonal on (data, index, ancilla) between Hadamards on
    the ancilla, and the cyclic shift conjugates an index-dependent diagonal by one QFT."""
    size, n_index = 2 ** len(data), len(index)
    padded = steps + [0] * (2**n_index - len(steps))
    # qubit order of the diagonals: data (low bits), index, then the ancilla (high bit)
    reflect = []
    for a in (0, 1):
        for t in range(2**n_index):
            for j in range(size):
                wraps = not 0 <= j - padded[t] < size
                reflect.append(-1.0 if a and wraps else 1.0)
    qc.h(anc)
    qc.append(DiagonalGate(reflect), [*data, *index, anc])
    qc.h(anc)
    phases = [
        np.exp(-2j * math.pi * padded[t] * k / size) for t in range(2**n_index) for k in range(size)
    ]
    qc.append(QFTGate(len(data)), data)
    qc.append(DiagonalGate(phases), [*data, *index])
    qc.append(QFTGate(len(data)).inverse(), data)


def conv_block_encoding(kernel: np.ndarray, n_side: int) -> Block:
    """Block-encoding of the multi-filter 2D convolution C = sum_t M_t x T_dr x T_dc by LCU.

    One term t per kernel offset (dr, dc): M_t = kernel[:, :, dr, dc] on the channels (unitary
    dilation, one ancilla) and the non-wrapping row / column shifts (one ancilla each). PREP
    loads sqrt(||M_t|| / sum) on an index register; SELECT applies term t for index t, as a
    multiplexer on the channel ancilla and index-dependent diagonals around QFTs for the
    shifts; the ancillas are shared by the terms. alpha = sum_t ||M_t||_2 (the paper's
    construction reaches C / (2 ||C||_2) with more work; the report shows both)."""
    c_out, c_in, kh, kw = kernel.shape
    if c_out != c_in or c_in & (c_in - 1) or kh % 2 == 0 or kw % 2 == 0:
        raise ValueError("kernel must be (C, C, odd, odd) with C a power of two")
    n_chan = int(math.log2(c_in))
    terms = [(dr, dc) for dr in range(kh) for dc in range(kw)]
    weights = np.array([np.linalg.norm(kernel[:, :, dr, dc], 2) for dr, dc in terms])
    if not weights.sum() > 0:
        raise ValueError("the kernel is all zeros")
    n_index = max(1, math.ceil(math.log2(len(terms))))
    cols, rows = QuantumRegister(n_side, "col"), QuantumRegister(n_side, "row")
    chan = [QuantumRegister(n_chan, "chan")] if n_chan else []
    index = QuantumRegister(n_index, "index")
    a_chan, a_row, a_col = (QuantumRegister(1, name) for name in ("a_chan", "a_row", "a_col"))
    qc = QuantumCircuit(cols, rows, *chan, index, a_chan, a_row, a_col, name="conv")
    amplitudes = np.zeros(2**n_index)
    amplitudes[: len(terms)] = np.sqrt(weights / weights.sum())
    prep = StatePreparation(amplitudes)
    qc.append(prep, index)
    dilations = [unitary_dilation(kernel[:, :, dr, dc])[0] for dr, dc in terms]
    dilations += [np.eye(2 * c_in)] * (2**n_index - len(terms))
    if n_chan == 0:
        qc.append(UCGate(dilations), [a_chan[0], *index])
    else:  # a multiplexed unitary: block-diagonal over the index (Qiskit synthesises it)
        multiplexer = np.zeros((len(dilations) * 2 * c_in,) * 2)
        for t, dilation in enumerate(dilations):
            multiplexer[t * 2 * c_in : (t + 1) * 2 * c_in, t * 2 * c_in : (t + 1) * 2 * c_in] = (
                dilation
            )
        qc.append(UnitaryGate(multiplexer), [*chan[0], a_chan[0], *index])
    _indexed_shift(qc, rows, a_row[0], index, [dr - kh // 2 for dr, _ in terms])
    _indexed_shift(qc, cols, a_col[0], index, [dc - kw // 2 for _, dc in terms])
    qc.append(prep.inverse(), index)
    return Block(qc, 2 * n_side + n_chan, alpha=float(weights.sum()))


def state_preparation(vector: np.ndarray) -> Block:
    """Exact VE of a real vector with alpha = ||v|| (no ancilla)."""
    norm = float(np.linalg.norm(vector))
    n = int(math.log2(len(vector)))
    qc = QuantumCircuit(n, name="prep")
    qc.append(StatePreparation(np.asarray(vector, dtype=float) / norm), range(n))
    return Block(qc, n, alpha=norm)


def apply_to_vector(matrix_block: Block, vector_block: Block) -> Block:
    """VE of A v from a block-encoding of A and a VE of v: ancillas add, alphas multiply."""
    n = matrix_block.n_data
    if vector_block.n_data != n:
        raise ValueError("data registers differ")
    a_v, a_m = vector_block.n_ancilla, matrix_block.n_ancilla
    qc = QuantumCircuit(n + a_v + a_m, name="Av")
    data = list(range(n))
    qc.compose(vector_block.circuit, [*data, *range(n, n + a_v)], inplace=True)
    qc.compose(matrix_block.circuit, [*data, *range(n + a_v, n + a_v + a_m)], inplace=True)
    return Block(qc, n, matrix_block.alpha * vector_block.alpha)


def diagonal_block_encoding(ve: Block) -> Block:
    """Block-encoding of diag(v / alpha) from a VE U of a real v: copy the data index into a
    fresh register with CNOTs, then U^dagger on that register and U's ancillas; projecting
    both on zero leaves <0|U^dagger|k> = v_k / alpha on the diagonal (Rattew-Rebentrost).
    alpha of the result is 1: the entries stay v_k / alpha of the VE."""
    n, a = ve.n_data, ve.n_ancilla
    qc = QuantumCircuit(n + n + a, name="diag")
    data, copy, anc = list(range(n)), list(range(n, 2 * n)), list(range(2 * n, 2 * n + a))
    for q in range(n):
        qc.cx(data[q], copy[q])
    qc.compose(ve.circuit.inverse(), [*copy, *anc], inplace=True)
    return Block(qc, n, 1.0)


def lcu_sum(first: Block, second: Block, c_first: float, c_second: float) -> Block:
    """VE of c_first * a + c_second * b from VEs of a and b, one extra ancilla; alpha =
    c_first * alpha_a + c_second * alpha_b (c >= 0)."""
    if first.n_data != second.n_data:
        raise ValueError("data registers differ")
    w_first, w_second = c_first * first.alpha, c_second * second.alpha
    total = w_first + w_second
    n = first.n_data
    a = max(first.n_ancilla, second.n_ancilla)
    qc = QuantumCircuit(n + a + 1, name="lcu")
    sel = n + a
    theta = 2 * math.atan2(math.sqrt(w_second), math.sqrt(w_first))
    qc.ry(theta, sel)
    for block, state in ((first, 0), (second, 1)):
        qubits = [*range(n), *range(n, n + block.n_ancilla)]
        qc.append(block.circuit.to_gate().control(1, ctrl_state=state), [sel, *qubits])
    qc.ry(-theta, sel)
    return Block(qc, n, total)
