"""MNIST through torchvision, and the resized/padded/filtered variants the papers train on.

The raw files come from ``torchvision.datasets.MNIST``: downloaded (with torchvision's own
checksums) for users with internet, or read from an offline root holding ``MNIST/raw/`` (config
``dataset.root`` or the ``QMLREPRO_DATA_ROOT`` environment variable). Either way the four
uncompressed IDX files are checked against the official MD5s before anything is derived.
"""

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import TensorDataset

from qmlrepro.data.artifacts import load_tensors, make_dir, save_tensors, write_manifest
from qmlrepro.errors import DataError

DATA_ROOT_ENV = "QMLREPRO_DATA_ROOT"

# Official MD5s of the uncompressed IDX files (torchvision checks the .gz on download).
RAW_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
RESIZE_METHODS = ("none", "pad", "bilinear")


@dataclass(frozen=True)
class VariantSpec:
    """One derived tensor set: side length, how to get there, and which digits to keep."""

    size: int
    resize: str
    digits: tuple[int, ...] | None = None


def resolve_root(root: str | None, download: bool, default_root: Path) -> tuple[Path, bool]:
    """Pick the MNIST root: explicit config, then the environment variable, then a download dir.

    Returns the root and whether torchvision may download into it.
    """
    chosen = root or os.environ.get(DATA_ROOT_ENV)
    if chosen:
        path = Path(chosen).expanduser().resolve()
        raw = path / "MNIST" / "raw"
        missing = [name for name in RAW_MD5 if not (raw / name).is_file()]
        if missing:
            raise DataError(
                f"offline MNIST root {path} has no {raw.relative_to(path)}/{missing[0]}"
                f" ({len(missing)} of 4 IDX files missing); point {DATA_ROOT_ENV} or dataset.root "
                "at a folder holding MNIST/raw/, or unset both to download"
            )
        return path, False
    if not download:
        raise DataError(
            f"no MNIST root given and dataset.download=false; set {DATA_ROOT_ENV} or dataset.root "
            "to a folder holding MNIST/raw/, or allow the download"
        )
    return default_root.resolve(), True


def verify_raw_md5(root: Path) -> None:
    raw = root / "MNIST" / "raw"
    for name, expected in RAW_MD5.items():
        digest = hashlib.md5((raw / name).read_bytes(), usedforsecurity=False).hexdigest()
        if digest != expected:
            raise DataError(
                f"{raw / name} has MD5 {digest}, expected {expected} (corrupt or not the official "
                "MNIST); replace the file, or set dataset.verify_checksums=false for a custom set"
            )


# IDX headers: magic 0x00000803 (unsigned bytes, 3 dimensions) for images, 0x00000801 for labels,
# then one big-endian uint32 per dimension; the pixel or label bytes follow.
IDX_MAGIC = {3: 0x00000803, 1: 0x00000801}


def check_idx_header(path: Path) -> int:
    """The number of items in one MNIST IDX file, after checking its magic number, dimensions
    and length, so a wrong file is one line even with ``verify_checksums=false``."""
    dims = 3 if "images" in path.name else 1
    data = path.read_bytes()
    header = 4 * (dims + 1)
    fix = "replace it with the IDX file from the MNIST distribution (uncompressed)"
    if len(data) < header:
        raise DataError(f"{path} is {len(data)} bytes, shorter than an IDX header; {fix}")
    magic = int.from_bytes(data[:4], "big")
    if magic != IDX_MAGIC[dims]:
        raise DataError(
            f"{path} has IDX magic number 0x{magic:08x}, expected 0x{IDX_MAGIC[dims]:08x} "
            f"(unsigned bytes, {dims} dimension(s)); {fix}"
        )
    shape = [int.from_bytes(data[4 * i : 4 * i + 4], "big") for i in range(1, dims + 1)]
    if dims == 3 and shape[1:] != [28, 28]:
        raise DataError(f"{path} holds images of {shape[1]}x{shape[2]} pixels, not 28x28; {fix}")
    expected = header + shape[0] * (28 * 28 if dims == 3 else 1)
    if len(data) != expected:
        raise DataError(
            f"{path} is {len(data)} bytes but its header ({shape[0]} items) needs {expected} "
            f"(truncated or padded); {fix}"
        )
    return shape[0]


def check_idx_files(root: Path) -> None:
    """Every IDX file's header, and images and labels of a split agree on their count."""
    raw = root / "MNIST" / "raw"
    for split in ("train", "t10k"):
        images = check_idx_header(raw / f"{split}-images-idx3-ubyte")
        labels = check_idx_header(raw / f"{split}-labels-idx1-ubyte")
        if images != labels:
            raise DataError(
                f"{raw} has {images} {split} images but {labels} labels; the files come from "
                "different sets; replace them with one matching MNIST distribution"
            )


