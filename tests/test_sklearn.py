"""minidl.sklearn: scikit-learn's own estimator checks, Pipelines, searches, sample weights, sparse input."""
import numpy as np
import pytest

pytest.importorskip("sklearn", reason="scikit-learn is not installed (pip install -e '.[dev]' brings it)")

import scipy.sparse  # noqa: E402
import sklearn.base  # noqa: E402
from sklearn.datasets import load_iris, make_multilabel_classification, make_regression  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import estimator_checks_generator, parametrize_with_checks  # noqa: E402

import minidl.sklearn as msk  # noqa: E402
from minidl.sklearn import LinearRegression, MLPClassifier, MLPRegressor, SoftmaxRegression  # noqa: E402

# Full batches in a fixed order make a fit deterministic and a whole-number sample weight exactly a
# repeated row, which the sample-weight checks ask; small models keep the ~60 checks each fast.
CHECKED = [
    LinearRegression(batch_size=1000, max_iter=100, learning_rate_init=0.1, shuffle=False),
    SoftmaxRegression(batch_size=1000, max_iter=10, shuffle=False),
    MLPClassifier((8,), learning_rate_init=0.05, batch_size=1000, max_iter=20, shuffle=False, random_state=0),
    MLPRegressor(hidden_layer_sizes=(16,), learning_rate_init=0.05, batch_size=1000, max_iter=20, shuffle=False,
                 random_state=0),
]

# LinearRegression keeps the lesson's plain SGD (no Adam), and these checks fit it on features near
# 100 (rng.normal(loc=100)), unscaled: at a rate that trains scaled data, the steps overshoot and the
# weights leave the floats, which fit reports as a ValueError ("scale X"). That is the documented
# contract (put a StandardScaler in front), so these three are expected to fail.
UNSCALED = "plain SGD on features near 100, unscaled, diverges; fit says so (scale the inputs)"
LINEAR_FAILURES = {name: UNSCALED for name in ("check_fit_idempotent", "check_fit_check_is_fitted",
                                                "check_n_features_in")}


def expected_failures(estimator) -> dict:
    return LINEAR_FAILURES if isinstance(estimator, LinearRegression) else {}


@parametrize_with_checks(CHECKED, expected_failed_checks=expected_failures)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def test_the_checks_include_sample_weights_and_multilabel_targets():
    names = {getattr(c, "func", c).__name__ for _, c in estimator_checks_generator(CHECKED[2], mark=None)}
    assert {"check_sample_weight_equivalence_on_dense_data", "check_sample_weight_equivalence_on_sparse_data",
            "check_classifiers_multilabel_output_format_predict_proba"} <= names


def test_the_package_imports_scikit_learn_itself():
    assert msk.BaseEstimator is sklearn.base.BaseEstimator


def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), np.array(["setosa", "versicolor", "virginica"])[y]


def test_pipeline_grid_search_and_cross_val_score():
    X, y = iris()
    pipe = make_pipeline(StandardScaler(), MLPClassifier((16,), learning_rate_init=0.01, random_state=0))
    search = GridSearchCV(pipe, {"mlpclassifier__max_iter": [2, 100]}, cv=3)
    with pytest.warns(ConvergenceWarning):
        search.fit(X, y)
    assert search.best_params_["mlpclassifier__max_iter"] == 100 and search.best_score_ > 0.9
    assert search.predict(X[:1]).tolist() == ["setosa"]
    scores = cross_val_score(SoftmaxRegression(batch_size=16, max_iter=20), X, y, cv=3)
    assert scores.mean() > 0.85


