"""The hypernet paper's 2D Gaussian mixture and the integrity manifest."""

import pytest
import torch

from qmlrepro.data.artifacts import MANIFEST
from qmlrepro.data.gaussian import (
    CLASS0_MEAN,
    CLASS1_MEANS,
    GaussianMixture2D,
    prepare_gaussian,
    sample_gaussian_mixture,
)
from qmlrepro.errors import DataError


def test_mixture_matches_the_authors_definition():
    draw = sample_gaussian_mixture(40_000, torch.Generator().manual_seed(0))
    assert abs(draw.y.float().mean().item() - 0.5) < 0.01
    class0 = draw.x[draw.y == 0]
    assert torch.allclose(class0.mean(0), torch.tensor(CLASS0_MEAN, dtype=torch.float64), atol=0.01)
    assert torch.allclose(class0.var(0), torch.full((2,), 0.1, dtype=torch.float64), atol=0.005)
    class1 = draw.x[draw.y == 1]
    centres = torch.tensor(CLASS1_MEANS, dtype=torch.float64)
    nearest = torch.cdist(class1, centres).argmin(1)
    shares = torch.bincount(nearest, minlength=3).double() / len(class1)
    assert torch.allclose(shares, torch.full((3,), 1 / 3, dtype=torch.float64), atol=0.015)


def test_prepare_is_seeded_and_splits_are_independent(tmp_path):
    prepare_gaussian(tmp_path / "a", 500, 300, seed=5)
    prepare_gaussian(tmp_path / "b", 500, 300, seed=5)
    a, b = GaussianMixture2D(tmp_path / "a"), GaussianMixture2D(tmp_path / "b")
    assert torch.equal(a.x, b.x) and len(a) == 500
    test = GaussianMixture2D(tmp_path / "a", train=False)
    assert len(test) == 300 and not torch.equal(test.x[:300], a.x[:300])
    assert len(GaussianMixture2D(tmp_path / "a", limit=20)) == 20


def test_corrupt_or_missing_files_are_refused(tmp_path):
    prepare_gaussian(tmp_path, 100, 100, seed=1)
    with open(tmp_path / "train.pt", "r+b") as fh:
        fh.seek(-8, 2)
        fh.write(b"\x00" * 8)
    with pytest.raises(DataError, match="fails its SHA-256 check"):
        GaussianMixture2D(tmp_path)
    (tmp_path / MANIFEST).unlink()
    with pytest.raises(DataError, match="run its prepare stage first"):
        GaussianMixture2D(tmp_path)
