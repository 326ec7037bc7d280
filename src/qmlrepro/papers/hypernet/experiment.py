"""The hypernet paper in the pipeline: one job = one task searched by one strategy, every seed."""

import json

from hydra.utils import instantiate

from qmlrepro.data.artifacts import read_manifest
from qmlrepro.errors import DataError
from qmlrepro.experiment import Experiment, RunContext
from qmlrepro.papers.hypernet.bnn import BNNTask
from qmlrepro.papers.hypernet.costs import read_cost_table
from qmlrepro.papers.hypernet.problem import SearchProblem, SearchStrategy
from qmlrepro.paths import resolve
from qmlrepro.records import Records


def build_task(cfg, name: str) -> BNNTask:
    return instantiate(cfg.paper.tasks[name], name=name)


class HypernetExperiment(Experiment):
    """Records carry ``task`` (``paper.task``) and, per strategy, ``depth`` (circuit) or
    ``budget`` / ``runs`` (classical searches); a noise sweep adds ``scale``."""

    def dims(self) -> dict[str, str]:
        """``task``: the cost landscape's task (``paper.task``)."""
        return {"task": str(self.cfg.paper.task)}

    def _problem(self) -> SearchProblem:
        paper = self.cfg.paper
        task = build_task(self.cfg, paper.task)
        cost_dir = resolve(paper.cost_dir)
        try:
            table = read_cost_table(cost_dir, task.name)
        except (DataError, FileNotFoundError) as exc:
            raise DataError(
                f"no cost vector for task {task.name} in {cost_dir} ({exc}); run "
                "`dvc repro prepare_hypernet_costs` (pipelines/prepare_hypernet_costs.py)"
            ) from exc
        prepared = read_manifest(cost_dir).get("provenance", {}).get("data_limit")
        if prepared != paper.data_limit:
            raise DataError(
                f"{cost_dir} was enumerated with data_limit={prepared}, this run has "
                f"paper.data_limit={paper.data_limit} (another profile's costs); rerun "
                f"`python pipelines/prepare_hypernet_costs.py profile={self.cfg.profile.name}`"
            )
        if table.n_bits != task.n_bits:
            raise DataError(
                f"{cost_dir}/{task.name}.pt covers {table.n_bits} bits, task has {task.n_bits}; "
                "rerun prepare_hypernet_costs"
            )
        return SearchProblem(task, table, paper.optimal_tolerance, paper.budget)

    def _strategy(self) -> SearchStrategy:
        return instantiate(self.cfg.model)

    def describe(self) -> dict[str, float | int | str]:
        """The strategy's facts plus the task's exhaustively enumerated landscape (C_min, its
        degeneracy, the optimum's accuracy and bits, a random BNN's accuracy)."""
        problem = self._problem()
        entry = read_manifest(resolve(self.cfg.paper.cost_dir))["bundles"][problem.task.name]
        landscape = {
            f"landscape_{k}": v if isinstance(v, int | float) else json.dumps(v)
            for k, v in entry.items()
            if k not in ("file", "sha256", "shapes", "dtypes", "optimal_indices", "optimal_costs")
        }
        return {"task": self.cfg.paper.task, **self._strategy().describe(problem), **landscape}

    def _records(self, found: Records) -> Records:
        records = Records(**self.dims())
        records.extend(found)
        return records

    def train(self, ctx: RunContext) -> Records:
        return self._records(self._strategy().train(self._problem(), ctx, self.cfg))

    def evaluate(self, ctx: RunContext) -> Records:
        return self._records(self._strategy().evaluate(self._problem(), ctx, self.cfg))
