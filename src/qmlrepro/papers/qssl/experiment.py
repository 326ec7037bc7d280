"""SimCLR pre-training, linear probe, and frozen-encoder inference on any backend."""

import time

import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from tqdm.auto import tqdm

from qmlrepro.data.augment import AugmentSpec, BatchAugment
from qmlrepro.data.images import image_tensors
from qmlrepro.errors import ConfigError, DataError
from qmlrepro.experiment import Experiment, RunContext
from qmlrepro.papers.qssl.losses import nt_xent_loss
from qmlrepro.papers.qssl.models import QuantumRepresentation, SimCLRNetwork, count_parameters
from qmlrepro.papers.qssl.probe import accuracy, label_indices, train_linear_probe
from qmlrepro.quantum.executor import Executor
from qmlrepro.quantum.torch_executor import TorchStatevector
from qmlrepro.records import Records
from qmlrepro.training.checkpoint import load_checkpoint, save_checkpoint
from qmlrepro.training.loop import LoopConfig, run_loop
from qmlrepro.training.seeding import seeded


class QsslExperiment(Experiment):
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

    def describe(self) -> dict[str, int | str]:
        channels = 3 if self.cfg.dataset.name == "cifar10" else 1
        # parameter counts and the circuit do not depend on the executor: an exact CPU one
        net = self._network(torch.device("cpu"), channels, 0, TorchStatevector(device="cpu"))
        info: dict[str, int | str] = {
            "n_params": count_parameters(net),
            "n_params_representation": count_parameters(net.representation),
            "width": self.cfg.paper.width,
        }
        if isinstance(net.representation, QuantumRepresentation):
            qc = net.representation.spec.circuit
            info.update(
                n_qubits=qc.num_qubits,
                circuit_depth=qc.depth(),
                gate_counts=", ".join(f"{k}={v}" for k, v in qc.count_ops().items()),
            )
        return info

    def _features(
        self,
        net: SimCLRNetwork,
        images: torch.Tensor,
        transform,
        device: torch.device,
        desc: str,
    ) -> torch.Tensor:
        """Representation-network outputs of ``images`` (batched, no gradients)."""
        net.eval()
        batch, out = self.cfg.paper.eval_batch, []
        with torch.no_grad():
            for start in tqdm(range(0, len(images), batch), desc=desc, leave=False, disable=None):
                out.append(net.represent(transform(images[start : start + batch].to(device))))
        return torch.cat(out)

    def train(self, ctx: RunContext) -> Records:
        paper, started = self.cfg.paper, time.perf_counter()
        x, _ = image_tensors(self.cfg.dataset, train=True, limit=self.cfg.dataset.n_train)
        if len(x) < paper.batch_size:
            raise DataError(
                f"{len(x)} training images < paper.batch_size={paper.batch_size}; "
                "raise dataset.n_train or lower the batch size"
            )
        augment = self._augment()
        net = self._network(ctx.device, x.shape[1], ctx.seed, ctx.executor)
        optimizer = torch.optim.Adam(net.parameters(), lr=paper.lr, weight_decay=paper.weight_decay)
        if isinstance(net.representation, QuantumRepresentation):
            ctx.run.log_text(str(net.representation.spec.circuit.draw("text")), "circuit.txt")

        def step(idx: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
            images = x[idx].to(ctx.device)
            z1, z2 = net(augment(images)), net(augment(images))
            return nt_xent_loss(z1, z2, paper.temperature), {}

        loop = LoopConfig(
            paper.steps, paper.log_every, paper.checkpoint_every, desc=f"simclr seed {ctx.seed}"
        )
        final = run_loop(net, optimizer, step, len(x), paper.batch_size, loop, ctx)
        pretrain_seconds = time.perf_counter() - started

        probe = self._probe(net, augment, ctx)
        final.update(probe=probe.head.state_dict(), probe_classes=probe.classes)
        save_checkpoint(ctx.checkpoint, final)
        records = self._records()
        records.update(
            {
                "probe_best_accuracy": probe.best,
                "probe_best_epoch": float(probe.best_epoch),
                "probe_final_accuracy": probe.final,
                "pretrain_seconds": pretrain_seconds,
                "wall_seconds": time.perf_counter() - started,
            }
        )
        return records

    def _records(self) -> Records:
        return Records(**self.dims())

    def dims(self) -> dict[str, int | str]:
        """The dimensions that tell this paper's jobs apart beyond model and backend: the
        representation ``width`` (qubits or units; the ablation sweeps it), the SimCLR horizon
        ``steps`` (the ablation trains shorter) and the ``dataset``."""
        paper = self.cfg.paper
        return {
            "width": int(paper.width),
            "steps": int(paper.steps),
            "dataset": str(self.cfg.dataset.name),
        }

    def _probe(self, net: SimCLRNetwork, augment: BatchAugment, ctx: RunContext):
        cfg = self.cfg.paper.probe
        x_train, y_train = image_tensors(self.cfg.dataset, train=True, limit=cfg.n_train)
        x_test, y_test = image_tensors(self.cfg.dataset, train=False, limit=cfg.n_test)
        test_features = self._features(net, x_test, augment.normalise, ctx.device, "test features")
        cached = None

        def train_features(epoch: int) -> torch.Tensor:
            nonlocal cached
            if cfg.augment:
                return self._features(net, x_train, augment, ctx.device, f"probe epoch {epoch}")
            if cached is None:
                cached = self._features(
                    net, x_train, augment.normalise, ctx.device, "train features"
                )
            return cached

        def log(epoch: int, test_accuracy: float, loss: float) -> None:
            ctx.run.log_metrics({"probe/test_accuracy": test_accuracy, "probe/loss": loss}, epoch)

        return train_linear_probe(
            train_features,
            y_train.to(ctx.device),
            test_features,
            y_test.to(ctx.device),
            cfg.epochs,
            cfg.lr,
            list(cfg.milestones),
            cfg.batch_size,
            on_epoch=log,
            seed=ctx.seed,
        )

    def evaluate(self, ctx: RunContext) -> Records:
        """The trained encoder and probe on test images, the representation network running on
        the configured backend (the paper's inference on ibmq_paris, when that is aer_noise)."""
        state = load_checkpoint(ctx.checkpoint)
        if state is None or "probe" not in state:
            raise DataError(f"{ctx.checkpoint} holds no trained encoder + probe; rerun training")
        started = time.perf_counter()
        x, y = image_tensors(self.cfg.dataset, train=False, limit=self.cfg.paper.eval_images)
        net = self._network(ctx.device, x.shape[1], ctx.seed, ctx.executor)
        net.load_state_dict(state["model"])
        label = f"{type(ctx.executor).__name__} inference"
        features = self._features(net, x, self._augment().normalise, ctx.device, label)
        head = torch.nn.Linear(features.shape[1], len(state["probe_classes"]))
        head.load_state_dict(state["probe"])
        head = head.to(ctx.device, features.dtype)
        targets = label_indices(y.to(ctx.device), state["probe_classes"])
        records = self._records()
        records.update(
            {
                "test_accuracy": accuracy(head, features, targets),
                "n_images": float(len(x)),
                "wall_seconds": time.perf_counter() - started,
            }
        )
        return records
