"""The Python API: `import minidl`'s names, fit() on arrays, load_run / predict / evaluate_run, the README."""
import importlib
import json
import pydoc
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import minidl
from minidl.errors import ConfigError, DatasetError

README = Path(__file__).resolve().parents[1] / "README.md"
PYTHON_PAGE = README.parent / "docs" / "python.md"  # the README links it as its "From Python"


def blobs(n=400, d=12, classes=3, seed=0):
    """Return (X float32 (n, d), y int64 (n,)): one Gaussian blob per class, well apart."""
    rng = np.random.default_rng(seed)
    centres = 3 * rng.normal(size=(classes, d))
    y = np.arange(n) % classes
    return (centres[y] + rng.normal(size=(n, d))).astype(np.float32), y.astype(np.int64)


def config(**kw):
    base = dict(model="mlp", hidden=(16,), lr=0.1, batch_size=32, epochs=5, device="cpu", plots=False)
    base.update(kw)
    if base["model"] != "mlp":
        base.pop("hidden")
    return minidl.TrainConfig(**base)


def test_import_minidl_is_cheap_and_offers_every_name():
    code = ("import sys, minidl, minidl.app.cli; print('torch' in sys.modules); "
            "print(all(callable(getattr(minidl, n)) for n in minidl.__all__ if n != '__version__'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "True"]  # `minidl --help` stays torch-free; every name resolves on use
    assert minidl.fit is importlib.import_module("minidl.training.fit").fit  # the same function the CLI calls
    with pytest.raises(AttributeError, match="no attribute 'fitt'"):
        minidl.fitt


def test_help_reads_as_a_guide():
    text = pydoc.render_doc(minidl, renderer=pydoc.plaintext)
    for name in ("fit(config", "TrainConfig", "load_run", "evaluate_run", "predict", "minidl.sklearn"):
        assert name in text


@pytest.mark.parametrize("impl", ["scratch", "concise", "manual"])
@pytest.mark.parametrize("model", ["softmax", "mlp"])
def test_fit_on_numpy_arrays_with_any_feature_count(model, impl):
    X, y = blobs(d=12)
    history = minidl.fit(config(model=model, impl=impl), data=(X[:300], y[:300], X[300:], y[300:]),
                         class_names=("a", "b", "c"), progress=False)
    assert history.final["test_acc"] > 0.9
    assert list(history.summary["per_class_acc"]) == ["a", "b", "c"]
    assert history.state["architecture"]["shapes"]["b" if model == "softmax" else "b2"] == [3]


def test_fit_on_tensors_infers_the_classes_and_takes_images():
    images = torch.randint(0, 256, (64, 28, 28), dtype=torch.uint8)  # uint8 pixels: scaled to [0, 1]
    labels = torch.arange(64) % 4
    history = minidl.fit(config(epochs=1), data=(images, labels), progress=False)
    assert history.state["data"]["num_inputs"] == 784 and history.state["data"]["class_names"] == ["0", "1", "2", "3"]
    assert "test_loss" not in history.final and history.summary["best_train_acc"] >= 0  # no test set
    assert minidl.predict(history, images[:5]).shape == (5,)


def test_an_mlp_on_float_targets_regresses():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 3)).astype(np.float32)
    y = np.sin(X[:, 0]) + X[:, 1] ** 2 / 2  # float y: squared loss, one output
    history = minidl.fit(config(hidden=(32,), init="kaiming", lr=0.05, epochs=30), data=(X[:500], y[:500], X[500:], y[500:]),
                         progress=False)
    mse_of_the_mean = float(y[500:].var())  # what predicting a constant scores
    assert "test_acc" not in history.final and history.final["test_loss"] < mse_of_the_mean / 2 / 4  # loss: MSE / 2
    predicted = minidl.predict(history, X[500:])
    assert predicted.shape == (100,) and float(((predicted.numpy() - y[500:]) ** 2).mean()) < mse_of_the_mean / 4


