"""Schemas for the config groups shared by every paper.

Types are checked by OmegaConf when a YAML file or an override is merged; value ranges are checked
in ``__post_init__``, which runs when :func:`qmlrepro.config.compose.compose_config` turns the
composed tree into objects, before any work starts.
"""

from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING

from qmlrepro.errors import ConfigError

DEVICES = ("auto", "cpu", "cuda")
DTYPES = ("float32", "float64")


def require_positive(name: str, value: int | None, allow_none: bool = True) -> None:
    if value is None and allow_none:
        return
    if value is None or value < 1:
        raise ConfigError(
            f"{name}={value} must be a positive integer (override {name}=<N>, N >= 1)"
        )


def require_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{name}={value} is not one of {', '.join(choices)}")


@dataclass
class ProfileConfig:
    """How big a run is: ``smoke`` (seconds), ``default`` (CPU-sized, faithful), ``paper``."""

    name: str = MISSING
    description: str = ""
    seeds: list[int] = field(default_factory=lambda: [0])
    torch_threads: int = 1  # threads per process; numbers are bit-identical for a fixed count

    def __post_init__(self) -> None:
        if not self.seeds:
            raise ConfigError(
                "profile.seeds is empty; give at least one seed, e.g. profile.seeds=[0]"
            )
        require_positive("profile.torch_threads", self.torch_threads, allow_none=False)
        if len(set(self.seeds)) != len(self.seeds) or min(self.seeds) < 0:
            raise ConfigError(f"profile.seeds={self.seeds} must be distinct non-negative integers")


@dataclass
class TrackingConfig:
    """MLflow store; ``uri: null`` means $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db."""

    uri: str | None = None


@dataclass
class BackendConfig:
    """Where circuits and models run. Models read this; they never branch on its name."""

    name: str = MISSING
    device: str = "auto"
    dtype: str = "float32"
    shots: int | None = None  # torch backends: sample estimates + shot-based parameter shift
    seed: int | None = None
    executor: Any = None  # Qiskit backends: _target_ of a qmlrepro.quantum executor and its options

    def __post_init__(self) -> None:
        require_choice("backend.device", self.device, DEVICES)
        require_choice("backend.dtype", self.dtype, DTYPES)
        require_positive("backend.shots", self.shots)
        if self.executor:
            self._preflight(dict(self.executor))

    @staticmethod
    def _preflight(executor: dict) -> None:
        """Fail before any work: an unknown fake device, an optimisation level outside 0-3, or
        hardware without credentials."""
        from qmlrepro.quantum.ibm_runtime import require_credentials
        from qmlrepro.quantum.qiskit_executors import check_optimization_level, fake_backend

        if "optimization_level" in executor:
            check_optimization_level(executor["optimization_level"])
        if "noise_backend" in executor:
            fake_backend(executor["noise_backend"])
        if str(executor.get("_target_", "")).endswith("IBMRuntime"):
            if executor.get("local"):
                fake_backend(executor["device"])
            else:
                require_credentials()


@dataclass
class DatasetConfig:
    """Fields every dataset has; ``n_train``/``n_test`` cap what a run uses (null: all)."""

    name: str = MISSING
    processed_dir: str = MISSING
    n_train: int | None = None
    n_test: int | None = None

    def __post_init__(self) -> None:
        require_positive("dataset.n_train", self.n_train)
        require_positive("dataset.n_test", self.n_test)


@dataclass
class PaperConfig:
    """Fields every paper has; a paper's own schema subclasses this."""

    _target_: str = MISSING
    id: str = MISSING
    title: str = ""


@dataclass
class RunConfig:
    """The composed configuration of one stage run."""

    paper: Any = MISSING
    model: Any = None
    dataset: Any = MISSING
    backend: BackendConfig = MISSING
    profile: ProfileConfig = MISSING
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    job: str | None = None  # names the DVC train job: results/{checkpoints,metrics}/<job>/
    results_dir: str = "results"
    # Profiles this job trains in (null: all). A DVC graph is the same in every profile, so a
    # job meant for one profile only (an ablation at the paper's scale) records "skipped" in others.
    run_in_profiles: list[str] | None = None
    seed: int | None = None  # train this seed only, not the profile's list (sweeps: seed=0,1,2)
    torch_threads: int | None = None  # CPU threads (torch and BLAS); the profile's by default

    def __post_init__(self) -> None:
        check_run_options(self.seed, self.torch_threads)


def check_run_options(seed: int | None, torch_threads: int | None) -> None:
    """The root keys' ranges (the composed root is validated as a plain node, not a RunConfig)."""
    if seed is not None and seed < 0:
        raise ConfigError(f"seed={seed} must be a non-negative integer")
    require_positive("torch_threads", torch_threads)
