"""The lesson's models, concise: torch.nn layers and losses, torch.optim's SGD.

Its twins define the same names in the same order: ``scratch.py`` from plain tensors and
autograd, ``manual.py`` with every gradient written by hand. ``diff src/minidl/lessons/scratch.py
src/minidl/lessons/concise.py`` shows what the library replaces.

The contracts all three keep are in ``minidl.lessons.contracts``, with the machinery they share.
"""
import torch
from torch import Tensor, nn

from minidl.errors import check_dropout
from minidl.lessons.activations import get_activation
from minidl.lessons.contracts import Sequential as Model
from minidl.lessons.contracts import check_inputs, init_params, mlp_shapes
from minidl.lessons.masks import MaskGenerator, dropout_generator


def objective(model: Model, loss, weight_decay: float = 0.0):
    """Return ``loss`` itself: autograd links it to the model, and torch.optim's weight_decay does the decay.

    SGD with weight_decay adds lambda w to each weight's gradient: the gradient of lambda/2 ||w||^2.
    """
    return loss


# --- Linear regression -------------------------------------------------------------------------

def linreg(X: Tensor, w: Tensor, b: Tensor) -> Tensor:
    """Return X w + b: (B, d) inputs -> (B, 1) predictions, as nn.Linear computes them.

    >>> linreg(torch.tensor([[1.0, 2.0]]), torch.tensor([[2.0], [-3.4]]), torch.tensor([4.2]))
    tensor([[-0.6000]])
    """
    return nn.functional.linear(X, w.T, b)  # nn.Linear keeps its weight as (out, in) = w.T


def squared_loss(y_hat: Tensor, y: Tensor) -> Tensor:
    """Return the batch mean of (y_hat - y)^2 / 2: nn.MSELoss() halved; y is reshaped to y_hat's shape.

    The reshape matters: (n, 1) minus (n,) would broadcast to (n, n) pairs.

    >>> squared_loss(torch.tensor([[1.0], [2.0]]), torch.tensor([0.0, 0.0]))
    tensor(1.2500)
    """
    return nn.functional.mse_loss(y_hat, y.reshape(y_hat.shape)) / 2


def sgd(params, lr: float) -> None:
    """Step every parameter against its gradient with torch.optim's SGD, then clear the gradients.

    The gradient is of a *mean* loss, so this is lr times the average per-example gradient: no
    second division by the batch size (the lesson divides here because its loss is a sum).
    """
    optimizer = torch.optim.SGD(params, lr)
    optimizer.step()
    optimizer.zero_grad()


SGD = torch.optim.SGD  # plus momentum, weight decay (per parameter group: weights only), ...


class LinearRegression(Model):
    """Return (B, 1) predictions X w + b for (B, num_inputs) inputs."""

    def __init__(self, num_inputs: int, init: str = "normal", seed: int = 0):
        super().__init__(init_params({"w": (num_inputs, 1), "b": (1,)}, init, seed), nn.Linear(num_inputs, 1))
        self.num_inputs = num_inputs

    def forward(self, X: Tensor) -> Tensor:
        X = check_inputs(X, self.num_inputs, "LinearRegression")  # (B, d)
        return super().forward(X)  # nn.Linear: (B, 1)


# --- Softmax regression ------------------------------------------------------------------------

def softmax(X: Tensor) -> Tensor:
    """Return each row of X turned into probabilities: exp(X) over its row sum.

    >>> softmax(torch.tensor([[1000.0, 1000.0, -1000.0]]))
    tensor([[0.5000, 0.5000, 0.0000]])
    """
    return torch.softmax(X, dim=1)


def log_softmax(X: Tensor) -> Tensor:
    """Return log(softmax(X)) row by row as X - logsumexp(X), finite where softmax underflows to 0.

    >>> log_softmax(torch.tensor([[0.0, -1000.0]]))
    tensor([[    0., -1000.]])
    """
    return torch.log_softmax(X, dim=1)


