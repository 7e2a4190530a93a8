"""The 1.0 edition's data: `SyntheticRegressionData` and `FashionMNIST`, on minidl's data readers.

`FashionMNIST` reads the four IDX files through minidl's finder and decoded-array cache (the
folder MINIDL_DATA_DIR names, else the user cache, downloading there on first use), converts the
images to float32 once, resizes them once when asked, and keeps them in memory: `train` and `val`
are torch `TensorDataset`s of (1, H, W) images in [0, 1] and int64 labels, as the book's
torchvision datasets give, and its loaders are minidl's `Loader` over those tensors.
"""
import torch
from torch.nn import functional as F
from torch.utils.data import TensorDataset

from minidl.d2l.data import TEXT_LABELS, _global_seed, _image_size
from minidl.d2l.figures import show_images
from minidl.d2l.trainer import DataModule
from minidl.data.fashion_mnist import load_fashion_mnist
from minidl.data.synthetic import synthetic_data as _synthetic_data


class SyntheticRegressionData(DataModule):
    """y = X w + b + N(0, noise^2): `num_train` training rows, then `num_val` validation rows.

    X (num_train + num_val, len(w)) ~ N(0, 1) and y (.., 1), drawn with a seed from torch's
    generator (torch.manual_seed makes them repeatable).

    >>> data = SyntheticRegressionData(torch.tensor([2, -3.4]), 4.2, num_train=10, num_val=5)
    >>> data.X.shape, data.y.shape, len(data.train_dataloader())
    (torch.Size([15, 2]), torch.Size([15, 1]), 1)
    """

    def __init__(self, w, b, noise=0.01, num_train=1000, num_val=1000, batch_size=32):
        super().__init__()
        self.save_hyperparameters()
        self.X, self.y = _synthetic_data(w, b, num_train + num_val, noise=noise,
                                         seed=_global_seed())

    def get_dataloader(self, train):
        i = slice(0, self.num_train) if train else slice(self.num_train, None)
        return self.get_tensorloader((self.X, self.y), train, i)


def _images(X, size):
    """Return uint8 (N, 28, 28) images as float32 (N, 1, H, W) in [0, 1], resized to `size` if given."""
    X = X.unsqueeze(1).to(torch.float32).div_(255)
    if size is None:
        return X
    # bilinear with antialiasing, as transforms.Resize on PIL images; a few thousand at a time,
    # so the float64 temporaries stay small
    return torch.cat([F.interpolate(part, size=size, mode="bilinear", antialias=True)
                      for part in X.split(4096)])


class FashionMNIST(DataModule):
    """Fashion-MNIST in memory: `train` (60,000) and `val` (10,000) datasets of (image, label).

    batch_size: examples per batch; resize: (H, W) or n for n x n, default the stored 28 x 28;
    root: a folder with the four files (flat, or torchvision's FashionMNIST/raw), default
    minidl's (see the module docstring).
    """

    def __init__(self, batch_size=64, resize=(28, 28), root=None):
        super().__init__(root=root)
        self.save_hyperparameters()
        size = _image_size(resize)
        X_train, y_train, X_val, y_val = load_fashion_mnist(root)
        self.train = TensorDataset(_images(X_train, size), y_train)
        self.val = TensorDataset(_images(X_val, size), y_val)

    def text_labels(self, indices):
        """Return the book's text label of each numeric label."""
        return [TEXT_LABELS[int(i)] for i in indices]

    def get_dataloader(self, train):
        """Return re-iterable (X (B, 1, H, W), y (B,)) batches: training shuffled, validation in order."""
        X, y = (self.train if train else self.val).tensors
        return self.get_tensorloader((X, y), train)

    def visualize(self, batch, nrows=1, ncols=8, labels=()):
        """Show the first nrows x ncols images of `batch` (X, y), titled with `labels` or y's names."""
        X, y = batch
        if not labels:
            labels = self.text_labels(y)
        show_images(X.squeeze(1), nrows, ncols, titles=labels)
