"""Per-pixel standardisation of a run's inputs (``--standardize``): (x - mean) / (std + eps), pixel by pixel.

Each input (a pixel, or an array's column) gets the mean and spread it has over the *training*
examples, so that every first-layer weight sees inputs of one scale: a gradient step then moves
them all alike, and a larger learning rate trains without the bright pixels' weights running
away. The validation and test sets, and later predictions, get the training set's statistics,
never their own. ``eps`` (in [0, 1] pixel units) keeps the border pixels, nearly always black,
from being blown up by a spread near zero.

The statistics ride along in the run's data facts (``pixels``), as a CSV run's standardizer
does, so ``minidl.inference.predict`` gives new images the same transform.

>>> X = torch.tensor([[0.0, 1.0], [1.0, 1.0]])
>>> s = fit_pixels(X, eps=0.5)
>>> s.mean, s.std
((0.5, 1.0), (1.0, 0.5))
>>> standardized(X, s).tolist()
[[-0.5, 0.0], [0.5, 0.0]]
"""
from __future__ import annotations

import functools

import torch

from minidl.config import STANDARDIZE_EPS as EPS  # added to each pixel's std, in pixels scaled to [0, 1]
from minidl.data.loader import Loader
from minidl.data.tables import Standardizer


def fit_pixels(X: torch.Tensor, eps: float = EPS) -> Standardizer:
    """Return each input's training mean and std + ``eps`` over the examples of X (n, ...)."""
    std, mean = torch.std_mean(X.reshape(len(X), -1).to(torch.float32), dim=0, correction=0)  # (d,) each
    return Standardizer(tuple(mean.tolist()), tuple((std + eps).tolist()))


def standardized(X: torch.Tensor, standardizer: Standardizer) -> torch.Tensor:
    """Return (X - mean) / std for X (n, ...) in float32, shaped as X (images stay images)."""
    mean, std = (torch.tensor(v, dtype=torch.float32, device=X.device) for v in (standardizer.mean, standardizer.std))
    return (X.reshape(len(X), -1).to(torch.float32) - mean).div_(std).reshape(X.shape)


def as_trained(X: torch.Tensor, pixels: dict | None) -> torch.Tensor:
    """Return X standardised by a run's recorded ``pixels`` facts, or X itself for a run without them."""
    return standardized(X, Standardizer.from_dict(pixels)) if pixels else X


def _standardized_loader(loader: Loader | None, standardizer: Standardizer) -> Loader | None:
    """Return ``loader`` holding its examples standardised (a new tensor: given arrays stay as they were)."""
    if loader is not None:
        loader.X = standardized(loader.X, standardizer).to(loader.X.device)
    return loader


def with_standardized(load):
    """Return ``load`` (load_run_data) followed by ``--standardize``: each split scaled by the training statistics.

    It wraps the validation carving, so the held-out examples never enter the statistics.
    """
    @functools.wraps(load)
    def loaded(config, *args, **kwargs):
        data = load(config, *args, **kwargs)
        if not getattr(config, "standardize", False):
            return data
        standardizer = fit_pixels(data.train.X)
        for split in (data.train, data.val, data.test):
            _standardized_loader(split, standardizer)
        data.pixels = standardizer.to_dict()
        return data

    return loaded
