"""The ``minidl`` commands, one function each: what ``minidl train``, ``evaluate``, ``predict``, ``plot``,
``compare``, ``lr-find`` and ``data`` do once minidl.cli has parsed the command line.

Each returns the exit status; a user's mistake is a MinidlError (one line, exit 2, printed by
minidl.cli.main). Heavy modules are imported inside the commands that need them.
"""
from __future__ import annotations

import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path

from .checks import check_whole, plural
from .config import MODELS, TrainConfig
from .errors import ConfigError


def _given(args) -> dict:
    """Return the TrainConfig fields given on the command line, laid over ``--recipe``'s (printed in full)."""
    given = {f.name: (tuple(v) if isinstance(v, list) else v) for f in dataclasses.fields(TrainConfig)
             if (v := getattr(args, f.name, None)) is not None}
    if getattr(args, "recipe", None) is None:
        return given
    from .recipes import describe, expand

    if getattr(args, "resume", None):
        raise ConfigError("--recipe starts a new run; --resume continues one with the flags it began with")
    fields = expand(args.recipe, given)
    print(describe(args.recipe, given), flush=True)
    return fields


def cmd_lr_find(args) -> int:
    from .lrfind import lr_find, plot_range_test
    from .train import pick_device

    check_whole("--steps", args.steps, low=10, high=10_000)
    given = _given(args)
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
    from .compare import format_table, load_runs, plot_compare, table, table_csv
    from .files import write_text

    out = _output_path(args.out)
    if args.csv and not Path(args.csv).parent.is_dir():
        raise ConfigError(f"--csv {args.csv}: the folder {Path(args.csv).parent} does not exist")
    runs, notes = load_runs(args.runs)
    for note in notes:
        print(f"minidl: {note}", file=sys.stderr)
    header, body = table(runs)
    print(format_table(header, body))
    plot_compare(runs, out)
    print(f"wrote {out}")
    if args.csv:
        write_text(Path(args.csv), table_csv(header, body))
        print(f"wrote {args.csv}")
    return 0


def cmd_train(args) -> int:
    from .train import fit

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
        from .distributed import launch

        out = [] if args.resume or "out" in given else ["--out", config.out]  # one folder for every rank
        return launch([*args.argv, *out], args.nproc)
    if config.folds and config.fold is None and not args.resume:  # --folds K: a run per fold, then the mean
        return _cross_validate(config, quiet=args.quiet)
    history = fit(config, resume=args.resume, progress=not args.quiet, allow_changes=args.allow_changes)
    from .distributed import is_main_process

    if is_main_process():  # each rank has the same History: rank 0 alone says so
        _print_final(history)
    return 0


def _cross_validate(config: TrainConfig, *, quiet: bool) -> int:
    from .crossval import cross_validate, fold_scores, format_scores

    histories = cross_validate(config, progress=not quiet)
    scores = fold_scores(histories)
    for i, fold in enumerate(scores["folds"], 1):
        print(f"fold {i}/{config.folds}: {format_scores(fold)}")
    print(f"mean of {config.folds} folds: {format_scores(scores['mean'])} (run folders {config.out}/fold-1 ...)")
    return 0


def _launches(nproc: int, config: TrainConfig) -> bool:
    """Return whether ``--nproc`` is to start the ranks, False in a rank torchrun started already."""
    from .distributed import World, check_devices
    from .train import pick_device

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
    from .checkpoint import load_checkpoint
    from .run_data import recorded_csv, recorded_data_dir

    out = given.pop("out", None)
    if out is not None and Path(out).resolve() != Path(resume).resolve():
        raise ConfigError(f"--resume continues the run in {resume}; leave out --out {out}")
    state = load_checkpoint(resume)
    config = state["config"]
    if "data_dir" not in given:
        config = {**config, "data_dir": recorded_data_dir(state["data"], resume) or config.get("data_dir")}
    if "csv" not in given:
        config = {**config, "csv": recorded_csv(state["data"], resume) or config.get("csv")}
    return TrainConfig.from_dict({**config, **given, "out": resume})


MAX_SHOWN_WEIGHTS = 8  # a wide table's w is in summary.json; the terminal shows its start


def _numbers(values, fmt: str) -> str:
    """Return numbers as ``[1.5, -2, ...]``: at most MAX_SHOWN_WEIGHTS of them, then how many more."""
    shown = ", ".join(format(v, fmt) for v in values[:MAX_SHOWN_WEIGHTS])
    more = len(values) - MAX_SHOWN_WEIGHTS
    return f"[{shown}{f', ... {more} more in summary.json' if more > 0 else ''}]"


