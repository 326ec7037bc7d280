"""HQViT in the pipeline: train exactly (closed-form attention), then evaluate the trained
circuit itself on the evaluation's executor (Aer, a device) on a test subset, next to the exact
model on the same images."""

import time
import warnings

import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from tqdm.auto import tqdm

from qmlrepro.data.images import image_tensors
from qmlrepro.errors import ConfigError, DataError
from qmlrepro.experiment import Experiment, RunContext
from qmlrepro.papers.hqvit.attention import QuantumScores
from qmlrepro.papers.hqvit.circuit import attention_spec, layout_for
from qmlrepro.papers.hqvit.models import count_parameters
from qmlrepro.papers.hqvit.resources import circuit_resources, scaling_sweep
from qmlrepro.papers.hqvit.tokens import class_targets, patchify
from qmlrepro.quantum.executor import Executor
from qmlrepro.quantum.torch_executor import PrecisionWarning, TorchStatevector
from qmlrepro.records import Records
from qmlrepro.training.checkpoint import load_checkpoint, save_checkpoint
from qmlrepro.training.loop import LoopConfig, run_loop
from qmlrepro.training.seeding import torch_generator

EVAL_BATCH = 500
# Test images the circuit is evaluated on when the evaluation sets no `inputs` (the first ones).
# A constant, not a paper key: paper.* is in the config hash, and how much to evaluate must not
# retrain. conf/paper/hqvit.yaml sets `evaluation.<backend>.inputs` for the backends it runs on.
EVAL_IMAGES = 100
CIRCUIT_BATCH = 10  # images per executor call (one PUB each: amplitude encoding binds per image)


