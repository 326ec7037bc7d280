"""The generic train and evaluate stages: compose, loop over seeds, track, write metrics.

They know no paper: the composed ``paper._target_`` names the :class:`Experiment` class.

A job's checkpoint folder ``results/checkpoints/<job>/`` (a DVC out with ``persist: true``, so an
interrupted ``dvc repro`` finds it again) holds two things:

- the committed job: ``seed<S>.pt``, ``overrides.json`` and ``config.yaml``, which describe the
  same configuration as ``results/metrics/<job>/train.json``. Evaluate reads only these, and
  refuses a checkpoint whose config hash is not that of the recorded overrides.
- ``in-progress/``: the checkpoints of an unfinished attempt, which training writes and resumes.
  A rerun continues them (and their MLflow runs) when the config hash and the training code
  (:func:`code_digest`) are those they were written with, and starts over otherwise. The
  committed files are replaced only once every seed has trained, so a rerun killed half-way, with
  a changed config or not, leaves the committed job and its ``train.json`` as they were; then
  ``in-progress/`` is removed, so a rerun of a finished job trains again.
"""

import contextlib
import hashlib
import itertools
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra.utils import get_class, instantiate
from omegaconf import DictConfig, OmegaConf, open_dict

from qmlrepro.config.compose import compose_config
from qmlrepro.config.schema import RESTATED
from qmlrepro.data.artifacts import atomic_write_bytes, read_json, write_json
from qmlrepro.errors import ConfigError, DataError
from qmlrepro.experiment import Experiment, RunContext
from qmlrepro.fingerprint import fingerprint
from qmlrepro.paths import project_root, resolve
from qmlrepro.quantum.executor import Executor
from qmlrepro.quantum.ibm_runtime import CredentialsError
from qmlrepro.quantum.torch_executor import TorchStatevector
from qmlrepro.records import RUN_DIMS, Records, as_records
from qmlrepro.report.results import JobResult, metrics_path
from qmlrepro.tracking.git import git_state
from qmlrepro.tracking.mlflow_run import flatten, tracked_run
from qmlrepro.training.checkpoint import load_checkpoint, trained_checkpoint
from qmlrepro.training.device import resolve_device
from qmlrepro.training.memory import reuse_freed_memory
from qmlrepro.training.seeding import configure_determinism, seed_everything

TRAIN_OVERRIDES = "overrides.json"
IN_PROGRESS = "in-progress"
CODE_DIGEST = "code.json"


def config_hash(cfg: DictConfig) -> str:
    """Hash of everything that shapes training: not tracking, job naming or the one seed a run
    is restricted to (``seed=``; each seed has its own checkpoint). The profile's seed list IS in
    it (so adding a seed to ``profile.seeds`` retrains the others; known, kept so that committed
    checkpoints stay valid). The thread count is in it too: floating-point reductions split by
    thread give other bits, so a checkpoint resumes only under its own."""
    tree = OmegaConf.to_container(cfg, resolve=True)
    for key in (
        "tracking",
        "job",
        "results_dir",
        "choices",
        "run_in_profiles",
        "seed",
        "evaluation",
    ):
        tree.pop(key, None)
    backend = tree.get("backend") or {}
    if _restates_backend(backend.get("executor"), backend):
        # The torch executor's options restate backend.{device,dtype,shots,seed}, which the
        # hash holds already; hashed as null, what it was before it had a _target_, so the
        # checkpoints of that time keep their hash.
        backend["executor"] = None
    return hashlib.sha256(json.dumps(tree, sort_keys=True, default=str).encode()).hexdigest()[:16]


TORCH_EXECUTOR = "qmlrepro.quantum.torch_executor.TorchStatevector"
TORCH_OPTIONS = ("device", "dtype", "shots", "seed")


