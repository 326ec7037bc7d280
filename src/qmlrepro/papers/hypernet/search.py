"""Training the hypernetwork: exact E(theta) = sum_x p_theta(x) C(x), L-BFGS from uniform angles.

The circuit runs on the run's executor (``ctx.executor``: in training the torch statevector,
complex128, as the near-degenerate optima differ by 1e-7 and the gradient tolerance is 1e-6).
The authors used OptimKit's LBFGS (memory 8, gradtol 1e-6 on the 2-norm, maxiter 500); torch's
LBFGS with a strong-Wolfe line search stops on the largest gradient component instead, and after
``max_eval`` function evaluations.
"""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from omegaconf import DictConfig
from tqdm.auto import tqdm

from qmlrepro.errors import ConfigError, DataError
from qmlrepro.experiment import RunContext
from qmlrepro.papers.hypernet.circuit import (
    hypernetwork_circuit,
    hypernetwork_spec,
    to_paper_order,
    to_qiskit_order,
)
from qmlrepro.papers.hypernet.config import LbfgsConfig
from qmlrepro.papers.hypernet.metrics import (
    distribution_metrics,
    metric_records,
    sample_metrics,
)
from qmlrepro.papers.hypernet.problem import SearchProblem, SearchStrategy
from qmlrepro.quantum.torch_executor import TorchCircuit
from qmlrepro.records import Records
from qmlrepro.training.checkpoint import load_checkpoint, save_checkpoint
from qmlrepro.training.seeding import torch_generator


@dataclass
class SearchOutcome:
    weights: torch.Tensor  # (2 D N,) trained angles
    probabilities: torch.Tensor  # (2^N,) p_theta(x), Qiskit order
    loss: float
    iterations: int
    evaluations: int
    grad_max: float
    seconds: float
    curve: list[float]  # loss at every function evaluation


def initial_angles(n_weights: int, generator: torch.Generator) -> torch.Tensor:
    """Uniform in [0, 2 pi), as the authors' ``2 pi rand``."""
    return 2 * math.pi * torch.rand(n_weights, generator=generator, dtype=torch.float64)


def expected_cost(model: TorchCircuit, cost_qiskit: torch.Tensor) -> torch.Tensor:
    return model()[0] @ cost_qiskit


def lbfgs_search(
    model: TorchCircuit,
    cost_qiskit: torch.Tensor,
    settings: LbfgsConfig,
    on_evaluation: Callable[[int, float], None] | None = None,
) -> SearchOutcome:
    cost_qiskit = cost_qiskit.to(model.weights.device, model.weights.dtype)
    optimizer = torch.optim.LBFGS(
        [model.weights],
        lr=1.0,
        max_iter=settings.max_iter,
        max_eval=settings.max_iter * 5 // 4,
        tolerance_grad=settings.tolerance_grad,
        tolerance_change=settings.tolerance_change,
        history_size=settings.history_size,
        line_search_fn="strong_wolfe",
    )
    curve: list[float] = []

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = expected_cost(model, cost_qiskit)
        loss.backward()
        curve.append(loss.item())
        if on_evaluation is not None:
            on_evaluation(len(curve), curve[-1])
        return loss

    started = time.perf_counter()
    optimizer.step(closure)
    seconds = time.perf_counter() - started
    with torch.no_grad():
        probabilities = model()[0].detach().cpu()
    loss = expected_cost(model, cost_qiskit)
    grad = torch.autograd.grad(loss, model.weights)[0]
    state = optimizer.state[optimizer._params[0]]
    return SearchOutcome(
        weights=model.weights.detach().cpu().clone(),
        probabilities=probabilities,
        loss=loss.item(),
        iterations=int(state.get("n_iter", 0)),
        evaluations=int(state.get("func_evals", len(curve))),
        grad_max=grad.abs().max().item(),
        seconds=seconds,
        curve=curve,
    )


