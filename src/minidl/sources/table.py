"""A CSV table: numbers and text columns, a target to classify or regress, rows held out to test on."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from minidl.options import option
from minidl.data.split import TEST_FRACTION
from minidl.errors import ConfigError, DatasetError, check_choice, check_whole
from minidl.naming import setting
from minidl.sources.base import EVAL_BATCH, RunData, Source, file_fingerprint

TASKS = ("classify", "regress")  # what a CSV run does with its target
TASK_ALIASES = {"classification": "classify", "regression": "regress"}
METRICS = ("rmse", "log-rmse")  # a CSV regression's score; log-rmse fits the log of a positive target (prices)


@dataclass(frozen=True)
class TableOptions:
    """The table, its target column and task, its missing cells, and which rows are held out."""

    csv: str | None = option(None, "train on this CSV table (numbers and text columns, a header row) instead",
                             metavar="FILE", models=("linreg", "softmax", "mlp"))
    target: str | None = option(None, "with --csv: the column to predict (softmax and mlp: its values are the "
                                "classes)", metavar="COLUMN", models=("linreg", "softmax", "mlp"))
    task: str | None = option(None, "with --csv: classify or regress the target (default: linreg regresses, "
                              "softmax and mlp classify; mlp does both)")
    fill_missing: bool = option(False, "with --csv: fill missing cells (NA, N/A, nan, empty) with the training "
                                "mean (numbers) or a 'missing' category (text) instead of refusing them")
    test_csv: str | None = option(None, "with --csv: test on this table's rows instead of a held-out share",
                                  metavar="FILE")
    folds: int | None = option(None, "with --csv: K-fold cross-validation, one run per fold, reporting each and "
                               "the mean", metavar="K")
    fold: int | None = option(None, "with --folds K: train this one fold, 1 to K (its rows held out)", metavar="I")
    metric: str | None = option(None, f"with --csv, regressing: {' or '.join(METRICS)} (log-rmse fits the log of "
                                "a positive target, as for prices; default rmse)")
    columns: tuple[str, ...] = option((), "with --csv: use only these columns as inputs", metavar="NAME")
    drop: tuple[str, ...] = option((), "with --csv: leave these columns out of the inputs", metavar="NAME")
    keep_ids: bool = option(False, "with --csv: keep a text column of identifiers (nearly every value distinct), "
                            "which is left out by default")


class Table(Source):
    """A CSV table: text columns one-hot, numbers standardised, its test rows a share, a fold or a file."""

    options = TableOptions
    needs = "a CSV table; add --csv FILE --target COLUMN"
    naming = ("csv",)

    def chosen(self, config) -> bool:
        return config.csv is not None

    def check(self, config) -> None:
        """Fill in and check the task, the metric and the held-out rows."""
        if config.target is None:
            raise ConfigError("--csv and --target go together: name the table and the column to predict")
        for name in ("standardize", "tta_flip"):  # a table's rows are not images; its numbers are standardised already
            if getattr(config, name):
                raise ConfigError(f"--{name.replace('_', '-')} applies to images; leave it out for --csv {config.csv}")
        regressor = config.model in ("linreg", "polyreg")
        task = TASK_ALIASES.get(config.task, config.task) or ("regress" if regressor else "classify")
        check_choice("task (--task)", task, TASKS, aliases=TASK_ALIASES)
        allowed = {"linreg": ("regress",), "softmax": ("classify",)}.get(config.model, TASKS)
        if task not in allowed:
            does, instead = (("regresses", "softmax or mlp") if allowed == ("regress",)
                             else ("classifies", "linreg or mlp --task regress"))
            raise ConfigError(f"{config.model} only {does}; to {task} a table train {instead}")
        object.__setattr__(config, "task", task)
        metric = config.metric or ("rmse" if task == "regress" else None)
        if metric is not None:
            check_choice("metric (--metric)", metric, METRICS)
            if task != "regress":
                raise ConfigError(f"--metric {metric} scores a regression; a classifier is scored by accuracy")
        object.__setattr__(config, "metric", metric)
        self._check_held_out(config)

    def _check_held_out(self, config) -> None:
        held_out = [flag for flag, given in (("--test-csv", config.test_csv), ("--folds", config.folds),
                                             ("--test-fraction", config.test_fraction)) if given is not None]
        if len(held_out) > 1:
            raise ConfigError(f"{' and '.join(held_out)} each choose the test rows; give one of them")
        if config.folds is not None:
            check_whole("number of folds (--folds)", config.folds, low=2)
        if config.fold is not None:
            if config.folds is None:
                raise ConfigError("--fold I picks one fold of --folds K; add --folds")
            check_whole(f"fold (--fold, of --folds {config.folds})", config.fold, high=config.folds)
        if config.test_csv is not None:  # where it is, whatever the working folder of a later evaluate
            object.__setattr__(config, "test_csv", os.path.abspath(os.path.expanduser(config.test_csv)))

    def load(self, config, training, device) -> RunData:
        """Return the table encoded, its test rows held out (a share, a fold or a file)."""
        from minidl.data.notices import held

        with held():  # the table's notices, said once it is read: never beside an error line
            return self._load(config, training, device)

    def _load(self, config, training, device) -> RunData:
        from minidl.data.loader import Loader
        from minidl.data.notices import say
        from minidl.data.tables import load_table
        from minidl.sources.table_defaults import chosen_line

        path = Path(config.csv).resolve()
        if line := chosen_line(config.model, str(path), config.batch_size, config.epochs):
            say(line)
        table = load_table(path, config.target, classify=config.task == "classify",
                           fill_missing=config.fill_missing, log_target=config.metric == "log-rmse",
                           columns=config.columns, drop=config.drop, keep_ids=config.keep_ids)
        if config.test_csv:
            train, test = table, table.rows_of(config.test_csv)
        elif config.folds:  # one fold of K; cross_validate trains them all
            train, test = table.fold(config.fold or 1, config.folds, seed=config.seed)
        else:
            train, test = table.split(config.test_fraction or TEST_FRACTION, seed=config.seed)
        if train.classes:
            y_train, y_test = train.y, test.y
        else:  # a price near 1e6 would need an lr near 1e-12: fit the standardised target
            y_train, y_test = map(train.target_standardizer.transform, (train.y, test.y))
        held_out = (f"the rows of {config.test_csv}" if config.test_csv else
                    f"fold {config.fold or 1} of {config.folds}" if config.folds else f"{len(test.y)} held-out rows")
        recorded = {"csv": str(path), "csv_sha256": file_fingerprint(path), "classifies": bool(train.classes)}
        if config.test_csv:
            recorded["test_csv_sha256"] = file_fingerprint(config.test_csv)
        return RunData(
            train=training(train.X, y_train), test=Loader(test.X, y_test, EVAL_BATCH, device=device),
            num_inputs=train.X.shape[1], num_outputs=len(train.classes) or 1, classifies=bool(train.classes),
            source=f"{path}: {len(train.y)} training rows, tested on {held_out}", origin=self,
            class_names=train.classes, table=train.facts(), recorded=recorded, notes=train.counts(),
        )

    def owns(self, recorded: dict) -> bool:
        return "csv" in recorded

    def found_again(self, recorded: dict, where: str) -> dict:
        path = recorded["csv"]
        if not Path(path).is_file():
            raise DatasetError(f"{where} was trained on the table {path}, which is gone; "
                               f"pass --csv FILE with a copy of that table")
        return {"csv": path}

    def trained_on(self, config) -> str:
        return f"the CSV table {config.csv} (target {config.target})"

    def moved(self, config, where: str, *, data_dir=None, csv=None) -> dict:
        if data_dir is not None:
            raise self.other_kind(config, where, "images in a folder",
                                  f"leave out {setting('data_dir')} (give {setting('csv')} for its table moved)")
        return {"csv": csv} if csv is not None else {}

    def check_same(self, recorded: dict, data: RunData, where: str) -> None:
        now = data.recorded
        if recorded.get("csv_sha256") and now.get("csv_sha256") and recorded["csv_sha256"] != now["csv_sha256"]:
            raise DatasetError(
                f"{where} was trained on the table {recorded['csv']}, but {now['csv']} is not that table "
                f"(its contents differ: edited, or another file); its test rows would not be the run's. "
                f"Restore the original, or pass --csv FILE with a copy of it"
            )
        if (recorded.get("test_csv_sha256") and now.get("test_csv_sha256")
                and recorded["test_csv_sha256"] != now["test_csv_sha256"]):
            raise DatasetError(f"{where} was tested on another --test-csv table (its contents differ: edited, or "
                               "another file); restore the original")

    def weights(self, data: RunData, w: list[float], b: float) -> dict:
        # the model fits standardised columns: z_y = w . z_x + b, z = (value - mean) / std; in the
        # table's own units that is y = w' . x + b' with w'_j = std_y w_j / std_j
        table = data.table
        (mean_y,), (std_y,) = table["target_standardizer"].values()
        x = table["standardizer"]
        w_own = [std_y * wj / sj for wj, sj in zip(w, x["std"])]
        b_own = mean_y + std_y * b - sum(wj * mj for wj, mj in zip(w_own, x["mean"]))
        target = f"log({table['target']})" if table.get("log_target") else table["target"]
        return {"w": w_own, "b": b_own, "units": f"w and b in the table's own units: {target} "
                f"= w . ({', '.join(table['features'])}) + b; the loss is in standardised "
                f"units ({target} divided by its std {std_y:.6g})",
                "w_standardised": w, "b_standardised": b, **table}


def regression_scores(model, loader, table: dict) -> dict:
    """Return R^2 and RMSE of a table's regression on ``loader``, in the target's own units (log-RMSE and
    the R^2 of the log with ``--metric log-rmse``, whose model fits the log)."""
    import torch

    from minidl.data.tables import Standardizer

    target = Standardizer.from_dict(table["target_standardizer"])
    was_training = getattr(model, "training", False)
    model.eval()
    with torch.no_grad():
        pairs = [(model(X).double(), y.double()) for X, y in loader]
    model.train(was_training)
    y_hat, y = (target.inverse(torch.cat(t).cpu().reshape(-1, 1)) for t in zip(*pairs))
    r2 = 1 - float(((y - y_hat) ** 2).sum() / ((y - y.mean()) ** 2).sum())
    rmse = float(((y - y_hat) ** 2).mean().sqrt())
    if table.get("log_target"):
        price_rmse = float(((y.exp() - y_hat.exp()) ** 2).mean().sqrt())
        return {"test_r2_log": r2, "test_log_rmse": rmse, "test_rmse": price_rmse}
    return {"test_r2": r2, "test_rmse": rmse}
