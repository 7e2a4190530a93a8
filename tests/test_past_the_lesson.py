"""Past the lesson: validation split, early stopping, schedules in runs, shifts, lr-find, compare, recipes."""
import csv
import json
import os

import numpy as np
import pytest
import torch

from minidl.training.checkpoint import load_checkpoint
from minidl.app.cli import main
from minidl.config.train import TrainConfig
from minidl.data.loader import Loader
from minidl.data.split import stratified_split
from minidl.errors import ConfigError
from minidl.app.lrfind import lr_find
from minidl.app.recipes import RECIPES
from minidl.sources.registry import load_run_data
from minidl.training.schedules import lr_at
from minidl.training.fit import fit


def tiny(tiny_fashion, **kw):
    base = dict(model="mlp", hidden=(32,), epochs=2, lr=0.1, batch_size=64, device="cpu",
                data_dir=str(tiny_fashion), plots=False)
    return TrainConfig(**{**base, **kw})


def weights(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def without_seconds(rows):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


# --- validation -------------------------------------------------------------------------------

def test_validation_is_carved_from_training_seeded_and_stratified(tiny_fashion):
    whole = load_run_data(tiny(tiny_fashion), "cpu")
    data = load_run_data(tiny(tiny_fashion, val_fraction=0.2), "cpu")
    assert len(data.train.X) == 480 and len(data.val.X) == 120 and len(data.test.X) == len(whole.test.X)
    assert torch.bincount(data.val.y).tolist() == [12] * 10  # 20% of each class's 60
    rows = {tuple(x.flatten()[:50].tolist()) for x in whole.train.X}
    train = {tuple(x.flatten()[:50].tolist()) for x in data.train.X}
    val = {tuple(x.flatten()[:50].tolist()) for x in data.val.X}
    assert not train & val and train | val == rows  # a partition of the training set; the test set untouched
    again = load_run_data(tiny(tiny_fashion, val_fraction=0.2), "cpu")
    other = load_run_data(tiny(tiny_fashion, val_fraction=0.2, seed=1), "cpu")
    assert torch.equal(again.val.X, data.val.X) and not torch.equal(other.val.X, data.val.X)


def test_stratified_split_keeps_each_class_share():
    labels = np.repeat(np.arange(3), [10, 20, 30])
    kept, held = stratified_split(labels, 0.1, seed=0)
    assert np.bincount(labels[held]).tolist() == [1, 2, 3] and len(kept) + len(held) == 60


def test_validation_chooses_the_best_epoch_and_is_recorded(tiny_fashion, tmp_path):
    out = tmp_path / "run"
    history = fit(tiny(tiny_fashion, epochs=4, val_fraction=0.2, out=str(out)), progress=False)
    with open(out / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["epoch", "lr", "train_loss", "train_acc", "val_loss", "val_acc", "test_loss",
                             "test_acc", "seconds"]
    summary = json.loads((out / "summary.json").read_text())
    val_accs = [r["val_acc"] for r in history.rows]
    assert summary["best_by"] == "val" and summary["best_epoch"] == 1 + val_accs.index(max(val_accs))
    assert load_checkpoint(out / "best.pt")["epoch"] == summary["best_epoch"]
    assert summary["val_examples"] == 120


def test_regression_gets_a_plain_seeded_validation_split(tmp_path):
    history = fit(TrainConfig(model="linreg", val_fraction=0.25, device="cpu"), progress=False)
    assert "val_loss" in history.final and "val_acc" not in history.final
    assert history.summary["best_by"] == "val" and history.summary["val_examples"] == 250


# --- early stopping ---------------------------------------------------------------------------

def test_early_stopping_restores_the_best_weights(tiny_fashion, tmp_path):
    # min_delta 0.5: no epoch can beat the first by half the accuracy, so patience 1 stops after epoch 2
    config = tiny(tiny_fashion, epochs=6, val_fraction=0.2, patience=1, min_delta=0.5, out=str(tmp_path / "run"))
    history = fit(config, progress=False)
    assert [r["epoch"] for r in history.rows] == [1, 2]
    assert history.summary["stopped_early"] and history.summary["best_epoch"] == 1
    one_epoch = fit(tiny(tiny_fashion, epochs=1, val_fraction=0.2), progress=False)
    for name, value in weights(one_epoch.model).items():  # the model is epoch 1's again, not epoch 2's
        assert torch.equal(value, weights(history.model)[name]), name
    final = load_checkpoint(tmp_path / "run" / "checkpoint.pt")
    assert all(torch.equal(final["model"][k], v) for k, v in weights(one_epoch.model).items())


def test_resume_with_patience_is_exact(tiny_fashion, tmp_path):
    kw = dict(val_fraction=0.2, patience=2, min_delta=0.02, momentum=0.9, lr=0.02)
    straight = fit(tiny(tiny_fashion, epochs=8, out=str(tmp_path / "a"), **kw), progress=False)
    first = tiny(tiny_fashion, epochs=3, out=str(tmp_path / "b"), **kw)
    fit(first, progress=False)
    resumed = fit(first.replace(epochs=8), resume=tmp_path / "b", progress=False)
    assert without_seconds(resumed.rows) == without_seconds(straight.rows)
    assert resumed.summary["stopped_early"] == straight.summary["stopped_early"]
    for name, value in weights(straight.model).items():
        assert torch.equal(value, weights(resumed.model)[name]), name


# --- schedules, momentum and shifts in a run --------------------------------------------------

def test_the_schedule_sets_each_epochs_lr_and_metrics_record_it(tiny_fashion, tmp_path):
    config = tiny(tiny_fashion, epochs=4, schedule="cosine", warmup=1, out=str(tmp_path / "run"))
    history = fit(config, progress=False)
    expected = [lr_at(config, e) for e in range(1, 5)]
    assert [r["lr"] for r in history.rows] == expected and expected[0] < expected[1] > expected[3]
    with open(tmp_path / "run" / "metrics.csv") as f:
        assert [float(r["lr"]) for r in csv.DictReader(f)] == pytest.approx(expected, rel=1e-5)


def test_momentum_runs_agree_across_twins(tiny_fashion):
    rows = {impl: fit(tiny(tiny_fashion, impl=impl, momentum=0.9, nesterov=True, lr=0.02, weight_decay=1e-3),
                      progress=False).rows for impl in ("scratch", "concise", "manual")}
    for impl in ("concise", "manual"):
        for mine, theirs in zip(rows[impl], rows["scratch"]):
            assert mine["train_loss"] == pytest.approx(theirs["train_loss"], rel=1e-4)


def test_shifts_move_each_image_and_resume_exactly(tiny_fashion, tmp_path):
    X = torch.rand(64, 28, 28)
    loader = Loader(X, torch.zeros(64), 64, shift=2, seed=0)
    (moved, _), = list(loader)
    assert moved.shape == X.shape and not torch.equal(moved, X)
    assert (moved.sum(dim=(1, 2)) <= X.sum(dim=(1, 2)) + 1e-4).all()  # moved, with zeros filling in
    with pytest.raises(ConfigError, match="square images"):
        Loader(torch.zeros(4, 10), torch.zeros(4), 2, shift=1)
    straight = fit(tiny(tiny_fashion, epochs=3, shift=1, out=str(tmp_path / "a")), progress=False)
    fit(tiny(tiny_fashion, epochs=1, shift=1, out=str(tmp_path / "b")), progress=False)
    resumed = fit(tiny(tiny_fashion, epochs=3, shift=1, out=str(tmp_path / "b")), resume=tmp_path / "b",
                  progress=False)
    assert without_seconds(resumed.rows) == without_seconds(straight.rows)


# --- lr-find -----------------------------------------------------------------------------------

def test_lr_find_mechanics(tiny_fashion, tmp_path, capsys, monkeypatch):
    result = lr_find(tiny(tiny_fashion), steps=60)
    ratios = np.array(result.lrs[1:]) / np.array(result.lrs[:-1])
    assert result.lrs[0] == pytest.approx(1e-5) and np.allclose(ratios, ratios[0]) and ratios[0] > 1
    assert result.lrs[0] <= result.suggestion <= result.lrs[-1] and len(result.losses) == len(result.lrs)
    if len(result.lrs) < 60:  # stopped: the smoothed loss passed 4x its best
        assert result.smoothed[-1] > 4 * min(result.smoothed) or not np.isfinite(result.smoothed[-1])
    monkeypatch.chdir(tmp_path)
    before = torch.get_rng_state()
    code, out, _ = run(capsys, "lr-find", "mlp", "--data-dir", tiny_fashion, "--hidden", "32", "--batch-size", "64",
                       "--device", "cpu", "--steps", "40", "--out", "finder.png")
    assert code == 0 and "suggested lr" in out
    assert os.listdir(tmp_path) == ["finder.png"]  # no run folder, nothing else
    assert torch.equal(before, torch.get_rng_state())  # a model trained afterwards starts as it would have


# --- compare -----------------------------------------------------------------------------------

def test_compare_overlays_runs_and_tabulates_what_differs(tiny_fashion, tmp_path, capsys, monkeypatch):
    for lr in (0.05, 0.5):
        fit(tiny(tiny_fashion, lr=lr, val_fraction=0.2, out=str(tmp_path / "runs" / f"lr-{lr}")), progress=False)
    (tmp_path / "runs" / "notes.txt").write_text("not a run")
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "compare", *sorted((tmp_path / "runs").iterdir()), "--out", "cmp.png",
                         "--csv", "cmp.csv")
    assert code == 0 and "skipped" in err and "notes.txt" in err
    with open(tmp_path / "cmp.csv") as f:
        table = list(csv.DictReader(f))
    assert [r["run"] for r in table] == ["lr-0.05", "lr-0.5"] and [r["lr"] for r in table] == ["0.05", "0.5"]
    assert "seed" not in table[0] and all(r["best_by"] == "val" for r in table)  # only the fields that differ
    assert (tmp_path / "cmp.png").read_bytes()[:4] == b"\x89PNG" and "lr-0.05" in out
    code, _, err = run(capsys, "compare", tmp_path / "runs" / "notes.txt")
    assert code == 2 and "none of the 1 path" in err


# --- recipes -----------------------------------------------------------------------------------

def test_a_recipe_is_printed_and_the_users_flags_win(tiny_fashion, tmp_path, capsys):
    code, out, _ = run(capsys, "train", "mlp", "--recipe", "fashion-mlp", "--data-dir", tiny_fashion, "--epochs", "1",
                       "--hidden", "32", "16", "--device", "cpu", "--out", tmp_path / "run", "--no-plots", "--quiet")
    assert code == 0 and "--momentum 0.9" in out and "--nesterov" in out and "(yours: 1)" in out
    saved = json.loads((tmp_path / "run" / "config.json").read_text())["config"]
    expected = {**RECIPES["fashion-mlp"], "epochs": 1, "hidden": [32, 16]}
    assert all(saved[k] == (list(v) if isinstance(v, tuple) else v) for k, v in expected.items())
    assert run(capsys, "train", "mlp", "--recipe", "nope")[0] == 2


def test_lr_find_on_the_lessons_mlp_suggests_a_learning_rate_that_trains(fashion_root):
    result = lr_find(TrainConfig(model="mlp", data_dir=str(fashion_root), device="cpu"))
    assert 0.1 <= result.suggestion <= 2  # the lesson's 0.5 trains well; the steepest descent lands near it
