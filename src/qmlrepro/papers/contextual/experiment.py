"""The memory sweep: every task (n, k) of the dataset x every model size x every learning rate of
the model's ``sweep``, one seed per stage run; held-out KL per outcome against the exact
conditionals, next to the theta-blind floor. Finished sweep points are checkpointed (metrics and
weights), so an interrupted stage resumes; the k-HRNN's weights are then evaluated on Qiskit
backends (the stage's executor, at the shots that ``evaluation.<backend>.sweep`` declares)."""

import copy
import math
import time
import warnings

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from tqdm.auto import tqdm

from qmlrepro.data.sequence import load_sequence_task
from qmlrepro.errors import ConfigError, DataError
from qmlrepro.experiment import Experiment, RunContext
from qmlrepro.papers.contextual.models import QuantumHRNN, bernoulli_kl, outcome_nll
from qmlrepro.paths import resolve
from qmlrepro.quantum.executor import Executor
from qmlrepro.quantum.torch_executor import PrecisionWarning, TorchStatevector
from qmlrepro.records import Records
from qmlrepro.training.checkpoint import load_checkpoint, save_checkpoint
from qmlrepro.training.seeding import seeded, torch_generator

FIELDS = ("thetas", "bases", "order", "outcomes", "p_one", "p_blind")
Split = dict[str, torch.Tensor]


def _take(data: Split, rows: slice) -> Split:
    return {key: value[rows] for key, value in data.items()}


def _splits(data: dict[str, torch.Tensor], n_train: int | None, val_fraction: float) -> tuple:
    """(train, validation, test). Sequences are stored grouped by theta, so the last rows of the
    training split are a validation set with angles disjoint from the rest of training."""
    train = {key: data[f"train_{key}"] for key in FIELDS}
    if n_train:
        train = _take(train, slice(0, n_train))
    size = len(train["outcomes"])
    n_val = max(1, round(size * val_fraction))
    if n_val >= size:
        raise DataError(f"{size} training sequences leave none to train on after validation")
    return (
        _take(train, slice(0, size - n_val)),
        _take(train, slice(size - n_val, size)),
        _test(data),
    )


def _test(data: dict[str, torch.Tensor]) -> Split:
    return {key: data[f"test_{key}"] for key in FIELDS}


def _load(root, n: int, k: int) -> dict[str, torch.Tensor]:
    try:
        return load_sequence_task(root, n, k)
    except (DataError, FileNotFoundError) as exc:
        raise DataError(
            f"no prepared sequences for n={n}, k={k} in {root} ({exc}); run "
            "`dvc repro prepare_sequence`"
        ) from exc


def _task(n: int, k: int) -> str:
    return f"n{n}_k{k}"


def blind_kl(split: Split) -> float:
    """KL of the Bayes-optimal predictor that ignores part A (the floor a model must beat)."""
    return bernoulli_kl(split["p_one"], split["p_blind"]).mean().item()


@torch.no_grad()
def kl_and_nll(model: torch.nn.Module, split: Split, device: torch.device, chunk: int = 1024):
    p_model = torch.cat(
        [
            model(
                {key: value.to(device) for key, value in _take(split, slice(i, i + chunk)).items()}
            )
            for i in range(0, len(split["outcomes"]), chunk)
        ]
    ).cpu()
    kl = bernoulli_kl(split["p_one"], p_model).mean().item()
    return kl, outcome_nll(p_model, split["outcomes"].double()).item()


def fit(
    model: torch.nn.Module,
    splits: tuple[Split, Split, Split],
    epochs: int,
    batch_size: int,
    lr: float,
    device: torch.device,
    generator: torch.Generator,
) -> dict[str, float]:
    """Adam on the outcomes' NLL (teacher forcing), keeping the weights of the epoch with the
    lowest validation KL (early stopping: small classical models overfit 4k sequences).
    ``generator`` (CPU) draws the batch order."""
    train, val, test = splits
    started = time.perf_counter()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    n = len(train["outcomes"])
    batch_size = min(batch_size, n)
    on_device = {key: value.to(device) for key, value in train.items()}
    best = (math.inf, 0, copy.deepcopy(model.state_dict()))
    for epoch in range(1, epochs + 1):
        model.train()
        for idx in torch.randperm(n, generator=generator).to(device).split(batch_size):
            batch = {key: value[idx] for key, value in on_device.items()}
            loss = outcome_nll(model(batch), batch["outcomes"].double())
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        model.eval()
        val_kl, _ = kl_and_nll(model, val, device)
        if val_kl < best[0]:
            best = (val_kl, epoch, copy.deepcopy(model.state_dict()))
    model.load_state_dict(best[2])
    model.eval()
    scores = {"val_kl": best[0], "best_epoch": float(best[1])}
    for name, split in (("train", train), ("test", test)):
        scores[f"{name}_kl"], scores[f"{name}_nll"] = kl_and_nll(model, split, device)
    return {**scores, "seconds": time.perf_counter() - started}