def test_fitted_attributes_have_scikit_learns_shapes():
    X, y = iris()
    clf = MLPClassifier((16, 8), max_iter=30, tol=None, random_state=0).fit(X, y)
    assert clf.classes_.tolist() == ["setosa", "versicolor", "virginica"] and clf.n_features_in_ == 4
    assert [c.shape for c in clf.coefs_] == [(4, 16), (16, 8), (8, 3)]
    assert [b.shape for b in clf.intercepts_] == [(16,), (8,), (3,)]
    assert len(clf.loss_curve_) == clf.n_iter_ == 30 and clf.loss_curve_[-1] < clf.loss_curve_[0]
    assert clf.best_loss_ == min(clf.loss_curve_) and clf.validation_scores_ is None
    assert clf.out_activation_ == "softmax" and clf.n_layers_ == 4 and clf.n_outputs_ == 3
    np.testing.assert_allclose(clf.predict_log_proba(X[:5]), np.log(clf.predict_proba(X[:5])))
    linear = LinearRegression().fit(X, X @ [1.0, 2.0, 0.0, -1.0] + 3)
    assert linear.coef_.shape == (4,) and isinstance(linear.intercept_, float)
    assert SoftmaxRegression().fit(X, y).coef_.shape == (3, 4)


def test_partial_fit_continues_a_fit_exactly():
    X, y = iris()
    whole = MLPClassifier((8,), solver="sgd", learning_rate_init=0.1, max_iter=5, tol=None, random_state=0).fit(X, y)
    steps = MLPClassifier((8,), solver="sgd", learning_rate_init=0.1, random_state=0)
    for _ in range(5):
        steps.partial_fit(X, y, classes=np.unique(y))
    assert steps.n_iter_ == 5 and steps.loss_curve_ == whole.loss_curve_
    np.testing.assert_array_equal(steps.predict_proba(X), whole.predict_proba(X))


def test_partial_fit_refuses_an_unnamed_class_and_another_architecture():
    X, y = iris()
    clf = MLPClassifier((4,)).partial_fit(X[y != "virginica"], y[y != "virginica"])
    with pytest.raises(ValueError, match="virginica"):
        clf.partial_fit(X, y)
    with pytest.raises(ValueError, match=r"layer widths \[4, 4, 1\].*\[4, 2, 1\]"):
        clf.set_params(hidden_layer_sizes=(2,)).partial_fit(X[:10], y[:10])


@pytest.mark.parametrize("make", [
    lambda: LinearRegression(batch_size=1000, shuffle=False, max_iter=20, learning_rate_init=0.1),
    lambda: MLPRegressor(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=30, tol=None, random_state=0),
    lambda: MLPClassifier((8,), batch_size=1000, shuffle=False, max_iter=20, learning_rate_init=0.05,
                          tol=None, random_state=0),
])
def test_a_whole_sample_weight_counts_as_repeated_rows(make):
    X, y = iris()
    target = X[:, 0] if sklearn.base.is_regressor(make()) else y
    weights = np.arange(len(X)) % 3  # 0, 1 and 2 copies
    weighted = make().fit(X[:, 1:], target, sample_weight=weights)
    repeated = make().fit(np.repeat(X[:, 1:], weights, axis=0), np.repeat(target, weights))
    for a, b in zip(weighted.coefs_, repeated.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)


def test_sparse_input_is_densified_one_batch_at_a_time(monkeypatch):
    X, y = iris()
    X[np.abs(X) < 0.5] = 0
    sparse = scipy.sparse.csr_matrix(X)
    dense = SoftmaxRegression(batch_size=16, max_iter=3).fit(X, y)
    rows = []
    toarray = scipy.sparse.csr_matrix.toarray
    monkeypatch.setattr(scipy.sparse.csr_matrix, "toarray", lambda self, *a, **k: rows.append(self.shape[0])
                        or toarray(self, *a, **k))
    fitted = SoftmaxRegression(batch_size=16, max_iter=3).fit(sparse.tocsc(), y)
    assert rows and max(rows) == 16  # never all 150 rows at once
    np.testing.assert_allclose(fitted.coef_, dense.coef_, rtol=1e-6)


def test_multilabel_targets_get_a_logistic_output_per_label():
    X, Y = make_multilabel_classification(n_samples=60, n_classes=4, random_state=0)
    clf = MLPClassifier((32,), solver="lbfgs", max_iter=200, random_state=0).fit(X / X.max(), Y)
    assert clf.out_activation_ == "logistic" and clf.predict(X[:3] / X.max()).shape == (3, 4)
    assert clf.score(X / X.max(), Y) > 0.9
    with pytest.raises(ValueError, match="MLPClassifier"):
        SoftmaxRegression().fit(X, Y)