def test_linreg_on_arrays_learns_the_line():
    X, y = minidl.synthetic_data([1.0, -2.0, 0.5], 3.0, 1000)
    history = minidl.fit(config(model="linreg", lr=0.03, batch_size=10, epochs=3), data=(X, y), progress=False)
    assert history.summary["w"] == pytest.approx([1.0, -2.0, 0.5], abs=0.01) and "true_w" not in history.summary


@pytest.mark.parametrize("data,kw,message", [
    ((np.zeros((4, 3)),), {}, r"takes \(X, y\) or"),
    ((np.zeros((4, 3)), np.zeros(5, dtype=int)), {}, "4 examples but y_train has 5"),
    ((np.zeros(4), np.zeros(4, dtype=int)), {}, r"shape \(4,\); it needs one row per example"),
    ((np.array([["a"]] * 4), np.zeros(4, dtype=int)), {}, "holds <U1 values"),
    ((np.full((4, 3), np.nan), np.zeros(4, dtype=int)), {}, "NaN or infinite"),
    ((np.zeros((4, 3)), np.array([0, 1, -1, 0])), {}, "label -1"),
    ((np.zeros((4, 3)), np.array([0, 1, 2, 0])), {"class_names": ("a", "b")}, "label 2 but class_names names 2"),
    ((np.zeros((4, 3)), np.zeros(4), np.zeros((2, 5)), np.zeros(2)), {}, "X_test has examples of shape"),
    ((np.zeros((4, 3)), np.zeros((4, 2))), {}, r"one target per example, \(n,\) or \(n, 1\)"),
])
def test_bad_arrays_get_one_line_errors(data, kw, message):
    with pytest.raises(DatasetError, match=message) as error:
        minidl.fit(config(), data=data, progress=False, **kw)
    assert "\n" not in str(error.value)


def test_softmax_refuses_float_targets_and_arrays_refuse_a_named_data_set(tmp_path):
    X, _ = blobs()
    with pytest.raises(DatasetError, match="softmax classifies: y must hold integer class labels"):
        minidl.fit(config(model="softmax"), data=(X, X[:, 0]), progress=False)
    with pytest.raises(ConfigError, match="leave out csv, data_dir and toy"):
        minidl.fit(config(data_dir=str(tmp_path)), data=(X, X[:, 0]), progress=False)
    with pytest.raises(ConfigError, match="scores every epoch on a test set"):
        minidl.fit(config(out=str(tmp_path / "run")), data=blobs(), progress=False)


def test_a_run_folder_from_arrays_loads_back(tmp_path):
    X, y = blobs()
    data = (X[:300], y[:300], X[300:], y[300:])
    history = minidl.fit(config(out=str(tmp_path / "run")), data=data, class_names=("a", "b", "c"), progress=False)
    run = minidl.load_run(tmp_path / "run")
    assert run.config == history.config and run.rows == history.rows and run.summary == json.loads(
        (tmp_path / "run" / "summary.json").read_text())
    assert run.facts["class_names"] == ["a", "b", "c"] and run.classifies and run.epoch == 5
    assert torch.equal(minidl.predict(run, X), minidl.predict(history, X))
    report = minidl.evaluate_run(run, X[300:], y[300:])
    assert report["acc"] == pytest.approx(history.final["test_acc"]) and list(report["per_class_acc"]) == ["a", "b", "c"]
    with pytest.raises(DatasetError, match="trained on arrays given in Python"):
        minidl.evaluate_run(run)


def test_partial_training_resumes_from_a_history_exactly():
    X, y = blobs()
    straight = minidl.fit(config(epochs=4), data=(X, y), progress=False)
    first = minidl.fit(config(epochs=2), data=(X, y), progress=False)
    resumed = minidl.fit(config(epochs=4), data=(X, y), resume=first.state, progress=False)
    strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # noqa: E731
    assert strip(resumed.rows) == strip(straight.rows)


