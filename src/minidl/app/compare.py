"""Runs side by side: their curves overlaid in one figure, and a table of their figures and differences.

``minidl compare RUN RUN ...`` (or ``minidl compare runs/*``) reads each run folder's config.json
and metrics.csv, nothing else, so it works on finished, interrupted and running runs alike. A
path that is not a run folder (a stray file, a folder of something else) is skipped with a
one-line note; fewer than one run left is an error. A ``--folds K`` output folder stands for its
folds (``minidl.app.fold_runs``), compared with a row of their mean.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from minidl.app.fold_runs import expand_folds, run_name
from minidl.errors import ConfigError
from minidl.training.selection import best_row, chosen_by, selection_key

SPLITS = {"train": "-", "val": ":", "test": "--"}  # one line style per split, one colour per run
SKIPPED_FIELDS = ("out", "plots")  # where a run was written (its name) and its figures change no number


@dataclass
class Run:
    """One run folder's name, config and metrics rows (floats)."""

    name: str
    config: dict
    rows: list[dict]


def load_runs(paths) -> tuple[list[Run], list[str]]:
    """Return the runs found at ``paths`` and a note for each path skipped (not a run folder)."""
    from minidl.training.run_folder import read_record

    runs, notes = [], []
    for path in expand_folds(paths):  # a --folds output folder: its fold-i runs
        record = read_record(path) if path.is_dir() else None
        metrics = path / "metrics.csv"
        if record is None or not metrics.is_file():
            why = "not a minidl run folder" if record is None else "no metrics.csv yet (no epoch finished)"
            notes.append(f"skipped {path}: {why}")
            continue
        with open(metrics, newline="") as f:
            rows = [{k: float(v) if k != "epoch" else int(v) for k, v in r.items() if v != ""}
                    for r in csv.DictReader(f)]
        if rows:
            runs.append(Run(run_name(path), record.get("config", {}), rows))
        else:
            notes.append(f"skipped {path}: its metrics.csv has no epochs")
    if not runs:
        raise ConfigError(f"none of the {len(notes)} path(s) given is a run folder with metrics: "
                          "give run folders such as runs/mlp-20261126-183000 (or runs/*)")
    return runs, notes


def differing_fields(runs: list[Run]) -> list[str]:
    """Return the config fields whose values are not the same in every run, in config order."""
    names = list(dict.fromkeys(name for run in runs for name in run.config))
    return [n for n in names if n not in SKIPPED_FIELDS and len({repr(run.config.get(n)) for run in runs}) > 1]


def table(runs: list[Run]) -> tuple[list[str], list[list]]:
    """Return (header, rows): each run's final and best figures, then the config fields that differ."""
    differ = differing_fields(runs)
    figures = [c for c in ("train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc")
               if any(c in run.rows[-1] for run in runs)]
    header = ["run", "epochs_done", *[f"final_{c}" for c in figures], "best_epoch", "best_by", "best", *differ]
    body = []
    for run in runs:
        last, best = run.rows[-1], best_row(run.rows, run.config.get("min_delta", 0.0))
        key, _ = selection_key(last)
        body.append([run.name, last["epoch"], *[last.get(c) for c in figures], best["epoch"], chosen_by(last),
                     f"{key} {best[key]:.4g}", *[_shown(run.config.get(n)) for n in differ]])
    return header, body


def _shown(value) -> str:
    return " ".join(map(str, value)) if isinstance(value, list) else str(value)


def _label(run: Run, differ: list[str]) -> str:
    """Return e.g. ``lr-0.5 (lr 0.5)``: the run's name and its values of the fields that differ."""
    shown = ", ".join(f"{n} {_shown(run.config.get(n))}" for n in differ[:3])
    return f"{run.name} ({shown})" if shown else run.name


def format_table(header, body) -> str:
    """Return the table as aligned text for a terminal."""
    cells = [header] + [[f"{v:.4f}" if isinstance(v, float) else ("" if v is None else str(v)) for v in row]
                        for row in body]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells)


def table_csv(header, body) -> str:
    """Return the table as CSV text."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([[f"{v:.6g}" if isinstance(v, float) else v for v in row] for row in body])
    return buf.getvalue()


def plot_compare(runs: list[Run], path, *, title: str | None = None):
    """Return the path of a PNG of every run's loss (and accuracy) curves: a colour per run, a style per split."""
    import numpy as np
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    from minidl.training.plots import DPI, save_figure

    metrics = ["loss"] + (["acc"] if any("train_acc" in run.rows[0] for run in runs) else [])
    fig = Figure(figsize=(5.6 * len(metrics), 4.4), dpi=DPI, layout="constrained")
    axes = fig.subplots(1, len(metrics), squeeze=False).ravel()
    colors = [f"C{i % 10}" for i in range(len(runs))]
    for ax, metric in zip(axes, metrics):
        for run, color in zip(runs, colors):
            epochs = np.array([r["epoch"] for r in run.rows])
            for split, style in SPLITS.items():
                values = np.array([r.get(f"{split}_{metric}", np.nan) for r in run.rows], dtype=float)
                if not np.isnan(values).all():
                    ax.plot(epochs, values, style, color=color, marker="o", markersize=3)
        ax.set_title("accuracy" if metric == "acc" else "loss (mean per example)")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        if metric == "acc":
            ax.yaxis.set_major_formatter(PercentFormatter(xmax=1))
        ax.grid(alpha=0.3)
    present = [s for s in SPLITS if any(f"{s}_loss" in r for run in runs for r in run.rows)]
    differ = differing_fields(runs)
    handles = [Line2D([], [], color=c, label=_label(run, differ)) for run, c in zip(runs, colors)]
    handles += [Line2D([], [], color="0.3", linestyle=SPLITS[s], label=s) for s in present]
    axes[-1].legend(handles=handles, fontsize=8)
    fig.suptitle(title or f"{len(runs)} runs" + (f", differing in {', '.join(differ)}" if differ else ""),
                 fontsize=12)
    return save_figure(fig, path)
