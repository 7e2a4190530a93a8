"""PNG grids of images: training images with their labels, test images with their predictions."""
import math
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from minidl.training.plots import DPI, _numpy, save_figure

MISTAKE, CORRECT = "tab:red", "darkgreen"


def _as_images(images) -> np.ndarray:
    """Return images as imshow draws them: grey (N, side, side), colour (N, side, side, 3).

    Grey images come as (N, 28, 28), (N, 1, 28, 28) or flat (N, 784); colour ones as (N, 3, side, side).
    """
    images = _numpy(images)
    if images.ndim == 4 and images.shape[1] == 3:
        return images.transpose(0, 2, 3, 1)
    flat = images.reshape(len(images), -1)  # (N, side * side)
    side = math.isqrt(flat.shape[1])
    if side * side != flat.shape[1]:
        raise ValueError(f"images must be square, got {flat.shape[1]} pixels per image")
    return flat.reshape(-1, side, side)


def _draw_image(ax, image: np.ndarray, title: str, color: str, vrange, framed: bool = False):
    """Draw a grey (side, side) or RGB (side, side, 3) image in `ax` with a coloured title; `framed`: a red frame."""
    # Stored as a bright garment on a black background: shown as stored, no inversion.
    ax.imshow(image, cmap="gray", vmin=vrange[0], vmax=vrange[1], interpolation="nearest")
    ax.set_title(title, color=color, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(framed)
        spine.set_color(MISTAKE)
        spine.set_linewidth(3)


def _image_grid(images, titles, colors, framed, path, cols: int, suptitle: str) -> Path:
    """Return the path of a PNG grid of the first len(titles) images, one titled cell each."""
    if not titles:
        raise ValueError("there are no images to plot (n must be >= 1 and images non-empty)")
    images = _as_images(images)[: len(titles)]  # (n, side, side) or (n, side, side, 3)
    if images.dtype == np.uint8:
        vrange = (0, 255)
    elif images.min() >= 0 and images.max() <= 1:
        vrange = (0.0, 1.0)  # the Loader's float pixels
    else:
        vrange = (None, None)  # standardised pixels: let imshow scale them
    cols = min(cols, len(titles))
    rows = math.ceil(len(titles) / cols)
    lines = max(t.count("\n") + 1 for t in titles)
    fig = Figure(figsize=(1.45 * cols, (1.3 + 0.2 * lines) * rows + 0.4), dpi=DPI,
                 layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, image, title, color, frame in zip(axes, images, titles, colors, framed):
        _draw_image(ax, image, title, color, vrange, frame)
    for ax in axes[len(titles):]:
        ax.set_axis_off()
    fig.suptitle(suptitle, fontsize=11)
    return save_figure(fig, path)


def plot_image_grid(images, labels, class_names, path, *, n=18, cols=9) -> Path:
    """Return the path of a PNG grid of the first `n` images titled with their class names.

    images: (N, 28, 28) uint8 or float; labels: (N,) class indices into `class_names`.
    """
    labels = _numpy(labels).reshape(-1)[:n].astype(int)
    titles = [class_names[y] for y in labels]
    return _image_grid(images, titles, ["black"] * len(titles), [False] * len(titles), path,
                       cols, "Fashion-MNIST examples")


def plot_predictions(images, labels, predictions, class_names, path, *, n=18, cols=6) -> Path:
    """Return the path of a PNG grid of `n` images titled "true / predicted", mistakes in red.

    images: (N, 28, 28) uint8 or float, or colour (N, 3, side, side); labels, predictions: (N,) class indices.
    """
    labels = _numpy(labels).reshape(-1)[:n].astype(int)
    predictions = _numpy(predictions).reshape(-1)[:n].astype(int)
    wrong = [bool(t != p) for t, p in zip(labels, predictions)]
    titles = [f"true: {class_names[t]}\npred: {class_names[p]}"
              for t, p in zip(labels, predictions)]
    colors = [MISTAKE if w else CORRECT for w in wrong]
    suptitle = (f"Predictions: {len(wrong) - sum(wrong)} of {len(wrong)} correct "
                f"(mistakes in red)")
    return _image_grid(images, titles, colors, wrong, path, cols, suptitle)
