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
    sizes: list[int] = field(default_factory=lambda: [2, 4, 8, 16, 32, 64])  # classical memory

    def __post_init__(self) -> None:
        for key in ("epochs", "batch_size"):
            require_positive(f"paper.{key}", getattr(self, key), allow_none=False)
        require_positive("paper.n_train", self.n_train)
        if not self.sizes or min(self.sizes) < 1:
            raise ConfigError(f"paper.sizes={self.sizes} must be a non-empty list of sizes >= 1")
        if not self.kl_threshold > 0:
            raise ConfigError(f"paper.kl_threshold={self.kl_threshold} must be > 0")


SCHEMAS = {"contextual_schema": ContextualConfig}
