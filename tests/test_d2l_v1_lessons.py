"""The d2l 1.0 lessons of the first-models chapters, run as their scripts in examples/d2l-1.0.

Each script is the lesson's PyTorch cells with only the import changed (`import minidl.d2l as
d2l`); the tests run it in this process and check what it made (its namespace, its figures, what
it printed). Most run on the small stand-in Fashion-MNIST with MINIDL_EXAMPLE_EPOCHS=2; three run
once on the real data with the book's own hyperparameters and assert the book's numbers.

The lessons redefine methods of minidl.d2l's classes with `add_to_class` (the linear-regression
lesson writes its own `Trainer.fit_epoch`, the synthetic-data lesson a DataLoader-based
`get_tensorloader`), as the book's notebooks do; each run gets the classes back as they were.
"""
import contextlib
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import minidl.d2l as d2l
from minidl.errors import DatasetError

LESSONS = Path(__file__).resolve().parents[1] / "examples" / "d2l-1.0"


@contextlib.contextmanager
def pristine_d2l_classes():
    """Restore minidl.d2l's classes after the block, undoing what `add_to_class` set on them."""
    classes = {c: dict(vars(c)) for c in vars(d2l).values()
               if isinstance(c, type) and c.__module__.startswith("minidl.d2l")}
    try:
        yield
    finally:
        for cls, attrs in classes.items():
            for name in set(vars(cls)) - set(attrs):
                delattr(cls, name)
            for name, value in attrs.items():
                if vars(cls).get(name) is not value:
                    setattr(cls, name, value)


def run_lesson(name, cwd, data=None, epochs=None, replace=()):
    """Return the namespace of examples/d2l-1.0/{name}.py run in `cwd` (source edits: `replace`)."""
    path = LESSONS / f"{name}.py"
    source = path.read_text()
    for old, new in replace:
        assert old in source, old
        source = source.replace(old, new)
    namespace = {"__name__": "__main__", "__file__": str(path)}
    with pytest.MonkeyPatch.context() as mp, pristine_d2l_classes():
        mp.chdir(cwd)
        mp.setattr("sys.argv", [str(path)])  # figures are named after the script
        if data is not None:
            mp.setenv("MINIDL_DATA_DIR", str(data))
        if epochs is None:
            mp.delenv("MINIDL_EXAMPLE_EPOCHS", raising=False)
        else:
            mp.setenv("MINIDL_EXAMPLE_EPOCHS", str(epochs))
        torch.manual_seed(0)
        np.random.seed(0)
        exec(compile(source, str(path), "exec"), namespace)
    return namespace


def only_file(folder, pattern) -> bool:
    """Return True if `folder` holds one file, and its name matches `pattern`."""
    files = list(folder.iterdir())
    return len(files) == 1 and files[0].match(pattern)


def val_accuracy(model, data):
    """Return the per-example accuracy of `model` on the whole validation set."""
    model.eval()
    with torch.no_grad():
        X, y = data.val.tensors
        return model.accuracy(model(X), y).item()


def test_every_lesson_of_the_three_chapters_has_a_script():
    assert {p.stem for p in LESSONS.glob("*.py")} == {
        "oo_design", "linear_regression", "synthetic_regression_data", "linear_regression_scratch",
        "linear_regression_concise", "weight_decay", "classification",
        "image_classification_dataset", "softmax_regression_scratch",
        "softmax_regression_concise", "mlp", "mlp_implementation", "dropout",
        "numerical_stability_and_init", "kaggle_house_price"}
    for path in LESSONS.glob("*.py"):
        code = path.read_text()
        assert re.search(r"^import minidl.d2l as d2l$", code, re.MULTILINE), path
        assert not re.search(r"^from d2l import", code, re.MULTILINE), path


# --- The book's numbers, with its hyperparameters, on the real data (once each) ---------------

@pytest.fixture(scope="module")
def softmax_concise(fashion_root, tmp_path_factory):
    return run_lesson("softmax_regression_concise", tmp_path_factory.mktemp("softmax"), fashion_root)


