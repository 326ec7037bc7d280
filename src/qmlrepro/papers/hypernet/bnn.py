"""The binary neural networks the hypernetwork searches over: bit layouts and forward passes.

Bit order follows the authors (carrasqu/binncode): a network is a bit string b_0 .. b_{N-1} whose
index in the cost vector is sum_k b_k 2^(N-1-k), so the first parameter is the most significant
bit (``itertools.product`` order). ``index_bits`` and ``bits_index`` convert; the circuit's qubit
order is handled in :mod:`qmlrepro.papers.hypernet.circuit`.

Each task gives two forward passes that return output logits: ``direct_logits`` builds one
network at a time from its bits with plain torch layers (the reference), ``logit_blocks`` scores
all 2^N networks in blocks, sharing work between networks (the enumeration). A test holds them
equal.

The enumeration is split in two: a network's logit is a sum of precomputed partial sums over groups
of its bits (a few matrix products over all bit patterns of each group), so a block of ``block``
networks costs one add per (network, point) before the loss. Blocks stay small (about a million
logits) so that the logits and the loss's passes over them live in cache.
"""

import itertools
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from qmlrepro.errors import ConfigError

LOSSES = ("mse", "bce")


def index_bits(index: torch.Tensor, n_bits: int) -> torch.Tensor:
    """(M,) indices -> (M, n_bits) bits, b_0 the most significant."""
    shifts = torch.arange(n_bits - 1, -1, -1, device=index.device)
    return (index.unsqueeze(-1) >> shifts) & 1


def bits_index(bits: torch.Tensor) -> torch.Tensor:
    """(M, n_bits) bits -> (M,) indices, b_0 the most significant."""
    n_bits = bits.shape[-1]
    weights = 2 ** torch.arange(n_bits - 1, -1, -1, device=bits.device)
    return (bits.long() * weights).sum(-1)


@dataclass(frozen=True)
class TaskData:
    x_train: torch.Tensor  # (n, d) float64
    y_train: torch.Tensor  # (n,) float64 in {0, 1}
    x_test: torch.Tensor
    y_test: torch.Tensor


def loss_from_logits(logits: torch.Tensor, y: torch.Tensor, loss: str) -> torch.Tensor:
    """Mean loss over the last axis. BCE through softplus, which stays finite where the authors'
    ``log(sigmoid(z))`` overflows (|z| > ~37 in float64, reachable with the {-3, 1} alphabet)."""
    if loss == "mse":
        return ((torch.sigmoid(logits) - y) ** 2).mean(-1)
    if loss == "bce":
        return (F.softplus(logits) - y * logits).mean(-1)
    raise ConfigError(f"unknown BNN loss '{loss}'; use one of {', '.join(LOSSES)}")


