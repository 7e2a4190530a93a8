"""Checkpoints: atomic, self-describing, and refused when they are not minidl's."""
import argparse

import pytest
import torch

from minidl.checkpoint import check_architecture, find_checkpoint, load_checkpoint, save_checkpoint
from minidl.errors import CheckpointError


def test_round_trip_with_plain_data_only(tmp_path):
    state = {"epoch": 3, "model": {"W": torch.ones(2, 2)}, "rows": [{"epoch": 1, "test_acc": 0.5}]}
    path = save_checkpoint(tmp_path / "checkpoint.pt", state)
    loaded = load_checkpoint(path)
    assert loaded["epoch"] == 3 and torch.equal(loaded["model"]["W"], torch.ones(2, 2))
    assert load_checkpoint(tmp_path)["epoch"] == 3  # a run folder finds its checkpoint.pt
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]  # no temp file left


def test_a_failed_write_keeps_the_previous_checkpoint(tmp_path):
    path = save_checkpoint(tmp_path / "checkpoint.pt", {"epoch": 1})
    with pytest.raises(Exception):
        save_checkpoint(path, {"epoch": 2, "bad": lambda: None})  # lambdas cannot be saved
    assert load_checkpoint(path)["epoch"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]


def test_a_file_that_needs_pickled_code_is_refused(tmp_path):
    # any class outside torch's allow-list: loading it would run arbitrary pickled code
    torch.save({"format": "minidl-checkpoint", "version": 1, "p": argparse.Namespace(x=1)}, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError, match=r"evil.pt needs pickled Python code to load \(argparse.Namespace\)"):
        load_checkpoint(tmp_path / "evil.pt")


def test_other_files_are_refused_with_their_name(tmp_path):
    torch.save({"weights": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="other.pt is a torch file but not a minidl checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
    (tmp_path / "text.pt").write_text("hello")
    with pytest.raises(CheckpointError, match="text.pt is not a readable checkpoint"):
        load_checkpoint(tmp_path / "text.pt")
    save_checkpoint(tmp_path / "future.pt", {"version": 99})
    with pytest.raises(CheckpointError, match="newer minidl"):
        load_checkpoint(tmp_path / "future.pt")
    with pytest.raises(CheckpointError, match="holds no checkpoint.pt"):
        find_checkpoint(tmp_path / "..")


def test_another_architecture_is_refused_naming_both(tmp_path):
    saved = {"kind": "mlp", "impl": "concise", "activation": "relu", "shapes": {"W1": [784, 256]}}
    built = {**saved, "activation": "tanh"}
    with pytest.raises(CheckpointError, match=r"mlp \(concise relu; W1 \(784, 256\)\).*mlp \(concise tanh"):
        check_architecture("run/checkpoint.pt", saved, built)
