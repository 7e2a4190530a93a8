"""scikit-learn estimators that train with minidl's own ``fit()``: the lessons' models in Pipelines.

>>> from sklearn.datasets import load_iris
>>> from sklearn.pipeline import make_pipeline
>>> from sklearn.preprocessing import StandardScaler
>>> X, y = load_iris(return_X_y=True)
>>> clf = make_pipeline(StandardScaler(), MLPClassifier((32,), learning_rate_init=0.1, batch_size=16, max_iter=30))
>>> clf.fit(X, y).score(X, y) > 0.9
True

``LinearRegression``, ``SoftmaxRegression``, ``MLPClassifier`` and ``MLPRegressor`` build a
``TrainConfig`` from their parameters and train through ``minidl.fit`` on the arrays given: minibatch
SGD (or Adam), every parameter from the same seeded draw as ``minidl train``, no run folder and no
test set (``loss_curve_`` holds each epoch's mean training loss; ``history_`` the whole History).
The defaults are the lessons' (the MLP: 784-256-10's hidden width 256, SGD lr 0.5, batch 256, 5
epochs; see ``minidl.config.LESSON_DEFAULTS``); ``max_iter`` counts epochs, and ``partial_fit``
trains one more epoch, continuing exactly (weights, optimizer, shuffle order). ``impl`` picks the
twin: ``manual`` (the default, gradients written by hand), ``scratch`` or ``concise``; ``device`` is
``cpu`` unless asked (``auto`` or ``cuda`` train on a GPU; predictions come back as NumPy arrays).

Nothing is standardised for you, as in scikit-learn's own estimators: SGD at these learning rates
wants features of unit scale, so put a ``StandardScaler`` in a ``Pipeline`` in front (and, for a
regressor, scale the target too, e.g. with ``TransformedTargetRegressor``). Inputs are float32
``(n_samples, n_features)`` arrays; flatten images first.

This module imports scikit-learn (the ``dev`` and ``bench`` extras install it); ``import minidl``
never does.
"""
from __future__ import annotations

import numbers

import numpy as np

try:  # absolute imports: this is scikit-learn itself, not this module
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import check_is_fitted, check_random_state, validate_data
except ImportError as e:  # scikit-learn missing, or older than 1.6 (validate_data)
    raise ImportError(f"minidl.sklearn needs scikit-learn >= 1.6 ({e}); pip install 'scikit-learn>=1.6'") from None

from minidl.config import MAX_SEED, TrainConfig
from minidl.inference import predict
from minidl.train import fit


class _Estimator(BaseEstimator):
    """What every minidl estimator shares: the config from its parameters, fit, partial_fit, predict."""

    _model = ""  # minidl's model name: linreg, softmax or mlp

    def _config(self, epochs: int) -> TrainConfig:
        """Return the TrainConfig these parameters describe, training ``epochs`` epochs in all."""
        seed = self.random_state
        if seed is None or isinstance(seed, np.random.RandomState):  # scikit-learn's meaning of None
            seed = int(check_random_state(seed).randint(MAX_SEED))
        shape = {}
        if self._model == "mlp":
            sizes = self.hidden_layer_sizes  # 100 means (100,), as in scikit-learn
            shape = {"hidden": (sizes,) if isinstance(sizes, numbers.Integral) else tuple(sizes),
                     "activation": self.activation}
        return TrainConfig(model=self._model, impl=self.impl, epochs=epochs, lr=self.learning_rate_init,
                           batch_size=self.batch_size, init=self.init, optimizer=self.solver, seed=int(seed),
                           device=self.device, plots=False, **shape)

    def fit(self, X, y):
        """Train a fresh model for ``max_iter`` epochs on X (n_samples, n_features), y; return self."""
        for name in ("history_", "classes_"):
            self.__dict__.pop(name, None)  # a new fit forgets the last one, classes included
        X, y = self._check_data(X, y, reset=True)
        return self._train(X, y, epochs=self.max_iter, resume=None)

    def partial_fit(self, X, y, **kw):
        """Train one more epoch on X, y (the first call starts a fresh model); return self."""
        first = not hasattr(self, "history_")
        X, y = self._check_data(X, y, reset=first, **kw)
        if first:
            return self._train(X, y, epochs=1, resume=None)
        return self._train(X, y, epochs=self.n_iter_ + 1, resume=self.history_.state)

    def _train(self, X, y, *, epochs: int, resume):
        # partial_fit continues from the last state; parameters set in between (set_params) apply from here
        history = fit(self._config(epochs), data=(X, y), class_names=self._class_names(), resume=resume,
                      allow_changes=True, progress=bool(self.verbose))
        self.history_, self.model_ = history, history.model
        self.loss_curve_ = [row["train_loss"] for row in history.rows]
        self.n_iter_ = len(history.rows)
        return self

    def _class_names(self):
        return None

    def _outputs(self, X, **kw) -> np.ndarray:
        check_is_fitted(self, "history_")
        X = validate_data(self, X, dtype=np.float32, reset=False)
        return predict(self.history_, X, **kw).numpy()


