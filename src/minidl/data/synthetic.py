"""The lessons' synthetic data: y = Xw + b + Gaussian noise, and the under/overfitting lesson's cubic."""
import math
import numbers

from minidl.errors import ConfigError

# torch is imported inside the functions that draw data: the config reads TOYS and MAX_DEGREE without it
MAX_DEGREE = 19  # polyreg: the lesson's 20 features x^0/0! ... x^19/19!

TRUE_W = (2.0, -3.4)  # the lesson's true weights and bias
TRUE_B = 4.2
# linreg's toys, name -> (true w, true b, training examples, test examples); None: --examples of each
TOYS = {
    "line": (TRUE_W, TRUE_B, None, None),
    "high-dim": ((0.01,) * 200, 0.05, 20, 100),  # the weight-decay lesson: far more inputs than examples
}
# y = 5 + 1.2 x - 3.4 x^2 / 2! + 5.6 x^3 / 3! + N(0, 0.1^2), x ~ N(0, 1): the under/overfitting lesson
POLY_COEFFICIENTS = (5.0, 1.2, -3.4, 5.6)  # of x^0/0!, x^1/1!, x^2/2!, x^3/3!; 0 from x^4/4! on
POLY_SIZES = (100, 100)  # training and test examples


def synthetic_data(w, b, n, noise=0.01, seed=0):
    """Return (X, y): X float32 (n, len(w)) ~ N(0, 1), y = X @ w + b + N(0, noise**2), shape (n, 1).

    The draw comes from its own `torch.Generator` seeded with `seed`, so the same arguments give
    the same data whatever the global RNG state.

    >>> X, y = synthetic_data(TRUE_W, TRUE_B, 1000)
    >>> X.shape, y.shape, X.dtype
    (torch.Size([1000, 2]), torch.Size([1000, 1]), torch.float32)
    >>> import torch
    >>> bool(((y - (X @ torch.tensor(TRUE_W).reshape(2, 1) + TRUE_B)).std() < 0.02))
    True
    """
    import torch

    w = torch.as_tensor(w, dtype=torch.float32).reshape(-1, 1)  # (d, 1)
    if not isinstance(n, numbers.Integral) or n < 0:
        raise ConfigError(f"n = {n!r}: the number of examples must be a whole number >= 0")
    if noise < 0:
        raise ConfigError(f"noise = {noise}: the noise standard deviation must be >= 0")
    generator = torch.Generator().manual_seed(seed)
    X = torch.randn(n, len(w), generator=generator)  # (n, d)
    y = X @ w + b + noise * torch.randn(n, 1, generator=generator)  # (n, 1)
    return X, y


def polynomial_data(n, degree=MAX_DEGREE, noise=0.1, seed=0):
    """Return (features, y): features float32 (n, degree) x^i / i! for i = 1..degree, y (n, 1) the cubic plus noise.

    x ~ N(0, 1) and the noise come from one generator seeded with ``seed``, drawn the same for every
    degree: degree 1 underfits, 3 is the truth, 19 overfits the same points. The constant x^0/0! = 1
    is left to the model's bias, so the true weights are POLY_COEFFICIENTS[1:] padded with zeros
    and the true bias POLY_COEFFICIENTS[0]. Dividing by i! keeps x^19 from swamping the gradient.

    >>> X, y = polynomial_data(200, degree=3)
    >>> X.shape, y.shape
    (torch.Size([200, 3]), torch.Size([200, 1]))
    >>> import torch
    >>> torch.allclose(X[:, 1], X[:, 0] ** 2 / 2)
    True
    """
    if not isinstance(degree, numbers.Integral) or not 1 <= degree <= MAX_DEGREE:
        raise ConfigError(f"degree = {degree!r}: the polynomial degree must be a whole number from 1 to {MAX_DEGREE}")
    import torch

    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 1, generator=generator, dtype=torch.float64)  # (n, 1)
    noise = noise * torch.randn(n, 1, generator=generator, dtype=torch.float64)
    powers = torch.arange(MAX_DEGREE + 1, dtype=torch.float64)  # 0..19
    monomials = x**powers / torch.tensor([math.factorial(i) for i in range(MAX_DEGREE + 1)], dtype=torch.float64)
    y = monomials[:, :4] @ torch.tensor(POLY_COEFFICIENTS, dtype=torch.float64).reshape(4, 1) + noise  # (n, 1)
    return monomials[:, 1:degree + 1].float(), y.float()


def polynomial_truth(degree):
    """Return (true w, true b) for polynomial_data's features of that degree: w of x^1/1! ... x^degree/degree!.

    >>> polynomial_truth(5)
    ([1.2, -3.4, 5.6, 0.0, 0.0], 5.0)
    """
    return [*POLY_COEFFICIENTS[1:], *[0.0] * MAX_DEGREE][:degree], POLY_COEFFICIENTS[0]
