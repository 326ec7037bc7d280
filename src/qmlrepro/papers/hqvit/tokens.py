"""Images as token sequences: non-overlapping square patches, each made contiguous, so that the
token-major pixel vector is exactly what the circuit amplitude-encodes (index = i * d + l)."""

import torch

from qmlrepro.errors import ConfigError


def patchify(images: torch.Tensor, patch: int) -> torch.Tensor:
    """(B, C, H, W) -> (B, T, C * patch^2) with patches in row-major grid order and each patch's
    pixels row-major (channels outermost)."""
    b, _, h, w = images.shape
    if h % patch or w % patch:
        raise ConfigError(f"images of {h}x{w} cannot be cut into {patch}x{patch} patches")
    grid = images.unfold(2, patch, patch).unfold(3, patch, patch)  # (B, C, H/p, W/p, p, p)
    return grid.permute(0, 2, 3, 1, 4, 5).reshape(b, (h // patch) * (w // patch), -1)


def class_targets(labels: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
    """Labels (e.g. digits 3 and 5) as class indices 0..K-1 in ``classes`` order."""
    index = torch.searchsorted(classes, labels)
    if (index >= len(classes)).any() or (
        classes[index.clamp_max(len(classes) - 1)] != labels
    ).any():
        raise ConfigError(f"labels outside the training classes {classes.tolist()}")
    return index
