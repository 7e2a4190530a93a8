"""The learning-rate range test (Smith 2015; fastai's ``lr_find``, Lightning's ``Tuner.lr_find``).

Train a fresh copy of the model for up to ``steps`` minibatches while the learning rate grows
geometrically from ``start`` to ``end``; after each step record the loss on a probe, the same
``PROBE_ROWS`` training examples every time (a minibatch's own loss varies from batch to batch by
more than a step changes it: on the lesson's line, by 2x), smoothed by a short exponential moving
average (debiased, as fastai's), and stop once it climbs past ``DIVERGED`` times the best smoothed
loss. The suggestion is the lr where the smoothed loss falls fastest, the steepest descent of
log loss against log lr (Lightning's rule, and fastai's ``steep``, on the log of the loss: a
squared loss falling from 16 to 1e-4, as linreg's on the line, falls fastest in its own units at
the start, far from its floor), taken before the loss reaches its minimum; ``min_lr / 10``
(fastai's older rule) is reported beside it.

Nothing is written but the figure, and the model trained here is thrown away: the run trained
afterwards starts from its own seeded weights, exactly as it would have without the test.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

DIVERGED = 4.0  # stop once the smoothed loss exceeds 4x its best (fastai and Lightning's default)
SMOOTHING = 0.5  # the moving average's beta: the probe has no batch noise, so little smoothing and a lag of ~1 step
PROBE_ROWS = 1024  # training examples the loss after each step is measured on
SKIP_START = 10  # steepest descent: ignore the first steps (noise, before the average settles)


@dataclass
class RangeTest:
    """The learning rates tried, their losses (raw and smoothed) and the suggested lr."""

    lrs: list[float]
    losses: list[float]
    smoothed: list[float]
    suggestion: float
    min_lr: float  # the lr of the lowest smoothed loss
    rule: str = "steepest descent of the log loss against log lr, before its minimum"

    @property
    def min_over_10(self) -> float:
        return self.min_lr / 10


def lr_find(config, *, start: float = 1e-5, end: float = 10.0, steps: int = 150, device="cpu") -> RangeTest:
    """Return the RangeTest of ``config``'s model on its training data: lrs from ``start`` to ``end``.

    The optimizer (momentum, weight decay) and the batches are the run's; schedules, validation
    and epochs play no part. Torch's global RNG is left as it was found.
    """
    from minidl.sources.registry import load_run_data
    from minidl.training.fit import build_training
    from minidl.training.schedules import set_lr
    from minidl.training.threads import choose_threads, thread_team

    rng = torch.get_rng_state()
    threads = choose_threads(config.threads, None, torch.get_num_threads())  # as fit's: the free cores
    try:
        with thread_team(threads):
            torch.manual_seed(config.seed)
            data = load_run_data(config, torch.device(device))
            model, loss_fn, optimizer = build_training(config, data, torch.device(device), lr=start)
            ratio = (end / start) ** (1 / (steps - 1))  # lr_i = start * ratio^i: geometric, start ... end
            lrs, losses, smoothed, average, best = [], [], [], 0.0, math.inf
            probe = _probe(data.train)
            for i, (X, y) in enumerate(_cycle(data.train, steps)):
                lr = set_lr(optimizer, start * ratio**i)
                model.train()
                loss = loss_fn(model(X), y)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                value = _probe_loss(model, loss_fn, probe)
                average = SMOOTHING * average + (1 - SMOOTHING) * value
                debiased = average / (1 - SMOOTHING ** (i + 1))
                lrs.append(lr)
                losses.append(value)
                smoothed.append(debiased)
                best = min(best, debiased)
                if not math.isfinite(debiased) or debiased > DIVERGED * best:
                    break
    finally:
        torch.set_rng_state(rng)
    return RangeTest(lrs, losses, smoothed, *suggest(lrs, smoothed))


def suggest(lrs: list[float], smoothed: list[float]) -> tuple[float, float]:
    """Return (the lr of the steepest descent of log loss before the smoothed loss's minimum, the lr of that minimum).

    >>> lrs = [10 ** (k / 10) for k in range(-50, 11)]
    >>> losses = [math.exp(-math.tanh(math.log10(lr) + 1)) for lr in lrs]  # log loss falls fastest at lr 0.1
    >>> round(suggest(lrs, losses)[0], 3)
    0.1
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        losses = np.log(np.array(smoothed, dtype=np.float64))  # a loss of 0 or below: -inf or nan, left out
    finite = np.isfinite(losses)
    lowest = int(np.nanargmin(np.where(finite, losses, np.inf)))
    first = min(SKIP_START, max(0, lowest - 2))
    window = losses[first:lowest + 1]
    if len(window) < 2:
        return lrs[lowest], lrs[lowest]
    slope = np.gradient(window, np.log(np.array(lrs[first:lowest + 1])))  # d log loss / d log lr
    return lrs[first + int(np.argmin(slope[:-1]))], lrs[lowest]  # strictly before the minimum


def _probe(loader) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (X, y): the first PROBE_ROWS examples of one pass of ``loader`` (all, if it holds fewer)."""
    Xs, ys, rows = [], [], 0
    for X, y in loader:
        Xs.append(X)
        ys.append(y)
        rows += len(X)
        if rows >= PROBE_ROWS:
            break
    return torch.cat(Xs)[:PROBE_ROWS], torch.cat(ys)[:PROBE_ROWS]


def _probe_loss(model, loss_fn, probe) -> float:
    """Return the model's mean loss on the probe examples, in eval mode (no dropout), without gradients."""
    model.eval()
    with torch.no_grad():
        return loss_fn(model(probe[0]), probe[1]).item()


def _cycle(loader, steps: int):
    """Yield ``steps`` batches of ``loader``, starting a new epoch whenever one ends."""
    done = 0
    while done < steps:
        for batch in loader:
            yield batch
            done += 1
            if done == steps:
                return


def plot_range_test(result: RangeTest, path, *, title: str | None = None):
    """Return the path of a PNG of loss against lr (log axis), raw and smoothed, the suggestion marked."""
    from matplotlib.figure import Figure

    from minidl.training.plots import DPI, save_figure

    fig = Figure(figsize=(6.0, 4.2), dpi=DPI, layout="constrained")
    ax = fig.subplots()
    ax.plot(result.lrs, result.losses, color="0.75", linewidth=0.8, label="loss of each step")
    ax.plot(result.lrs, result.smoothed, color="tab:blue", label=f"smoothed (moving average, beta {SMOOTHING})")
    at = result.lrs.index(result.suggestion)
    ax.plot([result.suggestion], [result.smoothed[at]], "o", color="tab:red", markersize=8,
            label=f"suggested lr {result.suggestion:.3g} (steepest descent)")
    ax.axvline(result.min_over_10, color="tab:green", linestyle=":", label=f"min / 10: {result.min_over_10:.3g}")
    ax.set_xscale("log")
    finite = [v for v in result.losses + result.smoothed if math.isfinite(v)]  # a diverged last step: inf
    top = min(max(v for v in result.smoothed[: max(1, len(result.smoothed) // 2)]) * 1.5, max(finite))
    ax.set_ylim(min(finite) * 0.9, top)
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("training loss")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=9)
    fig.suptitle(title or "Learning-rate range test", fontsize=12)
    return save_figure(fig, path)