def cross_entropy(logits: Tensor, y: Tensor, label_smoothing: float = 0.0) -> Tensor:
    """Return the batch mean of -log softmax(logits)[y]: what nn.CrossEntropyLoss() computes.

    ``label_smoothing`` e: nn.CrossEntropyLoss(label_smoothing=e)'s target, 1 - e + e / C on the
    label and e / C on every other class.

    >>> cross_entropy(torch.tensor([[1000.0, -1000.0]]), torch.tensor([1]))
    tensor(2000.)
    """
    return nn.functional.cross_entropy(logits, y.reshape(-1), label_smoothing=label_smoothing)


def accuracy(y_hat: Tensor, y: Tensor) -> int:
    """Return how many rows of y_hat (logits or probabilities) put their largest value on label y (torch.nn has no accuracy).

    A count, not a fraction: add it up over batches, then divide by the number of examples.

    >>> accuracy(torch.tensor([[0.1, 0.9], [0.8, 0.2]]), torch.tensor([1, 1]))
    1
    """
    predictions = y_hat.argmax(dim=1)  # (B,)
    return int((predictions == y.reshape(predictions.shape)).sum())


class SoftmaxRegression(Model):
    """Return (B, num_outputs) logits X W + b; softmax is left to the loss (cross_entropy)."""

    def __init__(self, num_inputs: int = 784, num_outputs: int = 10, init: str = "normal", seed: int = 0):
        super().__init__(init_params({"W": (num_inputs, num_outputs), "b": (num_outputs,)}, init, seed),
                         nn.Flatten(), nn.Linear(num_inputs, num_outputs))
        self.num_inputs = num_inputs

    def forward(self, X: Tensor) -> Tensor:
        X = check_inputs(X, self.num_inputs, "SoftmaxRegression", images=True)
        return super().forward(X)  # nn.Flatten: (B, 1, 28, 28) -> (B, 784); nn.Linear: (B, 10) logits


# --- Multilayer perceptron ---------------------------------------------------------------------

MODULES = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "leaky_relu": nn.LeakyReLU,
           "elu": nn.ELU, "gelu": nn.GELU, "silu": nn.SiLU, "softplus": nn.Softplus}  # default arguments


def nonlinearity(name: str) -> nn.Module:
    """Return a new torch.nn module for the activation called ``name`` (any of ACTIVATIONS)."""
    return MODULES[get_activation(name).name]()


class Dropout(nn.Module):
    """nn.Dropout(p), but drawing its masks from the model's own generator instead of torch's global RNG.

    nn.Dropout computes the same thing (zero with probability p, scale the rest by 1 / (1 - p), only
    in training mode); drawn from the generator every twin shares, its masks are the other twins',
    so the tests can hold the three equal step by step.
    """

    def __init__(self, p: float, generator: MaskGenerator):
        super().__init__()
        self.p, self.generator = p, generator

    def forward(self, H: Tensor) -> Tensor:
        if not self.training:  # evaluation never drops
            return H
        mask = self.generator.keep(H.shape, self.p)  # (B, h): True keeps a unit, with probability 1 - p
        return H * mask.to(H.device) / (1 - self.p)


class MLP(Model):
    """Return (B, num_outputs) logits from a stack of linear layers with activations in between."""

    def __init__(self, num_inputs: int = 784, hidden: tuple[int, ...] = (256,), num_outputs: int = 10,
                 activation: str = "relu", init: str = "normal", seed: int = 0, dropout: tuple[float, ...] = ()):
        params = init_params(mlp_shapes(num_inputs, hidden, num_outputs), init, seed)  # W1 (784, 256), b1, ...
        linears = [nn.Linear(*W.shape) for name, W in params.items() if name.startswith("W")]
        probabilities = check_dropout(dropout, len(linears) - 1)  # one p per hidden layer, 0: none
        generator = dropout_generator(seed)
        layers = [nn.Flatten(), linears[0]]
        for linear, p in zip(linears[1:], probabilities):
            layers += [nonlinearity(activation), *([Dropout(p, generator)] if p else []), linear]
        super().__init__(params, *layers)  # e.g. Flatten, Linear, ReLU, Dropout, Linear
        self.num_inputs, self.activation = num_inputs, get_activation(activation).name
        self.dropout, self.dropout_generator = probabilities, generator

    def forward(self, X: Tensor) -> Tensor:
        X = check_inputs(X, self.num_inputs, "MLP", images=True)
        return super().forward(X)  # (B, 1, 28, 28) -> (B, 784) -> ... -> (B, 10) logits
