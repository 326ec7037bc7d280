"""One job of a Hydra multirun sweep, run as a train stage of its own.

The launcher (joblib locally, submitit on Slurm) only decides where a job runs; what it runs is
:func:`qmlrepro.stages.train` on the job's overrides, so sweeps get the same checkpoints, resume,
MLflow tracking and metrics files as the DVC pipeline.
"""

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


def _key(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def job_name(overrides: Sequence[str]) -> str:
    """A readable, filesystem-safe job name from a job's overrides (sorted, so the same point
    of a grid gets the same name, and its checkpoints, in every rerun)."""
    kept = sorted(o for o in overrides if _key(o) not in (*SWEEP_KEYS, "torch_threads"))
    parts = [re.sub(r"[^A-Za-z0-9.]+", "-", o).strip("-") for o in kept]
    return "sweep_" + ("_".join(parts) or "defaults")[:200]


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
    job = cfg.job or job_name(overrides)
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
