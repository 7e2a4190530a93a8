"""minidl: the first models of deep learning, from scratch and concise.

Train linear regression, softmax regression or an MLP on a named data set (Fashion-MNIST, the
lesson's synthetic line, a CSV table) or on your own arrays, then use what it learned:

    fit(config, data=None)      train; returns a History: metrics rows, summary, the model
    cross_validate(config)      a CSV run's --folds K: one History per fold
    TrainConfig(model, ...)     the one frozen run config: model, impl, lr, batch_size, epochs, ...
    load_run(folder)            a saved run: model, config, metrics rows, summary, data facts
    evaluate_run(run, X, y)     loss and accuracy of a run (on its own test set without X and y)
    predict(run, X)             class indices (or values) for new inputs
    load_fashion_mnist(), synthetic_data(w, b, n), load_table(csv, target): the data as tensors
    minidl.sklearn              LinearRegression, SoftmaxRegression, MLPClassifier, MLPRegressor
                                for scikit-learn's Pipeline, GridSearchCV, cross_val_score

``minidl.fit(minidl.TrainConfig(model="mlp"))`` is the MLP lesson on Fashion-MNIST (784-256-10,
SGD lr 0.5, 5 epochs; downloaded on first use, or found through MINIDL_DATA_DIR), what ``minidl
train mlp`` runs; ``out="runs/first"`` writes the run folder that ``load_run`` reads back.
The lesson's linear regression, on arrays given in Python:

>>> import minidl
>>> X, y = minidl.synthetic_data([2.0, -3.4], 4.2, 1000)
>>> history = minidl.fit(minidl.TrainConfig(model="linreg", device="cpu"), data=(X, y), progress=False)
>>> [round(w, 2) for w in history.summary["w"]], round(history.summary["b"], 2)
([2.0, -3.4], 4.2)

An MLP on any number of features (integer y: a classifier; float y: a regressor):

>>> import torch
>>> X = torch.randn(600, 20)
>>> y = (X[:, 0] + X[:, 1] > 0).long()
>>> config = minidl.TrainConfig(model="mlp", hidden=(32,), lr=0.5, batch_size=32, epochs=10, device="cpu")
>>> history = minidl.fit(config, data=(X[:500], y[:500], X[500:], y[500:]), progress=False)
>>> history.final["test_acc"] > 0.9
True
>>> minidl.predict(history, X[500:505]).shape
torch.Size([5])

``help(minidl.fit)``, ``help(minidl.TrainConfig)`` and docs/python.md say more.
Importing minidl is cheap: each name loads its module (and torch) on first use.
"""
import os

__version__ = "0.1.0"

# MKL's conditional numerical reproducibility (strict): on a given CPU and thread count its results
# do not depend on memory alignment (MKL's guarantee), and torch.set_num_threads stops it taking fewer
# threads than asked, so a seeded run repeats on a busy machine (minidl.training.threads fixes the count).
# MKL reads it at its first product, so it is set here, before torch computes; a value set wins.
os.environ.setdefault("MKL_CBWR", "AUTO,STRICT")

# name -> the module that defines it; loaded on first use (PEP 562), so `minidl --help` needs no torch
_NAMES = {
    "fit": "minidl.training.fit", "History": "minidl.training.fit", "TrainConfig": "minidl.config.train",
    "load_run": "minidl.app.inference", "Run": "minidl.app.inference", "evaluate_run": "minidl.app.inference",
    "predict": "minidl.app.inference",
    "load_fashion_mnist": "minidl.data.fashion_mnist", "synthetic_data": "minidl.data.synthetic",
    "load_table": "minidl.data.tables", "cross_validate": "minidl.app.crossval",
    "MinidlError": "minidl.errors", "ConfigError": "minidl.errors", "DatasetError": "minidl.errors",
}
__all__ = ["__version__", *_NAMES]


def __getattr__(name: str):
    if name not in _NAMES:
        raise AttributeError(f"module 'minidl' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(_NAMES[name]), name)
    globals()[name] = value  # later lookups find it directly
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_NAMES})
