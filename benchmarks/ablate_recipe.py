"""Each idea of a recipe turned off (or one more turned on), one at a time: its test accuracy per seed and its cost.

    python benchmarks/ablate_recipe.py [--recipe fashion-mlp] [--seeds 0 1 2] [--variants 0 1 ...]

Trains the lesson's MLP (5 epochs) once per seed, then the recipe and each variant of it, on the
real Fashion-MNIST (MINIDL_DATA_DIR), all in this process. A variant puts one of the recipe's
flags back to the lesson's value (``--standardize`` off, ``--schedule constant``, ...) or adds
one it leaves out. Accuracy: the test accuracy of the epoch the validation split chose (the
last epoch where the recipe holds nothing out). Cost: the run's training seconds over the
lesson's fit() of the same seed (a median over the seeds). Prints a Markdown table (the one
docs/past-the-lesson.md shows) and writes results/ablation-<recipe>.json.
"""
from __future__ import annotations

import argparse
import statistics

from bench_recipe import lesson, one
from common import machine, write_json

from minidl import TrainConfig
from minidl.config.train import cli_flag
from minidl.app.recipes import RECIPES

# per recipe: (the idea, the fields that change it), each applied to the recipe alone
VARIANTS = {
    "fashion-mlp": [
        ("no per-pixel standardisation", {"standardize": False}),
        ("no label smoothing", {"label_smoothing": 0.0}),
        ("constant lr instead of one-cycle", {"schedule": "constant", "lr": 0.05}),
        ("no momentum (plain SGD, lr 0.5 peak)", {"momentum": 0.0, "nesterov": False, "lr": 0.5}),
        ("the lesson's N(0, 0.01) init instead of kaiming", {"init": "normal"}),
        ("Adam (lr 2e-3) instead of Nesterov SGD", {"optimizer": "adam", "lr": 0.002, "momentum": 0.0,
                                                    "nesterov": False}),
        ("+ test-time flip", {"tta_flip": True}),
        ("no weight decay", {"weight_decay": 0.0}),
    ],
    "fashion-fast": [
        ("no per-pixel standardisation", {"standardize": False}),
        ("+ label smoothing 0.1", {"label_smoothing": 0.1}),
        ("constant lr instead of cosine", {"schedule": "constant"}),
        ("no momentum (plain SGD, lr 0.5)", {"momentum": 0.0, "nesterov": False, "lr": 0.5}),
        ("+ kaiming init", {"init": "kaiming"}),
        ("the lesson's width 256", {"hidden": (256,)}),
        ("the lesson's batch 256", {"batch_size": 256}),
        ("+ test-time flip", {"tta_flip": True}),
    ],
}


def flags(changes: dict) -> str:
    """Return ``changes`` as the command-line flags that make them, e.g. ``--schedule constant``."""
    shown = []
    for field, value in changes.items():
        if isinstance(value, bool):
            shown.append(cli_flag(field) if value else f"no {cli_flag(field)}")
        else:
            shown.append(f"{cli_flag(field)} {' '.join(map(str, value)) if isinstance(value, tuple) else value}")
    return ", ".join(shown)


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="fashion-mlp", choices=sorted(VARIANTS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--variants", type=int, nargs="+", metavar="I",
                        help="only these rows: 0 the whole recipe, 1, 2, ... its variants in order (default: all), "
                             "to share the rows among processes")
    args = parser.parse_args(argv)
    base = RECIPES[args.recipe]
    lessons = {seed: lesson(seed) for seed in args.seeds}
    rows = [{"idea": "the lesson", "flags": "every flag at its default",
             "runs": list(lessons.values()), "ratios": [1.0] * len(args.seeds)}]
    variants = [(f"{args.recipe}, whole", {}), *VARIANTS[args.recipe]]
    for i in args.variants if args.variants is not None else range(len(variants)):
        idea, changes = variants[i]
        runs = [one(TrainConfig(model="mlp", seed=seed, plots=False, **{**base, **changes})) for seed in args.seeds]
        ratios = [run["seconds"] / lessons[run["seed"]]["seconds"] for run in runs]
        rows.append({"idea": idea, "flags": flags(changes) or "as the recipe", "runs": runs, "ratios": ratios})
        print(table_line(rows[-1]), flush=True)
    print(f"\n| {args.recipe}: idea | flags | test acc, seeds {', '.join(map(str, args.seeds))} | mean | "
          "training time (x lesson) |\n|---|---|---|---|---|")
    for row in rows:
        print(table_line(row))
    part = "" if args.variants is None else "-" + "-".join(map(str, args.variants))
    write_json(f"ablation-{args.recipe}{part}", {"machine": machine(), "recipe": args.recipe, "rows": rows})
    return rows


def table_line(row: dict) -> str:
    accs = [r["test_acc"] for r in row["runs"]]
    return (f"| {row['idea']} | {row['flags']} | {', '.join(f'{a:.4f}' for a in accs)} | "
            f"{statistics.mean(accs):.4f} | {statistics.median(row['ratios']):.2f} |")


if __name__ == "__main__":
    main()
