"""One CPU thread for a small network's steps: a step of a few thousand multiply-adds costs less than
waking torch's other threads, which on a busy machine wait for a core at every operation.
"""
from __future__ import annotations

import contextlib

import torch

SMALL_STEP = 2_000_000  # multiply-adds of one minibatch's forward pass below which one thread is faster


@contextlib.contextmanager
def threads_for(batch_rows: int, widths, device: torch.device):
    """Run the block on one CPU thread when a batch through ``widths`` is small, else as torch would."""
    work = batch_rows * sum(a * b for a, b in zip(widths, widths[1:]))
    if device.type != "cpu" or work >= SMALL_STEP or torch.get_num_threads() == 1:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
