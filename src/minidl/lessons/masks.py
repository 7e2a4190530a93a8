"""Dropout masks: one seeded source per model, so that every twin drops the same units.

The masks are drawn on the CPU whatever the model's device (the same masks everywhere) and never
from torch's global RNG, which torch.nn.Dropout uses, so the twins can be held equal.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from minidl.errors import CheckpointError


def dropout_generator(seed: int = 0) -> "MaskGenerator":
    """Return the generator an MLP draws its dropout masks from, so that every twin draws the same masks."""
    return MaskGenerator(seed)


class MaskGenerator:
    """The random source of dropout masks, one per model: every twin draws the same masks from it.

    The source is NumPy's PCG64, 16 random bits per unit, four units from each 64-bit output (torch's
    CPU generator would spend one Mersenne-Twister draw on every float). A unit is dropped with probability
    round(p * 65536) / 65536, within 1 / 131072 of p. Seeded apart from the initial weights, which
    take ``seed`` itself. Under data-parallel training (``shard(rank, world_size)``) every rank draws
    the whole global batch's masks and keeps its own rows, the rows the Loader gives it (every
    world_size-th, from its rank): N processes drop the units one process drops.

    >>> g = MaskGenerator(0)
    >>> state = g.get_state()
    >>> first = g.keep((2, 4), 0.5)
    >>> g.set_state(state)
    >>> bool((g.keep((2, 4), 0.5) == first).all())
    True
    """

    LEVELS = 1 << 16

    def __init__(self, seed: int = 0):
        self._bits = np.random.PCG64([seed, 0xD809])  # 0xD809: a stream of its own, apart from other uses of seed
        self.rank, self.world_size = 0, 1

    def shard(self, rank: int, world_size: int) -> None:
        """Draw as rank ``rank`` of ``world_size`` data-parallel processes from now on."""
        self.rank, self.world_size = rank, world_size

    def keep(self, shape, p: float) -> Tensor:
        """Return a CPU bool tensor of ``shape`` (B, ...): True keeps a unit, with probability 1 - p."""
        shape = (shape[0] * self.world_size, *shape[1:])  # the global batch's, of which this rank keeps its rows
        n = math.prod(shape)
        words = self._bits.random_raw(-(-n // 4))  # uint64: 64 uniform random bits each
        draws = words.view(np.uint16)[:n].reshape(shape)  # 16 bits a unit, uniform in 0 .. 65535
        return torch.from_numpy(draws[self.rank::self.world_size] >= round(p * self.LEVELS))

    def get_state(self) -> Tensor:
        """Return the generator's state as a uint8 tensor (what a checkpoint holds)."""
        s = self._bits.state
        raw = (s["state"]["state"].to_bytes(16, "little") + s["state"]["inc"].to_bytes(16, "little")
               + bytes([s["has_uint32"]]) + s["uinteger"].to_bytes(4, "little"))
        return torch.tensor(list(raw), dtype=torch.uint8)

    def set_state(self, state: Tensor) -> None:
        """Restore a state from :meth:`get_state`."""
        raw = bytes(state.tolist())
        if len(raw) != 37:
            raise CheckpointError(f"a dropout generator state has 37 bytes, this one {len(raw)}: not a minidl checkpoint's")
        self._bits.state = {"bit_generator": "PCG64",
                            "state": {"state": int.from_bytes(raw[:16], "little"), "inc": int.from_bytes(raw[16:32], "little")},
                            "has_uint32": raw[32], "uinteger": int.from_bytes(raw[33:37], "little")}
