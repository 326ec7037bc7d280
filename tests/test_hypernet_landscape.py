"""hypernet landscapes: the blocked enumeration of every task kind (the paper's four and the
scaled-down 10-12 bit ones) against the direct per-network forward pass, and the 3x3 MNIST load
path (x28 resized at load time by the code that prepares the 4x4 variants)."""

from pathlib import Path

import pytest
import torch

from qmlrepro.data.artifacts import save_tensors, write_manifest
from qmlrepro.data.mnist import VariantSpec, derive_variant, prepare_mnist
from qmlrepro.errors import ConfigError
from qmlrepro.papers.hypernet.bnn import (
    GaussianMLPTask,
    LogisticTask,
    TaskData,
    accuracy_from_logits,
    index_bits,
    loss_from_logits,
)
from qmlrepro.papers.hypernet.costs import default_block, enumerate_costs

from .conftest import requires_mnist, shared_mnist_root


def _data(d: int, n: int = 50, seed: int = 0) -> TaskData:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(2 * n, d, generator=g, dtype=torch.float64)
    x = 4 * x - 2 if d == 2 else x.float().double()  # else float32 pixels, as MNIST's
    y = x.sum(1) + 0.3 * torch.randn(2 * n, generator=g, dtype=torch.float64) > x.sum(1).mean()
    return TaskData(x[:n], y[:n].double(), x[n:], y[n:].double())


def _direct(task, data: TaskData, index: torch.Tensor):
    """Cost, train and test accuracy of the networks ``index``, one network at a time."""
    bits = index_bits(index, task.n_bits)
    train = task.direct_logits(bits, data.x_train)
    test = task.direct_logits(bits, data.x_test)
    cost = loss_from_logits(train, data.y_train, task.loss)
    return cost, (train, data.y_train), (test, data.y_test)


SMALL = [  # every network checked (10-12 bits), every kind of task and bit layout
    (LogisticTask("mnist01_3x3", "x28", (0, 1), 1, pixels=9, zero_value=-3.0, size=3), 9),
    (LogisticTask("pm1_3x3", "x28", (0, 1), 1, pixels=9, size=3), 9),
    (LogisticTask("mnist37_3x3", "x28", (3, 7), 7, pixels=9, alphabet_bits=2, size=3), 9),
    (GaussianMLPTask("gaussian_h2", hidden=2), 2),
    (GaussianMLPTask("gaussian_h1", hidden=1), 2),
]


@pytest.mark.parametrize(("task", "dim"), SMALL, ids=[t.name for t, _ in SMALL])
@pytest.mark.parametrize("block", [1, 7, 64, None])
def test_small_landscapes_equal_the_direct_forward_pass_everywhere(task, dim, block):
    data = _data(dim)
    table = enumerate_costs(task, data, block=block, progress=False)
    index = torch.arange(2**task.n_bits)
    cost, train, test = _direct(task, data, index)
    torch.testing.assert_close(table.cost, cost, rtol=0, atol=1e-13)
    for (z, y), acc in ((train, table.train_accuracy), (test, table.test_accuracy)):
        # exact but for logits that are 0 in exact arithmetic (sigmoid(p) + sigmoid(-p) - 1,
        # ReLU cancellations), which either summation order may round to either side
        ties = (z.abs() < 1e-9).float().mean(-1)
        assert ((acc - accuracy_from_logits(z, y).float()).abs() <= ties + 1e-6).all()
        if isinstance(task, LogisticTask):  # float32 pixels, integer weights: exact logits
            assert torch.equal(acc, accuracy_from_logits(z, y).float())


LARGE = [  # the paper's tasks' layouts (17-19 bits): random networks checked
    (LogisticTask("mnist01", "v", (0, 1), 1, zero_value=-3.0), 16),
    (LogisticTask("mnist37", "v", (3, 7), 7, alphabet_bits=2), 16),
    (GaussianMLPTask("gaussian", hidden=4), 2),
    (GaussianMLPTask("gaussian_h3", hidden=3), 2),  # odd: a pair and a single unit
]


@pytest.mark.parametrize(("task", "dim"), LARGE, ids=[t.name for t, _ in LARGE])
def test_large_landscapes_equal_the_direct_forward_pass(task, dim):
    data = _data(dim, n=20)
    table = enumerate_costs(task, data, progress=False)
    assert table.cost.numel() == 2**task.n_bits and not torch.isnan(table.cost).any()
    g = torch.Generator().manual_seed(1)
    index = torch.cat(
        [
            torch.tensor([0, 2**task.n_bits - 1]),
            torch.randint(0, 2**task.n_bits, (30,), generator=g),
        ]
    )
    cost, train, test = _direct(task, data, index)
    torch.testing.assert_close(table.cost[index], cost, rtol=0, atol=1e-12)
    for (z, y), acc in ((train, table.train_accuracy[index]), (test, table.test_accuracy[index])):
        ties = (z.abs() < 1e-9).float().mean(-1)
        assert ((acc - accuracy_from_logits(z, y).float()).abs() <= ties + 1e-6).all()


