"""The book's training helpers for `minidl.d2l`: `train_ch3`, `predict_ch3` and friends.

Fixed against the published versions, with the same printed output: the loss is reported per
example whatever the loss's reduction and however short the last batch; accuracy is counted per
example; evaluation runs in eval mode without autograd (see `minidl.d2l.evaluate`); batches move
to the model's device; the running sums stay tensors, read once per epoch.

Gradients are those the book computes: with a torch optimizer, of the batch mean of what the loss
returns; with a function updater (like `sgd`, which divides by the batch size), of its sum.
"""
import numbers
import time

import numpy as np
import torch
from torch import nn

from minidl.d2l.data import get_fashion_mnist_labels, sgd
from minidl.d2l.evaluate import (_correct, _device_of, _evaluating, _evaluation_call, _loss_sum,
                                 evaluate_accuracy)
from minidl.d2l.figures import Animator, in_notebook, show_images
from minidl.errors import ConfigError


class FlattenLayer(nn.Module):
    """Reshape (B, ...) inputs to (B, features), like nn.Flatten."""

    def forward(self, x):
        return x.reshape(x.shape[0], -1)


class Accumulator:
    """Keep running sums of n quantities.

    >>> metric = Accumulator(2)
    >>> metric.add(3, torch.tensor(4)); metric.add(1, 1); metric[0], metric[1]
    (4.0, 5.0)
    """

    def __init__(self, n):
        self.data = [0.0] * n

    def add(self, *args):
        # .detach(): a lesson may add a loss that still requires grad (the book's evaluate_loss)
        self.data = [a + float(b.detach() if torch.is_tensor(b) else b)
                     for a, b in zip(self.data, args)]

    def reset(self):
        self.data = [0.0] * len(self.data)

    def __getitem__(self, idx):
        return self.data[idx]


def train_epoch_ch3(net, train_iter, loss, updater):
    """Return (loss per example, accuracy) after one epoch of training `net` on `train_iter`.

    `updater` is a torch optimizer (stepped on the batch mean loss) or a function
    `updater(batch_size)` (called after backward of the summed loss, e.g. d2l.sgd).
    """
    if hasattr(net, "train"):
        net.train()
    device = _device_of(net)
    # Running sums: tensors after the first batch, added to in place and read once at the end;
    # reading them every batch (.item()) would wait on the device.
    total_loss, correct, n = 0, 0, 0
    for X, y in train_iter:
        if device is not None:
            X, y = X.to(device), y.to(device)
        y_hat = net(X)
        l = loss(y_hat, y)
        if isinstance(updater, torch.optim.Optimizer):
            updater.zero_grad()
            (l.mean() if l.dim() else l).backward()  # a 0-d loss is already a mean (or a sum)
            updater.step()
        else:
            l.sum().backward()
            updater(X.shape[0])  # the real batch size: the last batch may be short
        total_loss += _loss_sum(l, loss, len(y))
        correct += _correct(y_hat.detach(), y)
        n += len(y)
    if n == 0:
        raise ConfigError("train_epoch_ch3: the training iterator yielded no examples")
    return float(total_loss) / n, float(correct) / n


def _is_batch_size(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def train_ch3(net, train_iter, test_iter, loss, num_epochs, updater=None, params=None, lr=None,
              optimizer=None, *, batch_size=None):
    """Train `net` for `num_epochs`, printing loss, train and test accuracy after each epoch.

    Both published signatures:
    - d2l 0.17: ``train_ch3(net, train_iter, test_iter, loss, num_epochs, updater)``, updater a
      torch optimizer or a function ``updater(batch_size)``;
    - the Chinese course: ``train_ch3(net, train_iter, test_iter, loss, num_epochs, batch_size,
      params=None, lr=None, optimizer=None)``, stepping with `optimizer`, else with
      ``sgd(params, lr, size of the batch)``.
    An int in sixth place is the port's batch size. It is not used: `sgd` divides by the size of
    each batch, so a short last batch takes a step of the right size. Prints ``epoch 1, loss
    0.xxxx, train acc 0.xxx, test acc 0.xxx``. An Animator also draws the curves: in Jupyter,
    and in a script for d2l 0.17's signature (to a PNG in the current folder, its path printed).
    """
    sixth = updater
    course = updater is None or _is_batch_size(updater)  # the port's batch_size in sixth place
    if course:
        updater = None
    if updater is None and optimizer is not None:
        updater = optimizer
    elif updater is None and params is not None and lr is not None:
        params = list(params)
        for param in params:  # a stale gradient would leak into the first step
            param.grad = None

        def updater(size):
            sgd(params, lr, size)
    if not (isinstance(updater, torch.optim.Optimizer) or callable(updater)):
        given = "given" if params is not None else "None"
        raise ConfigError(
            f"train_ch3 got {sixth!r} after num_epochs, params {given}, lr {lr!r} and no optimizer: "
            "pass an optimizer or a function updater(batch_size) after num_epochs (d2l 0.17), or "
            "batch_size followed by [W, b], lr or by None, None, optimizer (the Chinese course)")
    draw = in_notebook() or not course  # d2l 0.17 draws (a PNG in a script); the course prints
    animator = Animator(xlabel="epoch", xlim=[1, num_epochs], ylim=[0.3, 0.9],
                        legend=["train loss", "train acc", "test acc"]) if draw else None
    for epoch in range(num_epochs):
        train_loss, train_acc = train_epoch_ch3(net, train_iter, loss, updater)
        test_acc = evaluate_accuracy(test_iter, net)
        print(f"epoch {epoch + 1}, loss {train_loss:.4f}, train acc {train_acc:.3f}, "
              f"test acc {test_acc:.3f}")
        if animator is not None:
            animator.add(epoch + 1, (train_loss, train_acc, test_acc))


def predict_ch3(net, test_iter, n=6):
    """Show the first `n` test images titled with their true and predicted labels; return None.

    Returns nothing, as the book's does, so a notebook cell ending with it shows only the images.
    """
    X, y = next(iter(test_iter))
    X, y = X[:n], y[:n]
    device = _device_of(net)
    with _evaluating(net):
        predictions = _evaluation_call(net)(X.to(device) if device is not None else X).argmax(dim=1)
    trues = get_fashion_mnist_labels(y)
    preds = get_fashion_mnist_labels(predictions)
    titles = [true + "\n" + pred for true, pred in zip(trues, preds)]
    show_images(X.reshape(len(X), *X.shape[-2:]), 1, len(X), titles=titles)


# --- Utilities -----------------------------------------------------------------------------------

class Timer:
    """Record running times.

    >>> timer = Timer(); t = timer.stop(); len(timer.times), timer.sum() == t
    (1, True)
    """

    def __init__(self):
        self.times = []
        self.start()

    def start(self):
        """Start the timer."""
        self.tik = time.perf_counter()

    def stop(self):
        """Stop the timer; record and return the seconds since start()."""
        self.times.append(time.perf_counter() - self.tik)
        return self.times[-1]

    def avg(self):
        return sum(self.times) / len(self.times)

    def sum(self):
        return sum(self.times)

    def cumsum(self):
        return np.array(self.times).cumsum().tolist()


def try_gpu(i=0):
    """Return cuda:i if that GPU exists, else the CPU."""
    if torch.cuda.device_count() >= i + 1:
        return torch.device(f"cuda:{i}")
    return torch.device("cpu")


def try_all_gpus():
    """Return every GPU, or [cpu] when there is none."""
    devices = [torch.device(f"cuda:{i}") for i in range(torch.cuda.device_count())]
    return devices if devices else [torch.device("cpu")]
