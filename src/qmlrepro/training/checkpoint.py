"""Atomic, self-describing checkpoints that refuse to resume a different configuration.

Every checkpoint is a dict that carries ``config_hash``, the hash of the configuration it was
trained with. Its two readers check it differently: resuming (:func:`load_checkpoint` with a
hash) treats another configuration's checkpoint as absent and starts over; evaluating
(:func:`trained_checkpoint`) refuses it, since the model on disk is then not the one the job's
recorded configuration describes.
"""

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
    """The checkpoint at ``path``; None if absent or written for another configuration.

    Raises :class:`CheckpointError` if the file is unreadable or holds something other than a
    checkpoint (a bare tensor, a list)."""
    if not path.is_file():
        return None
    payload = _read(path)
    if config_hash is not None and payload.get("config_hash") != config_hash:
        return None
    return payload


def trained_checkpoint(path: Path, config_hash: str) -> dict[str, Any]:
    """The checkpoint at ``path``, which must exist and have been trained with ``config_hash``.

    Raises :class:`CheckpointError` naming the file otherwise: missing, unreadable, not a
    checkpoint, or trained with another configuration (an interrupted rerun with a changed
    config, a file copied from another job)."""
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} is missing; rerun the job's train stage")
    payload = _read(path)
    found = payload.get("config_hash")
    if found != config_hash:
        raise CheckpointError(
            f"checkpoint {path} was trained with config {found}, not the job's recorded config "
            f"{config_hash}; rerun the job's train stage"
        )
    return payload


def _read(path: Path) -> dict[str, Any]:
    try:
        payload = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # torch raises many types for a truncated or foreign file
        raise CheckpointError(
            f"checkpoint {path} is unreadable ({type(exc).__name__}); delete it to start over"
        ) from exc
    if not isinstance(payload, dict):
        raise CheckpointError(
            f"checkpoint {path} holds a {type(payload).__name__}, not a qmlrepro checkpoint; "
            "delete it to start over"
        )
    return payload
