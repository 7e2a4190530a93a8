"""Test-time augmentation by horizontal flip (``--tta-flip``): score each image and its mirror image.

Clothes are mostly left-right symmetric, so a test image mirrored is another view of the same
garment. The model scores both views and the two log-probabilities are averaged: the class both
views agree on wins. Only evaluation changes (validation and test): training never sees the flag,
so it costs nothing in training time and one more forward pass per evaluated batch.

>>> import torch
>>> from minidl.training.models import build_model
>>> model = build_model("softmax", "manual", num_inputs=4, num_outputs=2)
>>> scorer = FlipAveraged(model)
>>> X = torch.rand(3, 2, 2)
>>> torch.allclose(scorer(X), scorer(mirrored(X)))  # an image and its mirror score the same
True
"""
from __future__ import annotations

import torch
from torch import Tensor

from minidl.errors import ConfigError


def mirrored(X: Tensor) -> Tensor:
    """Return the images of ``X`` (B, side, side) or (B, C, side, side) flipped left to right."""
    if X.ndim not in (3, 4) or X.shape[-1] != X.shape[-2]:
        raise ConfigError(f"--tta-flip mirrors square images, but the examples have shape {tuple(X.shape[1:])}; "
                          "leave out --tta-flip")
    return X.flip(-1)  # the last axis runs left to right across each row of pixels


class FlipAveraged:
    """Return the mean of a model's log-probabilities over an image and its mirror image, (B, C).

    It stands in for the model wherever evaluation calls it: ``eval()``, ``train()`` and
    ``training`` reach the model itself, so its mode is the model's.
    """

    def __init__(self, model):
        self.model = model

    def __call__(self, X: Tensor) -> Tensor:
        views = (self.model(X), self.model(mirrored(X)))  # (B, C) logits of each view
        return (torch.log_softmax(views[0], dim=1) + torch.log_softmax(views[1], dim=1)) / 2

    @property
    def training(self) -> bool:
        return self.model.training

    def eval(self):
        self.model.eval()
        return self

    def train(self, mode: bool = True):
        self.model.train(mode)
        return self


def scorer_for(model, tta_flip: bool):
    """Return what evaluation calls for ``model``'s outputs: the model, or ``FlipAveraged(model)``."""
    return FlipAveraged(model) if tta_flip else model
