"""--tensorboard: the event files read back with TensorBoard's own EventAccumulator equal metrics.csv,
a resumed run continues them without a duplicate step, and a missing extra is one line."""
import csv
import sys

import pytest

pytest.importorskip("tensorboard", reason="the 'tensorboard' extra is not installed (pip install -e '.[tensorboard]')")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData

from minidl.app.cli import main
from minidl.config.train import TrainConfig
from minidl.errors import ConfigError
from minidl.training.fit import fit


def train(run, data, *more, tensorboard=True):
    argv = ["train", "mlp", "--hidden", "8", "--batch-size", "100", "--epochs", "2", "--device", "cpu",
            "--data-dir", str(data), "--out", str(run), "--quiet", *more, *(["--tensorboard"] if tensorboard else [])]
    assert main(argv) == 0


def events(run) -> EventAccumulator:
    acc = EventAccumulator(str(run / "tensorboard"), size_guidance={"scalars": 0, "images": 0})
    acc.Reload()
    return acc


def metrics(run) -> list[dict]:
    with open(run / "metrics.csv") as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def assert_scalars_are_the_csv(acc, rows):
    for column in rows[0]:
        if column == "epoch":
            continue
        logged = acc.Scalars(column)
        assert [e.step for e in logged] == [int(r["epoch"]) for r in rows], column  # each epoch once, in order
        assert [e.value for e in logged] == pytest.approx([r[column] for r in rows], rel=1e-5), column


def test_the_event_files_hold_metrics_csv_the_batch_losses_hparams_and_figures(tmp_path, tiny_fashion):
    run = tmp_path / "run"
    train(run, tiny_fashion)
    acc, rows = events(run), metrics(run)
    assert {"train_loss", "train_acc", "test_loss", "test_acc", "lr", "seconds"} <= set(acc.Tags()["scalars"])
    assert_scalars_are_the_csv(acc, rows)
    batches = acc.Scalars("batch/train_loss")  # 600 training images in batches of 100: 6 a epoch
    assert [e.step for e in batches] == list(range(1, 13))
    for epoch, row in enumerate(rows):  # equal batches: the epoch's loss is their mean
        assert sum(e.value for e in batches[6 * epoch:6 * epoch + 6]) / 6 == pytest.approx(row["train_loss"], rel=1e-5)
    assert {"curves", "confusion", "predictions"} <= set(acc.Tags()["images"])
    start = HParamsPluginData.FromString(acc.PluginTagToContent("hparams")["_hparams_/session_start_info"])
    hparams = start.session_start_info.hparams
    assert hparams["lr"].number_value == 0.5 and hparams["hidden"].string_value == "8"
    assert hparams["impl"].string_value == "manual"


def test_a_resumed_run_continues_the_event_files_without_a_duplicate_step(tmp_path, tiny_fashion):
    run = tmp_path / "run"
    train(run, tiny_fashion, "--no-plots")
    assert main(["train", "--resume", str(run), "--epochs", "4", "--quiet"]) == 0
    acc = events(run)
    assert len(list((run / "tensorboard").glob("events.out.tfevents.*"))) == 2
    assert_scalars_are_the_csv(acc, metrics(run))
    assert [e.step for e in acc.Scalars("batch/train_loss")] == list(range(1, 25))


def test_a_resume_fills_in_the_epochs_the_event_files_lost(tmp_path, tiny_fashion):
    run = tmp_path / "run"
    train(run, tiny_fashion, "--no-plots")
    for f in (run / "tensorboard").iterdir():  # as if the process died before TensorBoard flushed them
        f.unlink()
    assert main(["train", "--resume", str(run), "--epochs", "3", "--quiet"]) == 0
    assert_scalars_are_the_csv(events(run), metrics(run))


def test_tensorboard_switched_on_at_a_resume_writes_the_earlier_epochs_too(tmp_path, tiny_fashion):
    run = tmp_path / "run"
    train(run, tiny_fashion, "--no-plots", tensorboard=False)
    assert not (run / "tensorboard").exists()
    assert main(["train", "--resume", str(run), "--epochs", "3", "--quiet", "--tensorboard"]) == 0
    assert_scalars_are_the_csv(events(run), metrics(run))


def test_without_the_extra_the_flag_is_refused_in_one_line_before_any_file(tmp_path, tiny_fashion, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # import tensorboard now raises ImportError
    run = tmp_path / "run"
    code = main(["train", "mlp", "--hidden", "8", "--epochs", "1", "--device", "cpu", "--data-dir", str(tiny_fashion),
                 "--out", str(run), "--tensorboard"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "pip install 'minidl[tensorboard]'" in err
    assert not run.exists()


def test_tensorboard_needs_a_run_folder():
    import torch

    X, y = torch.randn(40, 3), torch.arange(40) % 2
    with pytest.raises(ConfigError, match="give out=FOLDER"):
        fit(TrainConfig(model="softmax", epochs=1, device="cpu", tensorboard=True), data=(X, y, X, y), progress=False)
