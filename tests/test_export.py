"""minidl export: each exported file, run in onnxruntime (or torch.jit), predicts what ``minidl
predict`` predicts: probabilities to 1e-5, classes exactly, for an IDX, a grey and a colour
image-folder, and a CSV classification and regression run, trained by each of the three twins."""
import json
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from minidl.app.cli import main
from minidl.data.tables import Encoder, read_rows
from minidl.app.inference import load_run, predict, run_data

ort = pytest.importorskip("onnxruntime", reason="the 'onnx' extra is not installed (pip install -e '.[onnx]')")
onnx = pytest.importorskip("onnx", reason="the 'onnx' extra is not installed (pip install -e '.[onnx]')")

IMPLS = ("scratch", "concise", "manual")
KINDS = ("idx", "grey-folder", "colour-folder", "csv-classify", "csv-regress")


def grey_tree(root, n=10, size=20):
    """One tree of three classes, each a band of brightness; split by --test-fraction."""
    rng = np.random.default_rng(0)
    for c, name in enumerate(("cat", "dog", "fox")):
        for i in range(n):
            path = root / name / f"{i:03d}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(rng.integers(80 * c, 80 * c + 60, (size, size)).astype(np.uint8)).save(path)
    return root


def colour_folder(root, n=8, size=8):
    """train/ and test/ of red and green noisy squares."""
    rng = np.random.default_rng(1)
    for split in ("train", "test"):
        for name, channel in (("green", 1), ("red", 0)):
            for i in range(n):
                image = rng.integers(0, 40, (size, size, 3)).astype(np.uint8)
                image[2:6, 2:6, channel] = 200 + rng.integers(0, 50)
                path = root / split / name / f"{i:03d}.png"
                path.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(image).save(path)
    return root


def tables(root):
    """A table of numbers and a text column: a class to classify, a positive price to regress."""
    rng = np.random.default_rng(2)
    rows = []
    for i in range(60):
        size, colour = rng.normal(3, 2), ("red", "green", "blue")[i % 3]
        kind = "ant" if size + (colour == "red") > 3 else "bee"
        rows.append(f"{size:.3f},{colour},{kind},{np.exp(1 + size / 4) * (2 if colour == 'blue' else 1):.3f}")
    (root / "table.csv").write_text("size,colour,kind,price\n" + "\n".join(rows) + "\n")
    return root / "table.csv"


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tiny_fashion):
    """train(kind, impl) -> the run folder, trained once per module."""
    base = tmp_path_factory.mktemp("export-runs")
    data = {"grey": grey_tree(base / "grey"), "colour": colour_folder(base / "colour"), "table": tables(base)}
    flags = {
        "idx": ["mlp", "--data-dir", str(tiny_fashion), "--batch-size", "100"],
        "grey-folder": ["mlp", "--images", str(data["grey"]), "--image-size", "10", "--batch-size", "8",
                        "--activation", "tanh"],
        "colour-folder": ["mlp", "--images", str(data["colour"]), "--channels", "3", "--batch-size", "4",
                          "--activation", "gelu"],
        "csv-classify": ["mlp", "--csv", str(data["table"]), "--target", "kind", "--batch-size", "10", "--lr", "0.1",
                         "--dropout", "0.3"],  # dropout: never in the exported file (eval mode)
        "csv-regress": ["mlp", "--csv", str(data["table"]), "--target", "price", "--task", "regress",
                        "--metric", "log-rmse", "--batch-size", "10", "--lr", "0.05"],
        "csv-linreg": ["linreg", "--csv", str(data["table"]), "--target", "price", "--batch-size", "10"],
    }
    done = {}

    def train(kind, impl):
        if (kind, impl) not in done:
            out = base / f"{kind}-{impl}"
            extra = [] if kind == "csv-linreg" else ["--hidden", "8"]
            assert main(["train", *flags[kind], *extra, "--impl", impl, "--epochs", "2", "--device", "cpu",
                         "--out", str(out), "--no-plots", "--quiet"]) == 0
            done[kind, impl] = out
        return done[kind, impl]

    train.table = data["table"]
    return train


