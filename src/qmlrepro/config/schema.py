"""Schemas for the config groups shared by every paper.

Types are checked by OmegaConf when a YAML file or an override is merged; value ranges are checked
in ``__post_init__``, which runs when :func:`qmlrepro.config.compose.compose_config` turns the
composed tree into objects, before any work starts.
"""

import importlib
import inspect
import math
import re
from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING

from qmlrepro.errors import ConfigError

DEVICES = ("auto", "cpu", "cuda")
DTYPES = ("float32", "float64")
# numpy's legacy seeding (np.random.seed, which seed_everything calls) and Aer accept 32 bits.
MAX_SEED = 2**32 - 1
# A sanity bound, not a core count: a profile may oversubscribe a small machine, but 100,000
# threads exhausted memory inside MLflow's import (measured) instead of failing as a config error.
MAX_THREADS = 1024
# A job name is a folder under results/checkpoints and results/metrics and part of MLflow run names:
# no path separators, leading dots or '..' (so `../x` cannot leave results/), and at most 240
# characters: below the 255-byte file-name limit, above sweep.job_name's 206.
JOB_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,239}")
IBM_CHANNELS = ("ibm_quantum_platform", "ibm_cloud", "local")


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


def require_range(name: str, value: float | None, low: float, high: float) -> None:
    """``low <= value <= high`` (None passes: optional settings say null for "the default")."""
    if value is not None and not low <= value <= high:
        raise ConfigError(f"{name}={value} must be between {low} and {high} (override {name}=<x>)")


def require_probability(name: str, value: float | None) -> None:
    require_range(name, value, 0, 1)


def require_above_zero(name: str, value: float | None) -> None:
    """A rate, temperature or tolerance that must be strictly positive and finite (an infinite
    learning rate trains to NaN without an error)."""
    if value is not None and not (value > 0 and math.isfinite(value)):
        raise ConfigError(f"{name}={value} must be a finite number > 0")


def require_non_negative(name: str, value: float | None) -> None:
    if value is not None and not value >= 0:
        raise ConfigError(f"{name}={value} must be >= 0")


def require_seed(name: str, value: int | None) -> None:
    if value is not None and not 0 <= value <= MAX_SEED:
        raise ConfigError(
            f"{name}={value} must be a non-negative integer of at most 32 bits (0..{MAX_SEED})"
        )


def require_positive_list(name: str, values: list[int] | None, allow_none: bool = True) -> None:
    """A non-empty list of integers >= 1 (sizes, depths, shot counts)."""
    if values is None and allow_none:
        return
    if not values or min(values) < 1:
        raise ConfigError(f"{name}={values} must be a non-empty list of integers >= 1")


def require_job_name(job: str | None) -> None:
    name = "" if job is None else str(job)
    if job is not None and (not JOB_NAME.fullmatch(name) or ".." in name):
        shown = name if len(name) <= 40 else f"{name[:40]}... ({len(name)} characters)"
        raise ConfigError(
            f"job={shown} is not a valid job name: use 1-240 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (no '/' or '..')"
        )


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
        for i, seed in enumerate(self.seeds):
            require_seed(f"profile.seeds[{i}]", seed)


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
    executor: Any = None  # _target_ of a qmlrepro.quantum executor and its options (required)

    def __post_init__(self) -> None:
        require_choice("backend.device", self.device, DEVICES)
        require_choice("backend.dtype", self.dtype, DTYPES)
        require_positive("backend.shots", self.shots)
        require_seed("backend.seed", self.seed)
        if not self.executor:
            raise ConfigError(
                f"backend {self.name} has no executor; give backend.executor._target_ (an "
                "executor class, e.g. qmlrepro.quantum.torch_executor.TorchStatevector) and its "
                "options, as conf/backend/*.yaml do"
            )
        executor = dict(self.executor)
        cls = check_executor_options(executor)
        for key in getattr(cls, "RESTATES", RESTATED):
            if key in executor and executor[key] != getattr(self, key):
                raise ConfigError(
                    f"backend.executor.{key}={executor[key]} differs from backend.{key}="
                    f"{getattr(self, key)}; set backend.{key} (the executor reads it from there)"
                )
        self._preflight(executor)

    @staticmethod
    def _preflight(executor: dict) -> None:
        """Fail before any work: an unknown fake device, or hardware without credentials (option
        ranges, the optimisation level's among them, are checked by check_executor_options)."""
        from qmlrepro.quantum.ibm_runtime import require_credentials
        from qmlrepro.quantum.qiskit_executors import fake_backend

        if "noise_backend" in executor:
            fake_backend(executor["noise_backend"])
        if str(executor.get("_target_", "")).endswith("IBMRuntime"):
            if executor.get("local"):
                fake_backend(executor["device"])
            else:
                require_credentials()


# Options a backend states once at its top level and its executor reads by interpolation
# (``${backend.shots}``): set on the executor alone they would be run but not recorded as the
# backend's, so a difference is refused. An executor class may name more (``RESTATES``: the torch
# one adds device and dtype); ``device`` is not in the default, IBMRuntime's names an IBM device.
RESTATED = ("shots", "seed")

# The type and range of every numeric option an executor constructor takes (qmlrepro.quantum).
EXECUTOR_NUMBERS = {
    "shots": (int, require_positive),
    "seed": (int, require_seed),
    "optimization_level": (int, lambda name, v: require_range(name, v, 0, 3)),
    "max_retries": (int, require_non_negative),
    "density_matrix_qubits": (int, require_non_negative),
    "one_qubit": (float, require_probability),
    "two_qubit": (float, require_probability),
    "scale": (float, require_non_negative),
}


