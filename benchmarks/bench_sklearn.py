"""minidl's scikit-learn MLPClassifier against scikit-learn's own, side by side in one run.

    python benchmarks/bench_sklearn.py [--repeats 3] [--quick]

Both estimators get the same float32 Fashion-MNIST arrays ((60,000, 784) in [0, 1]) and the same
hyperparameters: one hidden layer of 256 ReLUs, plain minibatch SGD at lr 0.5 (scikit-learn's
``learning_rate_init``, ``momentum=0``), batch 256, 5 epochs (``max_iter``), no L2 penalty
(``alpha=0``), no early stopping, shuffled every epoch. The one difference neither can remove:
scikit-learn draws its initial weights Glorot-uniform, minidl from N(0, 0.01) (the lesson's).
"seconds" is the wall time of ``fit(X, y)``, input checks included; each runs ``--repeats`` times
(median), scikit-learn first. Writes benchmarks/results/sklearn.json. ``--quick`` is a smoke test:
one run each on the first 2,000 training images (its figures say nothing about speed).
"""
from __future__ import annotations

import argparse
import time
import warnings

from common import check_quiet, load_data, machine, median_run, print_table, write_json

HIDDEN, LR, BATCH, EPOCHS = 256, 0.5, 256, 5


def sklearn_mlp():
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier((HIDDEN,), activation="relu", solver="sgd", learning_rate="constant",
                         learning_rate_init=LR, momentum=0, nesterovs_momentum=False, batch_size=BATCH,
                         max_iter=EPOCHS, alpha=0, early_stopping=False, shuffle=True, random_state=0,
                         tol=0, n_iter_no_change=EPOCHS + 1)  # never stop before max_iter


def minidl_mlp():
    from minidl.sklearn import MLPClassifier

    return MLPClassifier((HIDDEN,), activation="relu", solver="sgd", learning_rate="constant",
                         learning_rate_init=LR, momentum=0, nesterovs_momentum=False, batch_size=BATCH,
                         max_iter=EPOCHS, alpha=0, early_stopping=False, shuffle=True, random_state=0,
                         tol=0, n_iter_no_change=EPOCHS + 1, init="normal", device="cpu")  # sklearn_mlp's, and the lesson's draw


CONTENDERS = {"minidl.sklearn.MLPClassifier": minidl_mlp, "sklearn.neural_network.MLPClassifier": sklearn_mlp}


def timed_fit(make, X, y, X_test, y_test) -> dict:
    """Return the seconds of ``make().fit(X, y)`` and the test accuracy it reaches."""
    from sklearn.exceptions import ConvergenceWarning

    estimator = make()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=ConvergenceWarning)  # 5 epochs is the plan
        start = time.perf_counter()
        estimator.fit(X, y)
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "test_acc": float(estimator.score(X_test, y_test)),
            "epochs": int(estimator.n_iter_)}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per estimator, median kept (default 3)")
    parser.add_argument("--quick", action="store_true", help="smoke test: one run each on 2,000 training images")
    args = parser.parse_args(argv)
    repeats = 1 if args.quick else args.repeats
    busy = check_quiet("sklearn")
    data = load_data()
    (X, y), (X_test, y_test) = data.floats("train"), data.floats("test")
    if args.quick:
        X, y = X[:2000], y[:2000]
    rows = {}
    for name in reversed(CONTENDERS):  # scikit-learn first: minidl's fit() tunes the process's allocator
        rows[name] = {"contender": name, **median_run(lambda: timed_fit(CONTENDERS[name], X, y, X_test, y_test), repeats)}
    table = [rows[name] for name in CONTENDERS]
    for row in table:
        row["ratio"] = row["seconds"] / table[0]["seconds"]
    speedup = table[1]["seconds"] / table[0]["seconds"]
    label = (f"784-{HIDDEN}-10 MLP, SGD lr {LR:g}, batch {BATCH}, {EPOCHS} epochs, "
             f"{len(X):,} training images{' (--quick: a smoke test)' if args.quick else ''}")
    print_table(table, [("contender", "estimator", ""), ("seconds", "fit seconds", ".2f"),
                        ("test_acc", "test acc", ".4f"), ("ratio", "x minidl", ".2f")], label)
    print(f"\nminidl's MLPClassifier fit {speedup:.2f}x faster than scikit-learn's "
          f"(test accuracy {table[0]['test_acc']:.4f} against {table[1]['test_acc']:.4f})")
    payload = {"data": data.origin, "machine": machine(), "busy_percent_before": busy, "quick": args.quick,
               "task": label, "rows": table, "speedup": speedup}
    write_json("sklearn", payload)
    return payload


if __name__ == "__main__":
    main()
