"""The quantum-implementable ResNet trained classically, its coherent emulation, and the matched
ordinary CNN.

QResNet: the image, l2-normalised, is the amplitude vector of channel 0 of C channels (the other
channels start at zero: extra qubits in |0>); each block is psi <- normalize(psi + erf(0.8 W psi))
with W a bias-free 3x3 multi-channel convolution scaled to ||W||_2 = 1; the output is the
l2-pool-square of the final state into one bin per class (bin c = channel c), i.e. the
probability of measuring the channel register in c. Everything a measurement of the final state
can give, and nothing more.
"""

import math

import numpy as np
import torch
import torch.nn.functional as F
from numpy.polynomial import chebyshev
from scipy.special import erf
from torch import nn

from qmlrepro.papers.qresnet.qsvt import odd_chebyshev


def conv_operator(kernel: torch.Tensor, side: int) -> torch.Tensor:
    """The (C side^2) x (C side^2) matrix of conv2d(kernel, padding k // 2), differentiable."""
    channels = kernel.shape[1]
    eye = torch.eye(channels * side * side, dtype=kernel.dtype, device=kernel.device)
    basis = eye.reshape(-1, channels, side, side)
    return F.conv2d(basis, kernel, padding=kernel.shape[-1] // 2).reshape(len(eye), -1).T


class QResNet(nn.Module):
    def __init__(self, side: int, channels: int, blocks: int, n_classes: int) -> None:
        super().__init__()
        if n_classes > channels:
            raise ValueError(f"{n_classes} classes need at least as many channels ({channels})")
        self.side, self.channels, self.n_classes = side, channels, n_classes
        self.kernels = nn.ParameterList(
            [nn.Parameter(torch.randn(channels, channels, 3, 3) * 0.3) for _ in range(blocks)]
        )

    def operators(self) -> list[torch.Tensor]:
        """Each block's W, scaled to spectral norm 1 (the construction's assumption)."""
        return [w for w, _ in self.scaled_operators()]

    def scaled_operators(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """(W / ||W||_2, ||W||_2) per block: the norm also scales the block's kernel for its
        block encoding."""
        out = []
        for kernel in self.kernels:
            w = conv_operator(kernel, self.side)
            norm = torch.linalg.matrix_norm(w, ord=2)
            out.append((w / norm, norm))
        return out

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        flat = images.reshape(len(images), -1)
        psi = flat / flat.norm(dim=1, keepdim=True).clamp_min(1e-12)
        pad = psi.new_zeros(len(psi), (self.channels - 1) * self.side**2)
        return torch.cat([psi, pad], dim=1)

    def states(self, images: torch.Tensor, activation=None) -> list[torch.Tensor]:
        """psi after the encoding and after every block (activation default: erf(0.8 x))."""
        act = activation or (lambda z: torch.erf(0.8 * z))
        psi = self.encode(images)
        out = [psi]
        for w in self.operators():
            psi = psi + act(psi @ w.T)
            psi = psi / psi.norm(dim=1, keepdim=True)
            out.append(psi)
        return out

    def class_probabilities(self, psi: torch.Tensor) -> torch.Tensor:
        bins = psi.reshape(len(psi), self.channels, -1).pow(2).sum(dim=2)
        return bins[:, : self.n_classes]

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Log-probabilities over the classes, renormalised over the class bins (bins of unused
        channels count as 'no answer', dropped on measurement)."""
        p = self.class_probabilities(self.states(images)[-1])
        return (p / p.sum(dim=1, keepdim=True)).clamp_min(1e-12).log()


class MatchedCNN(nn.Module):
    """The ordinary counterpart: the same number of 3x3 conv layers and channels, with biases,
    ReLU, residual connections, global average pooling and a linear head."""

    def __init__(self, side: int, channels: int, blocks: int, n_classes: int) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, channels, 3, padding=1)
        self.convs = nn.ModuleList(
            [nn.Conv2d(channels, channels, 3, padding=1) for _ in range(blocks)]
        )
        self.head = nn.Linear(channels, n_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        h = self.stem(images)
        for conv in self.convs:
            h = h + F.relu(conv(h))
        return F.log_softmax(self.head(h.mean(dim=(2, 3))), dim=1)


def kernel_alpha(kernel: np.ndarray) -> float:
    """alpha of the LCU block-encoding of a kernel: sum over offsets of ||K[:, :, i, j]||_2."""
    return float(
        sum(
            np.linalg.norm(kernel[:, :, i, j], 2)
            for i in range(kernel.shape[2])
            for j in range(kernel.shape[3])
        )
    )


def coherent_emulation(
    model: QResNet, images: torch.Tensor, degree: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Final states and class probabilities of the circuit the network compiles to, at operator
    level: each block's activation is the degree-``degree`` odd polynomial QSVT applies to the
    block-encoded (W psi) / alpha_W, with alpha_W of that block's scaled kernel (None: exact)."""
    with torch.no_grad():
        psi = model.encode(images.double()).numpy()
        for kernel, (w, norm) in zip(model.kernels, model.scaled_operators(), strict=True):
            w = w.double().numpy()
            z = psi @ w.T
            if degree is None:
                activated = erf(0.8 * z)
            else:
                alpha = kernel_alpha(kernel.detach().double().numpy() / float(norm))
                coef = odd_chebyshev(lambda x, a=alpha: erf(0.8 * a * x), degree)
                activated = chebyshev.chebval(z / alpha, coef)
            psi = psi + activated
            psi = psi / np.linalg.norm(psi, axis=1, keepdims=True)
        bins = (psi.reshape(len(psi), model.channels, -1) ** 2).sum(axis=2)[:, : model.n_classes]
    return psi, bins


def sampled_labels(probabilities: np.ndarray, shots: int, rng: np.random.Generator) -> np.ndarray:
    """Labels from ``shots`` measurements of the channel register per image (outcomes outside
    the class bins discarded; a tie or no class outcome goes to the lowest label)."""
    full = np.concatenate([probabilities, 1 - probabilities.sum(1, keepdims=True)], axis=1)
    full = np.clip(full, 0, None)
    full /= full.sum(1, keepdims=True)
    counts = np.stack([rng.multinomial(shots, p) for p in full])
    return counts[:, :-1].argmax(axis=1)


def linearity_gap(z: np.ndarray) -> float:
    """||erf(0.8 z) - (1.6 / sqrt(pi)) z|| / ||erf(0.8 z)||: how far the activation is from its
    own linearisation at 0 on these pre-activations."""
    exact = erf(0.8 * z)
    return float(np.linalg.norm(exact - 1.6 / math.sqrt(math.pi) * z) / np.linalg.norm(exact))
