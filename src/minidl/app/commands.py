"""The ``minidl`` commands, one function each: what ``minidl train``, ``evaluate``, ``predict``, ``plot``,
``compare``, ``lr-find`` and ``data`` do once minidl.app.cli has parsed the command line.

Each returns the exit status; a user's mistake is a MinidlError (one line, exit 2, printed by
minidl.app.cli.main). Heavy modules are imported inside the commands that need them.
"""
from __future__ import annotations

import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path

from minidl.options import check_models
from minidl.errors import ConfigError, check_choice, check_whole, plural
from minidl.config.model import MODELS, REGRESSORS
from minidl.config.train import cli_flag
from minidl.config.train import TrainConfig


def _given(args) -> dict:
    """Return the TrainConfig fields given on the command line, laid over ``--recipe``'s (printed in full)."""
    given = {f.name: (tuple(v) if isinstance(v, list) else v) for f in dataclasses.fields(TrainConfig)
             if (v := getattr(args, f.name, None)) is not None}
    if "model" in given:  # a flag typed for another model, even at its default value, is a mistake
        check_models(TrainConfig, check_choice("model", given["model"], MODELS), given)
    if getattr(args, "recipe", None) is None:
        return given
    from minidl.app.recipes import describe, expand

    if getattr(args, "resume", None):
        raise ConfigError("--recipe starts a new run; --resume continues one with the flags it began with")
    fields = expand(args.recipe, given)
    print(describe(args.recipe, given), flush=True)
    return fields


# what a run's epochs are made of: lr-find sweeps the lr over single batches instead
LR_FIND_IGNORES = ("lr", "schedule", "warmup", "step_size", "gamma", "val_fraction", "patience", "min_delta",
                   "grad_norms")


def cmd_lr_find(args) -> int:
    from minidl.app.lrfind import lr_find, plot_range_test
    from minidl.training.fit import pick_device

    check_whole("--steps", args.steps, low=10, high=10_000)
    given = _given(args)
    unread = [name for name in LR_FIND_IGNORES if name in given]
    if unread:
        raise ConfigError(f"{cli_flag(unread[0])} does not apply to lr-find: it sweeps the learning rate from 1e-5 to "
                          "10 over --steps batches, with no epochs; give it the flags that shape the model and data")
    if "model" not in given:
        raise ConfigError(f"name a model: minidl lr-find {{{','.join(MODELS)}}}")
    config = TrainConfig(**given)  # no out: nothing of a run is written
    out = _output_path(args.out)
    result = lr_find(config, steps=args.steps, device=pick_device(config.device))
    plot_range_test(result, out, title=f"lr range test: {config.hyperparameters.split(', ')[0]}")
    print(f"suggested lr {result.suggestion:.3g} ({result.rule}); the min/10 rule gives {result.min_over_10:.3g}; "
          f"{len(result.lrs)} steps, lr {result.lrs[0]:.1e} to {result.lrs[-1]:.3g}")
    print(f"wrote {out}")
    return 0


def cmd_compare(args) -> int:
    from minidl.app.compare import format_table, load_runs, plot_compare, table, table_csv
    from minidl.app.fold_runs import mean_rows
    from minidl.files import write_text

    out = _output_path(args.out)
    if args.csv and not Path(args.csv).parent.is_dir():
        raise ConfigError(f"--csv {args.csv}: the folder {Path(args.csv).parent} does not exist")
    runs, notes = load_runs(args.runs)
    for note in notes:
        print(f"minidl: {note}", file=sys.stderr)
    header, body = table(runs)
    body += mean_rows(header, body)  # each --folds folder's mean over its folds
    print(format_table(header, body))
    plot_compare(runs, out)
    print(f"wrote {out}")
    if args.csv:
        write_text(Path(args.csv), table_csv(header, body))
        print(f"wrote {args.csv}")
    return 0


