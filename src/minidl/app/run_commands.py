"""The commands that use what training left: evaluate, predict, plot, and the IDX sets' data commands."""
from __future__ import annotations


from minidl.app.commands import _output_folder, _output_path
from minidl.errors import check_whole


# --- evaluate and predict ---------------------------------------------------------------------


def cmd_evaluate(args) -> int:
    from minidl.app.inference import evaluate_run

    report = evaluate_run(args.run, best=args.best, data_dir=args.data_dir, csv=args.csv)
    print(f"{report['checkpoint']} (epoch {report['epoch']}): test loss {report['loss']:.4g}", end="")
    if "acc" in report:
        print(f", test accuracy {report['acc']:.4f}")
        width = max(len(n) for n in report["per_class_acc"])
        for name, acc in report["per_class_acc"].items():
            print(f"  {name:<{width}}  {'null (no test rows)' if acc is None else f'{acc:.3f}'}")
    else:
        from minidl.app.crossval import SCORES, format_scores

        scores = {k: report[k] for k in SCORES if k in report}
        print(f", {format_scores(scores)}" if scores else "")
    return 0


def cmd_predict(args) -> int:
    from minidl.app.inference import predict_files

    check_whole("--top", args.top, low=1)
    for line in predict_files(args.run, args.inputs, invert=args.invert, raw=args.raw, top=args.top):
        print(line)
    return 0


# --- plots and data ---------------------------------------------------------------------------

MAX_SHOW = 200  # images in one `data show` grid: more would not be legible anyway


def cmd_plot_run(args) -> int:
    from minidl.app.inference import redraw_run

    out = _output_folder(args.out) if args.out else None
    for path in redraw_run(args.run, data_dir=args.data_dir, csv=args.csv, out=out):
        print(f"wrote {path}")
    return 0


def cmd_plot_activations(args) -> int:
    from minidl.lessons.activations import ACTIVATIONS
    from minidl.training.plots import plot_activations

    path = plot_activations(ACTIVATIONS.values(), _output_path(args.out))
    print(f"wrote {path}")
    return 0


def cmd_data_info(args) -> int:
    from minidl.data.idx_sets import dataset_info, format_info

    print(format_info(dataset_info(args.dataset, args.data_dir)))
    return 0


def cmd_data_download(args) -> int:
    from minidl.data.idx_sets import download_set, get_dataset

    root = download_set(args.dataset, args.data_dir)
    print(f"{get_dataset(args.dataset).title} is in {root}")
    return 0


def cmd_data_show(args) -> int:
    from minidl.data.idx_sets import get_dataset, read_set
    from minidl.training.image_grids import plot_image_grid

    dataset = get_dataset(args.dataset)
    check_whole("--n", args.n, low=1, high=MAX_SHOW)
    out = _output_path(args.out or f"{dataset.name}.png")
    data = read_set(dataset, args.data_dir, download=args.data_dir is None)  # as train: a named folder is only read
    path = plot_image_grid(data.X_train[: args.n], data.y_train[: args.n], dataset.classes, out, n=args.n)
    print(f"wrote {path}")
    return 0
