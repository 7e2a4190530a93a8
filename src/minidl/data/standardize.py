"""Per-pixel standardisation of a run's inputs (``--standardize``): (x - mean) / (std + eps), pixel by pixel.

Each input (a pixel, or an array's column) gets the mean and spread it has over the *training*
examples, so that every first-layer weight sees inputs of one scale: a gradient step then moves
them all alike, and a larger learning rate trains without the bright pixels' weights running
away. The validation and test sets, and later predictions, get the training set's statistics,
never their own. ``eps`` (in [0, 1] pixel units) keeps the border pixels, nearly always black,
from being blown up by a spread near zero.

The statistics ride along in the run's data facts (``pixels``), as a CSV run's standardizer
does, so ``minidl.app.inference.predict`` gives new images the same transform.

>>> import torch
>>> X = torch.tensor([[0.0, 1.0], [1.0, 1.0]])
>>> s = fit_pixels(X, eps=0.5)
>>> s.mean, s.std
((0.5, 1.0), (1.0, 0.5))
>>> standardized(X, s).tolist()
[[-0.5, 0.0], [0.5, 0.0]]
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

    from minidl.data.loader import Loader
    from minidl.data.standardizer import Standardizer

# torch is imported inside the functions: the config quotes EPS without it
EPS = 0.1  # --standardize: added to each pixel's std, in pixels scaled to [0, 1]


def fit_pixels(X: torch.Tensor, eps: float = EPS) -> Standardizer:
    """Return each input's training mean and std + ``eps`` over the examples of X (n, ...)."""
    import torch

    from minidl.data.standardizer import Standardizer

    std, mean = torch.std_mean(X.reshape(len(X), -1).to(torch.float32), dim=0, correction=0)  # (d,) each
    return Standardizer(tuple(mean.tolist()), tuple((std + eps).tolist()))


def standardized(X: torch.Tensor, standardizer: Standardizer) -> torch.Tensor:
    """Return (X - mean) / std for X (n, ...) in float32, shaped as X (images stay images)."""
    import torch

    mean, std = (torch.tensor(v, dtype=torch.float32, device=X.device) for v in (standardizer.mean, standardizer.std))
    return (X.reshape(len(X), -1).to(torch.float32) - mean).div_(std).reshape(X.shape)


def as_trained(X: torch.Tensor, pixels: dict | None) -> torch.Tensor:
    """Return X standardised by a run's recorded ``pixels`` facts, or X itself for a run without them."""
    from minidl.data.standardizer import Standardizer

    return standardized(X, Standardizer.from_dict(pixels)) if pixels else X


def _standardized_loader(loader: Loader | None, standardizer: Standardizer) -> Loader | None:
    """Return ``loader`` holding its examples standardised (a new tensor: given arrays stay as they were)."""
    if loader is not None:
        loader.X = standardized(loader.X, standardizer).to(loader.X.device)
    return loader


def standardize_splits(data) -> None:
    """Scale a RunData's training, validation and test examples by the training examples' statistics,
    recorded in its facts (``pixels``) for predictions; the validation share never enters them."""
    standardizer = fit_pixels(data.train.X)
    for split in (data.train, data.val, data.test):
        _standardized_loader(split, standardizer)
    data.recorded["pixels"] = standardizer.to_dict()
