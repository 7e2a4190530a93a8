"""What every estimator shares: fit, partial_fit, warm_start, sample weights, early stopping, predict.

The fitted network lives in ``coefs_`` and ``intercepts_`` (NumPy, the training dtype: float32
inputs train in float32, anything else in float64); each fit or partial_fit builds the torch
network from them (or draws it, on a first pass), trains it and writes them back, so a pickled or
cloned estimator holds plain arrays. What lets a partial_fit continue exactly is kept beside them:
the optimizer's state (momentum, Adam's moments, the rate) and the shuffle generator's.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import scipy.sparse
import torch
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils.validation import check_is_fitted, validate_data

from minidl.errors import ConfigError
from minidl.sklearn import network
from minidl.sklearn.losses import predictions
from minidl.sklearn.params import batch_size, check_params, device_of, seed_of
from minidl.sklearn.rows import Rows, outputs
from minidl.sklearn.solvers import lbfgs
from minidl.sklearn.threads import threads_for
from minidl.sklearn.training import run_epochs

FLOATS = (np.float64, np.float32)
PROGRESS = ("n_iter_", "t_", "loss_curve_", "_no_improvement_count", "best_loss_", "validation_scores_",
            "best_validation_score_", "_optimizer_state")
SPARSE = ("csr", "csc")


def sample_weights(sample_weight, n: int) -> np.ndarray:
    """Return (n,) float64 weights: ones for None, else the given ones checked (finite, >= 0)."""
    if sample_weight is None:
        return np.ones(n)
    w = np.asarray(sample_weight, dtype=np.float64)
    if w.ndim == 0:
        w = np.full(n, float(w))
    if w.shape != (n,):
        raise ConfigError(f"sample_weight must hold one weight per row, shape ({n},); got shape {w.shape}")
    if not np.isfinite(w).all() or (w < 0).any():
        raise ConfigError("sample_weight must be finite numbers >= 0; drop the rows you would weigh below 0")
    if not w.sum() > 0:
        raise ConfigError("sample_weight is zero on every row, so no row counts; give some row a weight > 0")
    return w


class Estimator(BaseEstimator):
    """The shared machinery; subclasses say the layers, the targets and the output activation."""

    def fit(self, X, y, sample_weight=None):
        """Train for up to ``max_iter`` epochs (lbfgs: iterations), from where the last fit ended with
        ``warm_start``, else from a fresh draw; ``sample_weight`` weighs each row's loss. Return self."""
        return self._fit(X, y, sample_weight, incremental=False)

    def _partial_fit(self, X, y, sample_weight=None, classes=None):
        if self.solver == "lbfgs":
            raise ConfigError("partial_fit needs solver='sgd' or 'adam'; lbfgs works on the whole set in fit")
        if self.early_stopping:
            raise ConfigError("partial_fit does not support early_stopping=True: it trains one epoch on the rows "
                              "given; set early_stopping=False, or use fit")
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def _fit(self, X, y, sample_weight, *, incremental: bool, classes=None):
        check_params(self)
        first = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        X, y = validate_data(self, X, y, accept_sparse=SPARSE, dtype=FLOATS, multi_output=True,
                             y_numeric=not self._classifies, reset=first)
        Y = self._targets(y, incremental=incremental, classes=classes)
        w = sample_weights(sample_weight, X.shape[0])
        dtype, device = torch.float32 if X.dtype == np.float32 else torch.float64, device_of(self.device)
        self._dtype = np.dtype(X.dtype)
        widths = (X.shape[1], *self._hidden(), Y.shape[1])
        if first:
            self._start(widths)
            model = network.build(widths, self._activation(), self.init, self._seed).to(dtype=dtype, device=device)
        else:
            self._check_widths(widths)
            model = network.from_coefs(self.coefs_, self.intercepts_, self._activation(), dtype, device)
        self._fill_progress()
        self.n_outputs_, self.n_layers_, self.out_activation_ = Y.shape[1], len(widths), self._output(Y.shape[1])
        rows = Rows(X, Y, w, dtype, device)
        step_rows = len(rows) if self.solver == "lbfgs" else batch_size(self, len(rows))
        with threads_for(step_rows, widths, device):
            if self.solver == "lbfgs":
                self._run_lbfgs(model, rows)
            else:
                train, val = self._split(rows, Y, incremental)
                if not incremental:
                    self.n_iter_ = 0  # max_iter counts this fit's epochs, warm or not
                run_epochs(self, model, train, val, self.out_activation_, incremental=incremental)
        self._set_coefs(model)
        return self

    def _start(self, widths) -> None:
        """Forget the last fit: a fresh seed, progress and optimizer (the network is drawn by the caller)."""
        for name in PROGRESS + ("_best_coefs", "_shuffle_state"):
            self.__dict__.pop(name, None)
        self._seed = seed_of(self.random_state)

    def _check_widths(self, widths) -> None:
        """Raise ValueError unless the fitted coefs_ have the layer widths the parameters now ask for."""
        fitted = (np.shape(self.coefs_[0])[0], *(np.shape(c)[1] for c in self.coefs_))
        if tuple(fitted) != tuple(widths):
            raise ConfigError(f"the fitted network has layer widths {list(fitted)}, but the parameters and data "
                              f"now ask for {list(widths)}; fit with warm_start=False to start a new one")

    def _fill_progress(self) -> None:
        """Give every progress attribute its starting value where it has none yet."""
        early = self.early_stopping and self.solver != "lbfgs"
        starts = {"n_iter_": 0, "t_": 0, "loss_curve_": [], "_no_improvement_count": 0,
                  "best_loss_": None if early else math.inf, "validation_scores_": [] if early else None,
                  "best_validation_score_": -math.inf if early else None, "_optimizer_state": None,
                  "_seed": 0}
        for name, value in starts.items():
            if not hasattr(self, name):
                setattr(self, name, value)
        if not hasattr(self, "_shuffle_state"):
            self._shuffle_state = torch.Generator().manual_seed(self._seed + 1).get_state()

    def _split(self, rows: Rows, Y: np.ndarray, incremental: bool):
        """Return (training Rows, validation Rows or None): ``validation_fraction`` held out to stop early."""
        if not self.early_stopping or incremental:
            return rows, None
        n = len(rows)
        kept, held = train_test_split(np.arange(n), test_size=self.validation_fraction, random_state=self._seed,
                                      stratify=self._stratify(Y))
        if len(held) < 2:
            raise ConfigError(f"The validation set is too small: validation_fraction={self.validation_fraction} "
                              f"of {n} rows holds {len(held)}; early stopping needs 2 or more, so raise "
                              "validation_fraction or give more rows")
        return rows.subset(kept), rows.subset(held)

    def _stratify(self, Y):
        return None

    def _run_lbfgs(self, model, rows: Rows) -> None:
        self.loss_, self.n_iter_, converged = lbfgs(self, model, rows, self.out_activation_)
        self.t_ += len(rows)
        self.loss_curve_.append(self.loss_)  # lbfgs: one entry per fit, its final objective
        if not converged:
            warnings.warn(f"lbfgs stopped after {self.n_iter_} iterations (max_iter={self.max_iter}, "
                          f"max_fun={self.max_fun}) before its gradient fell below tol={self.tol}; "
                          "raise max_iter or max_fun", ConvergenceWarning)

    def _set_coefs(self, model) -> None:
        self.coefs_, self.intercepts_ = network.to_coefs(model, self._dtype)
        if not all(np.isfinite(a).all() for a in self.coefs_ + self.intercepts_):
            raise ConfigError("Solver produced non-finite parameter weights. The input data may contain large "
                              "values and need to be preprocessed: scale X (a StandardScaler in front) or lower "
                              "learning_rate_init")

    def _validation_score(self, model, val: Rows) -> float:
        """Return the score (accuracy, or R^2) of the training network on the held-out Rows."""
        with torch.no_grad():
            P = torch.cat([predictions(model(X), self.out_activation_) for X, _, _ in val.chunks()])
        return self._score_outputs(P, val.Y, val.w)

    def _outputs(self, X) -> np.ndarray:
        """Return the output activation of the fitted network on X: (n_samples, n_outputs_)."""
        check_is_fitted(self, "coefs_")
        X = validate_data(self, X, accept_sparse=SPARSE, dtype=FLOATS, reset=False)
        dtype = torch.float32 if X.dtype == np.float32 else torch.float64
        model = network.from_coefs(self.coefs_, self.intercepts_, self._activation(), dtype, "cpu")
        Z = outputs(model, X if scipy.sparse.issparse(X) else np.asarray(X), dtype, torch.device("cpu"))
        return predictions(torch.from_numpy(Z), self.out_activation_).numpy()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
