"""The ``minidl`` command line: train, evaluate, predict, plot, and manage the data.

Every mistake of the user's (a bad value, a missing file) ends with one line on stderr and exit
status 2, never a traceback. Heavy modules are imported inside the commands that need them, so
``minidl --help`` answers at once.
"""
from __future__ import annotations

import argparse
import dataclasses
import gc
import os
import sys

from minidl import __version__
from minidl.app.commands import cmd_compare, cmd_lr_find, cmd_train
from minidl.app.export_cli import add_export_parser
from minidl.app.run_commands import (MAX_SHOW, cmd_data_download, cmd_data_info, cmd_data_show, cmd_evaluate,
                                     cmd_plot_activations, cmd_plot_run, cmd_predict)
from minidl.sources.idx_set import DATA_DIR_HELP
from minidl.config.train import LESSON_DEFAULTS, TrainConfig, cli_flag
from minidl.data.idx_sets import DATASETS
from minidl.errors import MinidlError
from minidl.naming import command_line


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage mistake in one line (exit 2) instead of the full usage text."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """Return the ``minidl`` parser: one sub-parser per command, its function in ``func``."""
    p = _Parser(prog="minidl", description="The first models of deep learning, from scratch and concise.")
    p.add_argument("--version", action="version", version=f"minidl {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="COMMAND")
    for add in (_add_train, _add_lr_find, _add_compare, _add_evaluate, _add_predict, _add_plot, add_export_parser,
                _add_data):
        add(sub)
    return p


def _add_train(sub) -> None:
    t = sub.add_parser("train", help="train a model and write a run folder",
                       description="Train a model. Flags left out take the lesson's defaults: "
                       + "; ".join(f"{m}: lr {d['lr']}, batch {d['batch_size']}, {d['epochs']} epochs"
                                   for m, d in LESSON_DEFAULTS.items()) + ".")
    add_config_arguments(t)
    t.add_argument("--resume", metavar="RUN", help="continue the run in this folder from its last checkpoint "
                   "(or write the figures and summary of a run interrupted while writing them)")
    t.add_argument("--allow-changes", action="store_true",
                   help="with --resume: accept flags that make it another run (--batch-size, --seed, ...); "
                   "each resume's changes are recorded in config.json")
    t.add_argument("--quiet", action="store_true", help="print only the final result")
    t.add_argument("--nproc", type=int, metavar="N", help="train data-parallel on N processes of this machine "
                   "(torchrun --nproc-per-node N -m minidl train ..., through torchrun's Python API; "
                   "several machines: see docs/scale-out.md)")
    t.add_argument("--recipe", metavar="NAME", help=f"a preset of the flags above, printed in full when used; "
                   f"your own flags win: {_recipes()}")
    t.set_defaults(func=cmd_train)


def _add_lr_find(sub) -> None:
    lf = sub.add_parser("lr-find", help="the learning-rate range test: loss against a growing lr, and a suggestion",
                        description="Train a throwaway copy of MODEL (with the train flags given) for up to "
                        "--steps batches while the lr grows geometrically from 1e-5 to 10; plot the loss against "
                        "the lr and suggest the lr where it falls fastest. No run folder is written.")
    add_config_arguments(lf, skip=("out", "plots", "epochs", "tensorboard", "mlflow", "mlflow_experiment"))
    lf.add_argument("--recipe", metavar="NAME", help=f"a preset of the train flags: {_recipes()}")
    lf.add_argument("--steps", type=int, default=150, help="batches at most, one lr each (default 150)")
    lf.add_argument("--out", default="lr-find.png", help="PNG file to write (default lr-find.png)")
    lf.set_defaults(func=cmd_lr_find)


def _add_compare(sub) -> None:
    c = sub.add_parser("compare", help="overlay runs' curves in one figure, and tabulate their figures",
                       description="Overlay the train/val/test curves of the run folders given (a colour per run, "
                       "a line style per split) and print each run's final and best figures beside the config "
                       "fields that differ. Paths that are not run folders are skipped with a note.")
    c.add_argument("runs", nargs="+", metavar="RUN", help="run folders (runs/* works)")
    c.add_argument("--out", default="compare.png", help="PNG file to write (default compare.png)")
    c.add_argument("--csv", metavar="FILE", help="also write the table as CSV to FILE")
    c.set_defaults(func=cmd_compare)


def _add_data_flags(parser, *, csv_help: str) -> None:
    """The flags that point evaluate and plot run at a run's data, moved."""
    parser.add_argument("--data-dir", help="the run's data, moved: its IDX set's or image folder "
                        "(default: the one the run used)")
    parser.add_argument("--csv", help=csv_help)


