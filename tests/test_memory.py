"""Keeping freed memory: a process-wide allocator setting that must never fail a run."""
import sys

from minidl import memory


def test_keep_freed_memory_reports_the_same_answer_every_time():
    first = memory.keep_freed_memory()
    assert first in (True, False)
    assert memory.keep_freed_memory() is first
    if sys.platform.startswith("linux") and first:
        assert memory._applied is True


def test_no_glibc_means_no_change(monkeypatch):
    monkeypatch.setattr(memory.sys, "platform", "darwin")
    assert memory._mallopt(memory.M_TRIM_THRESHOLD, memory.TRIM_THRESHOLD) is False
