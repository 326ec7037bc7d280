"""The shared loop resumes exactly: an interrupted run ends where an uninterrupted one does."""

from dataclasses import dataclass, field

import pytest
import torch

from qmlrepro.experiment import RunContext
from qmlrepro.training.checkpoint import CheckpointError, load_checkpoint
from qmlrepro.training.loop import LoopConfig, batch_stream, epoch_batches, run_loop
from qmlrepro.training.seeding import seed_everything


@dataclass
class RecordingRun:
    """Stands in for an MLflow run: records what the loop logs."""

    run_id: str = "run-under-test"
    logged: list = field(default_factory=list)

    def log_metrics(self, metrics, step=None):
        self.logged.append((step, dict(metrics)))


class Interrupt(Exception):
    pass


def train(tmp_path, stop_at: int | None, run: RecordingRun, config_hash: str = "h") -> dict:
    seed_everything(0)
    x = torch.randn(64, 3, generator=torch.Generator().manual_seed(1))
    y = (x.sum(1) > 0).float()
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Dropout(0.3), torch.nn.Linear(4, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    calls = {"n": 0}

    def step(batch):
        calls["n"] += 1
        if stop_at is not None and calls["n"] > stop_at:
            raise Interrupt
        logits = model(x[batch]).squeeze(-1)
        return torch.nn.functional.binary_cross_entropy_with_logits(logits, y[batch]), {}

    ctx = RunContext(0, run, tmp_path / "ckpt.pt", torch.device("cpu"), config_hash)
    loop = LoopConfig(max_steps=30, log_every=5, checkpoint_every=10)
    return run_loop(model, optimizer, step, 64, 16, loop, ctx)


def test_resume_after_interruption_is_identical(tmp_path):
    reference = train(tmp_path / "a", None, RecordingRun())
    run = RecordingRun()
    with pytest.raises(Interrupt):
        train(tmp_path / "b", 17, run)  # dies after the step-10 checkpoint
    assert load_checkpoint(tmp_path / "b" / "ckpt.pt")["step"] == 10
    resumed = train(tmp_path / "b", None, run)
    for key, value in reference["model"].items():
        assert torch.equal(value, resumed["model"][key]), key
    assert resumed["mlflow_run_id"] == "run-under-test" and resumed["complete"]


def test_checkpoint_of_another_config_is_not_resumed(tmp_path):
    train(tmp_path, None, RecordingRun(), config_hash="one")
    assert load_checkpoint(tmp_path / "ckpt.pt", "two") is None
    assert load_checkpoint(tmp_path / "ckpt.pt", "one")["step"] == 30


def test_corrupt_checkpoint_is_a_clear_error(tmp_path):
    (tmp_path / "ckpt.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="unreadable"):
        load_checkpoint(tmp_path / "ckpt.pt")


def test_batch_stream_resumes_mid_epoch():
    full = [b.tolist() for b, _ in zip(batch_stream(10, 3, 4, 0), range(7), strict=False)]
    tail = [b.tolist() for b, _ in zip(batch_stream(10, 3, 4, 4), range(3), strict=False)]
    assert full[4:] == tail
    assert len(epoch_batches(10, 3, 4, 0)) == 3  # the ragged last batch is dropped
