"""The metrics files the train and evaluate stages write, read back for the report.

``results/metrics/<job>/train.json`` and ``results/metrics/<job>/eval-<backend>.json`` each hold
one entry per seed with the MLflow run id, so every number in the report points to its run: its
tidy ``records`` (name, value, dimensions; :mod:`qmlrepro.records`) and the same numbers under
the flat names MLflow shows (``metrics``). The report stage writes each job's summary (mean, std
and the Student-t 95% interval over seeds per record name and dimensions,
:func:`summarize_records`) to ``results/summary/<job>.json``: the files DVC lists as metrics
(``dvc metrics show``).
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qmlrepro.errors import DataError
from qmlrepro.records import RUN_DIMS, Record, Table


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
    for raw in run.get("records", []):
        Record.from_json(raw)


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
    dims: dict[str, Any] = field(default_factory=dict)  # the job's constants (Experiment.dims)

    def values(self, metric: str) -> dict[int, float]:
        """seed -> value, for the seeds that logged ``metric``."""
        return {r["seed"]: float(r["metrics"][metric]) for r in self.runs if metric in r["metrics"]}

    def run_ids(self) -> list[str]:
        return [r["mlflow_run_id"] for r in self.runs]

    def table(self, train_backend: str | None = None) -> Table:
        """Every seed's records with the run's dimensions added (:data:`RUN_DIMS`): ``job``,
        ``stage`` ("train" / "evaluate"), ``model`` (its config name, e.g. "qssl/classical"),
        ``backend`` (what measured it: the training backend for training records, the
        evaluation backend for evaluation records), ``train_backend`` (``train_backend`` if
        given, else ``backend``), ``profile``, ``seed``, ``mlflow_run_id``.

        Raises:
            DataError: an entry without ``records`` (written before tidy records: its numbers
                have no dimensions, so every selection would silently miss them)."""
        run_dims = {
            "job": self.job,
            "stage": self.stage,
            "model": self.model,
            "backend": self.backend,
            "train_backend": train_backend or self.backend,
            "profile": self.profile,
        }
        rows = []
        for run in self.runs:
            own = {**run_dims, "seed": run["seed"], "mlflow_run_id": run["mlflow_run_id"]}
            if "records" not in run:
                raise DataError(
                    f"{self.job} ({self.stage}), seed {run['seed']}: metrics written before tidy "
                    "records (no 'records'); rerun its train/evaluate stage"
                )
            for entry in run["records"]:
                record = Record.from_json(entry)
                rows.append(Record(record.name, record.value, {**record.dims, **own}))
        return Table(rows)

    @classmethod
    def from_records(
        cls,
        job: str,
        stage: str,
        paper: str,
        model: str,
        backend: str,
        per_seed: dict[int, Any],
        *,
        profile: str = "default",
        describe: dict[str, Any] | None = None,
        dims: dict[str, Any] | None = None,
        run_id: str = "{job}-{stage}-{seed}",
    ) -> "JobResult":
        """A job result from each seed's records (``{seed: Iterable[Record]}``), shaped as the
        stages write it (run ids from the ``run_id`` pattern): for tests and notebooks."""
        runs = tuple(
            {
                "seed": seed,
                "mlflow_run_id": run_id.format(job=job, stage=stage, seed=seed),
                "metrics": {r.key(): r.value for r in records},
                "records": [r.to_json() for r in records],
            }
            for seed, records in ((s, list(rs)) for s, rs in per_seed.items())
        )
        return cls(job, stage, paper, model, backend, profile, runs, describe or {}, dims or {})

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> "JobResult":
        """Raises KeyError/TypeError/ValueError on a malformed file body."""
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
            dims=raw.get("dims", {}),
        )

    @classmethod
    def read(cls, path: Path | str) -> "JobResult":
        """A stage's per-seed metrics file (``results/metrics/<job>/train.json`` or
        ``eval-<backend>.json``). Raises DataError for a missing or unreadable one."""
        path = Path(path)
        if path.parent.name == "summary":
            raise DataError(
                f"{path} is a DVC summary (mean/CI per job), not per-seed records: read "
                "results/metrics/<job>/train.json or eval-<backend>.json"
            )
        if not path.is_file():
            raise DataError(f"missing metrics file {path}; run its train/evaluate stage first")
        try:
            return cls.from_json(json.loads(path.read_text()))
        except (ValueError, KeyError, TypeError) as exc:
            raise DataError(
                f"metrics file {path} is unreadable ({type(exc).__name__}: {exc}); rerun the "
                "stage that writes it"
            ) from exc


def ran(result: "JobResult | None") -> "JobResult | None":
    """``result`` if it holds at least one run (a job skipped in this profile holds none)."""
    return result if result is not None and result.runs else None


Bounds = tuple[float | None, float | None]


# Record dimensions that number replicates within one run, pooled like seeds in the summary
# (the hypernet circuit's random starts: dimension ``start``).
REPLICATE_DIMS = ("start",)


def summarize_records(result: JobResult, summary: Mapping[str, Bounds]) -> dict[str, Any]:
    """A job's headline numbers for DVC: per record name in ``summary`` (name -> the quantity's
    range, e.g. ``(0, 1)`` for an accuracy, ``(0, None)`` for a KL; ``"evaluate/test_kl"``
    takes the name from that stage only) and per combination of the
    record's own dimensions (the run's, :data:`RUN_DIMS`, and the replicate numbers,
    :data:`REPLICATE_DIMS`, left out): the mean over seeds (and replicates), the
    sample std and the Student-t 95% interval (:func:`~qmlrepro.report.stats.mean_interval`)
    clipped to the range (std and interval absent for one seed), ``n_seeds`` finite values and
    ``n_nonfinite`` (diverged runs, left out of the mean) when there are any.

    ``{"test_kl": {"n:4/k:2": {"mean": ..., ...}}}``; a name without dimensions maps straight to
    its statistics. Shape chosen for ``dvc metrics show`` (nested keys become dotted columns)."""
    import numpy as np

    from qmlrepro.report.stats import mean_interval

    staged = f"{result.stage}/"
    bounds = {
        name.removeprefix(staged): b
        for name, b in summary.items()
        if "/" not in name or name.startswith(staged)
    }
    groups: dict[tuple[str, str], list[float]] = {}
    for record in result.table():
        if record.name not in bounds:
            continue
        skip = (*RUN_DIMS, *REPLICATE_DIMS)
        own = Record(record.name, 0.0, {k: v for k, v in record.dims.items() if k not in skip})
        groups.setdefault((record.name, own.key().partition("/")[2]), []).append(record.value)
    out: dict[str, Any] = {}
    for (name, dims), values in groups.items():
        finite = [v for v in values if np.isfinite(v)]
        stats: dict[str, float | int] = {}
        if finite:
            ci = mean_interval(finite).clip(*bounds[name])
            stats["mean"] = ci.estimate
            if len(finite) > 1:
                stats["std"] = float(np.std(finite, ddof=1))
            if ci.low is not None and ci.high is not None:
                stats |= {"ci_low": ci.low, "ci_high": ci.high}
        stats["n_seeds"] = len(finite)
        if len(finite) < len(values):
            stats["n_nonfinite"] = len(values) - len(finite)
        # a name measured both with and without dimensions keeps the latter under "all"
        out.setdefault(name, {})[dims or "all"] = stats
    return {
        name: by_dims["all"] if list(by_dims) == ["all"] else by_dims
        for name, by_dims in out.items()
    }


@dataclass
class PaperResults:
    """Every job result of one paper, looked up by job name and stage; :meth:`select` reads
    them as one table of records."""

    paper: str
    jobs: dict[tuple[str, str], JobResult]

    def table(self) -> Table:
        """All jobs' records (:meth:`JobResult.table`): evaluation records carry the job's
        training backend as ``train_backend``."""
        rows = Table()
        for (job, _), result in sorted(self.jobs.items()):
            trained = self.jobs.get((job, "train"))
            rows = rows + result.table(trained.backend if trained else None)
        return rows

    def describe(self, table: Table) -> dict[str, Any]:
        """The ``describe`` (parameter counts, circuit resources, ...) of the training job behind
        the records of ``table`` (its first ``job`` level); {} for an empty table."""
        jobs = table.levels("job")
        trained = self.jobs.get((str(jobs[0]), "train")) if jobs else None
        return trained.describe if trained is not None else {}

    def select(self, name: str | None = None, **dims: Any) -> Table:
        """:meth:`Table.select` over every job of the paper."""
        if not hasattr(self, "_table"):
            self._table = self.table()
        return self._table.select(name, **dims)

    def get(self, job: str, stage: str = "train") -> JobResult | None:
        return self.jobs.get((job, stage))

    def by_stage(self, stage: str) -> list[JobResult]:
        return [r for (_, s), r in sorted(self.jobs.items()) if s == stage]

    def stages_of(self, job: str) -> list[str]:
        return sorted(s for (j, s) in self.jobs if j == job)
