"""Every figure writes one valid PNG, atomically, and only where it was asked to."""
from collections import namedtuple

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from PIL import Image

from minidl.training.image_grids import plot_image_grid, plot_predictions
from minidl.training.plots import plot_activations, plot_confusion, plot_curves, plot_linreg_fit

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
# Stand-in for minidl.lessons.activations (written elsewhere): same attributes, name / fn / grad.
Activation = namedtuple("Activation", "name fn grad")
ACTIVATIONS = [
    Activation("relu", torch.relu, lambda x: (x > 0).to(x.dtype)),
    Activation("sigmoid", torch.sigmoid, lambda x: torch.sigmoid(x) * (1 - torch.sigmoid(x))),
    Activation("tanh", torch.tanh, lambda x: 1 - torch.tanh(x) ** 2),
]


def assert_png(path, folder):
    """The file is a PNG of a sensible size and the only thing in `folder` (no temp files)."""
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        width, height = image.size
    assert 200 <= width <= 3000 and 200 <= height <= 3000, (width, height)
    assert sorted(p.name for p in folder.iterdir()) == [path.name]


def metrics_rows(epochs, accuracy=True):
    """Rows as in metrics.csv: a decreasing loss, an increasing accuracy."""
    rows = []
    for epoch in range(1, epochs + 1):
        row = {"epoch": epoch, "train_loss": 1 / epoch, "test_loss": 1.1 / epoch}
        if accuracy:
            row |= {"train_acc": 1 - 0.3 / epoch, "test_acc": 1 - 0.35 / epoch}
        rows.append(row)
    return rows


@pytest.fixture
def images():
    gen = torch.Generator().manual_seed(0)
    return torch.randint(0, 256, (18, 28, 28), dtype=torch.uint8, generator=gen)


@pytest.fixture
def labels():
    return torch.arange(18) % 10


@pytest.mark.parametrize("epochs", [1, 5])
@pytest.mark.parametrize("accuracy", [True, False], ids=["classification", "linreg"])
def test_plot_curves(tmp_path, epochs, accuracy):
    path = plot_curves(metrics_rows(epochs, accuracy), tmp_path / "curves.png", title="run")
    assert path == tmp_path / "curves.png"
    assert_png(path, tmp_path)


def test_plot_curves_reads_csv_strings(tmp_path):
    """csv.DictReader gives strings, and "" where a linreg run has no accuracy."""
    no_acc = {"train_acc": "", "test_acc": ""}
    rows = [{"epoch": "1", "train_loss": "0.5", "test_loss": "0.6", **no_acc},
            {"epoch": "2", "train_loss": "0.3", "test_loss": "0.4", **no_acc}]
    assert_png(plot_curves(rows, tmp_path / "curves.png"), tmp_path)


def test_plot_curves_rejects_no_rows(tmp_path):
    with pytest.raises(ValueError, match="at least one row"):
        plot_curves([], tmp_path / "curves.png")
    assert list(tmp_path.iterdir()) == []


def test_plot_predictions(tmp_path, images, labels):
    predictions = labels.clone()
    predictions[::4] = (predictions[::4] + 1) % 10  # some mistakes
    path = plot_predictions(images, labels, predictions, CLASS_NAMES, tmp_path / "pred.png")
    assert_png(path, tmp_path)


def test_plot_predictions_accepts_flat_float_images_and_small_n(tmp_path, images, labels):
    flat = images.reshape(18, 784).float() / 255  # what the Loader and the models see
    path = plot_predictions(flat, labels, labels, CLASS_NAMES, tmp_path / "pred.png", n=4)
    assert_png(path, tmp_path)


@pytest.mark.parametrize("scale", [1, 255], ids=["uint8", "float"])
def test_plot_predictions_draws_colour_images_in_colour(tmp_path, labels, scale):
    blue = torch.zeros(18, 3, 28, 28, dtype=torch.uint8)
    blue[:, 2] = 255  # (N, 3, side, side), as a --channels 3 folder stores them
    images = blue if scale == 1 else blue.float() / scale  # the Loader's float pixels too
    path = plot_predictions(images, labels, labels, CLASS_NAMES, tmp_path / "pred.png")
    assert_png(path, tmp_path)
    with Image.open(path) as image:
        r, g, b = (channel.astype(int) for channel in np.asarray(image.convert("RGB")).transpose(2, 0, 1))
    assert ((b > 200) & (r < 50) & (g < 50)).mean() > 0.3  # pure blue cells (grey would have r = g = b)


def test_plot_image_grid(tmp_path, images, labels):
    path = plot_image_grid(images.numpy(), labels.numpy(), CLASS_NAMES, tmp_path / "grid.png")
    assert_png(path, tmp_path)


