"""SimCLR pre-training, the two linear probes, learning-rate tuning, and frozen-encoder inference
on any backend.

A qssl job is one of three kinds, by its ``paper`` settings:

- a comparison job (``lr_from`` or a fixed ``lr``): pre-train, then probe the representation
  network's output and its input angles;
- a tuning job (``lr_grid``): per seed, pre-train once per learning rate and record the converged
  probe's accuracy on the validation split (never the test split);
- a random-initialisation control (``steps: 0``): no SimCLR training, BatchNorm statistics set on
  ``calibrate_batches`` augmented batches, then the same probes.
"""

import copy
import dataclasses
import math
import time
from collections.abc import Mapping
from typing import Any

import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from torch import nn
from tqdm.auto import tqdm

from qmlrepro.data.artifacts import read_json
from qmlrepro.data.augment import AugmentSpec, BatchAugment
from qmlrepro.data.images import image_tensors
from qmlrepro.errors import ConfigError, DataError
from qmlrepro.experiment import Experiment, RunContext
from qmlrepro.papers.qssl.losses import nt_xent_loss
from qmlrepro.papers.qssl.models import QuantumRepresentation, SimCLRNetwork, count_parameters
from qmlrepro.papers.qssl.probe import (
    ConvergedProbe,
    accuracy,
    effective_rank,
    fit_converged_probe,
    label_indices,
    train_linear_probe,
)
from qmlrepro.paths import resolve
from qmlrepro.quantum.executor import Executor
from qmlrepro.quantum.torch_executor import TorchStatevector
from qmlrepro.records import Record, Records
from qmlrepro.training.checkpoint import load_checkpoint, save_checkpoint
from qmlrepro.training.loop import LoopConfig, batch_stream, run_loop
from qmlrepro.training.seeding import derive_seed, seed_everything, seeded

FEATURES = ("representation", "angles")  # what the converged probe reads
SATURATION = 0.05  # rad: an angle this close to 0 or pi counts as saturated
LOSS_BATCHES = 4  # fixed batches on which the NT-Xent loss is measured before and after training


@dataclasses.dataclass
class ProbeData:
    """The probe's images: ``train`` (first ``n_train`` training images), ``val`` (the next
    ``n_val``: for choosing the converged probe's C and the learning rate) and ``test`` (first
    ``n_test`` test images; their first ``eval_images`` are what the evaluate stage scores).
    Each split is (images (N, C, H, W) float in [0, 1], labels (N,) int64)."""

    train: tuple[torch.Tensor, torch.Tensor]
    val: tuple[torch.Tensor, torch.Tensor]
    test: tuple[torch.Tensor, torch.Tensor]


class _PrefixedRun:
    """A tracked run whose metric names get ``prefix`` (one run per seed holds every learning
    rate of a tuning job: ``lr0.001/train/loss``)."""

    def __init__(self, run: Any, prefix: str) -> None:
        self._run, self._prefix = run, prefix

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        self._run.log_metrics({f"{self._prefix}{k}": v for k, v in metrics.items()}, step)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._run, name)


# Keys that may differ between a tuning job and the comparison job it tunes: what is tuned, which
# seeds, what is kept, and the run's bookkeeping. Everything else must be equal.
TUNING_FREE = (
    "paper.lr",
    "paper.lr_grid",
    "paper.lr_from",
    "paper.keep_model",
    "profile.seeds",
    "backend.seed",  # set per run to the run's seed
    "backend.executor.seed",
    "job",
    "seed",
    "tracking",
    "results_dir",
    "run_in_profiles",
    "evaluation",
)


def _setting(cfg) -> dict[str, str]:
    """A composed config as flat ``{dotted key: value}`` without :data:`TUNING_FREE`."""
    from qmlrepro.tracking.mlflow_run import flatten

    tree = OmegaConf.to_container(cfg, resolve=True)
    return {
        k: v
        for k, v in flatten(tree).items()
        if not any(k == free or k.startswith(f"{free}.") for free in TUNING_FREE)
    }


def best_lr(values: Mapping[float, list[float]]) -> float:
    """The learning rate of the highest mean validation accuracy over seeds (ties: the smallest).

    Raises:
        DataError: no learning rate has a value.
    """
    means = {lr: sum(v) / len(v) for lr, v in values.items() if v}
    if not means:
        raise DataError("the tuning job recorded no validation accuracy")
    return max(sorted(means), key=lambda lr: means[lr])


