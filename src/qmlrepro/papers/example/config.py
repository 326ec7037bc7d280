"""Schema of ``conf/paper/example.yaml``."""

from dataclasses import dataclass

from qmlrepro.config.schema import PaperConfig, require_positive
from qmlrepro.errors import ConfigError


@dataclass
class ExampleConfig(PaperConfig):
    _target_: str = "qmlrepro.papers.example.experiment.GaussianClassifierExperiment"
    id: str = "example"
    steps: int = 200
    batch_size: int = 128
    lr: float = 0.05
    log_every: int = 10
    checkpoint_every: int = 50

    def __post_init__(self) -> None:
        for key in ("steps", "batch_size", "log_every", "checkpoint_every"):
            require_positive(f"paper.{key}", getattr(self, key), allow_none=False)
        if not self.lr > 0:
            raise ConfigError(f"paper.lr={self.lr} must be > 0")


SCHEMAS = {"example_schema": ExampleConfig}
