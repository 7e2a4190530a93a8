"""Run folders written by minidl 0.1.0 (before the package was laid out in rooms) still evaluate and resume.

``tests/fixtures/release-0.1/`` holds three folders the 0.1.0 code wrote (commit 944ad0c): an MLP
on the stand-in Fashion-MNIST (``write_fake_fashion_mnist``, seed 0), a linear regression of
``examples/data/houses.csv`` and one of the synthetic line, two epochs each.
"""
import json
import shutil
from pathlib import Path

import pytest

from minidl.app.cli import main
from minidl.app.inference import evaluate_run, load_run

FIXTURES = Path(__file__).parent / "fixtures" / "release-0.1"
HOUSES = Path(__file__).resolve().parents[1] / "examples" / "data" / "houses.csv"
DATA_FLAGS = {"mlp": lambda tiny: ["--data-dir", str(tiny)], "linreg-csv": lambda tiny: ["--csv", str(HOUSES)],
              "linreg": lambda tiny: []}


@pytest.fixture
def release_run(tmp_path):
    def copy(name: str) -> Path:
        return Path(shutil.copytree(FIXTURES / name, tmp_path / name))
    return copy


@pytest.mark.parametrize("name", sorted(DATA_FLAGS))
def test_a_release_run_evaluates_to_its_own_figures(name, release_run, tiny_fashion, capsys):
    folder = release_run(name)
    final = json.loads((folder / "summary.json").read_text())["final"]
    assert main(["evaluate", str(folder), *DATA_FLAGS[name](tiny_fashion)]) == 0
    assert "test" in capsys.readouterr().out
    run = load_run(folder)
    kwargs = {"data_dir": str(tiny_fashion)} if name == "mlp" else {"csv": str(HOUSES)} if name == "linreg-csv" else {}
    scores = evaluate_run(run, **kwargs)
    assert scores["loss"] == pytest.approx(final["test_loss"], rel=1e-4)
    if "test_acc" in final:
        assert scores["acc"] == pytest.approx(final["test_acc"], abs=1e-6)


@pytest.mark.parametrize("name", sorted(DATA_FLAGS))
def test_a_release_run_resumes_where_it_stopped(name, release_run, tiny_fashion, capsys):
    folder = release_run(name)
    before = (folder / "metrics.csv").read_text().splitlines()
    assert main(["train", "--resume", str(folder), "--epochs", "3", "--no-plots", *DATA_FLAGS[name](tiny_fashion)]) == 0
    after = (folder / "metrics.csv").read_text().splitlines()
    assert after[:len(before)] == before and len(after) == len(before) + 1  # its two epochs kept, one more
    record = json.loads((folder / "config.json").read_text())
    assert record["resumes"][-1]["at_epoch"] == 2 and record["config"]["epochs"] == 2
    assert json.loads((folder / "summary.json").read_text())["epochs"] == 3
