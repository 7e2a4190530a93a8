"""The book's recipe (d2l 0.17): a per-image PIL dataset in DataLoaders with worker processes,
and train_ch3's epoch loop, whose Accumulator turns every batch's loss and accuracy into Python
floats. Written out here (without the book's Animator, which redraws a figure every epoch) so the
benchmarks time exactly the book's data path and loop, nothing of minidl's.
"""
from __future__ import annotations

import time
import warnings

import torch
from torch import nn

from common import Data, Task, torch_model


class Accumulator:
    """The book's running sums: ``add`` turns every value into a Python float (``.item()``)."""

    def __init__(self, n):
        self.data = [0.0] * n

    def add(self, *args):
        self.data = [a + float(b) for a, b in zip(self.data, args)]

    def __getitem__(self, i):
        return self.data[i]


def book_accuracy(y_hat, y):
    return float((y_hat.argmax(axis=1).type(y.dtype) == y).type(y.dtype).sum())


def book_evaluate_accuracy(net, data_iter):
    net.eval()
    metric = Accumulator(2)
    with torch.no_grad():
        for X, y in data_iter:
            metric.add(book_accuracy(net(X), y), y.numel())
    return metric[0] / metric[1]


def book_train_epoch(net, train_iter, loss, updater):
    net.train()
    metric = Accumulator(3)
    for X, y in train_iter:
        y_hat = net(X)
        l = loss(y_hat, y)
        updater.zero_grad()
        l.mean().backward()
        updater.step()
        metric.add(float(l.sum()), book_accuracy(y_hat, y), y.numel())
    return metric[0] / metric[2], metric[1] / metric[2]


def book_recipe(data: Data, task: Task, workers: int) -> dict:
    """Train as the book does: a per-image PIL dataset, DataLoader workers, train_ch3's loop."""
    from torch.utils.data import DataLoader

    from bench_loader import PILFashionMNIST  # __getitem__: uint8 -> PIL image -> ToTensor

    train_iter = DataLoader(PILFashionMNIST(data.X_train, data.y_train), task.batch_size,
                            shuffle=True, num_workers=workers)
    test_iter = DataLoader(PILFashionMNIST(data.X_test, data.y_test), task.batch_size,
                           shuffle=False, num_workers=workers)
    net = torch_model(task)
    loss = nn.CrossEntropyLoss(reduction="none")
    trainer = torch.optim.SGD(net.parameters(), lr=task.lr)
    seconds, start = 0.0, time.perf_counter()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*(worker processes|requires_grad=True to a scalar).*")
        for _ in range(task.epochs):
            epoch_start = time.perf_counter()
            book_train_epoch(net, train_iter, loss, trainer)
            seconds += time.perf_counter() - epoch_start
            test_acc = book_evaluate_accuracy(net, test_iter)  # the book evaluates every epoch
    return {"seconds": seconds, "test_acc": test_acc, "wall_seconds": time.perf_counter() - start}
