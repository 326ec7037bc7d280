"""CIFAR-10 through torchvision, reduced to the first classes (the qssl paper uses 5).

Download is torchvision's; offline, a root holding ``cifar-10-batches-py/`` works as well. With
``verify_checksums=False`` files in the CIFAR pickle format but not the official bytes are accepted
(tests use a small generated file).
"""

import pickle
from collections.abc import Sequence
from pathlib import Path

import torch
from torch.utils.data import TensorDataset
from torchvision.datasets import CIFAR10

from qmlrepro.data.artifacts import load_tensors, save_tensors, write_manifest
from qmlrepro.errors import DataError


class _UncheckedCIFAR10(CIFAR10):
    """Same reader, existence check instead of MD5 (for custom files in CIFAR's format)."""

    def _check_integrity(self) -> bool:
        folder = Path(self.root) / self.base_folder
        return all((folder / name).is_file() for name, _ in self.train_list + self.test_list)

    def _load_meta(self) -> None:
        meta = Path(self.root) / self.base_folder / self.meta["filename"]
        if not meta.is_file():
            raise RuntimeError(f"{meta} not found")
        with open(meta, "rb") as fh:
            self.classes = pickle.load(fh, encoding="latin1")[self.meta["key"]]
        self.class_to_idx = {name: i for i, name in enumerate(self.classes)}


def load_raw_cifar10(root: Path, download: bool, verify_checksums: bool) -> dict[str, torch.Tensor]:
    reader = CIFAR10 if verify_checksums else _UncheckedCIFAR10
    try:
        splits = {split: reader(str(root), train=split == "train", download=download) for split in ("train", "test")}
    except (RuntimeError, OSError) as exc:
        raise DataError(
            f"could not obtain CIFAR-10 under {root}: {exc}; it needs internet, or a folder "
            "holding cifar-10-batches-py/ as dataset.root"
        ) from exc
    out = {}
    for split, ds in splits.items():
        out[f"{split}_x"] = torch.from_numpy(ds.data).permute(0, 3, 1, 2).contiguous()  # (n, 3, 32, 32)
        out[f"{split}_y"] = torch.tensor(ds.targets, dtype=torch.long)
    return out


def prepare_cifar10(
    out_dir: Path, root: Path, classes: Sequence[int], download: bool, verify_checksums: bool
) -> dict:
    raw = load_raw_cifar10(root, download, verify_checksums)
    keep_classes = torch.tensor(list(classes))
    tensors = {}
    for split in ("train", "test"):
        keep = torch.isin(raw[f"{split}_y"], keep_classes)
        tensors[f"{split}_x"], tensors[f"{split}_y"] = raw[f"{split}_x"][keep], raw[f"{split}_y"][keep]
    if len(tensors["train_y"]) == 0:
        raise DataError(f"CIFAR-10 under {root} has no images of classes {list(classes)}")
    info = {"classes": list(classes), "n_train": len(tensors["train_y"]), "n_test": len(tensors["test_y"])}
    entries = {"cifar": save_tensors(out_dir, "cifar", tensors, info)}
    write_manifest(out_dir, entries, {"source": "torchvision.datasets.CIFAR10", "checksums_verified": verify_checksums})
    return entries


class CIFARSubset(TensorDataset):
    """Prepared CIFAR images as uint8 (n, 3, 32, 32) tensors with labels."""

    def __init__(self, root: str | Path, train: bool = True, limit: int | None = None) -> None:
        bundle = load_tensors(Path(root), "cifar")
        split = "train" if train else "test"
        x, y = bundle[f"{split}_x"], bundle[f"{split}_y"]
        if limit is not None:
            x, y = x[:limit], y[:limit]
        super().__init__(x, y)
        self.x, self.y = x, y
