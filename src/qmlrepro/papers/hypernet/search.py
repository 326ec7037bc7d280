"""Training the hypernetwork: exact E(theta) = sum_x p_theta(x) C(x), many random starts at once.

For every depth D, ``paper.starts`` random starts (angles uniform in [0, 2 pi), the authors'
``2 pi rand``) are optimised together by :class:`~qmlrepro.papers.hypernet.lbfgs.BatchedLBFGS`:
each start is its own L-BFGS run (memory 8, strong-Wolfe line search), stopped as the authors'
OptimKit LBFGS stops (gradient 2-norm <= ``tolerance_grad``, or ``max_iter`` iterations); their
evaluations are one batched call of the run's executor (``ctx.executor``: in training the torch
statevector, complex128, with one weight set per row). Per start the records say whether it
converged, in how many iterations, its final <C>, P_opt at two tolerances, and whether it ended
in a local minimum (converged with <C> - C_min > ``paper.local_minimum_gap``).
"""

import math
import time

import numpy as np
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
from qmlrepro.papers.hypernet.lbfgs import BatchedLBFGS, LbfgsSettings, StartState
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

CHECKPOINT_SECONDS = 60.0  # an unfinished depth's optimiser state is saved at most this often


def initial_angles(starts: int, n_weights: int, generator: torch.Generator) -> torch.Tensor:
    """(starts, n_weights) float64, uniform in [0, 2 pi), as the authors' ``2 pi rand``. Row s
    does not depend on ``starts`` (the rows are drawn in order from one stream)."""
    return 2 * math.pi * torch.rand(starts, n_weights, generator=generator, dtype=torch.float64)


