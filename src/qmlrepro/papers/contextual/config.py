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

    def __post_init__(self) -> None:
        for key in ("epochs", "batch_size"):
            require_positive(f"paper.{key}", getattr(self, key), allow_none=False)
        require_positive("paper.n_train", self.n_train)
        require_positive("paper.eval_sequences", self.eval_sequences, allow_none=False)
        require_positive("paper.eval_shots", self.eval_shots)
        require_positive("paper.lr_budget", self.lr_budget)
        if not 0 < self.val_fraction < 1:
            raise ConfigError(f"paper.val_fraction={self.val_fraction} must be in (0, 1)")
        require_positive_list("paper.sizes", self.sizes, allow_none=False)
        require_above_zero("paper.kl_threshold", self.kl_threshold)


def check_sweep(sweep: Any) -> None:
    """``model.sweep``: sizes (null: the model's own fixed memory), learning rates, restarts."""
    if not sweep or not sweep.get("lrs"):
        raise ConfigError("model.sweep.lrs is empty; list at least one learning rate")
    for i, lr in enumerate(sweep["lrs"]):
        require_above_zero(f"model.sweep.lrs[{i}]", lr)
    require_positive_list("model.sweep.sizes", sweep.get("sizes"))
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
    cell_init: float = 0.1
    sweep: Any = None

    def __post_init__(self) -> None:
        require_non_negative("model.cell_init", self.cell_init)
        check_sweep(self.sweep)


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
}
