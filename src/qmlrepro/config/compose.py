"""Compose and validate a run's configuration, turning every failure into one readable line."""

from collections.abc import Sequence
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.errors import ConfigCompositionException, MissingConfigException, OverrideParseException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from qmlrepro.config.schema import (
    BackendConfig,
    PaperConfig,
    check_evaluation,
    check_run_options,
)
from qmlrepro.config.store import register_schemas
from qmlrepro.errors import ConfigError, QmlreproError
from qmlrepro.paths import project_root
from qmlrepro.tracking.probe import require_reachable


def config_dir() -> Path:
    """``conf/`` of the project root, else the one beside the installed package (editable)."""
    here = project_root() / "conf"
    if here.is_dir():
        return here
    return Path(__file__).resolve().parents[3] / "conf"


def _first_line(exc: BaseException) -> str:
    """The message's first line, with the next one when the first only introduces it (Hydra's
    "In 'paper/qssl': ConfigKeyError raised while composing config:")."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    return f"{lines[0]} {lines[1]}" if lines[0].endswith(":") and len(lines) > 1 else lines[0]


def group_options(group: str) -> list[str]:
    """The selectable options of a config group (schemas excluded), nested ones as ``a/b``."""
    root = config_dir() / group
    return sorted(
        p.relative_to(root).with_suffix("").as_posix()
        for p in root.rglob("*.yaml")
        if not p.stem.endswith("_schema")
    )


def describe_config_error(exc: BaseException, overrides: Sequence[str] = ()) -> str:
    """One line: what is wrong and how to fix it."""
    if isinstance(exc, MissingConfigException) and exc.missing_cfg_file:
        group, _, option = exc.missing_cfg_file.rpartition("/")
        for override in overrides:
            key, _, value = override.lstrip("+~").partition("=")
            if f"{key}/{value}" == exc.missing_cfg_file:
                group, option = key, value
        options = ", ".join(group_options(group)) or "none"
        return f"unknown option {group}={option}; choose one of: {options} (files in conf/{group}/)"
    if isinstance(exc, OverrideParseException):
        lines = str(exc).strip().splitlines()
        detail = f": {lines[1]}" if len(lines) > 1 else ""
        return f"{lines[0]}{detail} (overrides look like group=option or key.path=value)"
    cause = exc.__cause__
    message = _first_line(exc)
    if "Could not override" in message:
        key = message.split("'")[1] if "'" in message else "?"
        return (
            f"{message} (no key '{key}' in the composed config; check the spelling, or see conf/)"
        )
    if isinstance(cause, OmegaConfBaseException):
        key = getattr(cause, "full_key", None)
        detail = _first_line(cause)
        return f"{message}: {detail}" + (f" (key {key})" if key else "")
    if cause is not None:
        return f"{message}: {_first_line(cause)}"
    return message


def compose_config(overrides: Sequence[str] = (), config_name: str = "config") -> DictConfig:
    """Compose ``conf/<config_name>.yaml`` with overrides and validate every typed section."""
    register_schemas()
    try:
        if GlobalHydra.instance().is_initialized():  # inside a Hydra app (a sweep job)
            cfg = compose(config_name, overrides=list(overrides), return_hydra_config=True)
        else:
            with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
                cfg = compose(config_name, overrides=list(overrides), return_hydra_config=True)
    except (ConfigCompositionException, MissingConfigException, OverrideParseException) as exc:
        raise ConfigError(describe_config_error(exc, overrides)) from exc
    choices = dict(cfg.hydra.runtime.choices)
    for group, option in choices.items():  # Hydra follows `backend=aer_noise/../torch` as a path
        if option is not None and ".." in str(option).split("/"):
            options = ", ".join(group_options(group)) or "none"
            raise ConfigError(f"unknown option {group}={option}; choose one of: {options}")
    with_choices = OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"])
    OmegaConf.set_struct(with_choices, False)
    with_choices.choices = {k: v for k, v in choices.items() if not k.startswith("hydra")}
    OmegaConf.set_struct(with_choices, True)
    validate(with_choices)
    return with_choices


def validate(cfg: DictConfig) -> None:
    """Build the schema objects once, which runs their range checks."""
    try:
        built = OmegaConf.to_object(OmegaConf.masked_copy(cfg, [k for k in cfg if k != "choices"]))
        if isinstance(built.get("paper"), PaperConfig):
            if built.get("model") is not None:
                built["paper"].check_model(built["model"])
            if isinstance(built.get("backend"), BackendConfig):
                built["paper"].check_backend(built["backend"])
        check_run_options(cfg.get("seed"), cfg.get("torch_threads"), cfg.get("job"))
        for backend, setting in (cfg.get("evaluation") or {}).items():
            if backend not in group_options("backend"):  # a misspelt entry would be ignored
                raise ConfigError(
                    f"evaluation.{backend}: there is no backend {backend}; choose among "
                    f"{', '.join(group_options('backend'))}"
                )
            check_evaluation(backend, OmegaConf.to_container(setting, resolve=True))
        unknown = sorted(set(cfg.get("run_in_profiles") or ()) - set(group_options("profile")))
        if unknown:  # the job would be skipped in every profile, silently
            raise ConfigError(
                f"run_in_profiles names unknown profile(s) {', '.join(unknown)}; choose among "
                f"{', '.join(group_options('profile'))}"
            )
        if cfg.get("job"):  # a train or evaluate stage: it will open MLflow runs
            require_reachable(cfg.tracking.uri)
    except QmlreproError:
        raise
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", None)
        where = f" (key {key})" if key else ""
        raise ConfigError(f"{_first_line(exc)}{where}") from exc
    except (TypeError, ValueError) as exc:
        raise ConfigError(_first_line(exc)) from exc
