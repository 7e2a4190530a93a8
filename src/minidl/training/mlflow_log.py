"""``--mlflow URI``: a run's config as params, its epochs as metrics, its folder as artifacts, in MLflow.

The tracking store is any MLflow takes: a database (``sqlite:///mlruns.db``, ``postgresql://...``)
or a tracking server (``http://127.0.0.1:5000``). The experiment is ``--mlflow-experiment``
(default ``minidl``); the MLflow run is named after the run folder and tagged with its absolute
path (``minidl.run_folder``), so ``--resume`` continues the same MLflow run, logging only the
epochs it lacks. For a sqlite store, artifacts go to ``mlartifacts/`` beside the database file;
other stores keep them where their server says.
"""
from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from minidl.config.run import OFF, check_uri
from minidl.errors import ConfigError

RUN_FOLDER_TAG = "minidl.run_folder"
# a tracking server that stops answering must not hold the training up for minutes of retries
QUICK = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
         "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"}


def sqlite_file(uri: str) -> Path | None:
    """Return the database file of a ``sqlite:///`` URI (None for another store).

    >>> sqlite_file("sqlite:////tmp/m.db"), sqlite_file("http://127.0.0.1:5000")
    (PosixPath('/tmp/m.db'), None)
    """
    return Path(uri[len("sqlite:///"):]) if uri.startswith("sqlite:///") else None


class MLflowLogger:
    """Logs one minidl run into an MLflow experiment through ``MlflowClient``."""

    name = "MLflow"

    def __init__(self, client, experiment_id: str, uri: str):
        self.client, self.experiment_id, self.uri = client, experiment_id, uri
        self.run_id, self.run_dir, self.done = None, None, False

    @classmethod
    def connect(cls, uri: str, experiment: str) -> MLflowLogger:
        """Return a logger on ``experiment`` (made if new) of the store at ``uri``; ConfigError if unreachable."""
        check_uri(uri)
        db = sqlite_file(uri)
        if db is not None and not db.resolve().parent.is_dir():
            raise ConfigError(f"--mlflow {uri}: the folder {db.parent} does not exist; create it or name another file")
        for name, value in QUICK.items():
            os.environ.setdefault(name, value)
        from mlflow.tracking import MlflowClient

        for name in ("mlflow", "alembic"):  # their INFO lines (creating tables, ...) are not the user's business
            logging.getLogger(name).setLevel(logging.WARNING)
        try:
            client = MlflowClient(tracking_uri=uri)
            found = client.get_experiment_by_name(experiment)
            if found is None:
                where = (db.resolve().parent / "mlartifacts").as_uri() if db is not None else None
                experiment_id = client.create_experiment(experiment, artifact_location=where)
            else:
                experiment_id = found.experiment_id
        except Exception as e:  # noqa: BLE001  (MLflow, SQLAlchemy and requests each raise their own)
            raise ConfigError(f"cannot reach the MLflow tracking store {uri}: {_first_line(e)}; start it, "
                              f"or train without it: --mlflow {OFF}") from None
        return cls(client, experiment_id, uri)

    def started(self, config, run_dir, rows) -> None:
        self.run_dir = Path(run_dir) if run_dir else None
        run = self._existing_run() if rows else None
        if run is None:
            tags = {RUN_FOLDER_TAG: str(self.run_dir.resolve())} if self.run_dir else {}
            run = self.client.create_run(self.experiment_id, run_name=self.run_dir.name if self.run_dir else None,
                                         tags=tags)
            self.run_id = run.info.run_id
            self._log_params(config)
        else:
            self.run_id = run.info.run_id
            self.client.update_run(self.run_id, status="RUNNING")
        have = {m.step for m in self.client.get_metric_history(self.run_id, "train_loss")}
        for row in rows:  # a resumed run's epochs the MLflow run lacks
            if row["epoch"] not in have:
                self.epoch(row)

    def _existing_run(self):
        """Return the MLflow run of this run folder (a resume), or None."""
        if self.run_dir is None:
            return None
        path = str(self.run_dir.resolve()).replace("'", "\\'")
        found = self.client.search_runs([self.experiment_id], f"tags.`{RUN_FOLDER_TAG}` = '{path}'", max_results=1)
        return found[0] if found else None

    def _log_params(self, config) -> None:
        from mlflow.entities import Param

        params = [Param(name, " ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value))
                  for name, value in config.to_dict().items() if value is not None]
        for i in range(0, len(params), 100):  # MLflow takes at most 100 params per batch
            self.client.log_batch(self.run_id, params=params[i:i + 100])

    def epoch(self, row: dict, step_losses=()) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = [Metric(name, float(value), now, row["epoch"]) for name, value in row.items()
                   if name != "epoch" and isinstance(value, (int, float))]
        self.client.log_batch(self.run_id, metrics=metrics)

    def finished(self, summary: dict) -> None:
        """Log the run folder's files (config, metrics, summary, figures, checkpoints) as artifacts."""
        from minidl.training.run_folder import LOCK

        if self.run_dir is not None:
            for path in sorted(p for p in self.run_dir.rglob("*") if p.is_file() and p.name != LOCK):
                folder = path.parent.relative_to(self.run_dir)
                self.client.log_artifact(self.run_id, str(path), None if folder == Path(".") else str(folder))
        self.client.set_terminated(self.run_id, "FINISHED")
        self.done = True

    def close(self) -> None:
        if self.run_id is not None and not self.done:  # the training stopped before its end
            self.client.set_terminated(self.run_id, "FAILED")
            self.done = True


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return (text.splitlines()[0][:200] if text else type(error).__name__)
