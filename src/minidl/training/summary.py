"""A finished run's figures in one record: last and best epoch, time, per-class accuracy, learned w and b."""
from __future__ import annotations

from minidl.config.model import REGRESSORS
from minidl.sources.base import RunData
from minidl.training.evaluate import Totals, class_report
from minidl.training.selection import best_row, chosen_by, selection_key, stops_early


def summarize(config, rows, model, data: RunData, test: Totals | None):
    """Return the final figures and the test predictions (from ``test``, the last epoch's evaluate).

    The figures: last epoch, best epoch (on the training set where there is no test set), time, the
    confusion matrix and per-class accuracy of a classifier, the learned w and b of linear regression.
    """
    last = rows[-1]
    best, (key, _) = best_row(rows, config.min_delta), selection_key(last)  # on val, else test, else train
    seconds = sum(r["seconds"] for r in rows)
    summary = {
        "model": config.model,
        "impl": config.impl,
        "epochs": len(rows),
        "final": last,
        "best_epoch": best["epoch"],
        f"best_{key}": best[key],
        "best_by": chosen_by(last),  # the split that chose the best epoch: val, test or train
        **({"best_epoch_test_acc": best["test_acc"]} if "test_acc" in best and key != "test_acc" else {}),
        **({"stopped_early": stops_early(rows, config.patience, config.min_delta)} if config.patience else {}),
        "train_seconds": seconds,
        "train_examples_per_second": (data.train.num_examples * data.train.world_size * len(rows) / seconds
                                      if seconds else None),  # every rank's examples
        **data.notes,  # e.g. an image folder's counts and the files it skipped
    }
    if config.model in REGRESSORS:
        summary.update(learned_weights(model, data))
    if not data.classifies and data.table and data.test is not None:  # a table's regression: R^2, RMSE
        from minidl.sources.table import regression_scores

        summary.update(regression_scores(model, data.test, data.table))
    if not data.classifies or test is None:
        return summary, None
    report, predictions = class_report(test, data.class_names)
    summary.update(report)
    return summary, predictions


def learned_weights(model, data: RunData) -> dict:
    """Return linear regression's learned w and b, as its data source shows them, and ||w||."""
    state = model.canonical_state()
    w, b = state["w"].reshape(-1).tolist(), state["b"].reshape(-1).tolist()[0]
    out = data.origin.weights(data, w, b)  # a table's in its own units; synthetic data's beside the truth
    out["w_norm"] = sum(wi * wi for wi in out["w"]) ** 0.5  # ||w||, which weight decay shrinks
    return out
