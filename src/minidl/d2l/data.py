"""The book's data helpers for `minidl.d2l`: the linear-regression lesson's and Fashion-MNIST's.

Everything is minidl's in-memory `Loader` underneath: no worker processes, no per-image Python.
Random draws (synthetic data, shuffle orders) take their seed from torch's global generator, so
`torch.manual_seed` makes a lesson repeatable as it does with the book's DataLoaders.
"""
import numbers

import torch
from torch.nn import functional as F

from minidl.lessons import scratch
from minidl.data.loader import Loader
from minidl.data.fashion_mnist import load_fashion_mnist
from minidl.data.synthetic import synthetic_data as _synthetic_data
from minidl.errors import ConfigError


def _global_seed() -> int:
    """Return a seed drawn from torch's global generator, so torch.manual_seed governs our draws."""
    return int(torch.randint(0, 2**62, ()))


# --- Linear regression ---------------------------------------------------------------------------

def synthetic_data(w, b, num_examples):
    """Return (X (n, len(w)), y (n, 1)): y = Xw + b + N(0, 0.01^2) noise, as the book draws them."""
    return _synthetic_data(w, b, num_examples, seed=_global_seed())


def data_iter(batch_size, features, labels):
    """Yield (features, labels) batches of `batch_size` in a new random order (the last may be short)."""
    yield from Loader(features, labels, batch_size, shuffle=True, seed=_global_seed())


linreg = scratch.linreg  # X w + b: (B, d) -> (B, 1)


def squared_loss(y_hat, y):
    """Return the per-example (y_hat - y)^2 / 2, shaped like y_hat: not averaged (the book sums it).

    >>> squared_loss(torch.tensor([[1.0], [2.0]]), torch.tensor([0.0, 0.0]))
    tensor([[0.5000],
            [2.0000]])
    """
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2


def sgd(params, lr, batch_size):
    """Step each parameter by -lr * grad / batch_size, then zero the grads (after `l.sum().backward()`)."""
    scratch.sgd(params, lr / batch_size)


class _Pass:
    """One pass over the batches: an iterator that also answers Python 2's `.next()`.

    The Chinese course writes ``X, y = iter(test_iter).next()``; a generator has no `.next`.
    """

    def __init__(self, batches):
        self._batches = batches

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._batches)

    next = __next__  # the course's habit, kept working


class Batches:
    """Re-iterable (X, y) batches over a minidl Loader, like the book's DataLoaders.

    `len()` is the number of batches; each `iter()` is a new pass (a new order when shuffled),
    on which both `next(it)` and the course's `it.next()` work.

    >>> batches = Batches(Loader(torch.arange(5.0), torch.arange(5), 2))
    >>> len(batches), iter(batches).next()[1].tolist()
    (3, [0, 1])
    """

    def __init__(self, loader: Loader):
        self.loader = loader
        self.batch_size = loader.batch_size

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        return _Pass(self._batches())

    def _batches(self):
        yield from self.loader

    def __repr__(self):
        return f"{type(self).__name__}({self.loader!r})"


def load_array(data_arrays, batch_size, is_train=True):
    """Return a re-iterable of (X, y) batches of the two tensors in `data_arrays`, shuffled if is_train."""
    if len(data_arrays) != 2:
        raise ConfigError(f"load_array got {len(data_arrays)} arrays; it takes two, "
                          "(features, labels), as in d2l.load_array((features, labels), batch_size)")
    features, labels = data_arrays
    return Batches(Loader(features, labels, batch_size, shuffle=is_train, seed=_global_seed()))


# --- Fashion-MNIST -------------------------------------------------------------------------------

TEXT_LABELS = ("t-shirt", "trouser", "pullover", "dress", "coat",
               "sandal", "shirt", "sneaker", "bag", "ankle boot")  # the book's names, by label id


def get_fashion_mnist_labels(labels):
    """Return the book's text label of each numeric label.

    >>> get_fashion_mnist_labels(torch.tensor([0, 9]))
    ['t-shirt', 'ankle boot']
    """
    return [TEXT_LABELS[int(i)] for i in labels]


def get_dataloader_workers():
    """Return 0: the data is in memory, so worker processes would only add start-up time."""
    return 0


class ImageBatches(Batches):
    """Re-iterable (X (B, 1, H, W) float32 in [0, 1], y (B,) int64) batches over a minidl Loader.

    Behaves like the book's DataLoaders (see `Batches`); `size` (H, W), when given, resizes each
    batch as it is drawn, so memory stays that of the 28 x 28 images.
    """

    def __init__(self, loader: Loader, size=None):
        super().__init__(loader)
        self.size = size

    def _batches(self):
        for X, y in self.loader:
            X = X.unsqueeze(1)  # (B, 28, 28) -> (B, 1, 28, 28), a view
            if self.size is not None:
                # bilinear with antialiasing, as transforms.Resize on PIL images; stays in [0, 1]
                X = F.interpolate(X, size=self.size, mode="bilinear", antialias=True)
            yield X, y

    def __repr__(self):
        return f"ImageBatches({self.loader!r}, size={self.size})"


def _image_size(resize):
    """Return resize as (H, W) (an int n means n x n), or None for the stored 28 x 28."""
    size = (resize, resize) if isinstance(resize, numbers.Integral) else resize
    if size is None:
        return None
    if (not isinstance(size, (tuple, list)) or len(size) != 2
            or not all(isinstance(n, numbers.Integral) and not isinstance(n, bool) and n >= 1
                       for n in size)):
        raise ConfigError(f"resize = {resize!r}: give a size in pixels like 64, or (height, width)")
    return None if tuple(size) == (28, 28) else tuple(int(n) for n in size)


def load_data_fashion_mnist(batch_size, resize=None, root=None):
    """Return (train_iter, test_iter) over Fashion-MNIST: train shuffled, test in file order.

    Batches are X (B, 1, 28, 28) float32 in [0, 1] (as ToTensor gives; (B, 1, H, W) with
    `resize`) and y (B,) int64. `root` is a folder holding the four files, flat or in torchvision's
    `FashionMNIST/raw` tree; the default is minidl's (MINIDL_DATA_DIR, else the user cache, where
    the files are downloaded on first use). The shuffle seed comes from torch's global generator.
    Resizing happens per batch: 60,000 images at 64 x 64 would hold 1 GB as float32.

    Unlike the book's DataLoader, train_iter drops each epoch's last partial batch (96 of 60,000
    examples at batch 256, other ones every epoch), unless there is no full batch. At the lessons'
    learning rates (0.5 for the MLP) that short batch's noisier step, taken just before the
    evaluation, cost up to 10 points of test accuracy: over 20 seeds the MLP lesson's final test
    accuracy ranged 0.800-0.868 (mean 0.844) with it and 0.834-0.871 (mean 0.860) without.
    """
    size = _image_size(resize)
    X_train, y_train, X_test, y_test = load_fashion_mnist(root)
    test = Loader(X_test, y_test, batch_size)  # first: it checks batch_size
    train = Loader(X_train, y_train, batch_size, shuffle=True, seed=_global_seed(),
                   drop_last=len(X_train) >= batch_size)
    return ImageBatches(train, size), ImageBatches(test, size)