def test_a_fashion_run_through_the_api_as_the_cli_sees_it(tiny_fashion, tmp_path):
    history = minidl.fit(config(epochs=2, data_dir=str(tiny_fashion), out=str(tmp_path / "run")), progress=False)
    run = minidl.load_run(tmp_path / "run")
    report = minidl.evaluate_run(run)  # the CLI's `minidl evaluate` calls this
    assert report["acc"] == pytest.approx(history.final["test_acc"])
    images = minidl.load_fashion_mnist(tiny_fashion)[2][:8]  # uint8 test images
    probabilities = minidl.predict(run, images, probabilities=True)
    assert probabilities.shape == (8, 10) and torch.allclose(probabilities.sum(1), torch.ones(8, dtype=torch.float64))


def readme_python_snippets() -> list[str]:
    """Return the Python snippets of the README's page "From Python" (docs/python.md)."""
    return re.findall(r"```python\n(.*?)```", PYTHON_PAGE.read_text(), flags=re.S)


def test_the_readme_has_its_python_snippets():
    assert len(readme_python_snippets()) == 3


@pytest.mark.parametrize("index", range(3))
def test_the_readmes_python_snippets_run(index, tiny_fashion, tmp_path, monkeypatch):
    snippet = readme_python_snippets()[index]
    if "sklearn" in snippet:
        pytest.importorskip("sklearn", reason="scikit-learn is not installed (pip install -e '.[dev]')")
    monkeypatch.setenv("MINIDL_DATA_DIR", str(tiny_fashion))  # the stand-in, not a download
    monkeypatch.chdir(tmp_path)  # runs/first lands here
    exec(compile(snippet, f"docs/python.md snippet {index + 1}", "exec"), {})


SKLEARN_PAGE = README.parent / "docs" / "sklearn.md"


def page_python_snippets() -> list[str]:
    return re.findall(r"```python\n(.*?)```", SKLEARN_PAGE.read_text(), flags=re.S)


def printed_comments(snippet: str) -> list[str]:
    """Return what each ``print(...)  # shown`` line of a snippet says it prints (before any ':')."""
    return [line.split("#", 1)[1].split(":")[0].strip() for line in snippet.splitlines()
            if line.startswith("print(") and "#" in line]


def test_the_python_page_runs_and_prints_what_it_says(tmp_path, monkeypatch, capsys):
    pytest.importorskip("sklearn", reason="scikit-learn is not installed (pip install -e '.[dev]')")
    snippets = page_python_snippets()
    assert len(snippets) == 1 and all(word in snippets[0] for word in ("sample_weight", "partial_fit", "Tfidf"))
    monkeypatch.chdir(tmp_path)  # anything it writes lands here
    exec(compile(snippets[0], "docs/sklearn.md snippet", "exec"), {})
    assert capsys.readouterr().out.splitlines() == printed_comments(snippets[0])


def test_a_run_folder_from_arrays_draws_its_curves(tmp_path):
    X, y = blobs()
    minidl.fit(config(epochs=2, out=str(tmp_path / "run"), plots=True), data=(X, y, X, y), progress=False)
    assert (tmp_path / "run" / "curves.png").is_file() and (tmp_path / "run" / "confusion.png").is_file()


def test_a_run_from_arrays_resumes_only_with_arrays(tmp_path):
    X, y = blobs()
    data = (X[:300], y[:300], X[300:], y[300:])
    first = minidl.fit(config(epochs=2, out=str(tmp_path / "run")), data=data, progress=False)
    with pytest.raises(DatasetError, match="trained on arrays given in Python"):
        minidl.fit(config(epochs=3, out=str(tmp_path / "run")), resume=tmp_path / "run", progress=False)
    resumed = minidl.fit(config(epochs=3, out=str(tmp_path / "run")), data=data, resume=tmp_path / "run", progress=False)
    assert resumed.rows[:2] == first.rows and len(resumed.rows) == 3
