"""Checkpoints: atomic, self-describing, and refused when they are not minidl's."""
import argparse
import os
import pickle
import warnings

import pytest
import torch

from minidl.training.checkpoint import REQUIRED_KEYS, find_checkpoint, load_checkpoint, save_checkpoint
from minidl.errors import CheckpointError
from minidl.training.models import architecture, build_model, load_weights


def full_state(**changes) -> dict:
    """Return a small state holding every key a minidl checkpoint must have, with ``changes`` laid over."""
    return {**{key: {} for key in REQUIRED_KEYS}, "epoch": 1, "rows": [], **changes}


def test_round_trip_with_plain_data_only(tmp_path):
    state = full_state(epoch=3, model={"W": torch.ones(2, 2)}, rows=[{"epoch": 1, "test_acc": 0.5}])
    path = save_checkpoint(tmp_path / "checkpoint.pt", state)
    loaded = load_checkpoint(path)
    assert loaded["epoch"] == 3 and torch.equal(loaded["model"]["W"], torch.ones(2, 2))
    assert load_checkpoint(tmp_path)["epoch"] == 3  # a run folder finds its checkpoint.pt
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]  # no temp file left


def test_a_failed_write_keeps_the_previous_checkpoint(tmp_path):
    path = save_checkpoint(tmp_path / "checkpoint.pt", full_state(epoch=1))
    with pytest.raises(Exception):
        save_checkpoint(path, full_state(epoch=2, bad=lambda: None))  # lambdas cannot be saved
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
    saved_model = build_model("mlp", "concise", num_inputs=784, hidden=(8,), activation="relu")
    state = {"architecture": architecture(saved_model), "model": saved_model.state_dict()}
    built = build_model("mlp", "concise", num_inputs=784, hidden=(8,), activation="tanh")
    with pytest.raises(CheckpointError, match=r"run/checkpoint.pt holds a mlp \(concise, relu; W1 \(784, 8\).*"
                                              r"builds a mlp \(concise, tanh"):
        load_weights(built, state, "run/checkpoint.pt")


class RunsAShellCommand:
    """What a malicious checkpoint holds: unpickling it calls os.system(command)."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


@pytest.mark.parametrize("write", ["torch.save", "pickle protocol 2"])
def test_a_reduce_payload_is_refused_naming_the_global_and_nothing_runs(tmp_path, write):
    marker = tmp_path / "pwned"
    payload = {"format": "minidl-checkpoint", "version": 1, "x": RunsAShellCommand(f"echo pwned > {marker}")}
    path = tmp_path / "evil.pt"
    if write == "torch.save":
        torch.save(payload, path)
    else:
        path.write_bytes(pickle.dumps(payload, protocol=2))
    with pytest.raises(CheckpointError, match=rf"evil.pt needs pickled Python code to load \({os.name}.system\)"):
        load_checkpoint(path)
    assert not marker.exists()


def test_a_plain_pickle_is_refused_clearly_and_without_torch_warnings(tmp_path):
    path = tmp_path / "plain.pt"
    path.write_bytes(pickle.dumps(full_state(format="minidl-checkpoint", version=1)))  # protocol 5
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch's "Detected pickle protocol" UserWarning would fail here
        with pytest.raises(CheckpointError, match="plain.pt is not a readable checkpoint .*a plain pickle"):
            load_checkpoint(path)


@pytest.mark.parametrize("key", REQUIRED_KEYS)
def test_a_checkpoint_without_a_required_key_names_the_file_and_the_key(tmp_path, key):
    state = full_state()
    del state[key]
    save_checkpoint(tmp_path / "checkpoint.pt", state)
    with pytest.raises(CheckpointError, match=rf"checkpoint.pt is a minidl checkpoint without '{key}'"):
        load_checkpoint(tmp_path)
