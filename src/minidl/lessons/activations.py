"""Activation functions, each followed by its derivative, written with plain tensor ops.

Every ``f`` maps a tensor elementwise and ``f_grad(x)`` returns df/dx at each x, derived by hand
(the tests check each one against autograd). The forwards avoid ``torch.relu``, ``torch.sigmoid``
and ``torch.nn.functional``: writing them is the lesson. They stay finite for any finite input:
``exp`` only ever sees arguments <= 0 where it could overflow, so ``sigmoid(1000)`` is exactly 1
and ``softplus(-1000)`` exactly 0, with no inf or NaN in the forward or the backward pass.

Derivatives at a kink (x = 0 for relu, leaky_relu) take the value autograd gives: the slope on
the left.

>>> x = torch.tensor([-1000.0, 1000.0])
>>> sigmoid(x), softplus(x)
(tensor([0., 1.]), tensor([   0., 1000.]))
"""
import math
from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import Tensor

from minidl.errors import ConfigError


def _neg_abs(x: Tensor) -> Tensor:
    """Return -|x|, the argument exp can take without overflowing, with slope -1 at x = 0.

    torch.abs has slope 0 at 0, which would make autograd report sigmoid'(0) = 0.
    """
    return torch.where(x >= 0, -x, x)


def relu(x: Tensor) -> Tensor:
    """Return max(x, 0) elementwise.

    Not ``torch.where(x > 0, x, 0)``: on a CPU that comparison and select cost several times more
    than clamp, sign and a product (``python benchmarks/bench_profile.py`` measures both). Where autograd records the
    graph, clamp is multiplied by the 0/1 mask relu_grad(x), held constant (detached), so that
    autograd's slope at exactly 0 is 0, as nn.ReLU's is (clamp alone has slope 1 there).

    >>> relu(torch.tensor([-2.0, 0.0, 3.0]))
    tensor([0., 0., 3.])
    """
    if not x.requires_grad:  # no graph to record (manual backprop, evaluation): clamp says it all
        return x.clamp(min=0)
    return x.clamp(min=0) * relu_grad(x.detach())  # autograd: (x >= 0) * relu_grad(x), 0 at x = 0


def relu_grad(x: Tensor) -> Tensor:
    """Return relu'(x): 1 where x > 0, else 0 (sign gives 1, 0 or -1; the clamp turns -1 into 0)."""
    return torch.sign(x).clamp_(min=0)


def sigmoid(x: Tensor) -> Tensor:
    """Return 1 / (1 + exp(-x)) elementwise, exactly 0 or 1 far out instead of overflowing.

    >>> sigmoid(torch.tensor([-1000.0, 0.0, 1000.0]))
    tensor([0.0000, 0.5000, 1.0000])
    """
    e = torch.exp(_neg_abs(x))  # exp(-|x|) in (0, 1]: never overflows
    # x >= 0: 1 / (1 + exp(-x)); x < 0: the same value written as exp(x) / (1 + exp(x))
    return torch.where(x >= 0, 1 / (1 + e), e / (1 + e))


def sigmoid_grad(x: Tensor) -> Tensor:
    """Return sigmoid'(x) = sigmoid(x) (1 - sigmoid(x)), at most 1/4 (at x = 0)."""
    s = sigmoid(x)
    return s * (1 - s)


def tanh(x: Tensor) -> Tensor:
    """Return (1 - exp(-2x)) / (1 + exp(-2x)) elementwise, exactly +-1 far out.

    >>> tanh(torch.tensor([-1000.0, 0.0, 1000.0]))
    tensor([-1.,  0.,  1.])
    """
    z = 2 * _neg_abs(x)  # tanh is odd, so work on |x|: exp(-2|x|) is in (0, 1]
    t = -torch.expm1(z) / (1 + torch.exp(z))  # tanh(|x|); expm1 keeps the digits of tiny x
    return torch.where(x >= 0, t, -t)


def tanh_grad(x: Tensor) -> Tensor:
    """Return tanh'(x) = 1 - tanh(x)^2."""
    return 1 - tanh(x) ** 2


def leaky_relu(x: Tensor, slope: float = 0.01) -> Tensor:
    """Return x where x > 0, else slope * x (torch.nn.LeakyReLU's default slope 0.01).

    >>> leaky_relu(torch.tensor([-100.0, 2.0]))
    tensor([-1.,  2.])
    """
    return torch.where(x > 0, x, slope * x)