class ContextualExperiment(Experiment):
    """Records (tidy, see :mod:`qmlrepro.records`); the jobs differ only in their model, a
    dimension the stage adds.

    train, per sweep point (dims ``n``, ``k`` of the task, model ``size`` d (the k-HRNN: n),
    its ``memory``, learning rate ``lr`` and ``restart`` index): ``val_kl`` (the early-stopping
    epoch's), ``best_epoch``, ``train_kl``, ``train_nll``, ``test_kl``, ``test_nll`` (held-out KL
    per outcome against the exact conditionals; NLL of the outcomes, nats), ``seconds``; per
    task (``n``, ``k``): ``blind_kl``, the theta-blind floor on the test split.

    evaluate, per task (``n``, ``k``): ``test_kl`` (the executor's), ``exact_kl`` (the float64
    reference on the same sequences), ``seconds``; once: ``shots`` (the executor's, 0: exact).
    """

    takes_eval_inputs = True  # evaluation.<backend>.inputs caps the test sequences

    def _sweep(self) -> tuple[DictConfig, list, list[tuple[str, float, int]]]:
        """The model's constructor config, its sizes (null = its own fixed memory) and its
        tuning budget: (label, lr, restart) tries, ``sweep.restarts`` initialisations per
        learning rate (label lr{i}, then lr{i}r{r} for the extra ones: the checkpoint's keys
        and random streams); each point keeps the try with the lowest validation KL."""
        model = OmegaConf.to_container(self.cfg.model, resolve=True)
        sweep = model.pop("sweep", None)
        if sweep is None or not sweep.get("lrs"):
            raise ConfigError(f"model {self.cfg.choices.get('model')} has no sweep.lrs")
        restarts = int(sweep.get("restarts", 1))
        if restarts < 1:
            raise ConfigError(f"sweep.restarts={restarts} must be >= 1")
        sizes = sweep.get("sizes") or [None]
        lrs = list(sweep["lrs"])[: self.cfg.paper.lr_budget]
        tries = [
            (f"lr{i}" if r == 0 else f"lr{i}r{r}", float(lr), r)
            for i, lr in enumerate(lrs)
            for r in range(restarts)
        ]
        return OmegaConf.create(model), sizes, tries

    def _build(
        self, model_cfg: DictConfig, n: int, k: int, size: int | None, executor: Executor
    ) -> torch.nn.Module:
        """The model of task (n, k) at ``size`` (None: its own fixed memory), its circuit run by
        ``executor`` (classical models ignore it). Partial, so the executor object reaches the
        model as it is, never as config."""
        return instantiate(model_cfg, _partial_=True)(n=n, k=k, size=size, executor=executor)

    def _tasks(self) -> list[tuple[int, int]]:
        return [(int(t.n), int(t.k)) for t in self.cfg.dataset.tasks]

    def describe(self) -> dict[str, int | str]:
        model_cfg, sizes, tries = self._sweep()
        info: dict[str, int | str] = {"sizes": str(sizes), "tries": str([t[:2] for t in tries])}
        # memory and parameter counts do not depend on the executor: an exact CPU one
        executor = TorchStatevector(device="cpu")
        for n, k in self._tasks():
            for size in sizes:
                model = self._build(model_cfg, n, k, size, executor)
                tag = f"{_task(n, k)}/d{size if size is not None else n}"
                info[f"{tag}/memory"] = model.memory
                info[f"{tag}/parameters"] = sum(p.numel() for p in model.parameters())
        return info

    def train(self, ctx: RunContext) -> Records:
        paper = self.cfg.paper
        model_cfg, sizes, tries = self._sweep()
        state = load_checkpoint(ctx.checkpoint, ctx.config_hash) or {}
        points: dict[str, dict[str, float]] = state.get("points", {})
        weights: dict[str, dict] = state.get("weights", {})
        floors: dict[str, float] = state.get("floors", {})
        root = resolve(self.cfg.dataset.processed_dir)
        plan = [(t, s, attempt) for t in self._tasks() for s in sizes for attempt in tries]
        splits: dict[tuple[int, int], tuple] = {}  # each task read once
        bar = tqdm(plan, desc=f"sweep seed {ctx.seed}", leave=False, disable=None)
        for (n, k), size, (label, lr, _) in bar:
            key = f"{_task(n, k)}/d{size if size is not None else n}/{label}"
            if key in points:
                continue
            if (n, k) not in splits:
                splits[(n, k)] = _splits(_load(root, n, k), paper.n_train, paper.val_fraction)
            if _task(n, k) not in floors:
                floors[_task(n, k)] = blind_kl(splits[(n, k)][2])
                ctx.run.log_metrics({f"{_task(n, k)}/blind_kl": floors[_task(n, k)]})
            # Each point draws its initialisation and batch order from its own streams, so a
            # resumed sweep trains every point exactly as a fresh one.
            with seeded(ctx.seed, "init", key):
                model = self._build(model_cfg, n, k, size, ctx.executor).to(ctx.device)
            order = torch_generator(ctx.seed, "data_order", key)
            result = fit(
                model, splits[(n, k)], paper.epochs, paper.batch_size, lr, ctx.device, order
            )
            result.update(memory=float(model.memory), lr=lr)
            points[key] = result
            weights[key] = {name: t.cpu() for name, t in model.state_dict().items()}
            ctx.run.log_metrics({f"{key}/{m}": v for m, v in result.items()})
            save_checkpoint(
                ctx.checkpoint,
                {
                    "points": points,
                    "weights": weights,
                    "floors": floors,
                    "config_hash": ctx.config_hash,
                    "mlflow_run_id": ctx.run.run_id,
                },
            )
            bar.set_postfix(point=key, kl=f"{result['test_kl']:.4f}")
        return _train_records(plan, points, floors)

    def evaluate(self, ctx: RunContext) -> Records:
        """The trained k-HRNN of every task (its best try by validation KL) run by
        ``ctx.executor`` on the first ``ctx.eval_inputs`` (else ``paper.eval_sequences``) test
        sequences, next to the exact reference ``ctx.reference`` (torch, float64) on the same
        sequences. Shot estimates are smoothed with 0.5 / shots pseudo-counts.

        Returns per task (dims ``n``, ``k``): ``test_kl`` (the executor's, nats per outcome),
        ``exact_kl`` (the reference's) and ``seconds`` (both runs); once: ``shots`` (the
        executor's, 0: exact). The stage adds the sweep point (``shots=4000``) as a dimension
        where one is declared.

        Raises:
            ConfigError: the job's model is classical (no circuit to run).
            DataError: no checkpoint, or one without a trained k-HRNN for some task.
        """
        model_cfg, sizes, tries = self._sweep()
        if sizes != [None]:
            raise ConfigError(
                f"model {self.cfg.choices.get('model')} is classical: the contextual evaluate "
                "stages run the k-HRNN's circuit on Qiskit backends; its own test KL is in train"
            )
        state = load_checkpoint(ctx.checkpoint)
        if state is None or "weights" not in state:
            raise DataError(f"{ctx.checkpoint} holds no trained weights; rerun the train stage")
        root = resolve(self.cfg.dataset.processed_dir)
        # The shot count is the executor's own: evaluation.<backend>.sweep sets it (at
        # paper.eval_shots in the default and paper profiles), never this method.
        shots = ctx.executor.shots
        pseudo = 0.5 / shots if shots else 0.0
        count = ctx.eval_inputs or self.cfg.paper.eval_sequences
        records = Records()
        desc = type(ctx.executor).__name__
        for n, k in tqdm(self._tasks(), desc=desc, leave=False, disable=None):
            task = _task(n, k)
            keys = [f"{task}/d{n}/{label}" for label, _, _ in tries]
            if any(key not in state["weights"] for key in keys):
                raise DataError(f"{ctx.checkpoint} has no trained k-HRNN for {task}; retrain")
            key = min(keys, key=lambda key: state["points"][key]["val_kl"])
            test = _take(_test(_load(root, n, k)), slice(0, count))
            with warnings.catch_warnings():
                # the float64 reference warns of float32 init weights: replaced by the
                # checkpoint's right below
                warnings.simplefilter("ignore", PrecisionWarning)
                exact = self._build(model_cfg, n, k, None, ctx.reference)
            exact.load_state_dict(state["weights"][key])
            on_backend = self._build(model_cfg, n, k, None, ctx.executor)
            on_backend.load_state_dict(state["weights"][key])
            assert isinstance(on_backend, QuantumHRNN)
            started = time.perf_counter()
            with torch.no_grad():
                p_backend = on_backend.conditionals(test, pseudo)
                p_exact = exact(test)
            records.add("test_kl", bernoulli_kl(test["p_one"], p_backend).mean().item(), n=n, k=k)
            records.add("exact_kl", bernoulli_kl(test["p_one"], p_exact).mean().item(), n=n, k=k)
            records.add("seconds", time.perf_counter() - started, n=n, k=k)
        records.add("shots", float(shots or 0))
        return records


def _train_records(
    plan: list[tuple[tuple[int, int], int | None, tuple[str, float, int]]],
    points: dict[str, dict[str, float]],
    floors: dict[str, float],
) -> Records:
    """The sweep's checkpointed ``points`` (keyed ``n<n>_k<k>/d<size>/<label>``, each with its
    ``memory`` and ``lr``) and ``floors`` (keyed by task) as records, in ``plan`` order: the
    point's coordinates become dimensions, so ``memory`` and ``lr`` are no values of their own."""
    records = Records()
    for (n, k), size, (label, lr, restart) in plan:
        d = size if size is not None else n
        result = points[f"{_task(n, k)}/d{d}/{label}"]
        dims = {"n": n, "k": k, "size": d, "memory": int(result["memory"]), "lr": lr}
        values = {m: v for m, v in result.items() if m not in ("memory", "lr")}
        records.update(values, **dims, restart=restart)
    for n, k in dict.fromkeys((n, k) for (n, k), _, _ in plan):
        records.add("blind_kl", floors[_task(n, k)], n=n, k=k)
    return records
