"""Model selection over a run's epochs: which split chooses the best epoch, and when to stop early.

The best epoch is chosen on the validation set where the run has one (``--val-fraction``), else on
the test set (the lessons' habit, which the model-selection lesson warns about: the test set then
stops being a fair estimate), else on the training set. Classifiers are judged by accuracy, the
regressors by loss. An epoch is a new best only when it beats the best so far by more than
``min_delta`` (ties keep the earlier epoch), and early stopping stops once ``patience`` epochs in a
row brought no new best. Everything here is a function of the metrics rows, so a resumed run
finds the same best epoch and the same patience count as a straight one.

>>> rows = [{"epoch": e, "val_loss": 1 / e, "val_acc": acc} for e, acc in enumerate([0.5, 0.7, 0.7, 0.65], 1)]
>>> best_row(rows)["epoch"], epochs_since_best(rows), stops_early(rows, patience=2)
(2, 2, True)
"""
from __future__ import annotations


def chosen_by(row: dict) -> str:
    """Return the split whose figures choose the best epoch: ``val``, ``test`` or ``train``."""
    return next(split for split in ("val", "test", "train") if f"{split}_loss" in row)


def selection_key(row: dict) -> tuple[str, int]:
    """Return (column, sign): e.g. ("val_acc", 1) for a classifier, ("test_loss", -1) for a regressor."""
    split = chosen_by(row)
    return (f"{split}_acc", 1) if f"{split}_acc" in row else (f"{split}_loss", -1)


def best_row(rows: list[dict], min_delta: float = 0.0) -> dict:
    """Return the best epoch's row: the first to beat every earlier best by more than ``min_delta``."""
    key, sign = selection_key(rows[-1])
    best = rows[0]
    for row in rows[1:]:
        if sign * (row[key] - best[key]) > min_delta:
            best = row
    return best


def epochs_since_best(rows: list[dict], min_delta: float = 0.0) -> int:
    """Return how many epochs have passed since the best one (0: the last epoch is the best)."""
    return rows[-1]["epoch"] - best_row(rows, min_delta)["epoch"] if rows else 0


def stops_early(rows: list[dict], patience: int | None, min_delta: float = 0.0) -> bool:
    """Return True once ``patience`` epochs in a row brought no new best (never with patience None)."""
    return patience is not None and bool(rows) and epochs_since_best(rows, min_delta) >= patience