# confusion_matrix lives in minidl.training.evaluate (the training loop computes it there); imported inside
# these two tests so the figure tests still run while that module's own imports are in flux.
def test_confusion_matrix_counts_by_hand():
    from minidl.training.evaluate import confusion_matrix

    y_true = torch.tensor([0, 0, 1, 1, 1, 2])
    y_pred = torch.tensor([0, 1, 1, 1, 2, 0])
    expected = torch.tensor([[1, 1, 0],
                             [0, 2, 1],
                             [1, 0, 0]])
    got = confusion_matrix(y_true, y_pred, 3)
    assert got.dtype == torch.int64
    torch.testing.assert_close(got, expected)


def test_confusion_matrix_total_and_diagonal():
    from minidl.training.evaluate import confusion_matrix

    gen = torch.Generator().manual_seed(0)
    y_true = torch.randint(0, 10, (1000,), generator=gen)
    noise = torch.randint(0, 10, (1000,), generator=gen)
    y_pred = torch.where(torch.rand(1000, generator=gen) < 0.8, y_true, noise)
    got = confusion_matrix(y_true, y_pred, 10)
    assert got.shape == (10, 10)
    assert got.sum() == 1000
    assert got.trace() == (y_true == y_pred).sum()
    torch.testing.assert_close(got.sum(dim=1), torch.bincount(y_true, minlength=10))


def test_plot_confusion(tmp_path):
    gen = torch.Generator().manual_seed(0)
    counts = torch.randint(0, 30, (10, 10), generator=gen) + torch.diag(torch.full((10,), 900))
    counts[3] = 0  # a class without examples must not divide by zero
    path = plot_confusion(counts, CLASS_NAMES, tmp_path / "confusion.png", title="test set")
    assert_png(path, tmp_path)


def test_plot_confusion_rejects_wrong_shape(tmp_path):
    with pytest.raises(ValueError, match=r"\(10, 10\)"):
        plot_confusion(torch.zeros(3, 3), CLASS_NAMES, tmp_path / "confusion.png")


def test_plot_activations(tmp_path):
    path = plot_activations(iter(ACTIVATIONS), tmp_path / "act.png", x_range=(-4, 4))
    assert_png(path, tmp_path)


@pytest.mark.parametrize("d", [1, 3])
def test_plot_linreg_fit(tmp_path, d):
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(100, d, generator=gen)
    w = torch.arange(1.0, d + 1).reshape(d, 1)
    b = torch.tensor([4.2])
    y = X @ w + b + 0.1 * torch.randn(100, 1, generator=gen)
    assert_png(plot_linreg_fit(X, y, w.requires_grad_(), b, tmp_path / "fit.png"), tmp_path)


def test_atomic_write_replaces_and_cleans_up(tmp_path):
    """Writing over an existing figure replaces it whole; no temp file is left behind."""
    path = tmp_path / "curves.png"
    path.write_bytes(b"old")
    plot_curves(metrics_rows(3), path)
    assert_png(path, tmp_path)


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    """A save that dies half-way leaves the previous figure intact and no temp file."""
    path = tmp_path / "curves.png"
    path.write_bytes(b"old")

    def die_half_way(fig, fname, **kwargs):
        fname.write(b"partial")  # the atomic writer hands savefig its temp file
        raise OSError("disk full")

    monkeypatch.setattr(Figure, "savefig", die_half_way)
    with pytest.raises(OSError, match="disk full"):
        plot_curves(metrics_rows(3), path)
    assert path.read_bytes() == b"old"
    assert list(tmp_path.iterdir()) == [path]


def test_writes_nowhere_but_the_given_path(tmp_path, monkeypatch, images, labels):
    """Every figure lands at its path (creating its folder); the working folder stays empty."""
    cwd, out = tmp_path / "cwd", tmp_path / "out" / "figures"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    plot_curves(metrics_rows(2), out / "curves.png")
    plot_predictions(images, labels, labels, CLASS_NAMES, out / "pred.png")
    plot_image_grid(images, labels, CLASS_NAMES, out / "grid.png")
    plot_confusion(torch.eye(10, dtype=torch.int64), CLASS_NAMES, out / "confusion.png")
    plot_activations(ACTIVATIONS, out / "act.png")
    X, y = torch.randn(5, 1), torch.randn(5, 1)
    plot_linreg_fit(X, y, torch.ones(1, 1), torch.zeros(1), out / "fit.png")
    assert list(cwd.iterdir()) == []
    figures = ["act.png", "confusion.png", "curves.png", "fit.png", "grid.png", "pred.png"]
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == [
        "cwd", "out", "out/figures", *(f"out/figures/{name}" for name in figures)]
