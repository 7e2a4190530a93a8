"""The book's helper names on minidl's parts: change only the lessons' import to `import minidl.d2l as d2l`.

Covers the names the first chapters use, from d2l 0.17 (``from d2l import torch as d2l``), the
1.0 edition (the same import; its object-oriented API: `HyperParameters`, `Module`, `DataModule`,
`Trainer`, ...) and the Chinese course's PyTorch port (``import d2lzh_pytorch as d2l``), with
their signatures and printed output, and with the published bugs fixed:

- the loss is printed per example whatever the loss's reduction ("mean", "sum" or "none") and
  however short the last batch; accuracy is counted per example, never averaged per batch;
- evaluation runs in ``net.eval()`` under ``torch.no_grad()`` and restores the previous mode;
- batches are moved to the model's device;
- data comes from minidl's in-memory `Loader`: no worker processes, no per-image Python.

The 0.17 and course names live in six modules: `minidl.d2l.data` (linear regression, Fashion-MNIST),
`minidl.d2l.evaluate` (accuracy, `evaluate_accuracy`, `evaluate_loss`), `minidl.d2l.train`
(`train_ch3`, utilities), `minidl.d2l.figures` (figures: inline in Jupyter, PNG files in the
current folder elsewhere), `minidl.d2l.hub` (`DATA_HUB`, `download`: the house-price lesson's
files) and `minidl.d2l.aliases` (the book's tensor names: `d2l.reshape`, `d2l.float32`, ...). The 1.0
names live in five more: `minidl.d2l.hyper` (`add_to_class`, `HyperParameters`),
`minidl.d2l.board` (`ProgressBoard`), `minidl.d2l.module` (`Module`, `Classifier`, `SGD`, the
chapters' models), `minidl.d2l.trainer` (`DataModule`, `Trainer`, `cpu`, `gpu`, `num_gpus`) and
`minidl.d2l.datamodules` (`SyntheticRegressionData`, `FashionMNIST`). Where the editions share a
name it does both jobs (`download`, `try_gpu`); where they differ in case both are here
(`d2l.sgd` is 0.17's function, `d2l.SGD` 1.0's class).

>>> X, y = synthetic_data(torch.tensor([2, -3.4]), 4.2, 1000)
>>> X.shape, y.shape
(torch.Size([1000, 2]), torch.Size([1000, 1]))
"""
import torch  # noqa: F401  (the doctest above uses it, as lessons use d2l.torch)

from minidl.d2l import aliases, ipython_shim
from minidl.d2l.aliases import *  # noqa: F401, F403  (d2l.tensor, d2l.reshape, ...: see __all__)
from minidl.d2l.board import ProgressBoard
from minidl.d2l.data import (TEXT_LABELS, Batches, ImageBatches, data_iter,
                             get_dataloader_workers, get_fashion_mnist_labels, linreg, load_array,
                             load_data_fashion_mnist, sgd, squared_loss, synthetic_data)
from minidl.d2l.datamodules import FashionMNIST, SyntheticRegressionData
from minidl.d2l.evaluate import accuracy, evaluate_accuracy, evaluate_loss
from minidl.d2l.figures import (Animator, plot, plt, semilogy, set_axes, set_figsize,
                             show_fashion_mnist, show_images, use_svg_display, xyplot)
from minidl.d2l.hub import DATA_HUB, DATA_URL, download, download_all
from minidl.d2l.hyper import HyperParameters, add_to_class
from minidl.d2l.module import (SGD, Classifier, LinearRegression, LinearRegressionScratch, Module,
                               SoftmaxRegression, nn_Module)
from minidl.d2l.train import (Accumulator, FlattenLayer, Timer, predict_ch3, train_ch3,
                              train_epoch_ch3, try_all_gpus, try_gpu)
from minidl.d2l.trainer import DataModule, Trainer, cpu, gpu, num_gpus

ipython_shim.install()

__all__ = [
    "synthetic_data", "data_iter", "linreg", "squared_loss", "sgd", "Batches", "load_array",
    "TEXT_LABELS", "get_dataloader_workers", "ImageBatches", "load_data_fashion_mnist",
    "get_fashion_mnist_labels", "FlattenLayer", "Accumulator", "accuracy", "evaluate_accuracy",
    "evaluate_loss", "train_epoch_ch3", "train_ch3", "predict_ch3", "Timer", "try_gpu",
    "try_all_gpus", "plt", "use_svg_display", "set_figsize", "set_axes", "plot", "semilogy",
    "xyplot", "show_images", "show_fashion_mnist", "Animator", "DATA_URL", "DATA_HUB",
    "download", "download_all", "add_to_class", "HyperParameters", "ProgressBoard",
    "nn_Module", "Module", "Classifier", "SGD", "LinearRegressionScratch", "LinearRegression",
    "SoftmaxRegression", "DataModule", "Trainer", "cpu", "gpu", "num_gpus",
    "SyntheticRegressionData", "FashionMNIST", *aliases.__all__,
]
