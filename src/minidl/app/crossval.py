"""K-fold cross-validation of a CSV run: one ``fit`` per fold, each fold's scores and their mean.

Fold i of K (``config.fold``) is itself an ordinary run, trained on the other folds' rows and
tested on its own: ``minidl evaluate`` and ``--resume`` find the same rows again from its config.
"""
from __future__ import annotations

from pathlib import Path

from minidl.config.train import TrainConfig
from minidl.errors import ConfigError
from minidl.files import write_json

SCORES = ("test_acc", "test_r2", "test_r2_log", "test_log_rmse", "test_rmse")  # what a fold reports


def cross_validate(config: TrainConfig, *, progress: bool = True) -> list:
    """Return the History of each of ``config.folds`` runs, fold i tested on its own rows (in ``out/fold-i``)."""
    from minidl.training.fit import fit

    if not config.folds or config.fold is not None:
        raise ConfigError("cross_validate trains every fold of config.folds (--folds K); leave out fold")
    histories = []
    for i in range(1, config.folds + 1):
        out = str(Path(config.out) / f"fold-{i}") if config.out else None
        histories.append(fit(config.replace(fold=i, out=out), progress=progress))
    if config.out:
        write_json(Path(config.out) / "folds.json", fold_scores(histories))
    return histories


def fold_scores(histories) -> dict:
    """Return ``{"folds": [each fold's scores], "mean": {...}}``: test accuracy, or R^2 and (log-)RMSE."""
    folds = [{key: h.summary.get(key, h.final.get(key)) for key in SCORES
              if h.summary.get(key, h.final.get(key)) is not None} for h in histories]
    return {"folds": folds, "mean": {key: sum(f[key] for f in folds) / len(folds) for key in folds[0]}}


def format_scores(scores: dict) -> str:
    """Return e.g. ``test accuracy 0.9667`` or ``test R^2 0.6412, test log-RMSE 0.2398``."""
    names = {"test_acc": "test accuracy", "test_r2": "test R^2", "test_r2_log": "test R^2 (of the log)",
             "test_log_rmse": "test log-RMSE", "test_rmse": "test RMSE"}
    return ", ".join(f"{names[key]} {value:.4g}" if key == "test_rmse" else f"{names[key]} {value:.4f}"
                     for key, value in scores.items())
