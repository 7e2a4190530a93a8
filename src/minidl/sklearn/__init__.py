"""scikit-learn estimators on minidl's networks: the lessons' models, and scikit-learn's MLPs in full.

>>> from sklearn.datasets import load_iris
>>> from sklearn.pipeline import make_pipeline
>>> from sklearn.preprocessing import StandardScaler
>>> X, y = load_iris(return_X_y=True)
>>> clf = make_pipeline(StandardScaler(), MLPClassifier((32,), learning_rate_init=0.01, random_state=0))
>>> clf.fit(X, y).score(X, y) > 0.9
True

``MLPClassifier`` and ``MLPRegressor`` take every parameter of scikit-learn's own, with its
meaning and defaults (Adam at 0.001, 100 ReLUs, ``alpha`` 1e-4 as an L2 penalty, ``tol`` with a
ConvergenceWarning, ``early_stopping``, ``solver="lbfgs"`` through torch.optim.LBFGS, ...), and
set its attributes (``coefs_``, ``intercepts_``, ``n_iter_``, ``loss_curve_``, ``best_loss_``,
``validation_scores_``, ...); they add ``init`` (minidl's weight draws) and ``device``.
``LinearRegression`` and ``SoftmaxRegression`` are the lessons' models with the lessons' defaults
(plain SGD, lr 0.03 / 0.1, batch 10 / 256, 3 / 10 epochs, N(0, 0.01) weights, ``tol=None``: every
epoch runs) and the same solver parameters, plus ``coef_`` and ``intercept_``.

All four take ``sample_weight`` (a weighted mean loss: a whole-number weight k counts as k copies
of the row), ``warm_start``, ``partial_fit`` (one epoch, continuing exactly: weights, optimizer
state and shuffle order) and sparse CSR/CSC input, densified one batch at a time. Each network is
minidl's concise twin's container (``minidl.lessons.contracts.Sequential``), its first weights drawn by
``minidl.lessons.contracts.init_params`` from ``random_state``; ``max_iter`` counts epochs (lbfgs:
iterations). Nothing is standardised for you, as in scikit-learn: put a ``StandardScaler`` in
front. The Python guide with a sparse text pipeline is ``docs/python.md``.

This package imports scikit-learn (the ``dev`` and ``bench`` extras install it); ``import minidl``
never does.
"""
try:  # absolute imports: this is scikit-learn itself, not this package
    from sklearn.base import BaseEstimator
    from sklearn.utils.validation import validate_data  # noqa: F401  (scikit-learn >= 1.6)
except ImportError as e:  # scikit-learn missing, or older than 1.6
    raise ImportError(f"minidl.sklearn needs scikit-learn >= 1.6 ({e}); pip install 'scikit-learn>=1.6'") from None

from minidl.sklearn.classifiers import MLPClassifier, SoftmaxRegression
from minidl.sklearn.regressors import LinearRegression, MLPRegressor

__all__ = ["BaseEstimator", "LinearRegression", "MLPClassifier", "MLPRegressor", "SoftmaxRegression"]
