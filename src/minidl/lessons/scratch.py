"""The lesson's models from scratch: plain tensors with requires_grad, our own loss and sgd.

Its twins define the same names in the same order: ``concise.py`` with torch.nn and torch.optim,
``manual.py`` with every gradient written by hand. ``diff src/minidl/lessons/scratch.py
src/minidl/lessons/concise.py`` shows what the library replaces; ``diff src/minidl/lessons/scratch.py
src/minidl/lessons/manual.py`` shows the backward pass autograd finds here.

The contracts all three keep are in ``minidl.lessons.contracts``, with the machinery they share.
"""
from collections.abc import Callable

import torch
from torch import Tensor

from minidl.errors import check_dropout
from minidl.lessons.activations import get_activation
from minidl.lessons.contracts import Params as Model
from minidl.lessons.contracts import Loss, Optimizer, check_inputs, init_params, mlp_shapes
from minidl.lessons.masks import MaskGenerator, dropout_generator


def objective(model: Model, loss, weight_decay: float = 0.0):
    """Return ``loss``, plus weight_decay * l2_penalty of the model's weights (never the biases) when > 0.

    Autograd's graph already leads from each loss back through the model. With weight decay it
    differentiates the penalised loss, while the value the loop records stays the data loss (as the
    lesson's curves show it), so that all three twins report the same numbers.
    """
    if not weight_decay:
        return loss

    def penalised(y_hat: Tensor, y: Tensor) -> Loss:
        value = loss(y_hat, y)
        weights = [W for W, _ in model.layers()]  # w / W / W1, W2, ...: every weight, no bias
        return Loss(value.detach(), lambda: (value + weight_decay * l2_penalty(weights)).backward())

    return penalised


def l2_penalty(weights) -> Tensor:
    """Return the sum of w^2 / 2 over every entry of every weight: its gradient is w itself.

    >>> l2_penalty([torch.tensor([[3.0], [4.0]])])
    tensor(12.5000)
    """
    return sum((W**2).sum() for W in weights) / 2


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


def sgd(params, lr: float, velocities=(), momentum: float = 0.0, nesterov: bool = False) -> None:
    """Step every parameter against its gradient, in place, then zero the gradients.

    The gradient is of a *mean* loss, so this is lr times the average per-example gradient: no
    second division by the batch size (the lesson divides here because its loss is a sum).
    With ``momentum`` each parameter's velocity (in ``velocities``, starting at zeros) becomes
    v = momentum v + g and the step is lr v, or lr (g + momentum v) with ``nesterov``: what
    torch.optim.SGD does.
    """
    with torch.no_grad():  # the update itself must not become part of the graph
        for i, param in enumerate(params):
            if param.grad is None:
                continue
            if momentum:
                v = velocities[i].mul_(momentum).add_(param.grad)  # v = momentum v + g
                param -= lr * (param.grad + momentum * v if nesterov else v)
            else:
                param -= lr * param.grad
            param.grad.zero_()


class SGD(Optimizer):
    """Minibatch SGD (with momentum) behind torch.optim's interface (``param_groups``, ``step``, ``zero_grad``)."""

    def __init__(self, params, lr: float, momentum: float = 0.0, nesterov: bool = False):
        params = list(params)
        self.param_groups = [{"params": params, "lr": lr, "momentum": momentum, "nesterov": nesterov}]
        self.velocities = [torch.zeros_like(p) for p in params] if momentum else []  # one per parameter

    def step(self) -> None:
        for group in self.param_groups:
            sgd(group["params"], group["lr"], self.velocities, group["momentum"], group["nesterov"])

    def zero_grad(self) -> None:
        # drop the gradients, as torch.optim does by default: backward() then writes fresh ones
        # instead of adding to zeros (sgd() has zeroed them already; a second pass would be waste)
        for group in self.param_groups:
            for param in group["params"]:
                param.grad = None


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


def cross_entropy(logits: Tensor, y: Tensor, label_smoothing: float = 0.0) -> Tensor:
    """Return the batch mean of -log softmax(logits)[y], from logits, never from probabilities.

    ``label_smoothing`` e: the target is 1 - e on the label and e / C spread over all C classes,
    so the loss is (1 - e) times that, plus e times the mean of -log softmax over the classes.

    >>> cross_entropy(torch.tensor([[1000.0, -1000.0]]), torch.tensor([1]))
    tensor(2000.)
    """
    log_probs = log_softmax(logits)  # (B, C)
    loss = -log_probs.gather(1, y.reshape(-1, 1)).mean()  # each row's label column -> (B, 1)
    if label_smoothing:
        loss = (1 - label_smoothing) * loss - label_smoothing * log_probs.mean(dim=1).mean()
    return loss


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

def nonlinearity(name: str) -> Callable[[Tensor], Tensor]:
    """Return the activation function called ``name`` (any of minidl.lessons.activations.ACTIVATIONS)."""
    return get_activation(name).fn


def dropout(H: Tensor, p: float, generator: MaskGenerator) -> Tensor:
    """Return H with each unit zeroed with probability p and the rest scaled by 1 / (1 - p) (inverted dropout).

    The scaling keeps each unit's expected value, so evaluation uses H as it is. The mask comes from
    ``generator`` (the model's own, on the CPU), so every twin draws the same one.

    >>> dropout(torch.ones(2, 4), 0.5, dropout_generator(0))
    tensor([[0., 2., 0., 0.],
            [0., 2., 0., 2.]])
    """
    if p == 0:
        return H
    mask = generator.keep(H.shape, p)  # (B, h): True keeps a unit, with probability 1 - p
    return H * mask.to(H.device) / (1 - p)


class MLP(Model):
    """Return (B, num_outputs) logits from a stack of linear layers with activations in between."""

    def __init__(self, num_inputs: int = 784, hidden: tuple[int, ...] = (256,), num_outputs: int = 10,
                 activation: str = "relu", init: str = "normal", seed: int = 0, dropout: tuple[float, ...] = ()):
        params = init_params(mlp_shapes(num_inputs, hidden, num_outputs), init, seed)  # W1 (784, 256), b1, ...
        self.phi = nonlinearity(activation)
        super().__init__(params)
        self.num_inputs, self.activation = num_inputs, get_activation(activation).name
        self.dropout = check_dropout(dropout, len(params) // 2 - 1)  # one p per hidden layer, 0: none
        self.dropout_generator = dropout_generator(seed)

    def forward(self, X: Tensor) -> Tensor:
        X = check_inputs(X, self.num_inputs, "MLP", images=True)
        H = X.reshape(len(X), self.num_inputs)  # (B, 1, 28, 28) -> (B, 784)
        *hidden, (W, b) = self.layers()
        for (W_i, b_i), p in zip(hidden, self.dropout):
            H = self.phi(H @ W_i + b_i)  # (B, h_i) hidden units
            if self.training:  # evaluation never drops
                H = dropout(H, p, self.dropout_generator)
        return H @ W + b  # (B, 10) logits
