"""The lesson's models from scratch: plain tensors with requires_grad, our own loss and sgd.

Its twin ``concise.py`` defines the same names in the same order with torch.nn and torch.optim;
``diff src/minidl/scratch.py src/minidl/concise.py`` shows what the library replaces.

Contracts both twins keep:

- Parameters live in canonical form: linreg ``w (d, 1), b (1,)``; softmax ``W (784, 10), b (10,)``;
  MLP ``W1 (784, h1), b1 (h1,), W2 ...``, inputs times weights (nn.Linear stores the transpose).
  Both draw them with ``init_params``, so the same seed gives both twins the same weights.
- Losses return the *mean* over the batch, and ``sgd`` steps by ``lr`` times that mean's gradient:
  the batch size is divided out once, in the loss, never again in the update.
- ``accuracy`` returns a count of correct predictions; divide the sum over batches by the number
  of examples.
"""
import math
import numbers

import torch
from torch import Tensor

from minidl.activations import get_activation
from minidl.errors import ConfigError

# --- Parameters in canonical form: drawn, checked and fed the same way in both twins -----------

INITS = ("normal", "xavier", "kaiming")


def init_params(shapes: dict[str, tuple[int, ...]], init: str = "normal", seed: int = 0) -> dict[str, Tensor]:
    """Return {name: float32 tensor} drawn for ``shapes`` in order from one seeded generator.

    ``normal``: every parameter, biases too, normal with std 0.01 (the lesson's choice).
    ``xavier``: weights uniform in +-sqrt(6 / (fan_in + fan_out)), biases 0 (Glorot, for tanh).
    ``kaiming``: weights normal with std sqrt(2 / fan_in), biases 0 (He, for relu).
    A weight is a 2-D (fan_in, fan_out) shape, a bias a 1-D one.

    >>> p = init_params({"W": (784, 10), "b": (10,)}, init="xavier")
    >>> p["W"].shape, p["b"].abs().sum().item()
    (torch.Size([784, 10]), 0.0)
    """
    if init not in INITS:
        raise ConfigError(f"unknown init {init!r}; choose one of {', '.join(INITS)}")
    generator = torch.Generator().manual_seed(seed)
    params = {}
    for name, shape in shapes.items():
        if not all(isinstance(n, numbers.Integral) and n >= 1 for n in shape):
            raise ConfigError(f"parameter {name} would have shape {shape}: layer sizes must be whole numbers >= 1")
        if init == "normal":
            params[name] = 0.01 * torch.randn(shape, generator=generator)
        elif len(shape) == 1:  # xavier and kaiming start biases at 0
            params[name] = torch.zeros(shape)
        elif init == "xavier":
            bound = math.sqrt(6 / (shape[0] + shape[1]))
            params[name] = bound * (2 * torch.rand(shape, generator=generator) - 1)
        else:  # kaiming
            params[name] = math.sqrt(2 / shape[0]) * torch.randn(shape, generator=generator)
    return params


def check_inputs(X: Tensor, num_inputs: int, model: str, images: bool = False) -> Tensor:
    """Return X unchanged if each example has ``num_inputs`` features, else raise ConfigError.

    With ``images`` an example may come in any shape holding that many values, like (1, 28, 28).

    >>> check_inputs(torch.zeros(4, 100), 784, "MLP", images=True)
    Traceback (most recent call last):
    ...
    minidl.errors.ConfigError: MLP expects inputs with 784 features per example (like (B, 784) or (B, 1, 28, 28)), got shape (4, 100)
    """
    if (X.dim() >= 2 if images else X.dim() == 2) and math.prod(X.shape[1:]) == num_inputs:
        return X
    like = f"(B, {num_inputs})" + (" or (B, 1, 28, 28)" if images and num_inputs == 784 else "")
    raise ConfigError(
        f"{model} expects inputs with {num_inputs} features per example (like {like}), got shape {tuple(X.shape)}"
    )


def check_state(state: dict[str, Tensor], expected: dict[str, Tensor], model: str) -> None:
    """Raise ConfigError naming both sides unless ``state`` has the names and shapes of ``expected``."""
    if set(state) != set(expected):
        raise ConfigError(f"{model} has parameters {', '.join(expected)}; the state given has {', '.join(state)}")
    for name, param in expected.items():
        if state[name].shape != param.shape:
            raise ConfigError(
                f"{model} parameter {name} has shape {tuple(param.shape)}; "
                f"the state given has {tuple(state[name].shape)}"
            )


