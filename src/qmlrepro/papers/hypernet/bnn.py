"""The binary neural networks the hypernetwork searches over: bit layouts and forward passes.

Bit order follows the authors (carrasqu/binncode): a network is a bit string b_0 .. b_{N-1} whose
index in the cost vector is sum_k b_k 2^(N-1-k), so the first parameter is the most significant
bit (``itertools.product`` order). ``index_bits`` and ``bits_index`` convert; the circuit's qubit
order is handled in :mod:`qmlrepro.papers.hypernet.circuit`.

Each task gives two forward passes that return output logits: ``direct_logits`` builds one
network at a time from its bits with plain torch layers (the reference), ``logit_blocks`` scores
all 2^N networks in blocks, sharing work between networks (the enumeration). A test holds them
equal.
"""

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
        once."""


class GaussianMLPTask(BNNTask):
    """2-d_hidden-1 network on the 2D Gaussian mixture, MSE of the logistic output vs the label.

    Bits (the authors' layout): W1 (2 x hidden, row-major [input, hidden]), W2 (hidden), b2,
    b1 (hidden), one activation bit (1 -> sigmoid hidden layer, 0 -> ReLU); weight = 2 bit - 1.
    """

    loss = "mse"

    def __init__(self, name: str = "gaussian", hidden: int = 4, data: str = "data/gaussian"):
        if hidden != 4:
            raise ConfigError(f"hidden={hidden}: the enumeration pairs the paper's 4 hidden units")
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

    def logit_blocks(self, x: torch.Tensor, block: int):
        """Hidden unit j sees 3 bits (W1[0, j], W1[1, j], b1[j]): 8 possible activations per point
        and activation function. Pairs of units with their output weights give 2 x 256 partial
        sums U; a network's logit is U[pair 0,1] + U[pair 2,3] + b2. Only that last add and the
        loss touch every (network, point) pair."""
        h, g = self.hidden, self.bit_groups()
        code_bits = index_bits(torch.arange(8), 3)  # (w1_0, w1_1, b1) per code
        signs = 2 * code_bits.to(x.dtype) - 1
        pre = x @ signs[:, :2].T + signs[:, 2]  # (n, 8)
        act = torch.stack([torch.relu(pre), torch.sigmoid(pre)]).transpose(1, 2)  # (2, 8, n)
        # A pair: (code_a, code_b, w2_a, w2_b) -> 256 rows; partial[a] (2, 256, n)
        pair = index_bits(torch.arange(256), 8)  # bits: code_a (3), code_b (3), w2_a, w2_b
        ca, cb = bits_index(pair[:, 0:3]), bits_index(pair[:, 3:6])
        wa, wb = 2 * pair[:, 6].to(x.dtype) - 1, 2 * pair[:, 7].to(x.dtype) - 1
        partial = wa[None, :, None] * act[:, ca] + wb[None, :, None] * act[:, cb]
        # Paper index of (activation, pair-0 row r0, pair-1 row r1, b2).
        a_, r0, r1, b2 = torch.meshgrid(
            torch.arange(2), torch.arange(256), torch.arange(256), torch.arange(2), indexing="ij"
        )
        bits = torch.zeros(*a_.shape, self.n_bits, dtype=torch.long)
        for r, units in ((r0, (0, 1)), (r1, (2, 3))):
            rb = pair[r]
            for slot, j in enumerate(units):
                code = rb[..., 3 * slot : 3 * slot + 3]
                bits[..., g["W1"][j]] = code[..., 0]
                bits[..., g["W1"][h + j]] = code[..., 1]
                bits[..., g["b1"][j]] = code[..., 2]
                bits[..., g["W2"][j]] = rb[..., 6 + slot]
        bits[..., g["b2"][0]] = b2
        bits[..., g["activation"][0]] = a_
        index = bits_index(bits)  # (2, 256, 256, 2)
        bias = torch.tensor([-1.0, 1.0], dtype=x.dtype)
        step = max(1, block // 512)
        for a in range(2):
            for start in range(0, 256, step):
                rows = slice(start, start + step)
                logits = (
                    partial[a, rows, None, None, :]
                    + partial[a, None, :, None, :]
                    + bias[None, None, :, None]
                )
                yield index[a, rows].reshape(-1), logits.reshape(-1, x.shape[0])


class LogisticTask(BNNTask):
    """Logistic regression on downsampled MNIST digits (binary), mean BCE.

    Bits: one weight per pixel (row-major), a bias, then ``alphabet_bits`` bits choosing the value
    of a 0 bit for all weights and the bias (the authors' 3 vs 7 search: code 0 -> {0, 1},
    1 -> {-1, 1}, 2 -> {-2, 1}, 3 -> {-3, 1}; a 1 bit is always +1). Without alphabet bits the
    weights take ``zero_value`` for a 0 bit (default -1: {-1, +1}). ``positive`` is the digit
    labelled 1.

    The authors' MNIST 0/1 cost file (Cop_4x4.txt, C_min = 0.32685269) maps bits to +-1 twice
    (``2 * (2 b - 1) - 1``), i.e. the alphabet {-3, +1}; ``zero_value: -3`` reproduces it to 1e-8.
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
    ) -> None:
        if alphabet_bits not in (0, 2):
            raise ConfigError(
                f"alphabet_bits={alphabet_bits}: use 0 ({{-1, 1}}) or 2 (4 alphabets)"
            )
        if positive not in digits:
            raise ConfigError(f"positive digit {positive} is not one of digits {list(digits)}")
        self.name, self.variant, self.digits = name, variant, tuple(digits)
        self.positive, self.pixels, self.alphabet_bits = positive, pixels, alphabet_bits
        self.zero_value, self.data = zero_value, data

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

    def load(self, data_root: Path, limit: int | None = None) -> TaskData:
        from qmlrepro.data.mnist import MNISTVariant

        def split(train: bool) -> tuple[torch.Tensor, torch.Tensor]:
            ds = MNISTVariant(data_root, self.variant, train=train, digits=self.digits, limit=limit)
            x = ds.x.reshape(len(ds.x), -1).double()
            if x.shape[1] != self.pixels:
                raise ConfigError(
                    f"task {self.name}: variant {self.variant} has {x.shape[1]} pixels, "
                    f"the task expects {self.pixels}"
                )
            return x, (ds.y == self.positive).double()

        (xtr, ytr), (xte, yte) = split(True), split(False)
        return TaskData(xtr, ytr, xte, yte)

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
        n = 2**self.n_bits
        for start in range(0, n, block):
            index = torch.arange(start, min(start + block, n), device=x.device)
            values = self._values(index_bits(index, self.n_bits)).to(x.dtype)
            yield index, values[:, : self.pixels] @ x.T + values[:, self.pixels :]
