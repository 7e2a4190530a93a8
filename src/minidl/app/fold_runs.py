"""A ``--folds K`` output folder as the runs it holds: ``fold-1`` ... ``fold-K``, and their mean.

``minidl train ... --folds K --out cv`` writes ``cv/fold-i`` (each an ordinary run folder) and
``cv/folds.json``; ``minidl compare cv`` compares the folds, named ``cv/fold-i``, with a
``cv/mean`` row of their final figures.
"""
from __future__ import annotations

import re
from pathlib import Path

FOLD = re.compile(r"fold-(\d+)$")


def fold_folders(path: Path) -> list[Path]:
    """Return the fold-i run folders of a --folds output folder in fold order ([] for any other path)."""
    if not (path / "folds.json").is_file():
        return []
    folds = [p for p in path.iterdir() if p.is_dir() and FOLD.match(p.name)]
    return sorted(folds, key=lambda p: int(FOLD.match(p.name).group(1)))


def expand_folds(paths) -> list[Path]:
    """Return ``paths`` with each --folds output folder replaced by its fold folders."""
    return [fold for path in map(Path, paths) for fold in (fold_folders(path) or [path])]


def run_name(path: Path) -> str:
    """Return a run's name in the table: ``cv/fold-2`` for a fold, else the folder's own name."""
    if FOLD.match(path.name) and (path.parent / "folds.json").is_file():
        return f"{path.parent.name}/{path.name}"
    return path.name or str(path)


def mean_rows(header: list[str], body: list[list]) -> list[list]:
    """Return one ``cv/mean`` row per --folds folder among ``body``: the mean of its folds' final figures."""
    groups: dict[str, list[list]] = {}
    for row in body:
        folder, _, fold = str(row[0]).rpartition("/")
        if folder and FOLD.match(fold):
            groups.setdefault(folder, []).append(row)
    means = []
    for folder, rows in groups.items():
        mean = [f"{folder}/mean"] + [None] * (len(header) - 1)
        for i, name in enumerate(header):
            values = [row[i] for row in rows]
            if name.startswith("final_") and all(isinstance(v, float) for v in values):
                mean[i] = sum(values) / len(values)
        means.append(mean)
    return means