def _add_evaluate(sub) -> None:
    e = sub.add_parser("evaluate", help="test loss and accuracy of a run or checkpoint")
    e.add_argument("run", metavar="RUN_OR_CHECKPOINT", help="a run folder or a .pt file")
    e.add_argument("--best", action="store_true", help="use the run's best.pt instead of its last checkpoint")
    _add_data_flags(e, csv_help="a CSV run's table, moved (default: where the run read it); "
                    "an edited table is refused")
    e.set_defaults(func=cmd_evaluate)


def _add_predict(sub) -> None:
    pr = sub.add_parser("predict", help="classify image files, or predict the rows of a CSV (a table run, linreg)")
    pr.add_argument("run", metavar="RUN_OR_CHECKPOINT", help="a run folder or a .pt file")
    pr.add_argument("inputs", nargs="+", metavar="INPUT", help="PNG/JPEG images; for a table or linreg run, one CSV file of raw rows")
    pr.add_argument("--invert", choices=("auto", "yes", "no"), default="auto",
                    help="Fashion-MNIST shows light clothes on black; auto inverts photos with a light background")
    pr.add_argument("--raw", action="store_true",
                    help="the images are 28x28 in Fashion-MNIST's form already: give the model their pixels "
                    "as they are (no inversion, crop or centring; 28x28 images are never resampled anyway)")
    pr.add_argument("--top", type=int, default=3, help="how many classes to list per image (default 3)")
    pr.set_defaults(func=cmd_predict)


def _add_plot(sub) -> None:
    pl = sub.add_parser("plot", help="draw figures")
    pl_sub = pl.add_subparsers(dest="what", required=True, parser_class=_Parser, metavar="WHAT")
    a = pl_sub.add_parser("activations", help="each activation function beside its derivative")
    a.add_argument("--out", default="activations.png", help="PNG file to write (default activations.png)")
    a.set_defaults(func=cmd_plot_activations)
    r = pl_sub.add_parser("run", help="redraw a run's figures from its files (checkpoint and data)")
    r.add_argument("run", metavar="RUN", help="a run folder")
    _add_data_flags(r, csv_help="a CSV run's table, moved (default: where the run read it)")
    r.add_argument("--out", metavar="DIR", help="draw the figures in DIR (made if missing), not in the run folder")
    r.set_defaults(func=cmd_plot_run)


def _add_data(sub) -> None:
    d = sub.add_parser("data", help="the IDX image sets (Fashion-MNIST, MNIST, KMNIST): where, download, look")
    d_sub = d.add_subparsers(dest="what", required=True, parser_class=_Parser, metavar="WHAT")
    for name, func, text in (("info", cmd_data_info, "counts per class, shapes, where the files are"),
                             ("download", cmd_data_download, "download the four files if missing"),
                             ("show", cmd_data_show, "save a grid of training images with their labels")):
        c = d_sub.add_parser(name, help=text)
        c.add_argument("--dataset", default="fashion-mnist", help=f"{', '.join(DATASETS)} (default fashion-mnist)")
        c.add_argument("--data-dir", help=DATA_DIR_HELP)
        c.set_defaults(func=func)
        if name == "show":
            c.add_argument("--n", type=int, default=18, help=f"number of images, 1 to {MAX_SHOW} (default 18)")
            c.add_argument("--out", help="PNG file to write (default <dataset>.png)")


