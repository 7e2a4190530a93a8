"""fit() on the chapter after the MLP: weight decay, dropout, polynomial fitting, gradient norms per layer."""
import csv

import pytest
import torch

from minidl.config.train import TrainConfig
from minidl.errors import ConfigError
from minidl.training.fit import fit


def tiny(tiny_fashion, **kw):
    base = dict(model="mlp", epochs=2, lr=0.1, batch_size=64, hidden=(32, 16), device="cpu",
                data_dir=str(tiny_fashion), plots=False)
    return TrainConfig(**{**base, **kw})


def without_seconds(rows):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


# --- dropout ------------------------------------------------------------------------------------

@pytest.mark.parametrize("impl", ["scratch", "concise", "manual"])
def test_resume_with_dropout_is_exact(tiny_fashion, tmp_path, impl):
    """The masks' generator is in the checkpoint: a resumed run draws the masks the straight one drew."""
    config = tiny(tiny_fashion, impl=impl, dropout=(0.2, 0.5), weight_decay=0.01)
    straight = fit(config.replace(epochs=4, out=str(tmp_path / "a")), progress=False)
    fit(config.replace(out=str(tmp_path / "b")), progress=False)
    resumed = fit(config.replace(epochs=4, out=str(tmp_path / "b")), resume=tmp_path / "b", progress=False)
    assert without_seconds(resumed.rows) == without_seconds(straight.rows)
    for name, value in straight.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[name]), name
    assert torch.equal(straight.model.dropout_generator.get_state(), resumed.model.dropout_generator.get_state())


def test_twins_train_to_the_same_numbers_with_dropout_and_weight_decay(tiny_fashion):
    histories = [fit(tiny(tiny_fashion, impl=impl, dropout=(0.2, 0.5), weight_decay=0.01), progress=False)
                 for impl in ("scratch", "concise", "manual")]
    for history in histories[1:]:
        for mine, theirs in zip(history.rows, histories[0].rows):
            for key in ("train_loss", "test_loss", "test_acc"):
                assert mine[key] == pytest.approx(theirs[key], rel=1e-4, abs=1e-4), (history.config.impl, key)


def test_dropout_changes_training_not_evaluation(tiny_fashion):
    plain, dropped = (fit(tiny(tiny_fashion, dropout=dropout), progress=False) for dropout in ((), (0.5, 0.5)))
    assert plain.rows[0]["train_loss"] != dropped.rows[0]["train_loss"]
    model, X = dropped.model.eval(), torch.rand(8, 784)
    assert torch.equal(model(X), model(X))  # evaluation never drops


@pytest.mark.parametrize("changes, message", [
    (dict(dropout=(0.5,)), "--dropout gives 1 probability for 2 hidden layers"),
    (dict(dropout=(0.5, 1.0)), r"dropout probability \(--dropout\) must be"),
    (dict(model="softmax", hidden=(256,), dropout=(0.5,)), "--dropout does not apply to softmax"),
    (dict(weight_decay=-0.1), r"weight decay \(--weight-decay\) must be a number >= 0"),
    (dict(model="polyreg", degree=20), r"polynomial degree \(--degree\) must be a whole number from 1 to 19"),
    (dict(model="linreg", toy="high-dim", num_examples=50), "--toy high-dim is its lesson's own data"),
])
def test_bad_settings_are_config_errors(tiny_fashion, changes, message):
    with pytest.raises(ConfigError, match=message):
        tiny(tiny_fashion, **changes)


# --- weight decay on the lesson's high-dimensional toy -------------------------------------------

def test_weight_decay_shrinks_w_and_lowers_the_test_loss():
    """The weight-decay lesson: 200 inputs, 20 training examples; lambda 3 takes ||w|| from ~13 to < 0.5."""
    free, decayed = (fit(TrainConfig(model="linreg", toy="high-dim", weight_decay=wd, device="cpu", plots=False),
                         progress=False) for wd in (0.0, 3.0))
    assert free.summary["w_norm"] > 10 and decayed.summary["w_norm"] < 0.5
    assert decayed.final["test_loss"] < free.final["test_loss"] / 10
    assert free.final["train_loss"] < decayed.final["train_loss"]  # the unpenalised fit memorises its 20 examples
    assert free.config.lr == 0.003 and free.config.batch_size == 5 and free.config.init == "standard_normal"


# --- polynomial regression: underfitting and overfitting -------------------------------------------

def test_polyreg_degree_3_recovers_the_cubic(tmp_path):
    history = fit(TrainConfig(model="polyreg", degree=3, device="cpu", out=str(tmp_path / "poly")), progress=False)
    s = history.summary
    assert s["true_coefficients"] == [5.0, 1.2, -3.4, 5.6]
    assert max(abs(c - t) for c, t in zip(s["coefficients"], s["true_coefficients"])) < 0.05, s["coefficients"]
    assert history.config.epochs == 400 and history.config.batch_size == 10
    assert (tmp_path / "poly" / "curves.png").stat().st_size > 0


def test_polyreg_underfits_with_degree_1_and_overfits_with_19():
    test_loss = {degree: fit(TrainConfig(model="polyreg", degree=degree, epochs=100, device="cpu", plots=False),
                             progress=False).final for degree in (1, 3, 19)}
    assert test_loss[1]["train_loss"] > 10 * test_loss[3]["train_loss"]  # a line cannot follow a cubic
    assert test_loss[19]["test_loss"] > test_loss[3]["test_loss"]  # 20 coefficients for 100 points


# --- gradient norms per layer (the initialisation lesson) ------------------------------------------

def test_grad_norms_show_vanishing_gradients_in_a_deep_sigmoid_mlp(tiny_fashion, tmp_path):
    deep = dict(hidden=(64, 64, 64, 64), epochs=1, grad_norms=True)
    sigmoid = fit(tiny(tiny_fashion, activation="sigmoid", init="normal", out=str(tmp_path / "sigmoid"),
                       plots=True, **deep), progress=False)
    relu = fit(tiny(tiny_fashion, activation="relu", init="kaiming", **deep), progress=False)
    names = [f"grad_norm_W{i}" for i in range(1, 6)]
    for row in (sigmoid.final, relu.final):
        assert all(row[name] > 0 for name in names)
    assert sigmoid.final["grad_norm_W1"] < 1e-3 * sigmoid.final["grad_norm_W5"]  # vanished on the way down
    assert relu.final["grad_norm_W1"] > 0.1 * relu.final["grad_norm_W5"]  # kaiming keeps them comparable
    with open(tmp_path / "sigmoid" / "metrics.csv") as f:
        assert next(csv.reader(f))[-5:] == names
    assert (tmp_path / "sigmoid" / "grad_norms.png").stat().st_size > 0


@pytest.mark.parametrize("impl", ["concise", "manual"])
def test_grad_norms_are_the_same_in_every_twin(tiny_fashion, impl):
    mine, theirs = (fit(tiny(tiny_fashion, impl=i, grad_norms=True), progress=False) for i in (impl, "scratch"))
    for name in ("grad_norm_W1", "grad_norm_W2", "grad_norm_W3"):
        assert mine.final[name] == pytest.approx(theirs.final[name], rel=1e-4)
    assert "grad_norm_W1" not in fit(tiny(tiny_fashion), progress=False).final  # off unless asked for
