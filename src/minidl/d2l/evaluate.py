"""The book's evaluation helpers for `minidl.d2l`: `accuracy`, `evaluate_accuracy`, `evaluate_loss`.

Fixed against the published versions: accuracy and loss are per example whatever the loss's
reduction and however short the last batch; evaluation runs in eval mode without autograd and
restores the net's previous mode (a plain function taking `is_training`, as the course's dropout
net, is called with `is_training=False`); batches move to the model's device.
"""
import contextlib
import inspect

import torch
from torch import nn

from minidl.errors import ConfigError


def _correct(y_hat, y):
    """Return how many predictions are right, as a tensor: y_hat (B, C) scores or (B,) labels."""
    if y_hat.dim() > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(dim=1)
    return (y_hat.reshape(y.shape).to(y.dtype) == y).sum()


def accuracy(y_hat, y):
    """Return the number of correct predictions as a float (a count: divide by the examples).

    >>> accuracy(torch.tensor([[0.1, 0.9], [0.8, 0.2]]), torch.tensor([1, 1]))
    1.0
    """
    return float(_correct(y_hat, y))


def _device_of(net):
    """Return the device of the first parameter of an nn.Module-like net, else None."""
    parameters = getattr(net, "parameters", None)
    first = next(iter(parameters()), None) if callable(parameters) else None
    return first.device if first is not None else None


@contextlib.contextmanager
def _evaluating(net):
    """Run the block in eval mode without autograd, then restore the net's previous mode."""
    was_training = getattr(net, "training", None)  # a plain function has no mode
    if was_training is not None:
        net.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        if was_training is not None:
            net.train(was_training)


def _takes_is_training(net) -> bool:
    """Return True if `net` is a plain function with an `is_training` argument (the course's dropout net)."""
    if isinstance(net, nn.Module):
        return False  # a module says it with .train() / .eval()
    try:
        return "is_training" in inspect.signature(net).parameters
    except (TypeError, ValueError):  # a builtin or C callable: no signature to read
        return False


def _evaluation_call(net):
    """Return `net` as a function of X for evaluation: the course's `net(X, is_training=False)`."""
    if _takes_is_training(net):
        return lambda X: net(X, is_training=False)
    return net


def evaluate_accuracy(data_iter, net, device=None):
    """Return the fraction of examples in `data_iter` that `net` classifies right.

    Runs in eval mode (the previous mode is restored) on `device`, default the model's; `net` may
    be a module or a plain function, called as `net(X, is_training=False)` when it takes that
    argument (the course's dropout lesson). d2l 0.17's order, `evaluate_accuracy(net, data_iter)`,
    works too.
    """
    if callable(data_iter) and not callable(net):  # d2l 0.17 passes the net first
        data_iter, net = net, data_iter
    device = device if device is not None else _device_of(net)
    predict = _evaluation_call(net)
    correct, n = 0, 0
    with _evaluating(net):
        for X, y in data_iter:
            if device is not None:
                X, y = X.to(device), y.to(device)
            correct += _correct(predict(X), y)  # a tensor: no wait on the device per batch
            n += len(y)
    if n == 0:
        raise ConfigError("evaluate_accuracy: the data iterator yielded no examples")
    return float(correct) / n


def _loss_sum(l, loss, batch_size):
    """Return the batch's summed per-example loss (float64) from what `loss` returned."""
    l = l.detach()
    if l.dim() > 0:  # reduction "none": a value per example (or per element)
        return l.sum(dtype=torch.float64)
    if getattr(loss, "reduction", "mean") == "sum":
        return l.double()
    return l.double() * batch_size  # a batch mean, the default of torch's losses


def evaluate_loss(net, data_iter, loss):
    """Return the mean per-example loss of `net` on `data_iter` (d2l 0.17's underfit/overfit lesson).

    Per example whatever the loss's reduction ("none", "mean" or "sum") and however short the
    last batch; targets are reshaped to the output's shape, as the book does, so (B,) labels meet
    (B, 1) predictions without broadcasting to (B, B). Evaluates like `evaluate_accuracy`.

    >>> X, y = torch.tensor([[1.0], [2.0], [3.0]]), torch.tensor([1.0, 1.0, 1.0])
    >>> evaluate_loss(lambda X: X, [(X[:2], y[:2]), (X[2:], y[2:])], nn.MSELoss())
    1.6666666666666667
    """
    device = _device_of(net)
    predict = _evaluation_call(net)
    total, n = 0, 0
    with _evaluating(net):
        for X, y in data_iter:
            if device is not None:
                X, y = X.to(device), y.to(device)
            out = predict(X)
            total += _loss_sum(loss(out, y.reshape(out.shape)), loss, len(y))
            n += len(y)
    if n == 0:
        raise ConfigError("evaluate_loss: the data iterator yielded no examples")
    return float(total) / n
