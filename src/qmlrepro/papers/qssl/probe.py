"""Linear evaluation of a frozen encoder: a Linear(W, classes) head on the representation output,
scored on the test split after every epoch (the paper reports the best epoch; we also keep the
final one, which does not peek at the test set)."""

from collections.abc import Callable
from dataclasses import dataclass

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
