"""Prepared image datasets as one float tensor layout, (N, C, H, W) in [0, 1] plus labels, so
image models read any of them without knowing which it is."""

from collections.abc import Callable
from pathlib import Path

import torch
from omegaconf import DictConfig

from qmlrepro.errors import ConfigError
from qmlrepro.paths import resolve


def _mnist(cfg: DictConfig, root: Path, train: bool, limit: int | None):
    from qmlrepro.data.mnist import MNISTVariant

    data = MNISTVariant(root, cfg.variant, train=train, digits=cfg.get("digits"), limit=limit)
    return data.x.unsqueeze(1), data.y


def _cifar10(cfg: DictConfig, root: Path, train: bool, limit: int | None):
    from qmlrepro.data.cifar10 import CIFARSubset

    data = CIFARSubset(root, train=train, limit=limit)
    return data.x.float() / 255.0, data.y


READERS: dict[str, Callable] = {"mnist": _mnist, "cifar10": _cifar10}


def image_tensors(
    cfg: DictConfig, train: bool, limit: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N, C, H, W) float in [0, 1] and int64 labels of the configured dataset."""
    reader = READERS.get(cfg.name)
    if reader is None:
        raise ConfigError(
            f"dataset={cfg.name} is not an image dataset; use one of {', '.join(READERS)}"
        )
    return reader(cfg, resolve(cfg.processed_dir), train, limit)
