"""lr-find on every model: its suggestion trains each of them, linreg to the lesson's loss in the lesson's epochs."""
import math

import numpy as np
import pytest

from minidl import TrainConfig, fit
from minidl.app.lrfind import lr_find


def final_loss(config) -> float:
    return fit(config, progress=False).rows[-1]["train_loss"]


def table(path, n=400, seed=0):
    """A CSV of y = 3 a - 2 b + 1 + noise, with a text column that matters (kind=big adds 5)."""
    rng = np.random.default_rng(seed)
    a, b = rng.normal(10, 3, n), rng.normal(-4, 2, n)
    kind = rng.choice(["big", "small"], n)
    y = 3 * a - 2 * b + 1 + 5 * (kind == "big") + rng.normal(0, 0.1, n)
    path.write_text("a,b,kind,y\n" + "".join(f"{x:.4f},{z:.4f},{k},{t:.4f}\n" for x, z, k, t in zip(a, b, kind, y)))
    return str(path)


@pytest.mark.parametrize("data", ["line", "csv"])
def test_linreg_suggestion_trains_to_the_lessons_loss_in_the_lessons_epochs(data, tmp_path):
    extra = {"csv": table(tmp_path / "t.csv"), "target": "y"} if data == "csv" else {}
    lesson = TrainConfig(model="linreg", device="cpu", plots=False, **extra)  # the lesson's lr and epochs
    suggestion = lr_find(lesson).suggestion
    assert final_loss(lesson.replace(lr=suggestion)) <= 1.5 * final_loss(lesson), suggestion


def pets(path, n=120):
    """A table whose kind follows from weight and colour (a learnable rule)."""
    rows = [(3 + i % 9, ("black", "white", "ginger")[i % 3]) for i in range(n)]
    kinds = ["dog" if w > 6 or c == "ginger" else "cat" for w, c in rows]
    path.write_text("weight,colour,kind\n" + "".join(f"{w},{c},{k}\n" for (w, c), k in zip(rows, kinds)))
    return str(path)


@pytest.mark.parametrize("model", ["softmax", "mlp"])
def test_the_suggestion_trains_every_classifier(model, tmp_path):
    config = TrainConfig(model=model, csv=pets(tmp_path / "pets.csv"), target="kind", epochs=5, batch_size=8,
                         device="cpu", plots=False, **({"hidden": (16,)} if model == "mlp" else {}))
    result = lr_find(config, steps=100)
    assert result.lrs[0] < result.suggestion < result.lrs[-1]
    trained = final_loss(config.replace(lr=result.suggestion))
    assert math.isfinite(trained) and trained < final_loss(config.replace(lr=result.lrs[0]))  # it learns