def _print_final(history) -> None:
    final, s = history.final, history.summary
    where = f" (run folder {history.run_dir})" if history.run_dir else ""
    after = f"after {plural(final['epoch'], 'epoch')}{where}"
    if s.get("stopped_early"):  # the model holds the best epoch's weights again: report those
        final = history.rows[s["best_epoch"] - 1]
        after = (f"with the weights of epoch {final['epoch']}, the best on {s['best_by']}; stopped early after "
                 f"{plural(len(history.rows), 'epoch')}, {history.config.patience} without a new best{where}")
    scored = "test" if "test_loss" in final else "train"  # no test set: the training figures
    if f"{scored}_acc" in final:
        print(f"{scored} accuracy {final[f'{scored}_acc']:.4f}, {scored} loss {final[f'{scored}_loss']:.4g} {after}")
    elif "w" not in history.summary:  # an MLP regressing a table
        from .crossval import SCORES, format_scores

        scores = format_scores({k: history.summary[k] for k in SCORES if k in history.summary})
        print(f"{scored} loss {final[f'{scored}_loss']:.4g} (standardised) {after}: {scores}")
    else:
        s = history.summary
        learned = f"w {_numbers(s['w'], '.4g')}, b {s['b']:.4g}"
        if "coefficients" in s:  # polyreg: b, w_1, ... of x^0/0!, x^1/1!, ... beside the true cubic's
            truth = _numbers(s["true_coefficients"], "g")
            learned = f"coefficients {_numbers(s['coefficients'], '.4g')} (true {truth})"
        if len(s["w"]) > MAX_SHOWN_WEIGHTS:  # too many to read one by one: their size, which weight decay shrinks
            learned += f", ||w|| {s['w_norm']:.4g}"
        target = f"log({s.get('target')})" if s.get("log_target") else s.get("target")  # --metric log-rmse
        if "units" in s:  # a CSV table: the loss on standardised values, w and b in the table's units
            learned += f" ({target} = w . ({', '.join(s['features'][:MAX_SHOWN_WEIGHTS])}"
            learned += f"{', ...' if len(s['features']) > MAX_SHOWN_WEIGHTS else ''}) + b, in the table's units)"
        errors = f"; error of w {_numbers(s['w_error'], '.1e')}, of b {s['b_error']:.1e}" if "w_error" in s else ""
        units = f" (standardised {target})" if "units" in s else ""
        if "test_rmse" in s:  # a table: R^2 and RMSE (log-RMSE) on the test rows
            from .crossval import SCORES, format_scores

            errors += "; " + format_scores({k: s[k] for k in SCORES if k in s})
        print(f"{scored} loss {final[f'{scored}_loss']:.4g}{units} {after}: {learned}{errors}")


# --- evaluate and predict ---------------------------------------------------------------------


def cmd_evaluate(args) -> int:
    from .inference import evaluate_run

    report = evaluate_run(args.run, best=args.best, data_dir=args.data_dir, csv=args.csv)
    print(f"{report['checkpoint']} (epoch {report['epoch']}): test loss {report['loss']:.4g}", end="")
    if "acc" in report:
        print(f", test accuracy {report['acc']:.4f}")
        width = max(len(n) for n in report["per_class_acc"])
        for name, acc in report["per_class_acc"].items():
            print(f"  {name:<{width}}  {'null (no test rows)' if acc is None else f'{acc:.3f}'}")
    else:
        from .crossval import SCORES, format_scores

        scores = {k: report[k] for k in SCORES if k in report}
        print(f", {format_scores(scores)}" if scores else "")
    return 0


def cmd_predict(args) -> int:
    from .inference import predict_files

    check_whole("--top", args.top, low=1)
    for line in predict_files(args.run, args.inputs, invert=args.invert, raw=args.raw, top=args.top):
        print(line)
    return 0


# --- plots and data ---------------------------------------------------------------------------

MAX_SHOW = 200  # images in one `data show` grid: more would not be legible anyway


def cmd_plot_run(args) -> int:
    from .inference import redraw_run

    for path in redraw_run(args.run, data_dir=args.data_dir, csv=args.csv):
        print(f"wrote {path}")
    return 0


def cmd_plot_activations(args) -> int:
    from .activations import ACTIVATIONS
    from .plots import plot_activations

    path = plot_activations(ACTIVATIONS.values(), _output_path(args.out))
    print(f"wrote {path}")
    return 0


def cmd_data_info(args) -> int:
    from .data.idx_sets import dataset_info, format_info

    print(format_info(dataset_info(args.dataset, args.data_dir)))
    return 0


def cmd_data_download(args) -> int:
    from .data.idx_sets import download_set, get_dataset

    root = download_set(args.dataset, args.data_dir)
    print(f"{get_dataset(args.dataset).title} is in {root}")
    return 0


def cmd_data_show(args) -> int:
    from .data.idx_sets import get_dataset, read_set
    from .plots import plot_image_grid

    dataset = get_dataset(args.dataset)
    check_whole("--n", args.n, low=1, high=MAX_SHOW)
    out = _output_path(args.out or f"{dataset.name}.png")
    data = read_set(dataset, args.data_dir, download=args.data_dir is None)  # as train: a named folder is only read
    path = plot_image_grid(data.X_train[: args.n], data.y_train[: args.n], dataset.classes, out, n=args.n)
    print(f"wrote {path}")
    return 0


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
