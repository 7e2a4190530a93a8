"""The real tables (../shared/data/tables beside the checkout): minidl's README commands, 5-fold, beside
scikit-learn on the same folds.

    python benchmarks/bench_tables_accuracy.py

Each command is run as written in the README (`minidl.app.cli.main`, into a temp folder); scikit-learn's
LogisticRegression (softmax), MLPClassifier (mlp) or LinearRegression (the houses), each with its
defaults, is fitted on the very rows of each fold, encoded and standardised as minidl's run encodes them (minidl.data.tables). Prints one row per
table and writes results/tables_accuracy.json. Needs scikit-learn (the dev or bench extra).
"""
from __future__ import annotations

import contextlib
import io
import json
import shlex
import tempfile
import warnings
from pathlib import Path

from common import machine, print_table, write_json

TABLES = Path(__file__).resolve().parents[2] / "shared" / "data" / "tables"
FOLDS = 5
COMMANDS = {  # the no-flag commands of docs/own-data.md: only --csv and --target (and --fill-missing for NA cells)
    "iris": "train softmax --csv ../shared/data/tables/iris.csv --target class",
    "iris (mlp)": "train mlp --csv ../shared/data/tables/iris.csv --target class",
    "wine": "train softmax --csv ../shared/data/tables/wine.csv --target class",
    "wine (mlp)": "train mlp --csv ../shared/data/tables/wine.csv --target class",
    "penguins": "train softmax --csv ../shared/data/tables/penguins.csv --target species --fill-missing",
    "penguins (mlp)": "train mlp --csv ../shared/data/tables/penguins.csv --target species --fill-missing",
    "penguins-raw (mlp)": "train mlp --csv ../shared/data/tables/penguins-raw.csv --target Species --fill-missing",
    "windsor-houses": "train linreg --csv ../shared/data/tables/windsor-houses.csv --target price",
    "windsor-houses (log price)": "train linreg --csv ../shared/data/tables/windsor-houses.csv --target price "
                                  "--metric log-rmse --lr 0.01 --batch-size 16 --epochs 30",
}
REFERENCE = {"iris": 0.960, "wine": 0.983, "penguins": 0.997, "penguins-raw (mlp)": 0.997,
             "windsor-houses (log price)": 0.53}  # tables/README.md


def sklearn_folds(command: str) -> dict:
    """Return scikit-learn's mean score over the folds the command's run uses (the same rows, the same encoding)."""
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.metrics import r2_score
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    warnings.filterwarnings("ignore", category=ConvergenceWarning)  # its default 200 epochs, as shipped

    from minidl.config.train import TrainConfig
    from minidl.data.tables import load_table

    args = shlex.split(command)
    flag = {a: b for a, b in zip(args, args[1:])}
    config = TrainConfig(model=args[1], csv=str(TABLES / Path(flag["--csv"]).name), target=flag["--target"],
                         fill_missing="--fill-missing" in args, metric=flag.get("--metric"))
    table = load_table(config.csv, config.target, classify=config.task == "classify",
                       fill_missing=config.fill_missing, log_target=config.metric == "log-rmse")
    scores = []
    for i in range(1, FOLDS + 1):
        train, test = table.fold(i, FOLDS, seed=config.seed)
        if table.classes:
            estimator = MLPClassifier(random_state=0) if config.model == "mlp" else LogisticRegression()
            model = estimator.fit(train.X.numpy(), train.y.numpy())  # each with scikit-learn's defaults
            scores.append({"test_acc": model.score(test.X.numpy(), test.y.numpy())})
        else:
            y_hat = LinearRegression().fit(train.X.numpy(), train.y.numpy()).predict(test.X.numpy())
            y = test.y.numpy()
            key = "test_r2_log" if config.metric == "log-rmse" else "test_r2"
            scores.append({key: r2_score(y, y_hat), "test_log_rmse": float(((y - y_hat) ** 2).mean() ** 0.5)})
    return {key: sum(s[key] for s in scores) / FOLDS for key in scores[0]}


def main(argv=None) -> list[dict]:
    from minidl.app.cli import main as minidl

    if not TABLES.is_dir():
        raise SystemExit(f"the real tables are not in {TABLES}")
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name, command in COMMANDS.items():
            argv = shlex.split(command.replace("../shared/data/tables", str(TABLES)))
            with contextlib.redirect_stdout(io.StringIO()):
                assert minidl([*argv, "--folds", str(FOLDS), "--out", f"{folder}/{name}", "--quiet", "--no-plots"]) == 0
            ours = json.loads(Path(folder, name, "folds.json").read_text())["mean"]
            theirs = sklearn_folds(command)
            key = next(k for k in ("test_acc", "test_r2_log", "test_r2") if k in ours)
            rows.append({"table": name, "command": f"minidl {command} --folds {FOLDS}", "score": key,
                         "minidl": ours[key], "scikit_learn": theirs[key], "reference": REFERENCE.get(name, float("nan")),
                         "minidl_log_rmse": ours.get("test_log_rmse"), "sklearn_log_rmse": theirs.get("test_log_rmse")})
    print_table(rows, [("table", "table", "s"), ("score", f"{FOLDS}-fold mean of", "s"), ("minidl", "minidl", ".3f"),
                       ("scikit_learn", "scikit-learn, same folds", ".3f"), ("reference", "tables/README", ".3f")],
                "The real tables: minidl's commands against scikit-learn on the same folds")
    write_json("tables_accuracy", {"machine": machine(), "folds": FOLDS, "rows": rows})
    return rows


if __name__ == "__main__":
    main()
