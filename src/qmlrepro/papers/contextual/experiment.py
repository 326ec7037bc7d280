"""The memory sweep: every task (n, k) of the dataset x every model size x every learning rate of
the model's ``sweep``, one seed per stage run; held-out KL per outcome against the exact
conditionals, next to the theta-blind floor. Finished sweep points are checkpointed (metrics and
weights), so an interrupted stage resumes; the k-HRNN's weights are then evaluated on Qiskit
backends (the stage's executor, at the shots that ``evaluation.<backend>.sweep`` declares)."""

import copy
import dataclasses
import math
import time
import warnings

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from tqdm.auto import tqdm

from qmlrepro.data.sequence import (
    SequenceTaskSpec,
    angle_alphabet,
    basis_bits,
    load_sequence_task,
    sample_split,
    task_name,
)
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


Task = tuple[int, int, int | None]  # n, k, theta_levels (None: continuous angles)


def _load(root, task: Task) -> dict[str, torch.Tensor]:
    try:
        return load_sequence_task(root, *task)
    except (DataError, FileNotFoundError) as exc:
        raise DataError(
            f"no prepared sequences for task {task_name(*task)} in {root} ({exc}); run "
            "`dvc repro prepare_sequence`"
        ) from exc


def _task(task: Task) -> str:
    return task_name(*task)


def _task_dims(task: Task) -> dict[str, int | str]:
    n, k, levels = task
    return {"n": n, "k": k, "angles": angle_alphabet(levels)}


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
    targets: str = "exact",
    patience: int | None = None,
) -> dict[str, float]:
    """Adam on the cross-entropy against ``targets`` (teacher forcing): "exact", the exact
    conditionals p(o_t = 1 | o_<t) as soft targets (the gradient of the KL itself), or
    "sampled", the sampled 0/1 outcomes (the outcomes' NLL, the paper's loss). Keeps the weights
    of the epoch with the lowest validation KL; stops after ``patience`` epochs without a new
    best (None: runs all ``epochs``). ``generator`` (CPU) draws the batch order.

    Returns ``val_kl``, ``best_epoch``, ``epochs`` (run), ``converged`` (1.0 when patience ended
    the run: the validation KL had stopped improving; 0.0 when the epoch budget did, so a better
    KL may lie further), ``train_kl``, ``train_nll``, ``test_kl``, ``test_nll`` (nats per
    outcome) and ``seconds``.

    Raises:
        ValueError: ``targets`` is neither "exact" nor "sampled"."""
    if targets not in ("exact", "sampled"):
        raise ValueError(f"targets={targets!r}: use 'exact' or 'sampled'")
    target_key = "p_one" if targets == "exact" else "outcomes"
    train, val, test = splits
    started = time.perf_counter()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    n = len(train["outcomes"])
    batch_size = min(batch_size, n)
    on_device = {key: value.to(device) for key, value in train.items()}
    best = (math.inf, 0, copy.deepcopy(model.state_dict()))
    converged, epoch = 0.0, 0
    for epoch in range(1, epochs + 1):
        model.train()
        for idx in torch.randperm(n, generator=generator).to(device).split(batch_size):
            batch = {key: value[idx] for key, value in on_device.items()}
            loss = outcome_nll(model(batch), batch[target_key].double())
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        model.eval()
        val_kl, _ = kl_and_nll(model, val, device)
        if val_kl < best[0]:
            best = (val_kl, epoch, copy.deepcopy(model.state_dict()))
        elif patience is not None and epoch - best[1] >= patience:
            converged = 1.0
            break
    model.load_state_dict(best[2])
    model.eval()
    scores = {
        "val_kl": best[0],
        "best_epoch": float(best[1]),
        "epochs": float(epoch),
        "converged": converged,
    }
    for name, split in (("train", train), ("test", test)):
        scores[f"{name}_kl"], scores[f"{name}_nll"] = kl_and_nll(model, split, device)
    return {**scores, "seconds": time.perf_counter() - started}


