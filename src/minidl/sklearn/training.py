"""The epochs of ``sgd`` and ``adam``: minibatches, the loss curve, ``tol`` and early stopping.

One epoch: the rows in a shuffled order (``shuffle``; from the estimator's own generator, so a
``partial_fit`` continues the order a ``fit`` would take), each batch forward, objective,
zero_grad, backward, step. After it, the epoch's mean loss joins ``loss_curve_`` and the
improvement is counted as scikit-learn counts it: without ``early_stopping``, the training loss must
fall below ``best_loss_ - tol``; with it, the validation score (accuracy, or R^2) must rise above
``best_validation_score_ + tol``, and the best epoch's weights are the ones kept. More than
``n_iter_no_change`` epochs without improvement stop training (``adaptive`` first divides its rate).
Reaching ``max_iter`` instead warns with a ConvergenceWarning. ``tol=None`` never stops or warns.
"""
from __future__ import annotations

import warnings

import torch
from sklearn.exceptions import ConvergenceWarning

from minidl.training.schedules import set_lr
from minidl.sklearn.losses import objective
from minidl.sklearn.network import load_coefs, to_coefs
from minidl.sklearn.params import batch_size
from minidl.sklearn.solvers import epoch_end_rate, on_plateau, optimizer_for


def run_epochs(est, model, train, val, out: str, *, incremental: bool) -> None:
    """Train ``model`` on the Rows ``train`` for up to ``max_iter`` epochs (one if ``incremental``)."""
    optimizer = optimizer_for(est, model.parameters())
    if incremental and getattr(est, "_optimizer_state", None) is not None:
        optimizer.load_state_dict(est._optimizer_state)  # momentum, Adam's moments and the rate go on
    lr = optimizer.param_groups[0]["lr"]
    generator = torch.Generator()
    generator.set_state(est._shuffle_state)
    for _ in range(1 if incremental else est.max_iter):
        est.loss_ = one_epoch(est, model, optimizer, train, out, generator)
        est.n_iter_, est.t_ = est.n_iter_ + 1, est.t_ + len(train)
        est.loss_curve_.append(est.loss_)
        if est.verbose:
            print(f"Iteration {est.n_iter_}, loss = {est.loss_:.8f}")
        count_improvement(est, model, val)
        lr = set_lr(optimizer, epoch_end_rate(est, lr, est.t_))
        if est._no_improvement_count > est.n_iter_no_change:
            lr = on_plateau(est, optimizer, lr)
            if lr is None:
                break
            est._no_improvement_count = 0
    else:
        if not incremental and est.tol is not None:
            warnings.warn(f"{est.solver} reached max_iter={est.max_iter} epochs before the loss stopped improving "
                          f"by tol={est.tol}; raise max_iter (or tol)", ConvergenceWarning)
    est._optimizer_state, est._shuffle_state = optimizer.state_dict(), generator.get_state()
    if val is not None and getattr(est, "_best_coefs", None) is not None:
        load_coefs(model, *est._best_coefs)  # the best validation epoch's weights


def one_epoch(est, model, optimizer, train, out: str, generator) -> float:
    """Return the epoch's mean objective after one pass of minibatch steps over ``train``."""
    n, size = len(train), batch_size(est, len(train))
    order = torch.randperm(n, generator=generator) if est.shuffle else torch.arange(n)
    order = order.to(train.device)
    total = 0.0
    for start in range(0, n, size):
        X, Y, w = train.batch(order[start:start + size])
        if not w.sum() > 0:  # a batch of zero weight holds no data to learn from
            continue
        loss = objective(model, X, Y, w, out, est.alpha)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(w)
    return total / n


def count_improvement(est, model, val) -> None:
    """Count an epoch without improvement by ``tol``, keeping the best loss, score and weights."""
    tol = 0.0 if est.tol is None else est.tol
    if val is None:
        stalled = est.loss_curve_[-1] > est.best_loss_ - tol
        est.best_loss_ = min(est.best_loss_, est.loss_curve_[-1])
    else:
        score = est._validation_score(model, val)
        est.validation_scores_.append(score)
        if est.verbose:
            print(f"Validation score: {score:f}")
        stalled = score < est.best_validation_score_ + tol
        if score > est.best_validation_score_:
            est.best_validation_score_ = score
            est._best_coefs = to_coefs(model, est._dtype)
    est._no_improvement_count = est._no_improvement_count + 1 if stalled and est.tol is not None else 0
