"""``minidl export RUN --format onnx|torchscript --out FILE``: a trained run as one file another
program runs (onnxruntime, a C++ or mobile torch), with its preprocessing inside and its facts
(class names, inputs, preprocessing) in the file's metadata under the key ``minidl`` (JSON).

Whichever twin trained it, the file holds an equivalent torch.nn network built from the run's
weights in canonical form (W (in, out), b), behind the preprocessing the run's data went through:

- images (an IDX set, an image folder in grey or colour): input ``pixels``, uint8 (N, size, size)
  or (N, 3, size, size), the image decoded and resized as ``minidl predict`` decodes it; the file
  scales it to [0, 1];
- a CSV table: input ``features``, float64 (N, d) in the order of metadata ``features``: number
  columns as they are, text columns one-hot (``name=category``, the categories listed under
  ``columns``; a missing number filled with the column's training ``mean``). The file standardises
  them with the training rows' statistics. The one-hot encoding is the one step left outside (ONNX
  has no portable text-to-index operator): metadata ``columns`` is its sidecar;
- arrays given to ``fit`` (and the synthetic toys): input ``features``, float32, as the model saw them.

A classifier's outputs are ``probabilities`` (N, classes) float32 and ``label`` (N,) int64, the
class names in metadata ``classes``; a regressor's is ``value`` (N,) float32 in the target's own
units (a CSV run's target standardisation undone, and log-rmse's log).
"""
from __future__ import annotations

import io
import json
import logging
import warnings
from pathlib import Path

import torch
from torch import nn

from minidl import __version__
from minidl.errors import ConfigError, check_choice
from minidl.config.model import REGRESSORS
from minidl.app.export_formats import FORMATS
from minidl.files import write_bytes
from minidl.training.loggers import require_extra

NEEDS = {"onnx": ("onnx", "onnxscript")}  # what torch.onnx's exporter imports (onnxruntime only runs the file)


class Exported(nn.Module):
    """A run's network behind its input scaling and output mapping, all in torch ops that export."""

    def __init__(self, layers: nn.Sequential, kind: str, classifies: bool, table: dict):
        super().__init__()
        self.layers, self.kind, self.classifies = layers, kind, classifies
        stats = table.get("standardizer", {"mean": [], "std": []})
        target = table.get("target_standardizer", {"mean": [0.0], "std": [1.0]})
        self.register_buffer("mean", torch.tensor(stats["mean"], dtype=torch.float64))
        self.register_buffer("std", torch.tensor(stats["std"], dtype=torch.float64))
        self.register_buffer("target_mean", torch.tensor(target["mean"], dtype=torch.float64))
        self.register_buffer("target_std", torch.tensor(target["std"], dtype=torch.float64))
        self.log_target = bool(table.get("log_target"))

    def forward(self, X):
        if self.kind == "pixels":  # uint8 pixels, as the Loader scales them
            X = X.to(torch.float32) / 255
        elif self.kind == "table":  # float64 statistics, as minidl.data.tables.Standardizer applies them
            X = ((X - self.mean) / self.std).to(torch.float32)
        out = self.layers(X.flatten(1))  # (N, ...) -> (N, inputs) -> (N, outputs)
        if self.classifies:
            return torch.softmax(out, dim=1), out.argmax(dim=1)
        if self.kind == "table":  # back to the target's own units
            out = (out.to(torch.float64) * self.target_std + self.target_mean).to(torch.float32)
            out = out.exp() if self.log_target else out
        return out.reshape(-1)


