"""Data-parallel training on PyTorch's own engine: torch.distributed, its processes started by torchrun.

torchrun (or ``minidl train ... --nproc N``, which starts the same launcher through its Python
API) runs one process per rank and tells each its place in RANK, WORLD_SIZE and LOCAL_RANK: this
module is the one place that reads them. Every rank builds the same model from the same seed and
draws the same shuffled order each epoch; it trains on its shard of every global batch
(``Loader(rank=, world_size=)``, as DistributedSampler shards), and the ranks average their
gradients before each step, so that every rank takes the step one process takes on the whole batch:

- concise: torch.nn.parallel.DistributedDataParallel all-reduces each ``.grad`` during ``backward()``;
- scratch: :class:`GradientSync`'s ``step()`` all-reduces the ``.grad`` tensors (one flat buffer);
- manual: :class:`GradientSync`'s ``step()`` sends whichever of two forms of the hand-written
  gradients moves fewer numbers (see :func:`sends_factors`): every layer's factors (H, dZ),
  all-gathered: stacked, they are the whole batch's factors (each rank's dZ is of its own mean
  loss, so it is divided by the world size), and the optimizer steps W -= lr H^T dZ from them,
  unchanged; or each rank's products H^T dZ (and dZ summed), all-reduced as torch's DDP does,
  then stepped by torch.optim's rule (see minidl.distributed.sync). Factors send only a batch's
  rows, the lesson's case; products, fan_in x fan_out numbers a layer, fewer once the batch is large.

gloo on the CPU, NCCL on CUDA GPUs (one per process, ``cuda:LOCAL_RANK``). A rank that stops or
dies makes the others' next collective fail at once (or after ``MINIDL_DIST_TIMEOUT`` seconds,
default 120, for one that hangs): each ends with one line, see :func:`started`.
"""
from __future__ import annotations

import atexit
import os
import signal
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist

from minidl.distributed.sync import GradientSync
from minidl.errors import ConfigError, MinidlError

TIMEOUT_ENV = "MINIDL_DIST_TIMEOUT"


class EveryRank(ConfigError):
    """A mistake every rank finds alike (their data differ, rank 0 could not start): rank 0 alone reports it."""

    every_rank = True


class RankLost(MinidlError):
    """Another rank stopped (its own message says why) or died: this one cannot go on alone."""

    exit_code = 1


def launched() -> bool:
    """Return whether torchrun started this process as one of several ranks (WORLD_SIZE > 1)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def is_main_process() -> bool:
    """Return whether this process is rank 0 (or alone): the one that prints and writes the run folder."""
    return os.environ.get("RANK", "0") == "0"


@dataclass
class World:
    """This process's place among the ranks: ``World()`` is one process alone, which never communicates."""

    rank: int = 0
    size: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def local_batch(self, batch_size: int) -> int:
        """Return each rank's share of the global ``batch_size``; ConfigError if it does not divide."""
        if batch_size % self.size:
            low = batch_size - batch_size % self.size
            raise ConfigError(f"--batch-size {batch_size} does not divide among {self.size} processes: give a "
                              f"multiple of {self.size}, e.g. {low or self.size} or {low + self.size}")
        return batch_size // self.size

    def sum(self, tensor: torch.Tensor) -> torch.Tensor:
        """Return ``tensor`` summed over every rank (each rank's own, alone)."""
        if self.size > 1:
            tensor = tensor.to(self.device)
            dist.all_reduce(tensor)
        return tensor

    def check_same(self, what: str, value) -> None:
        """Refuse to start where the ranks hold different ``value()`` (e.g. the labels' fingerprint).

        ``value`` is a function, called only where there are ranks to compare.
        """
        if self.size == 1:
            return
        values = [None] * self.size
        dist.all_gather_object(values, value())
        others = [rank for rank, v in enumerate(values) if v != values[0]]
        if others:
            raise EveryRank(f"the ranks hold different {what}: rank {others[0]} has {str(values[others[0]])[:12]}, "
                            f"rank 0 {str(values[0])[:12]}; give every machine the same data (--data-dir)")

    def agree(self, error: MinidlError | None) -> None:
        """Raise on every rank if any rank's setup failed (``error``: its own failure, or None)."""
        if self.size > 1:
            errors = [None] * self.size
            dist.all_gather_object(errors, str(error) if error else None)
            failed = [(rank, e) for rank, e in enumerate(errors) if e]
            if failed and failed[0][0] != self.rank and not error:
                raise EveryRank(f"rank {failed[0][0]} could not start: {failed[0][1]}")
        if error:
            raise error

    def parallel(self, model, optimizer):
        """Return ``(net, optimizer)`` that average the ranks' gradients; ``(model, optimizer)`` alone.

        ``net`` is what the loop calls forward: DistributedDataParallel around a torch.nn (concise)
        model, else the model itself, whose optimizer then syncs in its ``step()``. An MLP's dropout
        masks are drawn for the whole global batch, this rank keeping its rows (MaskGenerator.shard).
        """
        if self.size == 1:
            return model, optimizer
        if getattr(model, "dropout_generator", None) is not None:  # an MLP's: this rank's rows of each mask
            model.dropout_generator.shard(self.rank, self.size)
        if isinstance(model, torch.nn.Module):
            ids = [self.device.index] if self.device.type == "cuda" else None
            return torch.nn.parallel.DistributedDataParallel(model, device_ids=ids), optimizer
        return model, GradientSync(model, optimizer, self.size)


