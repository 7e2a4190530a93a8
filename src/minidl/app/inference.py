"""Using a trained run: load it, evaluate it on its test set or on arrays, predict arrays, images, CSV rows.

A run is a run folder or checkpoint file (``minidl train`` writes them), a :class:`Run` that
:func:`load_run` returns, or the History ``fit`` returns.

>>> import torch, minidl
>>> X = torch.randn(200, 4)
>>> y = (X[:, 0] > 0).long()                  # two classes: 0 and 1
>>> history = minidl.fit(minidl.TrainConfig(model="softmax", epochs=5, device="cpu"),
...                      data=(X, y, X, y), class_names=("low", "high"), progress=False)
>>> minidl.predict(history, X[:3]).tolist() == y[:3].tolist()
True
>>> sorted(minidl.evaluate_run(history, X, y))
['acc', 'epoch', 'loss', 'per_class_acc']
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch

from minidl.training import checkpoint as ckpt
from minidl.config.model import REGRESSORS
from minidl.config.train import TrainConfig
from minidl.data.arrays import as_tensor, check_arrays
from minidl.data.loader import Loader
from minidl.data.standardize import as_trained
from minidl.errors import ConfigError, DatasetError
from minidl.naming import setting
from minidl.training.evaluate import class_report, evaluate
from minidl.training.flip import scorer_for
from minidl.data.images import has_object, load_image
from minidl.training.models import build_loss, load_weights, model_for


@dataclass
class Run:
    """A trained run: its model (in eval mode), config, metrics rows, summary and data facts.

    ``facts`` are what the run knows about its data: ``num_inputs``, ``num_outputs``,
    ``class_names`` and, for a CSV run, ``table`` (feature names, target, the standardizers its
    inputs and target went through), the data folder or table it read.
    """

    model: object
    config: TrainConfig
    rows: list[dict]  # one metrics row per epoch, as in metrics.csv
    summary: dict | None  # summary.json; None for a run that has not finished
    facts: dict
    path: Path | None = None  # the checkpoint (or, for a History, the run folder) it came from

    @property
    def classifies(self) -> bool:
        """Return whether the model classifies (else it regresses)."""
        return self.facts.get("classifies", self.config.model not in REGRESSORS)

    @property
    def epoch(self) -> int:
        """Return how many epochs the model has trained."""
        return len(self.rows)


def load_run(run_or_checkpoint, *, best: bool = False) -> Run:
    """Return the trained run in a run folder (its last checkpoint, or ``best.pt``) or a .pt file."""
    model, config, state = load_model(run_or_checkpoint, best=best)
    summary = state["path"].parent / "summary.json"
    return Run(model, config, [dict(r) for r in state["rows"]],
               json.loads(summary.read_text()) if summary.is_file() else None, state["data"], state["path"])


def as_run(run, *, best: bool = False) -> Run:
    """Return ``run`` (a Run, a History from fit, a run folder or a checkpoint) as a Run."""
    if isinstance(run, Run):
        return run
    if hasattr(run, "state") and hasattr(run, "model"):  # a History: the model fit just trained
        return Run(run.model, run.config, run.rows, run.summary, run.state["data"], run.run_dir)
    return load_run(run, best=best)


def predict(run, X, *, probabilities: bool = False) -> torch.Tensor:
    """Return a run's predictions for the inputs X (n, ...): class indices (n,), or values (n,).

    X comes as the run's training data came: uint8 pixels are scaled to [0, 1]; a CSV run's raw
    columns get its standardizer, and its predictions are mapped back to the target's own units.
    ``probabilities``: a classifier's (n, classes) softmax probabilities instead.
    """
    run = as_run(run)
    X = as_tensor(X)
    X = X.to(torch.float32).div_(255) if X.dtype == torch.uint8 else X.to(torch.float32)
    X = as_trained(X, run.facts.get("pixels"))  # --standardize: the training set's per-pixel statistics
    table = run.facts.get("table") or {}
    if table:
        from minidl.data.tables import Standardizer

        X = Standardizer.from_dict(table["standardizer"]).transform(X)
    was_training = getattr(run.model, "training", False)
    run.model.eval()
    with torch.no_grad():
        out = run.model(X.to(_device(run.model))).cpu()
    run.model.train(was_training)
    if run.classifies:
        return torch.softmax(out.double(), dim=1) if probabilities else out.argmax(dim=1)
    if probabilities:
        raise ConfigError("a regressor predicts values, not class probabilities; leave out probabilities=")
    if "target_standardizer" in table:
        from minidl.data.tables import Standardizer

        out = Standardizer.from_dict(table["target_standardizer"]).inverse(out)
        out = out.exp() if table.get("log_target") else out  # --metric log-rmse fitted the log
    return out.reshape(-1)


def _device(model) -> torch.device:
    return next(iter(model.parameters())).device


def load_model(run_or_checkpoint, *, best: bool = False):
    """Return ``(model, config, state)`` rebuilt from a run folder's checkpoint or a .pt file."""
    path = ckpt.find_checkpoint(run_or_checkpoint, ckpt.BEST if best else ckpt.LAST)
    state = ckpt.load_checkpoint(path)
    config = TrainConfig.from_dict(state["config"])
    facts = state["data"]
    model = model_for(config, facts["num_inputs"], facts["num_outputs"])
    load_weights(model, state, path)
    model.eval()
    return model, config, {**state, "path": path}


