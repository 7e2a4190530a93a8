"""The book's plotting helpers for `minidl.d2l`: live in Jupyter, PNG files in a script.

In a Jupyter kernel the figures are shown inline as the book shows them (pyplot's; an Animator
updates one display of its own in place). Anywhere else (a script, a terminal, a test) a figure
is built without pyplot, written to a PNG in the current folder and its path printed, instead of
vanishing or printing ``<Figure ...>``. The file is named after the running script and the
figure's label, numbered in the order the figures are made: ``python lesson.py`` writes
``lesson-1-relu_x.png``, ``lesson-2-grad_of_relu.png``, ...; outside a script (``python -c``, a
REPL, pytest) the prefix is ``d2l``. Running the script again overwrites the same files. An
`Animator` keeps one file and rewrites it on every `add`.

A series of one point is drawn with a marker (a line through one point is invisible), so a
one-epoch chart still shows its epoch.
"""
import itertools
import re
import sys
from pathlib import Path

import matplotlib.pyplot as plt  # the book's `d2l.plt`
import numpy as np
import torch
from matplotlib.figure import Figure

from minidl.training.plots import save_figure

_figure_numbers = itertools.count(1)  # this process's figures, in the order they are made


def in_notebook() -> bool:
    """Return True inside a Jupyter kernel (figures shown inline), False in a script or a REPL."""
    ipython = sys.modules.get("IPython")  # only a running IPython has imported it
    shell = ipython.get_ipython() if ipython is not None else None
    return getattr(shell, "kernel", None) is not None  # terminal IPython has no kernel


def figure_path(label) -> Path:
    """Return the PNG path for this process's next figure: ./{script}-{n}-{label}.png."""
    script = Path(sys.argv[0]).stem if sys.argv and sys.argv[0].endswith(".py") else "d2l"
    if script == "__main__":  # `python -m something`
        script = "d2l"
    slug = re.sub(r"[^a-z0-9]+", "_", str(label or "figure").lower()).strip("_") or "figure"
    return Path.cwd() / f"{script}-{next(_figure_numbers)}-{slug[:40]}.png"


def _bare_subplots(nrows: int, ncols: int, figsize):
    """Return (figure, axes as from plt.subplots) on a Figure pyplot does not know."""
    fig = Figure(figsize=figsize, layout="constrained")  # no pyplot: no window, no global state
    return fig, fig.subplots(nrows, ncols)


def _subplots(nrows: int, ncols: int, figsize):
    """Return (figure, axes as from plt.subplots): pyplot's in Jupyter, a bare Figure elsewhere."""
    if in_notebook():
        return plt.subplots(nrows, ncols, figsize=figsize)
    return _bare_subplots(nrows, ncols, figsize)


def _finish(fig, label) -> None:
    """Leave `fig` to Jupyter's inline display, or write it to a PNG and say where."""
    if not in_notebook():
        print(f"saved figure to {save_figure(fig, figure_path(label))}")


def _draw(axes, x, y, fmt) -> None:
    """Draw one series on `axes` (against its index if x is empty); one point gets a marker."""
    marker = {"marker": "o"} if len(y) == 1 else {}
    if len(x):
        axes.plot(x, y, fmt, **marker)
    else:
        axes.plot(y, fmt, **marker)


def _numpy(values):
    """Return a tensor as a detached CPU array (the book needs .detach() first); others unchanged."""
    return values.detach().cpu().numpy() if torch.is_tensor(values) else values


def use_svg_display() -> None:
    """Make Jupyter draw figures as SVG; outside Jupyter figures are PNG files, so nothing to do."""
    if in_notebook():
        try:
            from matplotlib_inline import backend_inline  # ships with every recent ipykernel
        except ImportError:
            return  # an old kernel: keep its PNGs
        backend_inline.set_matplotlib_formats("svg")


def set_figsize(figsize=(3.5, 2.5)) -> None:
    """Set the default size of pyplot's figures, in inches (for the lessons' `d2l.plt` calls)."""
    use_svg_display()
    plt.rcParams["figure.figsize"] = figsize


def set_axes(axes, xlabel, ylabel, xlim, ylim, xscale, yscale, legend) -> None:
    """Label, scale and limit `axes`, add the legend and a grid (the book's helper)."""
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_xscale(xscale)
    axes.set_yscale(yscale)
    if xlim is not None and xlim[0] == xlim[1]:  # one epoch: matplotlib would warn, then widen
        xlim = (xlim[0] - 0.5, xlim[1] + 0.5)
    axes.set_xlim(xlim)
    axes.set_ylim(ylim)
    if legend:
        axes.legend(legend)
    axes.grid()


def plot(X, Y=None, xlabel=None, ylabel=None, legend=None, xlim=None, ylim=None, xscale="linear",
         yscale="linear", fmts=("-", "m--", "g-.", "r:"), figsize=(3.5, 2.5), axes=None) -> None:
    """Plot one or more curves (the book's `plot`), on `axes` if given, else on a new figure.

    X, Y: one sequence or a list of them (tensors welcome, even ones that require grad); with
    Y None, X holds the y values. Without `axes`, the figure is new each call and, outside
    Jupyter, saved as a PNG named after `ylabel` (see the module docstring).
    """
    def has_one_axis(X):  # a 1-D tensor or array, or a flat list
        return (hasattr(X, "ndim") and X.ndim == 1
                or isinstance(X, list) and not hasattr(X[0], "__len__"))

    if has_one_axis(X):
        X = [X]
    if Y is None:
        X, Y = [[]] * len(X), X
    elif has_one_axis(Y):
        Y = [Y]
    if len(X) != len(Y):
        X = X * len(Y)
    fig = None
    if axes is None:
        fig, axes = _subplots(1, 1, figsize)
    axes.cla()
    for x, y, fmt in zip(X, Y, fmts):
        _draw(axes, _numpy(x), _numpy(y), fmt)
    set_axes(axes, xlabel, ylabel, xlim, ylim, xscale, yscale, legend or [])
    if fig is not None:
        _finish(fig, ylabel)


