"""The classifiers: ``SoftmaxRegression`` (the lesson's) and ``MLPClassifier`` (scikit-learn's, complete).

Labels become indicator rows through a LabelBinarizer fixed by the first fit (or the first
partial_fit's ``classes``). ``MLPClassifier`` ends as scikit-learn's does: one logistic output for
two classes, a softmax over three or more, a logistic output per label for multilabel targets (an
indicator matrix y); ``SoftmaxRegression`` is a softmax over every class, two included.
"""
from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels
from sklearn.utils.validation import check_is_fitted, column_or_1d

from minidl.errors import ConfigError
from minidl.sklearn.base import Estimator
from minidl.sklearn.params import check_activation, hidden_sizes


class Classifier(ClassifierMixin, Estimator):
    _classifies = True
    _multilabel = False

    def _targets(self, y, *, incremental: bool, classes=None) -> np.ndarray:
        """Return y as a float (n, outputs) indicator matrix, fixing ``classes_`` where this call should."""
        if np.ndim(y) == 2 and np.shape(y)[1] == 1:
            y = column_or_1d(y, warn=True)  # a column vector of labels, not one label per column
        check_classification_targets(y)
        if type_of_target(y) == "multilabel-indicator" and not self._multilabel:
            raise ConfigError(f"{type(self).__name__} takes one label per row; for multilabel targets use MLPClassifier")
        if classes is not None and hasattr(self, "classes_") and incremental:
            if not np.array_equal(np.unique(classes), self.classes_):
                raise ConfigError(f"classes={np.unique(classes).tolist()} differs from the classes_ "
                                  f"{self.classes_.tolist()} of the first partial_fit; name the same classes")
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            multilabel = type_of_target(y) == "multilabel-indicator"  # there classes are the column numbers
            self._label_binarizer = LabelBinarizer().fit(y if classes is None or multilabel else classes)
            self.classes_ = self._label_binarizer.classes_
            if len(self.classes_) < 2 and not multilabel:  # one class would train to "accuracy 1, loss 0"
                del self.classes_
                raise ValueError(f"y holds one class only ({np.unique(y)[0]!r}); a classifier needs samples of at "
                                 "least 2 classes")
        self._check_known(y, incremental)
        Y = self._label_binarizer.transform(y).astype(np.float64)
        if self._output(Y.shape[1]) == "softmax" and Y.shape[1] == 1 and len(self.classes_) == 2:
            Y = np.hstack([1 - Y, Y])  # a softmax over two classes needs both columns
        return Y

    def _check_known(self, y, incremental: bool) -> None:
        """Raise ValueError unless y's labels are this estimator's classes (the same set, warm started)."""
        labels = unique_labels(y)
        if self.warm_start and not incremental and set(labels) != set(self.classes_):
            raise ConfigError("warm_start can only be used where `y` has the same classes as in the previous "
                              f"call to fit. Previously got {self.classes_}, `y` has {labels}; "
                              "fit with warm_start=False to start over")
        unknown = np.setdiff1d(labels, self.classes_)
        if len(unknown) and self._label_binarizer.y_type_ != "multilabel-indicator":
            raise ConfigError(f"y holds the labels {unknown.tolist()} that are not among classes_ "
                              f"{self.classes_.tolist()}; name every class in the first partial_fit(classes=...)")

    def _stratify(self, Y):
        multilabel = self._label_binarizer.y_type_ == "multilabel-indicator"
        return None if multilabel else Y.astype(bool)  # rows of the indicator matrix, one per class

    def _score_outputs(self, P, Y, w) -> float:
        """Return the w-weighted share of rows whose predicted labels are all right."""
        if self.out_activation_ == "softmax":
            right = P.argmax(dim=1) == Y.argmax(dim=1)
        else:
            right = ((P > 0.5) == (Y > 0.5)).all(dim=1)
        return float((w * right).sum() / w.sum())

    def predict(self, X) -> np.ndarray:
        """Return the predicted class of each row of X (multilabel: an indicator row per row)."""
        P = self._outputs(X)
        if self.out_activation_ == "softmax":
            return self.classes_[P.argmax(axis=1)]
        return self._label_binarizer.inverse_transform(P, threshold=0.5)

    def predict_proba(self, X) -> np.ndarray:
        """Return (n_samples, n_classes) probabilities, columns in the order of ``classes_``."""
        P = self._outputs(X)
        if self.out_activation_ == "logistic" and self._label_binarizer.y_type_ != "multilabel-indicator":
            return np.hstack([1 - P, P]) if len(self.classes_) == 2 else np.ones_like(P)
        return P

    def predict_log_proba(self, X) -> np.ndarray:
        """Return the log of predict_proba(X)."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def _has_partial_fit(self) -> bool:
        return self.solver != "lbfgs"

    @available_if(_has_partial_fit)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Train one epoch more on X, y (the first call draws the network); ``classes`` names every
        label there will be (needed on the first call when y does not hold them all). Return self."""
        return self._partial_fit(X, y, sample_weight, classes)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = self._multilabel
        return tags


