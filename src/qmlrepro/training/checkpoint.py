"""Atomic, self-describing checkpoints that refuse to resume a different configuration."""

from pathlib import Path
from typing import Any

import torch

from qmlrepro.data.artifacts import atomic_torch_save
from qmlrepro.errors import QmlreproError


class CheckpointError(QmlreproError):
    """A checkpoint cannot be read or belongs to another configuration."""


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    atomic_torch_save(payload, path)


def load_checkpoint(path: Path, config_hash: str | None = None) -> dict[str, Any] | None:
    """The checkpoint at ``path``; None if absent or written for another configuration."""
    if not path.is_file():
        return None
    try:
        payload = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # torch raises many types for a truncated or foreign file
        raise CheckpointError(
            f"checkpoint {path} is unreadable ({type(exc).__name__}); delete it to start over"
        ) from exc
    if config_hash is not None and payload.get("config_hash") != config_hash:
        return None
    return payload
