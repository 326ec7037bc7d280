"""Multi-block networks at operator level: resource tallies of our construction as N and k grow.

Per block (our gate-level construction, ``block``): the convolution's LCU adds ceil(log2 K^2) + 3
ancillas, the diagonal encoding a copy register of n data qubits, QSVT one signal qubit and the
skip's LCU one more; the activation's VE uses the previous block's circuit d times (U and U^dagger
alternate inside QSVT) and the skip branch once more. Normalisation is amplitude amplification
of the block's success probability p_b (rounds ceil(pi / (4 asin sqrt p_b)), each using the
block twice, plus the first application). p_b comes from the exact vectors: ||psi + P|| ^ 2 /
alpha_b ^ 2 with alpha_b = 1 + s sqrt(N) (s >= 1 rescales P below 1). Queries count calls to the
input's state preparation.
"""

import math
from dataclasses import dataclass

import numpy as np
from numpy.polynomial import chebyshev
from scipy.special import erf

from qmlrepro.papers.qresnet.block import spectrally_normalised
from qmlrepro.papers.qresnet.network import kernel_alpha
from qmlrepro.papers.qresnet.primitives import conv_matrix
from qmlrepro.papers.qresnet.qsvt import odd_chebyshev


def degree_for(alpha: float, epsilon: float, max_degree: int = 401) -> int:
    """Smallest odd degree whose fit of erf(0.8 alpha x) is within epsilon on [-1, 1]."""
    grid = np.linspace(-1, 1, 4001)
    target = erf(0.8 * alpha * grid)
    for degree in range(1, max_degree + 1, 2):
        coef = odd_chebyshev(lambda x: erf(0.8 * alpha * x), degree)
        if np.abs(chebyshev.chebval(grid, coef) - target).max() <= epsilon:
            return degree
    raise ValueError(f"no odd degree <= {max_degree} reaches {epsilon} for alpha {alpha:.2f}")


@dataclass
class Tally:
    side: int
    channels: int
    blocks: int
    degree: int
    queries: float
    ancillas: int
    success: float  # product over blocks of the success probabilities (no amplification)
    fidelity: float  # emulated output vs the exact classical network


def network_tally(
    side: int, kernels: list[np.ndarray], epsilon: float, rng: np.random.Generator
) -> Tally:
    """A network of len(kernels) blocks (each kernel scaled to ||W||_2 = 1 at this side; the same
    kernels at every N, so the N-dependence is the construction's) on a random non-negative
    unit input, like an image, run at operator level."""
    channels, blocks = kernels[0].shape[0], len(kernels)
    n = int(math.log2(channels * side * side))
    conv_ancillas = math.ceil(math.log2(9)) + 3
    psi = np.abs(rng.normal(size=channels * side * side))
    psi /= np.linalg.norm(psi)
    exact = psi.copy()
    queries, ancillas, success, degree = 1.0, 0, 1.0, 1
    for raw in kernels:
        kernel = spectrally_normalised(raw, side)
        w = conv_matrix(kernel, side)
        alpha_w = kernel_alpha(kernel)
        degree = degree_for(alpha_w, epsilon)
        coef = odd_chebyshev(lambda x, a=alpha_w: erf(0.8 * a * x), degree)
        grid = np.linspace(-1, 1, 4001)
        scale = max(1.0, float(np.abs(chebyshev.chebval(grid, coef)).max()))
        out = psi + chebyshev.chebval((w @ psi) / alpha_w, coef)
        alpha = 1 + scale * math.sqrt(len(psi))
        p = float(np.linalg.norm(out) ** 2 / alpha**2)
        rounds = math.ceil(math.pi / (4 * math.asin(math.sqrt(min(p, 1.0)))))
        queries *= (degree + 1) * (2 * rounds + 1)
        ancillas += n + conv_ancillas + 2
        success *= p
        psi = out / np.linalg.norm(out)
        exact = exact + erf(0.8 * (w @ exact))
        exact /= np.linalg.norm(exact)
    return Tally(
        side, channels, blocks, degree, queries, ancillas, success, float(np.dot(psi, exact) ** 2)
    )