def run() -> None:
    """The ``minidl`` program: ``main()`` with Python's cyclic garbage collector off, then exit.

    A training command imports torch and, on torch.optim's first use, torch._dynamo: hundreds of
    thousands of objects the collector tracks. While they load it rescans them again and again, and
    the interpreter's last collection at exit walks them all once more; with the collector off a
    short command spends its time training (``make bench`` times the whole command). The few
    reference cycles a command makes (matplotlib's figures, a few MB) go with the process, so the
    collector stays off and whatever is alive at the end is frozen out of that last pass.
    ``main()``, which tests call in-process, leaves the collector alone.

    A reader that stops early (``minidl train mlp | head -1``) does not stop the command: it goes on
    silently to its end (a training writes its whole run folder) and then exits with status 141, as
    a shell tool whose reader went away reports (128 + SIGPIPE).
    """
    gc.disable()
    out = sys.stdout = UnreadOutput(sys.stdout)
    status = main()
    out.flush()  # a closed pipe shows here at the latest, not in the interpreter's last flush at exit
    gc.freeze()
    sys.exit(141 if out.gone and status == 0 else status)


class UnreadOutput:
    """Standard output that goes quiet, instead of raising BrokenPipeError, once its reader has gone."""

    def __init__(self, stream):
        self.stream, self.gone = stream, False

    def write(self, text: str) -> int:
        try:
            return self.stream.write(text)
        except BrokenPipeError:
            self._went()
            return len(text)

    def flush(self) -> None:
        try:
            self.stream.flush()
        except BrokenPipeError:
            self._went()

    def _went(self) -> None:
        self.gone = True
        os.dup2(os.open(os.devnull, os.O_WRONLY), self.stream.fileno())  # what is left goes nowhere

    def __getattr__(self, name):
        return getattr(self.stream, name)


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return its exit status."""
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # what --nproc starts again on each rank
    try:
        with command_line():  # messages name flags, not TrainConfig fields
            return args.func(args) or 0
    except MinidlError as e:
        if not getattr(e, "every_rank", False) or _is_main_process():  # one line, not one per rank
            print(f"minidl: error: {e}", file=sys.stderr)
        return getattr(e, "exit_code", 2)
    except KeyboardInterrupt:
        if _is_main_process():
            print("minidl: interrupted", file=sys.stderr)
        return 130


def _is_main_process() -> bool:
    from minidl.distributed.world import is_main_process  # imports torch: only once something went wrong

    return is_main_process()


# --- train ------------------------------------------------------------------------------------


def add_config_arguments(parser: argparse.ArgumentParser, skip=()) -> None:
    """Add one flag per TrainConfig field, with the field's type, help and default; given ones only.

    Every flag defaults to None (not given), so that ``--resume`` can tell a flag given now from a
    value the run already has; TrainConfig fills in the defaults and validates.
    """
    for f in dataclasses.fields(TrainConfig):
        meta = f.metadata
        if "help" not in meta or f.name in skip:  # skip: fields another command has no use for
            continue
        if meta.get("positional"):
            parser.add_argument(f.name, nargs="?", metavar=f.name.upper(),
                                help=f"{meta['help']} (optional with --resume)")
            continue
        flag, default = cli_flag(f.name), f.default
        if f.type == "bool":  # a switch: turns a default-on field off, a default-off one on
            parser.add_argument(flag, dest=f.name, action="store_false" if f.default else "store_true",
                                default=None, help=meta["help"])
            continue
        kind = (int if f.type.startswith(("int", "tuple[int")) else float if f.type.startswith(("float", "tuple[float"))
                else str)
        shown = (" (default: the lesson's)" if default is None and f.name in LESSON_DEFAULTS["mlp"]
                 else f" (default {' '.join(map(str, default)) if isinstance(default, tuple) else default})"
                 if default not in (None, ()) else "")
        parser.add_argument(flag, dest=f.name, type=kind, nargs="+" if f.type.startswith("tuple") else None,
                            metavar=meta.get("metavar"), help=meta["help"] + shown)


def _recipes() -> str:
    from minidl.app.recipes import ABOUT

    return "; ".join(f"{name}: {about}" for name, about in ABOUT.items())