def cmd_train(args) -> int:
    from minidl.training.fit import fit

    given = _given(args)
    if args.resume:
        config = _resumed_config(args.resume, given)
    else:
        if "model" not in given:
            raise ConfigError(f"name a model to train: minidl train {{{','.join(MODELS)}}}")
        if args.allow_changes:
            raise ConfigError("--allow-changes goes with --resume RUN: a new run has nothing to change")
        config = TrainConfig(**{"out": default_run_folder(given["model"]), **given})
    if args.nproc is not None and _launches(args.nproc, config):
        from minidl.distributed.launch import launch

        out = [] if args.resume or "out" in given else ["--out", config.out]  # one folder for every rank
        return launch([*args.argv, *out], args.nproc)
    if config.folds and config.fold is None and not args.resume:  # --folds K: a run per fold, then the mean
        return _cross_validate(config, quiet=args.quiet)
    history = fit(config, resume=args.resume, progress=not args.quiet, allow_changes=args.allow_changes)
    from minidl.distributed.world import is_main_process

    if is_main_process():  # each rank has the same History: rank 0 alone says so
        _print_final(history)
    return 0


def _cross_validate(config: TrainConfig, *, quiet: bool) -> int:
    from minidl.app.crossval import cross_validate, fold_scores, format_scores

    histories = cross_validate(config, progress=not quiet)
    scores = fold_scores(histories)
    for i, fold in enumerate(scores["folds"], 1):
        print(f"fold {i}/{config.folds}: {format_scores(fold)}")
    print(f"mean of {config.folds} folds: {format_scores(scores['mean'])} (run folders {config.out}/fold-1 ...)")
    return 0


def _launches(nproc: int, config: TrainConfig) -> bool:
    """Return whether ``--nproc`` is to start the ranks, False in a rank torchrun started already."""
    from minidl.distributed.world import World, check_devices
    from minidl.training.fit import pick_device

    check_whole("--nproc", nproc, low=1)
    if "LOCAL_RANK" in os.environ:  # started by torchrun: this is one of the ranks
        if nproc != int(os.environ.get("LOCAL_WORLD_SIZE", nproc)):
            raise ConfigError(f"--nproc {nproc} inside torchrun, which started {os.environ['LOCAL_WORLD_SIZE']} "
                              "processes here: leave out --nproc under torchrun")
        return False
    if nproc > 1:  # refused here, before any process starts
        World(size=nproc).local_batch(config.batch_size)
        check_devices(pick_device(config.device), nproc)
    return nproc > 1


