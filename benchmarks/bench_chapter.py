"""What the chapter's tools cost the lesson's MLP: dropout and weight decay beside the plain fit().

    python benchmarks/bench_chapter.py [--rounds 10]

The default (manual) 784-256-10 MLP, 5 epochs, SGD lr 0.5, batch 256, on the real Fashion-MNIST
(MINIDL_DATA_DIR), trained three ways back to back in every round: as the lesson has it, with
``--dropout 0.5`` and with ``--weight-decay 1e-4``. Each round gives each variant's training
seconds over the plain run's of the same round; the median of those ratios is the cost. Back to
back, the ratios hold while the machine's speed drifts between rounds. Writes results/chapter.json.
"""
from __future__ import annotations

import argparse
import statistics

from common import check_quiet, machine, print_table, write_json

from minidl import TrainConfig, fit

VARIANTS = {"lesson": {}, "--dropout 0.5": {"dropout": (0.5,)}, "--weight-decay 1e-4": {"weight_decay": 1e-4}}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10, help="rounds of the three runs (default 10)")
    args = parser.parse_args(argv)
    busy = check_quiet("chapter")
    seconds = {name: [] for name in VARIANTS}
    accuracy = {}
    for _ in range(args.rounds):
        for name, extra in VARIANTS.items():
            history = fit(TrainConfig(model="mlp", plots=False, **extra), progress=False)
            seconds[name].append(history.summary["train_seconds"])
            accuracy[name] = history.final["test_acc"]
    rows = []
    for name in VARIANTS:
        ratios = [s / base for s, base in zip(seconds[name], seconds["lesson"])]
        rows.append({"variant": name, "seconds": statistics.median(seconds[name]),
                     "cost": statistics.median(ratios) - 1, "cost_min": min(ratios) - 1, "cost_max": max(ratios) - 1,
                     "test_acc": accuracy[name]})
    print_table(rows, [("variant", "variant", ""), ("seconds", "seconds (median)", ".3f"),
                       ("cost", "extra time (median)", ".1%"), ("cost_min", "lowest round", ".1%"),
                       ("cost_max", "highest round", ".1%"), ("test_acc", "test acc", ".4f")],
                f"what the chapter's tools cost the manual MLP's 5-epoch fit(), {args.rounds} rounds")
    payload = {"machine": machine(), "busy_percent_before": busy, "rounds": args.rounds, "rows": rows,
               "seconds": seconds}
    write_json("chapter", payload)
    return payload


if __name__ == "__main__":
    main()