class HqvitExperiment(Experiment):
    """Records carry ``task`` (``"mnist10"``: all ten digits, ``"mnist35"``: 3 vs 5, from
    ``dataset.digits``); an evaluation's shot count is the stage's ``shots`` dimension."""

    takes_eval_inputs = True  # evaluation.<backend>.inputs caps the test images

    def dims(self) -> dict[str, str]:
        """``task``: the dataset's task (see :meth:`task`)."""
        return {"task": self.task()}

    def task(self) -> str:
        """The task the job trains on: the dataset's name, then its digits (``"mnist35"``),
        or ``"mnist10"`` for all ten."""
        name = str(self.cfg.get("choices", {}).get("dataset") or "mnist")
        digits = self.cfg.dataset.get("digits")
        return name + ("".join(str(d) for d in sorted(digits)) if digits else "10")

    def _tokens(self, train: bool, limit: int | None) -> tuple[torch.Tensor, torch.Tensor]:
        images, labels = image_tensors(self.cfg.dataset, train=train, limit=limit)
        return patchify(images, self.cfg.paper.patch), labels

    def _classes(self) -> torch.Tensor:
        digits = self.cfg.dataset.get("digits")
        return torch.tensor(sorted(digits) if digits else list(range(10)))

    def _model(
        self, device: torch.device, seed: int = 0, executor: Executor | None = None
    ) -> torch.nn.Module:
        """The configured model on ``device``, initialised from run seed ``seed``, its quantum
        layers (if any) from ``executor``: None is the exact float32 torch statevector on the CPU
        (what the model is counted and described with; training and evaluation pass theirs)."""
        if executor is None:
            executor = TorchStatevector(device="cpu")
        paper = self.cfg.paper
        side = int(self.cfg.dataset.variants[self.cfg.dataset.variant].size)
        layout = layout_for(side, paper.patch)
        model = instantiate(self.cfg.model, _partial_=True)(
            n_tokens=layout.n_tokens,
            token_dim=layout.token_dim,
            model_dim=paper.model_dim,
            mlp_dim=paper.mlp_dim,
            n_classes=len(self._classes()),
            executor=executor,
            seed=seed,
        )
        return model.to(device)

    def describe(self) -> dict[str, int | str]:
        # parameter counts and circuit resources: the same on any torch executor
        model = self._model(torch.device("cpu"))
        attention = [
            m for name, m in model.named_modules() if name == "scores" or name.endswith("self_attn")
        ]
        info: dict[str, int | str] = {
            "n_params": count_parameters(model),
            "n_params_attention_scores": sum(count_parameters(m) for m in attention),
            "n_classes": len(self._classes()),
        }
        scores = getattr(model, "scores", None)
        if isinstance(scores, QuantumScores):
            resources = circuit_resources(scores.layout, scores.layers)
            info.update({f"circuit_{k}": v for k, v in resources.items()})
        return info

    def _scaling(self, model, records: Records) -> None:
        """The attention circuit's resource counts (qubits, parameterised gates, CX, classical
        MACs) over the configured image sides and patches, as records with dimensions
        ``pixels`` (N) and ``token_dim`` (d): counted from the circuits built at each size."""
        scores = getattr(model, "scores", None)
        if not isinstance(scores, QuantumScores):
            return
        paper = self.cfg.paper
        sweep = scaling_sweep(list(paper.scaling_sides), list(paper.scaling_patches), scores.layers)
        for pixels, token_dim, counts in sweep:
            records.update(
                {f"resources_{k}": float(v) for k, v in counts.items()},
                pixels=pixels,
                token_dim=token_dim,
            )

    def _accuracy(
        self, model, tokens, targets, device, attention=None
    ) -> tuple[float, torch.Tensor]:
        model.eval()
        predictions = []
        with torch.no_grad():
            for start in range(0, len(tokens), EVAL_BATCH):
                batch = tokens[start : start + EVAL_BATCH].to(device)
                given = None
                if attention is not None:
                    given = tuple(a[start : start + EVAL_BATCH].to(device) for a in attention)
                predictions.append(model(batch, given).argmax(-1).cpu())
        predicted = torch.cat(predictions)
        return (predicted == targets).double().mean().item(), predicted

    def train(self, ctx: RunContext) -> Records:
        paper, started = self.cfg.paper, time.perf_counter()
        tokens, labels = self._tokens(True, self.cfg.dataset.n_train)
        classes = self._classes()
        targets = class_targets(labels, classes)
        if len(tokens) < paper.batch_size:
            raise DataError(
                f"{len(tokens)} training images < paper.batch_size={paper.batch_size}; "
                "raise dataset.n_train or lower the batch size"
            )
        model = self._model(ctx.device, ctx.seed, ctx.executor)
        if isinstance(getattr(model, "scores", None), QuantumScores):
            spec_circuit = _drawable(model.scores)
            ctx.run.log_text(spec_circuit, "circuit.txt")
        optimizer = torch.optim.AdamW(
            model.parameters(), lr=paper.lr, weight_decay=paper.weight_decay
        )
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, paper.steps)
        dtype = next(model.parameters()).dtype

        def step(idx: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
            logits = model(tokens[idx].to(ctx.device, dtype))
            batch_targets = targets[idx].to(ctx.device)
            accuracy = (logits.argmax(-1) == batch_targets).float().mean().item()
            return F.cross_entropy(logits, batch_targets), {"train/batch_accuracy": accuracy}

        loop = LoopConfig(
            paper.steps, paper.log_every, paper.checkpoint_every, f"hqvit seed {ctx.seed}"
        )
        final = run_loop(
            model, optimizer, step, len(tokens), paper.batch_size, loop, ctx, scheduler
        )
        train_seconds = time.perf_counter() - started
        test_tokens, test_labels = self._tokens(False, paper.n_test)
        test_accuracy, _ = self._accuracy(
            model, test_tokens.to(dtype), class_targets(test_labels, classes), ctx.device
        )
        train_accuracy, _ = self._accuracy(
            model, tokens[: len(test_tokens)].to(dtype), targets[: len(test_tokens)], ctx.device
        )
        # One shuffle of the patches (the same for every test image, drawn from the run seed's
        # "patch_shuffle" stream): a model without positional information scores the same (its
        # attention and pooling are permutation-equivariant).
        shuffle = torch_generator(ctx.seed, "patch_shuffle")
        order = torch.randperm(test_tokens.shape[1], generator=shuffle)
        shuffled_accuracy, _ = self._accuracy(
            model, test_tokens[:, order].to(dtype), class_targets(test_labels, classes), ctx.device
        )
        final["classes"] = classes
        save_checkpoint(ctx.checkpoint, final)
        ctx.run.log_metrics({"test/accuracy": test_accuracy})
        records = Records(**self.dims())
        records.update(
            {
                "test_accuracy": test_accuracy,
                "train_accuracy": train_accuracy,
                "shuffled_patches_test_accuracy": shuffled_accuracy,
                "n_test": float(len(test_tokens)),
                "train_seconds": train_seconds,
            }
        )
        self._scaling(model, records)
        return records

    def evaluate(self, ctx: RunContext) -> Records:
        """The full attention circuit on ``ctx.executor`` (at its ``shots``; None: exact) for the
        first ``ctx.eval_inputs`` test images (:data:`EVAL_IMAGES` when None), the rest of the
        model exact: the model is built on ``ctx.reference`` (exact torch, float64), which also
        gives the exact scores and predictions compared with.

        Returns records (dimension ``task``): ``exact_accuracy`` and ``n_images``, and, with
        the circuit's scores: ``accuracy``, ``agreement`` (share of predictions equal to the
        exact model's), ``attention_mae`` and ``attention_max_error`` (|A_hat - A| over cells
        whose tokens both hold amplitude), ``attention_weighted_mae`` (weighted by each cell's
        ideal share of the shots), ``cells_without_outcomes`` (share of such cells no outcome
        landed in) and ``seconds`` (wall clock of the circuit runs and the model fed their
        scores). The stage adds the sweep point (``shots``).

        Raises:
            DataError: the checkpoint holds no trained HQViT.
            ConfigError: the model has no attention circuit (a classical baseline).
        """
        state = load_checkpoint(ctx.checkpoint)
        if state is None or "classes" not in state:
            raise DataError(f"{ctx.checkpoint} holds no trained HQViT; rerun training")
        with warnings.catch_warnings():
            # float32 initial angles in float64 layers: replaced by the checkpoint's just below
            warnings.simplefilter("ignore", PrecisionWarning)
            model = self._model(ctx.device, ctx.seed, ctx.reference)
        model.load_state_dict(state["model"])
        scores = getattr(model, "scores", None)
        if not isinstance(scores, QuantumScores):
            raise ConfigError(
                f"model {self.cfg.choices.get('model')} has no attention circuit to evaluate on "
                f"{type(ctx.executor).__name__}; evaluate a quantum model"
            )
        executor = ctx.executor
        n_images = ctx.eval_inputs if ctx.eval_inputs is not None else EVAL_IMAGES
        tokens, labels = self._tokens(False, n_images)
        tokens = tokens.to(next(model.parameters()).dtype)
        targets = class_targets(labels, state["classes"])
        exact_accuracy, exact_predicted = self._accuracy(model, tokens, targets, ctx.device)
        with torch.no_grad():
            exact_scores, keep = scores(tokens.to(ctx.device), None)
        valid = (keep.unsqueeze(2) & keep.unsqueeze(1)).cpu()
        # the share of the outcomes cell (i, j) gets ideally: p_i p_j, p_i = ||x_i||^2 / ||X||^2
        share = tokens.pow(2).sum(-1) / tokens.pow(2).sum((1, 2)).unsqueeze(1)
        share = (share.unsqueeze(2) * share.unsqueeze(1)).cpu()
        started = time.perf_counter()
        estimates, masses = [], []
        shots = "exact" if executor.shots is None else f"{executor.shots} shots"
        for start in tqdm(
            range(0, len(tokens), CIRCUIT_BATCH), desc=f"{type(executor).__name__} {shots}",
            leave=False, disable=None,
        ):  # fmt: skip
            estimate, mass = scores.circuit_scores(tokens[start : start + CIRCUIT_BATCH], executor)
            estimates.append(estimate)
            masses.append(mass)
        estimate = torch.cat(estimates).to(exact_scores.dtype)
        accuracy, predicted = self._accuracy(
            model, tokens, targets, ctx.device, (estimate, keep.cpu())
        )
        error = (estimate.cpu() - exact_scores.cpu()).abs()
        unsampled = (torch.cat(masses).cpu()[valid] == 0).double().mean().item()
        records = Records(**self.dims())
        records.update(
            {
                "exact_accuracy": exact_accuracy,
                "n_images": float(len(tokens)),
                "accuracy": accuracy,
                "agreement": (predicted == exact_predicted).double().mean().item(),
                "attention_mae": error[valid].mean().item(),
                "attention_max_error": error[valid].max().item(),
                # weighted by each cell's ideal share of the shots: the error where the circuit
                # spends its measurements (converges as 1 / sqrt(shots))
                "attention_weighted_mae": ((error * share).sum() / share.sum()).item(),
                "cells_without_outcomes": unsampled,
                "seconds": time.perf_counter() - started,
            }
        )
        return records


def _drawable(scores: QuantumScores) -> str:
    return str(attention_spec(scores.layout, scores.layers).circuit.draw("text", fold=-1))