def check_executor_options(executor: dict) -> type:
    """``backend.executor``: its ``_target_`` exists, every option it needs is set (not null)
    and every option is in range, so a bad value stops before a run opens, not inside one."""
    target = str(executor.get("_target_"))
    module, _, attribute = target.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigError(
            f"backend.executor._target_={target} is not an importable executor class; use one of "
            "qmlrepro.quantum.torch_executor.TorchStatevector, qmlrepro.quantum.qiskit_executors.*"
            " or qmlrepro.quantum.ibm_runtime.IBMRuntime"
        ) from exc
    from qmlrepro.quantum.executor import Executor

    if not (isinstance(cls, type) and issubclass(cls, Executor)):
        raise ConfigError(
            f"backend.executor._target_={target} is not an executor class (a subclass of "
            "qmlrepro.quantum.executor.Executor)"
        )
    parameters = inspect.signature(cls).parameters
    for key, value in executor.items():
        name = f"backend.executor.{key}"
        default = parameters[key].default if key in parameters else None
        if value is None and default is not None:
            needed = "required" if default is inspect.Parameter.empty else f"default {default}"
            raise ConfigError(f"{name}=null is not allowed ({needed}); give it a value")
        if key in EXECUTOR_NUMBERS and value is not None:
            kind, check = EXECUTOR_NUMBERS[key]
            if isinstance(value, bool) or not isinstance(value, (int, kind)):
                raise ConfigError(
                    f"{name}={value} must be {'an integer' if kind is int else 'a number'}"
                )
            check(name, value)
    if executor.get("channel") is not None:
        require_choice("backend.executor.channel", executor["channel"], IBM_CHANNELS)
    scale = executor.get("scale", 1.0)
    for key in ("one_qubit", "two_qubit"):
        if key in executor and executor[key] * scale > 1:
            raise ConfigError(
                f"backend.executor.{key} x scale = {executor[key] * scale:g} is a depolarising "
                "probability above 1; lower the rate or backend.executor.scale"
            )
    return cls


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

    def check_model(self, model: Any) -> None:
        """Checks that need this paper's settings and the chosen model's schema object together
        (a ViT's heads must divide the paper's model width); none by default."""

    def check_backend(self, backend: "BackendConfig") -> None:
        """Checks that need this paper's settings and the chosen backend together (a noise sweep's
        scales times the backend's rates); none by default."""


@dataclass
class EvaluationConfig:
    """How the evaluate stage runs a job on one backend: ``evaluation.<backend>`` (the backend
    group's option name, as in the DVC evaluate job). Evaluation-only: not in the config hash.

    ``sweep``: executor option -> values; the stage evaluates once per point of their product and
    adds the point to each record's dimensions (``shots=1000``). An option
    the backend states at its top level (``shots``, ``seed``, ...) is set there, any other on
    ``backend.executor``. ``inputs``: the first N test inputs (null: the paper's own choice).
    ``paper``: ``paper.*`` values for this evaluation only (e.g. which depths run under noise).
    """

    sweep: dict[str, list[Any]] = field(default_factory=dict)
    inputs: int | None = None
    paper: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        require_positive("evaluation.<backend>.inputs", self.inputs)
        if not isinstance(self.sweep, dict) or not isinstance(self.paper, dict):
            raise ConfigError("evaluation.<backend>.sweep and .paper must be mappings")
        for option, values in self.sweep.items():
            if not isinstance(values, list) or not values:
                raise ConfigError(
                    f"evaluation sweep of {option}={values} is not a non-empty list of values"
                )


def check_evaluation(backend: str, setting: Any) -> EvaluationConfig:
    """``evaluation.<backend>`` as an :class:`EvaluationConfig` (its checks run).

    Raises:
        ConfigError: not a mapping, an unknown key, or a value out of range.
    """
    if not isinstance(setting, dict):
        raise ConfigError(f"evaluation.{backend} must be a mapping (sweep, inputs, paper)")
    unknown = sorted(set(setting) - {"sweep", "inputs", "paper"})
    if unknown:
        raise ConfigError(
            f"evaluation.{backend} has unknown key(s) {', '.join(unknown)}; it takes sweep, "
            "inputs and paper"
        )
    return EvaluationConfig(**setting)


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
    # backend option name -> how the evaluate stage runs a job there (sweeps, test inputs); each
    # entry is checked as an EvaluationConfig (plain here, so `+evaluation.<b>={...}` can add one)
    evaluation: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_run_options(self.seed, self.torch_threads, self.job)


def check_run_options(seed: int | None, torch_threads: int | None, job: str | None = None) -> None:
    """The root keys' ranges (the composed root is validated as a plain node, not a RunConfig)."""
    if seed is not None and seed < 0:
        raise ConfigError(f"seed={seed} must be a non-negative integer")
    require_seed("seed", seed)
    require_positive("torch_threads", torch_threads)
    if torch_threads is not None and torch_threads > MAX_THREADS:
        raise ConfigError(
            f"torch_threads={torch_threads} is more than {MAX_THREADS} (each thread reserves "
            "memory); use at most the machine's cores, or null for torch's default"
        )
    require_job_name(job)
