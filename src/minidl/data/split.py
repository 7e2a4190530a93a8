"""Seeded splits of a data set into two parts: stratified for class labels, plain for targets.

The image folder's held-out test share and every run's validation share (``--val-fraction``) come
from here, so one rule decides both.

>>> import numpy as np
>>> keep, held = stratified_split(np.array([0, 0, 0, 0, 1, 1, 1, 1]), 0.5, seed=0)
>>> len(keep), len(held), sorted(np.array([0, 0, 0, 0, 1, 1, 1, 1])[held].tolist())
(4, 4, [0, 0, 1, 1])
"""
from __future__ import annotations

import numpy as np

TEST_FRACTION = 0.2  # the share held out for testing where the data has no test split of its own


def stratified_split(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Return (kept, held-out) indices, both sorted: round(fraction * n) of each class's n examples held out."""
    labels = np.asarray(labels).reshape(-1)
    rng = np.random.default_rng(seed)
    held = [np.empty(0, dtype=np.int64)]
    for label in range(int(labels.max()) + 1 if len(labels) else 0):
        members = np.flatnonzero(labels == label)
        held.append(rng.permutation(members)[: round(fraction * len(members))])
    held = np.sort(np.concatenate(held))
    return np.setdiff1d(np.arange(len(labels)), held), held


def random_split(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Return (kept, held-out) indices, both sorted: round(fraction * n) of n examples, drawn with ``seed``."""
    held = np.sort(np.random.default_rng(seed).permutation(n)[: round(fraction * n)])
    return np.setdiff1d(np.arange(n), held), held
