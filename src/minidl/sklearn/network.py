"""The network behind every estimator: minidl's concise twin's container, in scikit-learn's terms.

``LinearRegression`` and ``SoftmaxRegression`` are networks with no hidden layer, the MLPs have
``hidden_layer_sizes``; all are :class:`minidl.lessons.contracts.Sequential` (nn.Sequential reading and
writing canonical weights), drawn by :func:`minidl.lessons.contracts.init_params` from one seed, so the same
``random_state`` gives ``minidl train`` and the estimator the same initial weights. Canonical form
is scikit-learn's: ``coefs_[i]`` is (fan_in, fan_out), ``intercepts_[i]`` (fan_out,).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from minidl.lessons.concise import nonlinearity
from minidl.lessons.contracts import Sequential, init_params, mlp_shapes

HIDDEN = {"logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}  # scikit-learn's name -> minidl's


def hidden_activation(name: str) -> nn.Module:
    """Return a new module for a hidden layer's activation by scikit-learn's name (``identity``: none)."""
    return nn.Identity() if name == "identity" else nonlinearity(HIDDEN[name])


def build(widths: tuple[int, ...], activation: str, init: str, seed: int) -> Sequential:
    """Return a float32 network (widths[0] inputs -> ... -> widths[-1] outputs) drawn from ``seed``."""
    params = init_params(mlp_shapes(widths[0], widths[1:-1], widths[-1]), init, seed)  # W1 (d, h1), b1, ...
    layers = [nn.Linear(fan_in, fan_out) for fan_in, fan_out in zip(widths, widths[1:])]
    stack = [layers[0]]
    for layer in layers[1:]:
        stack += [hidden_activation(activation), layer]
    return Sequential(params, *stack)  # raw outputs: the loss applies the output activation


def from_coefs(coefs, intercepts, activation: str, dtype: torch.dtype, device) -> Sequential:
    """Return the network holding ``coefs_`` and ``intercepts_`` (NumPy, canonical form) in ``dtype``."""
    widths = (np.shape(coefs[0])[0], *(np.shape(c)[1] for c in coefs))
    model = build(widths, activation, "normal", 0).to(dtype=dtype, device=device)
    load_coefs(model, coefs, intercepts)
    return model


def load_coefs(model: Sequential, coefs, intercepts) -> None:
    """Copy ``coefs_`` and ``intercepts_`` (NumPy, canonical form) into ``model``'s layers."""
    state = {}
    for (name, view), value in zip(model.canonical_state().items(), [a for pair in zip(coefs, intercepts) for a in pair]):
        state[name] = torch.as_tensor(np.asarray(value), dtype=view.dtype).reshape(view.shape)
    model.load_canonical_state(state)


def to_coefs(model: Sequential, dtype: np.dtype) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Return (coefs_, intercepts_): each layer's (fan_in, fan_out) weights and (fan_out,) biases, copied."""
    state = model.canonical_state()
    arrays = [state[name].cpu().numpy().astype(dtype, copy=True) for name in model.names]
    return arrays[0::2], arrays[1::2]


def weights(model: Sequential) -> list[torch.Tensor]:
    """Return the weight matrices (the L2 penalty's), never the biases."""
    return [p for p in model.parameters() if p.dim() > 1]
