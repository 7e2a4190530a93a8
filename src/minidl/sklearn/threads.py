"""The CPU threads an estimator's fit computes on: one for a small network, else the free cores.

A step of a few thousand multiply-adds costs less than waking torch's other threads, and on a busy
machine those threads wait for a core at every operation; a larger network trains on the cores
other processes leave free (minidl.training.threads), as minidl's fit does.
"""
from __future__ import annotations

import contextlib

import torch

from minidl.training.threads import free_cores, thread_team

SMALL_STEP = 2_000_000  # multiply-adds of one minibatch's forward pass below which one thread is faster


@contextlib.contextmanager
def threads_for(batch_rows: int, widths, device: torch.device):
    """Run the block on one CPU thread when a batch through ``widths`` is small, else on the free cores."""
    work = batch_rows * sum(a * b for a, b in zip(widths, widths[1:]))
    if device.type != "cpu":
        yield
        return
    count = 1 if work < SMALL_STEP else free_cores(torch.get_num_threads())
    with thread_team(count):
        yield