def batched_objective(model: TorchCircuit, cost_qiskit: torch.Tensor):
    """f(X) = p_X @ C and its gradient for a batch of weight sets X (B, 2 D N), one per row
    (the executor's per-row weights); values (B,) and gradients (B, 2 D N), float64."""
    cost = cost_qiskit.to(model.weights.device, model.weights.dtype)

    def objective(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        w = x.to(model.weights.device, model.weights.dtype).requires_grad_()
        f = model(None, w) @ cost
        (g,) = torch.autograd.grad(f.sum(), w)
        return f.detach().double().cpu(), g.detach().double().cpu()

    return objective


def rows_per_call(n_qubits: int, batch_amplitudes: int, starts: int) -> int:
    """Rows of every batched evaluation: ``batch_amplitudes`` amplitudes per call, at least one
    row, at most ``starts`` (every call has exactly this many rows: see BatchedLBFGS)."""
    return max(1, min(starts, batch_amplitudes // 2**n_qubits))


def start_metrics(
    start: StartState,
    probabilities: torch.Tensor,
    problem: SearchProblem,
    loose_tolerance: float,
    local_minimum_gap: float,
    tolerance_grad: float,
) -> dict[str, float]:
    """One finished start: :func:`distribution_metrics` of its p_theta (paper order, (2^N,)),
    P_opt at ``loose_tolerance`` (``p_opt_loose``), and the optimiser's outcome: ``converged``
    (1.0: gradient 2-norm <= ``tolerance_grad``), ``local_minimum`` (converged with
    <C> - C_min > ``local_minimum_gap``), ``hit_max_iter`` (stopped at max_iter), ``stalled``
    (stopped without progress, or at an evaluation cap), ``iterations``, ``evaluations``,
    ``grad_norm``. Of the distribution metrics, the mode's and <C> itself are left out (<C> is
    ``excess_cost`` + C_min)."""
    metrics = distribution_metrics(
        probabilities, problem.table, problem.task, problem.tolerance, problem.budget
    )
    loose = problem.table.optimal_set(loose_tolerance)
    converged = start.grad_norm <= tolerance_grad
    for key in ("expected_cost", "mode_probability", "mode_excess_cost", "mode_test_accuracy"):
        metrics.pop(key)  # per start, ~5,000 records a job: keep what the report reads
    metrics.update(
        p_opt_loose=probabilities.double()[loose].sum().item(),
        grad_norm=start.grad_norm,
        converged=float(converged),
        local_minimum=float(converged and metrics["excess_cost"] > local_minimum_gap),
        hit_max_iter=float(start.stop == "max_iter"),
        stalled=float(start.stop in ("stalled", "max_eval")),
        iterations=float(start.n_iter),
        evaluations=float(start.n_evals),
    )
    return metrics


class HypernetworkSearch(SearchStrategy):
    """The quantum hypernetwork: ``starts`` circuits per depth, trained at once from
    ``seed``-drawn angles.

    The checkpoint keeps every finished depth (angles and per-start metrics) and, at most every
    ``CHECKPOINT_SECONDS``, the unfinished depth's optimiser state, so an interrupted run resumes
    exactly where it stopped (at an iteration boundary of every start).
    """

    def __init__(
        self,
        depths: list[int],
        lbfgs: dict,
        starts: int = 30,
        batch_amplitudes: int = 1 << 16,
        loose_tolerance: float = 1e-4,
        local_minimum_gap: float = 1e-5,
    ) -> None:
        self.depths = list(depths)
        self.settings = LbfgsSettings(**dict(lbfgs))
        self.starts, self.batch_amplitudes = starts, batch_amplitudes
        self.loose_tolerance, self.local_minimum_gap = loose_tolerance, local_minimum_gap

    def describe(self, problem: SearchProblem) -> dict[str, float | int | str]:
        n = problem.task.n_bits
        info: dict[str, float | int | str] = {
            "n_qubits": n,
            "search_space": 2**n,
            "starts": self.starts,
            "rows_per_call": rows_per_call(n, self.batch_amplitudes, self.starts),
        }
        for depth in self.depths:
            qc, theta = hypernetwork_circuit(n, depth)
            info[f"d{depth}_parameters"] = len(theta)
            info[f"d{depth}_cx"] = qc.count_ops().get("cx", 0)
        return info

    def train(self, problem: SearchProblem, ctx: RunContext, cfg: DictConfig) -> Records:
        """Train ``starts`` circuits per depth on ``ctx.executor`` (its ``layer``, per-row
        weights); records per depth and start (dimensions ``depth``, ``start``;
        :func:`start_metrics`, and the random-initialisation control ``p_opt_init`` and
        ``excess_cost_init``: the same start's circuit at its initial angles) plus ``seconds``
        per depth (wall clock, all starts together).
        MLflow's progress logs are ``d{D}/loss_mean`` and ``d{D}/active`` per round.

        Raises:
            ConfigError: ``ctx.executor`` has no gradients (L-BFGS needs them).
        """
        if not ctx.executor.differentiable:
            raise ConfigError(
                f"the hypernetwork trains with gradients; {type(ctx.executor).__name__} has none "
                "(train on a torch backend, evaluate on the others)"
            )
        state = load_checkpoint(ctx.checkpoint, ctx.config_hash) or {"depths": {}}
        state.update(config_hash=ctx.config_hash, mlflow_run_id=ctx.run.run_id)
        cost_qiskit = to_qiskit_order(problem.table.cost)
        for depth in self.depths:
            if depth not in state["depths"]:
                state["depths"][depth] = self._train_depth(
                    problem, ctx, cfg, depth, cost_qiskit, state
                )
                state.pop("running", None)
                save_checkpoint(ctx.checkpoint, state)
        records = Records()
        for depth in self.depths:
            done = state["depths"][depth]
            for start, metrics in enumerate(done["starts"]):
                records.extend(metric_records(metrics, depth=depth, start=start))
            records.add("seconds", done["seconds"], depth=depth)
        return records

    def _train_depth(
        self,
        problem: SearchProblem,
        ctx: RunContext,
        cfg: DictConfig,
        depth: int,
        cost_qiskit: torch.Tensor,
        state: dict,
    ) -> dict:
        n = problem.task.n_bits
        spec = hypernetwork_spec(n, depth)
        ctx.run.log_text(str(spec.circuit.draw("text", fold=-1)), f"circuits/D{depth}.txt")
        generator = torch_generator(ctx.seed, "init", "depth", depth)
        init = initial_angles(self.starts, len(spec.weights), generator)
        model = ctx.executor.layer(spec, init[0]).to(ctx.device)
        optimizer = BatchedLBFGS(
            batched_objective(model, cost_qiskit),
            self.settings,
            rows_per_call(n, self.batch_amplitudes, self.starts),
        )
        running = state.get("running")
        elapsed = 0.0
        if running is not None and running["depth"] == depth:
            optimizer.load_state(running["optimizer"])
            elapsed = running["seconds"]
        else:
            optimizer.start(init)
        bar = tqdm(
            total=self.settings.max_iter,
            desc=f"D={depth} seed {ctx.seed} ({self.starts} starts)",
            disable=None,
            leave=False,
        )
        log_every = cfg.paper.log_every
        started = last_save = time.perf_counter()
        rounds = max((s.n_iter for s in optimizer.starts), default=0)
        bar.update(rounds)

        def on_round(_: int) -> None:
            nonlocal rounds, last_save
            rounds += 1
            active = optimizer.active
            bar.update(1)
            bar.set_postfix(active=len(active))
            if rounds % log_every == 1:
                losses = [s.f for s in optimizer.starts]
                ctx.run.log_metrics(
                    {
                        f"d{depth}/loss_mean": sum(losses) / len(losses),
                        f"d{depth}/active": len(active),
                    },
                    step=rounds,
                )
            now = time.perf_counter()
            if active and now - last_save >= CHECKPOINT_SECONDS:
                state["running"] = {
                    "depth": depth,
                    "optimizer": optimizer.state(),
                    "seconds": elapsed + now - started,
                }
                save_checkpoint(ctx.checkpoint, state)
                last_save = now

        optimizer.run(on_round=on_round)
        bar.close()
        seconds = elapsed + time.perf_counter() - started
        weights = torch.from_numpy(np.stack([s.x for s in optimizer.starts]))
        with torch.no_grad():
            probabilities = model(None, weights.to(model.weights.device, model.weights.dtype))
            # the random-initialisation control: the same starts before any optimisation
            initial = model(None, init.to(model.weights.device, model.weights.dtype))
        starts = [
            start_metrics(
                s,
                to_paper_order(probabilities[i].detach().cpu().double()),
                problem,
                self.loose_tolerance,
                self.local_minimum_gap,
                self.settings.tolerance_grad,
            )
            for i, s in enumerate(optimizer.starts)
        ]
        cost_min = problem.table.cost.min()
        optimal = problem.table.optimal_set(problem.tolerance)
        for i, metrics in enumerate(starts):
            p0 = to_paper_order(initial[i].detach().cpu().double())
            metrics["p_opt_init"] = p0[optimal].sum().item()
            metrics["excess_cost_init"] = (p0 @ problem.table.cost - cost_min).item()
        summary = {
            f"d{depth}/{k}": sum(m[k] for m in starts) / len(starts)
            for k in ("p_opt", "p_opt_loose", "converged", "local_minimum", "iterations")
        }
        ctx.run.log_metrics({**summary, f"d{depth}/seconds": seconds})
        return {"weights": weights, "starts": starts, "seconds": seconds}

    def evaluate(self, problem: SearchProblem, ctx: RunContext, cfg: DictConfig) -> Records:
        """Every depth of ``self.depths`` (``paper.depths``; ``evaluation.<backend>.paper`` may
        restrict it, as the depolarising sweep does): its ``starts`` trained circuits in one
        call of ``ctx.executor`` (one weight set per row). With shots, the samples' metrics
        (:func:`sample_metrics`); exact, the distribution's (:func:`distribution_metrics`).
        Records per depth and start (dimensions ``depth``, ``start``), ``seconds`` per depth;
        the stage adds a sweep point's dimensions (``scale``, ``shots``).

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
            weights = state["depths"][depth]["weights"]
            started = time.perf_counter()
            values = ctx.executor.values(spec, None, weights)  # (S, 2^N) Qiskit order
            p = to_paper_order(torch.from_numpy(values))  # (S, 2^N) float64, paper order
            for start in range(p.shape[0]):
                if ctx.executor.shots:
                    metrics = sample_metrics(
                        p[start], problem.table, problem.task, problem.tolerance
                    )
                else:
                    metrics = distribution_metrics(
                        p[start], problem.table, problem.task, problem.tolerance, problem.budget
                    )
                out.extend(metric_records(metrics, depth=depth, start=start))
            out.add("seconds", time.perf_counter() - started, depth=depth)
        return out
