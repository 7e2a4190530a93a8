"""CSV runs end to end: classify and regress a table, hold out a share, a file or a fold, cross-validate,
then evaluate (the recorded table re-read) and predict raw rows; the real tables where they are."""
import json
from pathlib import Path

import pytest

from minidl import TrainConfig, evaluate_run, fit
from minidl.app.cli import main
from minidl.app.crossval import cross_validate, fold_scores

TABLES = Path(__file__).resolve().parents[2] / "shared" / "data" / "tables"
needs_tables = pytest.mark.skipif(not TABLES.is_dir(), reason=f"the real tables are not in {TABLES}")
CPU = ("--device", "cpu", "--no-plots")


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def pets(path: Path, n: int = 60) -> Path:
    """A table with a text column, whose kind follows from weight and colour (a learnable rule)."""
    rows = [(3 + i % 9, ("black", "white", "ginger")[i % 3]) for i in range(n)]
    kinds = ["dog" if w > 6 or c == "ginger" else "cat" for w, c in rows]
    path.write_text("weight,colour,kind\n" + "".join(f"{w},{c},{k}\n" for (w, c), k in zip(rows, kinds)))
    return path


def accuracy_of_predictions(lines: list[str], truth: list[str]) -> float:
    predicted = [line.split(" = ")[1].split(" (")[0] for line in lines]
    return sum(p == t for p, t in zip(predicted, truth)) / len(truth)


def test_a_text_column_table_trains_evaluates_and_predicts(capsys, tmp_path):
    table = pets(tmp_path / "pets.csv")
    code, out, _ = run(capsys, "train", "mlp", "--csv", table, "--target", "kind", "--hidden", "16", "--lr", "0.5",
                       "--batch-size", "8", "--epochs", "30", "--out", tmp_path / "run", *CPU)
    assert code == 0 and "test accuracy" in out
    state = __import__("torch").load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    facts = state["data"]
    assert facts["class_names"] == ["cat", "dog"] and facts["csv"] == str(table) and len(facts["csv_sha256"]) == 64
    assert facts["table"]["columns"]["columns"][1] == {"name": "colour", "categories": ["black", "ginger", "white"]}
    code, out, _ = run(capsys, "evaluate", tmp_path / "run")
    assert code == 0 and "test accuracy" in out
    (tmp_path / "rows.csv").write_text("weight,colour\n9,black\n3,white\n")
    code, out, _ = run(capsys, "predict", tmp_path / "run", tmp_path / "rows.csv")
    lines = out.splitlines()
    assert code == 0 and lines[0].startswith("row 1: kind = dog (") and lines[1].startswith("row 2: kind = cat (")


def test_predict_on_raw_test_rows_reproduces_evaluate(capsys, tmp_path):
    text = pets(tmp_path / "all.csv", n=90).read_text().splitlines()
    (tmp_path / "train.csv").write_text("\n".join(text[:61]) + "\n")
    (tmp_path / "test.csv").write_text("\n".join(text[:1] + text[61:]) + "\n")
    code, _, _ = run(capsys, "train", "softmax", "--csv", tmp_path / "train.csv", "--target", "kind",
                     "--test-csv", tmp_path / "test.csv", "--lr", "0.5", "--batch-size", "8", "--epochs", "10",
                     "--out", tmp_path / "run", *CPU)
    assert code == 0
    code, out, _ = run(capsys, "evaluate", tmp_path / "run")
    evaluated = float(out.split("test accuracy ")[1].split()[0])
    code, out, _ = run(capsys, "predict", tmp_path / "run", tmp_path / "test.csv")
    truth = [line.split(",")[-1] for line in text[61:]]
    assert code == 0 and len(out.splitlines()) == 30
    assert accuracy_of_predictions(out.splitlines(), truth) == pytest.approx(evaluated, abs=1e-4)


@needs_tables
def test_predict_reproduces_evaluate_on_the_penguins_held_out_rows(capsys, tmp_path):
    """The held-out rows of a --test-fraction run, written out raw (NA cells and all), predicted one by one."""
    from minidl.data.tables import load_table

    code, _, _ = run(capsys, "train", "mlp", "--csv", TABLES / "penguins.csv", "--target", "species", "--fill-missing",
                     "--hidden", "8", "--lr", "0.1", "--batch-size", "16", "--epochs", "3", "--out", tmp_path / "run", *CPU)
    assert code == 0
    _, out, _ = run(capsys, "evaluate", tmp_path / "run")
    evaluated = float(out.split("test accuracy ")[1].split()[0])
    _, test = load_table(TABLES / "penguins.csv", "species", classify=True, fill_missing=True).split(0.2, seed=0)
    lines = (TABLES / "penguins.csv").read_text().splitlines()
    (tmp_path / "held-out.csv").write_text("\n".join([lines[0]] + [lines[i + 1] for i in test.rows]) + "\n")
    _, out, _ = run(capsys, "predict", tmp_path / "run", tmp_path / "held-out.csv")
    truth = [lines[i + 1].split(",")[0] for i in test.rows]
    assert accuracy_of_predictions(out.splitlines(), truth) == pytest.approx(evaluated, abs=1e-4)


