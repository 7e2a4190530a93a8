"""Keeping freed memory: a process-wide allocator setting that must never fail a run."""
import ctypes.util
import sys

import pytest

from minidl.training import memory

glibc = pytest.mark.skipif(not sys.platform.startswith("linux") or ctypes.util.find_library("c") is None,
                           reason="glibc's mallopt exists only on Linux with glibc")


@glibc
def test_glibc_takes_both_settings_and_the_answer_is_kept():
    assert memory.keep_freed_memory() is True
    assert memory.keep_freed_memory() is True  # idempotent: the second call only reports
    assert memory._applied is True


def test_no_glibc_means_no_change(monkeypatch):
    monkeypatch.setattr(memory.sys, "platform", "darwin")
    assert memory._mallopt(memory.M_TRIM_THRESHOLD, memory.TRIM_THRESHOLD) is False
