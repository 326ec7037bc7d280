"""Exhaustive enumeration of a task's 2^N networks: the cost vector C and each network's accuracy.

Vectors are indexed in the paper's bit order (first parameter = most significant bit, as the
authors' ``Cop_4x4.txt``). Computed in float64, chunk by chunk, so that the near-degenerate optima
(within 1e-6 of each other on MNIST 0/1) stay apart. Cached as a DVC output by
``pipelines/prepare_hypernet_costs.py``; every train and evaluate stage reads it back.
"""

import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from qmlrepro.data.artifacts import load_tensors, save_tensors
from qmlrepro.papers.hypernet.bnn import BNNTask, index_bits, loss_from_logits


@dataclass(frozen=True)
class CostTable:
    """Per-network train loss (the cost), train accuracy and test accuracy, in paper order."""

    cost: torch.Tensor  # (2^N,) float64
    train_accuracy: torch.Tensor  # (2^N,) float32
    test_accuracy: torch.Tensor  # (2^N,) float32

    @property
    def n_bits(self) -> int:
        return self.cost.numel().bit_length() - 1

    def optimal_set(self, tolerance: float) -> torch.Tensor:
        """Indices with C <= C_min + tolerance (the paper's near-degenerate optima)."""
        return torch.nonzero(self.cost <= self.cost.min() + tolerance).squeeze(1)


def enumerate_costs(task: BNNTask, data, block: int = 4096, progress: bool = True) -> CostTable:
    """Loss and accuracies of every network. Per block, only the softplus/sigmoid and the
    threshold touch each (network, point) pair; the label-weighted sums are matrix products."""
    n = 2**task.n_bits
    cost = torch.full((n,), float("nan"), dtype=torch.float64)
    train_acc = torch.empty(n, dtype=torch.float32)
    test_acc = torch.empty(n, dtype=torch.float32)
    bar = tqdm(
        total=n, desc=f"enumerate {task.name} (2^{task.n_bits})", disable=None if progress else True
    )
    with torch.no_grad():
        for (index, logits), (_, test_logits) in zip(
            task.logit_blocks(data.x_train, block),
            task.logit_blocks(data.x_test, block),
            strict=True,
        ):
            cost[index] = mean_loss(logits, data.y_train, task.loss)
            train_acc[index] = accuracy(logits, data.y_train)
            test_acc[index] = accuracy(test_logits, data.y_test)
            bar.update(len(index))
    bar.close()
    if torch.isnan(cost).any():
        raise RuntimeError(
            f"enumeration of {task.name} missed {int(torch.isnan(cost).sum())} networks"
        )
    return CostTable(cost, train_acc, test_acc)


def mean_loss(logits: torch.Tensor, y: torch.Tensor, loss: str) -> torch.Tensor:
    """Same values as :func:`loss_from_logits`, with the y-weighted term as a matrix product."""
    n = y.numel()
    if loss == "bce":
        return F.softplus(logits).mean(-1) - logits @ y / n
    if loss == "mse":
        s = torch.sigmoid(logits)
        return s.square().mean(-1) - 2 * (s @ y) / n + y.square().mean()
    return loss_from_logits(logits, y, loss)


def accuracy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Thresholded accuracy: (#{z > 0, y = 1} + #{z <= 0, y = 0}) / n."""
    positive = (logits > 0).to(torch.float32)
    y32 = y.to(torch.float32)
    return (positive @ (2 * y32 - 1) + (1 - y32).sum()) / y.numel()


def summarize(task: BNNTask, table: CostTable, tolerance: float) -> dict:
    """Facts of the landscape the report quotes (C_min, degeneracy, the optimum's bits)."""
    optimal = table.optimal_set(tolerance)
    best = int(table.cost.argmin())
    bits = index_bits(torch.tensor([best]), task.n_bits)[0].tolist()
    groups = {name: [bits[k] for k in pos] for name, pos in task.bit_groups().items()}
    return {
        "n_bits": task.n_bits,
        "cost_min": table.cost.min().item(),
        "cost_mean": table.cost.mean().item(),
        "cost_max": table.cost.max().item(),
        "optimal_tolerance": tolerance,
        "n_optimal": optimal.numel(),
        "optimal_indices": optimal.tolist()[:64],
        "optimal_costs": table.cost[optimal].tolist()[:64],
        "best_index": best,
        "best_bits": groups,
        "best_train_accuracy": table.train_accuracy[best].item(),
        "best_test_accuracy": table.test_accuracy[best].item(),
        "random_test_accuracy": table.test_accuracy.double().mean().item(),
        "random_train_accuracy": table.train_accuracy.double().mean().item(),
    }


def write_cost_table(
    out_dir: Path, task: BNNTask, data, tolerance: float, block: int = 4096
) -> dict:
    started = time.perf_counter()
    table = enumerate_costs(task, data, block)
    info = {
        **summarize(task, table, tolerance),
        "n_train": len(data.y_train),
        "n_test": len(data.y_test),
        "seconds": round(time.perf_counter() - started, 1),
    }
    tensors = {
        "cost": table.cost,
        "train_accuracy": table.train_accuracy,
        "test_accuracy": table.test_accuracy,
    }
    return save_tensors(out_dir, task.name, tensors, info)


def read_cost_table(cost_dir: Path, task_name: str) -> CostTable:
    bundle = load_tensors(cost_dir, task_name)
    return CostTable(bundle["cost"], bundle["train_accuracy"], bundle["test_accuracy"])