def population_thetas(n: int, k: int) -> torch.Tensor:
    """(2^C, C) float64: every binary hypergraph as angles (bit e of the row index h: theta_e =
    pi), the population the memory probe bounds."""
    return math.pi * basis_bits(math.comb(n, k)).double()


def population_batch(
    thetas: torch.Tensor,
    n: int,
    k: int,
    count: int,
    generator: torch.Generator,
    blind: bool = False,
) -> Split:
    """``count`` fresh sequences of the task distribution over the hypergraphs ``thetas``: each
    hypergraph drawn uniformly, then one sequence of it as
    :func:`~qmlrepro.data.sequence.sample_split` draws it (in one chunk); ``blind`` adds the
    theta-blind conditionals ``p_blind`` (not needed to train)."""
    picked = thetas[torch.randint(0, len(thetas), (count,), generator=generator)]
    spec = SequenceTaskSpec(n, k, count, 0, 1, theta_levels=2)
    return sample_split(spec, picked, generator, chunk=count, blind=blind)


def fit_population(
    model: torch.nn.Module,
    n: int,
    k: int,
    steps: int,
    batch_size: int,
    lr: float,
    device: torch.device,
    generator: torch.Generator,
    eval_sequences: int,
) -> dict[str, float]:
    """Adam on the task distribution itself: every step draws ``batch_size`` hypergraphs
    uniformly from all 2^C(n, k) and a fresh setting, order and outcome sequence for each
    (:func:`population_batch`), with the exact conditionals as soft targets; no sequence is
    seen twice, so nothing can be memorised but the hypergraph-to-law map the memory probe
    allows. Runs all ``steps`` (no early stopping: no held-out set is needed), then estimates
    the population KL per outcome on ``eval_sequences`` fresh sequences: unbiased for the
    quantity KL*(m) bounds (:mod:`~qmlrepro.papers.contextual.probe`).

    Returns ``population_kl`` and ``population_floor`` (the theta-blind predictor's KL on the
    same fresh sequences, nats per outcome), ``steps`` and ``seconds``."""
    started = time.perf_counter()
    thetas = population_thetas(n, k)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for _ in range(steps):
        batch = population_batch(thetas, n, k, batch_size, generator)
        batch = {key: value.to(device) for key, value in batch.items()}
        loss = outcome_nll(model(batch), batch["p_one"].double())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    model.eval()
    fresh = population_batch(thetas, n, k, eval_sequences, generator, blind=True)
    kl, _ = kl_and_nll(model, fresh, device)
    return {
        "population_kl": kl,
        "population_floor": blind_kl(fresh),
        "steps": float(steps),
        "seconds": time.perf_counter() - started,
    }


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

    def _sweep(self) -> tuple[DictConfig, dict, list[tuple[str, float, int]]]:
        """The model's constructor config, its ``sweep`` and its tuning budget: (label, lr,
        restart) tries, ``sweep.restarts`` initialisations per learning rate (label lr{i}, then
        lr{i}r{r} for the extra ones: the checkpoint's keys and random streams); each point
        keeps the try with the lowest validation KL, and every try stays in the records (the
        k-HRNN's random-initialisation success rate is over all of them)."""
        model = OmegaConf.to_container(self.cfg.model, resolve=True)
        sweep = model.pop("sweep", None)
        if sweep is None or not sweep.get("lrs"):
            raise ConfigError(f"model {self.cfg.choices.get('model')} has no sweep.lrs")
        restarts = int(sweep.get("restarts", 1))
        if restarts < 1:
            raise ConfigError(f"sweep.restarts={restarts} must be >= 1")
        lrs = list(sweep["lrs"])[: self.cfg.paper.lr_budget]
        tries = [
            (f"lr{i}" if r == 0 else f"lr{i}r{r}", float(lr), r)
            for i, lr in enumerate(lrs)
            for r in range(restarts)
        ]
        return OmegaConf.create(model), sweep, tries

    @staticmethod
    def _sizes(sweep: dict, task: Task) -> list[int | None]:
        """The model sizes tried on ``task``: ``sweep.sizes`` (null: the model's own fixed
        memory), or, with ``sweep.bits_below_edges`` (the m-bit bottleneck), m = C(n, k) - j
        for each j (those >= 0): the memories where the exact probe puts the threshold."""
        below = sweep.get("bits_below_edges")
        if below is not None:
            edges = math.comb(task[0], task[1])
            return [edges - j for j in below if edges - j >= 0]
        return list(sweep.get("sizes") or [None])

    def _build(
        self, model_cfg: DictConfig, n: int, k: int, size: int | None, executor: Executor
    ) -> torch.nn.Module:
        """The model of task (n, k) at ``size`` (None: its own fixed memory), its circuit run by
        ``executor`` (classical models ignore it). Partial, so the executor object reaches the
        model as it is, never as config."""
        return instantiate(model_cfg, _partial_=True)(n=n, k=k, size=size, executor=executor)

    def _tasks(self) -> list[Task]:
        """(n, k, theta_levels) of every task of the dataset (a task's own theta_levels, else
        the dataset's)."""
        ds = OmegaConf.to_object(self.cfg.dataset)  # SequenceConfig: its task_value fallback
        return [(int(t.n), int(t.k), ds.task_value(t, "theta_levels")) for t in ds.tasks]

    def _enumerable(self, task: Task) -> bool:
        """A binary task whose 2^C(n, k) hypergraphs ``paper.population_max_hyperedges``
        allows drawing from as a population (population training of the bottleneck)."""
        n, k, levels = task
        return levels == 2 and math.comb(n, k) <= self.cfg.paper.population_max_hyperedges

    def _is_probe(self) -> bool:
        return self.cfg.model.get("probe", False) is True

    def describe(self) -> dict[str, int | str]:
        if self._is_probe():
            return {"max_hyperedges": int(self.cfg.model.max_hyperedges)}
        model_cfg, sweep, tries = self._sweep()
        info: dict[str, int | str] = {"tries": str([t[:2] for t in tries])}
        # memory and parameter counts do not depend on the executor: an exact CPU one
        executor = TorchStatevector(device="cpu")
        for task in self._tasks():
            n, k, _ = task
            for size in self._sizes(sweep, task):
                model = self._build(model_cfg, n, k, size, executor)
                tag = f"{_task(task)}/d{size if size is not None else n}"
                info[f"{tag}/memory"] = model.memory
                info[f"{tag}/parameters"] = sum(p.numel() for p in model.parameters())
        return info

    def train(self, ctx: RunContext) -> Records:
        if self._is_probe():
            return self._probe(ctx)
        paper = self.cfg.paper
        model_cfg, sweep, tries = self._sweep()
        state = load_checkpoint(ctx.checkpoint, ctx.config_hash) or {}
        points: dict[str, dict[str, float]] = state.get("points", {})
        weights: dict[str, dict] = state.get("weights", {})
        floors: dict[str, float] = state.get("floors", {})
        root = resolve(self.cfg.dataset.processed_dir)
        angles = sweep.get("angles")  # e.g. [binary]: the bottleneck, compared with the probe
        population = bool(sweep.get("population", False))
        plan = [
            (t, s, attempt)
            for t in self._tasks()
            if angles is None or angle_alphabet(t[2]) in angles
            if not population or self._enumerable(t)
            for s in self._sizes(sweep, t)
            for attempt in tries
        ]
        splits: dict[Task, tuple] = {}  # each task read once
        inits = int(sweep.get("gradient_variance") or 0)
        variances: dict[str, float] = state.get("variances", {})
        for task in dict.fromkeys(t for t, _, _ in plan) if inits else ():
            if _task(task) not in variances:
                if task not in splits:
                    splits[task] = _splits(_load(root, task), paper.n_train, paper.val_fraction)
                variances[_task(task)] = self._gradient_variance(
                    model_cfg, task, splits[task][0], inits, ctx
                )
        bar = tqdm(plan, desc=f"sweep seed {ctx.seed}", leave=False, disable=None)
        for task, size, (label, lr, _) in bar:
            n, k, _ = task
            key = f"{_task(task)}/d{size if size is not None else n}/{label}"
            if key in points:
                continue
            if task not in splits:
                splits[task] = _splits(_load(root, task), paper.n_train, paper.val_fraction)
            if _task(task) not in floors:
                floors[_task(task)] = blind_kl(splits[task][2])
                ctx.run.log_metrics({f"{_task(task)}/blind_kl": floors[_task(task)]})
            # Each point draws its initialisation and batch order from its own streams, so a
            # resumed sweep trains every point exactly as a fresh one.
            with seeded(ctx.seed, "init", key):
                model = self._build(model_cfg, n, k, size, ctx.executor).to(ctx.device)
            order = torch_generator(ctx.seed, "data_order", key)
            if population:
                result = fit_population(
                    model, n, k, paper.population_steps, paper.batch_size, lr, ctx.device,
                    order, paper.population_eval,
                )  # fmt: skip
            else:
                result = fit(
                    model,
                    splits[task],
                    paper.epochs,
                    paper.batch_size,
                    lr,
                    ctx.device,
                    order,
                    targets=paper.targets,
                    patience=paper.patience,
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
                    "variances": variances,
                    "config_hash": ctx.config_hash,
                    "mlflow_run_id": ctx.run.run_id,
                },
            )
            bar.set_postfix(point=key, kl=f"{result.get('test_kl', math.nan):.4f}")
        records = _train_records(plan, points, floors)
        for task in dict.fromkeys(t for t, _, _ in plan) if inits else ():
            records.add("gradient_variance", variances[_task(task)], **_task_dims(task))
        return records

    def _gradient_variance(
        self, model_cfg: DictConfig, task: Task, train: Split, inits: int, ctx: RunContext
    ) -> float:
        """The barren-plateau diagnostic (McClean et al. 2018, Nat. Commun. 9, 4812): the
        variance over ``inits`` random initialisations of the gradient of the training loss
        (soft targets, the first 256 training sequences), averaged over parameters. A barren
        plateau makes it vanish exponentially in the qubit count n."""
        n, k, _ = task
        batch = {key: value[:256].to(ctx.device) for key, value in train.items()}
        grads = []
        for r in range(inits):
            with seeded(ctx.seed, "gradient_variance", _task(task), r):
                model = self._build(model_cfg, n, k, None, ctx.executor).to(ctx.device)
            loss = outcome_nll(model(batch), batch["p_one"].double())
            params = [p for p in model.parameters() if p.requires_grad]
            grads.append(torch.cat([g.flatten() for g in torch.autograd.grad(loss, params)]))
        return torch.stack(grads).double().var(dim=0).mean().item()

    def _probe(self, ctx: RunContext) -> Records:
        """The exact m-bit memory probe (:func:`~qmlrepro.papers.contextual.probe.memory_bounds`)
        on every binary task with at most ``model.max_hyperedges`` hyperedges (2^C hypergraphs
        enumerated; larger tasks are left to bigger profiles and recorded as ``probed`` 0).

        Records per task (dims ``n``, ``k``, ``angles``): ``probed`` (1/0), ``seconds``; per
        memory m = 0..C (dim ``memory``, bits): ``kl_lower`` and ``kl_upper`` (nats per
        outcome), ``exact`` (1.0 where lower = upper is proven) and ``upper_partition`` as the
        dim ``partition`` of ``kl_upper``. Checkpointed per task."""
        state = load_checkpoint(ctx.checkpoint, ctx.config_hash) or {}
        done: dict[str, dict] = state.get("bounds", {})
        options = OmegaConf.to_container(self.cfg.model, resolve=True)
        limit = int(options.pop("max_hyperedges"))
        options.pop("probe")
        bounds_of = instantiate(OmegaConf.create(options), _partial_=True)
        records = Records()
        for task in self._tasks():
            n, k, levels = task
            dims = _task_dims(task)
            if levels != 2:
                continue  # continuous or L > 2 angles: no finite set of hypergraphs to partition
            if math.comb(n, k) > limit:
                records.add("probed", 0.0, **dims)
                continue
            if _task(task) not in done:
                bounds = bounds_of(n, k, seed=ctx.seed)
                done[_task(task)] = dataclasses.asdict(bounds)
                save_checkpoint(
                    ctx.checkpoint,
                    {
                        "bounds": done,
                        "config_hash": ctx.config_hash,
                        "mlflow_run_id": ctx.run.run_id,
                    },
                )
            b = done[_task(task)]
            records.add("probed", 1.0, **dims)
            records.add("seconds", b["seconds"], **dims)
            for m, (low, high, method, exact) in enumerate(
                zip(b["lower"], b["upper"], b["upper_method"], b["exact"], strict=True)
            ):
                records.add("kl_lower", low, **dims, memory=m)
                records.add("kl_upper", high, **dims, memory=m, partition=method)
                records.add("exact", float(exact), **dims, memory=m)
        return records

    def evaluate(self, ctx: RunContext) -> Records:
        """The trained k-HRNN of every task (its best try by validation KL) run by
        ``ctx.executor`` on the first ``ctx.eval_inputs`` (else ``paper.eval_sequences``) test
        sequences, next to the exact reference ``ctx.reference`` (torch, float64) on the same
        sequences. Shot estimates are smoothed with 0.5 / shots pseudo-counts.

        Returns per task (dims ``n``, ``k``, ``angles``): ``test_kl`` (the executor's, nats per
        outcome), ``exact_kl`` (the reference's) and ``seconds`` (both runs); once: ``shots``
        (the executor's, 0: exact). The stage adds the sweep point (``shots=4000``) as a
        dimension where one is declared.

        Raises:
            ConfigError: the job's model is classical (no circuit to run).
            DataError: no checkpoint, or one without a trained k-HRNN for some task.
        """
        if self._is_probe():
            raise ConfigError("the memory probe has no circuit: evaluate only the k-HRNN job")
        model_cfg, sweep, tries = self._sweep()
        if self._sizes(sweep, self._tasks()[0]) != [None]:
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
        for task in tqdm(self._tasks(), desc=desc, leave=False, disable=None):
            n, k, _ = task
            keys = [f"{_task(task)}/d{n}/{label}" for label, _, _ in tries]
            if any(key not in state["weights"] for key in keys):
                raise DataError(
                    f"{ctx.checkpoint} has no trained k-HRNN for {_task(task)}; retrain"
                )
            key = min(keys, key=lambda key: state["points"][key]["val_kl"])
            test = _take(_test(_load(root, task)), slice(0, count))
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
            dims = _task_dims(task)
            records.add("test_kl", bernoulli_kl(test["p_one"], p_backend).mean().item(), **dims)
            records.add("exact_kl", bernoulli_kl(test["p_one"], p_exact).mean().item(), **dims)
            records.add("seconds", time.perf_counter() - started, **dims)
        records.add("shots", float(shots or 0))
        return records


def _train_records(
    plan: list[tuple[Task, int | None, tuple[str, float, int]]],
    points: dict[str, dict[str, float]],
    floors: dict[str, float],
) -> Records:
    """The sweep's checkpointed ``points`` (keyed ``<task>/d<size>/<label>``, each with its
    ``memory`` and ``lr``) and ``floors`` (keyed by task) as records, in ``plan`` order: the
    point's coordinates become dimensions, so ``memory`` and ``lr`` are no values of their own."""
    records = Records()
    for task, size, (label, lr, restart) in plan:
        d = size if size is not None else task[0]
        result = points[f"{_task(task)}/d{d}/{label}"]
        dims = {**_task_dims(task), "size": d, "memory": int(result["memory"]), "lr": lr}
        values = {m: v for m, v in result.items() if m not in ("memory", "lr")}
        records.update(values, **dims, restart=restart)
    for task in dict.fromkeys(task for task, _, _ in plan):
        records.add("blind_kl", floors[_task(task)], **_task_dims(task))
    return records