class QsslExperiment(Experiment):
    def __init__(self, cfg) -> None:
        super().__init__(cfg)
        self._chosen_lr: float | None = None

    def _augment(self) -> BatchAugment:
        name = self.cfg.dataset.name
        spec = self.cfg.paper.augment.get(name)
        if spec is None:
            raise ConfigError(
                f"paper.augment has no entry for dataset={name}; add paper.augment.{name} "
                f"(known: {', '.join(self.cfg.paper.augment)})"
            )
        fields = OmegaConf.to_container(spec)
        return BatchAugment(
            AugmentSpec(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})
        )

    def _network(
        self, device: torch.device, in_channels: int, seed: int, executor: Executor
    ) -> SimCLRNetwork:
        """The network of run seed ``seed``, its quantum layer from ``executor``; every component
        is initialised from its own stream (:class:`SimCLRNetwork`), so all models of one seed
        share the trunk and head weights."""
        paper = self.cfg.paper
        # Partial, so the stage's executor object reaches the model (never the backend config).
        with seeded(seed, "init", "representation"):
            representation = instantiate(self.cfg.model, _partial_=True)(executor=executor)
        net = SimCLRNetwork(representation, paper.width, in_channels, paper.projection_dim, seed)
        return net.to(device)

    # -- learning rate -------------------------------------------------------------------------

    def lr(self) -> float:
        """The pre-training learning rate: ``paper.lr``, or with ``paper.lr_from`` the
        :func:`best_lr` of that tuning job's recorded validation accuracies (``paper.lr`` when
        that job is skipped in this profile, ``run_in_profiles``).

        Raises:
            DataError: the tuning job's metrics are missing or unreadable.
            ConfigError: it tuned another model, backend, width, horizon or dataset.
        """
        paper = self.cfg.paper
        if not paper.lr_from:
            return float(paper.lr)
        if self._chosen_lr is None:
            self._chosen_lr = self._tuned_lr(str(paper.lr_from))
        return self._chosen_lr

    def _tuned_lr(self, job: str) -> float:
        from qmlrepro.report.results import JobResult, metrics_path

        path = metrics_path(resolve(self.cfg.results_dir), job, "train")
        if not path.is_file():
            raise DataError(
                f"paper.lr_from={job}: {path} not found; run that tuning job first "
                f"(dvc repro train@{job})"
            )
        tuned = JobResult.read(path)
        if tuned.dims.get("role") != "tuning":
            raise ConfigError(f"paper.lr_from={job} is not a tuning job (no paper.lr_grid)")
        if not tuned.runs and read_json(path).get("skipped"):
            # the tuning job does not run in this profile (the smoke profile skips tuning):
            # the paper's lr, recorded as this job's ``lr``
            return float(self.cfg.paper.lr)
        saved = path.parents[2] / "checkpoints" / job / "config.yaml"
        if not saved.is_file():
            raise DataError(f"paper.lr_from={job}: {saved} not found; rerun that tuning job")
        theirs = _setting(OmegaConf.load(saved))
        mine = _setting(self.cfg)
        differ = sorted(k for k in theirs.keys() | mine.keys() if theirs.get(k) != mine.get(k))
        if differ:
            raise ConfigError(
                f"paper.lr_from={job} tuned another setting: "
                + ", ".join(f"{k}={theirs.get(k)} (this job: {mine.get(k)})" for k in differ[:4])
            )
        values: dict[float, list[float]] = {}
        for r in tuned.table().select("val_accuracy", features="representation"):
            values.setdefault(float(r.dims["lr"]), []).append(r.value)
        return best_lr(values)

    def describe(self) -> dict[str, int | str | float]:
        channels = 3 if self.cfg.dataset.name == "cifar10" else 1
        # parameter counts and the circuit do not depend on the executor: an exact CPU one
        net = self._network(torch.device("cpu"), channels, 0, TorchStatevector(device="cpu"))
        paper = self.cfg.paper
        info: dict[str, int | str | float] = {
            "n_params": count_parameters(net),
            "n_params_representation": count_parameters(net.representation),
            "width": paper.width,
            "projection_dim": paper.projection_dim or paper.width,
        }
        if paper.lr_grid:
            info["lr_grid"] = ", ".join(f"{lr:g}" for lr in paper.lr_grid)
        else:
            info["lr"] = self.lr()  # resolved now: a missing tuning job fails before any run
        if isinstance(net.representation, QuantumRepresentation):
            qc = net.representation.spec.circuit
            info.update(
                n_qubits=qc.num_qubits,
                circuit_depth=qc.depth(),
                gate_counts=", ".join(f"{k}={v}" for k, v in qc.count_ops().items()),
            )
        return info

    def dims(self) -> dict[str, int | str]:
        """The dimensions that tell this paper's jobs apart beyond model and backend: the
        representation ``width`` (qubits or units; the ablation sweeps it), the SimCLR horizon
        ``steps`` (the ablation trains shorter; 0: the random-initialisation control), the
        ``dataset`` and the job's :meth:`role`."""
        paper = self.cfg.paper
        return {
            "width": int(paper.width),
            "steps": int(paper.steps),
            "dataset": str(self.cfg.dataset.name),
            "role": self.role(),
        }

    def role(self) -> str:
        """``"tuning"`` (``lr_grid``), ``"random_init"`` (``steps: 0``) or ``"comparison"``."""
        if self.cfg.paper.lr_grid:
            return "tuning"
        return "random_init" if self.cfg.paper.steps == 0 else "comparison"

    # -- data and features ----------------------------------------------------------------------

    def _probe_data(self) -> ProbeData:
        cfg, paper = self.cfg.paper.probe, self.cfg.paper
        if paper.eval_images and cfg.n_test and paper.eval_images > cfg.n_test:
            raise ConfigError(
                f"paper.eval_images={paper.eval_images} > paper.probe.n_test={cfg.n_test}: the "
                "evaluated images must be among the probe's test images"
            )
        limit = None if cfg.n_train is None else cfg.n_train + cfg.n_val
        x, y = image_tensors(self.cfg.dataset, train=True, limit=limit)
        if len(x) <= cfg.n_val:
            raise DataError(
                f"{len(x)} training images leave none for the probe after paper.probe.n_val="
                f"{cfg.n_val} validation images; lower n_val"
            )
        split = len(x) - cfg.n_val
        test = image_tensors(self.cfg.dataset, train=False, limit=cfg.n_test)
        return ProbeData((x[:split], y[:split]), (x[split:], y[split:]), test)

    def _features(
        self,
        net: SimCLRNetwork,
        images: torch.Tensor,
        transform,
        device: torch.device,
        desc: str,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(representation-network outputs, input angles) of ``images``, each (N, W), batched,
        without gradients; the trunk runs once per image."""
        net.eval()
        batch, reps, angles = self.cfg.paper.eval_batch, [], []
        with torch.no_grad():
            for start in tqdm(range(0, len(images), batch), desc=desc, leave=False, disable=None):
                a = net.angles(transform(images[start : start + batch].to(device)))
                angles.append(a)
                reps.append(net.representation(a))
        return torch.cat(reps), torch.cat(angles)

    # -- training -------------------------------------------------------------------------------

    def _pretrain(
        self, ctx: RunContext, x: torch.Tensor, augment: BatchAugment, lr: float
    ) -> SimCLRNetwork:
        """SimCLR pre-training at ``lr`` for ``paper.steps`` batches (resuming
        ``ctx.checkpoint``), or with ``steps: 0`` the network at initialisation with its
        BatchNorm statistics calibrated (:meth:`_calibrate`)."""
        paper = self.cfg.paper
        net = self._network(ctx.device, x.shape[1], ctx.seed, ctx.executor)
        if paper.steps == 0:
            self._calibrate(net, x, augment, ctx)
            return net
        state = load_checkpoint(ctx.checkpoint, ctx.config_hash)
        if state is not None:
            groups = (state.get("optimizer") or {}).get("param_groups") or [{}]
            # a finished run's checkpoint (no optimiser state: its lr no longer the chosen one)
            # or one trained at another lr (the tuning job since chose another) starts over
            if "optimizer" not in state or groups[0].get("lr") != lr:
                ctx.checkpoint.unlink()
        optimizer = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=paper.weight_decay)

        def step(idx: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
            images = x[idx].to(ctx.device)
            z1, z2 = net(augment(images)), net(augment(images))
            return nt_xent_loss(z1, z2, paper.temperature), {}

        loop = LoopConfig(
            paper.steps,
            paper.log_every,
            paper.checkpoint_every,
            desc=f"simclr seed {ctx.seed} lr {lr:g}",
        )
        run_loop(net, optimizer, step, len(x), paper.batch_size, loop, ctx)
        return net

    def _contrastive_loss(
        self, net: SimCLRNetwork, x: torch.Tensor, augment: BatchAugment, seed: int
    ) -> float:
        """The training objective, NT-Xent, of ``net`` on ``LOSS_BATCHES`` fixed batches of
        pre-training images with fixed augmentations (their own random stream: the draws of
        training are untouched), with batch statistics as in training, on a copy (``net``'s
        BatchNorm statistics stay as they are); no gradients. The same measurement at
        initialisation and after training says how far pre-training moved the objective."""
        paper = self.cfg.paper
        size = min(paper.batch_size, len(x))
        total = 0.0
        net = copy.deepcopy(net).train()
        with torch.no_grad(), seeded(seed, "contrastive_loss_batches"):
            for _ in range(LOSS_BATCHES):
                idx = torch.randperm(len(x))[:size]
                images = x[idx].to(next(net.parameters()).device)
                z1, z2 = net(augment(images)), net(augment(images))
                total += nt_xent_loss(z1, z2, paper.temperature).item()
        return total / LOSS_BATCHES

    def _calibrate(
        self, net: SimCLRNetwork, x: torch.Tensor, augment: BatchAugment, ctx: RunContext
    ) -> None:
        """Set every BatchNorm's running statistics to the plain average over
        ``paper.calibrate_batches`` augmented batches (in the training data order), leaving all
        weights at their initial values: eval-mode features of an untrained network with the
        statistics a trained one would have had at step 0."""
        norms = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        momenta = [m.momentum for m in norms]
        for m in norms:
            m.reset_running_stats()
            m.momentum = None  # cumulative average
        batches = batch_stream(len(x), self.cfg.paper.batch_size, ctx.seed, 0)
        net.train()
        with torch.no_grad():
            for _ in range(self.cfg.paper.calibrate_batches):
                net(augment(x[next(batches)].to(ctx.device)))
        for m, momentum in zip(norms, momenta, strict=True):
            m.momentum = momentum

    def _converged(
        self, net: SimCLRNetwork, data: ProbeData, augment: BatchAugment, ctx: RunContext
    ) -> tuple[dict[str, ConvergedProbe], dict[str, tuple[torch.Tensor, ...]]]:
        """The converged probe of each of :data:`FEATURES`, and the features per split."""
        probe = self.cfg.paper.probe
        feats = {
            split: self._features(net, images, augment.normalise, ctx.device, f"{split} features")
            for split, (images, _) in (
                ("train", data.train),
                ("val", data.val),
                ("test", data.test),
            )
        }
        probes = {}
        for i, name in enumerate(FEATURES):
            probes[name] = fit_converged_probe(
                feats["train"][i],
                data.train[1],
                feats["val"][i],
                data.val[1],
                list(probe.c_grid),
                probe.max_iter,
                probe.tol,
            )
        return probes, feats

    def train(self, ctx: RunContext) -> Records:
        state = load_checkpoint(ctx.checkpoint, ctx.config_hash)
        if state is not None and "records" in state and state.get("lr") == self._run_lr():
            # finished, then killed before the stage committed the job
            return _records_from(state["records"], self.dims())
        paper, started = self.cfg.paper, time.perf_counter()
        x, _ = image_tensors(self.cfg.dataset, train=True, limit=self.cfg.dataset.n_train)
        if paper.steps and len(x) < paper.batch_size:
            raise DataError(
                f"{len(x)} training images < paper.batch_size={paper.batch_size}; "
                "raise dataset.n_train or lower the batch size"
            )
        augment, data = self._augment(), self._probe_data()
        if paper.lr_grid:
            records, payload = self._tune(ctx, x, augment, data)
        else:
            records, payload = self._compare(ctx, x, augment, data)
        records.add("wall_seconds", time.perf_counter() - started)
        payload.update(
            lr=self._run_lr(),
            config_hash=ctx.config_hash,
            mlflow_run_id=ctx.run.run_id,
            complete=True,
            records=[r.to_json() for r in records],
        )
        save_checkpoint(ctx.checkpoint, payload)
        return records

    def _run_lr(self) -> float | None:
        """The learning rate this run trains at: None for tuning and random-init jobs."""
        return self.lr() if self.role() == "comparison" else None

    def _tune(
        self, ctx: RunContext, x: torch.Tensor, augment: BatchAugment, data: ProbeData
    ) -> tuple[Records, dict[str, Any]]:
        """Pre-train once per ``paper.lr_grid`` value; record the converged probe's validation
        accuracy (and its convergence, the representation's effective rank) per lr. Each lr
        checkpoints to its own file beside the seed's, so an interrupted tuning run resumes at
        the lr it was on."""
        records = Records(**self.dims())
        for lr in self.cfg.paper.lr_grid:
            path = ctx.checkpoint.with_name(f"{ctx.checkpoint.stem}-lr{lr:g}.pt")
            done = load_checkpoint(path, ctx.config_hash)
            if done is not None and "records" in done:
                records.extend(_records_from(done["records"], self.dims()))
                continue
            # each lr from its own stream: the same draws whether or not earlier lrs ran in
            # this process (a resumed tuning run reproduces an uninterrupted one)
            seed_everything(derive_seed(ctx.seed, "tuning_lr", f"{lr:g}"))
            one = Records(**self.dims())
            started = time.perf_counter()
            sub = dataclasses.replace(ctx, checkpoint=path, run=_PrefixedRun(ctx.run, f"lr{lr:g}/"))
            net = self._pretrain(sub, x, augment, lr)
            one.add("pretrain_seconds", time.perf_counter() - started, lr=lr)
            probes, feats = self._converged(net, data, augment, ctx)
            for i, name in enumerate(FEATURES):
                dims = {"lr": lr, "features": name}
                one.add("val_accuracy", probes[name].val_accuracy, **dims)
                one.add("converged", float(probes[name].converged), **dims)
                one.add("effective_rank", effective_rank(feats["test"][i]), **dims)
            save_checkpoint(
                path, {"config_hash": ctx.config_hash, "records": [r.to_json() for r in one]}
            )
            records.extend(one)
        return records, {}

    def _compare(
        self, ctx: RunContext, x: torch.Tensor, augment: BatchAugment, data: ProbeData
    ) -> tuple[Records, dict[str, Any]]:
        paper, lr = self.cfg.paper, self.lr()
        initial = self._network(ctx.device, x.shape[1], ctx.seed, ctx.executor)
        loss_at_init = self._contrastive_loss(initial, x, augment, ctx.seed)
        started = time.perf_counter()
        net = self._pretrain(ctx, x, augment, lr)
        pretrain_seconds = time.perf_counter() - started
        loss_final = self._contrastive_loss(net, x, augment, ctx.seed)
        if isinstance(net.representation, QuantumRepresentation):
            ctx.run.log_text(str(net.representation.spec.circuit.draw("text")), "circuit.txt")
        probes, feats = self._converged(net, data, augment, ctx)
        head = self._paper_probe(net, augment, data, feats, ctx)
        records = Records(**self.dims())
        if paper.steps:
            records.add("lr", lr)
        records.update(
            {
                "pretrain_seconds": pretrain_seconds,
                "contrastive_loss_init": loss_at_init,
                "contrastive_loss_final": loss_final,
                "probe_best_accuracy": head.best,
                "probe_best_epoch": float(head.best_epoch),
                "probe_final_accuracy": head.final,
            }
        )
        test_labels = data.test[1]
        for i, name in enumerate(FEATURES):
            probe, dims = probes[name], {"features": name}
            records.add(
                "converged_test_accuracy", probe.accuracy(feats["test"][i], test_labels), **dims
            )
            records.add("converged_val_accuracy", probe.val_accuracy, **dims)
            records.add("converged_c", probe.c, **dims)
            records.add("converged_iterations", float(probe.iterations), **dims)
            records.add("converged", float(probe.converged), **dims)
            records.add("effective_rank", effective_rank(feats["test"][i]), **dims)
            records.add("min_unit_std", feats["test"][i].std(0).min().item(), **dims)
        # sigmoid saturation: angles within 0.05 rad of 0 or pi, where RX(x) barely moves
        angles = feats["test"][1]
        saturated = torch.minimum(angles, math.pi - angles) < SATURATION
        records.add("angle_saturation", saturated.double().mean().item())
        # the images the evaluate stage scores, here on the training executor
        n = min(paper.eval_images or len(test_labels), len(test_labels))
        rep, labels = feats["test"][0][:n], test_labels[:n]
        records.add(
            "test_accuracy", probes["representation"].accuracy(rep, labels), probe="converged"
        )
        targets = label_indices(labels.to(ctx.device), head.classes)
        records.add("test_accuracy", accuracy(head.head, rep, targets), probe="paper")
        records.add("n_images", float(n))
        payload = {
            "step": paper.steps,
            "probe": head.head.state_dict(),
            "probe_classes": head.classes,
            "converged_probe": probes["representation"].state(),
        }
        if paper.keep_model:
            payload["model"] = net.state_dict()
        return records, payload

    def _paper_probe(
        self,
        net: SimCLRNetwork,
        augment: BatchAugment,
        data: ProbeData,
        feats: dict[str, tuple[torch.Tensor, ...]],
        ctx: RunContext,
    ):
        """The paper's probe on the representation output: Adam for ``probe.epochs`` epochs on
        the cached training features, or on fresh augmented views each epoch (``augment``)."""
        cfg = self.cfg.paper.probe

        def train_features(epoch: int) -> torch.Tensor:
            if cfg.augment:
                return self._features(
                    net, data.train[0], augment, ctx.device, f"probe epoch {epoch}"
                )[0]
            return feats["train"][0]

        def log(epoch: int, test_accuracy: float, loss: float) -> None:
            ctx.run.log_metrics({"probe/test_accuracy": test_accuracy, "probe/loss": loss}, epoch)

        return train_linear_probe(
            train_features,
            data.train[1].to(ctx.device),
            feats["test"][0],
            data.test[1].to(ctx.device),
            cfg.epochs,
            cfg.lr,
            list(cfg.milestones),
            cfg.batch_size,
            on_epoch=log,
            seed=ctx.seed,
        )

    # -- evaluation -----------------------------------------------------------------------------

    def evaluate(self, ctx: RunContext) -> Records:
        """The trained encoder and both probes on the first ``paper.eval_images`` test images,
        the representation network running on the configured backend (the paper's inference on
        ibmq_paris, when that is aer_noise)."""
        state = load_checkpoint(ctx.checkpoint)
        if state is None or "probe" not in state:
            raise DataError(f"{ctx.checkpoint} holds no trained encoder + probe; rerun training")
        if "model" not in state:
            raise DataError(
                f"{ctx.checkpoint} keeps no network weights (paper.keep_model=false); retrain "
                "with paper.keep_model=true to evaluate it"
            )
        started = time.perf_counter()
        x, y = image_tensors(self.cfg.dataset, train=False, limit=self.cfg.paper.eval_images)
        net = self._network(ctx.device, x.shape[1], ctx.seed, ctx.executor)
        net.load_state_dict(state["model"])
        label = f"{type(ctx.executor).__name__} inference"
        features, _ = self._features(net, x, self._augment().normalise, ctx.device, label)
        head = torch.nn.Linear(features.shape[1], len(state["probe_classes"]))
        head.load_state_dict(state["probe"])
        head = head.to(ctx.device, features.dtype)
        targets = label_indices(y.to(ctx.device), state["probe_classes"])
        converged = ConvergedProbe.from_state(state["converged_probe"])
        records = Records(**self.dims())
        records.add("test_accuracy", converged.accuracy(features, y), probe="converged")
        records.add("test_accuracy", accuracy(head, features, targets), probe="paper")
        records.update({"n_images": float(len(x)), "wall_seconds": time.perf_counter() - started})
        return records


def _records_from(raw: list[dict[str, Any]], dims: dict[str, Any]) -> Records:
    """Records saved in a finished checkpoint, read back with the job's constant dimensions."""
    records = Records(**dims)
    for r in raw:
        record = Record.from_json(r)
        own = {k: v for k, v in record.dims.items() if k not in dims}
        records.add(record.name, record.value, **own)
    return records
