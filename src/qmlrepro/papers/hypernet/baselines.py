"""Classical searches over the same bit strings with a fixed budget of cost evaluations.

The quantum hypernetwork's deliverable is a distribution one samples BNNs from; with ``budget``
samples it finds an optimal BNN with probability 1 - (1 - P_opt)^budget. These searches get the
same number of cost evaluations per run, vectorised over ``runs`` independent runs.
"""

import math
import time
from abc import abstractmethod

import torch
from omegaconf import DictConfig

from qmlrepro.errors import ConfigError
from qmlrepro.experiment import RunContext
from qmlrepro.papers.hypernet.costs import CostTable
from qmlrepro.papers.hypernet.problem import SearchProblem, SearchStrategy
from qmlrepro.records import Records
from qmlrepro.training.checkpoint import save_checkpoint
from qmlrepro.training.seeding import torch_generator


def _check(budget: int, runs: int) -> None:
    if budget < 1 or runs < 1:
        raise ConfigError(f"search budget={budget} and runs={runs} must both be >= 1")


class ClassicalSearch(SearchStrategy):
    """``runs`` independent searches of ``budget`` evaluations each; seeded by the run's seed."""

    budget: int
    runs: int

    @abstractmethod
    def best_found(self, table: CostTable, generator: torch.Generator) -> torch.Tensor:
        """(runs,) index of the best bit string each run found."""

    def train(self, problem: SearchProblem, ctx: RunContext, cfg: DictConfig) -> Records:
        """The runs' outcomes (:func:`outcome_metrics`) and the search's wall time; the budget
        and number of runs are dimensions of every record (``budget``, ``runs``)."""
        started = time.perf_counter()
        generator = torch_generator(ctx.seed, "search")
        best = self.best_found(problem.table, generator)
        save_checkpoint(
            ctx.checkpoint,
            {"best": best, "config_hash": ctx.config_hash, "mlflow_run_id": ctx.run.run_id},
        )
        records = Records(budget=self.budget, runs=self.runs)
        records.update(outcome_metrics(best, problem.table, problem.tolerance))
        records.add("wall_seconds", time.perf_counter() - started)
        return records

    def describe(self, problem: SearchProblem) -> dict[str, float | int | str]:
        return {"search_space": 2**problem.task.n_bits, "budget": self.budget, "runs": self.runs}


class RandomSearch(ClassicalSearch):
    """``budget`` uniformly random bit strings per run; the best one is the run's answer."""

    def __init__(self, budget: int = 1000, runs: int = 1000) -> None:
        _check(budget, runs)
        self.budget, self.runs = budget, runs

    def best_found(self, table: CostTable, generator: torch.Generator) -> torch.Tensor:
        draws = torch.randint(0, table.cost.numel(), (self.runs, self.budget), generator=generator)
        return draws.gather(1, torch.argmin(table.cost[draws], dim=1, keepdim=True)).squeeze(1)


class SimulatedAnnealing(ClassicalSearch):
    """Metropolis single-bit-flip chains from a random bit string, temperature decaying
    geometrically from ``t_start`` to ``t_end`` (in units of the cost) over the budget; every
    proposal costs one evaluation. The best string a chain visits is its answer."""

    def __init__(
        self, budget: int = 1000, runs: int = 1000, t_start: float = 0.1, t_end: float = 1e-4
    ) -> None:
        _check(budget, runs)
        if not t_start >= t_end > 0:
            raise ConfigError(f"annealing needs t_start >= t_end > 0 (got {t_start}, {t_end})")
        self.budget, self.runs, self.t_start, self.t_end = budget, runs, t_start, t_end

    def best_found(self, table: CostTable, generator: torch.Generator) -> torch.Tensor:
        cost, n_bits = table.cost, table.n_bits
        state = torch.randint(0, cost.numel(), (self.runs,), generator=generator)
        energy = cost[state]
        best, best_energy = state.clone(), energy.clone()
        steps = self.budget - 1  # the initial string used one evaluation
        ratio = (self.t_end / self.t_start) ** (1 / max(steps - 1, 1))
        for step in range(steps):
            temperature = self.t_start * ratio**step
            flip = torch.randint(0, n_bits, (self.runs,), generator=generator)
            proposal = state ^ (1 << flip)
            delta = cost[proposal] - energy
            u = torch.rand(self.runs, generator=generator, dtype=cost.dtype)
            accept = (delta <= 0) | (u < torch.exp(-delta.clamp_min(0) / temperature))
            state = torch.where(accept, proposal, state)
            energy = torch.where(accept, cost[proposal], energy)
            improved = energy < best_energy
            best, best_energy = (
                torch.where(improved, state, best),
                torch.minimum(energy, best_energy),
            )
        return best


def outcome_metrics(best: torch.Tensor, table: CostTable, tolerance: float) -> dict[str, float]:
    """Per-run answers -> hit rate, mean excess cost and test accuracy of the answer."""
    c_min = table.cost.min()
    excess = table.cost[best] - c_min
    hits = (excess <= tolerance).double()
    runs = len(best)
    return {
        "hit_within_budget": hits.mean().item(),
        "hit_within_budget_se": (hits.std() / math.sqrt(runs)).item() if runs > 1 else 0.0,
        "best_of_budget_excess": excess.mean().item(),
        "best_test_accuracy": table.test_accuracy[best].double().mean().item(),
    }
