"""Schema of ``conf/paper/hypernet.yaml``."""

from dataclasses import dataclass, field
from typing import Any

from qmlrepro.config.schema import (
    PaperConfig,
    require_non_negative,
    require_positive,
    require_positive_list,
)
from qmlrepro.errors import ConfigError


@dataclass
class LbfgsConfig:
    """Per-start L-BFGS (:class:`qmlrepro.papers.hypernet.lbfgs.LbfgsSettings`): the authors'
    OptimKit LBFGS stops at gradient 2-norm <= 1e-6 (their maxiter: 500, which did not converge
    here; the default profile allows 1,000). ``max_eval`` null: no evaluation cap (OptimKit
    has none); ``max_ls``: evaluations per line search; ``curvature_rule``: OptimKit's relative
    rule for accepting a curvature pair, or torch's absolute one; ``tolerance_change`` 0: only
    a start whose loss or step did not change at all stalls."""

    max_iter: int = 1000
    max_eval: int | None = None
    tolerance_grad: float = 1e-6
    tolerance_change: float = 0.0
    history_size: int = 8
    max_ls: int | None = 25
    curvature_rule: str = "optimkit"


@dataclass
class HypernetConfig(PaperConfig):
    _target_: str = "qmlrepro.papers.hypernet.experiment.HypernetExperiment"
    id: str = "hypernet"
    task: str = "mnist01"  # a key of ``tasks``
    tasks: dict[str, Any] = field(default_factory=dict)  # name -> _target_ of a bnn.BNNTask
    cost_dir: str = "data/hypernet"  # written by pipelines/prepare_hypernet_costs.py
    data_limit: int | None = None  # first examples of each split (smoke runs only)
    optimal_tolerance: float = 1e-6  # the optimal set: C <= C_min + tolerance
    loose_tolerance: float = 1e-4  # P_opt at a looser optimal set (p_opt_loose)
    local_minimum_gap: float = 1e-5  # converged with <C> - C_min above this: a local minimum
    starts: int = 30  # random starts per depth, optimised together (batched)
    batch_amplitudes: int = 1 << 16  # rows per batched evaluation: min(starts, this / 2^N), >= 1
    budget: int = 1000  # cost evaluations / samples a search gets (the authors' 1,000 samples)
    depths: list[int] = field(default_factory=lambda: list(range(1, 11)))
    lbfgs: LbfgsConfig = field(default_factory=LbfgsConfig)
    log_every: int = 10  # MLflow: every n-th optimiser round (classical: evaluation)
    # The depolarising sweep: ``evaluation.aer_depolarizing`` (conf/paper/hypernet.yaml) reads
    # these two (the depth run under noise, the noise scales p); kept here, in the hashed paper
    # config, so a profile sizes the sweep where it sizes everything else.
    noise_depth: int = 4
    noise_scales: list[float] = field(default_factory=lambda: [0.2, 0.5, 1.0, 1.5, 2.0])
    noise_shots: int = 1000  # samples per trained circuit and noise scale

    def __post_init__(self) -> None:
        if self.tasks and self.task not in self.tasks:
            raise ConfigError(
                f"paper.task={self.task} is not one of the defined tasks: {', '.join(self.tasks)}"
            )
        require_positive_list("paper.depths", self.depths, allow_none=False)
        if self.noise_depth not in self.depths:
            raise ConfigError(
                f"paper.noise_depth={self.noise_depth} is not one of paper.depths={self.depths}"
                " (the depolarising evaluation runs that depth: set paper.noise_depth=<one of "
                "them>)"
            )
        for key in (
            "budget",
            "log_every",
            "noise_depth",
            "starts",
            "batch_amplitudes",
            "noise_shots",
        ):
            require_positive(f"paper.{key}", getattr(self, key), allow_none=False)
        require_positive("paper.lbfgs.max_iter", self.lbfgs.max_iter, allow_none=False)
        require_positive("paper.lbfgs.max_eval", self.lbfgs.max_eval)
        require_positive("paper.lbfgs.max_ls", self.lbfgs.max_ls)
        if self.lbfgs.curvature_rule not in ("optimkit", "torch"):
            raise ConfigError(
                f"paper.lbfgs.curvature_rule={self.lbfgs.curvature_rule}: use optimkit or torch"
            )
        require_positive("paper.lbfgs.history_size", self.lbfgs.history_size, allow_none=False)
        require_non_negative("paper.lbfgs.tolerance_grad", self.lbfgs.tolerance_grad)
        require_non_negative("paper.lbfgs.tolerance_change", self.lbfgs.tolerance_change)
        require_positive("paper.data_limit", self.data_limit)
        if not 0 <= self.optimal_tolerance <= self.loose_tolerance:
            raise ConfigError(
                f"paper.optimal_tolerance={self.optimal_tolerance} and paper.loose_tolerance="
                f"{self.loose_tolerance}: need 0 <= optimal_tolerance <= loose_tolerance"
            )
        if not self.local_minimum_gap > 0:
            raise ConfigError(f"paper.local_minimum_gap={self.local_minimum_gap} must be > 0")
        if any(s <= 0 for s in self.noise_scales):
            raise ConfigError(f"paper.noise_scales={self.noise_scales} must all be > 0")


@dataclass
class RandomSearchModel:
    """``conf/model/hypernet/random_search.yaml``: ``runs`` searches of ``budget`` samples."""

    _target_: str = "qmlrepro.papers.hypernet.baselines.RandomSearch"
    budget: int = 1000
    runs: int = 1000

    def __post_init__(self) -> None:
        for key in ("budget", "runs"):
            require_positive(f"model.{key}", getattr(self, key), allow_none=False)


@dataclass
class AnnealingModel(RandomSearchModel):
    """``conf/model/hypernet/annealing.yaml``."""

    _target_: str = "qmlrepro.papers.hypernet.baselines.SimulatedAnnealing"
    t_start: float = 0.1
    t_end: float = 1e-4

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.t_start >= self.t_end > 0:
            raise ConfigError(
                f"model.t_start={self.t_start}, model.t_end={self.t_end}: annealing needs "
                "t_start >= t_end > 0"
            )


@dataclass
class CircuitSearchModel:
    """``conf/model/hypernet/circuit.yaml`` (its depths and optimiser come from ``paper``)."""

    _target_: str = "qmlrepro.papers.hypernet.search.HypernetworkSearch"
    depths: list[int] = field(default_factory=list)
    lbfgs: Any = None
    starts: int = 30
    batch_amplitudes: int = 1 << 16
    loose_tolerance: float = 1e-4
    local_minimum_gap: float = 1e-5

    def __post_init__(self) -> None:
        require_positive_list("model.depths", self.depths, allow_none=False)
        for key in ("starts", "batch_amplitudes"):
            require_positive(f"model.{key}", getattr(self, key), allow_none=False)


SCHEMAS = {"hypernet_schema": HypernetConfig}
MODEL_SCHEMAS = {
    "random_search_schema": RandomSearchModel,
    "annealing_schema": AnnealingModel,
    "circuit_schema": CircuitSearchModel,
}
