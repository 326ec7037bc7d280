"""Schema of ``conf/paper/example.yaml``."""

from dataclasses import dataclass

from qmlrepro.config.schema import PaperConfig, require_above_zero, require_positive
from qmlrepro.errors import ConfigError

GAUSSIAN_FEATURES = 2  # qmlrepro.data.gaussian draws 2-D points


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
        require_above_zero("paper.lr", self.lr)


@dataclass
class LogisticModel:
    """``conf/model/example/logistic.yaml``."""

    _target_: str = "qmlrepro.papers.example.models.LogisticRegression"
    in_features: int = 2

    def __post_init__(self) -> None:
        if self.in_features != GAUSSIAN_FEATURES:
            raise ConfigError(
                f"model.in_features={self.in_features}: the example's Gaussian mixture has "
                f"{GAUSSIAN_FEATURES} features; leave model.in_features={GAUSSIAN_FEATURES}"
            )


@dataclass
class MlpModel(LogisticModel):
    """``conf/model/example/mlp.yaml``."""

    _target_: str = "qmlrepro.papers.example.models.MLP"
    hidden: int = 8

    def __post_init__(self) -> None:
        super().__post_init__()
        require_positive("model.hidden", self.hidden, allow_none=False)


SCHEMAS = {"example_schema": ExampleConfig}
MODEL_SCHEMAS = {"logistic_schema": LogisticModel, "mlp_schema": MlpModel}