@pytest.fixture(scope="module")
def mlp_implementation(fashion_root, tmp_path_factory):
    return run_lesson("mlp_implementation", tmp_path_factory.mktemp("mlp"), fashion_root)


def test_concise_softmax_regression_reaches_the_books_accuracy(softmax_concise):
    ns = softmax_concise
    assert ns["trainer"].max_epochs == 10 and ns["data"].batch_size == 256
    accuracy = val_accuracy(ns["model"], ns["data"])
    assert accuracy >= 0.81
    # the board's last validation point is the same per-example accuracy
    assert ns["model"].board.data["val_acc"][-1].y == pytest.approx(accuracy, abs=1e-6)
    assert len(ns["model"].board.data["train_loss"]) == 20  # two points an epoch


def test_mlp_lesson_reaches_the_books_accuracy(mlp_implementation):
    ns = mlp_implementation
    model, data = ns["model"], ns["data"]
    assert type(model).__name__ == "MLP" and model.num_hiddens == 256 and model.lr == 0.1
    assert val_accuracy(model, data) >= 0.84
    assert len(list(Path(ns["__file__"]).parent.glob("*.png"))) == 0  # figures in the cwd only


def test_concise_linear_regression_recovers_w_and_b(tmp_path, capsys):
    ns = run_lesson("linear_regression_concise", tmp_path)
    w, b = ns["w"], ns["b"]
    # 3 epochs of 32 steps at lr 0.03 on the mean squared error shrink each error by
    # (1 - 2 * 0.03)^96 = 0.0027 from its start (b: 4.2, w: 2 and 3.4 give or take torch's
    # initial weights): about 0.01 either side, as the book's own printout shows
    torch.testing.assert_close(w.reshape(-1), ns["data"].w, atol=0.02, rtol=0)
    torch.testing.assert_close(b, torch.tensor([4.2]), atol=0.02, rtol=0)
    out = capsys.readouterr().out
    assert "error in estimating w" in out and "error in estimating b" in out
    assert only_file(tmp_path, "linear_regression_concise-*-board.png")


# --- Every other lesson, on the stand-in data with 2 epochs ------------------------------------

def test_oo_design(tmp_path, capsys):
    ns = run_lesson("oo_design", tmp_path)
    out = capsys.readouterr().out
    assert 'Class attribute "b" is 1' in out and "self.a = 1 self.b = 2" in out
    assert "There is no self.c = True" in out
    assert len(ns["board"].data["sin"]) == 50 and len(ns["board"].data["cos"]) == 10
    assert out.count("ProgressBoard: drawing to") == 1 and len(list(tmp_path.glob("*.png"))) == 1


def test_linear_regression_intro_plots_the_normal_densities(tmp_path):
    run_lesson("linear_regression", tmp_path)
    assert only_file(tmp_path, "linear_regression-*-p_x.png")


def test_synthetic_regression_data(tmp_path, capsys):
    ns = run_lesson("synthetic_regression_data", tmp_path)
    assert ns["X"].shape == (32, 2) and ns["y"].shape == (32, 1)
    assert capsys.readouterr().out.count("X shape: torch.Size([32, 2])") == 2
    assert len(ns["data"].train_dataloader()) == 32
    assert d2l.DataModule.get_tensorloader.__module__ == "minidl.d2l.trainer"  # restored


def test_linear_regression_from_scratch_with_the_lessons_own_loop(tmp_path, capsys):
    ns = run_lesson("linear_regression_scratch", tmp_path)
    assert ns["trainer"].train_batch_idx == 3 * 32
    with torch.no_grad():
        assert (ns["data"].w - ns["model"].w.reshape(-1)).abs().max() < 0.3  # the book: about 0.1
    assert "error in estimating b" in capsys.readouterr().out
    assert d2l.Trainer.fit_epoch.__module__ == "minidl.d2l.trainer"  # the lesson's, undone


