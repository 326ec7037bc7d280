"""Schema of ``conf/paper/qssl.yaml``."""

from dataclasses import dataclass, field

from qmlrepro.config.schema import PaperConfig, require_positive
from qmlrepro.errors import ConfigError


@dataclass
class AugmentConfig:
    """torchvision-named augmentation settings (see qmlrepro.data.augment.AugmentSpec)."""

    crop_scale: list[float] = field(default_factory=lambda: [0.2, 1.0])
    jitter: list[float] = field(default_factory=lambda: [0.4, 0.4, 0.4, 0.1])
    jitter_p: float = 0.8
    grayscale_p: float = 0.2
    flip_p: float = 0.5
    mean: list[float] = field(default_factory=lambda: [0.5])
    std: list[float] = field(default_factory=lambda: [0.5])


@dataclass
class ProbeConfig:
    """Linear probe on the frozen encoder (the paper: 100 epochs, Adam 1e-3, lr/10 at 60, 80)."""

    n_train: int | None = None  # training images the probe sees (null: all)
    n_test: int | None = None  # test images it is scored on (null: all)
    epochs: int = 100
    lr: float = 1e-3
    milestones: list[int] = field(default_factory=lambda: [60, 80])
    batch_size: int = 256
    augment: bool = False  # true: fresh augmented views every epoch (the paper's protocol)


@dataclass
class QsslConfig(PaperConfig):
    _target_: str = "qmlrepro.papers.qssl.experiment.QsslExperiment"
    id: str = "qssl"
    width: int = 8
    steps: int = 176
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 1e-6
    temperature: float = 0.07
    projection_dim: int = 128
    log_every: int = 5
    checkpoint_every: int = 20
    eval_images: int | None = None  # test images the evaluate stage classifies (null: all)
    eval_batch: int = 500
    probe: ProbeConfig = field(default_factory=ProbeConfig)
    augment: dict[str, AugmentConfig] = field(default_factory=dict)  # per dataset name

    def __post_init__(self) -> None:
        for key in ("width", "steps", "batch_size", "projection_dim", "log_every"):
            require_positive(f"paper.{key}", getattr(self, key), allow_none=False)
        require_positive("paper.checkpoint_every", self.checkpoint_every, allow_none=False)
        require_positive("paper.eval_images", self.eval_images)
        require_positive("paper.probe.n_train", self.probe.n_train)
        require_positive("paper.probe.n_test", self.probe.n_test)
        require_positive("paper.probe.epochs", self.probe.epochs, allow_none=False)
        if self.batch_size < 2:
            raise ConfigError("paper.batch_size must be >= 2: NT-Xent needs negatives")
        for name in ("lr", "temperature"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"paper.{name}={getattr(self, name)} must be > 0")


SCHEMAS = {"qssl_schema": QsslConfig}
