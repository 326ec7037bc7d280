"""Schema of ``conf/paper/qresnet.yaml``."""

from dataclasses import dataclass, field

from qmlrepro.config.schema import (
    PaperConfig,
    require_above_zero,
    require_positive,
    require_positive_list,
)
from qmlrepro.errors import ConfigError


@dataclass
class QresnetConfig(PaperConfig):
    _target_: str = "qmlrepro.papers.qresnet.experiment.QresnetExperiment"
    id: str = "qresnet"
    # gate-level verification
    block_degrees: list[int] = field(default_factory=lambda: [1, 3, 5, 7, 9, 13])
    block_inputs: int = 2  # random (input, kernel) pairs per seed on a 2x2 image
    qsvt_degrees: list[int] = field(default_factory=lambda: [3, 5, 9, 15, 25])
    # operator-level scaling
    scaling_sides: list[int] = field(default_factory=lambda: [2, 4, 8, 16, 32])
    scaling_blocks: list[int] = field(default_factory=lambda: [1, 2, 3])
    scaling_epsilon: float = 1e-3
    # the MNIST network
    channels: int = 4
    blocks: int = 2
    steps: int = 800
    batch_size: int = 128
    lr: float = 0.01
    log_every: int = 20
    checkpoint_every: int = 200
    emulation_degrees: list[int] = field(default_factory=lambda: [1, 3, 5, 7, 9, 15])
    emulation_shots: list[int] = field(default_factory=lambda: [10, 100, 1000, 10000])
    n_test: int | None = None

    def __post_init__(self) -> None:
        for key in ("block_inputs", "channels", "blocks", "steps", "batch_size"):
            require_positive(f"paper.{key}", getattr(self, key), allow_none=False)
        for key in ("log_every", "checkpoint_every"):
            require_positive(f"paper.{key}", getattr(self, key), allow_none=False)
        require_positive("paper.n_test", self.n_test)
        require_above_zero("paper.lr", self.lr)
        for key in ("scaling_sides", "scaling_blocks", "emulation_shots"):
            require_positive_list(f"paper.{key}", getattr(self, key), allow_none=False)
        for key in ("block_degrees", "qsvt_degrees", "emulation_degrees"):
            if not getattr(self, key) or any(d < 1 or d % 2 == 0 for d in getattr(self, key)):
                raise ConfigError(f"paper.{key}={getattr(self, key)}: QSVT degrees must be odd")
        if not 0 < self.scaling_epsilon < 1:
            raise ConfigError(f"paper.scaling_epsilon={self.scaling_epsilon} must be in (0, 1)")


@dataclass
class VerificationModel:
    """``conf/model/qresnet/verify.yaml`` (sized by ``paper``)."""

    _target_: str = "qmlrepro.papers.qresnet.studies.Verification"


@dataclass
class NetworkModel:
    """``conf/model/qresnet/{network,cnn}.yaml`` (sized by ``paper``)."""

    _target_: str = "qmlrepro.papers.qresnet.studies.NetworkStudy"
    quantum: bool = True


SCHEMAS = {"qresnet_schema": QresnetConfig}
MODEL_SCHEMAS = {"verify_schema": VerificationModel, "network_schema": NetworkModel}
