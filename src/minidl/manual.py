"""The lesson's models with backpropagation written by hand: plain tensors, no autograd at all.

``scratch.py`` lets autograd find the gradients; here every gradient is derived and written out,
as the lesson on forward and backward propagation does on paper. The chain rule for one layer
Z = H W + b (H its (B, fan_in) input, loss L the mean over a batch of B):

    dL/dW = H^T dL/dZ    dL/db = sum over the batch of dL/dZ    dL/dH = dL/dZ W^T

and between layers dL/dZ = dL/dH * phi'(Z) for the activation H = phi(Z). At the top, the loss's
own gradient starts the pass: (y_hat - y) / B for the squared loss, (softmax(logits) - onehot(y))
/ B for cross-entropy. Tests check every gradient here against autograd on the scratch twin.

It is also the fast one: no graph is recorded, so a step costs its matrix products and a few
elementwise passes (``python benchmarks/bench_mlp.py`` compares the three implementations).

The loop drives it like its twins, with the same five lines. The difference is where the
backward pass comes from: each loss here returns its value and its gradient, ``loss_fn =
Objective(model, cross_entropy)`` binds one to the model, and ``loss_fn(y_hat, y).backward()``
runs ``model.backward`` with that gradient, writing each parameter's ``.grad``. Parameters and
initial weights are the scratch twin's. One step further than the lesson: ``SGD`` below updates
each weight straight from the two factors of its gradient, W -= lr H^T dZ in one product.
"""
import torch
from torch import Tensor

from minidl import scratch
from minidl.activations import get_activation

init_params = scratch.init_params
check_inputs = scratch.check_inputs
mlp_shapes = scratch.mlp_shapes


class Model(scratch.Model):
    """Layers Z_i = H_i W_i + b_i, an activation between them, a forward that keeps what backward needs.

    Subclasses set ``num_inputs``, ``images`` (accept (B, 1, 28, 28)) and ``phi`` (the Activation
    between layers, None for one-layer models). Parameters come in (W, b) pairs, canonical order.
    """

    autograd = False  # plain tensors: backward() below writes .grad, autograd never does
    phi = None
    images = True
    saved = None  # what the last training-mode forward() kept for backward()
    factors = None  # what the last backward() found: per layer, (H, dL/dZ)
    write_grads = True  # backward() writes .grad, as autograd would; manual SGD needs only the factors

    def forward(self, X: Tensor) -> Tensor:
        X = check_inputs(X, self.num_inputs, type(self).__name__, images=self.images)
        H = X.reshape(len(X), self.num_inputs)  # (B, 1, 28, 28) -> (B, 784)
        *hidden, (W, b) = self.layers()
        saved = []  # per layer: its input H and, below an activation, its output Z
        for W_i, b_i in hidden:
            Z = torch.addmm(b_i, H, W_i)  # (B, h_i) = H W_i + b_i
            saved.append((H, Z))
            H = self.phi.fn(Z)
        saved.append((H, None))
        self.saved = saved if self.training else None  # evaluation keeps nothing
        return torch.addmm(b, H, W)  # (B, outputs)

    def backward(self, dY: Tensor) -> None:
        """Backpropagate dY = dL/d(output) of the last forward, (B, outputs); write each ``.grad``.

        Each layer's gradient comes as two factors, its input H and dZ = dL/dZ: dL/dW = H^T dZ and
        dL/db = dZ summed over the batch. ``self.factors`` keeps them, per layer, for the optimizer;
        with ``write_grads`` off (manual SGD turns it off) backward stops there and SGD steps
        from the factors, never writing the gradients out.
        """
        if self.saved is None:
            raise RuntimeError("backward() needs a forward() in training mode first (model.train())")
        Ws = [W for W, _ in self.layers()]
        dZs = [dY]  # dL/dZ per layer, found from the last layer down
        for i in reversed(range(1, len(Ws))):  # the inputs (layer 1's H) need no gradient
            _, Z = self.saved[i - 1]
            dZs.insert(0, (dZs[0] @ Ws[i].T).mul_(self.phi.grad(Z)))  # dL/dH, then through the activation
        self.factors = [(H, dZ) for (H, _), dZ in zip(self.saved, dZs)]
        self.saved = None  # one backward per forward, as autograd's graph
        if self.write_grads:
            for (W, b), (H, dZ) in zip(self.layers(), self.factors):
                W.grad = H.T @ dZ  # (fan_in, B) @ (B, fan_out)
                b.grad = dZ.sum(dim=0)

    def layers(self) -> list[tuple[Tensor, Tensor]]:
        """Return each layer's (W, b), first to last."""
        params = self.parameters()
        return list(zip(params[0::2], params[1::2]))


class Loss:
    """A batch's mean loss that starts the hand-written backward pass: ``loss.backward()``."""

    def __init__(self, value: Tensor, backward):
        self.value, self._backward = value, backward

    def backward(self) -> None:
        self._backward()

    def detach(self) -> Tensor:
        return self.value

    def item(self) -> float:
        return self.value.item()


