"""The 2D Gaussian mixture of the quantum-hypernetwork paper (Carrasquilla et al., 2023).

Class 0 ~ N((-1, -2), 0.1 I); class 1 ~ an equal mixture of N((-2, 1)), N((1, 1)), N((2, -2)), each
with covariance 0.1 I; the class is drawn with probability 1/2. This follows the authors' notebook
(carrasqu/binncode, ``generate``), which fixes no seed: we do.
"""

from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import TensorDataset

from qmlrepro.data.artifacts import load_tensors, make_dir, save_tensors, write_manifest
from qmlrepro.training.seeding import torch_generator

CLASS0_MEAN = (-1.0, -2.0)
CLASS1_MEANS = ((-2.0, 1.0), (1.0, 1.0), (2.0, -2.0))
COVARIANCE_SCALE = 0.1


@dataclass(frozen=True)
class GaussianSplit:
    x: torch.Tensor  # (n, 2) float64
    y: torch.Tensor  # (n,) int64, 0 or 1


def sample_gaussian_mixture(n: int, generator: torch.Generator) -> GaussianSplit:
    labels = torch.bernoulli(torch.full((n,), 0.5, dtype=torch.float64), generator=generator).long()
    component = torch.randint(0, len(CLASS1_MEANS), (n,), generator=generator)
    means = torch.tensor(CLASS1_MEANS, dtype=torch.float64)[component]
    means[labels == 0] = torch.tensor(CLASS0_MEAN, dtype=torch.float64)
    noise = torch.randn((n, 2), generator=generator, dtype=torch.float64)
    return GaussianSplit(x=means + COVARIANCE_SCALE**0.5 * noise, y=labels)


def prepare_gaussian(out_dir: Path, n_train: int, n_test: int, seed: int) -> dict:
    """Write train and test draws with a manifest; each split is drawn from its own stream,
    ``derive_seed(seed, "gaussian", split)``."""
    make_dir(out_dir)
    entries = {}
    for split, n in (("train", n_train), ("test", n_test)):
        gen = torch_generator(seed, "gaussian", split)
        draw = sample_gaussian_mixture(n, gen)
        entries[split] = save_tensors(
            out_dir,
            split,
            {"x": draw.x, "y": draw.y},
            {"n": n, "class_counts": torch.bincount(draw.y, minlength=2).tolist()},
        )
    provenance = {
        "generator": "qmlrepro.data.gaussian.sample_gaussian_mixture",
        "seed": seed,
        "class0_mean": CLASS0_MEAN,
        "class1_means": CLASS1_MEANS,
        "covariance": f"{COVARIANCE_SCALE} * I",
    }
    write_manifest(out_dir, entries, provenance)
    return entries


class GaussianMixture2D(TensorDataset):
    """Reads a prepared split, torchvision-style: ``GaussianMixture2D(root, train=True)``."""

    def __init__(self, root: str | Path, train: bool = True, limit: int | None = None) -> None:
        bundle = load_tensors(Path(root), "train" if train else "test")
        x, y = bundle["x"], bundle["y"]
        if limit is not None:
            x, y = x[:limit], y[:limit]
        super().__init__(x, y)
        self.x, self.y = x, y
