"""A Keras user's Fashion-MNIST MLP, trained epoch by epoch until its test accuracy first reaches a goal.

    python benchmarks/keras_recipe.py [--goal 0.90] [--max-epochs 40] [--seed 0]

Dense 512 + Dropout 0.2, Dense 256 + Dropout 0.2, Dense 10; Adam 1e-3, batch 128, Keras 3 on the
JAX backend. Each epoch is one ``fit(epochs=1)`` call, timed alone; the test set is scored after
it, untimed, and training stops at the first epoch that reaches ``--goal`` (the best case for
Keras: the test set itself picks the epoch). Prints one JSON line: the seconds per epoch, the
test accuracy per epoch, the epoch that reached the goal and the training seconds up to it.

A process of its own (bench_recipe.py starts it): Keras picks its backend once, at import, and
bench_mlp.py imports it on the torch backend.
"""
from __future__ import annotations

import argparse
import json
import os
import time


def keras_recipe(X, y, X_test, y_test, *, goal: float, max_epochs: int, seed: int) -> dict:
    """Return the per-epoch seconds and test accuracies of the Keras recipe, stopping at ``goal``."""
    os.environ["KERAS_BACKEND"] = "jax"  # before the import
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input((784,)),
        keras.layers.Dense(512, activation="relu"), keras.layers.Dropout(0.2),
        keras.layers.Dense(256, activation="relu"), keras.layers.Dropout(0.2),
        keras.layers.Dense(10),
    ])
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    seconds, accs, reached = [], [], None
    for epoch in range(1, max_epochs + 1):
        start = time.perf_counter()
        model.fit(X, y, batch_size=128, epochs=1, shuffle=True, verbose=0)
        seconds.append(time.perf_counter() - start)  # the first epoch includes JAX's compilation
        accs.append(float(model.evaluate(X_test, y_test, batch_size=1024, verbose=0)[1]))
        if accs[-1] >= goal:
            reached = epoch
            break
    return {"keras": keras.__version__, "backend": keras.backend.backend(), "goal": goal, "seconds": seconds,
            "test_acc": accs, "reached_epoch": reached,
            "seconds_to_goal": sum(seconds) if reached else None}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--goal", type=float, default=0.90)
    parser.add_argument("--max-epochs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    from common import load_data  # torch and minidl only: Keras is first imported in keras_recipe()

    data = load_data()
    (X, y), (X_test, y_test) = data.floats("train"), data.floats("test")
    result = keras_recipe(X, y, X_test, y_test, goal=args.goal, max_epochs=args.max_epochs, seed=args.seed)
    print(json.dumps(result), flush=True)
    return result


if __name__ == "__main__":
    main()
