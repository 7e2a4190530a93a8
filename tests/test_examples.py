"""The lessons in examples/ run as scripts on the real Fashion-MNIST and print the book's output."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
EPOCH_LINE = re.compile(r"^epoch (\d+), loss (\d+\.\d{4}), train acc (\d\.\d{3}), test acc (\d\.\d{3})$",
                        re.MULTILINE)
LINREG_LINE = re.compile(r"^epoch (\d+), loss (\d+\.\d{6})$", re.MULTILINE)
CLASSIFIERS = ["softmax_regression_scratch", "softmax_regression_concise", "mlp_scratch", "mlp_concise"]


def run_example(name: str, cwd: Path, data: Path, epochs: int | None = 1) -> str:
    """Return the stdout of `python examples/{name}.py` run in `cwd`; fail with its output on error."""
    env = {**os.environ, "MINIDL_DATA_DIR": str(data), "MPLBACKEND": "Agg"}
    env.pop("MINIDL_EXAMPLE_EPOCHS", None)
    if epochs is not None:
        env["MINIDL_EXAMPLE_EPOCHS"] = str(epochs)
    done = subprocess.run([sys.executable, str(EXAMPLES / f"{name}.py")], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{name} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_every_example_is_tested():
    assert {p.stem for p in EXAMPLES.glob("*.py")} == {
        *CLASSIFIERS, "linear_regression_scratch", "linear_regression_concise", "activation_functions"}


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_classifier_lessons_print_the_books_epoch_lines(name, fashion_root, tmp_path):
    out = run_example(name, tmp_path, fashion_root)
    epochs = EPOCH_LINE.findall(out)
    assert [int(e[0]) for e in epochs] == [1], out
    loss, train_acc, test_acc = map(float, epochs[0][1:])
    assert 0.2 < loss < 2 and train_acc > 0.5 and test_acc > 0.5, out  # loss per example
    assert all(p.parent == tmp_path for p in tmp_path.rglob("*"))  # figures land in the cwd only


@pytest.mark.parametrize("name", ["linear_regression_scratch", "linear_regression_concise"])
def test_linear_regression_lessons_recover_the_weights(name, tmp_path):
    out = run_example(name, tmp_path, tmp_path, epochs=None)  # no data files needed
    losses = [float(loss) for _, loss in LINREG_LINE.findall(out)]
    assert len(losses) == 3 and losses[-1] < 1e-3, out
    assert "error in estimating w" in out and "error in estimating b" in out


def test_activation_functions_save_their_plots_in_the_current_folder(tmp_path):
    out = run_example("activation_functions", tmp_path, tmp_path, epochs=None)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [f"activation_functions-{i}-{label}.png" for i, label in enumerate(
        ["relu_x", "grad_of_relu", "sigmoid_x", "grad_of_sigmoid", "tanh_x", "grad_of_tanh"], 1)]
    assert out.count("saved figure to") == 6


def test_mlp_concise_reaches_the_books_accuracy_in_its_5_epochs(fashion_root, tmp_path):
    out = run_example("mlp_concise", tmp_path, fashion_root, epochs=None)
    epochs = EPOCH_LINE.findall(out)
    assert len(epochs) == 5 and float(epochs[-1][3]) >= 0.82, out


def test_scratch_softmax_reaches_the_books_accuracy_in_its_5_epochs(fashion_root, tmp_path):
    out = run_example("softmax_regression_scratch", tmp_path, fashion_root, epochs=None)
    epochs = EPOCH_LINE.findall(out)
    assert len(epochs) == 5 and float(epochs[-1][3]) >= 0.80, out
    assert [p.name for p in tmp_path.iterdir()] == ["softmax_regression_scratch-1-fashion_mnist.png"]
