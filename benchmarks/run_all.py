"""Every benchmark in one run (what `make bench` does): contenders, peers, roofline, scaling, the chapter's tools, loaders, d2l, the recipe.

    python benchmarks/run_all.py [--quick]

Prints each table, then the issue's targets against this run's numbers; writes
benchmarks/results/{contenders,peers,roofline,scaling,ddp,sklearn,loader,d2l,d2l_v1,tables,tables_accuracy,photos,busy,summary}.json and contenders.png,
peers.png, scaling.png. A full run took 17.4 minutes on a 2-core CPU (2026-12-01), --quick 3.3
(one run per contender; no loader or d2l benchmark, no 0-worker book row, no width 2048, the peers
at batch 64 and 256 only).
"""
from __future__ import annotations

import argparse
import time

import bench_busy
import bench_ddp
import bench_chapter
import bench_loader
import bench_mlp
import bench_peers
import bench_photos
import bench_roofline
import bench_scaling
import bench_sklearn
import bench_tables
import bench_tables_accuracy
import bench_versions
from common import RESULTS, machine, write_json


def _variant(chapter: dict, prefix: str) -> dict:
    """Return bench_chapter's row of the variant whose name starts with ``prefix``."""
    return next(r for r in chapter["rows"] if r["variant"].startswith(prefix))


def row(rows: list[dict], prefix: str) -> dict:
    """Return the first row whose contender starts with ``prefix``."""
    return next(r for r in rows if r["contender"].startswith(prefix))


