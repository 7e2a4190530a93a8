"""Evaluating a model: per-example mean loss and accuracy, its outputs, the confusion matrix."""
from __future__ import annotations

import torch

from minidl.data.loader import Loader


@torch.no_grad()
def evaluate(model, loader: Loader, loss_fn, classifies: bool = True) -> Totals:
    """Return the Totals of one pass over ``loader`` in eval mode (the mode is restored afterwards).

    ``evaluate(...).means(None)`` gives ``{"loss": ..., "acc": ...}``, averaged per example.

    For a classifier they keep the outputs and targets too: ``Totals.outputs()``, in loader order.
    """
    was_training = getattr(model, "training", False)
    model.eval()
    totals = Totals(classifies, keep_outputs=classifies)  # outputs: for the confusion matrix
    for X, y in loader:
        y_hat = model(X)
        totals.add(loss_fn(y_hat, y).detach(), y_hat, y)
    model.train(was_training)
    return totals


def confusion_matrix(y_true: torch.Tensor, y_pred: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Return the (num_classes, num_classes) int64 counts: rows are true labels, columns predictions.

    >>> confusion_matrix(torch.tensor([0, 0, 1]), torch.tensor([0, 1, 1]), 2)
    tensor([[1, 1],
            [0, 1]])
    """
    flat = y_true.long() * num_classes + y_pred.long()
    return torch.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def per_class_accuracy(confusion: torch.Tensor) -> list[float | None]:
    """Return each class's accuracy from a (true, predicted) confusion matrix; None for a class with no rows.

    >>> per_class_accuracy(torch.tensor([[3, 1, 0], [0, 2, 0], [0, 0, 0]]))   # no test row of the third class
    [0.75, 1.0, None]
    """
    totals = confusion.sum(dim=1)
    accuracy = (confusion.diagonal() / totals.clamp(min=1)).tolist()
    return [acc if n else None for acc, n in zip(accuracy, totals.tolist())]


class Totals:
    """Per-example means over an epoch, added up once at the end, so a batch never waits on ``.item()``.

    A batch costs three small tensor operations (its correct count); ``means()`` adds the batch
    losses in float64, in batch order. With ``keep_outputs`` the outputs and targets are kept too,
    for a confusion matrix; the training loop leaves that off (holding a few KB per batch across
    an epoch fragments the heap, which costs more than the argmax it saves).
    """

    def __init__(self, classifies: bool, keep_outputs: bool = False):
        self.classifies, self.keep_outputs = classifies, keep_outputs
        self.losses, self.correct, self.sizes = [], [], []  # 0-dim tensors, 0-dim tensors, ints
        self.batch_outputs, self.batch_targets = [], []

    def add(self, mean_loss, y_hat, y):
        """Record one batch: its mean loss, its outputs (B, C) and its targets (B,)."""
        self.losses.append(mean_loss)
        self.sizes.append(len(y))
        if self.classifies:
            self.correct.append((y_hat.argmax(dim=1) == y).sum())
        if self.keep_outputs:
            self.batch_outputs.append(y_hat)
            self.batch_targets.append(y)

    def outputs(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(outputs, targets)`` of every batch, concatenated, on the CPU (needs keep_outputs)."""
        return torch.cat(self.batch_outputs).cpu(), torch.cat(self.batch_targets).cpu()

    def means(self, prefix: str | None, total=None) -> dict:
        """Return the per-example mean loss (and accuracy), keys prefixed ``prefix_``.

        ``total``: where the batches were one rank's shard, the function that sums a tensor over
        the ranks (minidl.distributed.world's ``World.sum``): the means are then the whole data set's.
        """
        sizes = torch.tensor(self.sizes, dtype=torch.float64, device=self.losses[0].device)
        # each loss is its batch's mean: weigh it by the batch size, so a short last batch counts right
        sums = torch.stack([(torch.stack(self.losses).double() * sizes).sum(), sizes.sum(),
                            torch.stack(self.correct).sum().double() if self.classifies else sizes.new_zeros(())])
        loss, n, correct = (total(sums) if total else sums).tolist()  # one transfer for the whole epoch
        out = {"loss": loss / n}
        if self.classifies:
            out["acc"] = correct / n
        return prefixed(prefix, out)


def prefixed(prefix, d):
    return {f"{prefix}_{k}" if prefix else k: v for k, v in d.items()}


def class_report(totals: Totals, class_names) -> tuple[dict, torch.Tensor]:
    """Return ``({"per_class_acc": {name: acc}, "confusion": [[...]]}, predictions)`` of a classifier's Totals."""
    outputs, targets = totals.outputs()
    predictions = outputs.argmax(dim=1)
    confusion = confusion_matrix(targets, predictions, len(class_names))
    report = {"per_class_acc": dict(zip(class_names, per_class_accuracy(confusion))), "confusion": confusion.tolist()}
    return report, predictions
