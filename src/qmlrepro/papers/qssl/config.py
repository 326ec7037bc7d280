"""Schema of ``conf/paper/qssl.yaml``."""

from dataclasses import dataclass, field
from typing import Any

from qmlrepro.config.schema import (
    PaperConfig,
    require_above_zero,
    require_non_negative,
    require_positive,
    require_probability,
)
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

    def check(self, name: str) -> None:
        prefix = f"paper.augment.{name}"
        for key in ("jitter_p", "grayscale_p", "flip_p"):
            require_probability(f"{prefix}.{key}", getattr(self, key))
        if len(self.crop_scale) != 2 or not 0 < self.crop_scale[0] <= self.crop_scale[1] <= 1:
            raise ConfigError(
                f"{prefix}.crop_scale={self.crop_scale} must be [low, high], 0 < low <= high <= 1"
            )
        if len(self.jitter) != 4 or min(self.jitter) < 0 or self.jitter[3] > 0.5:
            raise ConfigError(
                f"{prefix}.jitter={self.jitter} must be [brightness, contrast, saturation, hue] "
                ">= 0 with hue <= 0.5"
            )
        if len(self.mean) != len(self.std) or not self.std or min(self.std) <= 0:
            raise ConfigError(
                f"{prefix}.mean={self.mean} / std={self.std} need one value per channel, std > 0"
            )


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
    # The converged probe: standardised features, multinomial logistic regression (L-BFGS) to
    # convergence; its inverse L2 strength C is picked from c_grid on n_val validation images
    # (training images after the probe's n_train, never test images).
    n_val: int = 1000
    c_grid: list[float] = field(default_factory=lambda: [0.01, 0.1, 1.0, 10.0, 100.0])
    max_iter: int = 1000
    tol: float = 1e-6

    def check(self) -> None:
        require_positive("paper.probe.n_train", self.n_train)
        require_positive("paper.probe.n_test", self.n_test)
        require_positive("paper.probe.n_val", self.n_val, allow_none=False)
        require_positive("paper.probe.max_iter", self.max_iter, allow_none=False)
        require_above_zero("paper.probe.tol", self.tol)
        if not self.c_grid or min(self.c_grid) <= 0:
            raise ConfigError(f"paper.probe.c_grid={self.c_grid} must list values > 0")
        for key in ("epochs", "batch_size"):
            require_positive(f"paper.probe.{key}", getattr(self, key), allow_none=False)
        require_above_zero("paper.probe.lr", self.lr)
        if any(not 0 < m < self.epochs for m in self.milestones):
            raise ConfigError(
                f"paper.probe.milestones={self.milestones} must be epochs between 1 and "
                f"paper.probe.epochs - 1 = {self.epochs - 1}"
            )


@dataclass
class QsslConfig(PaperConfig):
    _target_: str = "qmlrepro.papers.qssl.experiment.QsslExperiment"
    id: str = "qssl"
    width: int = 8
    steps: int = 176  # 0: no SimCLR training (the random-initialisation control)
    calibrate_batches: int = 20  # steps = 0: augmented batches that set BatchNorm statistics
    batch_size: int = 256
    lr: float = 1e-3
    # Learning-rate selection. lr_grid (a tuning job): each seed pre-trains once per lr and
    # records the converged probe's validation accuracy. lr_from (a comparison job): the lr of
    # that tuning job's best mean validation accuracy over its seeds replaces paper.lr.
    lr_grid: list[float] = field(default_factory=list)
    lr_from: str | None = None
    weight_decay: float = 1e-6
    temperature: float = 0.07
    projection_dim: int | None = None  # null: W, as the authors' code; 128: standard SimCLR
    keep_model: bool = True  # false: the final checkpoint keeps probes and records, no weights
    log_every: int = 5
    checkpoint_every: int = 20
    eval_images: int | None = None  # test images the evaluate stage classifies (null: all)
    eval_batch: int = 500
    probe: ProbeConfig = field(default_factory=ProbeConfig)
    augment: dict[str, AugmentConfig] = field(default_factory=dict)  # per dataset name

    def __post_init__(self) -> None:
        for key in ("width", "batch_size", "log_every", "calibrate_batches"):
            require_positive(f"paper.{key}", getattr(self, key), allow_none=False)
        require_non_negative("paper.steps", self.steps)
        require_positive("paper.projection_dim", self.projection_dim)
        if any(lr <= 0 for lr in self.lr_grid):
            raise ConfigError(f"paper.lr_grid={self.lr_grid} must list learning rates > 0")
        if self.lr_grid and self.lr_from:
            raise ConfigError("paper.lr_grid (a tuning job) and paper.lr_from cannot both be set")
        if self.lr_grid and self.steps == 0:
            raise ConfigError("paper.lr_grid with paper.steps=0: nothing trains, nothing to tune")
        require_positive("paper.checkpoint_every", self.checkpoint_every, allow_none=False)
        require_positive("paper.eval_images", self.eval_images)
        require_positive("paper.eval_batch", self.eval_batch, allow_none=False)
        self.probe.check()
        for name, augment in self.augment.items():
            augment.check(name)
        if self.batch_size < 2:
            raise ConfigError("paper.batch_size must be >= 2: NT-Xent needs negatives")
        for name in ("lr", "temperature"):
            require_above_zero(f"paper.{name}", getattr(self, name))
        require_non_negative("paper.weight_decay", self.weight_decay)


@dataclass
class ClassicalModel:
    """``conf/model/qssl/classical*.yaml`` and ``identity.yaml`` (``layers: 0``)."""

    _target_: str = "qmlrepro.papers.qssl.models.ClassicalRepresentation"
    width: int = 8
    layers: int = 2
    activation: str = "leaky_relu"

    def __post_init__(self) -> None:
        from qmlrepro.papers.qssl.models import ACTIVATIONS

        require_positive("model.width", self.width, allow_none=False)
        require_non_negative("model.layers", self.layers)
        if self.activation not in ACTIVATIONS:
            raise ConfigError(
                f"model.activation={self.activation!r}: use one of {', '.join(ACTIVATIONS)}"
            )


@dataclass
class QuantumModel:
    """``conf/model/qssl/quantum_*.yaml``: ``circuit`` is an ansatz builder of W qubits."""

    _target_: str = "qmlrepro.papers.qssl.models.QuantumRepresentation"
    width: int = 8
    circuit: Any = None

    def __post_init__(self) -> None:
        require_positive("model.width", self.width, allow_none=False)
        if not self.circuit or not self.circuit.get("_target_"):
            raise ConfigError("model.circuit needs a _target_ (an ansatz builder)")
        for key in ("n", "layers"):
            require_positive(f"model.circuit.{key}", self.circuit.get(key))
        if self.circuit.get("n") not in (None, self.width):
            raise ConfigError(
                f"model.circuit.n={self.circuit['n']} must equal model.width={self.width} "
                "(one qubit per feature)"
            )


SCHEMAS = {"qssl_schema": QsslConfig}
MODEL_SCHEMAS = {"classical_schema": ClassicalModel, "quantum_schema": QuantumModel}
