"""The lesson's models with backpropagation written by hand: plain tensors, no autograd at all.

Its twin ``scratch.py`` lets autograd find the gradients; here every gradient is derived and
written out beside the forward pass it differentiates, as the lesson on forward and backward
propagation does on paper. ``diff src/minidl/lessons/scratch.py src/minidl/lessons/manual.py`` shows them. The
chain rule for one layer Z = H W + b (H its (B, fan_in) input, L the mean loss over a batch of B):

    dL/dW = H^T dL/dZ    dL/db = sum over the batch of dL/dZ    dL/dH = dL/dZ W^T

and between layers dL/dZ = dL/dH * phi'(Z) for the activation H = phi(Z). At the top, the loss's
own gradient starts the pass: (y_hat - y) / B for the squared loss, (softmax(logits) - onehot(y))
/ B for cross-entropy. Tests check every gradient here against autograd on the scratch twin.

A backward pass keeps each layer's gradient as its two factors (H, dL/dZ) in ``model.grads``;
``sgd`` steps from them, W -= lr H^T dZ in one product, so the gradient is never written out and
read back (``minidl.lessons.contracts.Factored`` multiplies them out for anyone who wants ``.grad``). Weight
decay adds lambda W, the gradient of lambda/2 ||W||^2, in that same product.
"""
import torch
from torch import Tensor

from minidl.errors import check_dropout
from minidl.lessons.activations import Activation, get_activation
from minidl.lessons.contracts import Factored as Model
from minidl.lessons.contracts import Loss, Optimizer, check_inputs, init_params, mlp_shapes
from minidl.lessons.masks import MaskGenerator, dropout_generator


def objective(model: Model, loss, weight_decay: float = 0.0):
    """Return ``loss`` bound to ``model``: ``objective(model, loss)(y_hat, y).backward()`` runs model.backward.

    Autograd's graph links a loss to the model that made its input; written by hand, this is the link.
    Weight decay is the optimizer's here: ``sgd`` adds lambda W to each weight's gradient.
    """
    def bound(y_hat: Tensor, y: Tensor) -> Loss:
        value, grad = loss(y_hat, y)  # the batch's mean loss and d loss / d y_hat
        return Loss(value, lambda: model.backward(grad))

    return bound


# --- Linear regression -------------------------------------------------------------------------

def linreg(X: Tensor, w: Tensor, b: Tensor) -> Tensor:
    """Return X w + b: (B, d) inputs -> (B, 1) predictions (a forward with nothing of its own to differentiate).

    >>> linreg(torch.tensor([[1.0, 2.0]]), torch.tensor([[2.0], [-3.4]]), torch.tensor([4.2]))
    tensor([[-0.6000]])
    """
    return X @ w + b