def _restates_backend(executor: Any, backend: dict) -> bool:
    """Whether ``executor`` is the torch statevector with no option of its own: every one restates
    the backend's top-level key of that name."""
    return (
        isinstance(executor, dict)
        and executor.get("_target_") == TORCH_EXECUTOR
        and all(
            k == "_target_" or (k in TORCH_OPTIONS and backend.get(k) == v)
            for k, v in executor.items()
        )
    )


def build_executor(cfg: DictConfig) -> Executor:
    """The backend's executor: ``backend.executor`` instantiated (one per run and seed)."""
    return instantiate(cfg.backend.executor)


def reference_executor(cfg: DictConfig) -> Executor:
    """The exact torch statevector in float64 on the backend's device: the noiseless, shot-free
    reference a backend's numbers are compared with."""
    return TorchStatevector(device=cfg.backend.device, dtype="float64")


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
    """Train every seed of the profile for one job; write checkpoints and ``train.json``.

    Seeds train into ``in-progress/`` (resuming what an interrupted run left there); the
    checkpoints, ``overrides.json``, ``config.yaml`` and ``train.json`` are replaced together
    once all seeds are done (see the module docstring)."""
    cfg = compose_config(overrides)
    job, results = _job_dirs(cfg)
    ckpt_dir = results / "checkpoints" / job
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    out = metrics_path(results, job, "train")
    if cfg.run_in_profiles is not None and cfg.profile.name not in cfg.run_in_profiles:
        reason = f"runs in profile(s) {', '.join(cfg.run_in_profiles)} only"
        _write_job_config(ckpt_dir, overrides, cfg)
        record = {**_record(cfg, "train", [], {}), "dims": _experiment(cfg).dims()}
        write_json(out, {**record, "skipped": reason})
        return out
    for backend, setting in (cfg.get("evaluation") or {}).items():
        # A sweep point its backend cannot run stops now, not after training; hardware
        # credentials are evaluate's to check, not training's.
        if setting.get("sweep"):
            with contextlib.suppress(CredentialsError):
                evaluation_points(overrides, backend)
    experiment = _experiment(cfg)
    describe = experiment.describe()
    digest = config_hash(cfg)
    device = resolve_device(cfg.backend.device)  # a bad device fails before any run opens
    staging = _attempt_dir(ckpt_dir, code_digest(cfg.paper.id))
    configure_determinism(cfg.torch_threads)
    reuse_freed_memory()  # large statevectors: no page faults per buffer
    runs = []
    seeds = list(cfg.profile.seeds if cfg.seed is None else [cfg.seed])
    # Every seed's checkpoint is read now: an unreadable one fails before any run opens.
    resume_ids = [_resumable_run_id(staged_checkpoint(ckpt_dir, s), digest) for s in seeds]
    for seed, resume_id in zip(seeds, resume_ids, strict=True):
        checkpoint = staged_checkpoint(ckpt_dir, seed)
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
            seeded = _seeded_backend(cfg, seed)
            ctx = RunContext(
                seed,
                run,
                checkpoint,
                device,
                digest,
                executor=build_executor(seeded),
                reference=reference_executor(seeded),
            )
            records = as_records(_experiment(seeded).train(ctx))
            run.log_metrics({f"final/{k}": v for k, v in records.flat().items()})
            run.log_records(records, "final", _tags(cfg, seed, "train"))
            run.log_artifact(checkpoint, "checkpoints")
        runs.append(_run_entry(seed, run.run_id, records))
    # Committed once every seed has trained: a failed or killed run never replaces what
    # evaluate reads, and the checkpoints are replaced just before the files describing them.
    for seed in seeds:
        _link_or_copy(staging / f"seed{seed}.pt", ckpt_dir / f"seed{seed}.pt")
    # A finished attempt leaves nothing to resume: a later rerun (`dvc repro -f`, new data, an
    # edited stage script) trains afresh instead of reporting this model again.
    shutil.rmtree(staging, ignore_errors=True)
    if cfg.seed is not None:  # one seed retrained: the job's other finished seeds stay
        runs = sorted(_other_seeds(out, digest, seeds) + runs, key=lambda r: r["seed"])
    # ``seed=`` only picks which seeds train (it is not in the config hash): evaluate recomposes
    # the job without it and evaluates every seed train.json lists.
    _write_job_config(ckpt_dir, [o for o in overrides if not o.startswith("seed=")], cfg)
    record = {**_record(cfg, "train", runs, describe), "dims": experiment.dims()}
    record["config_hash"] = digest
    write_json(out, record)
    return out