def layers_of(model, config) -> nn.Sequential:
    """Return torch.nn layers computing what ``model`` (any twin) computes in eval mode, from its weights."""
    from minidl.lessons.concise import nonlinearity
    from minidl.training.models import canonical_state

    state = canonical_state(model)  # {w or W, b} or {W1, b1, W2, ...}, weights as (in, out)
    if "w" in state:  # linreg, polyreg
        names = [("w", "b")]
    elif "W" in state:  # softmax regression
        names = [("W", "b")]
    else:  # an MLP: a linear layer per (W_i, b_i), the activation between them
        names = [(f"W{i}", f"b{i}") for i in range(1, len(state) // 2 + 1)]
    layers = []
    for i, (w, b) in enumerate(names):
        linear = nn.Linear(*state[w].shape)
        with torch.no_grad():
            linear.weight.copy_(state[w].detach().T)
            linear.bias.copy_(state[b].detach())
        layers += [*([nonlinearity(config.activation)] if i else []), linear]  # no dropout: eval mode
    return nn.Sequential(*layers).eval()


def input_kind(run) -> str:
    """Return ``pixels`` (an image run), ``table`` (a CSV run) or ``features`` (arrays, the toys)."""
    if run.facts.get("table"):
        return "table"
    if run.facts.get("in_memory") or run.config.model in REGRESSORS:
        return "features"
    return "pixels"


def metadata(run, kind: str) -> dict:
    """Return what the exported file says of itself: where it came from, its input and outputs, the classes."""
    facts, config = run.facts, run.config
    meta = {"minidl_version": __version__, "model": config.model, "impl": config.impl, "epochs": run.epoch,
            "input": kind, "num_inputs": facts["num_inputs"],
            "outputs": ["probabilities", "label"] if run.classifies else ["value"]}
    if run.classifies:
        meta["classes"] = list(facts["class_names"])
    if kind == "pixels":
        meta["image_size"], meta["channels"] = (config.image_size, config.channels) if config.images else (28, 1)
    table = facts.get("table") or {}
    if kind == "table":
        meta.update(features=table.get("features"), columns=table.get("columns"), target=table.get("target"),
                    log_target=bool(table.get("log_target")))
    return meta


def example_input(run, kind: str) -> torch.Tensor:
    """Return a batch of two inputs of the shape and dtype the exported file takes."""
    n = run.facts["num_inputs"]
    if kind == "table":
        return torch.zeros(2, n, dtype=torch.float64)
    if kind == "features":
        return torch.zeros(2, n)
    channels = run.config.channels if run.config.images else 1
    side = round((n // channels) ** 0.5)
    shape = (2, side, side) if channels == 1 else (2, channels, side, side)
    return torch.zeros(shape, dtype=torch.uint8)


def check_out(out) -> Path:
    """Return ``out`` as a Path if a file can be written there, else raise ConfigError (before the work)."""
    path = Path(out)
    if path.is_dir():
        raise ConfigError(f"--out {out} is a folder: name the file to write, e.g. {Path(out) / 'model.onnx'}")
    if not path.parent.is_dir():
        raise ConfigError(f"--out {out}: the folder {path.parent} does not exist; create it first")
    import os

    if not os.access(path.parent, os.W_OK):
        raise ConfigError(f"--out {out}: the folder {path.parent} is not writable; name a file in another")
    return path


def export_run(run_or_checkpoint, fmt: str, out, *, best: bool = False) -> Path:
    """Return the path of the file written: the run's model, preprocessing and metadata as ``fmt``."""
    from minidl.app.inference import as_run

    check_choice("format (--format)", fmt, FORMATS)
    path = check_out(out)
    for module in NEEDS.get(fmt, ()):
        require_extra(module, "onnx", f"--format {fmt}")
    run = as_run(run_or_checkpoint, best=best)
    kind = input_kind(run)
    module = Exported(layers_of(run.model, run.config), kind, run.classifies, run.facts.get("table") or {}).eval()
    meta = json.dumps(metadata(run, kind))
    example = example_input(run, kind)
    data = to_onnx(module, example, kind, meta) if fmt == "onnx" else to_torchscript(module, example, meta)
    try:
        return write_bytes(path, data)
    except OSError as e:
        raise ConfigError(f"cannot write --out {out}: {e.strerror or e}; name a file in a folder you can write") from None


def to_onnx(module: Exported, example: torch.Tensor, kind: str, meta: str) -> bytes:
    """Return the ONNX file's bytes: torch.onnx's exporter, a dynamic batch, the metadata under ``minidl``."""
    import onnx

    name = "pixels" if kind == "pixels" else "features"
    outputs = ["probabilities", "label"] if module.classifies else ["value"]
    quiet = logging.getLogger("torch.onnx")
    level, quiet.level = quiet.level, logging.ERROR  # its notes on torchvision ops this file never uses
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            program = torch.onnx.export(module, (example,), dynamo=True, verbose=False, input_names=[name],
                                        output_names=outputs,
                                        dynamic_shapes=({0: torch.export.Dim("batch", min=1)},))
    finally:
        quiet.level = level
    proto = program.model_proto
    onnx.helper.set_model_props(proto, {"minidl": meta})
    return proto.SerializeToString()


def to_torchscript(module: Exported, example: torch.Tensor, meta: str) -> bytes:
    """Return the TorchScript file's bytes (traced), the metadata as its extra file ``minidl.json``."""
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # torch.jit's deprecation notes: the ONNX file is the lasting format
        torch.jit.save(torch.jit.trace(module, (example,)), buffer, _extra_files={"minidl.json": meta})
    return buffer.getvalue()
