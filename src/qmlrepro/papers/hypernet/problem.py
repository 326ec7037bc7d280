"""What every search strategy is handed, and the interface they share."""

from abc import ABC, abstractmethod
from dataclasses import dataclass

from omegaconf import DictConfig

from qmlrepro.experiment import RunContext
from qmlrepro.papers.hypernet.bnn import BNNTask
from qmlrepro.papers.hypernet.costs import CostTable
from qmlrepro.records import Records


@dataclass(frozen=True)
class SearchProblem:
    task: BNNTask
    table: CostTable
    tolerance: float  # optimal set: C <= C_min + tolerance
    budget: int  # cost evaluations (classical) or samples (quantum) a search may use


class SearchStrategy(ABC):
    """A way to search a task's bit strings: the hypernetwork circuit or a classical search."""

    @abstractmethod
    def train(self, problem: SearchProblem, ctx: RunContext, cfg: DictConfig) -> Records:
        """Search (resuming from ``ctx.checkpoint``; circuits on ``ctx.executor``); save what
        evaluation needs; return the records (dimensions such as ``depth``, not in names)."""

    def evaluate(self, problem: SearchProblem, ctx: RunContext, cfg: DictConfig) -> Records:
        """Score the trained result on ``ctx.executor`` (one call per point of the backend's
        declared sweep); nothing to do for classical searches."""
        return Records()

    def describe(self, problem: SearchProblem) -> dict[str, float | int | str]:
        return {}