def evaluate_run(run, X=None, y=None, *, best: bool = False, data_dir: str | None = None,
                 csv: str | None = None) -> dict:
    """Return the test loss (and accuracy, per-class accuracy) of a run on its test set, or on X, y.

    ``run``: a run folder, a checkpoint, a Run or a History. Without X and y the data comes from
    ``data_dir`` if given, else from the folder the run trained on (its checkpoint records it),
    whatever MINIDL_DATA_DIR says today; either way it must hold the same train/test split, or a
    DatasetError says so. A CSV run reads ``csv`` if given (a moved table), else the table it
    recorded, and refuses one whose contents changed. A run trained on arrays is scored on the
    arrays given here. A run folder is brought level with its checkpoint (see minidl.training.run_folder.reconcile).
    """
    from minidl.sources.base import EVAL_BATCH
    from minidl.training.run_folder import tidy_run_folder

    run = as_run(run, best=best)
    model, config, recorded, where = run.model, run.config, run.facts, str(run.path or "this run")
    loss_fn = build_loss(config.model, config.impl, model, classifies=recorded.get("classifies"))
    report = {"epoch": run.epoch} if run.path is None else {"checkpoint": where, "epoch": run.epoch}
    if X is not None or y is not None:
        a = check_arrays((X, y), config.model, recorded["class_names"] if run.classifies else None)
        if a.classifies != run.classifies:
            raise DatasetError(f"this run {'classifies' if run.classifies else 'regresses'}: y must hold "
                               f"{'integer class labels' if run.classifies else 'real values'}, not {y.dtype}")
        loader = Loader(a.X, a.y, EVAL_BATCH, device=_device(model))
        loader.X = as_trained(loader.X, recorded.get("pixels"))  # --standardize: the training set's statistics
        test = evaluate(scorer_for(model, config.tta_flip), loader, loss_fn, a.classifies)
        class_names = a.class_names
    else:
        data = run_data(config, recorded, where, data_dir=data_dir, csv=csv)
        test = evaluate(scorer_for(model, config.tta_flip), data.test, loss_fn, data.classifies)
        class_names = data.class_names
        if not data.classifies and data.table:  # a table's regression: R^2 and RMSE, as training reported
            from minidl.sources.table import regression_scores

            report.update(regression_scores(model, data.test, data.table))
        if run.path is not None:
            tidy_run_folder(run.path.parent)
    report.update(test.means(None))
    if run.classifies:
        report["per_class_acc"] = class_report(test, class_names)[0]["per_class_acc"]
    return report


def run_data(config: TrainConfig, recorded: dict, where: str, *, data_dir=None, csv=None):
    """Return the RunData a saved run trained on: from ``data_dir`` / ``csv`` if given, else from
    where its checkpoint's facts say it read them; DatasetError if that data is not the run's."""
    from minidl.sources.registry import check_same_data, found_again, load_run_data

    data = load_run_data(found_again(config, recorded, where, data_dir=data_dir, csv=csv), torch.device("cpu"))
    check_same_data(recorded, data, where)
    return data