def squared_loss(y_hat: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """Return the batch mean of (y_hat - y)^2 / 2 and its gradient (y_hat - y) / B, shaped like y_hat.

    The reshape matters: (n, 1) minus (n,) would broadcast to (n, n) pairs.

    >>> squared_loss(torch.tensor([[1.0], [2.0]]), torch.tensor([0.0, 0.0]))
    (tensor(1.2500), tensor([[0.5000],
            [1.0000]]))
    """
    error = y_hat - y.reshape(y_hat.shape)  # (B, 1)
    return (error**2 / 2).mean(), error / len(error)


def sgd(layers, grads, lr: float, weight_decay: float = 0.0, velocities=(), momentum: float = 0.0,
        nesterov: bool = False) -> None:
    """Step every layer's (W, b) against its gradient, given as the factors (H, dZ) backward() kept.

    W -= lr (H^T dZ + weight_decay W) and b -= lr times dZ summed over the batch (biases never
    decay). The gradient is of a *mean* loss, so this is lr times the average per-example gradient.
    With ``momentum`` the gradient G = H^T dZ + weight_decay W is written out, for each layer's
    velocities in ``velocities`` (vW1, vb1, vW2, ...: one per parameter): v = momentum v + G, then
    W -= lr v, or lr (G + momentum v) with ``nesterov``, as torch.optim.SGD (the decay goes into
    the velocity there too).
    """
    for i, ((W, b), (H, dZ)) in enumerate(zip(layers, grads)):
        if not momentum:
            # W = (1 - lr lambda) W - lr H^T dZ, the same update written as one product (addmm_)
            W.addmm_(H.T, dZ, beta=1 - lr * weight_decay, alpha=-lr)
            b.sub_(dZ.sum(dim=0), alpha=lr)
            continue
        G, db = torch.addmm(W, H.T, dZ, beta=weight_decay), dZ.sum(dim=0)  # G = H^T dZ + lambda W; sum of dZ
        for param, g, v in ((W, G, velocities[2 * i]), (b, db, velocities[2 * i + 1])):
            v.mul_(momentum).add_(g)  # v = momentum v + G
            param.sub_(g.add_(v, alpha=momentum) if nesterov else v, alpha=lr)


class SGD(Optimizer):
    """Minibatch SGD (with momentum) behind torch.optim's interface, stepping from the model's gradient factors."""

    def __init__(self, model: Model, lr: float, weight_decay: float = 0.0, momentum: float = 0.0,
                 nesterov: bool = False):
        self.model = model  # the gradients live with the model, as .grad does with a parameter
        self.param_groups = [{"params": model.parameters(), "lr": lr, "weight_decay": weight_decay,
                              "momentum": momentum, "nesterov": nesterov}]
        self.velocities = [torch.zeros_like(p) for p in model.parameters()] if momentum else []  # one per parameter

    def step(self) -> None:
        if self.model.grads is not None:  # no backward() since zero_grad(): nothing to do, as torch.optim
            g = self.param_groups[0]
            sgd(self.model.layers(), self.model.grads, g["lr"], g["weight_decay"], self.velocities,
                g["momentum"], g["nesterov"])

    def zero_grad(self) -> None:
        self.model.grads = None  # let go of the batch's factors, as torch.optim lets go of each .grad


class LinearRegression(Model):
    """Return (B, 1) predictions X w + b for (B, num_inputs) inputs."""

    def __init__(self, num_inputs: int, init: str = "normal", seed: int = 0):
        super().__init__(init_params({"w": (num_inputs, 1), "b": (1,)}, init, seed))
        self.num_inputs = num_inputs

    def forward(self, X: Tensor) -> Tensor:
        X = check_inputs(X, self.num_inputs, "LinearRegression")  # (B, d)
        self.saved = X if self.training else None  # backward needs the input
        return linreg(X, self.w, self.b)  # (B, 1)

    def backward(self, dY: Tensor) -> None:
        """Keep the gradient of the last forward from dY = dL/d(y_hat), (B, 1): dL/dw = X^T dY, dL/db = sum dY."""
        self.grads = [(self.take_saved(), dY)]


# --- Softmax regression ------------------------------------------------------------------------

def softmax(X: Tensor) -> Tensor:
    """Return each row of X turned into probabilities (torch's softmax: stable, nothing to differentiate here).

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


def cross_entropy(logits: Tensor, y: Tensor, label_smoothing: float = 0.0) -> tuple[Tensor, Tensor]:
    """Return the batch mean of -log softmax(logits)[y] and its gradient (softmax(logits) - onehot(y)) / B.

    Both come from one log_softmax (stable: logits minus their logsumexp), the gradient from its exp.
    ``label_smoothing`` e smooths the target to (1 - e) onehot(y) + e / C: the loss gains e times
    the mean of -log softmax over the classes, the gradient becomes (softmax - that target) / B.

    >>> cross_entropy(torch.tensor([[0.0, 0.0]]), torch.tensor([1]))
    (tensor(0.6931), tensor([[ 0.5000, -0.5000]]))
    """
    log_probs = torch.log_softmax(logits, dim=1)  # (B, C)
    rows = y.reshape(-1, 1)  # (B, 1): each row's label column
    grad = log_probs.exp()  # softmax(logits), each row summing to 1
    grad.scatter_add_(1, rows, torch.full_like(rows, -(1 - label_smoothing), dtype=grad.dtype))  # minus the labels
    loss = -log_probs.gather(1, rows).mean()
    if label_smoothing:
        grad.sub_(label_smoothing / grad.shape[1])  # minus e / C on every class
        loss = (1 - label_smoothing) * loss - label_smoothing * log_probs.mean(dim=1).mean()
    return loss, grad.div_(len(grad))


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
        self.saved = X if self.training else None  # backward needs the input
        return torch.addmm(self.b, X, self.W)  # (B, 10) logits, X W + b in one op

    def backward(self, dY: Tensor) -> None:
        """Keep the gradient of the last forward from dY = dL/d(logits), (B, 10): dL/dW = X^T dY, dL/db = sum dY."""
        self.grads = [(self.take_saved(), dY)]


# --- Multilayer perceptron ---------------------------------------------------------------------

def nonlinearity(name: str) -> Activation:
    """Return the activation called ``name`` with its hand-derived derivative (minidl.lessons.activations)."""
    return get_activation(name)


def dropout(H: Tensor, p: float, generator: MaskGenerator) -> tuple[Tensor, Tensor | None]:
    """Return H with each unit zeroed with probability p and the rest scaled by 1 / (1 - p), and that factor.

    The factor, 0 or 1 / (1 - p) per unit, is also the derivative: dL/dH = dL/d(output) * factor.
    The mask comes from ``generator`` (the model's own, on the CPU), so every twin draws the same one.
    With p = 0 nothing is drawn and there is no factor: (H, None).

    >>> dropout(torch.ones(2, 4), 0.5, dropout_generator(0))[1]
    tensor([[0., 2., 0., 0.],
            [0., 2., 0., 2.]])
    """
    if p == 0:
        return H, None
    mask = generator.keep(H.shape, p)  # (B, h): True keeps a unit, with probability 1 - p
    factor = mask.to(H.device, H.dtype) / (1 - p)
    return H * factor, factor


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
        saved = []  # per layer: its input H, its pre-activation Z and dropout factor (None: none, or output layer)
        for (W_i, b_i), p in zip(hidden, self.dropout):
            Z = torch.addmm(b_i, H, W_i)  # (B, h_i) = H W_i + b_i
            dropped, factor = dropout(self.phi.fn(Z), p if self.training else 0, self.dropout_generator)
            saved.append((H, Z, factor))  # evaluation never drops
            H = dropped  # (B, h_i) hidden units
        saved.append((H, None, None))
        self.saved = saved if self.training else None  # evaluation keeps nothing
        return torch.addmm(b, H, W)  # (B, 10) logits

    def backward(self, dY: Tensor) -> None:
        """Keep each layer's gradient as (H, dZ) from dY = dL/d(logits), (B, 10), last layer first.

        dZ of the layer below is dZ W^T (dL/dH), times the dropout factor where units were dropped,
        times phi'(Z) of that layer; the inputs need no gradient.
        """
        saved = self.take_saved()
        Ws = [W for W, _ in self.layers()]
        dZ, grads = dY, []
        for i in reversed(range(len(Ws))):
            grads.insert(0, (saved[i][0], dZ))  # layer i: its input H and dL/dZ
            if i:
                _, Z, factor = saved[i - 1]
                dH = dZ @ Ws[i].T  # (B, h_{i-1})
                if factor is not None:
                    dH.mul_(factor)  # a dropped unit passes no gradient back
                dZ = dH.mul_(self.phi.grad(Z))
        self.grads = grads
