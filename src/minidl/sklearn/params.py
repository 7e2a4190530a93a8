"""The estimators' parameters checked where fit starts: one line naming the parameter and its value.

Python users set parameters (``learning_rate_init``), not flags, so every message speaks of them.
scikit-learn's meanings: ``batch_size="auto"`` is min(200, n_samples); ``tol=None`` (the linear
models' default) never stops early and never warns; ``n_iter_no_change`` may be ``np.inf``.
"""
from __future__ import annotations

import math
import numbers

import numpy as np
import torch

from minidl.errors import ConfigError, check_choice, check_fraction, check_nonnegative, check_positive, check_whole
from minidl.lessons.choices import INITS
from minidl.config.run import MAX_SEED

ACTIVATIONS = ("identity", "logistic", "tanh", "relu")  # scikit-learn's names
SOLVERS = ("sgd", "adam", "lbfgs")
LEARNING_RATES = ("constant", "invscaling", "adaptive")


def hidden_sizes(sizes) -> tuple[int, ...]:
    """Return ``hidden_layer_sizes`` as a tuple of widths (100 means (100,), () no hidden layer)."""
    sizes = (sizes,) if isinstance(sizes, numbers.Integral) else tuple(sizes)
    for width in sizes:
        check_whole("each of hidden_layer_sizes", width)
    return sizes


def check_activation(name: str) -> str:
    """Return ``name`` if it is one of scikit-learn's activations, else raise ConfigError."""
    return check_choice("activation", name, ACTIVATIONS)


def check_params(est) -> None:
    """Raise ConfigError (a ValueError) naming the first parameter of ``est`` with a value it cannot use."""
    check_choice("solver", est.solver, SOLVERS)
    check_choice("learning_rate", est.learning_rate, LEARNING_RATES)
    check_choice("init", est.init, INITS)
    check_positive("learning_rate_init", est.learning_rate_init)
    check_nonnegative("alpha", est.alpha)
    check_nonnegative("power_t", est.power_t)
    check_whole("max_iter", est.max_iter)
    check_whole("max_fun", est.max_fun)
    if not (isinstance(est.batch_size, str) and est.batch_size == "auto"):
        check_whole("batch_size ('auto' or a whole number)", est.batch_size)
    if est.tol is not None:
        check_nonnegative("tol (or None: no stopping before max_iter)", est.tol)
    check_fraction("momentum", est.momentum, closed=True)
    check_fraction("beta_1", est.beta_1)
    check_fraction("beta_2", est.beta_2)
    check_positive("epsilon", est.epsilon)
    if not 0 < est.validation_fraction < 1:
        raise ConfigError(f"validation_fraction must be a number between 0 and 1, got {est.validation_fraction!r}")
    if est.n_iter_no_change != math.inf:
        check_whole("n_iter_no_change (or np.inf)", est.n_iter_no_change)
    for name in ("shuffle", "nesterovs_momentum", "warm_start", "early_stopping"):
        if not isinstance(getattr(est, name), (bool, np.bool_)):
            raise ConfigError(f"{name} must be True or False, got {getattr(est, name)!r}")


def batch_size(est, n_samples: int) -> int:
    """Return the rows per step: ``"auto"`` min(200, n_samples); a larger number, the whole set."""
    return min(200 if est.batch_size == "auto" else int(est.batch_size), n_samples)


def seed_of(random_state) -> int:
    """Return an int seed: ``random_state`` itself, or one drawn from it (None: from NumPy's global RNG)."""
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        return int(check_whole("random_state", random_state, low=0, high=MAX_SEED))
    if random_state is None:
        return int(np.random.randint(2**31 - 1))
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(2**31 - 1))
    raise ConfigError(f"random_state must be None, a whole number or a numpy RandomState, got {random_state!r}")


def device_of(name: str) -> torch.device:
    """Return the torch device for the ``device`` parameter: ``cpu``, ``cuda``, ``mps`` or ``auto``."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    check_choice("device", name, ("cpu", "cuda", "mps", "auto"))
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device='cuda' was asked for, but torch sees no CUDA GPU here; use device='cpu'")
    if name == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("device='mps' was asked for, but this torch has no MPS backend; use device='cpu'")
    return torch.device(name)