def test_gaussian_h2_layout_and_blocks():
    task = GaussianMLPTask("gaussian_h2", hidden=2)
    assert task.n_bits == 10
    assert task.bit_groups() == {
        "W1": [0, 1, 2, 3],
        "W2": [4, 5],
        "b2": [6],
        "b1": [7, 8],
        "activation": [9],
    }
    x = _data(2).x_train
    seen = torch.cat([i for i, _ in task.logit_blocks(x, 16)])
    assert sorted(seen.tolist()) == list(range(1024))  # every network once
    with pytest.raises(ConfigError, match="hidden"):
        GaussianMLPTask(hidden=0)
    assert default_block(12665) == 64 and default_block(10**8) == 1


def _x28_bundle(root: Path, digits_per_split: dict[str, list[int]]) -> None:
    """A synthetic ``x28`` bundle: uint8 28x28 images of constant value 20 * digit + 5."""
    tensors = {}
    for split, digits in digits_per_split.items():
        y = torch.tensor(digits, dtype=torch.long)
        tensors[f"{split}_x"] = (20 * y + 5).to(torch.uint8)[:, None, None].expand(-1, 28, 28)
        tensors[f"{split}_y"] = y
    write_manifest(root, {"x28": save_tensors(root, "x28", tensors, {})}, {"test": True})


def test_3x3_load_path_resizes_x28_to_nine_pixels_of_the_two_digits(tmp_path):
    _x28_bundle(
        tmp_path,
        {"train": [3, 5, 7, 7, 1, 3, 0, 7, 3], "test": [9, 7, 3, 2, 3]},
    )
    task = LogisticTask("t", "x28", (3, 7), 7, pixels=9, alphabet_bits=2, size=3)
    data = task.load(tmp_path)
    assert data.x_train.shape == (6, 9) and data.x_test.shape == (3, 9)
    assert data.x_train.dtype == torch.float64
    # the images of 3 and 7 only, in order; label 1 for the positive digit 7
    assert data.y_train.tolist() == [0, 1, 1, 0, 1, 0] and data.y_test.tolist() == [1, 0, 0]
    kept = torch.tensor([3, 7, 7, 3, 7, 3], dtype=torch.float64)
    torch.testing.assert_close(data.x_train, ((20 * kept + 5) / 255)[:, None].expand(-1, 9))
    # exactly qmlrepro.data.mnist.derive_variant (the code preparing the 4x4 variants)
    images = ((20 * kept + 5).to(torch.uint8))[:, None, None].expand(-1, 28, 28)
    expected = derive_variant(images, VariantSpec(3, "bilinear", (3, 7))).reshape(6, 9).double()
    assert torch.equal(data.x_train, expected)
    limited = task.load(tmp_path, limit=2)  # the first examples of the two digits
    assert limited.y_train.tolist() == [0, 1] and limited.x_test.shape == (2, 9)
    with pytest.raises(ConfigError, match="pixels"):
        LogisticTask("t", "x28", (3, 7), 7, size=3)  # pixels left at 16


@requires_mnist
def test_x28_resized_at_load_reproduces_the_prepared_4x4_variant(tmp_path):
    """The load-time resize of x28 is the prepare stage's code path: at size 4 it gives the
    prepared x4_bilinear_0v1 bit for bit, so the 3x3 tasks are that variant family at 3x3."""
    variants = {
        "x28": VariantSpec(28, "none"),
        "x4_bilinear_0v1": VariantSpec(4, "bilinear", (0, 1)),
    }
    prepare_mnist(tmp_path, variants, str(shared_mnist_root()), False, False, tmp_path / "dl")
    prepared = LogisticTask("a", "x4_bilinear_0v1", (0, 1), 1).load(tmp_path)
    resized = LogisticTask("b", "x28", (0, 1), 1, size=4).load(tmp_path)
    for key in ("x_train", "y_train", "x_test", "y_test"):
        assert torch.equal(getattr(prepared, key), getattr(resized, key)), key
    small = LogisticTask("c", "x28", (0, 1), 1, pixels=9, size=3).load(tmp_path, limit=500)
    assert small.x_train.shape == (500, 9) and 0 < small.y_train.mean() < 1
    with pytest.raises(ConfigError, match="uint8 28x28"):
        LogisticTask("d", "x4_bilinear_0v1", (0, 1), 1, pixels=9, size=3).load(tmp_path)


def test_the_scaled_down_tasks_are_configured():
    from qmlrepro.config.compose import compose_config
    from qmlrepro.papers.hypernet.experiment import build_task

    cfg = compose_config(["paper=hypernet"])
    bits = {name: build_task(cfg, name).n_bits for name in cfg.paper.tasks}
    assert bits["mnist01_3x3"] == 10 and bits["mnist37_3x3"] == 12 and bits["gaussian_h2"] == 10
    assert {k: bits[k] for k in ("gaussian", "mnist01", "mnist01_pm1", "mnist37")} == {
        "gaussian": 18,
        "mnist01": 17,
        "mnist01_pm1": 17,
        "mnist37": 19,
    }
    small = build_task(cfg, "mnist01_3x3")
    assert (small.variant, small.size, small.zero_value) == ("x28", 3, -3.0)