def mlp_shapes(num_inputs: int, hidden: tuple[int, ...], num_outputs: int) -> dict[str, tuple[int, ...]]:
    """Return the canonical MLP shapes, one (W, b) pair per layer; ``hidden`` lists the widths.

    >>> mlp_shapes(784, (256,), 10)
    {'W1': (784, 256), 'b1': (256,), 'W2': (256, 10), 'b2': (10,)}
    """
    hidden = (hidden,) if isinstance(hidden, numbers.Integral) else tuple(hidden)  # 256 means (256,)
    widths = (num_inputs, *hidden, num_outputs)
    shapes = {}
    for i, (fan_in, fan_out) in enumerate(zip(widths, widths[1:]), start=1):
        shapes[f"W{i}"], shapes[f"b{i}"] = (fan_in, fan_out), (fan_out,)
    return shapes


class Model:
    """Named parameters as plain tensors, with the slice of nn.Module's interface the trainer uses."""

    autograd = True  # parameters require grad: loss.backward() fills in each one's .grad

    def __init__(self, params: dict[str, Tensor]):
        self.names = tuple(params)  # canonical order: w, b / W, b / W1, b1, W2, b2, ...
        for name, value in params.items():
            setattr(self, name, value.requires_grad_(self.autograd))
        self.training = True

    def __call__(self, X: Tensor) -> Tensor:
        return self.forward(X)

    def named_parameters(self) -> list[tuple[str, Tensor]]:
        return [(name, getattr(self, name)) for name in self.names]

    def parameters(self) -> list[Tensor]:
        return [param for _, param in self.named_parameters()]

    def state_dict(self) -> dict[str, Tensor]:
        """Return {name: tensor}, detached but sharing memory with the parameters (as nn.Module's)."""
        return {name: param.detach() for name, param in self.named_parameters()}

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        """Copy ``state`` into the parameters after checking its names and shapes."""
        current = self.state_dict()  # views of the parameters: copying into them writes the parameters
        check_state(state, current, type(self).__name__)
        for name, view in current.items():
            view.copy_(state[name])

    def to(self, device) -> "Model":
        """Move the parameters to ``device`` in place (an optimizer keeps the same tensors); return self."""
        for param in self.parameters():
            param.data = param.data.to(device)
            if param.grad is not None:
                param.grad = param.grad.to(device)
        return self

    def train(self, mode: bool = True) -> "Model":
        self.training = mode  # nothing here behaves differently in training; kept for the loop
        return self

    def eval(self) -> "Model":
        return self.train(False)

    def canonical_state(self) -> dict[str, Tensor]:
        """Return the parameters in canonical form: here, simply state_dict()."""
        return self.state_dict()

    def load_canonical_state(self, state: dict[str, Tensor]) -> None:
        """Copy canonical ``state`` into the parameters: here, simply load_state_dict()."""
        self.load_state_dict(state)


# --- Linear regression -------------------------------------------------------------------------

def linreg(X: Tensor, w: Tensor, b: Tensor) -> Tensor:
    """Return X w + b: (B, d) inputs -> (B, 1) predictions.

    >>> linreg(torch.tensor([[1.0, 2.0]]), torch.tensor([[2.0], [-3.4]]), torch.tensor([4.2]))
    tensor([[-0.6000]])
    """
    return X @ w + b


def squared_loss(y_hat: Tensor, y: Tensor) -> Tensor:
    """Return the batch mean of (y_hat - y)^2 / 2; y is reshaped to y_hat's shape.

    The reshape matters: (n, 1) minus (n,) would broadcast to (n, n) pairs.

    >>> squared_loss(torch.tensor([[1.0], [2.0]]), torch.tensor([0.0, 0.0]))
    tensor(1.2500)
    """
    return ((y_hat - y.reshape(y_hat.shape)) ** 2 / 2).mean()


def sgd(params, lr: float) -> None:
    """Step every parameter against its gradient, in place, then zero the gradients.

    The gradient is of a *mean* loss, so this is lr times the average per-example gradient: no
    second division by the batch size (the lesson divides here because its loss is a sum).
    """
    with torch.no_grad():  # the update itself must not become part of the graph
        for param in params:
            if param.grad is not None:
                param -= lr * param.grad
                param.grad.zero_()


class SGD:
    """Minibatch SGD behind torch.optim's interface, so one training loop drives both twins."""

    def __init__(self, params, lr: float):
        self.params, self.lr = list(params), lr

    def step(self) -> None:
        sgd(self.params, self.lr)

    def zero_grad(self) -> None:
        # drop the gradients, as torch.optim does by default: backward() then writes fresh ones
        # instead of adding to zeros (sgd() has zeroed them already; a second pass would be waste)
        for param in self.params:
            param.grad = None

    def state_dict(self) -> dict:
        return {"lr": self.lr}

    def load_state_dict(self, state: dict) -> None:
        self.lr = state["lr"]