def redraw_run(run_folder, *, data_dir: str | None = None, csv: str | None = None, out=None) -> list[Path]:
    """Return the paths of a run folder's figures after drawing them again from its checkpoint and data
    (in the folder ``out`` if given, which the caller has checked, else in the run folder)."""
    from minidl.training.runs import draw_figures
    from minidl.training.run_folder import lock_run_folder
    from minidl.training.summary import summarize

    folder = Path(run_folder)
    if not folder.is_dir():
        raise ConfigError(f"{folder} is not a run folder: `minidl plot run` redraws the figures of a folder "
                          f"that `minidl train` wrote")
    run = load_run(folder)
    if not run.rows:
        raise DatasetError(f"{run.path} holds no finished epoch yet: there is nothing to draw")
    data = run_data(run.config, run.facts, str(run.path), data_dir=data_dir, csv=csv)
    loss_fn = build_loss(run.config.model, run.config.impl, run.model, classifies=run.facts.get("classifies"))
    test = evaluate(run.model, data.test, loss_fn, data.classifies) if data.test is not None else None
    summary, predictions = summarize(run.config, run.rows, run.model, data, test)
    if out is not None:
        return draw_figures(Path(out), data, run.rows, summary, predictions)
    try:
        lock = lock_run_folder(folder)  # not while a training writes the same figures
    except ConfigError as e:
        raise ConfigError(f"{e}, or draw the figures elsewhere with {setting('out', 'DIR')}") from None
    try:
        return draw_figures(folder, data, run.rows, summary, predictions)
    finally:
        lock.close()


def predict_files(run_or_checkpoint, inputs: list[str], *, invert: str = "auto", raw: bool = False,
                  top: int = 3) -> list[str]:
    """Return one printable line per input: top classes for images, the prediction for CSV rows.

    ``invert`` and ``raw`` say how an image is made into the model's input (see :func:`load_image`).
    """
    run = load_run(run_or_checkpoint)
    if not run.classifies or run.facts.get("table"):
        return _predict_rows(run, inputs)
    names = run.facts["class_names"]
    top = max(1, min(top, len(names)))
    if run.config.images:  # trained on an image folder: each file decoded as its images were
        from minidl.data.image_folder import decode_image

        if raw or invert != "auto":
            raise ConfigError(f"{run.path} was trained on an image folder: new images are read as its images "
                              f"were; leave out {'--raw' if raw else '--invert'}")

        images = [torch.from_numpy(decode_image(p, run.config.image_size, run.config.channels)) for p in inputs]
    else:
        images = [load_image(p, invert=invert, raw=raw) for p in inputs]  # each (28, 28) uint8
    lines = [f"{path}: holds no object (no pixel stands out from the background); nothing to classify"
             for path in inputs]
    # the Fashion-MNIST check that a photo shows an object; a folder run's own images may well be flat
    shown = [i for i, image in enumerate(images) if run.config.images or has_object(image)]
    if shown:
        probs = predict(run, torch.stack([images[i] for i in shown]), probabilities=True)
        for i, p in zip(shown, probs):
            values, indices = p.topk(top)
            ranked = ", ".join(f"{names[k]} {v:.2f}" for v, k in zip(values.tolist(), indices.tolist()))
            lines[i] = f"{inputs[i]}: {ranked}"
    return lines


def _predict_rows(run: Run, inputs) -> list[str]:
    """Return a line per row of one CSV file: ``row 1: species = Gentoo (0.98)``, or the value predicted."""
    from minidl.data.tables import Encoder, read_rows

    if len(inputs) != 1 or Path(inputs[0]).suffix.lower() != ".csv":
        raise DatasetError(f"a {'table' if run.classifies else 'regression'} run predicts the rows of one CSV file; "
                           f"got {' '.join(inputs)}")
    table = run.facts["table"]
    features = table.get("features", [f"x{i + 1}" for i in range(run.facts["num_inputs"])])
    encoder = Encoder.from_dict(table["columns"]) if "columns" in table else Encoder.numbers(features)
    target = table.get("target", "y")
    X = read_rows(inputs[0], encoder, target)  # raw columns encoded: predict standardises them
    if not run.classifies:
        return [f"row {i + 1}: {target} = {v:.4f}" for i, v in enumerate(predict(run, X).tolist())]
    names = run.facts["class_names"]
    p, k = predict(run, X, probabilities=True).max(dim=1)
    return [f"row {i + 1}: {target} = {names[c]} ({q:.3f})" for i, (q, c) in enumerate(zip(p.tolist(), k.tolist()))]

