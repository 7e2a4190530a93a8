"""The 1.0 edition's models: `Module` and `Classifier`, and the chapters' linear and softmax models.

A `Module` is a torch `nn.Module` that also knows its loss, its optimizer and how it reports a
training step to its `ProgressBoard`; `Trainer.fit` runs it. The losses and the accuracy are
minidl's (`minidl.lessons.scratch`, `minidl.lessons.concise`); what `plot` hands the board stays a tensor until
the board averages a group of points, so a fit on a GPU does not wait for the device every step.

>>> model = SoftmaxRegression(num_outputs=3, lr=0.1)
>>> Y_hat = torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
>>> model.accuracy(Y_hat, torch.tensor([0, 1]), averaged=False)
tensor([1., 0.])
"""
import torch
from torch import nn
from torch.nn import functional as F

from minidl.lessons import concise, scratch
from minidl.d2l.board import ProgressBoard
from minidl.d2l.hyper import HyperParameters
from minidl.errors import ConfigError

nn_Module = nn.Module  # the book's name for the base of its models


class Module(nn_Module, HyperParameters):
    """The base class of the 1.0 book's models: `net` (or `forward`), `loss`, `configure_optimizers`.

    `plot_train_per_epoch` and `plot_valid_per_epoch`: how many points per epoch the board gets
    for the training and the validation batches.
    """

    def __init__(self, plot_train_per_epoch=2, plot_valid_per_epoch=1):
        super().__init__()
        self.save_hyperparameters()
        self.board = ProgressBoard()

    def loss(self, y_hat, y):
        raise NotImplementedError(f"{type(self).__name__} has no loss: define loss(self, y_hat, y)")

    def forward(self, X):
        if not hasattr(self, "net"):
            raise ConfigError(f"{type(self).__name__} has no network: set self.net in __init__ "
                              "or define forward(self, X)")
        return self.net(X)

    def plot(self, key, value, train, weight=1):
        """Send `value` to the board as line train_{key} or val_{key}, at the trainer's position.

        Training points sit at fractions of an epoch, validation points at the epoch's end;
        `plot_train_per_epoch` (`plot_valid_per_epoch`) groups of batches are averaged into
        one point each. `weight` (an extension): the batch's size, so averages are per example.
        """
        trainer = getattr(self, "trainer", None)
        if trainer is None:
            raise ConfigError(f"{type(self).__name__}.plot needs a Trainer: call "
                              "trainer.fit(model, data) first")
        self.board.xlabel = "epoch"
        if train:
            x = trainer.train_batch_idx / trainer.num_train_batches
            every_n = trainer.num_train_batches / self.plot_train_per_epoch
        else:
            x = trainer.epoch + 1
            every_n = trainer.num_val_batches / self.plot_valid_per_epoch
        value = value.detach() if torch.is_tensor(value) else value
        self.board.draw(x, value, ("train_" if train else "val_") + key, every_n=int(every_n),
                        weight=weight)

    def training_step(self, batch):
        """Return the loss of one training batch (X..., y), after plotting it."""
        l = self.loss(self(*batch[:-1]), batch[-1])
        self.plot("loss", l, train=True, weight=len(batch[-1]))
        return l

    def validation_step(self, batch):
        """Plot the loss of one validation batch (X..., y)."""
        l = self.loss(self(*batch[:-1]), batch[-1])
        self.plot("loss", l, train=False, weight=len(batch[-1]))

    def configure_optimizers(self):
        """Return the optimizer of the model's parameters: minibatch SGD at `self.lr`."""
        return torch.optim.SGD(self.parameters(), lr=self.lr)

    def apply_init(self, inputs, init=None):
        """Run one forward pass on `inputs` (which sizes lazy layers), then apply `init` to `net`."""
        self.forward(*inputs)
        if init is not None:
            self.net.apply(init)