def _run_entry(seed: int, run_id: str, records: Records) -> dict[str, Any]:
    """One seed's entry in a metrics file: its MLflow run, the flat metric names MLflow shows
    (``metrics``) and the same numbers as tidy records with their dimensions (``records``)."""
    return {
        "seed": seed,
        "mlflow_run_id": run_id,
        "metrics": records.flat(),
        "records": [r.to_json() for r in records],
    }


def _other_seeds(out: Path, digest: str, seeds: list[int]) -> list[dict[str, Any]]:
    """The run records of ``out`` (a job's train.json) for seeds other than ``seeds``, if it was
    written for the same config hash; none otherwise."""
    if not out.is_file():
        return []
    recorded = read_json(out)
    if recorded.get("config_hash") != digest:
        return []
    return [r for r in recorded.get("runs", []) if r["seed"] not in seeds]


def staged_checkpoint(ckpt_dir: Path, seed: int) -> Path:
    """Where training writes (and resumes) ``seed``'s checkpoint for the job in ``ckpt_dir``."""
    return ckpt_dir / IN_PROGRESS / f"seed{seed}.pt"


def code_digest(paper: str) -> str:
    """Hash of the training code and config files of ``paper`` (the files DVC's fingerprint
    stage hashes): a rerun after the code changed retrains rather than resuming what the old
    code left in ``in-progress/``, which the config hash alone would not notice. ``"unknown"``
    where the sources are not a checkout's ``src/`` (a wheel install, a ``paper.id`` that names
    no package): reruns then resume by config hash alone."""
    import qmlrepro

    try:
        files = fingerprint(Path(qmlrepro.__file__).resolve().parents[2], paper)
    except FileNotFoundError:
        return "unknown"
    return hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()[:16]


def _attempt_dir(ckpt_dir: Path, code: str) -> Path:
    """``in-progress/``, emptied if its checkpoints were written by other training code."""
    staging = ckpt_dir / IN_PROGRESS
    marker = staging / CODE_DIGEST
    if marker.is_file() and _read_code_digest(marker) != code:
        shutil.rmtree(staging)
    if not marker.is_file():
        staging.mkdir(parents=True, exist_ok=True)
        write_json(marker, {"code_digest": code})
    return staging


def _read_code_digest(marker: Path) -> str | None:
    try:
        return json.loads(marker.read_text()).get("code_digest")
    except (OSError, ValueError, AttributeError):
        return None  # unreadable: treated as other code, so the attempt starts over


