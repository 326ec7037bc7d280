"""HQViT in the pipeline: train exactly (closed-form attention), then evaluate the trained
circuit itself on Qiskit backends on a test subset, next to the exact model on the same images."""

import time

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
from qmlrepro.quantum.layer import with_shots
from qmlrepro.training.checkpoint import load_checkpoint, save_checkpoint
from qmlrepro.training.loop import LoopConfig, run_loop
from qmlrepro.training.seeding import torch_generator

EVAL_BATCH = 500


class HqvitExperiment(Experiment):
    def _tokens(self, train: bool, limit: int | None) -> tuple[torch.Tensor, torch.Tensor]:
        images, labels = image_tensors(self.cfg.dataset, train=train, limit=limit)
        return patchify(images, self.cfg.paper.patch), labels

    def _classes(self) -> torch.Tensor:
        digits = self.cfg.dataset.get("digits")
        return torch.tensor(sorted(digits) if digits else list(range(10)))

    def _model(self, device: torch.device, seed: int = 0) -> torch.nn.Module:
        paper = self.cfg.paper
        side = int(self.cfg.dataset.variants[self.cfg.dataset.variant].size)
        layout = layout_for(side, paper.patch)
        model = instantiate(self.cfg.model, _partial_=True)(
            n_tokens=layout.n_tokens,
            token_dim=layout.token_dim,
            model_dim=paper.model_dim,
            mlp_dim=paper.mlp_dim,
            n_classes=len(self._classes()),
            backend=self.cfg.backend,
            seed=seed,
        )
        return model.to(device)

    def describe(self) -> dict[str, int | str]:
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
            sweep = scaling_sweep(
                list(self.cfg.paper.scaling_sides),
                list(self.cfg.paper.scaling_patches),
                scores.layers,
            )
            info.update({f"scaling/{k}": v for k, v in sweep.items()})
        return info

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

    def train(self, ctx: RunContext) -> dict[str, float]:
        paper, started = self.cfg.paper, time.perf_counter()
        tokens, labels = self._tokens(True, self.cfg.dataset.n_train)
        classes = self._classes()
        targets = class_targets(labels, classes)
        if len(tokens) < paper.batch_size:
            raise DataError(
                f"{len(tokens)} training images < paper.batch_size={paper.batch_size}; "
                "raise dataset.n_train or lower the batch size"
            )
        model = self._model(ctx.device, ctx.seed)
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
        return {
            "test_accuracy": test_accuracy,
            "train_accuracy": train_accuracy,
            "shuffled_patches_test_accuracy": shuffled_accuracy,
            "n_test": float(len(test_tokens)),
            "train_seconds": train_seconds,
        }

    def evaluate(self, ctx: RunContext) -> dict[str, float]:
        """The full circuit on ``cfg.backend`` at each configured shot count, on the first
        ``images`` test images: accuracy, agreement with the exact model, attention error."""
        state = load_checkpoint(ctx.checkpoint)
        if state is None or "classes" not in state:
            raise DataError(f"{ctx.checkpoint} holds no trained HQViT; rerun training")
        model = self._model(ctx.device, ctx.seed)
        model.load_state_dict(state["model"])
        scores = getattr(model, "scores", None)
        if not isinstance(scores, QuantumScores):
            raise ConfigError(
                f"model {self.cfg.choices.get('model')} has no attention circuit to evaluate on "
                f"backend {self.cfg.backend.name}; evaluate a quantum model"
            )
        backend = self.cfg.backend
        setting = self.cfg.paper.evaluation.get(backend.name)
        if setting is None:
            raise ConfigError(
                f"paper.evaluation has no entry for backend {backend.name} (how many test images, "
                f"which shots); add it to conf/paper/hqvit.yaml (known: "
                f"{', '.join(self.cfg.paper.evaluation)})"
            )
        shot_counts = list(setting.shots) if setting.shots else [backend.shots]
        tokens, labels = self._tokens(False, setting.images)
        tokens = tokens.to(next(model.parameters()).dtype)
        targets = class_targets(labels, state["classes"])
        exact_accuracy, exact_predicted = self._accuracy(model, tokens, targets, ctx.device)
        with torch.no_grad():
            exact_scores, keep = scores(tokens.to(ctx.device), None)
        valid = (keep.unsqueeze(2) & keep.unsqueeze(1)).cpu()
        # the share of the outcomes cell (i, j) gets ideally: p_i p_j, p_i = ||x_i||^2 / ||X||^2
        share = tokens.pow(2).sum(-1) / tokens.pow(2).sum((1, 2)).unsqueeze(1)
        share = (share.unsqueeze(2) * share.unsqueeze(1)).cpu()
        out = {"exact_accuracy": exact_accuracy, "n_images": float(len(tokens))}
        for shots in shot_counts:
            run_backend = backend if shots is None else with_shots(backend, shots)
            started = time.perf_counter()
            estimates, masses = [], []
            for start in tqdm(
                range(0, len(tokens), 10), desc=f"{backend.name} {shots} shots", leave=False,
                disable=None,
            ):  # fmt: skip
                estimate, mass = scores.circuit_scores(tokens[start : start + 10], run_backend)
                estimates.append(estimate)
                masses.append(mass)
            estimate = torch.cat(estimates).to(exact_scores.dtype)
            accuracy, predicted = self._accuracy(
                model, tokens, targets, ctx.device, (estimate, keep.cpu())
            )
            error = (estimate.cpu() - exact_scores.cpu()).abs()
            unsampled = (torch.cat(masses).cpu()[valid] == 0).double().mean().item()
            prefix = f"shots{shots}/" if shots is not None else "exact/"
            out.update(
                {
                    prefix + "accuracy": accuracy,
                    prefix + "agreement": (predicted == exact_predicted).double().mean().item(),
                    prefix + "attention_mae": error[valid].mean().item(),
                    prefix + "attention_max_error": error[valid].max().item(),
                    # weighted by each cell's ideal share of the shots: the error where the
                    # circuit spends its measurements (converges as 1 / sqrt(shots))
                    prefix + "attention_weighted_mae": ((error * share).sum() / share.sum()).item(),
                    prefix + "cells_without_outcomes": unsampled,
                    prefix + "seconds": time.perf_counter() - started,
                }
            )
        return out


def _drawable(scores: QuantumScores) -> str:
    return str(attention_spec(scores.layout, scores.layers).circuit.draw("text", fold=-1))