def inputs_of(run, table_csv):
    """Return the run's test inputs as ``minidl predict`` takes them: uint8 pixels, or a table's encoded rows."""
    table = run.facts.get("table")
    if table:
        # float64, the exported file's input: the same numbers (n, d), standardised as predict does
        return read_rows(table_csv, Encoder.from_dict(table["columns"]), table["target"]).double()
    return run_data(run.config, run.facts, str(run.path)).test_images  # uint8, as the files decode


def assert_same_predictions(run, outputs, X):
    if run.classifies:
        probabilities, labels = outputs
        expected = predict(run, X, probabilities=True)
        np.testing.assert_allclose(probabilities, expected.numpy(), rtol=0, atol=1e-5)
        assert labels.tolist() == predict(run, X).tolist()
    else:
        (values,) = outputs
        np.testing.assert_allclose(values, predict(run, X).numpy(), rtol=1e-5)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("kind", KINDS)
def test_onnxruntime_predicts_what_minidl_predicts(tmp_path, runs, kind, impl):
    folder = runs(kind, impl)
    out = tmp_path / "model.onnx"
    assert main(["export", str(folder), "--format", "onnx", "--out", str(out)]) == 0
    run, session = load_run(folder), ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    X = inputs_of(run, runs.table)
    name = session.get_inputs()[0].name
    assert name == ("features" if kind.startswith("csv") else "pixels")
    assert_same_predictions(run, session.run(None, {name: X.numpy()}), X)
    meta = json.loads({p.key: p.value for p in onnx.load(str(out)).metadata_props}["minidl"])
    assert meta["impl"] == impl and meta["num_inputs"] == run.facts["num_inputs"]
    if run.classifies:
        assert meta["classes"] == list(run.facts["class_names"])
    if kind.startswith("csv"):
        assert meta["features"] == run.facts["table"]["features"] and meta["columns"]["columns"][1]["name"] == "colour"


@pytest.mark.parametrize("kind", ["idx", "colour-folder", "csv-classify", "csv-regress", "csv-linreg"])
def test_torchscript_predicts_what_minidl_predicts(tmp_path, runs, kind):
    folder = runs(kind, "scratch")
    out = tmp_path / "model.pt"
    assert main(["export", str(folder), "--format", "torchscript", "--out", str(out)]) == 0
    extra = {"minidl.json": ""}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit is deprecated for torch.export
        module = torch.jit.load(str(out), _extra_files=extra)
    run = load_run(folder)
    X = inputs_of(run, runs.table)
    with torch.no_grad():
        outputs = module(X)
    outputs = [o.numpy() for o in outputs] if run.classifies else [outputs.numpy()]
    assert_same_predictions(run, outputs, X)
    assert json.loads(extra["minidl.json"])["model"] == run.config.model


def test_the_onnx_file_classifies_image_files_as_minidl_predict_does(tmp_path, runs, capsys):
    from minidl.data.image_folder import decode_image

    folder = runs("colour-folder", "manual")
    out = tmp_path / "colour.onnx"
    assert main(["export", str(folder), "--format", "onnx", "--out", str(out)]) == 0
    files = sorted(str(p) for p in (runs.table.parent / "colour" / "test").rglob("*.png"))
    capsys.readouterr()
    assert main(["predict", str(folder), *files, "--top", "1"]) == 0
    said = [line.rsplit(": ", 1)[1].split()[0] for line in capsys.readouterr().out.splitlines()]
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    meta = json.loads(session.get_modelmeta().custom_metadata_map["minidl"])
    pixels = np.stack([decode_image(f, meta["image_size"], meta["channels"]) for f in files])
    _, labels = session.run(None, {"pixels": pixels})
    assert [meta["classes"][k] for k in labels] == said
