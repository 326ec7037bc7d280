"""Train a binary classifier on the Gaussian mixture with the shared checkpointed loop."""

import torch
import torch.nn.functional as F
from hydra.utils import instantiate

from qmlrepro.data.gaussian import GaussianMixture2D
from qmlrepro.experiment import Experiment, RunContext
from qmlrepro.paths import resolve
from qmlrepro.records import Records
from qmlrepro.training.checkpoint import load_checkpoint
from qmlrepro.training.device import resolve_dtype
from qmlrepro.training.loop import LoopConfig, run_loop


class GaussianClassifierExperiment(Experiment):
    def _data(self, train: bool) -> GaussianMixture2D:
        ds = self.cfg.dataset
        return GaussianMixture2D(
            resolve(ds.processed_dir), train=train, limit=ds.n_train if train else ds.n_test
        )

    def _model(self, device: torch.device) -> torch.nn.Module:
        return instantiate(self.cfg.model).to(device, resolve_dtype(self.cfg.backend.dtype))

    def describe(self) -> dict[str, int]:
        model = instantiate(self.cfg.model)
        return {"n_params": sum(p.numel() for p in model.parameters())}

    def _scores(
        self, model: torch.nn.Module, data: GaussianMixture2D, device: torch.device
    ) -> dict:
        dtype = resolve_dtype(self.cfg.backend.dtype)
        model.eval()
        with torch.no_grad():
            x, y = data.x.to(device, dtype), data.y.to(device)
            logits = model(x)
            loss = F.binary_cross_entropy_with_logits(logits, y.to(dtype)).item()
            accuracy = ((logits > 0).long() == y).float().mean().item()
        return {"loss": loss, "accuracy": accuracy}

    def train(self, ctx: RunContext) -> Records:
        paper, dtype = self.cfg.paper, resolve_dtype(self.cfg.backend.dtype)
        train_set = self._data(train=True)
        model = self._model(ctx.device)
        optimizer = torch.optim.Adam(model.parameters(), lr=paper.lr)
        x, y = train_set.x.to(ctx.device, dtype), train_set.y.to(ctx.device, dtype)

        def step(batch: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
            logits = model(x[batch])
            loss = F.binary_cross_entropy_with_logits(logits, y[batch])
            accuracy = ((logits > 0).to(dtype) == y[batch]).float().mean().item()
            return loss, {"train/batch_accuracy": accuracy}

        loop = LoopConfig(
            paper.steps, paper.log_every, paper.checkpoint_every, desc=f"seed {ctx.seed}"
        )
        run_loop(model, optimizer, step, len(train_set), paper.batch_size, loop, ctx)
        train_scores = self._scores(model, train_set, ctx.device)
        test_scores = self._scores(model, self._data(train=False), ctx.device)
        records = Records()  # no dimensions: one number per name and seed
        records.update(
            {
                "train_accuracy": train_scores["accuracy"],
                "train_loss": train_scores["loss"],
                "test_accuracy": test_scores["accuracy"],
                "test_loss": test_scores["loss"],
            }
        )
        return records

    def evaluate(self, ctx: RunContext) -> Records:
        state = load_checkpoint(ctx.checkpoint)
        if state is None:
            raise FileNotFoundError(ctx.checkpoint)
        model = self._model(ctx.device)
        model.load_state_dict(state["model"])
        scores = self._scores(model, self._data(train=False), ctx.device)
        records = Records()
        records.update({"test_accuracy": scores["accuracy"], "test_loss": scores["loss"]})
        return records