class Objective:
    """A loss bound to the model it trains: calling it returns a Loss whose backward() reaches the model.

    ``loss(y_hat, y)`` returns the batch's mean loss and its gradient d loss / d y_hat together.
    """

    def __init__(self, model: Model, loss):
        self.model, self.loss = model, loss

    def __call__(self, y_hat: Tensor, y: Tensor) -> Loss:
        value, grad = self.loss(y_hat, y)
        return Loss(value, lambda: self.model.backward(grad))


# --- Linear regression -------------------------------------------------------------------------

def squared_loss(y_hat: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """Return the batch mean of (y_hat - y)^2 / 2 and its gradient (y_hat - y) / B, shaped like y_hat.

    >>> squared_loss(torch.tensor([[1.0], [2.0]]), torch.tensor([0.0, 0.0]))
    (tensor(1.2500), tensor([[0.5000],
            [1.0000]]))
    """
    error = y_hat - y.reshape(y_hat.shape)  # (B, 1); the reshape keeps (B, 1) - (B,) from making (B, B)
    return (error**2 / 2).mean(), error / len(error)


def sgd(params, lr: float) -> None:
    """Step every parameter against the gradient backward() wrote, in place.

    No zeroing: backward() overwrites ``.grad`` rather than adding to it, unlike autograd.
    """
    for param in params:
        if param.grad is not None:
            param.sub_(param.grad, alpha=lr)  # param -= lr * grad, in one pass


class SGD(scratch.SGD):
    """Minibatch SGD for a manual Model, stepping from backward()'s factors: W -= lr H^T dZ, one addmm_.

    The weight gradient H^T dZ is then never written to memory and read back: the product lands in
    W directly, one pass over each weight instead of three. On a 2-core CPU that saves 4-7% of an
    MLP epoch (``python benchmarks/bench_profile.py`` times both updates). The arithmetic is that
    of ``sgd`` on .grad; the tests compare the weights after 50 steps. It takes the model, not its
    parameters, to reach the factors, and turns the model's ``write_grads`` off: .grad stays None.
    """

    def __init__(self, model: Model, lr: float):
        super().__init__(model.parameters(), lr)
        self.model = model
        model.write_grads = False

    def step(self) -> None:
        if self.model.factors is None:  # no backward() since the last step: nothing to do, as torch.optim
            return
        for (W, b), (H, dZ) in zip(self.model.layers(), self.model.factors):
            W.addmm_(H.T, dZ, alpha=-self.lr)  # W -= lr H^T dZ
            b.sub_(dZ.sum(dim=0), alpha=self.lr)
        self.model.factors = None  # free the batch's activations, as autograd frees its graph


class LinearRegression(Model):
    """Return (B, 1) predictions X w + b for (B, num_inputs) inputs."""

    images = False

    def __init__(self, num_inputs: int, init: str = "normal", seed: int = 0):
        super().__init__(init_params({"w": (num_inputs, 1), "b": (1,)}, init, seed))
        self.num_inputs = num_inputs


# --- Softmax regression ------------------------------------------------------------------------

def cross_entropy(logits: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """Return the batch mean of -log softmax(logits)[y] and its gradient (softmax(logits) - onehot(y)) / B.

    Both come from one log_softmax (stable: logits minus their logsumexp), the gradient from its exp.

    >>> cross_entropy(torch.tensor([[0.0, 0.0]]), torch.tensor([1]))
    (tensor(0.6931), tensor([[ 0.5000, -0.5000]]))
    """
    log_probs = torch.log_softmax(logits, dim=1)  # (B, C)
    rows = y.reshape(-1, 1)  # (B, 1): each row's label column
    grad = log_probs.exp()  # softmax(logits), each row summing to 1
    grad.scatter_add_(1, rows, torch.full_like(rows, -1, dtype=grad.dtype))  # minus the one-hot labels
    return -log_probs.gather(1, rows).mean(), grad.div_(len(grad))


class SoftmaxRegression(Model):
    """Return (B, num_outputs) logits X W + b; softmax is left to the loss (cross_entropy)."""

    def __init__(self, num_inputs: int = 784, num_outputs: int = 10, init: str = "normal", seed: int = 0):
        super().__init__(init_params({"W": (num_inputs, num_outputs), "b": (num_outputs,)}, init, seed))
        self.num_inputs = num_inputs


# --- Multilayer perceptron ---------------------------------------------------------------------

def nonlinearity(name: str):
    """Return the activation called ``name`` with its hand-derived gradient (minidl.activations)."""
    return get_activation(name)


class MLP(Model):
    """Return (B, num_outputs) logits from a stack of linear layers with activations in between."""

    def __init__(self, num_inputs: int = 784, hidden: tuple[int, ...] = (256,), num_outputs: int = 10,
                 activation: str = "relu", init: str = "normal", seed: int = 0):
        params = init_params(mlp_shapes(num_inputs, hidden, num_outputs), init, seed)  # W1 (784, 256), b1, ...
        self.phi = nonlinearity(activation)
        super().__init__(params)
        self.num_inputs, self.activation = num_inputs, self.phi.name