def test_early_stopping_keeps_the_best_validation_epoch():
    X, y = iris()
    clf = MLPClassifier((8,), learning_rate_init=0.01, early_stopping=True, n_iter_no_change=3, max_iter=300,
                        random_state=0).fit(X, y)
    assert clf.best_loss_ is None and len(clf.validation_scores_) == clf.n_iter_ < 300
    assert clf.best_validation_score_ == max(clf.validation_scores_)


def test_alpha_shrinks_the_weights_and_tol_stops_early():
    X, y = iris()
    free, decayed = (MLPClassifier((8,), alpha=a, max_iter=100, random_state=0, tol=None).fit(X, y)
                     for a in (0.0, 5.0))
    assert np.abs(decayed.coefs_[0]).sum() < np.abs(free.coefs_[0]).sum()
    assert MLPClassifier((8,), tol=10.0, random_state=0).fit(X, y).n_iter_ == 12  # 1 + n_iter_no_change + 1
    with pytest.warns(ConvergenceWarning, match="max_iter=3"):
        MLPClassifier((8,), max_iter=3, random_state=0).fit(X, y)


def test_warm_start_continues_from_the_last_fit():
    X, y = iris()
    clf = MLPClassifier((8,), max_iter=5, tol=None, warm_start=True, random_state=0).fit(X, y)
    first = [c.copy() for c in clf.coefs_]
    clf.fit(X, y)
    assert clf.n_iter_ == 5 and len(clf.loss_curve_) == 10 and not np.array_equal(first[0], clf.coefs_[0])
    cold = MLPClassifier((8,), max_iter=5, tol=None, random_state=0).fit(X, y)
    np.testing.assert_array_equal(first[0], cold.coefs_[0])


@pytest.mark.parametrize("params, message", [
    ({"learning_rate_init": 0}, "learning_rate_init must be a positive number, got 0"),
    ({"solver": "rmsprop"}, "unknown solver 'rmsprop'"),
    ({"activation": "softmax"}, "unknown activation 'softmax'; choose one of identity, logistic, tanh, relu"),
    ({"batch_size": 0}, "batch_size"),
    ({"n_iter_no_change": 0}, "n_iter_no_change"),
    ({"validation_fraction": 1.5}, "validation_fraction"),
    ({"device": "tpu"}, "unknown device 'tpu'"),
])
def test_a_bad_parameter_is_named_never_a_flag(params, message):
    X, y = iris()
    with pytest.raises(ValueError, match=message) as error:
        MLPClassifier(**params).fit(X, y)
    assert "--" not in str(error.value)


def test_lbfgs_has_no_partial_fit_and_early_stopping_refuses_it():
    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")
    X, y = iris()
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping=True"):
        MLPClassifier(early_stopping=True).partial_fit(X, y)


def test_a_small_network_trains_on_one_thread_and_gives_the_threads_back(monkeypatch):
    import torch

    X, y = iris()
    calls, set_threads, before = [], torch.set_num_threads, torch.get_num_threads()
    monkeypatch.setattr(torch, "set_num_threads", lambda n: calls.append(n) or set_threads(n))
    MLPClassifier((4,), max_iter=2, tol=None).fit(X, y)
    assert torch.get_num_threads() == before and calls == ([1, before] if before > 1 else [])


def test_regressors_learn():
    X, y, w = make_regression(n_samples=400, n_features=3, noise=1.0, coef=True, random_state=0)
    linear = LinearRegression(learning_rate_init=0.01, max_iter=10).fit(X, y)
    np.testing.assert_allclose(linear.coef_, w, rtol=0.05)
    mlp = make_pipeline(StandardScaler(), MLPRegressor(hidden_layer_sizes=(32,), solver="lbfgs", random_state=0))
    assert mlp.fit(X, y / y.std()).score(X, y / y.std()) > 0.95