class _Classifier(ClassifierMixin, _Estimator):
    def _check_data(self, X, y, *, reset: bool, classes=None):
        X, y = validate_data(self, X, y, dtype=np.float32, reset=reset)
        check_classification_targets(y)
        if not hasattr(self, "classes_"):  # the first fit or partial_fit fixes the classes
            self.classes_ = np.unique(y if classes is None else classes)
            if len(self.classes_) < 2:  # one class would train to "accuracy 1, loss 0" and learn nothing
                del self.classes_
                raise ValueError(f"y holds one class only ({np.unique(y)[0]!r}); a classifier needs samples of at "
                                 "least 2 classes")
        unknown = np.setdiff1d(y, self.classes_)
        if len(unknown):
            raise ValueError(f"y holds the labels {unknown.tolist()} that are not among classes_ "
                             f"{self.classes_.tolist()}; name every class in the first partial_fit(classes=...)")
        return X, np.searchsorted(self.classes_, y).astype(np.int64)  # labels 0..C-1

    def _class_names(self):
        return [str(c) for c in self.classes_]

    def partial_fit(self, X, y, classes=None):
        """Train one more epoch on X, y; ``classes`` (all labels there will be) is needed on the first call."""
        return super().partial_fit(X, y, classes=classes)

    def predict(self, X) -> np.ndarray:
        """Return the most probable class of each row of X."""
        indices = self._outputs(X)  # first: it says so when the estimator is not fitted yet
        return self.classes_[indices]

    def predict_proba(self, X) -> np.ndarray:
        """Return (n_samples, n_classes) class probabilities, columns in the order of ``classes_``."""
        return self._outputs(X, probabilities=True)


class _Regressor(RegressorMixin, _Estimator):
    def _check_data(self, X, y, *, reset: bool):
        X, y = validate_data(self, X, y, dtype=np.float32, y_numeric=True, reset=reset)
        return X, y.astype(np.float32)  # float: minidl fits a real-valued target

    def predict(self, X) -> np.ndarray:
        """Return the predicted target of each row of X, (n_samples,)."""
        return self._outputs(X)


class LinearRegression(_Regressor):
    """Linear regression X w + b trained by minibatch SGD on the squared loss (the lesson's linreg).

    Defaults: lr 0.03, batch 10, 3 epochs (the lesson's synthetic line); ``solver`` is sgd, adam or
    adamw, ``init`` normal (N(0, 0.01)), xavier or kaiming.
    """

    _model = "linreg"

    def __init__(self, *, learning_rate_init=0.03, batch_size=10, max_iter=3, solver="sgd", init="normal",
                 impl="manual", device="cpu", random_state=0, verbose=False):
        self.learning_rate_init, self.batch_size, self.max_iter = learning_rate_init, batch_size, max_iter
        self.solver, self.init, self.impl, self.device = solver, init, impl, device
        self.random_state, self.verbose = random_state, verbose


class SoftmaxRegression(_Classifier):
    """Softmax regression (multinomial logistic regression) trained by minibatch SGD on cross-entropy.

    Defaults: the lesson's lr 0.1, batch 256, 10 epochs, N(0, 0.01) init.
    """

    _model = "softmax"

    def __init__(self, *, learning_rate_init=0.1, batch_size=256, max_iter=10, solver="sgd", init="normal",
                 impl="manual", device="cpu", random_state=0, verbose=False):
        self.learning_rate_init, self.batch_size, self.max_iter = learning_rate_init, batch_size, max_iter
        self.solver, self.init, self.impl, self.device = solver, init, impl, device
        self.random_state, self.verbose = random_state, verbose


class MLPClassifier(_Classifier):
    """A multilayer perceptron classifier trained by minibatch SGD on cross-entropy.

    Parameters as scikit-learn's MLPClassifier where both have them (``hidden_layer_sizes``,
    ``activation``, ``solver``, ``learning_rate_init``, ``batch_size``, ``max_iter`` in epochs,
    ``random_state``); no momentum, no L2 penalty, no early stopping. Defaults: the lesson's
    MLP (one hidden layer of 256 ReLUs, SGD lr 0.5, batch 256, 5 epochs, N(0, 0.01) init).
    """

    _model = "mlp"

    def __init__(self, hidden_layer_sizes=(256,), activation="relu", *, solver="sgd", learning_rate_init=0.5,
                 batch_size=256, max_iter=5, init="normal", impl="manual", device="cpu", random_state=0,
                 verbose=False):
        self.hidden_layer_sizes, self.activation = hidden_layer_sizes, activation
        self.learning_rate_init, self.batch_size, self.max_iter = learning_rate_init, batch_size, max_iter
        self.solver, self.init, self.impl, self.device = solver, init, impl, device
        self.random_state, self.verbose = random_state, verbose


class MLPRegressor(_Regressor):
    """A multilayer perceptron with one linear output, trained by minibatch SGD on the squared loss.

    minidl's MLP with ``num_outputs=1`` and ``squared_loss``. No lesson sets its defaults; they suit
    standardised features and target: 64 ReLUs, Kaiming init, SGD lr 0.01, batch 32, 50 epochs.
    """

    _model = "mlp"

    def __init__(self, hidden_layer_sizes=(64,), activation="relu", *, solver="sgd", learning_rate_init=0.01,
                 batch_size=32, max_iter=50, init="kaiming", impl="manual", device="cpu", random_state=0,
                 verbose=False):
        self.hidden_layer_sizes, self.activation = hidden_layer_sizes, activation
        self.learning_rate_init, self.batch_size, self.max_iter = learning_rate_init, batch_size, max_iter
        self.solver, self.init, self.impl, self.device = solver, init, impl, device
        self.random_state, self.verbose = random_state, verbose