def default_run_folder(model: str) -> str:
    """Return ``runs/<model>-<timestamp>``, with a suffix where a run started in the same second exists."""
    base = f"runs/{model}-{time.strftime('%Y%m%d-%H%M%S')}"
    candidate, n = base, 1
    while Path(candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _resumed_config(resume: str, given: dict) -> TrainConfig:
    """Return the saved run's config with the flags given now laid over it."""
    from minidl.sources.registry import source_of
    from minidl.training.checkpoint import load_checkpoint

    out = given.pop("out", None)
    if out is not None and Path(out).resolve() != Path(resume).resolve():
        raise ConfigError(f"--resume continues the run in {resume}; leave out --out {out}")
    state = load_checkpoint(resume)
    source = source_of(state["data"])
    found = {} if {"data_dir", "csv"} & set(given) else source.found_again(state["data"], resume)
    return TrainConfig.from_dict({**state["config"], **found, **given, "out": resume})


MAX_SHOWN_WEIGHTS = 8  # a wide table's w is in summary.json; the terminal shows its start


def _numbers(values, fmt: str) -> str:
    """Return numbers as ``[1.5, -2, ...]``: at most MAX_SHOWN_WEIGHTS of them, then how many more."""
    shown = ", ".join(format(v, fmt) for v in values[:MAX_SHOWN_WEIGHTS])
    more = len(values) - MAX_SHOWN_WEIGHTS
    return f"[{shown}{f', ... {more} more in summary.json' if more > 0 else ''}]"


def _print_final(history) -> None:
    """Print the run's last line: a classifier's accuracy, a regressor's scores, linear regression's w and b."""
    final, s = history.final, history.summary
    where = f" (run folder {history.run_dir})" if history.run_dir else ""
    after = f"after {plural(final['epoch'], 'epoch')}{where}"
    if s.get("stopped_early"):  # the model holds the best epoch's weights again: report those
        final = history.rows[s["best_epoch"] - 1]
        after = (f"with the weights of epoch {final['epoch']}, the best on {s['best_by']}; stopped early after "
                 f"{plural(len(history.rows), 'epoch')}, {history.config.patience} without a new best{where}")
    scored = "test" if "test_loss" in final else "train"  # no test set: the training figures
    loss = f"{scored} loss {final[f'{scored}_loss']:.4g}"
    if f"{scored}_acc" in final:  # a classifier
        print(f"{scored} accuracy {final[f'{scored}_acc']:.4f}, {loss} {after}")
    elif history.config.model in REGRESSORS:  # linear regression: its learned w and b
        print(_weights_line(s, loss, after))
    else:  # an MLP regressing a table
        print(f"{loss} (standardised) {after}: {_scores(s)}")


def _scores(summary: dict) -> str:
    from minidl.app.crossval import SCORES, format_scores

    return format_scores({k: summary[k] for k in SCORES if k in summary})


def _weights_line(s: dict, loss: str, after: str) -> str:
    """Return linear regression's last line: the loss, then w and b (a table's in its own units)."""
    learned = f"w {_numbers(s['w'], '.4g')}, b {s['b']:.4g}"
    if "coefficients" in s:  # polyreg: b, w_1, ... of x^0/0!, x^1/1!, ... beside the true cubic's
        learned = f"coefficients {_numbers(s['coefficients'], '.4g')} (true {_numbers(s['true_coefficients'], 'g')})"
    if len(s["w"]) > MAX_SHOWN_WEIGHTS:  # too many to read one by one: their size, which weight decay shrinks
        learned += f", ||w|| {s['w_norm']:.4g}"
    target = f"log({s.get('target')})" if s.get("log_target") else s.get("target")  # --metric log-rmse
    if "units" in s:  # a CSV table: the loss on standardised values, w and b in the table's units
        learned += f" ({target} = w . ({', '.join(s['features'][:MAX_SHOWN_WEIGHTS])}"
        learned += f"{', ...' if len(s['features']) > MAX_SHOWN_WEIGHTS else ''}) + b, in the table's units)"
    errors = f"; error of w {_numbers(s['w_error'], '.1e')}, of b {s['b_error']:.1e}" if "w_error" in s else ""
    if "test_rmse" in s:  # a table: R^2 and RMSE (log-RMSE) on the test rows
        errors += "; " + _scores(s)
    units = f" (standardised {target})" if "units" in s else ""
    return f"{loss}{units} {after}: {learned}{errors}"


def _output_folder(out: str) -> Path:
    """Return ``--out DIR`` made if missing, after checking that files can be written in it."""
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"--out {out} is a file: give a folder for the figures, e.g. {path.with_suffix('')}-figures")
    try:
        path.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()
    except OSError as e:
        raise ConfigError(f"--out {out}: cannot write in it ({e.strerror}); choose a folder you can write to") from None
    return path


def _output_path(out: str) -> Path:
    path = Path(out)
    if path.is_dir():
        raise ConfigError(f"--out {out} is a folder: give a file name ending in .png, e.g. {path / 'figure.png'}")
    if path.suffix.lower() != ".png":
        raise ConfigError(f"--out {out}: give a file name ending in .png")
    if not path.parent.is_dir():
        raise ConfigError(f"--out {out}: the folder {path.parent} does not exist")
    try:  # the figure is written to a temp file beside it first: try that before drawing anything
        tempfile.TemporaryFile(dir=path.parent).close()
    except OSError as e:
        raise ConfigError(f"--out {out}: cannot write in {path.parent} ({e.strerror}); "
                          f"choose a folder you can write to") from None
    return path
