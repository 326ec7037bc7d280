"""Linear evaluation of a frozen encoder.

Two probes read the same (N, W) features:

- the paper's: a Linear(W, classes) head trained with Adam for a fixed number of epochs, scored on
  the test split after every epoch (the paper reports the best epoch; we also keep the final one,
  which does not peek at the test set);
- a converged, scale-invariant one (:func:`fit_converged_probe`): standardised features,
  multinomial logistic regression run to convergence, its L2 strength picked on a validation split.
"""

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from qmlrepro.training.seeding import seeded, torch_generator


@dataclass
class ProbeResult:
    test_accuracy: list[float]  # per epoch
    train_loss: list[float]  # per epoch, mean over batches
    head: nn.Linear
    classes: torch.Tensor  # label value of each output

    @property
    def best(self) -> float:
        return max(self.test_accuracy)

    @property
    def best_epoch(self) -> int:
        return self.test_accuracy.index(self.best) + 1

    @property
    def final(self) -> float:
        return self.test_accuracy[-1]


def label_indices(labels: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
    return torch.searchsorted(classes.to(labels.device), labels)


def accuracy(head: nn.Linear, features: torch.Tensor, targets: torch.Tensor) -> float:
    with torch.no_grad():
        return (head(features).argmax(1) == targets).float().mean().item()


def train_linear_probe(
    train_features: Callable[[int], torch.Tensor],
    train_labels: torch.Tensor,
    test_features: torch.Tensor,
    test_labels: torch.Tensor,
    epochs: int,
    lr: float,
    milestones: list[int],
    batch_size: int,
    on_epoch: Callable[[int, float, float], None] | None = None,
    seed: int = 0,
) -> ProbeResult:
    """``train_features(epoch)`` gives the (N, W) training features of that epoch: the same cached
    tensor, or fresh augmented views for the paper's protocol. Labels may be any class values.
    The head's initialisation and the batch order come from ``seed``'s "init/probe_head" and
    "probe_order" streams (:func:`qmlrepro.training.seeding.derive_seed`)."""
    classes = torch.unique(train_labels).cpu()
    y_train = label_indices(train_labels, classes)
    y_test = label_indices(test_labels, classes)
    width = test_features.shape[1]
    with seeded(seed, "init", "probe_head"):
        head = nn.Linear(width, len(classes)).to(test_features.device, test_features.dtype)
    shuffle = torch_generator(seed, "probe_order")
    optimizer = torch.optim.Adam(head.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones, gamma=0.1)
    accuracies, losses = [], []
    for epoch in tqdm(range(1, epochs + 1), desc="linear probe", leave=False, disable=None):
        features = train_features(epoch)
        order = torch.randperm(len(features), generator=shuffle).to(features.device)
        total, batches = 0.0, 0
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            loss = F.cross_entropy(head(features[idx]), y_train[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total, batches = total + loss.item(), batches + 1
        scheduler.step()
        accuracies.append(accuracy(head, test_features, y_test))
        losses.append(total / batches)
        if on_epoch is not None:
            on_epoch(epoch, accuracies[-1], losses[-1])
    return ProbeResult(accuracies, losses, head, classes)


@dataclass
class ConvergedProbe:
    """A standardised multinomial logistic regression fitted to convergence, as tensors.

    ``predict(x) = argmax((x - mean) / scale @ coef.T + intercept)`` over ``classes``.
    Shapes: ``mean``, ``scale`` (W,); ``coef`` (K, W); ``intercept`` (K,); ``classes`` (K,) int64
    label values. All float64 except ``classes``. ``c`` is the chosen inverse L2 strength (scikit-
    learn's ``C``), ``val_accuracy`` its validation accuracy, ``iterations`` L-BFGS iterations
    used and ``converged`` whether they stayed below ``max_iter`` (scikit-learn's test: the
    projected gradient fell below ``tol``)."""

    mean: torch.Tensor
    scale: torch.Tensor
    coef: torch.Tensor
    intercept: torch.Tensor
    classes: torch.Tensor
    c: float
    val_accuracy: float
    iterations: int
    converged: bool

    def logits(self, features: torch.Tensor) -> torch.Tensor:
        """(N, W) features of any float dtype/device -> (N, K) float64 logits on the CPU."""
        x = (features.detach().cpu().double() - self.mean) / self.scale
        return x @ self.coef.T + self.intercept

    def predict(self, features: torch.Tensor) -> torch.Tensor:
        """(N, W) -> (N,) predicted label values."""
        return self.classes[self.logits(features).argmax(1)]

    def accuracy(self, features: torch.Tensor, labels: torch.Tensor) -> float:
        """Fraction of ``labels`` (N,) predicted correctly from ``features`` (N, W)."""
        return (self.predict(features) == labels.cpu()).double().mean().item()

    def state(self) -> dict[str, Any]:
        """Plain tensors and numbers for a checkpoint; :meth:`from_state` reads them back."""
        return dict(vars(self))

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> "ConvergedProbe":
        return cls(**state)


def fit_converged_probe(
    train_x: torch.Tensor,
    train_y: torch.Tensor,
    val_x: torch.Tensor,
    val_y: torch.Tensor,
    c_grid: Sequence[float],
    max_iter: int = 1000,
    tol: float = 1e-6,
) -> ConvergedProbe:
    """A scale-invariant, converged linear probe: features standardised with the training
    split's mean and std (a constant feature keeps scale 1), then scikit-learn's
    ``LogisticRegression`` (multinomial cross-entropy + L2 penalty ``||w||^2 / (2 C)``, L-BFGS)
    fitted for each ``C`` in ``c_grid``; the ``C`` of the best validation accuracy is kept
    (ties: the smallest ``C``, the strongest regularisation). Deterministic: BLAS runs on one
    thread during the fit.

    Unlike the paper's probe (Adam for a fixed number of epochs, best test epoch), its result does
    not depend on the features' scale or on when training stops, and nothing is selected on the
    test set.

    Args:
        train_x, val_x: (N, W) features; train_y, val_y: (N,) integer labels.
        c_grid: inverse regularisation strengths to try, each > 0.
        max_iter, tol: L-BFGS iteration cap and tolerance (scikit-learn's ``max_iter``, ``tol``).

    Raises:
        ValueError: an empty ``c_grid``, a value <= 0, or fewer than 2 classes in ``train_y``.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    if not c_grid or min(c_grid) <= 0:
        raise ValueError(f"c_grid={list(c_grid)} must list values > 0")
    x, y = train_x.detach().cpu().double().numpy(), train_y.cpu().numpy()
    if len(np.unique(y)) < 2:
        raise ValueError("the converged probe needs at least 2 classes in its training labels")
    xv, yv = val_x.detach().cpu().double().numpy(), val_y.cpu().numpy()
    scaler = StandardScaler().fit(x)
    xs, xvs = scaler.transform(x), scaler.transform(xv)
    best = None
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # recorded as converged=False
        for c in sorted(c_grid):
            model = LogisticRegression(C=c, max_iter=max_iter, tol=tol).fit(xs, y)
            val = float((model.predict(xvs) == yv).mean())
            if best is None or val > best[0]:
                best = (val, c, model)
    val, c, model = best
    iterations = int(np.max(model.n_iter_))
    return ConvergedProbe(
        mean=torch.from_numpy(scaler.mean_.copy()),
        scale=torch.from_numpy(scaler.scale_.copy()),
        coef=torch.from_numpy(np.ascontiguousarray(model.coef_, dtype=np.float64)),
        intercept=torch.from_numpy(np.asarray(model.intercept_, dtype=np.float64).copy()),
        classes=torch.from_numpy(model.classes_.astype(np.int64)),
        c=float(c),
        val_accuracy=val,
        iterations=iterations,
        converged=iterations < max_iter,
    )


def effective_rank(features: torch.Tensor) -> float:
    """exp(entropy) of the normalised singular values of the centred (N, W) features (Roy &
    Vetterli, EUSIPCO 2007): W for isotropic features, 1 for features on one line; the collapse
    diagnostic of a representation."""
    x = features.detach().cpu().double()
    s = torch.linalg.svdvals(x - x.mean(0))
    if s.sum() == 0:
        return 0.0
    p = s / s.sum()
    p = p[p > 0]
    return float(torch.exp(-(p * p.log()).sum()))