def test_folds_report_each_fold_and_the_mean(capsys, tmp_path):
    table = pets(tmp_path / "pets.csv")
    code, out, _ = run(capsys, "train", "softmax", "--csv", table, "--target", "kind", "--folds", "3",
                       "--lr", "0.5", "--batch-size", "8", "--epochs", "3", "--out", tmp_path / "cv", "--quiet", *CPU)
    lines = out.splitlines()
    assert code == 0 and [line.split(":")[0] for line in lines] == ["fold 1/3", "fold 2/3", "fold 3/3", "mean of 3 folds"]
    saved = json.loads((tmp_path / "cv" / "folds.json").read_text())
    assert len(saved["folds"]) == 3 and saved["mean"]["test_acc"] == pytest.approx(
        sum(f["test_acc"] for f in saved["folds"]) / 3)
    code, out, _ = run(capsys, "evaluate", tmp_path / "cv" / "fold-2")  # a fold is a run: its rows found again
    assert code == 0 and f"{saved['folds'][1]['test_acc']:.4f}" in out


def test_an_mlp_regresses_a_table_and_reports_r2(tmp_path):
    lines = ["area,kind,price"] + [f"{50 + i},{('flat', 'house')[i % 2]},{100 + 3 * i + 40 * (i % 2)}" for i in range(80)]
    (tmp_path / "houses.csv").write_text("\n".join(lines) + "\n")
    config = TrainConfig(model="mlp", task="regression", csv=str(tmp_path / "houses.csv"), target="price",
                         hidden=(16,), lr=0.05, batch_size=8, epochs=40, device="cpu", plots=False)
    assert config.task == "regress" and config.metric == "rmse"
    history = fit(config, progress=False)
    assert history.summary["test_r2"] > 0.9 and history.summary["test_rmse"] < 20
    assert evaluate_run(history)["test_r2"] == pytest.approx(history.summary["test_r2"])  # the table re-read
    folds = cross_validate(config.replace(folds=2, epochs=2), progress=False)
    assert len(fold_scores(folds)["folds"]) == 2


@needs_tables
def test_linreg_on_log_house_prices_is_near_scikit_learns_fold(tmp_path):
    """The first of 5 folds, minidl's linreg against scikit-learn's LinearRegression on the same rows."""
    linear = pytest.importorskip("sklearn.linear_model", reason="scikit-learn (the dev extra) is not installed")
    from minidl.data.tables import load_table

    config = TrainConfig(model="linreg", csv=str(TABLES / "windsor-houses.csv"), target="price", metric="log-rmse",
                         folds=5, fold=1, lr=0.01, batch_size=16, epochs=30, device="cpu", plots=False)
    history = fit(config, progress=False)
    train, test = load_table(config.csv, "price", log_target=True).fold(1, 5, seed=0)
    r2 = linear.LinearRegression().fit(train.X, train.y).score(test.X, test.y)
    assert history.summary["test_r2_log"] == pytest.approx(r2, abs=0.02)


# issue 28: with only --csv and --target, each table reaches scikit-learn's default estimator on the same folds
NO_FLAGS = [("iris.csv", "class", "softmax", False), ("wine.csv", "class", "softmax", False),
            ("penguins.csv", "species", "softmax", True), ("windsor-houses.csv", "price", "linreg", False)]


