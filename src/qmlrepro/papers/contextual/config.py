"""Schema of ``conf/paper/contextual.yaml``."""

from dataclasses import dataclass, field
from typing import Any

from qmlrepro.config.schema import (
    PaperConfig,
    require_above_zero,
    require_choice,
    require_non_negative,
    require_positive,
    require_positive_list,
)
from qmlrepro.errors import ConfigError


@dataclass
class ContextualConfig(PaperConfig):
    _target_: str = "qmlrepro.papers.contextual.experiment.ContextualExperiment"
    id: str = "contextual"
    epochs: int = 20
    batch_size: int = 128
    kl_threshold: float = 0.01  # nats per outcome: d* is the smallest size reaching it
    n_train: int | None = None  # training sequences per task (null: all prepared)
    val_fraction: float = 0.1  # of the training sequences (disjoint angles): early stopping
    # test sequences per task run through a backend (evaluation.<backend>.inputs overrides it)
    eval_sequences: int = 64
    # shots there: the default and paper profiles' evaluation node sweeps every backend with
    # shots at this value (records with dimension shots); null (smoke): the backend's own
    eval_shots: int | None = None
    lr_budget: int | None = None  # the first N learning rates of each model's sweep (null: all)
    sizes: list[int] = field(default_factory=lambda: [2, 4, 8, 16, 32, 64])  # classical memory
    # training targets: "exact" conditionals (soft targets, every model) or "sampled" outcomes
    targets: str = "exact"
    # stop a try after this many epochs without a better validation KL (null: all epochs);
    # a try that used every epoch is recorded as not converged
    patience: int | None = 3
    # population training (a sweep with population: true, the m-bit bottleneck): optimiser
    # steps on fresh draws from all 2^C hypergraphs of binary tasks with C <= the maximum, and
    # fresh sequences for the population KL
    population_steps: int = 1500
    population_eval: int = 4096
    population_max_hyperedges: int = 10

    def __post_init__(self) -> None:
        for key in ("epochs", "batch_size"):
            require_positive(f"paper.{key}", getattr(self, key), allow_none=False)
        require_positive("paper.n_train", self.n_train)
        require_positive("paper.eval_sequences", self.eval_sequences, allow_none=False)
        require_positive("paper.eval_shots", self.eval_shots)
        require_positive("paper.lr_budget", self.lr_budget)
        require_positive("paper.patience", self.patience)
        for key in ("population_steps", "population_eval", "population_max_hyperedges"):
            require_positive(f"paper.{key}", getattr(self, key), allow_none=False)
        require_choice("paper.targets", self.targets, ("exact", "sampled"))
        if not 0 < self.val_fraction < 1:
            raise ConfigError(f"paper.val_fraction={self.val_fraction} must be in (0, 1)")
        require_positive_list("paper.sizes", self.sizes, allow_none=False)
        require_above_zero("paper.kl_threshold", self.kl_threshold)


def check_sweep(sweep: Any) -> None:
    """``model.sweep``: sizes (null: the model's own fixed memory) or bits_below_edges (m =
    C(n, k) - j per task), learning rates, restarts, and optionally the angle alphabets of the
    tasks it trains on (``angles``; null: every task), ``population`` (train on the task
    distribution, see ``fit_population``) and ``gradient_variance`` (random initialisations for
    the barren-plateau diagnostic; null: none)."""
    if not sweep or not sweep.get("lrs"):
        raise ConfigError("model.sweep.lrs is empty; list at least one learning rate")
    for i, lr in enumerate(sweep["lrs"]):
        require_above_zero(f"model.sweep.lrs[{i}]", lr)
    require_positive_list("model.sweep.sizes", sweep.get("sizes"))
    for i, j in enumerate(sweep.get("bits_below_edges") or []):
        require_non_negative(f"model.sweep.bits_below_edges[{i}]", j)
    require_positive("model.sweep.gradient_variance", sweep.get("gradient_variance"))
    if not isinstance(sweep.get("population", False), bool):
        raise ConfigError(f"model.sweep.population={sweep.get('population')!r} must be true/false")
    for i, name in enumerate(sweep.get("angles") or []):
        require_choice(f"model.sweep.angles[{i}]", name, ("binary", "continuous"))
    require_positive("model.sweep.restarts", sweep.get("restarts"))


@dataclass
class RecurrentModel:
    """``conf/model/contextual/{gru,lstm}.yaml``."""

    _target_: str = "qmlrepro.papers.contextual.models.RecurrentBaseline"
    cell: str = "gru"
    sweep: Any = None

    def __post_init__(self) -> None:
        require_choice("model.cell", self.cell, ("gru", "lstm"))
        check_sweep(self.sweep)


@dataclass
class QuantumHrnnModel:
    """``conf/model/contextual/quantum.yaml``."""

    _target_: str = "qmlrepro.papers.contextual.models.QuantumHRNN"
    init: str = "random"
    cell_init: float = 0.1
    sweep: Any = None

    def __post_init__(self) -> None:
        require_choice("model.init", self.init, ("random", "generator"))
        require_non_negative("model.cell_init", self.cell_init)
        check_sweep(self.sweep)


@dataclass
class BottleneckModel:
    """``conf/model/contextual/bottleneck.yaml``: the m-bit bottleneck, m = C(n, k) - j."""

    _target_: str = "qmlrepro.papers.contextual.models.BitBottleneck"
    encoder: int = 128
    decoder: int = 64
    sweep: Any = None

    def __post_init__(self) -> None:
        require_positive("model.encoder", self.encoder, allow_none=False)
        require_positive("model.decoder", self.decoder, allow_none=False)
        check_sweep(self.sweep)


@dataclass
class MemoryProbeModel:
    """``conf/model/contextual/probe.yaml``: the exact m-bit memory probe (no training); the
    options are :func:`~qmlrepro.papers.contextual.probe.memory_bounds`'s."""

    _target_: str = "qmlrepro.papers.contextual.probe.memory_bounds"
    probe: bool = True
    max_hyperedges: int = 15  # 2^C hypergraphs are enumerated: larger tasks are skipped
    matching_max_nodes: int = 256
    kmeans_max_ops: float = 2e9
    kmeans_max_bytes: float = 1.2e9
    lower: str = "nearest"

    def __post_init__(self) -> None:
        require_positive("model.max_hyperedges", self.max_hyperedges, allow_none=False)
        if self.max_hyperedges > 20:
            raise ConfigError(
                f"model.max_hyperedges={self.max_hyperedges}: at most 20 (2^20 hypergraphs)"
            )
        require_positive("model.matching_max_nodes", self.matching_max_nodes, allow_none=False)
        require_above_zero("model.kmeans_max_ops", self.kmeans_max_ops)
        require_above_zero("model.kmeans_max_bytes", self.kmeans_max_bytes)
        require_choice("model.lower", self.lower, ("nearest", "none"))


@dataclass
class TransformerModel:
    """``conf/model/contextual/transformer.yaml``."""

    _target_: str = "qmlrepro.papers.contextual.models.CausalTransformer"
    layers: int = 2
    sweep: Any = None

    def __post_init__(self) -> None:
        require_positive("model.layers", self.layers, allow_none=False)
        check_sweep(self.sweep)


SCHEMAS = {"contextual_schema": ContextualConfig}
MODEL_SCHEMAS = {
    "recurrent_schema": RecurrentModel,
    "quantum_schema": QuantumHrnnModel,
    "transformer_schema": TransformerModel,
    "bottleneck_schema": BottleneckModel,
    "probe_schema": MemoryProbeModel,
}
