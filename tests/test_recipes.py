"""The recipes: every preset is a valid run config, and the fast one beats the lesson on the real data."""
import pytest
import torch

from minidl.config import TrainConfig, cli_flag
from minidl.errors import ConfigError
from minidl.flip import FlipAveraged, mirrored
from minidl.models import build_model
from minidl.recipes import ABOUT, RECIPES, describe, expand
from minidl.train import fit


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
    assert torch.equal(mirrored(colour)[:, 1, :, 0], colour[:, 1, :, 3]) and torch.equal(mirrored(mirrored(colour)), colour)
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
