"""What exact resume needs from a run, as plain data: weights, optimizer, every RNG, the epochs so far."""
from __future__ import annotations

import torch

from minidl.config.resume import resume_changes
from minidl.errors import CheckpointError, plural
from minidl.naming import setting
from minidl.sources.registry import check_same_data
from minidl.training import checkpoint as ckpt
from minidl.training.models import architecture, load_weights
from minidl.training.run_folder import is_finished


def run_state(t, rows, best_model=None) -> dict:
    """Return everything exact resume needs of ``t`` (a loop.Training), as ``torch.load(weights_only=True)`` reads.

    ``best_model``: with --patience, the best epoch's weights so far, for the restore at the end.
    """
    rng = {"torch": torch.get_rng_state(), "loader": t.data.train.state_dict()}
    if getattr(t.model, "dropout_generator", None) is not None:  # an MLP's: its next dropout masks
        rng["dropout"] = t.model.dropout_generator.get_state()
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state_all()
    return {
        "architecture": architecture(t.model),
        "config": t.config.to_dict(),
        "data": t.data.facts(),
        "epoch": len(rows),
        "model": {k: v.detach().cpu() for k, v in t.model.state_dict().items()},
        "optimizer": t.optimizer.state_dict(),
        "rng": rng,
        "rows": [dict(r) for r in rows],
        "threads": t.threads,  # what a resume computes on again (minidl.training.threads)
        **({"best_model": {k: v.cpu() for k, v in best_model.items()}} if best_model is not None else {}),
    }


def read_saved(resume) -> tuple[object, dict]:
    """Return ``(path, state)`` of what ``resume`` names: a run folder or checkpoint file (its path), or
    a History's state (the path is then the text "the state given")."""
    if isinstance(resume, dict):  # a History's state: continue in memory
        return "the state given", resume
    path = ckpt.find_checkpoint(resume)
    return path, ckpt.load_checkpoint(path)


def restore(saved: tuple[object, dict], t, allow_changes: bool) -> tuple[list[dict], dict | None, dict | None]:
    """Load a run's last checkpoint (``saved``, from :func:`read_saved`) into ``t``'s model, optimizer and
    RNGs; return its metrics rows, what the RunWriter records of the resume (None for a History's state,
    which has no folder) and the best epoch's weights it kept for --patience (None where it kept none).

    A run whose epochs are all done but whose summary.json is missing (Ctrl-C while its figures were
    drawn) resumes with no epoch left to train, and fit writes its figures and summary.
    """
    path, state = saved
    in_memory = isinstance(path, str)
    check_same_data(state["data"], t.data, str(path))  # the same split, or the run would change its data
    changes = resume_changes(state["config"], t.config, allow=allow_changes)
    done = state["epoch"]
    if done > t.config.epochs or (done == t.config.epochs and (in_memory or is_finished(path.parent, done))):
        raise CheckpointError(
            f"{path} has already trained {plural(done, 'epoch')}; ask for more, e.g. {setting('epochs', done + 5)}"
        )
    load_weights(t.model, state, path)
    if "optimizer" not in changes:  # another optimizer (--allow-changes) starts afresh
        t.optimizer.load_state_dict(state["optimizer"])
    for group in t.optimizer.param_groups:
        group["lr"] = t.config.lr  # a learning rate given when resuming wins over the saved one
    _restore_rngs(state["rng"], t)
    rows = [dict(r) for r in state["rows"]]
    best_model = state.get("best_model")
    if in_memory:
        return rows, None, best_model
    return rows, {"epoch": done, "rows": rows, "config": state["config"], "changes": changes}, best_model


def _restore_rngs(rng: dict, t) -> None:
    """Set torch's, the loader's, CUDA's and the dropout masks' random states as the checkpoint holds them."""
    torch.set_rng_state(rng["torch"])
    t.data.train.load_state_dict(rng["loader"])
    if "cuda" in rng and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])
    if "dropout" in rng:
        t.model.dropout_generator.set_state(rng["dropout"])
