"""The regressors: ``LinearRegression`` (the lesson's) and ``MLPRegressor`` (scikit-learn's, complete).

Both fit one output per target column (y of shape (n,) or (n, k)) on the squared loss;
``MLPRegressor(loss="poisson")`` fits counts through an exp output on the Poisson deviance.
"""
from __future__ import annotations

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from minidl.errors import ConfigError, check_choice
from minidl.sklearn.base import Estimator
from minidl.sklearn.params import check_activation, hidden_sizes


class Regressor(RegressorMixin, Estimator):
    _classifies = False

    def _targets(self, y, *, incremental: bool, classes=None) -> np.ndarray:
        """Return y as a float (n, k) matrix, remembering whether it came as one column."""
        y = np.asarray(y, dtype=np.float64)
        if self._output(1) == "exp" and (y < 0).any():
            raise ConfigError("loss='poisson' needs counts y >= 0; use loss='squared_error' for signed targets")
        self._one_target = y.ndim == 1
        return y.reshape(len(y), -1)

    def _output(self, n_outputs: int) -> str:
        return "identity"

    def _score_outputs(self, P, Y, w) -> float:
        """Return R^2 averaged over the targets, weighted by w (nan where a prediction is not finite)."""
        if not bool(P.isfinite().all()):
            return float("nan")
        w = w.reshape(-1, 1)
        mean = (w * Y).sum(dim=0) / w.sum()
        residual, spread = (w * (Y - P) ** 2).sum(dim=0), (w * (Y - mean) ** 2).sum(dim=0)
        scores = [1.0 - float(r / s) if s > 0 else float(r == 0) for r, s in zip(residual, spread)]
        return float(np.mean(scores))

    def predict(self, X) -> np.ndarray:
        """Return the predicted target of each row of X: (n_samples,), or (n_samples, k) for k targets."""
        P = self._outputs(X)
        return P.ravel() if getattr(self, "_one_target", P.shape[1] == 1) else P

    def _has_partial_fit(self) -> bool:
        return self.solver != "lbfgs"

    @available_if(_has_partial_fit)
    def partial_fit(self, X, y, sample_weight=None):
        """Train one epoch more on X, y (the first call draws the network); return self."""
        return self._partial_fit(X, y, sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


class LinearRegression(Regressor):
    """Linear regression X w + b by minibatch SGD on the squared loss (the lesson's linreg).

    The lesson's defaults: lr 0.03, batch 10, 3 epochs, N(0, 0.01) weights, no momentum, no L2,
    ``tol=None`` (every epoch runs). The other parameters mean what they do in MLPRegressor.
    """

    def __init__(self, *, solver="sgd", alpha=0.0, batch_size=10, learning_rate="constant",
                 learning_rate_init=0.03, power_t=0.5, max_iter=3, shuffle=True, random_state=0, tol=None,
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

    @property
    def coef_(self) -> np.ndarray:
        """(n_features,) weights, or (n_targets, n_features) for several targets."""
        check_is_fitted(self, "coefs_")
        W = self.coefs_[0].T  # (k, d)
        return W[0] if self._one_target else W

    @property
    def intercept_(self):
        """The bias: a float, or (n_targets,) for several targets."""
        check_is_fitted(self, "coefs_")
        b = self.intercepts_[0]
        return float(b[0]) if self._one_target else b


class MLPRegressor(Regressor):
    """A multilayer perceptron regressor: scikit-learn's MLPRegressor, every parameter with its meaning.

    ``init`` (minidl's draws: xavier, normal, kaiming) and ``device`` are minidl's additions.
    """

    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant", learning_rate_init=0.001, power_t=0.5,
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1, beta_1=0.9,
                 beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000, init="xavier", device="cpu"):
        self.loss, self.hidden_layer_sizes, self.activation = loss, hidden_layer_sizes, activation
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
        return "exp" if check_choice("loss", self.loss, ("squared_error", "poisson")) == "poisson" else "identity"
