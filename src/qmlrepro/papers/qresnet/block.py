"""One residual block normalize(psi + erf(0.8 W psi)) at gate level, and its classical twin.

Circuit: VE of psi (state preparation) -> VE of W psi (convolution block-encoding, alpha_W) ->
diag((W psi) / alpha_W) (copy + uncompute) -> QSVT with the odd polynomial of
erf(0.8 alpha_W x) -> applied to the uniform state (a VE of erf(0.8 W psi) with alpha sqrt(N))
-> LCU sum with the VE of psi (tau = 1/2 after matching the alphas) -> post-selection on every
ancilla at zero = the l2 normalisation (amplitude amplification would reach it in
O(1 / sqrt(success)) rounds; we report the success probability instead of running it).
"""

import math
import time
from dataclasses import dataclass

import numpy as np
from numpy.polynomial import chebyshev
from qiskit.quantum_info import Statevector
from scipy.special import erf

from qmlrepro.papers.qresnet.primitives import (
    apply_to_vector,
    conv_block_encoding,
    conv_matrix,
    diagonal_block_encoding,
    lcu_sum,
    state_preparation,
)
from qmlrepro.papers.qresnet.qsvt import odd_chebyshev, qsp_phases, qsvt

ACTIVATION_SCALE = 0.8  # erf(0.8 x) = erf(4 x / 5), the paper's activation


def activation(x: np.ndarray) -> np.ndarray:
    return erf(ACTIVATION_SCALE * x)


def residual_block(psi: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The classical block: normalize(psi + erf(0.8 W psi))."""
    out = psi + activation(w @ psi)
    return out / np.linalg.norm(out)


def spectrally_normalised(kernel: np.ndarray, side: int) -> np.ndarray:
    """The kernel scaled so its convolution operator has ||W||_2 = 1 (the block's assumption)."""
    return kernel / np.linalg.norm(conv_matrix(kernel, side), 2)


@dataclass
class BlockRun:
    degree: int
    qubits: int
    ancillas: int
    alpha: float  # of the final VE of psi + erf(0.8 W psi)
    alpha_w: float  # of the convolution's block-encoding
    polynomial_error: float  # max |P(x) - erf(0.8 alpha_W x)| on [-1, 1]
    success_probability: float  # all ancillas measured 0
    expected_success: float  # ||psi + P-activation||^2 / alpha^2 from the exact vectors
    fidelity: float  # post-selected output vs the classical block
    seconds: float


def gate_level_block(psi: np.ndarray, kernel: np.ndarray, degree: int) -> BlockRun:
    """Build the whole block as one Qiskit circuit and run it exactly (statevector)."""
    started = time.perf_counter()
    n_side = int(math.log2(round(math.sqrt(len(psi)))))
    side = 2**n_side
    if side * side != len(psi) or kernel.shape[:2] != (1, 1):
        raise ValueError("one channel: psi has side^2 entries, kernel (1, 1, k, k)")
    w = conv_matrix(kernel, side)
    ve_psi = state_preparation(psi)
    ve_w = apply_to_vector(conv_block_encoding(kernel, n_side), ve_psi)
    alpha_w = ve_w.alpha

    def target(x: np.ndarray) -> np.ndarray:
        return activation(alpha_w * x)

    coef = odd_chebyshev(target, degree)
    grid = np.linspace(-1, 1, 4001)
    poly_error = float(np.abs(chebyshev.chebval(grid, coef) - target(grid)).max())
    # a low-degree fit can overshoot 1 (QSVT needs |P| < 1): encode P / scale, give it alpha scale
    scale = max(1.0, 1.001 * float(np.abs(chebyshev.chebval(grid, coef)).max()))
    activated = qsvt(diagonal_block_encoding(ve_w), qsp_phases(coef / scale, tolerance=1e-8))
    activated.alpha = scale
    ve_f = apply_to_vector(activated, state_preparation(np.ones(len(psi))))
    out = lcu_sum(ve_psi, ve_f, 1.0, 1.0)
    state = Statevector.from_int(0, 2**out.circuit.num_qubits).evolve(out.circuit).data
    kept = state[: len(psi)]
    success = float(np.vdot(kept, kept).real)
    classical = residual_block(psi, w)
    fidelity = float(abs(np.vdot(kept / math.sqrt(success), classical)) ** 2)
    emulated = psi + chebyshev.chebval((w @ psi) / alpha_w, coef)
    return BlockRun(
        degree=degree,
        qubits=out.circuit.num_qubits,
        ancillas=out.n_ancilla,
        alpha=out.alpha,
        alpha_w=alpha_w,
        polynomial_error=poly_error,
        success_probability=success,
        expected_success=float(np.linalg.norm(emulated) ** 2 / out.alpha**2),
        fidelity=fidelity,
        seconds=time.perf_counter() - started,
    )
