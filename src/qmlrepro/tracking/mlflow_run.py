"""A thin MLflow run wrapper that the training loop and stages log through.

The tracking store defaults to ``sqlite:///mlflow.db`` at the project root with artifacts in
``mlartifacts/``; ``tracking.uri`` in the config wins, then ``MLFLOW_TRACKING_URI``.

Several processes may share one sqlite store (parallel sweeps, ``dvc exp run --queue``). SQLite
serialises their writes, but MLflow creates and migrates the schema on first use without a lock, so
two processes opening a fresh store race ("duplicate column name"); a file lock beside the
database makes the first opening one process at a time.
"""

import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from qmlrepro.errors import TrackingError
from qmlrepro.paths import project_root, resolve
from qmlrepro.tracking.keys import mlflow_key

PARAM_VALUE_LIMIT = 6000
PARAMS_PER_BATCH = 100


def tracking_uri(configured: str | None) -> str:
    if configured:
        uri = configured
    elif os.environ.get("MLFLOW_TRACKING_URI"):
        uri = os.environ["MLFLOW_TRACKING_URI"]
    else:
        uri = "sqlite:///mlflow.db"
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        # Relative sqlite paths would follow the cwd of whichever process opens them.
        uri = f"sqlite:///{resolve(uri.removeprefix('sqlite:///'))}"
    return uri


def store_lock(uri: str) -> Any:
    """An inter-process lock for a sqlite store (a no-op context for server stores)."""
    if not uri.startswith("sqlite:///"):
        return nullcontext()
    from filelock import FileLock

    database = Path(uri.removeprefix("sqlite:///"))
    database.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(f"{database}.lock", timeout=300)


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = str(value)[:PARAM_VALUE_LIMIT]
    return flat