@contextmanager
def started(device: torch.device, where: str):
    """Yield this process's World: joined to torchrun's process group when launched, else alone.

    Every torch.distributed failure inside (a rank that stopped, died or hung) becomes one
    :class:`RankLost` line saying so and ``where`` the last good checkpoint is. The process group
    is made on the first call and destroyed at exit.
    """
    if not launched():
        yield World(device=device)
        return
    rank, size, local = (int(os.environ[k]) for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK"))
    check_devices(device, int(os.environ.get("LOCAL_WORLD_SIZE", local + 1)))
    if device.type == "cuda":
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
    if not dist.is_initialized():  # once per process: a second fit in it keeps the ranks' group
        timeout = timedelta(seconds=float(os.environ.get(TIMEOUT_ENV, "120")))
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo", timeout=timeout)
        atexit.register(_leave_group)
    sigterm = signal.signal(signal.SIGTERM, interrupt)  # torchrun stops the other ranks so: end as Ctrl-C
    try:
        yield World(rank, size, device)
    except (dist.DistError, RuntimeError) as e:
        if not isinstance(e, dist.DistError) and not any(w in str(e) for w in ("gloo", "NCCL", "Connection")):
            raise
        raise RankLost(f"rank {rank} of {size} lost the other ranks (one stopped, see its message, or died): "
                       f"stopped; {where}") from None
    finally:
        signal.signal(signal.SIGTERM, sigterm)


def interrupt(signum, frame):
    """SIGTERM, which torchrun sends the other ranks when one stops, ends a rank as Ctrl-C does."""
    raise KeyboardInterrupt


def _leave_group() -> None:
    """At exit: wait for every rank, then leave the process group together.

    A rank that destroys its gloo group while another still holds its connections open can abort
    the other in gloo's threads ("terminate called without an active exception"): the barrier
    keeps the ranks leaving at once. A rank already gone fails the barrier at once: leave anyway.
    """
    try:
        dist.barrier()
    except Exception:  # noqa: BLE001  (a lost rank: nothing left to wait for)
        pass
    dist.destroy_process_group()


def check_devices(device: torch.device, nproc: int) -> None:
    """Refuse ``nproc`` processes on one machine that ``device`` cannot give each its own (one GPU each)."""
    if device.type == "cuda" and nproc > torch.cuda.device_count():
        raise ConfigError(f"{nproc} processes on --device cuda need a GPU each, but torch sees "
                          f"{torch.cuda.device_count()} here: start at most that many, or use --device cpu")
    if device.type not in ("cpu", "cuda"):
        raise ConfigError(f"several processes train on --device cpu or cuda (NCCL), not {device.type}")
