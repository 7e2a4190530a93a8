"""Atomic, self-describing checkpoints that load with ``torch.load(weights_only=True)``.

A checkpoint is a plain dict of tensors, numbers, strings, lists and dicts (nothing that needs
pickled code), holding everything exact resume needs: the model kind and architecture, the full
config, the epoch reached, model and optimizer state, every RNG state the loop uses and the metrics
rows so far.
"""
from __future__ import annotations

import pickle
import re
import warnings
from pathlib import Path

import torch

from minidl.errors import CheckpointError
from minidl.files import atomic_write

FORMAT = "minidl-checkpoint"
VERSION = 1
LAST, BEST = "checkpoint.pt", "best.pt"
# what every minidl checkpoint holds: evaluate and predict read the first five, resume all of them
REQUIRED_KEYS = ("architecture", "config", "data", "epoch", "model", "optimizer", "rng", "rows")


def save_checkpoint(path: str | Path, state: dict) -> Path:
    """Write ``state`` to ``path`` atomically (temp file + rename) and return the path.

    A crash or Ctrl-C while writing leaves the previous checkpoint intact, never half a file.
    """
    payload = {"format": FORMAT, "version": VERSION, **state}
    return atomic_write(path, lambda f: torch.save(payload, f))


def find_checkpoint(run_or_file: str | Path, name: str = LAST) -> Path:
    """Return the checkpoint file for a run folder (its ``name``) or a checkpoint path itself."""
    p = Path(run_or_file)
    if p.is_dir():
        candidate = p / name
        if not candidate.is_file():
            raise CheckpointError(
                f"{p} holds no {name}: it is not a minidl run folder, or its run never finished an "
                f"epoch; give a run folder that `minidl train ... --out FOLDER` wrote"
            )
        return candidate
    if not p.exists():
        raise CheckpointError(f"{p} does not exist: give a run folder or a .pt checkpoint file")
    return p


def load_checkpoint(path: str | Path, map_location="cpu") -> dict:
    """Return the state dict saved by :func:`save_checkpoint`, refusing anything else.

    Files that need pickled Python code to load are refused (they could run arbitrary code), and so
    are files that are not minidl checkpoints, come from a newer format or lack one of REQUIRED_KEYS.
    """
    path = find_checkpoint(path)
    try:
        with warnings.catch_warnings():  # a plain pickle.dump file makes torch warn before it fails
            warnings.simplefilter("ignore", UserWarning)
            state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        # torch 2.13 says "Unsupported global: GLOBAL argparse.Namespace was not an allowed global" for
        # a class outside its allow-list, "unsupported GLOBAL posix.system whose module posix is blocked"
        # for a function of a blocked module (a __reduce__ payload)
        needs = re.search(r"\bGLOBAL ([\w.]+)", str(e))
        if needs is None:
            raise CheckpointError(f"{path} is not a readable checkpoint (not a torch.save file: corrupt, "
                                  f"or a plain pickle)") from None
        raise CheckpointError(
            f"{path} needs pickled Python code to load ({needs.group(1)}), which minidl refuses to run "
            f"(it could execute anything); it was not written by minidl"
        ) from None
    except Exception as e:  # torch.load raises many types on garbage: KeyError, EOFError, RuntimeError...
        raise CheckpointError(f"{path} is not a readable checkpoint ({type(e).__name__}: corrupt or not "
                              f"a torch file)") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path} is a torch file but not a minidl checkpoint")
    if state.get("version", 0) > VERSION:
        raise CheckpointError(
            f"{path} was written by a newer minidl (checkpoint format {state['version']}, this one reads "
            f"up to {VERSION}); upgrade minidl"
        )
    missing = [key for key in REQUIRED_KEYS if key not in state]
    if missing:
        raise CheckpointError(f"{path} is a minidl checkpoint without {', '.join(map(repr, missing))}: it "
                              f"was damaged or edited; use another checkpoint, or train the run again")
    return state