@pytest.fixture
def one_thread():
    """One torch thread: the tables are small, and a shared machine's threads only wait on each other."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def sklearn_folds(config: TrainConfig, k: int = 5) -> float:
    """Return scikit-learn's LogisticRegression accuracy (LinearRegression R^2) over the run's own k folds."""
    linear = pytest.importorskip("sklearn.linear_model", reason="scikit-learn (the dev extra) is not installed")
    from minidl.data.tables import load_table

    table = load_table(config.csv, config.target, classify=config.task == "classify", fill_missing=config.fill_missing)
    scores = []
    for i in range(1, k + 1):
        train, test = table.fold(i, k, seed=config.seed)
        model = linear.LogisticRegression() if table.classes else linear.LinearRegression()
        scores.append(model.fit(train.X.numpy(), train.y.numpy().ravel() if table.classes else train.y.numpy())
                      .score(test.X.numpy(), test.y.numpy()))
    return sum(scores) / k


@needs_tables
@pytest.mark.parametrize("name,target,model,fill", NO_FLAGS, ids=[row[0] for row in NO_FLAGS])
def test_with_no_flags_a_table_reaches_scikit_learns_figure_on_the_same_folds(tmp_path, one_thread, name, target,
                                                                              model, fill):
    config = TrainConfig(model=model, csv=str(TABLES / name), target=target, fill_missing=fill, folds=5,
                         out=str(tmp_path / "cv"), device="cpu", plots=False)
    ours = fold_scores(cross_validate(config, progress=False))["mean"]
    theirs = sklearn_folds(config)
    if model == "linreg":
        assert ours["test_r2"] >= theirs - 0.02, (ours, theirs)
    else:
        assert ours["test_acc"] >= theirs - 0.01, (ours, theirs)


@needs_tables
def test_with_no_flags_the_raw_penguins_reach_098_over_5_folds(capsys, tmp_path, one_thread):
    code, _, err = run(capsys, "train", "mlp", "--csv", TABLES / "penguins-raw.csv", "--target", "Species",
                         "--fill-missing", "--folds", "5", "--out", tmp_path / "cv", "--quiet", *CPU)
    assert code == 0 and json.loads((tmp_path / "cv" / "folds.json").read_text())["mean"]["test_acc"] >= 0.98
    assert err.count("--batch-size 16 --epochs 59 (chosen from the number of rows") == 1  # said once, not per fold
    assert "column 'Individual ID' left out" in err and "column 'Date Egg' read as dates" in err


def test_the_image_lessons_defaults_are_untouched_and_a_given_flag_wins(tmp_path):
    table = pets(tmp_path / "pets.csv")
    assert (TrainConfig(model="softmax").batch_size, TrainConfig(model="softmax").epochs) == (256, 10)
    chosen = TrainConfig(model="softmax", csv=str(table), target="kind")
    assert (chosen.batch_size, chosen.epochs) == (8, 100)  # 60 rows: batches of 8, 100 epochs (at most)
    assert TrainConfig(model="softmax", csv=str(table), target="kind", batch_size=32).batch_size == 32


def test_a_class_with_no_test_rows_reads_null_and_the_split_says_so(capsys, tmp_path):
    lines = [f"{i % 9},{('a', 'b')[i % 2]}" for i in range(40)] + ["5,rare"]  # one row: it lands in training
    (tmp_path / "t.csv").write_text("x,kind\n" + "\n".join(lines) + "\n")
    code, _, err = run(capsys, "train", "softmax", "--csv", tmp_path / "t.csv", "--target", "kind", "--epochs", "2",
                       "--out", tmp_path / "run", *CPU)
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert code == 0 and summary["per_class_acc"]["rare"] is None and summary["confusion"][2] == [0, 0, 0]
    assert err.count("no row of class 'rare'") == 1 and "its test figures read null" in err
    code, out, _ = run(capsys, "evaluate", tmp_path / "run")
    assert code == 0 and "rare  null (no test rows)" in out
    from minidl.training.plots import confusion_labels# the confusion figure's row labels

    import numpy as np

    assert confusion_labels(np.array(summary["confusion"]), ["a", "b", "rare"])[2] == "rare (no test rows)"


def test_a_single_class_target_is_refused_in_one_line(capsys, tmp_path):
    (tmp_path / "t.csv").write_text("x,kind\n" + "".join(f"{i},ant\n" for i in range(10)))
    code, _, err = run(capsys, "train", "softmax", "--csv", tmp_path / "t.csv", "--target", "kind",
                       "--out", tmp_path / "run", *CPU)
    assert code == 2 and err.count("\n") == 1 and "holds one class only ('ant')" in err
    assert not (tmp_path / "run").exists()
    sklearn = pytest.importorskip("minidl.sklearn", reason="scikit-learn (the dev extra) is not installed")
    import numpy as np

    with pytest.raises(ValueError, match="one class only"):
        sklearn.MLPClassifier(max_iter=1).fit(np.zeros((8, 2), dtype=np.float32), np.zeros(8, dtype=np.int64))
