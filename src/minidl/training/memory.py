"""Keep freed memory for the next training step instead of handing it back to the OS.

Every step of a CPU training loop allocates and frees the same few MB of tensors (a 256-image batch
is 0.8 MB as float32, and so is the first layer's weight gradient). glibc's malloc returns freed
memory at the top of the heap to the OS once more than ~2x its mmap threshold lies free, so the
next step faults the same pages back in, zero-filled: dozens of page faults per batch for the
lesson's MLP on Fashion-MNIST. jemalloc and tcmalloc, which PyTorch's CPU tuning guide recommends
preloading, keep such memory; here glibc is told to keep it, from inside the process, with two
``mallopt`` settings. Elsewhere (macOS, Windows, musl) nothing changes.
"""
import ctypes
import sys

# <malloc.h> parameter numbers
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3

MMAP_THRESHOLD = 32 << 20  # blocks below 32 MB come from the heap (glibc's own dynamic maximum)
TRIM_THRESHOLD = 64 << 20  # keep up to 64 MB free at the top of the heap before returning it

_applied = None


def keep_freed_memory() -> bool:
    """Return True once glibc keeps freed blocks below 32 MB for reuse (up to 64 MB free); else False.

    Process-wide and idempotent: the first call sets it, later calls only report it. The cost is
    that a process holds on to up to 64 MB it no longer uses.
    """
    global _applied
    if _applied is None:
        _applied = _mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) and _mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    return _applied


def _mallopt(param: int, value: int) -> bool:
    """Return whether glibc's ``mallopt(param, value)`` succeeded (False without glibc)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(param, value))
    except (OSError, AttributeError):  # not glibc (musl, for one, names its libc otherwise)
        return False