def targets(contenders: dict, roofline: dict, chapter: dict, peers: dict) -> list[dict]:
    """Return the speed issue's targets with this run's value and whether each was met.

    Against the fastest peer (bench_peers: eager torch, torch.compile, JAX; compile time left out
    for them): in every cell of the lesson, the batch sweep from 64 and the width sweep, minidl's
    fit() is no slower (the fastest peer's seconds over minidl's >= 1). Then the share of the
    matmul roofline at the lesson's batch and at batch 64, the whole command's cost beyond fit()
    and import torch, and what dropout and weight decay add.
    """
    mlp = contenders["results"]["mlp"]
    minidl = row(mlp, bench_mlp.MINIDL)
    command = row(mlp, "minidl train mlp --no-plots")
    checks = []
    for cell in peers["results"]:
        timed = [r for r in cell["rows"] if r["contender"] != bench_peers.MINIDL and r.get("ratio")]
        if timed and cell["rows"][0]["batch_size"] >= 64:  # batch 10 is outside the goal
            fastest = min(timed, key=lambda r: r["ratio"])
            checks.append((f"fastest peer's time over minidl's, {cell['label']} ({fastest['contender']})",
                           fastest["ratio"], ">=", 1.0, ".2f"))
    floors = {r["batch"]: r for r in roofline["floors"]}  # what the products and the gather alone reach
    checks += [
        ((f"share of the matmul roofline, the lesson (batch 256; the products alone reach "
          f"{floors[256]['floor_fraction']:.0%})"), roofline["roofline_fraction"], ">=", 0.80, ".0%"),
        ((f"share of the matmul roofline, batch 64, one epoch (the products alone reach "
          f"{floors[64]['floor_fraction']:.0%})"), floors[64]["minidl_fraction"], ">=", 0.70, ".0%"),
    ]
    checks += [
        ("`minidl train mlp --no-plots` seconds beyond fit() and import torch", command["overhead_seconds"],
         "<=", 0.5, ".2f"),
        ("extra time --dropout 0.5 costs the manual MLP", _variant(chapter, "--dropout")["cost"], "<=", 0.15, ".1%"),
        ("extra time --weight-decay costs the manual MLP", _variant(chapter, "--weight-decay")["cost"],
         "<=", 0.15, ".1%"),
    ]
    out = []
    for name, value, op, goal, spec in checks:
        met = {">=": value >= goal, "<=": value <= goal, "<": value < goal}[op]
        out.append({"target": name, "value": value, "goal": f"{op} {goal:g}", "met": met,
                    "text": f"{'met   ' if met else 'MISSED'}  {name}: {value:{spec}} (goal {op} {goal:g})"})
    accuracy_ok = all(minidl["test_acc"] >= r["test_acc"] - 0.005 for r in mlp
                      if r["contender"].startswith(("scikit", "Keras")))
    out.append({"target": "equal or better test accuracy than scikit-learn and Keras", "met": accuracy_ok,
                "text": f"{'met   ' if accuracy_ok else 'MISSED'}  test accuracy {minidl['test_acc']:.4f} "
                        "vs scikit-learn and Keras (within 0.005 or better)"})
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="about 4 minutes: one run per contender (noisy figures, for checking the scripts)")
    args = parser.parse_args(argv)
    quick = ["--quick"] if args.quick else []
    start = time.perf_counter()

    contenders = bench_mlp.main(quick)
    mlp, softmax = contenders["results"]["mlp"], contenders["results"]["softmax"]
    roofline = bench_roofline.main(mlp_seconds=row(mlp, bench_mlp.MINIDL)["seconds"],
                                   softmax_seconds=row(softmax, bench_mlp.MINIDL)["seconds"],
                                   floor_rounds=2 if args.quick else 3)
    chart = bench_mlp.chart(contenders["results"], roofline["roofline_seconds"])
    print("\nThe fastest peers: eager torch, torch.compile and JAX, on the lesson and across batch sizes and widths")
    peers = bench_peers.main(quick)
    scaling = bench_scaling.main(quick)
    print("\nData-parallel: 1 process x 2 threads against 2 processes x 1 thread (minidl.distributed.world, gloo)")
    ddp = bench_ddp.main(quick)
    print("\nWhat dropout and weight decay cost the lesson's MLP, run back to back")
    chapter = bench_chapter.main(["--rounds", "2"] if args.quick else [])
    print("\nminidl's scikit-learn MLPClassifier against scikit-learn's, the same hyperparameters")
    estimators = bench_sklearn.main(["--repeats", "1"] if args.quick else [])
    if not args.quick:
        print("\nLoaders: seconds per shuffled epoch of Fashion-MNIST at batch 256")
        write_json("loader", {"machine": machine(), "rows": bench_loader.main()})
        import bench_d2l  # the book-compatible module's lesson, whole, against the book's loaders

        print("\nThe concise MLP lesson on minidl.d2l against the book's per-sample loaders")
        write_json("d2l", {"machine": machine(), "rows": bench_d2l.main()})
        import bench_d2l_v1  # the 1.0 MLP lesson's Trainer.fit against concise and the book's path

        print("\nThe d2l 1.0 MLP lesson's Trainer.fit against minidl concise and the book's DataLoader path")
        d2l_v1 = bench_d2l_v1.main([])
        write_json("d2l_v1", {"machine": machine(), **d2l_v1})
        import bench_recipe  # the recipes and a Keras user's beside the lesson's fit(), seed by seed

        print("\nThe recipes fashion-mlp and fashion-fast, and a Keras recipe's time to 0.90, against the "
              "lesson's 5-epoch fit(), 3 seeds")
        recipe = bench_recipe.main([])
    print("\nThe lesson's fit() against the flat package before the rooms (git revision 944ad0c)")
    versions = bench_versions.main(["--rounds", "1" if args.quick else "3"])
    print("\nReading a numeric CSV: minidl's reader against pandas.read_csv, the same file")
    tables = bench_tables.main(["--rows", "100000", "--repeats", "1"] if args.quick else [])
    if bench_tables_accuracy.TABLES.is_dir():  # the real tables, where the checkout has them beside it
        bench_tables_accuracy.main()
    print("\nDecoding phone-sized JPEGs: full size one at a time against draft mode on every core")
    bench_photos.main(["--photos", "24", "--repeats", "1"] if args.quick else [])

    print("\nA busy machine: the lesson's epoch beside one CPU hog, minidl against eager torch and JAX")
    busy = bench_busy.main(["--repeats", "1", "--epochs", "3"] if args.quick else [])
    write_json("busy", busy)

    checks = (targets(contenders, roofline, chapter, peers) + ([] if args.quick else d2l_v1["checks"])
              + busy["checks"])
    print("\nTargets (the speed issue), this run:")
    for check in checks:
        print("  " + check["text"])
    minutes = (time.perf_counter() - start) / 60
    print(f"\nAll benchmarks took {minutes:.1f} min; results in {RESULTS} (chart {chart.name}, "
          f"scaling.png)")
    summary = {"machine": machine(), "quick": args.quick, "minutes": minutes, "targets": checks,
               "roofline_fraction": roofline["roofline_fraction"],
               "sklearn_estimator_speedup": estimators["speedup"],
               "scaling_rows": len(scaling["rows"]), "ddp_rows": len(ddp["rows"]),
               "peers_x_minidl": {c["label"]: {r["contender"]: r.get("ratio", r["note"]) for r in c["rows"]}
                                  for c in peers["results"]},
               "csv_read_x_pandas": {r["contender"]: r["ratio"] for r in tables},
               "fit_x_before_rooms": versions["rows"][0]["ratio"],
               "busy_x_one_thread": {r["contender"]: r["busy_x_one_thread"] for r in busy["rows"]},
               "recipe": None if args.quick else {k: recipe.get(k) for k in ("test_acc_mean", "time_ratio_median",
                                                                           "fast_acc", "fast_ratio", "keras_over_mlp")}}
    write_json("summary", summary)
    return summary


if __name__ == "__main__":
    main()