class Classifier(Module):
    """The base class of classification models: cross-entropy loss, accuracy on validation."""

    def validation_step(self, batch):
        """Plot the loss and the accuracy of one validation batch (X..., y)."""
        Y_hat = self(*batch[:-1])
        n = len(batch[-1])
        self.plot("loss", self.loss(Y_hat, batch[-1]), train=False, weight=n)
        self.plot("acc", self.accuracy(Y_hat, batch[-1]), train=False, weight=n)

    def accuracy(self, Y_hat, Y, averaged=True):
        """Return the fraction of rows of Y_hat whose largest score is on label Y (averaged=False:
        each example's correctness, 1.0 or 0.0)."""
        Y_hat = Y_hat.reshape(-1, Y_hat.shape[-1])  # (B, classes) scores
        correct = (Y_hat.argmax(dim=1) == Y.reshape(-1)).to(torch.float32)  # (B,)
        return correct.mean() if averaged else correct

    def loss(self, Y_hat, Y, averaged=True):
        """Return the cross-entropy of logits Y_hat and labels Y: the batch mean, or (B,) values."""
        Y_hat = Y_hat.reshape(-1, Y_hat.shape[-1])
        if averaged:
            return concise.cross_entropy(Y_hat, Y)
        return F.cross_entropy(Y_hat, Y.reshape(-1), reduction="none")


class SGD(HyperParameters):
    """Minibatch stochastic gradient descent on a list of tensors (the 1.0 book's; `d2l.sgd` is 0.17's)."""

    def __init__(self, params, lr):
        self.save_hyperparameters()

    @torch.no_grad()
    def step(self):
        """Move each parameter by -lr times its gradient."""
        for param in self.params:
            param -= self.lr * param.grad

    def zero_grad(self):
        """Set every gradient to zero."""
        for param in self.params:
            if param.grad is not None:
                param.grad.zero_()


class LinearRegressionScratch(Module):
    """Linear regression from scratch: w (num_inputs, 1) drawn from N(0, sigma^2), b = 0."""

    def __init__(self, num_inputs, lr, sigma=0.01):
        super().__init__()
        self.save_hyperparameters()
        self.w = torch.normal(0, sigma, (num_inputs, 1), requires_grad=True)
        self.b = torch.zeros(1, requires_grad=True)

    def forward(self, X):
        return scratch.linreg(X, self.w, self.b)  # (B, d) -> (B, 1)

    def loss(self, y_hat, y):
        return scratch.squared_loss(y_hat, y)  # the batch mean of (y_hat - y)^2 / 2

    def configure_optimizers(self):
        return SGD([self.w, self.b], self.lr)


class _LazyLinear(nn.LazyLinear):
    """nn.LazyLinear whose weight is drawn from N(0, sigma^2) and bias zeroed when it is sized.

    The book sets these values on the unsized layer, where they are lost: the first batch
    sizes it and torch's default initialisation replaces them.
    """

    sigma = 0.01  # a class default: nn.Linear's __init__ resets the empty layer before ours runs

    def __init__(self, out_features, sigma):
        super().__init__(out_features)
        self.sigma = sigma

    def reset_parameters(self):
        if not self.has_uninitialized_params() and self.in_features != 0:
            nn.init.normal_(self.weight, 0, self.sigma)
            nn.init.zeros_(self.bias)


class LinearRegression(Module):
    """Linear regression with torch.nn: a lazily sized nn.Linear, mean squared error, torch's SGD."""

    def __init__(self, lr):
        super().__init__()
        self.save_hyperparameters()
        self.net = _LazyLinear(1, sigma=0.01)

    def forward(self, X):
        return self.net(X)

    def loss(self, y_hat, y):
        return F.mse_loss(y_hat, y.reshape(y_hat.shape))  # nn.MSELoss(): no 1/2, as the book

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), self.lr)

    def get_w_b(self):
        """Return (weight (1, d), bias (1,)), the layer's own tensors."""
        return self.net.weight.data, self.net.bias.data


class SoftmaxRegression(Classifier):
    """Softmax regression with torch.nn: flatten, then a lazily sized linear layer to the logits."""

    def __init__(self, num_outputs, lr):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(nn.Flatten(), nn.LazyLinear(num_outputs))  # (B, ...) -> (B, C)

    def forward(self, X):
        return self.net(X)
