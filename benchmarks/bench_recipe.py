"""The best MLP recipe (``--recipe fashion-mlp``) beside the lesson's 5-epoch fit(), in one run.

    python benchmarks/bench_recipe.py [--seeds 0 1 2]

Trains the lesson's MLP (defaults, 5 epochs) and the recipe, seed by seed, on the real
Fashion-MNIST (MINIDL_DATA_DIR); prints and writes results/recipe.json: each run's training
seconds (evaluation excluded, summary.json's train_seconds), the time ratio, the validation-chosen
epoch and its test accuracy, and the recipe's mean and range over the seeds.
"""
from __future__ import annotations

import argparse
import statistics

from common import machine, write_json

from minidl import TrainConfig, fit
from minidl.app.recipes import RECIPES

RECIPE = "fashion-mlp"


def one(config: TrainConfig) -> dict:
    history = fit(config, progress=False)
    s = history.summary
    best = history.rows[s["best_epoch"] - 1]
    return {"seed": config.seed, "seconds": s["train_seconds"], "epochs": len(history.rows),
            "best_epoch": s["best_epoch"], "best_by": s["best_by"], "test_acc": best["test_acc"]}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args(argv)
    lesson, recipe = [], []
    for seed in args.seeds:
        lesson.append(one(TrainConfig(model="mlp", seed=seed, plots=False)))
        recipe.append(one(TrainConfig(model="mlp", seed=seed, plots=False, **RECIPES[RECIPE])))
        ratio = recipe[-1]["seconds"] / lesson[-1]["seconds"]
        print(f"seed {seed}: lesson {lesson[-1]['seconds']:.2f} s, test acc {lesson[-1]['test_acc']:.4f}; "
              f"{RECIPE} {recipe[-1]['seconds']:.2f} s ({ratio:.1f}x), epoch {recipe[-1]['best_epoch']} "
              f"chosen by {recipe[-1]['best_by']}, test acc {recipe[-1]['test_acc']:.4f}", flush=True)
    accs = [r["test_acc"] for r in recipe]
    ratios = [r["seconds"] / l["seconds"] for r, l in zip(recipe, lesson)]
    fields = {k: list(v) if isinstance(v, tuple) else v for k, v in RECIPES[RECIPE].items()}
    summary = {"recipe": RECIPE, "fields": fields,
               "test_acc_mean": statistics.mean(accs), "test_acc_min": min(accs), "test_acc_max": max(accs),
               "time_ratio_median": statistics.median(ratios)}
    print(f"{RECIPE}: test accuracy {summary['test_acc_mean']:.4f} (range {min(accs):.4f}-{max(accs):.4f}) over "
          f"seeds {args.seeds}; {summary['time_ratio_median']:.1f}x the lesson's training time (median)")
    write_json("recipe", {"machine": machine(), "lesson": lesson, "recipe_runs": recipe, **summary})
    return summary


if __name__ == "__main__":
    main()
