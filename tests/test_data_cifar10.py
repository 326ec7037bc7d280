"""CIFAR-10 loader on small generated files in CIFAR's pickle format (no download here)."""

import pickle
from pathlib import Path

import numpy as np
import pytest

from qmlrepro.data.cifar10 import CIFARSubset, prepare_cifar10
from qmlrepro.errors import DataError

LABEL_NAMES = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
]


def write_cifar(root: Path, per_batch: int = 20, seed: int = 0) -> None:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        batch = {
            "data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8),
            "labels": [int(i % 10) for i in range(per_batch)],
        }
        (folder / name).write_bytes(pickle.dumps(batch))
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": LABEL_NAMES}))


def test_first_five_classes_in_channel_first_layout(tmp_path):
    write_cifar(tmp_path / "raw")
    entries = prepare_cifar10(tmp_path / "out", tmp_path / "raw", [0, 1, 2, 3, 4], False, False)
    assert entries["cifar"]["n_train"] == 50 and entries["cifar"]["n_test"] == 10
    train = CIFARSubset(tmp_path / "out")
    assert train.x.shape == (50, 3, 32, 32) and set(train.y.tolist()) == {0, 1, 2, 3, 4}
    # Channel-first view of CIFAR's row layout: the first 1024 bytes are the red plane.
    raw = pickle.loads((tmp_path / "raw" / "cifar-10-batches-py" / "data_batch_1").read_bytes())
    assert np.array_equal(train.x[0, 0].numpy().ravel(), raw["data"][0, :1024])


def test_official_checksums_reject_generated_files(tmp_path):
    write_cifar(tmp_path / "raw")
    with pytest.raises(DataError, match="could not obtain CIFAR-10"):
        prepare_cifar10(tmp_path / "out", tmp_path / "raw", [0, 1], False, True)


def test_missing_cifar_without_download_is_a_clear_error(tmp_path):
    with pytest.raises(DataError) as err:
        prepare_cifar10(tmp_path / "out", tmp_path / "none", [0], False, True)
    assert "cifar-10-batches-py" in str(err.value)
