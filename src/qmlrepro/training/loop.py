"""A small step-based training loop: progress bar, per-step metrics, periodic atomic checkpoints,
and exact resumption (model, optimiser, scheduler, RNG states and data order are all restored)."""

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from tqdm.auto import tqdm

from qmlrepro.experiment import RunContext
from qmlrepro.training.checkpoint import load_checkpoint, save_checkpoint
from qmlrepro.training.seeding import rng_state, set_rng_state, torch_generator


@dataclass
class LoopConfig:
    max_steps: int
    log_every: int = 10
    checkpoint_every: int = 100
    desc: str = "train"


def epoch_batches(n: int, batch_size: int, seed: int, epoch: int) -> list[torch.Tensor]:
    """One epoch of index batches, fixed by (seed, epoch) so a resume sees the same order: the
    permutation's generator is seeded with ``derive_seed(seed, "data_order", epoch)``."""
    gen = torch_generator(seed, "data_order", epoch)
    perm = torch.randperm(n, generator=gen)
    return [perm[i : i + batch_size] for i in range(0, n - batch_size + 1, batch_size)] or [perm]


def batch_stream(n: int, batch_size: int, seed: int, start_step: int) -> Iterator[torch.Tensor]:
    """Endless index batches, starting at global step ``start_step``."""
    per_epoch = len(epoch_batches(n, batch_size, seed, 0))
    epoch, offset = divmod(start_step, per_epoch)
    while True:
        yield from epoch_batches(n, batch_size, seed, epoch)[offset:]
        epoch, offset = epoch + 1, 0


def run_loop(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    step_fn: Callable[[torch.Tensor], tuple[torch.Tensor, Mapping[str, float]]],
    n_examples: int,
    batch_size: int,
    loop: LoopConfig,
    ctx: RunContext,
    scheduler: Any = None,
) -> dict[str, Any]:
    """Train for ``loop.max_steps`` steps (resuming if a matching checkpoint exists).

    ``step_fn`` gets a batch of indices and returns (loss, metrics to log). Returns the final
    checkpoint payload, which also records the MLflow run so an interrupted run is continued.
    """
    checkpoint, seed = ctx.checkpoint, ctx.seed
    state = load_checkpoint(checkpoint, ctx.config_hash)
    start = 0
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None and state.get("scheduler") is not None:
            scheduler.load_state_dict(state["scheduler"])
        set_rng_state(state["rng"])
        start = state["step"]

    def payload(step: int) -> dict[str, Any]:
        return {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict() if scheduler is not None else None,
            "rng": rng_state(),
            "step": step,
            "config_hash": ctx.config_hash,
            "mlflow_run_id": ctx.run.run_id,
            "complete": step >= loop.max_steps,
        }

    model.train()
    batches = batch_stream(n_examples, batch_size, seed, start)
    # disable=None: a live bar on a terminal, silence in CI logs and files.
    bar = tqdm(
        desc=loop.desc,
        initial=start,
        total=loop.max_steps,
        leave=False,
        mininterval=1.0,
        disable=None,
    )
    for step in range(start, loop.max_steps):
        bar.update(1)
        loss, metrics = step_fn(next(batches))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        done = step + 1
        if done % loop.log_every == 0 or done == loop.max_steps:
            ctx.run.log_metrics({"train/loss": loss.item(), **metrics}, done)
            bar.set_postfix(loss=f"{loss.item():.4f}")
        if done % loop.checkpoint_every == 0 and done < loop.max_steps:
            save_checkpoint(checkpoint, payload(done))
    bar.close()
    final = payload(loop.max_steps)
    save_checkpoint(checkpoint, final)
    return final