class LinearRegression(Model):
    """Return (B, 1) predictions X w + b for (B, num_inputs) inputs."""

    def __init__(self, num_inputs: int, init: str = "normal", seed: int = 0):
        super().__init__(init_params({"w": (num_inputs, 1), "b": (1,)}, init, seed))
        self.num_inputs = num_inputs

    def forward(self, X: Tensor) -> Tensor:
        X = check_inputs(X, self.num_inputs, "LinearRegression")  # (B, d)
        return linreg(X, self.w, self.b)  # (B, 1)


# --- Softmax regression ------------------------------------------------------------------------

def softmax(X: Tensor) -> Tensor:
    """Return each row of X turned into probabilities: exp(X) over its row sum.

    >>> softmax(torch.tensor([[1000.0, 1000.0, -1000.0]]))
    tensor([[0.5000, 0.5000, 0.0000]])
    """
    # exp(x - m) / sum exp(x - m) is the same value; with m the row max, exp never exceeds 1
    X_exp = torch.exp(X - X.max(dim=1, keepdim=True).values)
    return X_exp / X_exp.sum(dim=1, keepdim=True)


def log_softmax(X: Tensor) -> Tensor:
    """Return log(softmax(X)) row by row as X - logsumexp(X), finite where softmax underflows to 0.

    >>> log_softmax(torch.tensor([[0.0, -1000.0]]))
    tensor([[    0., -1000.]])
    """
    shifted = X - X.max(dim=1, keepdim=True).values  # (B, C), each row's max now 0
    return shifted - torch.log(torch.exp(shifted).sum(dim=1, keepdim=True))  # the sum is >= 1


def cross_entropy(logits: Tensor, y: Tensor) -> Tensor:
    """Return the batch mean of -log softmax(logits)[y], from logits, never from probabilities.

    >>> cross_entropy(torch.tensor([[1000.0, -1000.0]]), torch.tensor([1]))
    tensor(2000.)
    """
    # (B, C) log-probabilities; pick each row's label column -> (B, 1)
    return -log_softmax(logits).gather(1, y.reshape(-1, 1)).mean()


def accuracy(y_hat: Tensor, y: Tensor) -> int:
    """Return how many rows of y_hat (logits or probabilities) put their largest value on label y.

    A count, not a fraction: add it up over batches, then divide by the number of examples.

    >>> accuracy(torch.tensor([[0.1, 0.9], [0.8, 0.2]]), torch.tensor([1, 1]))
    1
    """
    predictions = y_hat.argmax(dim=1)  # (B,)
    return int((predictions == y.reshape(predictions.shape)).sum())


class SoftmaxRegression(Model):
    """Return (B, num_outputs) logits X W + b; softmax is left to the loss (cross_entropy)."""

    def __init__(self, num_inputs: int = 784, num_outputs: int = 10, init: str = "normal", seed: int = 0):
        super().__init__(init_params({"W": (num_inputs, num_outputs), "b": (num_outputs,)}, init, seed))
        self.num_inputs = num_inputs

    def forward(self, X: Tensor) -> Tensor:
        X = check_inputs(X, self.num_inputs, "SoftmaxRegression", images=True)
        X = X.reshape(len(X), self.num_inputs)  # (B, 1, 28, 28) -> (B, 784)
        return X @ self.W + self.b  # (B, 10) logits


# --- Multilayer perceptron ---------------------------------------------------------------------

def nonlinearity(name: str):
    """Return the activation function called ``name`` (any of minidl.activations.ACTIVATIONS)."""
    return get_activation(name).fn


class MLP(Model):
    """Return (B, num_outputs) logits from a stack of linear layers with activations in between."""

    def __init__(self, num_inputs: int = 784, hidden: tuple[int, ...] = (256,), num_outputs: int = 10,
                 activation: str = "relu", init: str = "normal", seed: int = 0):
        params = init_params(mlp_shapes(num_inputs, hidden, num_outputs), init, seed)  # W1 (784, 256), b1, ...
        self.phi = nonlinearity(activation)
        super().__init__(params)
        self.num_inputs, self.activation = num_inputs, get_activation(activation).name

    def forward(self, X: Tensor) -> Tensor:
        X = check_inputs(X, self.num_inputs, "MLP", images=True)
        H = X.reshape(len(X), self.num_inputs)  # (B, 1, 28, 28) -> (B, 784)
        params = self.parameters()
        Ws, bs = params[0::2], params[1::2]
        for W, b in zip(Ws[:-1], bs[:-1]):
            H = self.phi(H @ W + b)  # (B, h_i) hidden units
        return H @ Ws[-1] + bs[-1]  # (B, 10) logits
