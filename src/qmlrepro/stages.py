"""The generic train and evaluate stages: compose, loop over seeds, track, write metrics.

They know no paper: the composed ``paper._target_`` names the :class:`Experiment` class.
"""

import hashlib
import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from hydra.utils import get_class
from omegaconf import DictConfig, OmegaConf, open_dict

from qmlrepro.config.compose import compose_config
from qmlrepro.data.artifacts import atomic_write_bytes, read_json, write_json
from qmlrepro.errors import ConfigError, DataError
from qmlrepro.experiment import Experiment, RunContext
from qmlrepro.paths import project_root, resolve
from qmlrepro.report.results import JobResult, metrics_path
from qmlrepro.tracking.git import git_state
from qmlrepro.tracking.mlflow_run import flatten, tracked_run
from qmlrepro.training.checkpoint import load_checkpoint
from qmlrepro.training.device import resolve_device
from qmlrepro.training.seeding import seed_everything

TRAIN_OVERRIDES = "overrides.json"


def config_hash(cfg: DictConfig) -> str:
    """Hash of everything that shapes training: not tracking, job naming, which of the profile's
    seeds run (each seed has its own checkpoint) or the thread count."""
    tree = OmegaConf.to_container(cfg, resolve=True)
    for key in (
        "tracking",
        "job",
        "results_dir",
        "choices",
        "run_in_profiles",
        "seed",
        "torch_threads",
    ):
        tree.pop(key, None)
    return hashlib.sha256(json.dumps(tree, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _job_dirs(cfg: DictConfig) -> tuple[str, Path]:
    if not cfg.job:
        raise ConfigError("no job name; pass job=<name> (the DVC job key, e.g. job=example-mlp)")
    return cfg.job, writable_dir(resolve(cfg.results_dir), "results_dir")


def writable_dir(path: Path, key: str) -> Path:
    """``path``, created if needed, after checking that files can be written in it: before any
    work, rather than failing when the first checkpoint is due."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-check-"):
            pass
    except OSError as exc:
        raise ConfigError(
            f"{key}={path} is not writable ({exc.strerror or type(exc).__name__}); "
            f"pass {key}=<a writable folder>"
        ) from exc
    return path


def _experiment(cfg: DictConfig) -> Experiment:
    cls = get_class(cfg.paper._target_)
    if not issubclass(cls, Experiment):
        raise ConfigError(f"paper._target_={cfg.paper._target_} is not an Experiment subclass")
    return cls(cfg)


def _tags(cfg: DictConfig, seed: int, stage: str) -> dict[str, str]:
    return {
        **git_state(project_root()),
        "paper": cfg.paper.id,
        "model": str(cfg.choices.get("model")),
        "job": cfg.job,
        "profile": cfg.profile.name,
        "backend": cfg.backend.name,
        "seed": str(seed),
        "stage": stage,
    }


def _record(
    cfg: DictConfig, stage: str, runs: list[dict[str, Any]], describe: dict[str, Any]
) -> dict[str, Any]:
    return {
        "job": cfg.job,
        "stage": stage,
        "paper": cfg.paper.id,
        "model": str(cfg.choices.get("model")),
        "backend": cfg.backend.name,
        "profile": cfg.profile.name,
        "describe": describe,
        "runs": runs,
    }


def train(overrides: Sequence[str]) -> Path:
    """Train every seed of the profile for one job; write checkpoints and ``train.json``."""
    cfg = compose_config(overrides)
    job, results = _job_dirs(cfg)
    ckpt_dir = results / "checkpoints" / job
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    out = metrics_path(results, job, "train")
    if cfg.run_in_profiles is not None and cfg.profile.name not in cfg.run_in_profiles:
        reason = f"runs in profile(s) {', '.join(cfg.run_in_profiles)} only"
        _write_job_config(ckpt_dir, overrides, cfg)
        write_json(out, {**_record(cfg, "train", [], {}), "skipped": reason})
        return out
    experiment = _experiment(cfg)
    describe = experiment.describe()
    digest = config_hash(cfg)
    if cfg.torch_threads:
        torch.set_num_threads(cfg.torch_threads)
    runs = []
    for seed in cfg.profile.seeds if cfg.seed is None else [cfg.seed]:
        checkpoint = ckpt_dir / f"seed{seed}.pt"
        resume_id = _resumable_run_id(checkpoint, digest)
        with tracked_run(
            cfg.tracking.uri,
            f"qmlrepro/{cfg.paper.id}",
            f"{job}/seed{seed}",
            _tags(cfg, seed, "train"),
            run_id=resume_id,
        ) as run:
            run.log_params(
                {**flatten(OmegaConf.to_container(cfg, resolve=True)), "seed": str(seed)}
            )
            run.log_params({f"model_info.{k}": str(v) for k, v in describe.items()})
            if resume_id is None:
                run.log_text(OmegaConf.to_yaml(cfg, resolve=True), "config.yaml")
            seed_everything(seed)
            ctx = RunContext(seed, run, checkpoint, resolve_device(cfg.backend.device), digest)
            metrics = experiment.train(ctx)
            run.log_metrics({f"final/{k}": v for k, v in metrics.items()})
            run.log_artifact(checkpoint, "checkpoints")
        runs.append({"seed": seed, "mlflow_run_id": run.run_id, "metrics": metrics})
    # Written once every seed has trained: a failed run never replaces what evaluate reads.
    _write_job_config(ckpt_dir, overrides, cfg)
    write_json(out, _record(cfg, "train", runs, describe))
    return out


def _write_job_config(ckpt_dir: Path, overrides: Sequence[str], cfg: DictConfig) -> None:
    """What evaluate recomposes the job from, and the resolved config for a reader."""
    write_json(ckpt_dir / TRAIN_OVERRIDES, {"overrides": list(overrides)})
    atomic_write_bytes(ckpt_dir / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True).encode())


def _resumable_run_id(checkpoint: Path, digest: str) -> str | None:
    """The MLflow run of an interrupted attempt with the same config, so a rerun continues it."""
    state = load_checkpoint(checkpoint, digest)
    return None if state is None else state.get("mlflow_run_id")


def _seeded_backend(cfg: DictConfig, seed: int) -> DictConfig:
    """``cfg`` with ``backend.seed`` set to the run's seed unless the user fixed one: shot noise
    and transpilation then repeat exactly for the same config and seed."""
    if cfg.backend.seed is not None:
        return cfg
    seeded = cfg.copy()
    with open_dict(seeded):
        seeded.backend.seed = seed
    return seeded


def evaluate(
    job: str, backend: str, extra: Sequence[str] = (), results_dir: str = "results"
) -> Path:
    """Evaluate a trained job's checkpoints on one backend, logging into each seed's train run."""
    results = resolve(results_dir)
    ckpt_dir = results / "checkpoints" / job
    saved = ckpt_dir / TRAIN_OVERRIDES
    if not saved.is_file():
        raise DataError(
            f"job '{job}' has no trained checkpoints in {ckpt_dir}; run its train stage first"
        )
    train_overrides = read_json(saved, {"overrides": list}, "rerun its train stage")["overrides"]
    cfg = compose_config([*train_overrides, f"backend={backend}", *extra])
    trained = JobResult.read(metrics_path(results, job, "train"))
    runs = []
    for record in trained.runs:
        seed = record["seed"]
        experiment = _experiment(_seeded_backend(cfg, seed))
        with tracked_run(
            cfg.tracking.uri,
            f"qmlrepro/{cfg.paper.id}",
            f"{job}/seed{seed}",
            _tags(cfg, seed, "train+evaluate"),
            run_id=record["mlflow_run_id"],
            keep_status_on_error=True,
        ) as run:
            seed_everything(seed)
            ctx = RunContext(
                seed, run, ckpt_dir / f"seed{seed}.pt", resolve_device(cfg.backend.device)
            )
            metrics = experiment.evaluate(ctx)
            run.log_metrics({f"eval/{backend}/{k}": v for k, v in metrics.items()})
        runs.append({"seed": seed, "mlflow_run_id": run.run_id, "metrics": metrics})
    out = metrics_path(results, job, "evaluate", backend)
    write_json(out, _record(cfg, "evaluate", runs, trained.describe))
    return out
