"""The validation share (``--val-fraction``), carved out of whichever source's training set."""
from __future__ import annotations

from minidl.errors import ConfigError
from minidl.sources.base import EVAL_BATCH, RunData


def carve_validation(data: RunData, fraction: float, seed: int) -> RunData:
    """Return ``data`` with ``fraction`` of its training examples moved into ``data.val``, drawn with ``seed``.

    Stratified by class for a classifier, a plain seeded share for a regressor (minidl.data.split).
    """
    import torch

    from minidl.data.loader import Loader
    from minidl.data.split import random_split, stratified_split

    train = data.train
    y = train.y.cpu()
    kept, held = (stratified_split(y.numpy(), fraction, seed) if data.classifies
                  else random_split(len(y), fraction, seed))
    if len(held) == 0 or len(kept) == 0:
        raise ConfigError(f"--val-fraction {fraction:g} of {len(y)} training examples leaves "
                          f"{'no validation' if len(held) == 0 else 'no training'} examples; choose another share")
    kept, held = (torch.from_numpy(i).to(train.device) for i in (kept, held))
    data.train = Loader(train.X.index_select(0, kept), train.y.index_select(0, kept), train.batch_size,
                        shuffle=train.shuffle, drop_last=train.drop_last and len(kept) >= train.batch_size,
                        device=train.device, rank=train.rank, world_size=train.world_size, shift=train.shift)
    data.train.load_state_dict(train.state_dict())  # the shuffle generator, seeded as before
    data.val = Loader(train.X.index_select(0, held), train.y.index_select(0, held), EVAL_BATCH, device=train.device)
    data.notes = {**data.notes, "val_examples": len(held), "val_fraction": fraction}
    data.source += f"; {len(held)} training examples held out for validation"
    return data
