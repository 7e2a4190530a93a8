"""The JAX peers of bench_peers.py: one jitted step per batch, and one jitted lax.scan per epoch.

Both take what peers_torch's functions take (``task``, ``train``, ``test`` as NumPy arrays) and
return the same dict. The data goes to the device once, before any timing; every batch is gathered
on the device inside the compiled code from the epoch's permutation. XLA's CPU backend runs its
own thread pool, one thread per core by default (torch's default count is the same on a machine
whose cores are all its own); jax.config leaves float32 as the default type, as in torch.

compile_seconds: the jitted step's warm-up (one call per batch shape, as peers_torch's), the
scan's ahead-of-time ``lower().compile()`` of the whole epoch. The weights start from
peers_torch.initial_params, so every peer trains the same initial model.
"""
from __future__ import annotations

import time
from functools import partial

from common import Task
from peers_torch import batch_shapes, initial_params


def _setup(task: Task, train, test):
    """Return (jax, jnp, params, X, y, X_test, y_test) on the device; y as int32 (JAX's default)."""
    import jax
    import jax.numpy as jnp

    params = {k: jnp.asarray(v) for k, v in initial_params(task).items()}
    X, X_test = jnp.asarray(train[0]), jnp.asarray(test[0])
    y, y_test = jnp.asarray(train[1].astype("int32")), jnp.asarray(test[1].astype("int32"))
    return jax, jnp, params, X, y, X_test, y_test


def _sgd(jax, jnp, lr):
    """Return ``sgd(params, Xb, yb) -> params``: one SGD step on the mean cross-entropy."""
    def logits_of(params, Xb):  # (batch, 784) -> (batch, 10)
        return jax.nn.relu(Xb @ params["W1"] + params["b1"]) @ params["W2"] + params["b2"]

    def loss_of(params, Xb, yb):
        log_p = jax.nn.log_softmax(logits_of(params, Xb))  # log-sum-exp: no overflow
        return -jnp.mean(jnp.take_along_axis(log_p, yb[:, None], axis=1))

    def sgd(params, Xb, yb):
        grads = jax.grad(loss_of)(params, Xb, yb)
        return jax.tree.map(lambda p, g: p - lr * g, params, grads)

    return sgd, logits_of


def _accuracy(jnp, logits_of, params, X_test, y_test) -> float:
    return float(jnp.mean(jnp.argmax(logits_of(params, X_test), axis=1) == y_test))


def jit_step(task: Task, train, test) -> dict:
    """Train with ``jax.jit(step)``: one call per batch, the batch sliced from the permutation on the device."""
    jax, jnp, start_params, X, y, X_test, y_test = _setup(task, train, test)
    sgd, logits_of = _sgd(jax, jnp, task.lr)

    @partial(jax.jit, static_argnames="size")
    def step(params, X, y, order, first, size):  # X, y as arguments: captured, they would be constants
        rows = jax.lax.dynamic_slice_in_dim(order, first, size)
        return sgd(params, X[rows], y[rows])

    n, b = len(X), task.batch_size
    order = jnp.arange(n)
    start = time.perf_counter()
    for size in batch_shapes(n, b):
        jax.block_until_ready(step(start_params, X, y, order, 0, size))
    compile_seconds = time.perf_counter() - start
    params, key = start_params, jax.random.key(0)
    start = time.perf_counter()
    for _ in range(task.epochs):
        key, shuffle = jax.random.split(key)
        order = jax.random.permutation(shuffle, n)
        for first in range(0, n, b):
            params = step(params, X, y, order, first, min(b, n - first))
    jax.block_until_ready(params)  # dispatch is asynchronous: wait for the last step
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "compile_seconds": compile_seconds,
            "test_acc": _accuracy(jnp, logits_of, params, X_test, y_test)}


def scan_epochs(task: Task, train, test) -> dict:
    """Train with one jitted function per epoch: a lax.scan over its full batches, then the last, shorter one."""
    jax, jnp, start_params, X, y, X_test, y_test = _setup(task, train, test)
    sgd, logits_of = _sgd(jax, jnp, task.lr)
    n, b = len(X), task.batch_size
    full = n // b * b

    def epoch(params, X, y, key):
        order = jax.random.permutation(key, n)
        params, _ = jax.lax.scan(lambda p, rows: (sgd(p, X[rows], y[rows]), None),
                                 params, order[:full].reshape(-1, b))  # (n // b, b) row indices
        if full < n:
            params = sgd(params, X[order[full:]], y[order[full:]])
        return params

    key = jax.random.key(0)
    start = time.perf_counter()
    compiled = jax.jit(epoch).lower(start_params, X, y, key).compile()
    compile_seconds = time.perf_counter() - start
    params = start_params
    start = time.perf_counter()
    for _ in range(task.epochs):
        key, shuffle = jax.random.split(key)
        params = compiled(params, X, y, shuffle)
    jax.block_until_ready(params)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "compile_seconds": compile_seconds,
            "test_acc": _accuracy(jnp, logits_of, params, X_test, y_test)}
