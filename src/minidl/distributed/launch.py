"""``minidl train --nproc N``: N ranks on this machine, started through torchrun's Python API."""
from __future__ import annotations

import logging
import os

from minidl.errors import MinidlError


def launch(argv: list[str], nproc: int) -> int:
    """Run ``python -m minidl ARGV`` as ``nproc`` ranks on this machine through torchrun's Python API.

    Each rank prints its own errors; this returns the first failed rank's exit status (0: all done).
    """
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import get_args_parser, run

    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc)))  # no oversubscription
    args = get_args_parser().parse_args(["--standalone", "--nproc-per-node", str(nproc), "-m", "minidl"])
    args.training_script_args = argv  # given apart: torchrun's parser would take --nproc for its own
    for name in list(logging.root.manager.loggerDict):  # the ranks say what went wrong, each in one line
        if name.startswith("torch.distributed.elastic"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
    try:
        run(args)
    except ChildFailedError as e:
        rank, failure = e.get_first_failure()
        if failure.exitcode > 0:
            return failure.exitcode
        raise MinidlError(f"rank {rank} was killed by signal {-failure.exitcode}; the other ranks stopped") from None
    except SignalException:  # Ctrl-C: every rank got it too, and rank 0 has said where the run stands
        return 130
    return 0
