"""How many CPU threads a run computes on: the cores that other processes leave free when it starts.

torch's default is one thread per core. Beside one busy process on a 2-core machine, that team of two
waits at every operation for the thread the OS has put aside for the other process, and an epoch of
the lesson's MLP takes 17 times as long as on one thread. So a run counts the cores others keep busy
as it starts (:func:`free_cores`) and trains on the rest, at least one; ``--threads N`` asks for N.

The count is fixed for the run and recorded in its checkpoint, and a resume takes it again (unless
``--threads`` says otherwise): with a given count a run repeats bitwise whatever the load (minidl
sets MKL's reproducible mode, see minidl/__init__.py), but another count may change its last bits,
as MKL and torch's sums over more than 32,768 numbers split their work between the threads.
``--threads N`` makes runs repeat bitwise however busy the machine is when each one starts.

How busy the others are is read from Linux's /proc: the CPU time all processes used while the run
loaded its data and built its model, less this process's own, over the time that took; where too
little time passed for that (data already in memory), the user-space threads of other processes
running in each of three looks a few milliseconds apart (a kernel thread or a passing burst is no
core taken). The data is loaded on torch's own count, the training on the chosen one.
Elsewhere (macOS, Windows) a run takes torch's own count.
"""
from __future__ import annotations

import contextlib
import math
import os
import time
from pathlib import Path

MIN_WINDOW = 0.2  # seconds of CPU accounting below which the instant count of running processes is used
BUSY = 0.4  # a core that other processes use this much of is taken: a thread there would wait for it
TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100  # /proc/stat counts in these


def usable_cores() -> int:
    """Return the cores this process may run on: its CPU affinity, within its cgroup's CPU quota."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:  # cgroup v2: "max 100000" (no quota) or "200000 100000" (two cores' worth)
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        if quota != "max":
            cores = min(cores, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return cores


def _system_busy() -> float | None:
    """Return the seconds of CPU time all processes have used since boot (None without /proc/stat)."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()[1:]
    except OSError:
        return None
    # user nice system idle iowait irq softirq: all but idle and iowait. steal (the hypervisor gave the
    # time to another machine) is left out: it comes and goes with no process here to leave a core to
    ticks = [int(v) for v in fields[:7]]
    return (sum(ticks) - ticks[3] - ticks[4]) / TICKS


def _own_cpu() -> float:
    """Return the CPU seconds this process (all its threads) has used."""
    t = os.times()
    return t.user + t.system


PF_KTHREAD = 0x00200000  # a kernel thread's flag in /proc/PID/stat: the kernel's own work, never a core taken
LOOKS = 3  # instant counts taken, a few ms apart: a thread counts only if it runs in every one


def _running_now(me: str) -> set[str] | None:
    """Return the user-space threads of other processes running at this instant (None without /proc)."""
    try:
        processes = [d.name for d in os.scandir("/proc") if d.name.isdigit() and d.name != me]
    except OSError:
        return None
    running = set()
    for pid in processes:
        try:
            for task in os.scandir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task.name}/stat", "rb") as f:
                    stat = f.read()
                fields = stat[stat.rindex(b")") + 2:].split()  # state, ppid, ..., flags (the 7th)
                if fields[0] == b"R" and not int(fields[6]) & PF_KTHREAD:
                    running.add(f"{pid}/{task.name}")
        except (OSError, ValueError, IndexError):  # it ended meanwhile
            continue
    return running


def _running_elsewhere() -> float | None:
    """Return how many threads of other processes run now: those running in each of LOOKS looks."""
    me, steady = str(os.getpid()), None
    for look in range(LOOKS):
        if look:
            time.sleep(0.002)
        now = _running_now(me)
        if now is None:
            return None
        steady = now if steady is None else steady & now
    return len(steady)


class LoadMeter:
    """How many cores other processes keep busy, from the CPU time used since the meter was made."""

    def __init__(self):
        self._mark = (time.monotonic(), _system_busy(), _own_cpu())

    def others(self) -> float | None:
        """Return the cores' worth of CPU time others used since the meter was made (None: not known here)."""
        then, busy_then, own_then = self._mark
        now, busy, own = time.monotonic(), _system_busy(), _own_cpu()
        if busy is None or busy_then is None:
            return None
        if now - then < MIN_WINDOW:
            return _running_elsewhere()
        return max(0.0, (busy - busy_then) - (own - own_then)) / (now - then)


def free_cores(default: int, meter: LoadMeter | None = None) -> int:
    """Return the cores others leave free (at least 1, at most ``default``), as ``meter`` saw them since it
    was made (None: the processes running now); ``default`` where that is not known."""
    others = (meter or LoadMeter()).others()
    if others is None:
        return default
    taken = math.floor(others + 1 - BUSY)  # 0.4 of a core busy takes it
    return max(1, min(default, usable_cores() - taken))


def choose_threads(asked: int | None, recorded: int | None, default: int, meter: LoadMeter | None = None) -> int:
    """Return the run's thread count: ``asked`` (--threads), else the one a resumed run ``recorded``,
    else the free cores ``meter`` saw, at most ``default`` (torch's count, which OMP_NUM_THREADS sets)."""
    if asked is not None:
        return asked
    if recorded is not None:
        return recorded
    return free_cores(default, meter)


@contextlib.contextmanager
def thread_team(count: int):
    """Compute on ``count`` threads inside the block, then give torch back its count before."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(count)  # also tells MKL to use exactly these threads, never fewer
    try:
        yield count
    finally:
        torch.set_num_threads(before)
