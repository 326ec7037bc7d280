"""The memory sweep: every task (n, k) of the dataset x every model size x every learning rate of
the model's ``sweep``, one seed per stage run; held-out KL per outcome against the exact
conditionals. Finished sweep points are checkpointed, so an interrupted stage resumes."""

import math
import time
import zlib

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from tqdm.auto import tqdm

from qmlrepro.data.sequence import load_sequence_task
from qmlrepro.errors import ConfigError, DataError
from qmlrepro.experiment import Experiment, RunContext
from qmlrepro.papers.contextual.models import bernoulli_kl, outcome_nll
from qmlrepro.paths import resolve
from qmlrepro.training.checkpoint import load_checkpoint, save_checkpoint

FIELDS = ("thetas", "bases", "order", "outcomes", "p_one")


def _split(data: dict[str, torch.Tensor], split: str, limit: int | None) -> dict:
    out = {key: data[f"{split}_{key}"] for key in FIELDS}
    return {key: value[:limit] for key, value in out.items()} if limit else out


def _load(root, n: int, k: int) -> dict[str, torch.Tensor]:
    try:
        return load_sequence_task(root, n, k)
    except (DataError, FileNotFoundError) as exc:
        raise DataError(
            f"no prepared sequences for n={n}, k={k} in {root} ({exc}); run "
            "`dvc repro prepare_sequence`"
        ) from exc


def point_seed(seed: int, key: str) -> int:
    """A sweep point's own seed, so a resumed sweep trains each point exactly as a fresh one."""
    return seed * 1_000_003 + zlib.crc32(key.encode())


def fit(
    model: torch.nn.Module,
    train: dict,
    test: dict,
    epochs: int,
    batch_size: int,
    lr: float,
    device: torch.device,
) -> dict[str, float]:
    """Adam on the outcomes' NLL (teacher forcing); KL to the exact conditionals at the end."""
    started = time.perf_counter()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    n = len(train["outcomes"])
    batch_size = min(batch_size, n)
    to = {key: value.to(device) for key, value in train.items()}
    model.train()
    for _ in range(epochs):
        for idx in torch.randperm(n).split(batch_size):
            batch = {key: value[idx] for key, value in to.items()}
            loss = outcome_nll(model(batch), batch["outcomes"].double())
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    model.eval()
    scores = {}
    with torch.no_grad():
        for name, data in (("train", to), ("test", {k: v.to(device) for k, v in test.items()})):
            p_model = model(data)
            scores[f"{name}_kl"] = bernoulli_kl(data["p_one"], p_model).mean().item()
            scores[f"{name}_nll"] = outcome_nll(p_model, data["outcomes"].double()).item()
    return {**scores, "seconds": time.perf_counter() - started}


class ContextualExperiment(Experiment):
    def _sweep(self) -> tuple[DictConfig, list, list[float]]:
        """The model's constructor config and its sweep (sizes; null = its own fixed memory)."""
        model = OmegaConf.to_container(self.cfg.model, resolve=True)
        sweep = model.pop("sweep", None)
        if sweep is None or not sweep.get("lrs"):
            raise ConfigError(f"model {self.cfg.choices.get('model')} has no sweep.lrs")
        sizes = sweep.get("sizes") or [None]
        return OmegaConf.create(model), sizes, list(sweep["lrs"])

    def _build(self, model_cfg: DictConfig, n: int, k: int, size: int | None) -> torch.nn.Module:
        return instantiate(model_cfg, _partial_=True)(n=n, k=k, size=size, backend=self.cfg.backend)

    def _tasks(self) -> list[tuple[int, int]]:
        return [(int(t.n), int(t.k)) for t in self.cfg.dataset.tasks]

    def describe(self) -> dict[str, int | str]:
        model_cfg, sizes, lrs = self._sweep()
        info: dict[str, int | str] = {"sizes": str(sizes), "lrs": str(lrs)}
        for n, k in self._tasks():
            for size in sizes:
                model = self._build(model_cfg, n, k, size)
                tag = f"n{n}_k{k}/d{size if size is not None else n}"
                info[f"{tag}/memory"] = model.memory
                info[f"{tag}/parameters"] = sum(p.numel() for p in model.parameters())
        return info

    def train(self, ctx: RunContext) -> dict[str, float]:
        paper = self.cfg.paper
        model_cfg, sizes, lrs = self._sweep()
        state = load_checkpoint(ctx.checkpoint, ctx.config_hash) or {}
        points: dict[str, dict[str, float]] = state.get("points", {})
        root = resolve(self.cfg.dataset.processed_dir)
        plan = [(t, s, i) for t in self._tasks() for s in sizes for i in range(len(lrs))]
        splits: dict[tuple[int, int], tuple[dict, dict]] = {}  # each task read once
        bar = tqdm(plan, desc=f"sweep seed {ctx.seed}", leave=False, disable=None)
        for (n, k), size, lr_index in bar:
            key = f"n{n}_k{k}/d{size if size is not None else n}/lr{lr_index}"
            if key in points:
                continue
            if (n, k) not in splits:
                data = _load(root, n, k)
                splits[(n, k)] = (_split(data, "train", paper.n_train), _split(data, "test", None))
            train_split, test_split = splits[(n, k)]
            torch.manual_seed(point_seed(ctx.seed, key))
            model = self._build(model_cfg, n, k, size).double().to(ctx.device)
            result = fit(
                model,
                train_split,
                test_split,
                paper.epochs,
                paper.batch_size,
                lrs[lr_index],
                ctx.device,
            )
            result.update(memory=float(model.memory), lr=lrs[lr_index])
            points[key] = result
            ctx.run.log_metrics({f"{key}/{m}": v for m, v in result.items()})
            save_checkpoint(
                ctx.checkpoint,
                {"points": points, "config_hash": ctx.config_hash, "mlflow_run_id": ctx.run.run_id},
            )
            bar.set_postfix(point=key, kl=f"{result['test_kl']:.4f}")
        return {f"{key}/{m}": v for key, result in points.items() for m, v in result.items()}

    def evaluate(self, ctx: RunContext) -> dict[str, float]:
        raise ConfigError(
            "the contextual sweep is evaluated exactly inside its train stage (held-out KL); it "
            "has no separate evaluate stage"
        )


def smallest_size_reaching(kl_by_size: dict[int, float], threshold: float) -> float:
    """d*: the smallest size whose KL is <= threshold (nan when none is)."""
    reached = [size for size, kl in sorted(kl_by_size.items()) if kl <= threshold]
    return float(reached[0]) if reached else math.nan
