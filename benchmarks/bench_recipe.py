"""The recipes fashion-mlp and fashion-fast beside the lesson's 5-epoch fit() and a Keras user's recipe.

    python benchmarks/bench_recipe.py [--seeds 0 1 2] [--no-keras]

Trains, seed by seed on the real Fashion-MNIST (MINIDL_DATA_DIR), the lesson's MLP (defaults,
5 epochs), then each recipe, one after the other in this process; then the Keras recipe
(keras_recipe.py: 512-256 with dropout, Adam, batch 128, JAX backend) in a process of its own,
epoch by epoch until its test accuracy first reaches 0.90, with a lesson's fit() just before and
after it here. Each time is training only (summary.json's train_seconds; Keras: its fit() calls),
each ratio against the lesson's fit() run next to it. fashion-mlp's accuracy is the test accuracy
of the epoch its validation split chose; fashion-fast's that of its last epoch (it holds nothing
out). Prints each run, then the issue's goals against this run's figures; writes
results/recipe.json.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from common import machine, write_json

from minidl import TrainConfig, fit
from minidl.app.recipes import RECIPES

HERE = Path(__file__).resolve().parent
KERAS_GOAL = 0.90
# (what, the figure, how it compares, the goal)
GOALS = [("fashion-mlp mean test accuracy (epoch chosen by validation)", "mlp_acc", ">=", 0.90),
         ("fashion-mlp training time / the lesson's", "mlp_ratio", "<=", 6.0),
         ("Keras recipe's time to 0.90 / fashion-mlp's", "keras_over_mlp", ">=", 2.5),
         ("fashion-fast mean test accuracy (last epoch)", "fast_acc", ">=", 0.866),
         ("fashion-fast training time / the lesson's", "fast_ratio", "<=", 0.5)]


def one(config: TrainConfig) -> dict:
    """Return a run's seconds (training only) and the test accuracy of the epoch its validation set chose."""
    history = fit(config, progress=False)
    s = history.summary
    best = history.rows[s["best_epoch"] - 1] if s["best_by"] == "val" else history.final
    return {"seed": config.seed, "seconds": s["train_seconds"], "epochs": len(history.rows),
            "epoch": best["epoch"], "best_by": s["best_by"], "test_acc": best["test_acc"]}


def lesson(seed: int = 0) -> dict:
    """Return the lesson's 5-epoch run (every flag at its default); its last epoch counts."""
    run = one(TrainConfig(model="mlp", seed=seed, plots=False))
    return {**run, "epoch": run["epochs"]}


def recipe(name: str, seed: int) -> dict:
    return one(TrainConfig(model="mlp", seed=seed, plots=False, **RECIPES[name]))


def keras_run() -> dict:
    """Return keras_recipe.py's result, run in its own process, or {"error": why} if it could not run."""
    try:
        done = subprocess.run([sys.executable, str(HERE / "keras_recipe.py"), "--goal", str(KERAS_GOAL)],
                              capture_output=True, text=True, check=False, env={**os.environ, "KERAS_BACKEND": "jax"})
    except OSError as e:
        return {"error": str(e)}
    if done.returncode:
        lines = done.stderr.strip().splitlines() or ["no output"]
        return {"error": lines[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def goals(figures: dict) -> list[dict]:
    """Return each goal with this run's figure and whether it was met (None: not measured)."""
    rows = []
    for what, key, op, goal in GOALS:
        value = figures.get(key)
        met = None if value is None else (value >= goal if op == ">=" else value <= goal)
        rows.append({"goal": what, "value": value, "target": f"{op} {goal:g}", "met": met})
    return rows


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--no-keras", action="store_true", help="leave out the Keras recipe")
    args = parser.parse_args(argv)
    runs = {"lesson": [], "fashion-mlp": [], "fashion-fast": []}
    for seed in args.seeds:
        runs["lesson"].append(lesson(seed))
        base = runs["lesson"][-1]
        shown = [f"seed {seed}: lesson {base['seconds']:.2f} s, test {base['test_acc']:.4f}"]
        for name in ("fashion-mlp", "fashion-fast"):
            run = recipe(name, seed)
            run["ratio"] = run["seconds"] / base["seconds"]
            runs[name].append(run)
            chosen = f"epoch {run['epoch']} by {run['best_by']}, " if run["best_by"] == "val" else ""
            shown.append(f"{name} {run['seconds']:.2f} s ({run['ratio']:.2f}x), {chosen}test {run['test_acc']:.4f}")
        print("; ".join(shown), flush=True)
    mlp, fast = runs["fashion-mlp"], runs["fashion-fast"]
    figures = {"mlp_acc": statistics.mean(r["test_acc"] for r in mlp),
               "mlp_ratio": statistics.median(r["ratio"] for r in mlp),
               "fast_acc": statistics.mean(r["test_acc"] for r in fast),
               "fast_ratio": statistics.median(r["ratio"] for r in fast)}
    keras = None
    if not args.no_keras:
        before, keras, after = lesson(), keras_run(), lesson()  # the lesson's fit() on either side of it
        keras["lesson_seconds"] = statistics.mean([before["seconds"], after["seconds"]])
        if keras.get("seconds_to_goal"):
            keras["ratio"] = keras["seconds_to_goal"] / keras["lesson_seconds"]
            figures["keras_over_mlp"] = keras["ratio"] / figures["mlp_ratio"]
            print(f"Keras recipe ({keras['backend']} backend): test accuracy first {KERAS_GOAL} at epoch "
                  f"{keras['reached_epoch']}, after {keras['seconds_to_goal']:.1f} s of training "
                  f"({keras['ratio']:.1f}x the lesson's fit() beside it)", flush=True)
        else:
            print(f"Keras recipe: {keras.get('error') or f'never reached {KERAS_GOAL}'}", flush=True)
    checks = goals(figures)
    print("\nGoals (issue 23), this run:")
    for c in checks:
        value = "not measured" if c["value"] is None else f"{c['value']:.4g}"
        met = "" if c["met"] is None else "met" if c["met"] else "NOT met"
        print(f"  {c['goal']}: {value} (goal {c['target']}) {met}")
    recipes = {name: {k: list(v) if isinstance(v, tuple) else v for k, v in RECIPES[name].items()}
               for name in ("fashion-mlp", "fashion-fast")}
    summary = {"recipes": recipes, **figures, "goals": checks,
               # what run_all.py's summary has always carried
               "test_acc_mean": figures["mlp_acc"], "time_ratio_median": figures["mlp_ratio"]}
    write_json("recipe", {"machine": machine(), "runs": runs, "keras": keras, **summary})
    return summary


if __name__ == "__main__":
    main()
