"""The recipes: every preset is a valid run config, and the fast one beats the lesson on the real data."""
import pytest
import torch

from minidl.config.train import TrainConfig, cli_flag
from minidl.data.fashion_mnist import load_fashion_mnist
from minidl.data.standardize import EPS
from minidl.errors import ConfigError
from minidl.training.flip import FlipAveraged, mirrored
from minidl.app.inference import evaluate_run, predict
from minidl.training.models import build_model
from minidl.app.recipes import ABOUT, RECIPES, describe, expand
from minidl.sources.registry import load_run_data
from minidl.training.fit import fit


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_each_recipe_is_a_valid_mlp_config_and_described(name):
    config = TrainConfig(model="mlp", **expand(name, {}))  # validated as any run's flags
    assert all(getattr(config, field) == value for field, value in RECIPES[name].items())
    text = describe(name, {})
    assert ABOUT[name] in text and all(cli_flag(field) in text for field in RECIPES[name])


def test_fashion_mlp_chooses_its_epoch_on_a_validation_set_and_fast_holds_nothing_out():
    assert RECIPES["fashion-mlp"]["val_fraction"] > 0  # the test set never chooses the epoch
    assert RECIPES["fashion-fast"].get("val_fraction", 0) == 0


def test_the_fast_recipe_beats_the_lessons_accuracy(fashion_root):
    lesson = fit(TrainConfig(model="mlp", data_dir=str(fashion_root), device="cpu", plots=False), progress=False)
    fast = fit(TrainConfig(model="mlp", data_dir=str(fashion_root), device="cpu", plots=False,
                           **RECIPES["fashion-fast"]), progress=False)
    assert fast.final["test_acc"] > lesson.final["test_acc"]
    assert fast.summary["epochs"] < lesson.summary["epochs"] and fast.config.batch_size > lesson.config.batch_size


# --- test-time flips ---------------------------------------------------------------------------

def test_mirrored_flips_each_row_of_pixels_and_refuses_flat_inputs():
    X = torch.arange(8.0).reshape(2, 2, 2)
    assert mirrored(X)[0].tolist() == [[1.0, 0.0], [3.0, 2.0]]
    colour = torch.rand(2, 3, 4, 4)  # (B, C, side, side): each channel flipped alike, none swapped
    assert torch.equal(mirrored(colour)[:, 1, :, 0], colour[:, 1, :, 3])
    assert torch.equal(mirrored(mirrored(colour)), colour)
    with pytest.raises(ConfigError, match="square images"):
        mirrored(torch.rand(2, 784))


@pytest.mark.parametrize("impl", ["scratch", "concise", "manual"])
def test_flip_averaged_is_the_mean_log_probability_of_both_views(impl):
    model = build_model("mlp", impl, num_inputs=16, hidden=(8,), num_outputs=3, seed=1)
    X = torch.rand(5, 4, 4)
    scorer = FlipAveraged(model).eval()
    with torch.no_grad():
        expected = (torch.log_softmax(model(X), 1) + torch.log_softmax(model(X.flip(-1)), 1)) / 2
        torch.testing.assert_close(scorer(X), expected)
    assert not model.training and scorer.train().training and model.training


# --- per-pixel standardisation ----------------------------------------------------------------

def tiny(tiny_fashion, **kw):
    base = {"model": "mlp", "hidden": (32,), "epochs": 2, "lr": 0.1, "batch_size": 64, "device": "cpu",
            "data_dir": str(tiny_fashion), "plots": False}
    return TrainConfig(**{**base, **kw})


def test_standardize_uses_the_training_examples_statistics_for_every_split(tiny_fashion):
    raw = load_run_data(tiny(tiny_fashion, val_fraction=0.2), "cpu")
    data = load_run_data(tiny(tiny_fashion, val_fraction=0.2, standardize=True), "cpu")
    mean, std = raw.train.X.mean(0), raw.train.X.std(0, correction=0) + EPS  # the training split alone
    for split in ("train", "val", "test"):
        torch.testing.assert_close(getattr(data, split).X, (getattr(raw, split).X - mean) / std)
    assert data.facts()["pixels"]["mean"][:3] == pytest.approx(mean.flatten()[:3].tolist())
    assert "pixels" not in raw.facts()


def test_a_standardized_run_predicts_and_evaluates_raw_images_as_it_was_scored(tiny_fashion, tmp_path):
    history = fit(tiny(tiny_fashion, standardize=True, out=str(tmp_path / "run")), progress=False)
    _, _, X_test, y_test = load_fashion_mnist(tiny_fashion)  # uint8, as a user has them
    for run in (history, tmp_path / "run"):
        assert (predict(run, X_test) == y_test).float().mean().item() == pytest.approx(history.final["test_acc"])
        assert evaluate_run(run, X_test, y_test)["acc"] == pytest.approx(history.final["test_acc"])


def test_tta_flip_scores_the_runs_test_set_with_both_views(tiny_fashion):
    history = fit(tiny(tiny_fashion, tta_flip=True), progress=False)
    data = load_run_data(tiny(tiny_fashion), "cpu")
    with torch.no_grad():
        scores = FlipAveraged(history.model.eval())(data.test.X)
    assert (scores.argmax(1) == data.test.y).float().mean().item() == pytest.approx(history.final["test_acc"])


def test_a_standardized_run_resumes_exactly(tiny_fashion, tmp_path):
    straight = fit(tiny(tiny_fashion, epochs=3, standardize=True, val_fraction=0.2, out=str(tmp_path / "a")),
                   progress=False)
    fit(tiny(tiny_fashion, epochs=1, standardize=True, val_fraction=0.2, out=str(tmp_path / "b")), progress=False)
    resumed = fit(tiny(tiny_fashion, epochs=3, standardize=True, val_fraction=0.2, out=str(tmp_path / "b")),
                  resume=tmp_path / "b", progress=False)
    assert [{k: v for k, v in r.items() if k != "seconds"} for r in resumed.rows] == \
        [{k: v for k, v in r.items() if k != "seconds"} for r in straight.rows]


def test_the_twins_train_alike_on_standardized_inputs(tiny_fashion):
    rows = {impl: fit(tiny(tiny_fashion, impl=impl, standardize=True, momentum=0.9, nesterov=True, lr=0.02),
                      progress=False).rows for impl in ("scratch", "concise", "manual")}
    for impl in ("concise", "manual"):
        for mine, theirs in zip(rows[impl], rows["scratch"]):
            assert mine["train_loss"] == pytest.approx(theirs["train_loss"], rel=1e-4)
            assert mine["test_acc"] == pytest.approx(theirs["test_acc"], abs=0.01)


@pytest.mark.parametrize("name", ["fashion-mlp", "fashion-fast"])
@pytest.mark.parametrize("given", [{"model": "softmax"}, {"model": "mlp", "hidden": (64, 32)}])
def test_a_recipe_adapts_to_the_model_and_depth_the_user_gave(name, given):
    from minidl.app.recipes import expand
    from minidl.config.train import TrainConfig

    config = TrainConfig(**expand(name, given))  # never a flag the user did not type refused
    assert config.model == given["model"] and (config.hidden == given.get("hidden", config.hidden))
