"""In-memory batching: (X, y) batches by slicing tensors, with no per-sample Python.

The whole data set lives on the training device as one tensor; a batch is one `index_select`
(shuffled or sharded) or a view (natural order). uint8 images become float32 in [0, 1] once, at
construction: Fashion-MNIST's 60,000 training images take 188 MB as float32, which any training
machine holds, and every epoch then costs only the gathers. Gathering batch by batch beats
permuting the whole set once per epoch: each batch stays in cache, and no second copy is made
(``python benchmarks/bench_loader.py`` measures both).

>>> X, y = torch.arange(10.0).reshape(5, 2), torch.arange(5)
>>> [yb.tolist() for _, yb in Loader(X, y, batch_size=2)]
[[0, 1], [2, 3], [4]]
>>> loader = Loader(X, y, batch_size=2, shuffle=True, seed=0, drop_last=True)
>>> len(loader), loader.num_examples
(2, 4)
"""
import numbers

import torch

from minidl.errors import CheckpointError, ConfigError, DatasetError


def _whole(value, name: str, low: int) -> int:
    """Return `value` if it is a whole number >= low, else raise ConfigError naming it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ConfigError(f"{name} = {value!r}: it must be a whole number >= {low}")
    return int(value)


class Loader:
    """Iterate over (X, y) batches of in-memory tensors, shuffled by the loader's own generator.

    X yields float32 in [0, 1] when stored as uint8, else in its own dtype; y as stored. Each
    `iter()` draws a new permutation from `self.generator` (a CPU `torch.Generator` seeded with
    `seed`), so the order depends only on the seed and the epoch, never on the global RNG; save
    `state_dict()` to resume with the exact next order.

    Sharding follows `torch.utils.data.DistributedSampler`: every rank draws the same permutation
    and takes every `world_size`-th index from position `rank`. So that all ranks run the same
    number of steps, the epoch is padded by repeating its first indices (drop_last=False) or
    trimmed (drop_last=True) to a multiple of `world_size`; drop_last also drops each rank's last
    partial batch. With world_size 1 every epoch visits every sample exactly once.

    In natural order (shuffle=False, world_size=1) batches are views of the stored tensors:
    do not modify them in place.
    """

    def __init__(self, X, y, batch_size, *, shuffle=False, seed=0, drop_last=False, device="cpu",
                 rank=0, world_size=1, shift=0):
        self.batch_size = _whole(batch_size, "batch_size", 1)
        self.world_size = _whole(world_size, "world_size", 1)
        self.rank = _whole(rank, "rank", 0)
        if self.rank >= self.world_size:
            raise ConfigError(f"rank = {rank} with world_size = {world_size}: "
                              "the rank must be in 0 .. world_size - 1")
        X, y = torch.as_tensor(X), torch.as_tensor(y)
        if X.ndim == 0 or y.ndim == 0 or len(X) != len(y) or len(X) == 0:
            raise DatasetError(f"X has shape {tuple(X.shape)} and y {tuple(y.shape)}: a Loader needs "
                               "at least one example and as many targets as examples")
        self.device = torch.device(device)
        X = X.to(self.device)  # uint8 travels to the device before the 4x larger float32 exists
        if X.dtype == torch.uint8:
            X = X.to(torch.float32).div_(255)  # pixel 0..255 -> [0, 1], once for all epochs
        self.X, self.y = X, y.to(self.device)
        self.shuffle, self.drop_last = shuffle, drop_last
        self.shift = _whole(shift, "shift", 0)
        if self.shift and (X.ndim not in (3, 4) or X.shape[-1] != X.shape[-2]):  # (N, side, side), (N, C, side, side)
            raise ConfigError(f"shift = {shift} moves square images, but the examples have shape "
                              f"{tuple(X.shape[1:])}; leave out --shift")
        self.generator = torch.Generator().manual_seed(seed)
        n = len(X)
        self._per_rank = n // self.world_size if drop_last else -(-n // self.world_size)

    @property
    def num_examples(self) -> int:
        """Return how many examples this rank yields per epoch (its share, after drop_last)."""
        if self.drop_last:
            return self._per_rank - self._per_rank % self.batch_size
        return self._per_rank

    def __len__(self) -> int:
        """Return the number of batches per epoch on this rank."""
        return -(-self.num_examples // self.batch_size)

    def __iter__(self):
        """Return an iterator over this epoch's batches; the permutation is drawn now."""
        return self._batches(self._order())

    def _order(self) -> torch.Tensor | None:
        """Return this rank's example indices for a new epoch, or None for natural order."""
        n = len(self.X)
        if not self.shuffle and self.world_size == 1:
            return None
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        total = self._per_rank * self.world_size  # a multiple of world_size: padded or trimmed
        if total > n:
            order = order.repeat(-(-total // n))  # wrap around, as DistributedSampler pads
        return order[self.rank:total:self.world_size].to(self.device)

    def _batches(self, order: torch.Tensor | None):
        """Yield (X, y) batches of `batch_size` (the last may be short) along `order`."""
        for start in range(0, self.num_examples, self.batch_size):
            stop = start + self.batch_size
            if order is None:
                X, y = self.X[start:stop], self.y[start:stop]
            else:
                rows = order[start:stop]
                X, y = self.X.index_select(0, rows), self.y.index_select(0, rows)
            yield (shifted(X, self.shift, self.generator) if self.shift else X), y

    def state_dict(self) -> dict:
        """Return the shuffle (and shift) state ({"generator": ByteTensor}); restoring it repeats the next epoch."""
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        """Restore the shuffle state saved by `state_dict()`."""
        try:
            self.generator.set_state(state["generator"])
        except (KeyError, TypeError, RuntimeError) as e:
            raise CheckpointError(f"not a Loader state ({e}): expected the dict that "
                                  "Loader.state_dict() returns") from None

    def __repr__(self) -> str:
        return (f"Loader({len(self.X)} examples {tuple(self.X.shape[1:])} {self.X.dtype}, "
                f"batch_size={self.batch_size}, shuffle={self.shuffle}, drop_last={self.drop_last}, "
                f"device={self.device}, rank={self.rank}/{self.world_size})")


def shifted(X: torch.Tensor, shift: int, generator: torch.Generator) -> torch.Tensor:
    """Return images (B, side, side) each moved by its own random (dy, dx) in [-shift, shift], zeros filling in.

    Colour images (B, C, side, side) move all their channels alike.

    Data augmentation, on the batch as the loader yields it (the model never sees it): a garment a
    pixel or two off centre is still the same garment. The offsets come from ``generator``.

    >>> X = torch.arange(9.0).reshape(1, 3, 3)
    >>> shifted(X, 1, torch.Generator().manual_seed(0))
    tensor([[[0., 0., 0.],
             [1., 2., 0.],
             [4., 5., 0.]]])
    """
    B, side = len(X), X.shape[-1]
    offsets = torch.randint(-shift, shift + 1, (2, B, 1), generator=generator).to(X.device)  # dy, dx per image
    padded = torch.nn.functional.pad(X, (shift, shift, shift, shift))  # (B, side + 2 shift, side + 2 shift)
    grid = torch.arange(side, device=X.device) + shift  # (side,): where the unshifted image sits
    rows, cols = grid - offsets[0], grid - offsets[1]  # (B, side) each: the source row/column of each pixel
    pixels = (torch.arange(B, device=X.device)[:, None, None], rows[:, :, None], cols[:, None, :])
    if X.ndim == 4:  # (B, C, ...): index (B, ..., C), then put the channels back first
        return padded.permute(0, 2, 3, 1)[pixels].permute(0, 3, 1, 2)
    return padded[pixels]