class HypernetworkSearch(SearchStrategy):
    """The quantum hypernetwork: one circuit per depth, trained from ``seed``-drawn angles.

    The checkpoint keeps every finished depth (angles and metrics), so an interrupted run resumes
    at the first unfinished depth.
    """

    def __init__(self, depths: list[int], lbfgs: dict) -> None:
        self.depths = list(depths)
        self.settings = LbfgsConfig(**dict(lbfgs))

    def describe(self, problem: SearchProblem) -> dict[str, float | int | str]:
        n = problem.task.n_bits
        info: dict[str, float | int | str] = {"n_qubits": n, "search_space": 2**n}
        for depth in self.depths:
            qc, theta = hypernetwork_circuit(n, depth)
            info[f"d{depth}_parameters"] = len(theta)
            info[f"d{depth}_cx"] = qc.count_ops().get("cx", 0)
        return info

    def train(self, problem: SearchProblem, ctx: RunContext, cfg: DictConfig) -> Records:
        """Train one circuit per depth on ``ctx.executor`` (its ``layer``); records per depth
        (dimension ``depth``; :func:`metric_records`), from the checkpoint's metrics for the
        depths an earlier run finished. MLflow's progress logs stay ``d{D}/<metric>``.

        Raises:
            ConfigError: ``ctx.executor`` has no gradients (L-BFGS needs them).
        """
        if not ctx.executor.differentiable:
            raise ConfigError(
                f"the hypernetwork trains with gradients; {type(ctx.executor).__name__} has none "
                "(train on a torch backend, evaluate on the others)"
            )
        n = problem.task.n_bits
        state = load_checkpoint(ctx.checkpoint, ctx.config_hash) or {"depths": {}}
        state.update(config_hash=ctx.config_hash, mlflow_run_id=ctx.run.run_id)
        cost_qiskit = to_qiskit_order(problem.table.cost)
        log_every = cfg.paper.log_every
        for depth in self.depths:
            if depth in state["depths"]:
                continue
            spec = hypernetwork_spec(n, depth)
            ctx.run.log_text(str(spec.circuit.draw("text", fold=-1)), f"circuits/D{depth}.txt")
            generator = torch_generator(ctx.seed, "init", "depth", depth)
            init = initial_angles(len(spec.weights), generator)
            model = ctx.executor.layer(spec, init).to(ctx.device)
            bar = tqdm(
                total=self.settings.max_iter * 5 // 4,
                desc=f"D={depth} seed {ctx.seed}",
                disable=None,
                leave=False,
            )

            def log(evaluation: int, loss: float, depth: int = depth, bar: tqdm = bar) -> None:
                bar.update(1)
                if evaluation % log_every == 1:
                    ctx.run.log_metrics({f"d{depth}/loss": loss}, step=evaluation)

            outcome = lbfgs_search(model, cost_qiskit, self.settings, log)
            bar.close()
            metrics = distribution_metrics(
                to_paper_order(outcome.probabilities),
                problem.table,
                problem.task,
                problem.tolerance,
                problem.budget,
            )
            metrics.update(
                loss=outcome.loss,
                iterations=float(outcome.iterations),
                evaluations=float(outcome.evaluations),
                grad_max=outcome.grad_max,
                seconds=outcome.seconds,
            )
            state["depths"][depth] = {"weights": outcome.weights, "metrics": metrics}
            save_checkpoint(ctx.checkpoint, state)
            ctx.run.log_metrics({f"d{depth}/{k}": v for k, v in metrics.items()})
        records = Records()
        for depth in self.depths:
            records.extend(metric_records(state["depths"][depth]["metrics"], depth=depth))
        return records

    def evaluate(self, problem: SearchProblem, ctx: RunContext, cfg: DictConfig) -> Records:
        """Every depth of ``paper.depths`` (``self.depths``, which interpolates it; this
        evaluation's: ``evaluation.<backend>.paper`` may restrict it, as the depolarising sweep
        does) run once on ``ctx.executor``: with shots,
        the samples' metrics (``sample_metrics``); exact, the distribution's
        (``distribution_metrics``). Records per depth (dimension ``depth``); the stage adds a
        sweep point's dimensions (``scale``).

        Raises:
            DataError: no checkpoint, or no trained circuit of a depth asked for.
        """
        state = load_checkpoint(ctx.checkpoint)
        if state is None or not state.get("depths"):
            raise DataError(f"{ctx.checkpoint} holds no trained circuit; rerun training")
        missing = [d for d in self.depths if d not in state["depths"]]
        if missing:
            raise DataError(f"{ctx.checkpoint} has no trained circuit for depth(s) {missing}")
        out = Records()
        for depth in self.depths:
            spec = hypernetwork_spec(problem.task.n_bits, depth)
            started = time.perf_counter()
            values = ctx.executor.values(spec, None, state["depths"][depth]["weights"])
            p = to_paper_order(torch.from_numpy(values[0]))  # (2^N,) float64, paper order
            if ctx.executor.shots:
                metrics = sample_metrics(p, problem.table, problem.task, problem.tolerance)
            else:
                metrics = distribution_metrics(
                    p, problem.table, problem.task, problem.tolerance, problem.budget
                )
            metrics["seconds"] = time.perf_counter() - started
            out.extend(metric_records(metrics, depth=depth))
        return out
