"""The lesson's synthetic linear-regression data: y = Xw + b + Gaussian noise."""
import numbers

import torch

from minidl.errors import ConfigError

TRUE_W = (2.0, -3.4)  # the lesson's true weights and bias
TRUE_B = 4.2


def synthetic_data(w, b, n, noise=0.01, seed=0):
    """Return (X, y): X float32 (n, len(w)) ~ N(0, 1), y = X @ w + b + N(0, noise**2), shape (n, 1).

    The draw comes from its own `torch.Generator` seeded with `seed`, so the same arguments give
    the same data whatever the global RNG state.

    >>> X, y = synthetic_data(TRUE_W, TRUE_B, 1000)
    >>> X.shape, y.shape, X.dtype
    (torch.Size([1000, 2]), torch.Size([1000, 1]), torch.float32)
    >>> bool(((y - (X @ torch.tensor(TRUE_W).reshape(2, 1) + TRUE_B)).std() < 0.02))
    True
    """
    w = torch.as_tensor(w, dtype=torch.float32).reshape(-1, 1)  # (d, 1)
    if not isinstance(n, numbers.Integral) or n < 0:
        raise ConfigError(f"n = {n!r}: the number of examples must be a whole number >= 0")
    if noise < 0:
        raise ConfigError(f"noise = {noise}: the noise standard deviation must be >= 0")
    generator = torch.Generator().manual_seed(seed)
    X = torch.randn(n, len(w), generator=generator)  # (n, d)
    y = X @ w + b + noise * torch.randn(n, 1, generator=generator)  # (n, 1)
    return X, y
