"""One job of a Hydra multirun sweep, run as a train stage of its own.

The launcher (joblib locally, submitit on Slurm) only decides where a job runs; what it runs is
:func:`qmlrepro.stages.train` on the job's overrides, so sweeps get the same checkpoints, resume,
MLflow tracking and metrics files as the DVC pipeline.
"""

import hashlib
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from qmlrepro.cli import debug_enabled
from qmlrepro.data.artifacts import write_json
from qmlrepro.errors import QmlreproError

JOB_RECORD = "job.json"

SWEEP_KEYS = ("launcher", "job")  # read by the sweep itself, not by the train stage
JOB_PREFIX_LIMIT = 120  # readable part of a sweep job name (results/<kind>/<job>/ paths)
JOB_HASH_CHARS = 12


def _key(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def job_name(overrides: Sequence[str], threads: int | None = None) -> str:
    """``sweep_<readable prefix>_<hash>``: one name per grid point, the same in every rerun.

    The readable prefix alone does not identify a point: it is cut at ``JOB_PREFIX_LIMIT``
    characters and maps distinct values to one text (``paper.lr=0.1`` and ``paper.lr=-0.1`` both
    read ``paper.lr-0.1``), so two points shared checkpoints and one ``train.json``. The hash
    (``JOB_HASH_CHARS`` hex digits of sha256) covers the full sorted override list, launcher keys
    left out (they say where a job runs), and the thread count ``threads`` the job trains with:
    it is part of the run's config hash, since another count gives other bits.
    """
    kept = sorted(o for o in overrides if _key(o) not in (*SWEEP_KEYS, "torch_threads"))
    if threads is not None:
        kept.append(f"torch_threads={threads}")
    parts = [re.sub(r"[^A-Za-z0-9.]+", "-", o).strip("-") for o in kept]
    prefix = ("_".join(parts) or "defaults")[:JOB_PREFIX_LIMIT].rstrip("-_.")
    digest = hashlib.sha256(json.dumps(kept).encode()).hexdigest()[:JOB_HASH_CHARS]
    return f"sweep_{prefix}_{digest}"


def stage_overrides(overrides: Sequence[str], threads: int | None) -> list[str]:
    """The job's overrides as a train stage takes them (the launcher's thread count kept)."""
    kept = [o for o in overrides if _key(o) not in (*SWEEP_KEYS, "torch_threads")]
    return kept if threads is None else [*kept, f"torch_threads={threads}"]


def run_sweep_job(cfg: DictConfig) -> dict:
    """Train one grid point; a user error is reported as that job's result, not a crash of the
    whole sweep (the other jobs go on)."""
    from qmlrepro.stages import train

    hydra = HydraConfig.get()
    overrides = list(hydra.overrides.task)
    job = cfg.job or job_name(overrides, cfg.torch_threads)
    record: dict[str, Any] = {"job": job, "overrides": overrides}
    try:
        record["metrics"] = str(
            train([f"job={job}", *stage_overrides(overrides, cfg.torch_threads)])
        )
        print(f"{job}: wrote {record['metrics']}")
    except QmlreproError as exc:
        if debug_enabled():
            raise
        record["error"] = str(exc)
        print(f"error: {job}: {exc}", file=sys.stderr)
    write_json(Path(hydra.runtime.output_dir) / JOB_RECORD, record)
    return record


class SweepSummary(Callback):
    """After every job of a multirun: one summary file, one line, and a failing exit status if
    any job failed (the finished jobs' results stay)."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(str(config.hydra.sweep.dir))
        records = [json.loads(p.read_text()) for p in sorted(sweep_dir.glob(f"*/{JOB_RECORD}"))]
        failed = [r for r in records if "error" in r]
        write_json(sweep_dir / "summary.json", {"jobs": records, "failed": len(failed)})
        print(
            f"sweep: {len(records) - len(failed)} of {len(records)} jobs trained; "
            f"summary in {sweep_dir / 'summary.json'}",
            file=sys.stderr,
        )
        if failed:
            raise SystemExit(1)