def leaky_relu_grad(x: Tensor, slope: float = 0.01) -> Tensor:
    """Return leaky_relu'(x): 1 where x > 0, else slope."""
    return torch.full_like(x, slope).masked_fill_(x > 0, 1.0)  # in x's dtype: no float32 rounding of slope


def elu(x: Tensor) -> Tensor:
    """Return x where x > 0, else exp(x) - 1 (ELU with alpha = 1).

    >>> elu(torch.tensor([-1000.0, 0.0, 2.0]))
    tensor([-1.,  0.,  2.])
    """
    # clamp: exp of a large positive x would be inf in the branch where() discards, and
    # inf * 0 in its backward pass is NaN
    return torch.where(x > 0, x, torch.expm1(x.clamp(max=0)))


def elu_grad(x: Tensor) -> Tensor:
    """Return elu'(x): 1 where x > 0, else exp(x)."""
    return torch.where(x > 0, 1.0, torch.exp(x.clamp(max=0))).to(x.dtype)


_SQRT_HALF = math.sqrt(0.5)


def gelu(x: Tensor) -> Tensor:
    """Return x * Phi(x), Phi the standard normal CDF (the exact GELU, as torch.nn.GELU()).

    >>> gelu(torch.tensor([-1000.0, 0.0, 1.0]))
    tensor([-0.0000, 0.0000, 0.8413])
    """
    # Phi(x) = erfc(-x / sqrt 2) / 2: the same as (1 + erf(x / sqrt 2)) / 2, without its
    # cancellation to 0 for x below about -6
    return x * 0.5 * torch.erfc(-x * _SQRT_HALF)


def gelu_grad(x: Tensor) -> Tensor:
    """Return gelu'(x) = Phi(x) + x * phi(x), phi the standard normal density."""
    phi = torch.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)  # exp of a value <= 0: no overflow
    return 0.5 * torch.erfc(-x * _SQRT_HALF) + x * phi


def silu(x: Tensor) -> Tensor:
    """Return x * sigmoid(x) (SiLU, also called swish).

    >>> silu(torch.tensor([-1000.0, 1000.0]))
    tensor([  -0., 1000.])
    """
    return x * sigmoid(x)


def silu_grad(x: Tensor) -> Tensor:
    """Return silu'(x) = sigmoid(x) (1 + x (1 - sigmoid(x)))."""
    s = sigmoid(x)
    return s * (1 + x * (1 - s))


def softplus(x: Tensor) -> Tensor:
    """Return log(1 + exp(x)), a smooth relu: x + log(1 + exp(-x)) for large x, never inf.

    >>> softplus(torch.tensor([-1000.0, 1000.0]))
    tensor([   0., 1000.])
    """
    # log(1 + e^x) = max(x, 0) + log(1 + e^-|x|): the exp sees only -|x|
    return x.clamp(min=0) + torch.log1p(torch.exp(_neg_abs(x)))


def softplus_grad(x: Tensor) -> Tensor:
    """Return softplus'(x) = sigmoid(x)."""
    return sigmoid(x)


class Activation(NamedTuple):
    """An activation by name: its function and its derivative (both tensor -> tensor)."""

    name: str
    fn: Callable[[Tensor], Tensor]
    grad: Callable[[Tensor], Tensor]


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("relu", relu, relu_grad),
        Activation("sigmoid", sigmoid, sigmoid_grad),
        Activation("tanh", tanh, tanh_grad),
        Activation("leaky_relu", leaky_relu, leaky_relu_grad),
        Activation("elu", elu, elu_grad),
        Activation("gelu", gelu, gelu_grad),
        Activation("silu", silu, silu_grad),
        Activation("softplus", softplus, softplus_grad),
    )
}
from minidl.lessons.choices import ACTIVATION_ALIASES as ALIASES  # noqa: E402  (each activation listed once)


def get_activation(name: str) -> Activation:
    """Return the activation called ``name`` (or one of its ALIASES).

    >>> get_activation("swish").name
    'silu'
    >>> get_activation("step")
    Traceback (most recent call last):
    ...
    minidl.errors.ConfigError: unknown activation 'step'; choose one of relu, sigmoid, tanh, leaky_relu, elu, gelu, silu (or swish), softplus
    """
    activation = ACTIVATIONS.get(ALIASES.get(name, name))
    if activation is None:
        aliases = {v: k for k, v in ALIASES.items()}
        choices = ", ".join(n + (f" (or {aliases[n]})" if n in aliases else "") for n in ACTIVATIONS)
        raise ConfigError(f"unknown activation {name!r}; choose one of {choices}")
    return activation
