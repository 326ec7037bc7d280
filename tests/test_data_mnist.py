"""MNIST through torchvision: offline root, checksums, and the derived variants."""

import struct
from pathlib import Path

import pytest
import torch

from qmlrepro.data.mnist import RAW_MD5, MNISTVariant, VariantSpec, derive_variant, prepare_mnist
from qmlrepro.errors import DataError

from .conftest import requires_mnist, shared_mnist_root

RAW_NAMES = list(RAW_MD5)


def write_idx(raw: Path, n_train: int = 30, n_test: int = 10, seed: int = 0) -> None:
    """Tiny MNIST-format (IDX) files in torchvision's layout."""
    gen = torch.Generator().manual_seed(seed)
    raw.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = torch.randint(0, 256, (n, 28, 28), generator=gen, dtype=torch.uint8)
        labels = torch.arange(n, dtype=torch.uint8) % 10
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(
            struct.pack(">IIII", 2051, n, 28, 28) + images.numpy().tobytes()
        )
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(
            struct.pack(">II", 2049, n) + labels.numpy().tobytes()
        )


def test_variants_from_a_generated_offline_root(tmp_path):
    write_idx(tmp_path / "root" / "MNIST" / "raw")
    variants = {
        "x28": VariantSpec(28, "none"),
        "x32": VariantSpec(32, "pad"),
        "x4_01": VariantSpec(4, "bilinear", (0, 1)),
    }
    out = tmp_path / "out"
    entries = prepare_mnist(out, variants, str(tmp_path / "root"), False, False, tmp_path / "dl")
    assert entries["x28"]["n_train"] == 30 and entries["x4_01"]["n_train"] == 6
    x32 = MNISTVariant(out, "x32")
    assert x32.x.shape == (30, 32, 32) and x32.x[:, :2].abs().sum() == 0
    x4 = MNISTVariant(out, "x4_01", train=False)
    assert set(x4.y.tolist()) <= {0, 1} and x4.x.shape[1:] == (4, 4)
    assert x4.x.min() >= 0.0 and x4.x.max() <= 1.0


def test_bilinear_is_half_pixel_without_antialiasing():
    gen = torch.Generator().manual_seed(3)
    images = torch.randint(0, 256, (2, 28, 28), generator=gen, dtype=torch.uint8)
    got = derive_variant(images, VariantSpec(4, "bilinear"))
    # Half-pixel centres at scale 7 put output pixel i exactly on input pixel 7 i + 3, so the
    # result is a plain subsample; antialiasing or corner alignment would blend neighbours.
    assert torch.allclose(got, images[:, 3::7, 3::7].float() / 255)


def test_missing_offline_root_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("QMLREPRO_DATA_ROOT", str(tmp_path / "nowhere"))
    with pytest.raises(DataError) as err:
        prepare_mnist(
            tmp_path / "out", {"x28": VariantSpec(28, "none")}, None, True, True, tmp_path
        )
    message = str(err.value)
    assert "offline MNIST root" in message and "QMLREPRO_DATA_ROOT" in message
    assert "\n" not in message and not (tmp_path / "out").exists()


def test_wrong_checksum_names_the_file(tmp_path):
    write_idx(tmp_path / "root" / "MNIST" / "raw")
    with pytest.raises(DataError, match="train-images-idx3-ubyte has MD5"):
        prepare_mnist(
            tmp_path / "out",
            {"x28": VariantSpec(28, "none")},
            str(tmp_path / "root"),
            False,
            True,
            tmp_path,
        )


@requires_mnist
def test_official_mnist_counts_and_checksums(tmp_path):
    root = shared_mnist_root()
    variants = {
        "x4_bilinear_0v1": VariantSpec(4, "bilinear", (0, 1)),
        "x4_bilinear_3v7": VariantSpec(4, "bilinear", (3, 7)),
    }
    entries = prepare_mnist(tmp_path, variants, str(root), False, True, tmp_path / "dl")
    # The hypernet paper's split sizes (carrasqu/binncode).
    assert (entries["x4_bilinear_0v1"]["n_train"], entries["x4_bilinear_0v1"]["n_test"]) == (
        12665,
        2115,
    )
    assert (entries["x4_bilinear_3v7"]["n_train"], entries["x4_bilinear_3v7"]["n_test"]) == (
        12396,
        2038,
    )
    assert sorted(RAW_NAMES) == sorted(
        p.name for p in (root / "MNIST" / "raw").iterdir() if p.name in RAW_MD5
    )