def _link_or_copy(source: Path, target: Path) -> None:
    """Atomically make ``target`` hold ``source``'s bytes, sharing them (a hard link) where the
    file system allows; training later replaces ``source`` (never writes into it), so the
    committed ``target`` stays as it is."""
    tmp = target.with_name(f".{target.name}.commit")
    tmp.unlink(missing_ok=True)
    try:
        os.link(source, tmp)
    except OSError:
        shutil.copy2(source, tmp)
    os.replace(tmp, target)


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
    and transpilation (each from its own stream derived from it) then repeat exactly for the same
    config and seed, in training (``torch_shots``) as in evaluation."""
    if cfg.backend.seed is not None:
        return cfg
    seeded = cfg.copy()
    with open_dict(seeded):
        seeded.backend.seed = seed
    return seeded


def evaluate(
    job: str, backend: str, extra: Sequence[str] = (), results_dir: str = "results"
) -> Path:
    """Evaluate a trained job's checkpoints on one backend, logging into each seed's train run.

    ``evaluation.<backend>`` (:class:`qmlrepro.config.schema.EvaluationConfig`) says how: the
    experiment's ``evaluate`` runs once per point of its ``sweep`` (each point's options added to
    its records' dimensions, e.g. ``shots=1000``), with an executor built for that point and
    seed, on at most ``inputs``
    test inputs, with its ``paper`` values set.

    Before any run opens or anything is computed: every sweep point composes and validates, the
    output file must be writable, the device available, and every seed's committed checkpoint
    present, readable and written for the config that ``overrides.json`` records (a
    :class:`CheckpointError` line otherwise)."""
    results = resolve(results_dir)
    ckpt_dir = results / "checkpoints" / job
    saved = ckpt_dir / TRAIN_OVERRIDES
    if not saved.is_file():
        raise DataError(
            f"job '{job}' has no trained checkpoints in {ckpt_dir}; run its train stage first"
        )
    train_overrides = read_json(saved, {"overrides": list}, "rerun its train stage")["overrides"]
    cfg, setting, points = evaluation_points([*train_overrides, *extra], backend)
    if setting["inputs"] is not None and not _experiment(cfg).takes_eval_inputs:
        raise ConfigError(
            f"evaluation.{backend}.inputs={setting['inputs']}: paper {cfg.paper.id} does not cap "
            "its evaluation by a number of test inputs (its own paper.* keys say how much it "
            "evaluates); drop it"
        )
    trained = JobResult.read(metrics_path(results, job, "train"))
    out = metrics_path(results, job, "evaluate", backend)
    _check_writable_file(out)
    device = resolve_device(cfg.backend.device)
    digest = config_hash(compose_config(train_overrides))
    for record in trained.runs:
        trained_checkpoint(ckpt_dir / f"seed{record['seed']}.pt", digest)
    configure_determinism(cfg.torch_threads)
    reuse_freed_memory()  # large statevectors: no page faults per buffer
    runs = []
    for record in trained.runs:
        seed = record["seed"]
        with tracked_run(
            cfg.tracking.uri,
            f"qmlrepro/{cfg.paper.id}",
            f"{job}/seed{seed}",
            _tags(cfg, seed, "train+evaluate"),
            run_id=record["mlflow_run_id"],
        ) as run:
            records = Records()
            ran = []
            for label, point, point_cfg in points:
                seeded = _seeded_backend(point_cfg, seed)
                seed_everything(seed)
                ctx = RunContext(
                    seed,
                    run,
                    ckpt_dir / f"seed{seed}.pt",
                    device,
                    digest,
                    executor=build_executor(seeded),
                    reference=reference_executor(seeded),
                    eval_inputs=setting.get("inputs"),
                    sweep=point,
                )
                # the sweep point's options are dimensions of its records (shots=1000, ...)
                records.extend(as_records(_experiment(seeded).evaluate(ctx)), **_dims(point))
                # what ran: the executor and its first PUB's metadata (ISA depth, 2q gates, ...)
                ran.append(
                    {
                        "prefix": label,
                        "point": point,
                        "executor": ctx.executor.describe(),
                        "first_pub": ctx.executor.first_metadata,
                    }
                )
            run.log_metrics({f"eval/{backend}/{k}": v for k, v in records.flat().items()})
            run.log_records(records, f"eval/{backend}", _tags(cfg, seed, "evaluate"))
            run.log_text(json.dumps(ran, indent=1, default=str), f"eval-{backend}-executors.json")
        runs.append({**_run_entry(seed, run.run_id, records), "executors": ran})
    record = {**_record(cfg, "evaluate", runs, trained.describe), "dims": trained.dims}
    record["evaluation"] = setting
    write_json(out, record)
    return out


def evaluation_points(
    overrides: Sequence[str], backend: str
) -> tuple[DictConfig, dict[str, Any], list[tuple[str, dict[str, Any], DictConfig]]]:
    """The job's config on ``backend``, its ``evaluation.<backend>`` setting, and (metric
    label, point, composed and validated config) per sweep point: every point's executor options
    are checked here, before any work."""
    base = [*overrides, f"backend={backend}"]
    cfg = compose_config(base)
    setting = evaluation_setting(cfg, backend)
    points = [
        (label, point, compose_config([*base, *point_overrides]))
        for label, point, point_overrides in sweep_points(cfg, setting)
    ]
    return cfg, setting, points


def evaluation_setting(cfg: DictConfig, backend: str) -> dict[str, Any]:
    """``evaluation.<backend>`` resolved to plain data (no sweep, no cap, no paper values when
    the job's config declares none for that backend)."""
    node = (cfg.get("evaluation") or {}).get(backend)
    setting = OmegaConf.to_container(node, resolve=True) if node is not None else {}
    return {"sweep": {}, "inputs": None, "paper": {}, **setting}


def sweep_points(
    cfg: DictConfig, setting: dict[str, Any]
) -> list[tuple[str, dict[str, Any], list[str]]]:
    """(label, point, Hydra overrides) per point of the sweep's product, in declaration order
    (the label ``<option><value>/`` names the point in logs); one point with an empty label
    without a sweep (a null value stands for the backend's own). The overrides set the
    evaluation's ``paper`` values and each swept option: on the backend's top level when it
    states the option there (the executor reads it by interpolation), on ``backend.executor``
    otherwise.

    Raises:
        ConfigError: a swept option the backend's executor does not take, or one of the
            stage's own record dimensions (:data:`qmlrepro.records.RUN_DIMS`, e.g. ``seed``).
    """
    executor = cfg.backend.executor
    fixed = [f"paper.{k}={_override_value(v)}" for k, v in setting["paper"].items()]
    sweep = setting["sweep"]
    for option in sweep:
        if option in RUN_DIMS:  # the stage's own dimension: two points would pool into one
            raise ConfigError(
                f"evaluation.{cfg.choices.get('backend')}.sweep.{option}: {option!r} names a "
                f"dimension the stage sets itself ({', '.join(RUN_DIMS)}); it cannot be swept"
            )
        if option not in executor:
            raise ConfigError(
                f"evaluation.{cfg.choices.get('backend')}.sweep.{option}: backend "
                f"{cfg.backend.name}'s executor has no option {option} (it has: "
                f"{', '.join(k for k in executor if k != '_target_')})"
            )
    points = []
    for values in itertools.product(*sweep.values()):
        # null: the backend's own value (e.g. shots: [${paper.eval_shots}] with eval_shots null)
        point = {
            option: executor[option] if value is None else value
            for option, value in zip(sweep, values, strict=True)
        }
        overrides = [
            f"backend.{option}={_override_value(value)}"
            if option in RESTATED and option in cfg.backend
            else f"backend.executor.{option}={_override_value(value)}"
            for option, value in point.items()
        ]
        label = "".join(f"{option}{_label_value(value)}/" for option, value in point.items())
        if any(label == known for known, _, _ in points):  # its metrics would overwrite
            raise ConfigError(
                f"evaluation.{cfg.choices.get('backend')}.sweep gives the point {point} twice "
                "(a null stands for the backend's own value); list each value once"
            )
        points.append((label, point, fixed + overrides))
    return points


def _dims(point: dict[str, Any]) -> dict[str, Any]:
    """A sweep point as record dimensions: None (the backend's own value, unset) is left out,
    a list becomes its text."""
    return {
        k: v if isinstance(v, (int, float, str, bool)) else _override_value(v)
        for k, v in point.items()
        if v is not None
    }


def _label_value(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _override_value(value: Any) -> str:
    """``value`` in Hydra's override grammar (lists as ``[a,b]``, null as ``null``)."""
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_override_value(v) for v in value) + "]"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _check_writable_file(path: Path) -> None:
    """Fail now, not after an evaluation of minutes, if ``path`` cannot be (re)written."""
    writable_dir(path.parent, "results_dir")
    if path.exists() and not path.is_file():
        raise ConfigError(f"cannot write {path}: something other than a file is there; move it")
