"""The 1.0 edition's `ProgressBoard`: points that arrive one by one, averaged and drawn as lines.

In a Jupyter kernel the board is drawn inline below the cell and redrawn in place; elsewhere (a
script, a terminal, a test) it is written to one PNG in the current folder, its path printed once
(``./{script}-{n}-board.png``, named as `minidl.d2l.figures` names its figures). Either way it is
redrawn at most once every `REDRAW_SECONDS`, and never sooner than 20 times the time its last
drawing took (`MAX_DRAW_SHARE`): a fit calls `draw` on every batch, and redrawing that often would
take longer than the training while showing nothing a person could follow. What is
left undrawn is drawn when the fit ends (`Trainer.fit` calls `flush`), when the notebook cell ends
and when the script exits.

>>> board = ProgressBoard('x', display=False)
>>> for x in range(6):
...     board.draw(x, x * 10, 'y', every_n=3)
>>> board.data['y']
[Point(x=1.0, y=10.0), Point(x=4.0, y=40.0)]
"""
import atexit
import collections
import time
import weakref

import numpy as np
import torch

from minidl.d2l.figures import _bare_subplots, figure_path, in_notebook, use_svg_display
from minidl.d2l.hyper import HyperParameters
from minidl.training.plots import save_figure

REDRAW_SECONDS = 2.0  # the shortest time between two redraws of one board
MAX_DRAW_SHARE = 0.05  # and the board waits 20 times as long as its last drawing took: drawing stays under 5%

Point = collections.namedtuple("Point", ["x", "y"])

_undrawn = weakref.WeakSet()  # boards with points not drawn yet, flushed at cell end and exit


def _mean(values) -> float:
    """Return the weighted mean of [(value, weight)]: values may be numbers, arrays or tensors."""
    weights = [w for _, w in values]
    if all(torch.is_tensor(v) for v, _ in values):  # one read of the device for the whole group
        stacked = torch.stack([v.detach().reshape(()).double() for v, _ in values])
        total = float((stacked * torch.tensor(weights, dtype=torch.float64,
                                              device=stacked.device)).sum())
    else:
        total = sum(float(np.asarray(v.detach().cpu() if torch.is_tensor(v) else v)) * w
                    for v, w in values)
    return total / sum(weights)


class ProgressBoard(HyperParameters):
    """Draw lines of points that arrive one at a time (the 1.0 book's `ProgressBoard`).

    `data[label]` holds the drawn points, `Point(x, y)`: each the mean of `every_n` raw points.
    `display=False` keeps the points and draws nothing. `fig` and `axes`, when given, are drawn on.
    """

    def __init__(self, xlabel=None, ylabel=None, xlim=None, ylim=None, xscale="linear",
                 yscale="linear", ls=("-", "--", "-.", ":"), colors=("C0", "C1", "C2", "C3"),
                 fig=None, axes=None, figsize=(3.5, 2.5), display=True):
        self.save_hyperparameters()
        self.raw_points = collections.OrderedDict()
        self.data = collections.OrderedDict()
        self.path = None  # the PNG outside Jupyter, chosen on the first drawing
        self._handle = None  # Jupyter's display of the figure, made on the first drawing
        self._drawn_at = -float("inf")
        self._drawing_seconds = 0.0  # what the last drawing took
        _flush_after_each_cell()

    def draw(self, x, y, label, every_n=1, weight=1):
        """Add the point (x, y) to line `label`; every `every_n` points, add their mean to `data`.

        `weight` (an extension, default 1 as in the book) weighs the point in that mean: a
        validation batch's size, so that a short last batch counts by its examples.
        """
        points = self.raw_points.setdefault(label, [])
        line = self.data.setdefault(label, [])
        points.append((x, y, weight))
        if len(points) < max(int(every_n), 1):  # every_n 0 (fewer batches than plots) means 1
            return
        line.append(Point(_mean([(p[0], 1) for p in points]), _mean([(p[1], p[2]) for p in points])))
        points.clear()
        if not self.display:
            return
        _undrawn.add(self)
        if time.monotonic() - self._drawn_at >= max(REDRAW_SECONDS, self._drawing_seconds / MAX_DRAW_SHARE):
            self.flush()

    def flush(self):
        """Draw the board now if it has points not drawn yet."""
        if self not in _undrawn:
            return
        _undrawn.discard(self)
        start = time.monotonic()
        self._render()
        self._drawn_at = time.monotonic()
        self._drawing_seconds = self._drawn_at - start

    def _render(self):
        """Draw every line on the figure, then show it (Jupyter) or write its PNG."""
        if self.fig is None:
            self.fig, self.axes = _bare_subplots(1, 1, self.figsize)  # no pyplot: no second copy
        axes = self.axes if self.axes is not None else self.fig.gca()
        axes.cla()
        for (label, line), ls, color in zip(self.data.items(), self.ls, self.colors):
            marker = "o" if len(line) == 1 else None  # one point: a line through it is invisible
            axes.plot([p.x for p in line], [p.y for p in line], linestyle=ls, color=color,
                      marker=marker, label=label)
        if self.xlim:
            axes.set_xlim(self.xlim)
        if self.ylim:
            axes.set_ylim(self.ylim)
        axes.set_xlabel(self.xlabel)
        axes.set_ylabel(self.ylabel)
        axes.set_xscale(self.xscale)
        axes.set_yscale(self.yscale)
        axes.legend()
        self._show()

    def _show(self):
        if in_notebook():
            from IPython import display

            use_svg_display()  # as the book's draw; it also makes Jupyter render a bare Figure
            if self._handle is None:
                self._handle = display.display(self.fig, display_id=True)
            else:
                self._handle.update(self.fig)
            return
        if self.path is None:
            self.path = figure_path("board")
            print(f"ProgressBoard: drawing to {self.path} "
                  f"(redrawn at most once every {REDRAW_SECONDS:g} s)")
        save_figure(self.fig, self.path)


def flush_all():
    """Draw every board that has points not drawn yet."""
    for board in list(_undrawn):
        board.flush()


def _flush_after_each_cell():
    """In a Jupyter kernel, draw what each cell left undrawn when the cell ends (once per kernel)."""
    if not in_notebook():
        return
    from IPython import get_ipython

    events = get_ipython().events
    if flush_all not in events.callbacks["post_execute"]:
        events.register("post_execute", flush_all)


atexit.register(flush_all)
