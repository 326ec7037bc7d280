"""The QSVT activation: an odd polynomial of a block-encoded Hermitian matrix, at gate level.

Polynomial: the odd part of the Chebyshev interpolant of f on [-1, 1] (a numerically fitted odd
polynomial of the paper's degree, in place of its Bessel series). Phases: the optimisation
method of Dong, Meng, Whaley & Lin (PRA 103, 042419, 2021), converted exactly to the reflection
convention the circuit uses (the gate-level test compares circuit and polynomial).

Circuit (Gilyen et al. 2019, Martyn et al. 2021): for odd d, U, Pi-phase(phi_d), U^dagger,
Pi-phase(phi_(d-1)), ..., U, Pi-phase(phi_1), where Pi-phase(phi) = exp(i phi (2 Pi - 1)) on the
block's ancillas, applied through a signal qubit; Hadamards on the signal qubit average the
sequences with +phi and -phi, leaving Re P(A) in the block where signal and ancillas are 0.
"""

import math
from collections.abc import Callable

import numpy as np
from numpy.polynomial import chebyshev
from qiskit import QuantumCircuit
from scipy.optimize import least_squares

from qmlrepro.papers.qresnet.primitives import Block


def odd_chebyshev(f: Callable[[np.ndarray], np.ndarray], degree: int) -> np.ndarray:
    """Chebyshev coefficients of the odd part of f's degree-``degree`` interpolant."""
    if degree % 2 == 0:
        raise ValueError(f"QSVT of an odd function needs an odd degree, got {degree}")
    nodes = np.cos(math.pi * (np.arange(4 * degree + 8) + 0.5) / (4 * degree + 8))
    coef = chebyshev.chebfit(nodes, f(nodes), degree)
    coef[0::2] = 0.0
    return coef


def qsp_response(phases: np.ndarray, x: np.ndarray) -> np.ndarray:
    """<0| e^{i phi_1 Z} R(x) e^{i phi_2 Z} R(x) ... e^{i phi_d Z} R(x) |0>, R(x) the reflection
    [[x, sqrt(1 - x^2)], [sqrt(1 - x^2), -x]]: what QSVT does to each singular value x."""
    x = np.asarray(x, dtype=float)
    s = np.sqrt(np.clip(1 - x**2, 0, None))
    a = np.ones_like(x, dtype=complex)
    b = np.zeros_like(x, dtype=complex)
    for phi in phases[::-1]:
        a, b = x * a + s * b, s * a - x * b
        a, b = np.exp(1j * phi) * a, np.exp(-1j * phi) * b
    return a


def wx_response(phases: np.ndarray, x: np.ndarray) -> np.ndarray:
    """<0| e^{i psi_0 Z} W(x) e^{i psi_1 Z} ... W(x) e^{i psi_d Z} |0>, W(x) = e^{i arccos(x) X}:
    the Wx convention in which the symmetric phase-finding problem is posed."""
    x = np.asarray(x, dtype=float)
    s = np.sqrt(np.clip(1 - x**2, 0, None))
    a = np.exp(1j * phases[-1]) * np.ones_like(x, dtype=complex)
    b = np.zeros_like(x, dtype=complex)
    for phi in phases[-2::-1]:
        a, b = x * a + 1j * s * b, 1j * s * a + x * b
        a, b = np.exp(1j * phi) * a, np.exp(-1j * phi) * b
    return a


def qsp_phases(coef: np.ndarray, tolerance: float = 1e-10) -> np.ndarray:
    """Reflection-convention phases whose Re qsp_response is the Chebyshev series ``coef``.

    Dong, Meng, Whaley & Lin (2021): symmetric Wx phases (psi_j = psi_{d-j}) by least squares on
    the positive Chebyshev nodes from (pi/4, 0, ..., 0, pi/4). Then R(x) = -i e^{i pi/4 Z} W(x)
    e^{i pi/4 Z} converts them exactly: phi_1 = psi_0 - pi/4 + gamma, phi_{j+1} = psi_j - pi/2,
    with gamma = d pi/2 - pi/4 + psi_d absorbing the leftover phase of the (0, 0) entry."""
    degree = len(coef) - 1
    grid = np.linspace(-1, 1, 2001)
    if np.abs(chebyshev.chebval(grid, coef)).max() >= 1:
        raise ValueError("QSVT needs |P(x)| < 1 on [-1, 1]; rescale the polynomial")
    free = (degree + 2) // 2
    nodes = np.cos(math.pi * (np.arange(free) + 0.5) / (2 * free))
    target = chebyshev.chebval(nodes, coef)

    def symmetric(half: np.ndarray) -> np.ndarray:
        mirror = half[::-1][1:] if (degree + 1) % 2 else half[::-1]
        return np.concatenate([half, mirror])

    start = np.zeros(free)
    start[0] = math.pi / 4
    fit = least_squares(
        lambda h: wx_response(symmetric(h), nodes).real - target,
        start,
        xtol=1e-15,
        ftol=1e-15,
        gtol=1e-15,
    )
    psi = symmetric(fit.x)
    gamma = degree * math.pi / 2 - math.pi / 4 + psi[-1]
    phases = np.concatenate([[psi[0] - math.pi / 4 + gamma], psi[1:degree] - math.pi / 2])
    error = float(np.abs(qsp_response(phases, grid).real - chebyshev.chebval(grid, coef)).max())
    if error > tolerance:
        raise ValueError(f"phase finding for degree {degree} stopped at error {error:.2e}")
    return phases


def qsvt(block: Block, phases: np.ndarray) -> Block:
    """Block-encoding of Re P(A) for the block-encoded Hermitian A (alpha 1) and odd degree."""
    degree = len(phases)
    if degree % 2 == 0:
        raise ValueError("odd polynomials only (even degree given)")
    if not math.isclose(block.alpha, 1.0):
        raise ValueError("QSVT acts on the block itself: give a block with alpha = 1")
    n, a = block.n_data, block.n_ancilla
    if a == 0:
        raise ValueError("the block needs at least one ancilla")
    qc = QuantumCircuit(n + a + 1, name=f"qsvt{degree}")
    data, anc, signal = list(range(n)), list(range(n, n + a)), n + a
    forward = block.circuit.to_gate(label="U")
    backward = block.circuit.inverse().to_gate(label="U_dg")
    flip = QuantumCircuit(a + 1, name="Pi")
    flip.mcx(list(range(a)), a, ctrl_state=0)
    flip_gate = flip.to_gate()
    qc.h(signal)
    for step, phi in enumerate(phases[::-1]):
        qc.append(forward if step % 2 == 0 else backward, [*data, *anc])
        qc.append(flip_gate, [*anc, signal])
        qc.rz(2 * phi, signal)
        qc.append(flip_gate, [*anc, signal])
    qc.h(signal)
    return Block(qc, n, 1.0)