def accuracy_from_logits(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Thresholded accuracy: class 1 iff sigmoid(z) > 1/2."""
    return ((logits > 0).to(y.dtype) == y).to(logits.dtype).mean(-1)


class BNNTask(ABC):
    """One search space: ``n_bits`` bits, a loss, named bit groups, its data."""

    name: str
    loss: str

    @property
    @abstractmethod
    def n_bits(self) -> int: ...

    @abstractmethod
    def bit_groups(self) -> dict[str, list[int]]:
        """Named bit positions (weights, biases, hyperparameters), in paper order."""

    @property
    def choices(self) -> dict[str, tuple[list[int], list[str]]]:
        """Hyperparameter / architecture bits the search chooses: name -> (bit positions, meaning
        of each code, the code read with the first position most significant)."""
        return {}

    @abstractmethod
    def load(self, data_root: Path, limit: int | None = None) -> TaskData:
        """Train and test data; ``limit`` keeps the first examples of each (smoke runs)."""

    @abstractmethod
    def direct_logits(self, bits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """(M, n_bits) bits -> (M, n) logits, one network at a time."""

    @abstractmethod
    def logit_blocks(
        self, x: torch.Tensor, block: int
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """(indices (m,), logits (m, n)) blocks of about ``block`` networks, covering every index
        once. The logits may live in a buffer that the next block overwrites (fresh multi-MB
        tensors per block cost page faults): use them before advancing."""


class GaussianMLPTask(BNNTask):
    """2-d_hidden-1 network on the 2D Gaussian mixture, MSE of the logistic output vs the label.

    Bits (the authors' layout): W1 (2 x hidden, row-major [input, hidden]), W2 (hidden), b2,
    b1 (hidden), one activation bit (1 -> sigmoid hidden layer, 0 -> ReLU); weight = 2 bit - 1.
    The paper's network has 4 hidden units (18 bits); any ``hidden`` >= 1 enumerates.
    """

    loss = "mse"

    def __init__(self, name: str = "gaussian", hidden: int = 4, data: str = "data/gaussian"):
        if hidden < 1:
            raise ConfigError(f"hidden={hidden}: a GaussianMLPTask needs at least 1 hidden unit")
        self.name, self.hidden, self.data = name, hidden, data

    @property
    def n_bits(self) -> int:
        return 2 * self.hidden + self.hidden + 1 + self.hidden + 1

    def bit_groups(self) -> dict[str, list[int]]:
        h = self.hidden
        return {
            "W1": list(range(0, 2 * h)),
            "W2": list(range(2 * h, 3 * h)),
            "b2": [3 * h],
            "b1": list(range(3 * h + 1, 4 * h + 1)),
            "activation": [4 * h + 1],
        }

    @property
    def choices(self) -> dict[str, tuple[list[int], list[str]]]:
        return {"activation": (self.bit_groups()["activation"], ["ReLU", "sigmoid"])}

    def load(self, data_root: Path, limit: int | None = None) -> TaskData:
        from qmlrepro.data.gaussian import GaussianMixture2D

        train = GaussianMixture2D(data_root, train=True, limit=limit)
        test = GaussianMixture2D(data_root, train=False, limit=limit)
        return TaskData(train.x.double(), train.y.double(), test.x.double(), test.y.double())

    def _split(self, signs: torch.Tensor):
        g = self.bit_groups()
        w1 = signs[:, g["W1"]].reshape(-1, 2, self.hidden)
        return (
            w1,
            signs[:, g["W2"]],
            signs[:, g["b2"]],
            signs[:, g["b1"]],
            signs[:, g["activation"]],
        )

    def direct_logits(self, bits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        out = []
        for row in bits:
            w1, w2, b2, b1, act = self._split((2 * row.double() - 1).unsqueeze(0))
            hidden = F.linear(x, w1[0].T, b1[0])
            hidden = torch.sigmoid(hidden) if act.item() > 0 else torch.relu(hidden)
            out.append(F.linear(hidden, w2, b2[0]).squeeze(-1))
        return torch.stack(out)

    def _unit_groups(self, x: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Hidden units in groups of two (the last alone for an odd ``hidden``), each with its
        partial sums over every setting of its bits: per group, partial (2, rows, n) float64 (the
        group's W2-weighted activations, ReLU then sigmoid) and offset (rows,) int64 (the paper
        index those bits contribute). A group of k units has 2^(4k) rows: k 3-bit codes (W1[0, j],
        W1[1, j], b1[j]), then k W2 bits."""
        h, g = self.hidden, self.bit_groups()
        place = 2 ** torch.arange(self.n_bits - 1, -1, -1)  # index weight of each bit position
        code_bits = index_bits(torch.arange(8), 3)  # (w1_0, w1_1, b1) per code
        signs = 2 * code_bits.to(x.dtype) - 1
        pre = x @ signs[:, :2].T + signs[:, 2]  # (n, 8)
        act = torch.stack([torch.relu(pre), torch.sigmoid(pre)]).transpose(1, 2)  # (2, 8, n)
        groups = []
        for units in (list(range(j, min(j + 2, h))) for j in range(0, h, 2)):
            k = len(units)
            rows = index_bits(torch.arange(2 ** (4 * k)), 4 * k)
            partial, offset = None, torch.zeros(len(rows), dtype=torch.long)
            for slot, j in enumerate(units):
                code, w2 = rows[:, 3 * slot : 3 * slot + 3], rows[:, 3 * k + slot]
                term = (2 * w2.to(x.dtype) - 1)[None, :, None] * act[:, bits_index(code)]
                partial = term if partial is None else partial + term
                offset += (
                    code[:, 0] * place[g["W1"][j]]
                    + code[:, 1] * place[g["W1"][h + j]]
                    + code[:, 2] * place[g["b1"][j]]
                    + w2 * place[g["W2"][j]]
                )
            groups.append((partial, offset))
        return groups

    def logit_blocks(self, x: torch.Tensor, block: int):
        """Hidden unit j sees 3 bits (W1[0, j], W1[1, j], b1[j]): 8 possible activations per point
        and activation function. Groups of two units with their output weights give 2 x 256
        partial sums U (:meth:`_unit_groups`); a network's logit is U_0[r_0] + U_1[r_1] + ... + b2
        (the paper's 4 units: two pairs). Per block: one row of every group but the last, summed
        once, plus ``block / 2`` rows of the last group, times both b2. Only those adds and the
        loss touch every (network, point) pair."""
        g, n = self.bit_groups(), x.shape[0]
        place = 2 ** torch.arange(self.n_bits - 1, -1, -1)
        *fixed, (last, last_offset) = self._unit_groups(x)
        bias_offset = torch.tensor([0, 1])[:, None] * place[g["b2"][0]]  # b2 = -1, +1
        step = max(1, block // 2)
        tail_buffer = torch.empty(step, n, dtype=x.dtype, device=x.device)
        out_buffer = torch.empty(2, step, n, dtype=x.dtype, device=x.device)
        for a in range(2):
            a_offset = a * place[g["activation"][0]]
            for rows in itertools.product(*(range(len(off)) for _, off in fixed)):
                prefix, offset = None, a_offset
                for r, (partial, off) in zip(rows, fixed, strict=True):
                    prefix = partial[a, r] if prefix is None else prefix + partial[a, r]
                    offset = offset + off[r]
                for start in range(0, len(last_offset), step):
                    chunk = slice(start, start + step)
                    m = len(last_offset[chunk])
                    tail = last[a, chunk]
                    if prefix is not None:
                        tail = torch.add(tail, prefix, out=tail_buffer[:m])
                    logits = out_buffer[:, :m]
                    torch.sub(tail, 1.0, out=logits[0])
                    torch.add(tail, 1.0, out=logits[1])
                    index = offset + last_offset[chunk] + bias_offset  # (2, m)
                    yield index.reshape(-1), logits.reshape(-1, n)


class LogisticTask(BNNTask):
    """Logistic regression on downsampled MNIST digits (binary), mean BCE.

    Bits: one weight per pixel (row-major), a bias, then ``alphabet_bits`` bits choosing the value
    of a 0 bit for all weights and the bias (the authors' 3 vs 7 search: code 0 -> {0, 1},
    1 -> {-1, 1}, 2 -> {-2, 1}, 3 -> {-3, 1}; a 1 bit is always +1). Without alphabet bits the
    weights take ``zero_value`` for a 0 bit (default -1: {-1, +1}). ``positive`` is the digit
    labelled 1.

    The authors' MNIST 0/1 cost file (Cop_4x4.txt, C_min = 0.32685269) maps bits to +-1 twice
    (``2 * (2 b - 1) - 1``), i.e. the alphabet {-3, +1}; ``zero_value: -3`` reproduces it to 1e-8.

    ``variant`` is a prepared bundle of ``data/mnist`` (``conf/dataset/mnist.yaml``) read as is,
    unless ``size`` is set: then it must hold uint8 28x28 images (``x28``), and the two digits'
    images are resized to ``size`` x ``size`` at load time by the code that prepares the 4x4
    variants (:func:`qmlrepro.data.mnist.derive_variant`, bilinear, half-pixel centres, no
    antialiasing), so a 3x3 task needs no new prepared variant.
    """

    loss = "bce"

    def __init__(
        self,
        name: str,
        variant: str,
        digits: tuple[int, int],
        positive: int,
        pixels: int = 16,
        alphabet_bits: int = 0,
        zero_value: float = -1.0,
        data: str = "data/mnist",
        size: int | None = None,
    ) -> None:
        if alphabet_bits not in (0, 2):
            raise ConfigError(
                f"alphabet_bits={alphabet_bits}: use 0 ({{-1, 1}}) or 2 (4 alphabets)"
            )
        if positive not in digits:
            raise ConfigError(f"positive digit {positive} is not one of digits {list(digits)}")
        if size is not None and (size < 1 or size * size != pixels):
            raise ConfigError(
                f"task {name}: size={size} needs pixels={max(size, 0) ** 2}, got {pixels}; "
                "set both (size >= 1)"
            )
        self.name, self.variant, self.digits = name, variant, tuple(digits)
        self.positive, self.pixels, self.alphabet_bits = positive, pixels, alphabet_bits
        self.zero_value, self.data, self.size = zero_value, data, size

    @property
    def n_bits(self) -> int:
        return self.pixels + 1 + self.alphabet_bits

    def bit_groups(self) -> dict[str, list[int]]:
        groups = {"W": list(range(self.pixels)), "b": [self.pixels]}
        if self.alphabet_bits:
            groups["alphabet"] = list(range(self.pixels + 1, self.n_bits))
        return groups

    @property
    def choices(self) -> dict[str, tuple[list[int], list[str]]]:
        if not self.alphabet_bits:
            return {}
        alphabets = ["{0,1}", "{-1,1}", "{-2,1}", "{-3,1}"]
        return {"alphabet": (self.bit_groups()["alphabet"], alphabets)}

    def _images(self, data_root: Path, train: bool, limit: int | None):
        """(n, side, side) float images in [0, 1] and (n,) int64 digits of one split."""
        from qmlrepro.data.artifacts import load_tensors
        from qmlrepro.data.mnist import MNISTVariant, VariantSpec, derive_variant

        if self.size is None:
            ds = MNISTVariant(data_root, self.variant, train=train, digits=self.digits, limit=limit)
            return ds.x, ds.y
        split = "train" if train else "test"
        bundle = load_tensors(data_root, self.variant)
        images, digits = bundle[f"{split}_x"], bundle[f"{split}_y"]
        if images.dtype != torch.uint8 or tuple(images.shape[1:]) != (28, 28):
            raise ConfigError(
                f"task {self.name}: size={self.size} resizes uint8 28x28 images, but variant "
                f"{self.variant} holds {images.dtype} {tuple(images.shape[1:])}; use variant x28"
            )
        keep = torch.isin(digits, torch.tensor(self.digits))  # as prepare_mnist selects digits
        images, digits = images[keep][:limit], digits[keep][:limit]
        spec = VariantSpec(self.size, "bilinear", self.digits)
        return derive_variant(images, spec), digits

    def load(self, data_root: Path, limit: int | None = None) -> TaskData:
        def split(train: bool) -> tuple[torch.Tensor, torch.Tensor]:
            images, digits = self._images(data_root, train, limit)
            x = images.reshape(len(images), -1).double()
            if x.shape[1] != self.pixels:
                raise ConfigError(
                    f"task {self.name}: variant {self.variant} has {x.shape[1]} pixels, "
                    f"the task expects {self.pixels}"
                )
            return x, (digits == self.positive).double()

        (xtr, ytr), (xte, yte) = split(True), split(False)
        return TaskData(xtr, ytr, xte, yte)

    def _zero(self, code: int) -> float:
        """Value of a 0 bit under alphabet code ``code`` (``zero_value`` without alphabet bits)."""
        return -float(code) if self.alphabet_bits else self.zero_value

    def _values(self, bits: torch.Tensor) -> torch.Tensor:
        """(M, n_bits) bits -> (M, pixels + 1) weight and bias values."""
        params = bits[:, : self.pixels + 1].double()
        if not self.alphabet_bits:
            return torch.where(params > 0, 1.0, self.zero_value).double()
        code = bits[:, self.pixels + 1] * 2 + bits[:, self.pixels + 2]
        low = -code.double().unsqueeze(1)  # value of a 0 bit: 0, -1, -2, -3
        return torch.where(params > 0, torch.ones_like(params), low)

    def direct_logits(self, bits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        out = []
        for row in bits:
            values = self._values(row.unsqueeze(0))[0]
            layer = torch.nn.Linear(self.pixels, 1, dtype=torch.float64)
            with torch.no_grad():
                layer.weight.copy_(values[: self.pixels].unsqueeze(0))
                layer.bias.copy_(values[self.pixels :])
                out.append(layer(x).squeeze(-1))
        return torch.stack(out)

    def logit_blocks(self, x: torch.Tensor, block: int):
        """The P = pixels + 1 weights and bias (the bias a pixel of constant 1) split into the
        first P - L (high: H) and the last L (low: B) with 2^L <= ``block``. Per alphabet code, H
        = values of all 2^(P-L) high patterns @ x_high^T in chunks of 2^L rows, B = values of all
        2^L low patterns @ x_low^T, once; a block is one row of H plus all of B (2^L networks), its
        index ((high << L) | low) << alphabet_bits | code. With float32 pixels (MNIST) and small
        integer weights every partial sum, and so the logit, is exact in float64: any summation
        order gives the same logits bit for bit."""
        n_params, n_alpha = self.pixels + 1, self.alphabet_bits
        xb = torch.cat([x, torch.ones(len(x), 1, dtype=x.dtype, device=x.device)], 1)  # (n, P)
        low_bits = min(n_params, max(0, block.bit_length() - 1))
        high_bits = n_params - low_bits
        x_high, x_low = xb[:, :high_bits], xb[:, high_bits:]
        low = torch.arange(2**low_bits, device=x.device)
        low_patterns = index_bits(low, low_bits) > 0
        h_buffer = torch.empty(2**low_bits, len(x), dtype=x.dtype, device=x.device)
        logits = torch.empty(2**low_bits, len(x), dtype=x.dtype, device=x.device)
        for code in range(2**n_alpha):
            zero = self._zero(code)
            b = torch.where(low_patterns, 1.0, zero).to(x.dtype) @ x_low.T  # (2^L, n)
            for start in range(0, 2**high_bits, 2**low_bits):
                high = torch.arange(start, min(start + 2**low_bits, 2**high_bits), device=x.device)
                values = torch.where(index_bits(high, high_bits) > 0, 1.0, zero).to(x.dtype)
                h = torch.mm(values, x_high.T, out=h_buffer[: len(high)])  # (rows, n)
                for row, r in zip(h, high.tolist(), strict=True):
                    index = (((r << low_bits) | low) << n_alpha) | code
                    yield index, torch.add(b, row, out=logits)