def semilogy(x_vals, y_vals, x_label, y_label, x2_vals=None, y2_vals=None, legend=None,
             figsize=(3.5, 2.5)) -> None:
    """Plot y_vals (and y2_vals dotted) against x on a log y axis (the Chinese course's helper)."""
    X, Y = [x_vals], [y_vals]
    if x2_vals is not None and y2_vals is not None:  # `if x2_vals and ...` fails on arrays
        X, Y = [x_vals, x2_vals], [y_vals, y2_vals]
    plot(X, Y, x_label, y_label, legend, yscale="log", fmts=("-", ":"), figsize=figsize)


def xyplot(x_vals, y_vals, name) -> None:
    """Plot y_vals against x_vals, labelled `name(x)` (the Chinese course's activation plots)."""
    plot(x_vals, y_vals, "x", name + "(x)", figsize=(5, 2.5))


def show_images(imgs, num_rows, num_cols, titles=None, scale=1.5):
    """Show `imgs` on a num_rows x num_cols grid, titled; return the flat array of axes.

    imgs: (N, H, W) tensors or arrays, or PIL images. Outside Jupyter the grid becomes a PNG.
    """
    figsize = (num_cols * scale, num_rows * scale)
    fig, axes = _subplots(num_rows, num_cols, figsize)
    axes = np.asarray(axes).flatten()
    for i, (ax, img) in enumerate(zip(axes, imgs)):
        ax.imshow(_numpy(img))
        ax.axes.get_xaxis().set_visible(False)
        ax.axes.get_yaxis().set_visible(False)
        if titles:
            ax.set_title(titles[i])
    _finish(fig, "images")
    return axes


def show_fashion_mnist(images, labels) -> None:
    """Show Fashion-MNIST images in one row, titled with `labels` (the Chinese course's helper).

    images: (N, 1, 28, 28) or (N, 28, 28); labels: N strings, e.g. from get_fashion_mnist_labels.
    """
    use_svg_display()
    fig, figs = _subplots(1, len(images), (12, 12))
    for f, img, lbl in zip(np.atleast_1d(figs), images, labels):
        f.imshow(_numpy(img).reshape(img.shape[-2:]))
        f.set_title(lbl)
        f.axes.get_xaxis().set_visible(False)
        f.axes.get_yaxis().set_visible(False)
    _finish(fig, "fashion_mnist")


class Animator:
    """Draw data that arrives point by point (the book's `Animator`).

    In Jupyter the figure is shown where the Animator is made and redrawn in place on every
    `add`, through one display handle, so what the cell prints meanwhile (train_ch3's epoch lines)
    stays below it. Elsewhere it is written to one PNG (./{script}-{n}-animator.png), rewritten on
    every `add`; its path is printed once.
    """

    def __init__(self, xlabel=None, ylabel=None, legend=None, xlim=None, ylim=None,
                 xscale="linear", yscale="linear", fmts=("-", "m--", "g-.", "r:"), nrows=1,
                 ncols=1, figsize=(3.5, 2.5)):
        use_svg_display()
        # Not pyplot's even in Jupyter: the end-of-cell flush would show it a second time.
        self.fig, self.axes = _bare_subplots(nrows, ncols, figsize)
        if nrows * ncols == 1:
            self.axes = [self.axes]
        self.config_axes = lambda: set_axes(self.axes[0], xlabel, ylabel, xlim, ylim, xscale,
                                            yscale, legend or [])
        self.X, self.Y, self.fmts = None, None, fmts
        self.path = None  # the PNG outside Jupyter, chosen on the first add
        self.handle = None  # Jupyter's display of the figure, empty until the first add
        if in_notebook():
            from IPython import display

            self.handle = display.display(display_id=True)

    def add(self, x, y) -> None:
        """Append one point to each line: x a number or one per line, y one value per line."""
        if not hasattr(y, "__len__"):
            y = [y]
        n = len(y)
        if not hasattr(x, "__len__"):
            x = [x] * n
        if not self.X:
            self.X = [[] for _ in range(n)]
        if not self.Y:
            self.Y = [[] for _ in range(n)]
        for i, (a, b) in enumerate(zip(x, y)):
            if a is not None and b is not None:
                self.X[i].append(a)
                self.Y[i].append(b)
        self.axes[0].cla()
        for x, y, fmt in zip(self.X, self.Y, self.fmts):
            _draw(self.axes[0], x, y, fmt)
        self.config_axes()
        if self.handle is not None:
            self.handle.update(self.fig)  # in place: no clear_output, which would wipe the prints
        else:
            if self.path is None:
                self.path = figure_path("animator")
                print(f"Animator: drawing to {self.path} (rewritten on every add)")
            save_figure(self.fig, self.path)