def test_weight_decay_shrinks_w(tmp_path, capsys):
    run_lesson("weight_decay", tmp_path)
    norms = [float(n) for n in re.findall(r"^L2 norm of w: (\S+)$", capsys.readouterr().out,
                                          re.MULTILINE)]
    assert len(norms) == 3 and norms[1] < norms[0] / 3 and norms[2] < norms[0] / 3
    assert len(list(tmp_path.glob("*-board.png"))) == 3


def test_the_classification_lesson_defines_its_base_class(tmp_path):
    ns = run_lesson("classification", tmp_path)
    model = ns["Classifier"]()
    assert model.accuracy(torch.tensor([[0.0, 1.0]]), torch.tensor([1])).item() == 1.0


def test_image_classification_dataset(tiny_fashion, tmp_path, capsys):
    ns = run_lesson("image_classification_dataset", tmp_path, tiny_fashion)
    assert ns["data"].train[0][0].shape == (1, 32, 32)
    assert "torch.Size([64, 1, 32, 32]) torch.float32 torch.Size([64]) torch.int64" in capsys.readouterr().out
    assert only_file(tmp_path, "image_classification_dataset-*-images.png")


@pytest.mark.parametrize("name", ["softmax_regression_scratch", "softmax_regression_concise",
                                  "mlp_implementation", "dropout"])
def test_fashion_lessons_train_and_draw(name, tiny_fashion, tmp_path):
    ns = run_lesson(name, tmp_path, tiny_fashion, epochs=2)
    board = ns["model"].board
    assert ns["trainer"].max_epochs == 2 and [p.x for p in board.data["val_acc"]] == [1, 2]
    assert board.data["val_acc"][-1].y > 0.5  # the stand-in is easy
    assert board.path.is_file() and board.path.parent == tmp_path


def test_mlp_plots_the_activations_and_their_gradients(tmp_path):
    run_lesson("mlp", tmp_path)
    assert len(list(tmp_path.glob("mlp-*.png"))) == 6


def test_numerical_stability(tmp_path, capsys):
    run_lesson("numerical_stability_and_init", tmp_path)
    assert "after multiplying 100 matrices" in capsys.readouterr().out
    assert len(list(tmp_path.glob("*.png"))) == 1


# --- House prices: a small table in Kaggle's format where the lesson looks for its files --------

def test_house_price_lesson_on_tables_where_it_looks(tmp_path, monkeypatch, capsys,
                                                     kaggle_house_tables):
    monkeypatch.setenv("MINIDL_CACHE_DIR", str(tmp_path / "cache"))
    # DataModule's root is minidl's cache; the lesson names the real files' SHA-1s, and these
    # tables stand in for them
    sha1s = kaggle_house_tables(tmp_path / "cache" / "d2l")
    (tmp_path / "run").mkdir()
    ns = run_lesson("kaggle_house_price", tmp_path / "run", replace=sha1s.items())
    out = capsys.readouterr().out
    assert "(1460, 12)\n(1459, 11)" in out and "Downloading" not in out
    average = float(re.search(r"^average validation log mse = (\S+)$", out, re.MULTILINE)[1])
    first = ns["models"][0].board.data["val_loss"]
    assert average < 0.1 * first[0].y and len(ns["models"]) == 5  # it learns
    submission = pd.read_csv(tmp_path / "run" / "submission.csv")
    assert list(submission.columns) == ["Id", "SalePrice"] and len(submission) == 1459
    assert submission.SalePrice.between(50_000, 500_000).mean() > 0.9
    assert len(list((tmp_path / "run").glob("*-board.png"))) == 1  # folds 2-5: display = False


def test_house_price_lesson_without_its_files_names_the_file_and_the_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("MINIDL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(d2l, "DATA_URL", (tmp_path / "offline").as_uri() + "/")  # no network
    (tmp_path / "run").mkdir()
    with pytest.raises(DatasetError) as error:
        run_lesson("kaggle_house_price", tmp_path / "run")
    message = str(error.value)
    assert "\n" not in message and "kaggle_house_pred_train.csv" in message
    assert str(tmp_path / "cache" / "d2l" / "kaggle_house_pred_train.csv") in message