def load_raw(root: Path, download: bool) -> dict[str, torch.Tensor]:
    """uint8 images (n, 28, 28) and int64 labels for both official splits."""
    from torchvision.datasets import MNIST

    try:
        train = MNIST(str(root), train=True, download=download)
        test = MNIST(str(root), train=False, download=download)
    except (RuntimeError, OSError) as exc:
        raise DataError(
            f"could not obtain MNIST under {root}: {exc}; with no internet, set {DATA_ROOT_ENV} "
            "to a folder holding MNIST/raw/"
        ) from exc
    return {
        "train_x": train.data.clone(),
        "train_y": train.targets.long().clone(),
        "test_x": test.data.clone(),
        "test_y": test.targets.long().clone(),
    }


def derive_variant(images: torch.Tensor, spec: VariantSpec) -> torch.Tensor:
    """Images (n, 28, 28) uint8 -> (n, size, size): uint8 for lossless variants, float in [0, 1]
    otherwise."""
    if spec.resize == "none":
        if spec.size != images.shape[-1]:
            raise DataError(f"resize 'none' needs size {images.shape[-1]}, got {spec.size}")
        return images
    if spec.resize == "pad":
        extra = spec.size - images.shape[-1]
        if extra < 0 or extra % 2:
            raise DataError(f"resize 'pad' needs an even size >= 28, got {spec.size}")
        return F.pad(images, (extra // 2,) * 4)
    if spec.resize == "bilinear":
        # Half-pixel centres, no antialiasing: the hypernet authors' convention for 4x4 digits.
        scaled = images.unsqueeze(1).float() / 255.0
        out = F.interpolate(
            scaled,
            size=(spec.size, spec.size),
            mode="bilinear",
            align_corners=False,
            antialias=False,
        )
        return out.squeeze(1).contiguous()
    raise DataError(f"unknown resize '{spec.resize}'; use one of {', '.join(RESIZE_METHODS)}")


def _select_digits(
    x: torch.Tensor, y: torch.Tensor, digits: Sequence[int] | None
) -> tuple[torch.Tensor, torch.Tensor]:
    if digits is None:
        return x, y
    keep = torch.isin(y, torch.tensor(list(digits)))
    return x[keep], y[keep]


def _as_unit_float(x: torch.Tensor) -> torch.Tensor:
    return x.float() / 255.0 if x.dtype == torch.uint8 else x.float()


def prepare_mnist(
    out_dir: Path,
    variants: dict[str, VariantSpec],
    root: str | None,
    download: bool,
    verify_checksums: bool,
    download_root: Path,
) -> dict:
    resolved, may_download = resolve_root(root, download, download_root)
    if verify_checksums and not may_download:  # an offline copy: check it before parsing it
        verify_raw_md5(resolved)
    if not verify_checksums and all((resolved / "MNIST" / "raw" / n).is_file() for n in RAW_MD5):
        check_idx_files(resolved)  # a custom set, or an earlier download: still well-formed IDX
    raw = load_raw(resolved, may_download)
    if verify_checksums and may_download:
        verify_raw_md5(resolved)
    make_dir(out_dir)
    entries = {}
    for name, spec in variants.items():
        tensors: dict[str, torch.Tensor] = {}
        for split in ("train", "test"):
            x, y = _select_digits(raw[f"{split}_x"], raw[f"{split}_y"], spec.digits)
            tensors[f"{split}_x"], tensors[f"{split}_y"] = derive_variant(x, spec), y
        unit = _as_unit_float(tensors["train_x"])
        info = {
            "size": spec.size,
            "resize": spec.resize,
            "digits": list(spec.digits) if spec.digits else None,
            "n_train": len(tensors["train_y"]),
            "n_test": len(tensors["test_y"]),
            "train_pixel_mean": unit.mean().item(),
            "train_pixel_std": unit.std().item(),
        }
        entries[name] = save_tensors(out_dir, name, tensors, info)
    provenance = {"source": "torchvision.datasets.MNIST", "checksums_verified": verify_checksums}
    write_manifest(out_dir, entries, provenance)
    return entries


class MNISTVariant(TensorDataset):
    """A prepared variant as float tensors in [0, 1], optionally standardised with train stats.

    ``MNISTVariant("data/mnist", "x16_bilinear", train=False, digits=(3, 7), limit=500)``
    """

    def __init__(
        self,
        root: str | Path,
        variant: str,
        train: bool = True,
        digits: Sequence[int] | None = None,
        limit: int | None = None,
        standardize: bool = False,
    ) -> None:
        bundle = load_tensors(Path(root), variant)
        split = "train" if train else "test"
        x, y = _select_digits(bundle[f"{split}_x"], bundle[f"{split}_y"], digits)
        x = _as_unit_float(x)
        if standardize:
            train_unit = _as_unit_float(bundle["train_x"])
            x = (x - train_unit.mean()) / train_unit.std()
        if limit is not None:
            x, y = x[:limit], y[:limit]
        super().__init__(x, y)
        self.x, self.y = x, y
