"""The metrics files the train and evaluate stages write, read back for the report.

``results/metrics/<job>/train.json`` and ``results/metrics/<job>/eval-<backend>.json`` each hold
one record per seed with the MLflow run id, so every number in the report points to its run.
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qmlrepro.errors import DataError


def metrics_path(results_dir: Path, job: str, stage: str, backend: str | None = None) -> Path:
    name = "train.json" if stage == "train" else f"eval-{backend}.json"
    return results_dir / "metrics" / job / name


def check_run_record(run: Any) -> None:
    """One seed's record as the stages write it: an integer seed, its MLflow run id and a table
    of numeric metrics (else TypeError/KeyError, reported by :meth:`JobResult.read`)."""
    if not isinstance(run, dict):
        raise TypeError(f"a run record is {type(run).__name__}, not an object")
    if not isinstance(run["seed"], int) or not isinstance(run["mlflow_run_id"], str):
        raise TypeError(f"run record {run['seed']!r}: seed must be an integer, mlflow_run_id text")
    if not isinstance(run["metrics"], dict) or not all(
        isinstance(v, (int, float)) for v in run["metrics"].values()
    ):
        raise TypeError(f"run record of seed {run['seed']}: metrics must map names to numbers")


@dataclass(frozen=True)
class JobResult:
    job: str
    stage: str
    paper: str
    model: str
    backend: str
    profile: str
    runs: tuple[dict[str, Any], ...]
    describe: dict[str, Any]

    def values(self, metric: str) -> dict[int, float]:
        """seed -> value, for the seeds that logged ``metric``."""
        return {r["seed"]: float(r["metrics"][metric]) for r in self.runs if metric in r["metrics"]}

    def run_ids(self) -> list[str]:
        return [r["mlflow_run_id"] for r in self.runs]

    @classmethod
    def read(cls, path: Path) -> "JobResult":
        if not path.is_file():
            raise DataError(f"missing metrics file {path}; run its train/evaluate stage first")
        try:
            raw = json.loads(path.read_text())
            for run in raw["runs"]:
                check_run_record(run)
            return cls(
                job=raw["job"],
                stage=raw["stage"],
                paper=raw["paper"],
                model=raw["model"],
                backend=raw["backend"],
                profile=raw["profile"],
                runs=tuple(raw["runs"]),
                describe=raw.get("describe", {}),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise DataError(
                f"metrics file {path} is unreadable ({type(exc).__name__}: {exc}); rerun the "
                "stage that writes it"
            ) from exc


def ran(result: "JobResult | None") -> "JobResult | None":
    """``result`` if it holds at least one run (a job skipped in this profile holds none)."""
    return result if result is not None and result.runs else None


@dataclass
class PaperResults:
    """Every job result of one paper, looked up by job name and stage."""

    paper: str
    jobs: dict[tuple[str, str], JobResult]

    def get(self, job: str, stage: str = "train") -> JobResult | None:
        return self.jobs.get((job, stage))

    def by_stage(self, stage: str) -> list[JobResult]:
        return [r for (_, s), r in sorted(self.jobs.items()) if s == stage]

    def stages_of(self, job: str) -> list[str]:
        return sorted(s for (j, s) in self.jobs if j == job)
