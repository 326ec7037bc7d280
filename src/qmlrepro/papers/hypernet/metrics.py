"""What a distribution over bit strings is worth: P_opt, <C> - C_min, the accuracy of the BNNs it
yields, the choices it makes. Used for the trained circuit's exact p_theta, for the frequencies of
its measured samples, and for the classical searches' outcomes alike (all in paper order)."""

from collections.abc import Mapping

import torch

from qmlrepro.papers.hypernet.bnn import BNNTask
from qmlrepro.papers.hypernet.costs import CostTable
from qmlrepro.records import Dim, Records


def choice_marginals(p: torch.Tensor, task: BNNTask) -> dict[str, float]:
    """P(code) of every hyperparameter / architecture choice, keyed ``choice/<name>/<meaning>``."""
    n = task.n_bits
    index = torch.arange(p.numel())
    out = {}
    for name, (positions, meanings) in task.choices.items():
        code = torch.zeros_like(index)
        for k in positions:
            code = code * 2 + ((index >> (n - 1 - k)) & 1)
        mass = torch.bincount(code, weights=p.double(), minlength=len(meanings))
        out.update({f"choice/{name}/{m}": mass[i].item() for i, m in enumerate(meanings)})
    return out


def best_of_k_excess(p: torch.Tensor, cost: torch.Tensor, k: int) -> float:
    """E[min of k i.i.d. draws from p of C] - C_min, exactly (sorted tail probabilities)."""
    order = torch.argsort(cost)
    c, q = cost[order], p.double()[order].clamp_min(0)
    q = q / q.sum()
    tail = (1 - torch.cumsum(q, 0)).clamp_min(0)  # P(draw > c_i)
    above = torch.cat([torch.ones(1, dtype=tail.dtype), tail[:-1]])  # P(draw >= c_i)
    mass_min = above**k - tail**k  # P(min of k = c_i)
    return (mass_min @ c).item() - c[0].item()


def distribution_metrics(
    p: torch.Tensor, table: CostTable, task: BNNTask, tolerance: float, budget: int
) -> dict[str, float]:
    """``p`` over all 2^N networks (exact probabilities or sample frequencies, paper order)."""
    p = p.double()
    optimal = table.cost <= table.cost.min() + tolerance
    p_opt = p[optimal].sum().item()
    mode = int(torch.argmax(p))
    return {
        "p_opt": p_opt,
        "expected_cost": (p @ table.cost).item(),
        "excess_cost": (p @ table.cost).item() - table.cost.min().item(),
        "expected_test_accuracy": (p @ table.test_accuracy.double()).item(),
        "mode_probability": p[mode].item(),
        "mode_excess_cost": table.cost[mode].item() - table.cost.min().item(),
        "mode_test_accuracy": table.test_accuracy[mode].item(),
        "hit_within_budget": 1 - (1 - min(p_opt, 1.0)) ** budget,
        "best_of_budget_excess": best_of_k_excess(p, table.cost, budget),
        **choice_marginals(p, task),
    }


def sample_metrics(
    frequencies: torch.Tensor, table: CostTable, task: BNNTask, tolerance: float
) -> dict[str, float]:
    """Measured samples: the same as :func:`distribution_metrics` plus the best sampled BNN."""
    metrics = distribution_metrics(frequencies, table, task, tolerance, budget=1)
    for key in ("hit_within_budget", "best_of_budget_excess"):
        metrics.pop(key)
    seen = frequencies > 0
    best = torch.nonzero(seen).squeeze(1)[torch.argmin(table.cost[seen])]
    metrics["best_sample_excess_cost"] = table.cost[best].item() - table.cost.min().item()
    metrics["best_sample_test_accuracy"] = table.test_accuracy[best].item()
    return metrics


def metric_records(metrics: Mapping[str, float], **dims: Dim) -> Records:
    """``metrics`` (as :func:`distribution_metrics` / :func:`sample_metrics` return them, and as
    the checkpoint keeps them) as records with ``dims`` (e.g. ``depth=4``): a choice marginal
    ``choice/<name>/<meaning>`` becomes ``choice_probability`` with dimensions ``choice=<name>``,
    ``option=<meaning>``; every other key is the record's name."""
    records = Records()
    for key, value in metrics.items():
        if key.startswith("choice/"):
            _, choice, option = key.split("/", 2)
            records.add("choice_probability", value, **dims, choice=choice, option=option)
        else:
            records.add(key, value, **dims)
    return records
