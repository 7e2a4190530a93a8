"""The PyTorch peers of bench_peers.py: an eager loop, torch.compile of its step, and a one-graph functional step.

Every function here trains ``task`` (a common.Task) on ``train`` = (X float32 (n, 784) in [0, 1],
y int64 (n,)) as NumPy arrays, shuffled each epoch, and returns {"seconds", "compile_seconds",
"test_acc"}: seconds is the training passes only (a fresh randperm per epoch and every batch's
step); compile_seconds is None for the eager loop, else the untimed warm-up that compiles every
batch shape an epoch has (one step each: the full batch, and the last, shorter one where n is not
a multiple of the batch), after which the weights go back to their initial values, so the timed
epochs train the model from the same start as everyone else's.
"""
from __future__ import annotations

import logging
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from common import Task, torch_model


def initial_params(task: Task) -> dict[str, np.ndarray]:
    """Return common.torch_model's initial weights in canonical form: W1 (784, h), b1 (h,), W2 (h, 10), b2 (10,)."""
    first, _, last = torch_model(task, flatten=False)
    return {"W1": first.weight.detach().T.numpy().copy(), "b1": first.bias.detach().numpy().copy(),
            "W2": last.weight.detach().T.numpy().copy(), "b2": last.bias.detach().numpy().copy()}


def batch_shapes(n: int, batch_size: int) -> list[int]:
    """Return the batch sizes one epoch over ``n`` examples has: ``batch_size`` and the remainder, if any."""
    return [batch_size] + ([n % batch_size] if n % batch_size and n > batch_size else [])


def accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    """Return the share of rows whose largest logit is the label."""
    return (logits.argmax(dim=1) == y).float().mean().item()


def module_loop(task: Task, train, test, compiled: bool) -> dict:
    """Train nn.Sequential with torch.optim.SGD; ``compiled``: the whole step under torch.compile.

    The step is forward, loss, zero_grad, backward, step; torch.compile takes the function as it
    is (``dynamic=False``: one graph per batch shape), backward and the optimizer's step included.
    """
    X, y = (torch.from_numpy(a) for a in train)
    net = torch_model(task, flatten=False)
    start_weights = {k: v.clone() for k, v in net.state_dict().items()}
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(net.parameters(), lr=task.lr)

    def step(Xb, yb):
        loss = loss_fn(net(Xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    compile_seconds = None
    if compiled:
        step = _compile(step)
        start = time.perf_counter()
        for size in batch_shapes(len(X), task.batch_size):
            step(X[:size], y[:size])
        compile_seconds = time.perf_counter() - start
        net.load_state_dict(start_weights)  # in place: the compiled graphs hold these tensors
    start = time.perf_counter()
    for rows in shuffled_rows(len(X), task):
        step(X[rows], y[rows])
    seconds = time.perf_counter() - start
    with torch.no_grad():
        test_acc = accuracy(net(torch.from_numpy(test[0])), torch.from_numpy(test[1]))
    return {"seconds": seconds, "compile_seconds": compile_seconds, "test_acc": test_acc}


def shuffled_rows(n: int, task: Task):
    """Yield each batch's row indices for ``task.epochs`` epochs over ``n`` examples, shuffled anew each
    epoch by a generator seeded 0 (both torch loops see the same batches)."""
    generator = torch.Generator().manual_seed(0)
    for _ in range(task.epochs):
        order = torch.randperm(n, generator=generator)
        for first in range(0, n, task.batch_size):
            yield order[first:first + task.batch_size]


def mlp_logits(params: dict, X: torch.Tensor) -> torch.Tensor:
    """Return the 784-h-10 ReLU MLP's logits: (batch, 784) -> (batch, 10)."""
    return torch.relu(X @ params["W1"] + params["b1"]) @ params["W2"] + params["b2"]


def functional_loop(task: Task, train, test) -> dict:
    """Train with a pure ``step(params, X, y) -> params``, one graph under torch.compile(fullgraph=True).

    The gradients come from torch.func.grad inside the graph; the SGD update returns new tensors.
    """
    X, y = (torch.from_numpy(a) for a in train)
    start_params = {k: torch.from_numpy(v) for k, v in initial_params(task).items()}
    lr = task.lr

    def loss_of(params, Xb, yb):
        return F.cross_entropy(mlp_logits(params, Xb), yb)

    def step(params, Xb, yb):
        grads = torch.func.grad(loss_of)(params, Xb, yb)
        return {k: params[k] - lr * grads[k] for k in params}

    step = _compile(step, fullgraph=True)
    start = time.perf_counter()
    for size in batch_shapes(len(X), task.batch_size):
        step(start_params, X[:size], y[:size])  # the results are thrown away: warm-up only
    compile_seconds = time.perf_counter() - start
    params = start_params
    start = time.perf_counter()
    for rows in shuffled_rows(len(X), task):
        params = step(params, X[rows], y[rows])
    seconds = time.perf_counter() - start
    test_acc = accuracy(mlp_logits(params, torch.from_numpy(test[0])), torch.from_numpy(test[1]))
    return {"seconds": seconds, "compile_seconds": compile_seconds, "test_acc": test_acc}


def _compile(fn, fullgraph: bool = False):
    """Return torch.compile(fn) starting from empty dynamo caches (each run compiles afresh).

    Without the reset, every run's new model would count as a recompile of the same code, and past
    dynamo's recompile limit torch silently runs the step eagerly. Inductor's on-disk caches stay:
    a run after the first may compile faster.
    """
    torch._dynamo.reset()
    torch._logging.set_logs(dynamo=logging.ERROR)  # e.g. "Profiler record function ... will be ignored"
    return torch.compile(fn, fullgraph=fullgraph, dynamic=False)
