"""The solvers by scikit-learn's names, on torch.optim: ``sgd`` and ``adam`` step per minibatch,
``lbfgs`` minimises the full-batch objective with torch.optim.LBFGS.

``sgd`` is torch.optim.SGD with ``momentum`` (and ``nesterovs_momentum``): for a constant rate its
velocity is scikit-learn's divided by -lr, the same steps. Its rate follows ``learning_rate``:
``constant``; ``invscaling``, learning_rate_init / (t + 1) ** power_t after each epoch, t the rows
seen so far; ``adaptive``, divided by 5 each time ``n_iter_no_change`` epochs bring no improvement
of ``tol``, until it falls under 1e-6. ``adam`` is torch.optim.Adam with ``beta_1``, ``beta_2``,
``epsilon``.
"""
from __future__ import annotations

import torch

from minidl.sklearn.losses import penalty, weighted_loss
from minidl.training.schedules import set_lr

SMALLEST_ADAPTIVE_RATE = 1e-6  # adaptive stops once its rate would go under this


def optimizer_for(est, params):
    """Return the torch.optim optimizer for ``est.solver`` (sgd or adam) over ``params``."""
    if est.solver == "adam":
        return torch.optim.Adam(params, lr=est.learning_rate_init, betas=(est.beta_1, est.beta_2), eps=est.epsilon)
    nesterov = bool(est.nesterovs_momentum) and est.momentum > 0  # torch's Nesterov needs momentum
    return torch.optim.SGD(params, lr=est.learning_rate_init, momentum=est.momentum, nesterov=nesterov)


def epoch_end_rate(est, lr: float, rows_seen: int) -> float:
    """Return the rate for the next epoch: invscaling's lr_init / (t + 1) ** power_t, else ``lr``."""
    if est.solver == "sgd" and est.learning_rate == "invscaling":
        return est.learning_rate_init / (rows_seen + 1) ** est.power_t
    return lr


def on_plateau(est, optimizer, lr: float) -> float | None:
    """Return the rate to go on with after a plateau (adaptive: lr / 5), or None: stop training."""
    if est.solver == "sgd" and est.learning_rate == "adaptive" and lr > SMALLEST_ADAPTIVE_RATE:
        return set_lr(optimizer, lr / 5)
    return None


def lbfgs(est, model, rows, out: str) -> tuple[float, int, bool]:
    """Minimise the full-batch objective; return (final loss, iterations, whether it converged).

    Each evaluation runs the rows through in chunks (a sparse X densified a chunk at a time),
    backpropagating each chunk's share, so the gradient is the whole set's. ``max_iter`` bounds the
    iterations, ``max_fun`` the evaluations, ``tol`` the largest gradient entry at convergence.
    """
    tol = 0.0 if est.tol is None else est.tol
    optimizer = torch.optim.LBFGS(model.parameters(), lr=1, max_iter=est.max_iter, max_eval=est.max_fun,
                                  tolerance_grad=tol, history_size=10, line_search_fn="strong_wolfe")
    total = rows.w.sum()

    def closure():
        optimizer.zero_grad()
        loss = penalty(model, est.alpha) / total
        loss.backward()
        value = loss.detach()
        for X, Y, w in rows.chunks():
            part = weighted_loss(model, X, Y, w, out) / total
            part.backward()
            value = value + part.detach()
        return value

    optimizer.step(closure)
    state = next(iter(optimizer.state.values()))
    n_iter, evals = int(state["n_iter"]), int(state["func_evals"])
    final = float(closure())  # the objective where LBFGS stopped
    optimizer.zero_grad()
    return final, n_iter, n_iter < est.max_iter and evals < est.max_fun
