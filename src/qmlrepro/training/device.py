"""Pick the torch device and dtype a backend config asks for (CUDA when present for ``auto``)."""

import torch

from qmlrepro.errors import ConfigError


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            "backend.device=cuda but no CUDA device is visible; use backend.device=auto"
        )
    return torch.device(name)


def resolve_dtype(name: str) -> torch.dtype:
    return {"float32": torch.float32, "float64": torch.float64}[name]
