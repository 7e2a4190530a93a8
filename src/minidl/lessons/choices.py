"""The lessons' own choices, named without importing torch: the twins, the inits, the activations.

The configuration and the command line offer these names (``minidl --help`` needs no torch); the
twins implement them (``contracts.init_params``, ``activations.ACTIVATIONS``).
"""
from __future__ import annotations

IMPLS = ("scratch", "concise", "manual")  # autograd on plain tensors, torch.nn, gradients by hand
INITS = ("normal", "xavier", "kaiming", "standard_normal")
ACTIVATIONS = ("relu", "sigmoid", "tanh", "leaky_relu", "elu", "gelu", "silu", "softplus")
ACTIVATION_ALIASES = {"swish": "silu"}  # other names people use; each activation is listed once
