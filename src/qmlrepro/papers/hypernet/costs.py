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
from qmlrepro.errors import ConfigError, DataError
from qmlrepro.papers.hypernet.bnn import LOSSES, BNNTask, index_bits


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


# Logits per block: about 2^20 (8 MB of float64), so that a block, its softplus / sigmoid and the
# comparison stay in the CPU caches and reuse the allocator's memory (measured on 2 cores: a
# (64, 12665) softplus runs at ~730 M elements/s, a (4096, 12665) one at ~190 M/s).
BLOCK_LOGITS = 2**20


def default_block(n_points: int) -> int:
    """Networks per block: the largest power of two with at most ``BLOCK_LOGITS`` logits."""
    return 1 << max(0, (BLOCK_LOGITS // max(1, n_points)).bit_length() - 1)


def enumerate_costs(
    task: BNNTask, data, block: int | None = None, progress: bool = True
) -> CostTable:
    """Loss and accuracies of every network. The points are put in class order (label 1 first)
    once, so that per block the label-weighted terms are sums over a slice: only the softplus /
    sigmoid, one sum and one comparison touch each (network, point) pair. ``block``: networks
    per block (default :func:`default_block` of the train set size)."""
    n = 2**task.n_bits
    block = block or default_block(len(data.y_train))
    x_train, n_pos_train = _class_order(data.x_train, data.y_train)
    x_test, n_pos_test = _class_order(data.x_test, data.y_test)
    cost = torch.full((n,), float("nan"), dtype=torch.float64)
    train_correct = torch.full((n,), -1, dtype=torch.long)
    test_correct = torch.full((n,), -1, dtype=torch.long)
    scratch: dict[str, torch.Tensor] = {}  # per-block temporaries, reused (see logit_blocks)
    bar = tqdm(
        total=n, desc=f"enumerate {task.name} (2^{task.n_bits})", disable=None if progress else True
    )
    with torch.no_grad():
        for (index, logits), (test_index, test_logits) in zip(
            task.logit_blocks(x_train, block), task.logit_blocks(x_test, block), strict=True
        ):
            if not torch.equal(index, test_index):
                raise RuntimeError(f"{task.name}: train and test blocks cover different networks")
            work, test_work = (
                _buffer(scratch, "train", logits),
                _buffer(scratch, "test", test_logits),
            )
            train_correct[index] = correct_count(logits, n_pos_train, work)
            test_correct[index] = correct_count(test_logits, n_pos_test, test_work)
            cost[index] = mean_loss(logits, n_pos_train, task.loss, work)
            bar.update(len(index))
    bar.close()
    missed = int(torch.isnan(cost).sum() + (train_correct < 0).sum() + (test_correct < 0).sum())
    if missed:
        raise RuntimeError(f"enumeration of {task.name} missed {missed} (network, value) entries")
    # float32 count / n: the same rounding as before (an exact float32 count, one division).
    train_acc = train_correct.to(torch.float32) / len(data.y_train)
    test_acc = test_correct.to(torch.float32) / len(data.y_test)
    return CostTable(cost, train_acc, test_acc)


def _class_order(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, int]:
    """(n, d) points -> the same points, label 1 first (stable), and the number of label-1
    points. Labels must be 0 or 1."""
    if not ((y == 0) | (y == 1)).all():
        raise DataError("the enumeration needs labels in {0, 1}")
    order = torch.argsort(y, descending=True, stable=True)
    return x[order], int(y.sum().item())


def _buffer(scratch: dict[str, torch.Tensor], name: str, like: torch.Tensor) -> torch.Tensor:
    """A tensor of ``like``'s shape and dtype in memory kept under ``name`` across blocks."""
    kept = scratch.get(name)
    if kept is None or kept.numel() < like.numel() or kept.dtype != like.dtype:
        kept = scratch[name] = torch.empty(like.numel(), dtype=like.dtype, device=like.device)
    return kept[: like.numel()].view(like.shape)


def mean_loss(
    logits: torch.Tensor, n_pos: int, loss: str, out: torch.Tensor | None = None
) -> torch.Tensor:
    """(m, n) logits of class-ordered points (the first ``n_pos`` labelled 1) -> (m,) mean
    loss; the values of :func:`loss_from_logits` up to rounding, with the label-weighted term a
    sum over the first ``n_pos`` columns. ``out``: (m, n) scratch for the softplus / sigmoid."""
    n = logits.shape[-1]
    if loss == "bce":  # softplus(z) - y z
        return (F.softplus(logits, out=out).sum(-1) - logits[:, :n_pos].sum(-1)) / n
    if loss == "mse":  # s^2 - 2 y s + y^2
        s = torch.sigmoid(logits, out=out)
        positive = s[:, :n_pos].sum(-1)
        return (s.square_().sum(-1) - 2 * positive) / n + n_pos / n
    raise ConfigError(f"unknown BNN loss '{loss}'; use one of {', '.join(LOSSES)}")


def correct_count(
    logits: torch.Tensor, n_pos: int, out: torch.Tensor | None = None
) -> torch.Tensor:
    """(m, n) logits of class-ordered points -> (m,) int64 number classified correctly
    (class 1 iff z > 0): #{z > 0} among the first ``n_pos``, #{z <= 0} among the rest. Counted
    as sums of sign(z) clamped at 0 (exact in float64; twice as fast as summing ``z > 0``).
    ``out``: (m, n) scratch."""
    above = torch.sign(logits, out=out).clamp_(min=0)  # 1.0 where z > 0, else 0.0
    n_neg = logits.shape[-1] - n_pos
    return (above[:, :n_pos].sum(-1) - above[:, n_pos:].sum(-1)).long() + n_neg


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
    out_dir: Path, task: BNNTask, data, tolerance: float, block: int | None = None
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
