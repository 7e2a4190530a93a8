"""Using a trained run: evaluate it on its test set, classify image files, predict CSV rows."""
from __future__ import annotations

from pathlib import Path

import torch

from . import checkpoint as ckpt
from .config import TrainConfig
from .errors import DatasetError
from .evaluate import class_report, evaluate
from .images import has_object, load_image
from .models import build_loss, load_weights, model_for


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


def evaluate_run(run_or_checkpoint, *, best: bool = False, data_dir: str | None = None) -> dict:
    """Return the test loss (and accuracy, per-class accuracy) of a saved run on its test set.

    The data comes from ``data_dir`` if given, else from the folder the run trained on (its
    checkpoint records it), whatever MINIDL_DATA_DIR says today; either way it must hold the same
    train/test split, or a DatasetError says so.
    """
    from .runs import check_same_data, load_run_data, recorded_data_dir

    model, config, state = load_model(run_or_checkpoint, best=best)
    recorded = state["data"]
    if data_dir is None:
        data_dir = recorded_data_dir(recorded, str(state["path"]))
    if data_dir is not None:
        config = config.replace(data_dir=data_dir)
    data = load_run_data(config, torch.device("cpu"))
    check_same_data(recorded, data, str(state["path"]))
    report = {"checkpoint": str(state["path"]), "epoch": state["epoch"]}
    test = evaluate(model, data.test, build_loss(config.model, config.impl, model), data.classifies)
    report.update(test.means(None))
    if data.classifies:
        report["per_class_acc"] = class_report(test, data.class_names)[0]["per_class_acc"]
    return report


def predict_files(run_or_checkpoint, inputs: list[str], *, invert: str = "auto", raw: bool = False,
                  top: int = 3) -> list[str]:
    """Return one printable line per input: top classes for images, the prediction for CSV rows.

    ``invert`` and ``raw`` say how an image is made into the model's input (see :func:`load_image`).
    """
    model, config, state = load_model(run_or_checkpoint)
    facts = state["data"]
    if config.model == "linreg":
        return _predict_rows(model, facts, inputs)
    names = facts["class_names"]
    top = max(1, min(top, len(names)))
    images = [load_image(p, invert=invert, raw=raw) for p in inputs]  # each (28, 28) uint8
    lines = [f"{path}: holds no object (no pixel stands out from the background); nothing to classify"
             for path in inputs]
    shown = [i for i, image in enumerate(images) if has_object(image)]
    if shown:
        with torch.no_grad():
            probs = torch.softmax(model(torch.stack([images[i] for i in shown]).float() / 255), dim=1)
        for i, p in zip(shown, probs):
            values, indices = p.topk(top)
            ranked = ", ".join(f"{names[k]} {v:.2f}" for v, k in zip(values.tolist(), indices.tolist()))
            lines[i] = f"{inputs[i]}: {ranked}"
    return lines


def _predict_rows(model, facts, inputs) -> list[str]:
    from .data.tables import Standardizer, read_rows

    if len(inputs) != 1 or Path(inputs[0]).suffix.lower() != ".csv":
        raise DatasetError(f"a linear-regression run predicts rows of one CSV file; got {' '.join(inputs)}")
    table = facts["table"]
    features = table.get("features", [f"x{i + 1}" for i in range(facts["num_inputs"])])
    X = read_rows(inputs[0], features)
    if table:
        X = Standardizer.from_dict(table["standardizer"]).transform(X)
    with torch.no_grad():
        y_hat = model(X).reshape(-1)
    target = table.get("target", "y")
    return [f"row {i + 1}: {target} = {v:.4f}" for i, v in enumerate(y_hat.tolist())]

