"""--mlflow: the store queried back with MlflowClient holds the config as params, metrics.csv as
metrics with their steps and the run folder as artifacts; a resume continues the same MLflow run;
an unreachable store is one line; a logging failure never costs the training."""
import csv
import socket
import sys

import pytest

pytest.importorskip("mlflow", reason="the 'mlflow' extra is not installed (pip install -e '.[mlflow]')")
from mlflow.tracking import MlflowClient

from minidl.app.cli import main
from minidl.training.mlflow_log import sqlite_file


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One sqlite store for the module (making its tables takes seconds); each test its own experiment."""
    uri = f"sqlite:///{tmp_path_factory.mktemp('mlflow')}/mlruns.db"
    MlflowClient(tracking_uri=uri).search_experiments()  # creates the tables
    return uri


@pytest.fixture
def experiment(request):
    return request.node.name


def train(store, experiment, data, run, *more):
    argv = ["train", "mlp", "--hidden", "8", "--batch-size", "100", "--epochs", "2", "--device", "cpu", "--no-plots",
            "--data-dir", str(data), "--out", str(run), "--quiet", "--mlflow", store, "--mlflow-experiment", experiment,
            *more]
    return main(argv)


def only_run(uri, name):
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name(name)
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 1
    return client, runs[0]


def metrics(run) -> list[dict]:
    with open(run / "metrics.csv") as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def assert_metrics_are_the_csv(client, run_id, rows):
    for column in rows[0]:
        if column == "epoch":
            continue
        history = sorted(client.get_metric_history(run_id, column), key=lambda m: m.step)
        assert [m.step for m in history] == [int(r["epoch"]) for r in rows], column  # each epoch once
        assert [m.value for m in history] == pytest.approx([r[column] for r in rows], rel=1e-5), column


def test_params_metrics_and_artifacts_reach_the_store(tmp_path, tiny_fashion, store, experiment):
    run = tmp_path / "run"
    assert train(store, experiment, tiny_fashion, run) == 0
    client, logged = only_run(store, experiment)
    assert logged.info.status == "FINISHED" and logged.info.run_name == "run"
    params = logged.data.params
    assert (params["model"], params["lr"], params["hidden"], params["impl"]) == ("mlp", "0.5", "8", "manual")
    assert params["batch_size"] == "100" and params["epochs"] == "2"
    assert_metrics_are_the_csv(client, logged.info.run_id, metrics(run))
    artifacts = {a.path for a in client.list_artifacts(logged.info.run_id)}
    assert {"config.json", "metrics.csv", "summary.json", "checkpoint.pt", "best.pt"} <= artifacts
    assert ".minidl.lock" not in artifacts
    where = client.get_experiment_by_name(experiment).artifact_location  # beside the database
    assert where == (sqlite_file(store).parent / "mlartifacts").as_uri()


def test_a_resume_continues_the_same_mlflow_run(tmp_path, tiny_fashion, store, experiment):
    run = tmp_path / "run"
    assert train(store, experiment, tiny_fashion, run) == 0
    assert main(["train", "--resume", str(run), "--epochs", "4", "--quiet"]) == 0
    client, logged = only_run(store, experiment)
    assert logged.info.status == "FINISHED"
    assert_metrics_are_the_csv(client, logged.info.run_id, metrics(run))


def test_mlflow_none_resumes_a_run_without_logging(tmp_path, tiny_fashion, store, experiment):
    run = tmp_path / "run"
    assert train(store, experiment, tiny_fashion, run) == 0
    assert main(["train", "--resume", str(run), "--epochs", "3", "--quiet", "--mlflow", "none"]) == 0
    client, logged = only_run(store, experiment)
    assert [m.step for m in client.get_metric_history(logged.info.run_id, "train_loss")] == [1, 2]
    assert len(metrics(run)) == 3


def test_each_fold_of_a_cross_validation_is_its_own_mlflow_run(tmp_path, store, experiment):
    rows = [f"{(i % 10 - 5) / 2},{('red', 'green', 'blue')[i % 3]},{('ant', 'bee')[i % 2]}" for i in range(30)]
    (tmp_path / "kinds.csv").write_text("size,colour,kind\n" + "\n".join(rows) + "\n")
    assert main(["train", "softmax", "--csv", str(tmp_path / "kinds.csv"), "--target", "kind", "--folds", "2",
                 "--epochs", "2", "--device", "cpu", "--no-plots", "--quiet", "--out", str(tmp_path / "cv"),
                 "--mlflow", store, "--mlflow-experiment", experiment]) == 0
    client = MlflowClient(tracking_uri=store)
    runs = client.search_runs([client.get_experiment_by_name(experiment).experiment_id])
    assert sorted(r.info.run_name for r in runs) == ["fold-1", "fold-2"]
    assert {r.data.params["fold"] for r in runs} == {"1", "2"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_server_is_one_line_before_any_file(tmp_path, tiny_fashion, capsys):
    run = tmp_path / "run"
    code = main(["train", "mlp", "--hidden", "8", "--epochs", "1", "--device", "cpu", "--data-dir", str(tiny_fashion),
                 "--out", str(run), "--mlflow", f"http://127.0.0.1:{free_port()}"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "cannot reach the MLflow tracking store" in err, err
    assert err.rstrip().endswith("--mlflow none")
    assert not run.exists()


def test_logging_that_fails_midway_costs_nothing_of_the_training(tmp_path, tiny_fashion, store, experiment,
                                                                 monkeypatch, capsys):
    from minidl.training.mlflow_log import MLflowLogger

    def broken(self, row, step_losses=()):
        raise RuntimeError("the tracking server went away")

    monkeypatch.setattr(MLflowLogger, "epoch", broken)
    run = tmp_path / "run"
    code = train(store, experiment, tiny_fashion, run)
    err = capsys.readouterr().err
    assert code == 0 and len(metrics(run)) == 2 and (run / "summary.json").is_file()
    assert err.count("\n") == 1 and "MLflow logging stopped (the tracking server went away)" in err
    assert only_run(store, experiment)[1].info.status == "FAILED"


def test_without_the_extra_the_flag_is_refused_in_one_line(tmp_path, tiny_fashion, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "mlflow", None)
    code = train(f"sqlite:///{tmp_path}/mlruns.db", "lesson", tiny_fashion, tmp_path / "run")
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "pip install 'minidl[mlflow]'" in err
    assert not (tmp_path / "run").exists() and not (tmp_path / "mlruns.db").exists()
