"""Output activations and their losses, per example, and the weighted objective every solver minimises.

The objective of a batch is scikit-learn's: the sample-weighted mean loss plus ``alpha`` / 2 times
the squared norm of the weights (never the biases) over the batch's total weight, so a whole-number
weight k counts a row exactly as k copies of it would.
"""
from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F

from minidl.sklearn.network import weights


def squared(Z: Tensor, Y: Tensor) -> Tensor:
    """Return each row's half squared error, averaged over the outputs: (B, k) -> (B,)."""
    return 0.5 * ((Z - Y) ** 2).mean(dim=1)


def softmax_cross_entropy(Z: Tensor, Y: Tensor) -> Tensor:
    """Return each row's cross-entropy of softmax(Z) against one-hot Y, from log_softmax (finite)."""
    return -(Y * torch.log_softmax(Z, dim=1)).sum(dim=1)


def logistic_cross_entropy(Z: Tensor, Y: Tensor) -> Tensor:
    """Return each row's binary cross-entropy of sigmoid(Z) against 0/1 Y, summed over the labels."""
    return F.binary_cross_entropy_with_logits(Z, Y, reduction="none").sum(dim=1)


def poisson(Z: Tensor, Y: Tensor) -> Tensor:
    """Return each row's half Poisson deviance (up to terms in Y alone) of exp(Z) against counts Y."""
    return (torch.exp(Z) - Y * Z).mean(dim=1)


# output activation (scikit-learn's out_activation_) -> (loss per row, raw outputs -> predictions)
OUTPUTS = {
    "identity": (squared, lambda Z: Z),
    "softmax": (softmax_cross_entropy, lambda Z: torch.softmax(Z, dim=1)),
    "logistic": (logistic_cross_entropy, torch.sigmoid),
    "exp": (poisson, torch.exp),
}


def weighted_loss(model, X: Tensor, Y: Tensor, w: Tensor, out: str) -> Tensor:
    """Return sum(w * loss per row) over a batch: (B, d) inputs, (B, k) targets, (B,) weights."""
    return (w * OUTPUTS[out][0](model(X), Y)).sum()


def penalty(model, alpha: float) -> Tensor:
    """Return alpha / 2 times the summed squares of the weights (the biases go free)."""
    return 0.5 * alpha * sum((W ** 2).sum() for W in weights(model))


def objective(model, X: Tensor, Y: Tensor, w: Tensor, out: str, alpha: float) -> Tensor:
    """Return (sum(w * loss) + alpha / 2 ||W||^2) / sum(w): one minibatch's objective."""
    return (weighted_loss(model, X, Y, w, out) + penalty(model, alpha)) / w.sum()


def predictions(Z: Tensor, out: str) -> Tensor:
    """Return the output activation applied to raw outputs Z."""
    return OUTPUTS[out][1](Z)
