"""Using a trained run: evaluate it on its test set, classify image files, predict CSV rows."""
from __future__ import annotations

from pathlib import Path

import torch

from . import checkpoint as ckpt
from .config import TrainConfig
from .errors import DatasetError
from .evaluate import confusion_matrix, evaluate, per_class_accuracy
from .models import architecture, build_loss, build_model

IMAGE_SIZE = 28


def load_model(run_or_checkpoint, *, best: bool = False):
    """Return ``(model, config, state)`` rebuilt from a run folder's checkpoint or a .pt file."""
    path = ckpt.find_checkpoint(run_or_checkpoint, ckpt.BEST if best else ckpt.LAST)
    state = ckpt.load_checkpoint(path)
    config = TrainConfig.from_dict(state["config"])
    facts = state["data"]
    model = build_model(config.model, config.impl, num_inputs=facts["num_inputs"],
                        num_outputs=facts["num_outputs"], hidden=config.hidden,
                        activation=config.activation, init=config.init, seed=config.seed)
    ckpt.check_architecture(path, state["architecture"], architecture(model))
    model.load_state_dict(state["model"])
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
        outputs, targets = test.outputs()
        confusion = confusion_matrix(targets, outputs.argmax(dim=1), data.num_outputs)
        report["per_class_acc"] = dict(zip(data.class_names, per_class_accuracy(confusion)))
    return report


def predict_files(run_or_checkpoint, inputs: list[str], *, invert: str = "auto", top: int = 3) -> list[str]:
    """Return one printable line per input: top classes for images, the prediction for CSV rows."""
    model, config, state = load_model(run_or_checkpoint)
    facts = state["data"]
    if config.model == "linreg":
        return _predict_rows(model, facts, inputs)
    names = facts["class_names"]
    top = max(1, min(top, len(names)))
    images = torch.stack([load_image(p, invert=invert) for p in inputs])  # (N, 28, 28) uint8
    with torch.no_grad():
        probs = torch.softmax(model(images.float() / 255), dim=1)
    lines = []
    for path, p in zip(inputs, probs):
        values, indices = p.topk(top)
        ranked = ", ".join(f"{names[i]} {v:.2f}" for v, i in zip(values.tolist(), indices.tolist()))
        lines.append(f"{path}: {ranked}")
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


def load_image(path, *, invert: str = "auto") -> torch.Tensor:
    """Return an image file as a (28, 28) uint8 tensor in Fashion-MNIST's convention.

    Fashion-MNIST shows a light object on a black background, centred in 28x28 pixels. Photos are
    usually the opposite, so ``invert="auto"`` inverts an image whose border is mostly light
    ("yes"/"no" force the choice). The object is then cropped to its bounding box, scaled so its
    longer side is 28 pixels, and centred, as the dataset's own images were made.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            grey = torch.frombuffer(bytearray(im.convert("L").tobytes()), dtype=torch.uint8)
            grey = grey.reshape(im.size[1], im.size[0])
    except FileNotFoundError:
        raise DatasetError(f"{path}: no such image file") from None
    except (UnidentifiedImageError, OSError) as e:
        raise DatasetError(f"{path}: cannot read it as an image (PNG or JPEG expected): {e}") from None
    border = torch.cat([grey[0], grey[-1], grey[:, 0], grey[:, -1]]).float()
    if invert == "yes" or (invert == "auto" and border.mean() > 127):
        grey = 255 - grey
    return _fit_to_square(grey)


def _fit_to_square(grey: torch.Tensor) -> torch.Tensor:
    from PIL import Image

    rows = (grey > 32).any(dim=1).nonzero()
    cols = (grey > 32).any(dim=0).nonzero()
    if len(rows) and len(cols):  # crop to the object; a blank image stays whole
        grey = grey[rows[0]: rows[-1] + 1, cols[0]: cols[-1] + 1]
    h, w = grey.shape
    scale = IMAGE_SIZE / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = Image.fromarray(grey.numpy()).resize(size, Image.LANCZOS)
    canvas = Image.new("L", (IMAGE_SIZE, IMAGE_SIZE), 0)
    canvas.paste(small, ((IMAGE_SIZE - size[0]) // 2, (IMAGE_SIZE - size[1]) // 2))
    return torch.frombuffer(bytearray(canvas.tobytes()), dtype=torch.uint8).reshape(IMAGE_SIZE, IMAGE_SIZE)