class TrackedRun:
    """One MLflow run; created or resumed by :func:`tracked_run`."""

    def __init__(self, client: Any, run_id: str) -> None:
        self._client = client
        self.run_id = run_id

    def log_params(self, params: Mapping[str, str]) -> None:
        """Log the params this run does not have yet, under their :func:`mlflow_key` names."""
        from mlflow.entities import Param

        existing = self._client.get_run(self.run_id).data.params
        keyed = {mlflow_key(k): v for k, v in params.items()}
        fresh = [Param(k, v) for k, v in keyed.items() if k not in existing]
        for start in range(0, len(fresh), PARAMS_PER_BATCH):
            self._client.log_batch(self.run_id, params=fresh[start : start + PARAMS_PER_BATCH])

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Log one value per metric at ``step`` (0 if None), under :func:`mlflow_key` names."""
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        batch = [Metric(mlflow_key(k), float(v), now, step or 0) for k, v in metrics.items()]
        if batch:
            self._client.log_batch(self.run_id, metrics=batch)

    def set_tags(self, tags: Mapping[str, str]) -> None:
        """Set tags (values as text) under :func:`mlflow_key` names."""
        from mlflow.entities import RunTag

        batch = [RunTag(mlflow_key(k), str(v)) for k, v in tags.items()]
        self._client.log_batch(self.run_id, tags=batch)

    def log_records(self, records: Any, prefix: str, tags: Mapping[str, str]) -> int:
        """Log the records that have dimensions beyond the run's constants
        (:class:`qmlrepro.records.Records`, whose ``common`` dimensions are logged here as this
        run's params) so sweeps chart in the MLflow UI: one nested child run per combination of
        dimensions, named
        ``<this run's name>/<prefix>/<dim:value/...>``, with the dimensions as params (and tags)
        and each record under its plain name (``accuracy``, not ``accuracy/shots:1000``). The
        runs table then plots a metric against a dimension (chart view, x axis = the param).
        The flat names stay on this run. A rerun (a resumed run, an evaluation run again)
        reuses the child of the same prefix and dimensions. Returns the number of child runs.
        """
        from mlflow.entities import Metric, Param

        groups: dict[tuple, list] = {}
        for record in records:
            own = record.own_dims(records.common)
            if own:
                groups.setdefault(tuple(own.items()), []).append(record)
        self.log_params({f"dim.{k}": str(v) for k, v in records.common.items()})
        if not groups:
            return 0
        parent = self._client.get_run(self.run_id)
        children = {
            run.data.tags.get("records.key"): run.info.run_id
            for run in self._client.search_runs(
                [parent.info.experiment_id],
                filter_string=f"tags.mlflow.parentRunId = '{self.run_id}'",
                max_results=10000,
            )
        }
        now = int(time.time() * 1000)
        base = parent.data.tags.get("mlflow.runName", self.run_id)
        for dims, group in groups.items():
            label = "/".join(f"{k}:{v!r}" if isinstance(v, float) else f"{k}:{v}" for k, v in dims)
            key = f"{prefix}/{label}"
            run_id = children.get(key)
            if run_id is None:
                run_tags = {
                    **tags,
                    "mlflow.parentRunId": self.run_id,
                    "records.child": "true",  # filter: tags.`records.child` != 'true'
                    "records.key": key,
                    "records.prefix": prefix,
                    **{f"dim.{k}": str(v) for k, v in dims},
                }
                run = self._client.create_run(
                    parent.info.experiment_id,
                    run_name=f"{base}/{key}",
                    tags={mlflow_key(k): str(v) for k, v in run_tags.items()},
                )
                run_id = run.info.run_id
                params = [Param(mlflow_key(k), str(v)) for k, v in dims]
            else:
                params = []  # params are immutable once logged
            metrics = [Metric(mlflow_key(r.name), r.value, now, 0) for r in group]
            self._client.log_batch(run_id, metrics=metrics, params=params)
            self._client.set_terminated(run_id, status="FINISHED")
        return len(groups)

    def log_artifact(self, path: Path, artifact_path: str | None = None) -> None:
        self._client.log_artifact(self.run_id, str(path), artifact_path)

    def log_text(self, text: str, artifact_file: str) -> None:
        self._client.log_text(self.run_id, text, artifact_file)

    def log_figure(self, figure: Any, artifact_file: str) -> None:
        self._client.log_figure(self.run_id, figure, artifact_file)


def _experiment_id(client: Any, name: str) -> str:
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    artifacts = (project_root() / "mlartifacts" / name).as_uri()
    try:
        return client.create_experiment(name, artifact_location=artifacts)
    except Exception:  # another process created it first
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            raise
        return experiment.experiment_id


@contextmanager
def tracked_run(
    uri: str | None,
    experiment: str,
    run_name: str,
    tags: Mapping[str, str],
    run_id: str | None = None,
) -> Iterator[TrackedRun]:
    """Start (or, given ``run_id``, resume) a run whose final state never goes backwards.

    - A new run, or a resumed one that never finished (killed, failed), is RUNNING while the body
      runs and ends FINISHED; FAILED if the body raises, KILLED if it is interrupted
      (``KeyboardInterrupt``; :func:`qmlrepro.cli.run_cli` turns SIGTERM into one).
    - A resumed FINISHED run (an evaluation logging into its training run, a rerun that finds a
      seed already trained) stays FINISHED throughout, also when the body raises, so not even a
      kill -9 leaves it RUNNING.

    Either way a failure is recorded in the run's ``error`` tag."""
    try:
        from mlflow.tracking import MlflowClient

        with store_lock(tracking_uri(uri)):
            client = MlflowClient(tracking_uri=tracking_uri(uri))
            experiment_id = _experiment_id(client, experiment)  # creates the schema if new
        if run_id is None:
            run = client.create_run(experiment_id, run_name=run_name, tags=dict(tags))
            run_id = run.info.run_id
            previous = None
        else:
            previous = client.get_run(run_id).info.status
            if previous != "FINISHED":
                client.update_run(run_id, status="RUNNING")
            client.set_tag(run_id, "mlflow.runName", run_name)
    except Exception as exc:  # MLflow raises many types; all mean "cannot track"
        raise TrackingError(f"cannot open MLflow run in {tracking_uri(uri)}: {exc}") from exc
    tracked = TrackedRun(client, run_id)
    try:
        yield tracked
    except BaseException as exc:
        client.set_tag(run_id, "error", f"{type(exc).__name__}: {exc}"[:500])
        if previous == "FINISHED":
            status = "FINISHED"
        elif isinstance(exc, KeyboardInterrupt):
            status = "KILLED"
        else:
            status = "FAILED"
        client.set_terminated(run_id, status=status)
        raise
    client.set_terminated(run_id, status="FINISHED")