class SoftmaxRegression(Classifier):
    """Softmax regression (multinomial logistic regression) by minibatch SGD on cross-entropy.

    The lesson's defaults: lr 0.1, batch 256, 10 epochs, N(0, 0.01) weights, no momentum, no L2,
    ``tol=None`` (every epoch runs). The other parameters mean what they do in MLPClassifier.
    """

    def __init__(self, *, solver="sgd", alpha=0.0, batch_size=256, learning_rate="constant",
                 learning_rate_init=0.1, power_t=0.5, max_iter=10, shuffle=True, random_state=0, tol=None,
                 verbose=False, warm_start=False, momentum=0.0, nesterovs_momentum=False, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10,
                 max_fun=15000, init="normal", device="cpu"):
        self.solver, self.alpha, self.batch_size, self.learning_rate = solver, alpha, batch_size, learning_rate
        self.learning_rate_init, self.power_t, self.max_iter, self.shuffle = learning_rate_init, power_t, max_iter, shuffle
        self.random_state, self.tol, self.verbose, self.warm_start = random_state, tol, verbose, warm_start
        self.momentum, self.nesterovs_momentum, self.early_stopping = momentum, nesterovs_momentum, early_stopping
        self.validation_fraction, self.beta_1, self.beta_2, self.epsilon = validation_fraction, beta_1, beta_2, epsilon
        self.n_iter_no_change, self.max_fun, self.init, self.device = n_iter_no_change, max_fun, init, device

    def _hidden(self):
        return ()

    def _activation(self):
        return "identity"

    def _output(self, n_outputs: int) -> str:
        return "softmax"

    @property
    def coef_(self) -> np.ndarray:
        """(n_classes, n_features) weights, as LogisticRegression's multinomial coef_."""
        check_is_fitted(self, "coefs_")
        return self.coefs_[0].T

    @property
    def intercept_(self) -> np.ndarray:
        """(n_classes,) biases."""
        check_is_fitted(self, "coefs_")
        return self.intercepts_[0]


class MLPClassifier(Classifier):
    """A multilayer perceptron classifier: scikit-learn's MLPClassifier, every parameter with its meaning.

    ``init`` (minidl's draws: xavier, normal, kaiming) and ``device`` are minidl's additions.
    """

    _multilabel = True

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=0.0001,
                 batch_size="auto", learning_rate="constant", learning_rate_init=0.001, power_t=0.5, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1, beta_1=0.9,
                 beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000, init="xavier", device="cpu"):
        self.hidden_layer_sizes, self.activation = hidden_layer_sizes, activation
        self.solver, self.alpha, self.batch_size, self.learning_rate = solver, alpha, batch_size, learning_rate
        self.learning_rate_init, self.power_t, self.max_iter, self.shuffle = learning_rate_init, power_t, max_iter, shuffle
        self.random_state, self.tol, self.verbose, self.warm_start = random_state, tol, verbose, warm_start
        self.momentum, self.nesterovs_momentum, self.early_stopping = momentum, nesterovs_momentum, early_stopping
        self.validation_fraction, self.beta_1, self.beta_2, self.epsilon = validation_fraction, beta_1, beta_2, epsilon
        self.n_iter_no_change, self.max_fun, self.init, self.device = n_iter_no_change, max_fun, init, device

    def _hidden(self):
        return hidden_sizes(self.hidden_layer_sizes)

    def _activation(self):
        return check_activation(self.activation)

    def _output(self, n_outputs: int) -> str:
        multilabel = self._label_binarizer.y_type_ == "multilabel-indicator"
        return "logistic" if multilabel or n_outputs == 1 else "softmax"

