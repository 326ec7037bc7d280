"""The interface between the generic stages and a paper's experiment logic."""

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

import torch
from omegaconf import DictConfig

from qmlrepro.tracking.mlflow_run import TrackedRun


@dataclass
class RunContext:
    """What one (job, seed) gets from the stage: where to log, where to checkpoint, on what."""

    seed: int
    run: TrackedRun
    checkpoint: Path
    device: torch.device
    config_hash: str = ""  # a checkpoint from another configuration is never resumed


class Experiment(ABC):
    """A paper's train/evaluate logic for one composed config (one model, one profile)."""

    def __init__(self, cfg: DictConfig) -> None:
        self.cfg = cfg

    @abstractmethod
    def train(self, ctx: RunContext) -> dict[str, float]:
        """Train from scratch (or resume from ``ctx.checkpoint``); return final metrics."""

    @abstractmethod
    def evaluate(self, ctx: RunContext) -> dict[str, float]:
        """Evaluate the trained ``ctx.checkpoint`` on the configured backend; return metrics."""

    def describe(self) -> dict[str, float | int | str]:
        """Facts about the model logged once per run (parameter counts, qubits, ...)."""
        return {}
