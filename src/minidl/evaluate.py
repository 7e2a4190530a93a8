"""Evaluating a model: per-example mean loss and accuracy, predictions, the confusion matrix."""
from __future__ import annotations

import torch

from .data.loader import Loader


@torch.no_grad()
def evaluate(model, loader: Loader, loss_fn, classifies: bool = True) -> dict:
    """Return ``{"loss": ..., "acc": ...}`` averaged per example over ``loader``, in eval mode.

    The model's previous train/eval mode is restored afterwards.
    """
    was_training = getattr(model, "training", False)
    model.eval()
    totals = Totals(loader.device, classifies)
    for X, y in loader:
        y_hat = model(X)
        totals.add(loss_fn(y_hat, y), y_hat, y)
    model.train(was_training)
    return totals.means(None)


@torch.no_grad()
def predict(model, loader: Loader) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``(outputs, targets)`` over the whole loader, on the CPU, in loader order."""
    was_training = getattr(model, "training", False)
    model.eval()
    outs, targets = [], []
    for X, y in loader:
        outs.append(model(X).cpu())
        targets.append(y.cpu())
    model.train(was_training)
    return torch.cat(outs), torch.cat(targets)


def confusion_matrix(y_true: torch.Tensor, y_pred: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Return the (num_classes, num_classes) int64 counts: rows are true labels, columns predictions.

    >>> confusion_matrix(torch.tensor([0, 0, 1]), torch.tensor([0, 1, 1]), 2)
    tensor([[1, 1],
            [0, 1]])
    """
    flat = y_true.long() * num_classes + y_pred.long()
    return torch.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def per_class_accuracy(confusion: torch.Tensor) -> list[float]:
    """Return each class's accuracy from a (true, predicted) confusion matrix.

    >>> per_class_accuracy(torch.tensor([[3, 1], [0, 2]]))
    [0.75, 1.0]
    """
    totals = confusion.sum(dim=1).clamp(min=1)
    return (confusion.diagonal() / totals).tolist()


class Totals:
    """Per-example sums kept as tensors, so the hot loop never waits on ``.item()``."""

    def __init__(self, device, classifies: bool):
        self.classifies = classifies
        self.loss = torch.zeros((), dtype=torch.float64, device=device)
        self.correct = torch.zeros((), dtype=torch.int64, device=device)
        self.n = 0

    def add(self, mean_loss, y_hat, y):
        # losses are batch means: weigh each by its batch size, so a short last batch counts right
        self.loss += mean_loss.double() * len(y)
        if self.classifies:
            self.correct += (y_hat.argmax(dim=1) == y).sum()
        self.n += len(y)

    def means(self, prefix: str | None) -> dict:
        out = {"loss": self.loss.item() / self.n}
        if self.classifies:
            out["acc"] = self.correct.item() / self.n
        return prefixed(prefix, out)


def prefixed(prefix, d):
    return {f"{prefix}_{k}" if prefix else k: v for k, v in d.items()}
