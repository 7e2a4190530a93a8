"""PNG figures of a run: curves, gradient norms, confusion matrix, activations, linreg fit.

Figures are built on :class:`matplotlib.figure.Figure` with an Agg canvas, so pyplot's global state
(and any window) is never touched. Every function writes its PNG atomically
(:func:`minidl.files.atomic_write`) and returns the path it wrote.
"""
import math
from pathlib import Path

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import PowerNorm
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

from minidl.files import atomic_write

DPI = 120


def save_figure(fig: Figure, path) -> Path:
    """Return `path` after writing `fig` there as a PNG, atomically (temp file, then os.replace)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig)  # an Agg canvas of its own: pyplot and its backend stay untouched
    return atomic_write(path, lambda f: fig.savefig(f, format="png"))


def _numpy(x) -> np.ndarray:
    """Return `x` (tensor, array or sequence) as a numpy array, detached and on the CPU."""
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def _column(rows, key: str) -> np.ndarray:
    """Return rows[i][key] as floats (len(rows),), NaN where absent, None or empty (CSV)."""
    return np.array([np.nan if r.get(key) in (None, "") else float(r[key]) for r in rows])


def plot_curves(rows, path, *, title=None, log_loss=False) -> Path:
    """Return the path of a PNG of loss (and accuracy, when present) per epoch, train, val and test.

    rows: dicts as in metrics.csv, keys epoch, train_loss, test_loss and optionally train_acc,
    test_acc (fractions in [0, 1]), val_loss and val_acc, and lr (a panel of its own where it
    changes: a schedule); values may be numbers or CSV strings. ``log_loss``: a log
    axis for the loss (a regression's falls by orders of magnitude), where every loss is > 0.
    """
    if not rows:
        raise ValueError("plot_curves needs at least one row of metrics (one per epoch), got none")
    epochs = _column(rows, "epoch")
    panels = [("loss", "loss (mean per example)", "{:.4g}")]
    if any(not np.isnan(_column(rows, f"{s}_acc")).all() for s in ("train", "test")):
        panels.append(("acc", "accuracy", "{:.1%}"))
    lrs = _column(rows, "lr")
    moving = not np.isnan(lrs).all() and np.nanmax(lrs) > np.nanmin(lrs)  # a schedule: show it
    widths = [1.0] * len(panels) + ([0.55] if moving else [])
    fig = Figure(figsize=(5.2 * sum(widths), 4.0), dpi=DPI, layout="constrained")
    axes = fig.subplots(1, len(widths), squeeze=False, gridspec_kw={"width_ratios": widths}).ravel()
    if moving:
        _plot_lr(axes[-1], epochs, lrs)
    for ax, (metric, ylabel, fmt) in zip(axes, panels):
        for split, style in (("train", "-o"), ("val", ":^"), ("test", "--s")):
            values = _column(rows, f"{split}_{metric}")
            known = ~np.isnan(values)
            if known.any():
                # Markers keep a single epoch visible; the legend gives the last value.
                last = fmt.format(values[known][-1])
                ax.plot(epochs[known], values[known], style, markersize=4,
                        label=f"{split} (last {last})")
        ax.set_title("accuracy" if metric == "acc" else "loss")
        losses = np.concatenate([_column(rows, f"{s}_loss") for s in ("train", "val", "test")])
        if metric == "loss" and log_loss and np.nanmin(losses) > 0:
            ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        ax.set_xlim(np.nanmin(epochs) - 0.5, np.nanmax(epochs) + 0.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        if metric == "acc":
            ax.yaxis.set_major_formatter(PercentFormatter(xmax=1))
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title or "Training curves", fontsize=12)
    return save_figure(fig, path)


def _plot_lr(ax, epochs, lrs) -> None:
    """Draw the learning rate of each epoch (a schedule's) in a small panel ``ax``."""
    ax.plot(epochs, lrs, "-o", color="tab:purple", markersize=3)
    if np.nanmax(lrs) / np.nanmin(lrs) > 20:  # onecycle falls by 1e5: a log axis keeps its tail visible
        ax.set_yscale("log")
    ax.set_title("learning rate")
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    ax.grid(alpha=0.3)


def plot_grad_norms(rows, path, *, title=None) -> Path:
    """Return the path of a PNG of each layer's gradient norm per epoch, on a log axis.

    rows: metrics rows with grad_norm_W1, grad_norm_W2, ... (``--grad-norms``): each the epoch's
    mean of ||dL/dW_i|| over its batches. Vanishing gradients show as the first layers' lines lying
    orders of magnitude below the last one's (a deep sigmoid MLP); exploding ones, above.
    """
    keys = [k for k in rows[0] if k.startswith("grad_norm_")] if rows else []
    if not keys:
        raise ValueError("plot_grad_norms needs metrics rows with grad_norm_* columns (train with --grad-norms)")
    epochs = _column(rows, "epoch")
    fig = Figure(figsize=(5.6, 4.0), dpi=DPI, layout="constrained")
    ax = fig.subplots()
    for key in keys:
        values = _column(rows, key)
        ax.plot(epochs, values, "-o", markersize=4, label=f"{key.removeprefix('grad_norm_')} (last {values[-1]:.3g})")
    if np.nanmin(np.concatenate([_column(rows, k) for k in keys])) > 0:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("||dL/dW||, mean over the epoch's batches")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    ax.grid(alpha=0.3)
    ax.legend()
    fig.suptitle(title or "Gradient norm per layer", fontsize=12)
    return save_figure(fig, path)


def confusion_labels(counts, class_names) -> list[str]:
    """Return each true class's label for a confusion figure: its name and accuracy, or "no test rows".

    >>> confusion_labels(np.array([[3, 1], [0, 0]]), ["cat", "rare"])
    ['cat (75%)', 'rare (no test rows)']
    """
    totals = counts.sum(axis=1)
    return [f"{name} ({counts[i, i] / n:.0%})" if n else f"{name} (no test rows)"
            for i, (name, n) in enumerate(zip(class_names, totals))]


def plot_confusion(confusion, class_names, path, *, title=None) -> Path:
    """Return the path of a PNG of the confusion matrix (rows true, columns predicted) with counts.

    confusion: (k, k) counts, as from :func:`minidl.training.evaluate.confusion_matrix`; class_names: k
    names. The y tick labels carry each class's accuracy (recall), e.g. "Shirt (62%)", or
    "(no test rows)" for a class without examples.
    """
    counts = _numpy(confusion).astype(np.int64)  # (k, k)
    k = len(class_names)
    if counts.shape != (k, k):
        raise ValueError(f"confusion must be ({k}, {k}) for {k} class names, got {counts.shape}")
    total = counts.sum()
    fig = Figure(figsize=(0.62 * k + 3.4, 0.55 * k + 2.0), dpi=DPI, layout="constrained")
    ax = fig.subplots()
    # Square-root colour scale: the off-diagonal confusions stay visible beside a large diagonal.
    norm = PowerNorm(gamma=0.5, vmin=0, vmax=max(counts.max(), 1))
    image = ax.imshow(counts, cmap="Blues", norm=norm)
    fig.colorbar(image, ax=ax, label="examples (square-root scale)", shrink=0.85)
    for i, j in np.ndindex(counts.shape):
        dark = norm(counts[i, j]) > 0.55
        ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=9,
                color="white" if dark else "black")
    ax.set_xticks(range(k), class_names, rotation=45, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(k), confusion_labels(counts, class_names))
    ax.set_xlabel("predicted label")
    ax.set_ylabel("true label (per-class accuracy)")
    accuracy = counts.trace() / max(total, 1)
    ax.set_title(title or f"Confusion matrix: {accuracy:.1%} accuracy on {total} examples")
    return save_figure(fig, path)


def plot_activations(activations, path, *, x_range=(-8, 8)) -> Path:
    """Return the path of a PNG grid with one panel per activation: the function and its derivative.

    activations: objects with `name`, `fn` and `grad` (tensor -> tensor callables).
    """
    activations = list(activations)
    if not activations:
        raise ValueError("plot_activations needs at least one activation, got none")
    cols = min(3, len(activations))
    rows = math.ceil(len(activations) / cols)
    fig = Figure(figsize=(4.2 * cols, 3.4 * rows), dpi=DPI, layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    x = torch.linspace(*x_range, 801)  # (801,)
    for ax, act in zip(axes, activations):
        with torch.no_grad():
            y, dy = _numpy(act.fn(x)), _numpy(act.grad(x))  # (801,) each
        ax.axhline(0, color="0.6", linewidth=0.8)
        ax.axvline(0, color="0.6", linewidth=0.8)
        ax.plot(x.numpy(), y, label=f"{act.name}(x)")
        ax.plot(x.numpy(), dy, "--", label=f"derivative of {act.name}")
        ax.set_title(act.name)
        ax.set_xlabel("x")
        ax.set_ylabel("value")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=9)
    for ax in axes[len(activations):]:
        ax.set_axis_off()
    fig.suptitle("Activation functions and their derivatives", fontsize=12)
    return save_figure(fig, path)


def plot_linreg_fit(X, y, w, b, path, *, feature_names=None, target=None, scale=1.0) -> Path:
    """Return the path of a PNG of a linear-regression fit: data and line, or predicted vs true.

    X: (n, d) features, y: (n, 1) or (n,) targets, w: (d, 1), b: (1,), in the data's own units and
    named by ``feature_names`` and ``target`` where given. With d = 1 it shows the data and the
    fitted line; with d > 1, each prediction Xw + b against its true target. The title gives the
    loss as training reports it: mean (y_hat - y)^2 / 2, on y divided by ``scale`` (the target's
    std where training standardised it).
    """
    X = _numpy(X).astype(np.float64).reshape(len(X), -1)  # (n, d)
    y = _numpy(y).astype(np.float64).reshape(-1)  # (n,)
    w = _numpy(w).astype(np.float64).reshape(-1)  # (d,)
    b = float(_numpy(b).reshape(-1)[0])
    y_hat = X @ w + b  # (n,)
    loss = float(np.mean(((y_hat - y) / scale) ** 2) / 2)
    x_name = feature_names[0] if feature_names else "feature x"
    y_name = target or "target y"
    units = " (standardised)" if scale != 1.0 else ""
    fig = Figure(figsize=(5.6, 4.6), dpi=DPI, layout="constrained")
    ax = fig.subplots()
    if X.shape[1] == 1:
        ax.scatter(X[:, 0], y, s=10, alpha=0.5, label="data")
        line = np.array([X[:, 0].min(), X[:, 0].max()])
        ax.plot(line, w[0] * line + b, color="tab:red",
                label=f"fit: y = {w[0]:.3g} x + {b:.3g}")
        ax.set_xlabel(x_name)
        ax.set_ylabel(y_name)
        ax.set_title(f"Linear regression fit (test loss {loss:.3g}{units})")
    else:
        ax.scatter(y, y_hat, s=10, alpha=0.5, label="examples")
        line = np.array([min(y.min(), y_hat.min()), max(y.max(), y_hat.max())])
        ax.plot(line, line, "--", color="tab:red", label="perfect fit (y = ŷ)")
        ax.set_xlabel(f"true {y_name}")
        ax.set_ylabel(f"predicted {y_name} = Xw + b")
        ax.set_title(f"Linear regression, {X.shape[1]} features (test loss {loss:.3g}{units})")
    ax.grid(alpha=0.3)
    ax.legend()
    return save_figure(fig, path)
