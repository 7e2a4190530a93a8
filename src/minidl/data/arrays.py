"""In-memory data for ``fit(config, data=...)``: tensors or NumPy arrays, checked once, typed for training.

``data`` is ``(X, y)`` or ``(X_train, y_train, X_test, y_test)``. X holds one example per row
(any per-example shape: (n, d) features or (n, 28, 28) images); uint8 X stays uint8 (the Loader
scales pixels to [0, 1]), any other number becomes float32. For an MLP, integer y means class labels
0..C-1 (a classifier), float y a real-valued target (a regressor); softmax always classifies, the
linear regressions always regress. Nothing is standardised: that is the caller's choice.

>>> import numpy as np
>>> a = check_arrays((np.zeros((4, 3)), np.array([0, 2, 1, 0])), "mlp")
>>> a.classifies, a.num_inputs, a.num_outputs, a.class_names, a.X.dtype
(True, 3, 3, ('0', '1', '2'), torch.float32)
>>> check_arrays((np.zeros((4, 3)), np.zeros(5)), "mlp")
Traceback (most recent call last):
...
minidl.errors.DatasetError: X_train has 4 examples but y_train has 5 targets; give one target per example
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from minidl.errors import DatasetError

NAMES = ("X_train", "y_train", "X_test", "y_test")


@dataclass(frozen=True)
class Arrays:
    """Checked arrays: X float32 (or uint8 images), y int64 (n,) labels or float32 (n, 1) targets."""

    X: torch.Tensor
    y: torch.Tensor
    X_test: torch.Tensor | None
    y_test: torch.Tensor | None
    classifies: bool
    num_inputs: int  # values per example: 784 for (n, 28, 28) images
    num_outputs: int  # classes, or 1 for a regressor
    class_names: tuple[str, ...] = ()

    def describe(self) -> str:
        """Return e.g. ``arrays: 600 train / 200 test examples of 784 values, 10 classes``."""
        test = f" / {len(self.X_test)} test" if self.X_test is not None else " (no test set)"
        task = f"{self.num_outputs} classes" if self.classifies else "a real-valued target"
        return f"arrays: {len(self.X)} train{test} examples of {self.num_inputs} values, {task}"


def check_arrays(data, kind: str, class_names=None) -> Arrays:
    """Return ``data`` checked and typed for a ``kind`` model, else raise a one-line DatasetError."""
    if not isinstance(data, (tuple, list)) or len(data) not in (2, 4):
        raise DatasetError("data= takes (X, y) or (X_train, y_train, X_test, y_test) as tensors or "
                           f"NumPy arrays, got {type(data).__name__}"
                           + (f" of {len(data)}" if isinstance(data, (tuple, list)) else ""))
    X, y, X_test, y_test = (None if a is None else as_tensor(a, name) for name, a in zip(NAMES, (*data, None, None)))
    _check_pair(X, y, "X_train", "y_train", kind)
    if X_test is not None:
        _check_pair(X_test, y_test, "X_test", "y_test", kind)
        if X_test.shape[1:] != X.shape[1:]:
            raise DatasetError(f"X_test has examples of shape {tuple(X_test.shape[1:])} but X_train of "
                               f"{tuple(X.shape[1:])}; both need the same features")
    classifies = kind == "softmax" or (kind == "mlp" and not _is_real(y))  # the others only regress
    targets = [t for t in (y, y_test) if t is not None]
    if classifies:
        targets, num_outputs, names = _labels(targets, kind, class_names)
    else:
        if class_names is not None:
            raise DatasetError("class_names name classes, but y holds real-valued targets; leave them out "
                               "(or give y integer class labels)")
        targets, num_outputs, names = [_values(t) for t in targets], 1, ()
    return Arrays(_features(X), targets[0], None if X_test is None else _features(X_test),
                  targets[1] if len(targets) > 1 else None, classifies,
                  math.prod(X.shape[1:]), num_outputs, names)


def as_tensor(a, name: str = "X") -> torch.Tensor:
    """Return the array ``a`` (named ``name`` in errors) as a tensor, without a copy where possible.

    A DatasetError for anything but numbers (strings, objects).
    """
    if isinstance(a, torch.Tensor):
        return a.detach()
    array = np.asarray(a)
    if array.dtype.kind not in "biuf":
        raise DatasetError(f"{name} holds {array.dtype} values; give numbers (a numeric tensor or NumPy array)")
    if not array.flags.writeable:  # a read-only array (a memmap): torch wants memory it may write
        array = array.copy()
    return torch.from_numpy(np.ascontiguousarray(array))


def _is_real(t: torch.Tensor) -> bool:
    return t.is_floating_point() or t.is_complex()


def _check_pair(X, y, x_name: str, y_name: str, kind: str) -> None:
    if X is None or y is None:
        raise DatasetError(f"{y_name if X is not None else x_name} is missing: give both {x_name} and {y_name}")
    if X.is_complex() or y.is_complex():
        raise DatasetError(f"{x_name if X.is_complex() else y_name} holds complex numbers; give real ones")
    if X.ndim < 2 or len(X) == 0:
        raise DatasetError(f"{x_name} has shape {tuple(X.shape)}; it needs one row per example, like (n, features)")
    if kind not in ("softmax", "mlp") and X.ndim != 2:
        raise DatasetError(f"{x_name} has shape {tuple(X.shape)}; {kind} takes (n, features)")
    if y.ndim not in (1, 2) or (y.ndim == 2 and y.shape[1] != 1):
        raise DatasetError(f"{y_name} has shape {tuple(y.shape)}; it needs one target per example, (n,) or (n, 1)")
    if len(X) != len(y):
        raise DatasetError(f"{x_name} has {len(X)} examples but {y_name} has {len(y)} targets; "
                           "give one target per example")
    for name, t in ((x_name, X), (y_name, y)):
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise DatasetError(f"{name} holds NaN or infinite values; remove or fill them in first")


def _features(X: torch.Tensor) -> torch.Tensor:
    """Return X as float32, or as it is when uint8 (pixels, which the Loader scales to [0, 1])."""
    return X if X.dtype in (torch.uint8, torch.float32) else X.to(torch.float32)


def _values(y: torch.Tensor) -> torch.Tensor:
    return y.reshape(-1, 1).to(torch.float32)  # (n, 1), as the models' (n, 1) predictions


def _labels(targets, kind: str, class_names) -> tuple[list[torch.Tensor], int, tuple[str, ...]]:
    """Return the labels as int64 (n,), the number of classes and their names."""
    if any(_is_real(t) for t in targets):
        raise DatasetError(f"{kind} classifies: y must hold integer class labels 0..C-1, not "
                           f"{targets[0].dtype}; for a real-valued target train linreg or mlp")
    labels = [t.reshape(-1).to(torch.int64) for t in targets]
    low, high = min(int(t.min()) for t in labels), max(int(t.max()) for t in labels)
    if low < 0:
        raise DatasetError(f"y holds the label {low}; class labels are 0..C-1 (encode them first)")
    if class_names is None:
        return labels, high + 1, tuple(str(i) for i in range(high + 1))
    names = tuple(str(name) for name in class_names)
    if high >= len(names):
        raise DatasetError(f"y holds the label {high} but class_names names {len(names)} classes (0..{len(names) - 1})")
    return labels, len(names), names
