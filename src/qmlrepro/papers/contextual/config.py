"""Schema of ``conf/paper/contextual.yaml``."""

from dataclasses import dataclass, field

from qmlrepro.config.schema import PaperConfig, require_positive
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
    eval_sequences: int = 64  # test sequences per task run through a Qiskit backend
    eval_shots: int | None = None  # shots there (null: the backend's own)
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
        if not self.sizes or min(self.sizes) < 1:
            raise ConfigError(f"paper.sizes={self.sizes} must be a non-empty list of sizes >= 1")
        if not self.kl_threshold > 0:
            raise ConfigError(f"paper.kl_threshold={self.kl_threshold} must be > 0")


SCHEMAS = {"contextual_schema": ContextualConfig}
