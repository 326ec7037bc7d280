"""Schemas of the dataset group (kept free of torch so composing a config stays fast)."""

from dataclasses import dataclass, field

from qmlrepro.config.schema import (
    DatasetConfig,
    require_choice,
    require_positive,
    require_seed,
)
from qmlrepro.errors import ConfigError


def require_digits(name: str, digits: list[int] | None) -> None:
    """null (all ten) or a non-empty list of distinct class ids 0-9."""
    if digits is not None and (
        not digits or len(set(digits)) != len(digits) or not all(0 <= d <= 9 for d in digits)
    ):
        raise ConfigError(f"{name}={digits} must be distinct digits 0-9 (or null for all)")


@dataclass
class MnistVariantConfig:
    size: int = 28
    resize: str = "none"  # none | pad | bilinear
    digits: list[int] | None = None


@dataclass
class MnistConfig(DatasetConfig):
    name: str = "mnist"
    processed_dir: str = "data/mnist"
    root: str | None = (
        None  # offline root holding MNIST/raw/; else $QMLREPRO_DATA_ROOT; else download
    )
    download: bool = True
    download_root: str = "data/raw"
    verify_checksums: bool = True
    variant: str = "x28"  # the prepared variant a run reads
    digits: list[int] | None = None  # the classes a run uses (null: all in the variant)
    variants: dict[str, MnistVariantConfig] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__post_init__()
        for name, spec in self.variants.items():
            require_choice(
                f"dataset.variants.{name}.resize", spec.resize, ("none", "pad", "bilinear")
            )
            require_positive(f"dataset.variants.{name}.size", spec.size, allow_none=False)
            require_digits(f"dataset.variants.{name}.digits", spec.digits)
        if self.variants and self.variant not in self.variants:
            raise ConfigError(
                f"dataset.variant={self.variant} is not a prepared variant; "
                f"choose one of {', '.join(self.variants)}"
            )
        require_digits("dataset.digits", self.digits)


@dataclass
class GaussianConfig(DatasetConfig):
    name: str = "gaussian"
    processed_dir: str = "data/gaussian"
    n_points_train: int = 10_000
    n_points_test: int = 10_000
    seed: int = 2023

    def __post_init__(self) -> None:
        super().__post_init__()
        require_positive("dataset.n_points_train", self.n_points_train, allow_none=False)
        require_positive("dataset.n_points_test", self.n_points_test, allow_none=False)
        require_seed("dataset.seed", self.seed)


@dataclass
class SequenceTaskConfig:
    """One task; null fields take the dataset-level value (``theta_levels`` included)."""

    n: int = 4
    k: int = 2
    theta_levels: int | None = None
    n_train_thetas: int | None = None
    n_test_thetas: int | None = None


@dataclass
class SequenceConfig(DatasetConfig):
    name: str = "sequence"
    processed_dir: str = "data/sequence"
    tasks: list[SequenceTaskConfig] = field(default_factory=list)
    n_train_thetas: int = 256
    n_test_thetas: int = 64
    sequences_per_theta: int = 8
    theta_levels: int | None = None  # null: continuous angles in [0, 2 pi)
    seed: int = 7

    def task_value(self, task: SequenceTaskConfig, key: str) -> int | None:
        """A task's own ``key`` (theta_levels, n_train_thetas, n_test_thetas), else the
        dataset's."""
        own = getattr(task, key)
        return getattr(self, key) if own is None else own

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.tasks:
            raise ConfigError("dataset.tasks is empty; list at least one {n, k}")
        for i, task in enumerate(self.tasks):
            if not 1 <= task.k <= task.n <= 16:
                raise ConfigError(
                    f"dataset.tasks[{i}] = (n={task.n}, k={task.k}) needs 1 <= k <= n <= 16"
                )
            for key in ("n_train_thetas", "n_test_thetas"):
                require_positive(f"dataset.tasks[{i}].{key}", getattr(task, key))
            if task.theta_levels is not None and task.theta_levels < 2:
                raise ConfigError(
                    f"dataset.tasks[{i}].theta_levels={task.theta_levels} must be >= 2 or null"
                )
        for key in ("n_train_thetas", "n_test_thetas", "sequences_per_theta"):
            require_positive(f"dataset.{key}", getattr(self, key), allow_none=False)
        require_seed("dataset.seed", self.seed)
        if self.theta_levels is not None and self.theta_levels < 2:
            raise ConfigError(f"dataset.theta_levels={self.theta_levels} must be >= 2 or null")


@dataclass
class Cifar10Config(DatasetConfig):
    name: str = "cifar10"
    processed_dir: str = "data/cifar10"
    root: str = "data/raw"
    download: bool = True
    verify_checksums: bool = True
    classes: list[int] = field(default_factory=lambda: [0, 1, 2, 3, 4])

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.classes or len(set(self.classes)) != len(self.classes):
            raise ConfigError(f"dataset.classes={self.classes} must be distinct CIFAR-10 class ids")
        if not all(0 <= c <= 9 for c in self.classes):
            raise ConfigError(f"dataset.classes={self.classes} must be CIFAR-10 class ids 0-9")
