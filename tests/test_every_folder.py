"""Commands take every folder minidl writes: compare a --folds output, plot run --out, evaluate's data kinds."""
import os

import pytest

from minidl.app.cli import main

CPU = ("--device", "cpu", "--no-plots")


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def pets(path):
    rows = [(3 + i % 9, ("black", "white", "ginger")[i % 3]) for i in range(60)]
    kinds = ["dog" if w > 6 or c == "ginger" else "cat" for w, c in rows]
    path.write_text("weight,colour,kind\n" + "".join(f"{w},{c},{k}\n" for (w, c), k in zip(rows, kinds)))
    return path


@pytest.fixture
def folds(capsys, tmp_path):
    code, _, _ = run(capsys, "train", "softmax", "--csv", pets(tmp_path / "pets.csv"), "--target", "kind",
                     "--folds", "3", "--lr", "0.5", "--batch-size", "8", "--epochs", "2", "--out", tmp_path / "cv",
                     "--quiet", *CPU)
    assert code == 0
    return tmp_path / "cv"


def test_compare_on_a_folds_folder_compares_its_folds_and_their_mean(capsys, folds, tmp_path):
    code, out, err = run(capsys, "compare", folds, "--out", tmp_path / "cv.png")
    lines = out.splitlines()
    names = [line.split()[0] for line in lines[1:-1]]
    assert code == 0 and names == ["cv/fold-1", "cv/fold-2", "cv/fold-3", "cv/mean"], out + err
    column = lines[0].split().index("final_test_acc")
    accs = [float(line.split()[column]) for line in lines[1:4]]
    mean = lines[4].split()
    assert float(mean[column - 1]) == pytest.approx(sum(accs) / 3, abs=1e-4)  # the mean row has no epochs cell
    assert (tmp_path / "cv.png").is_file()


def test_plot_run_out_draws_the_figures_in_another_folder(capsys, tmp_path):
    code, _, _ = run(capsys, "train", "linreg", "--epochs", "2", "--out", tmp_path / "run", "--quiet",
                     "--device", "cpu")
    assert code == 0
    before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "run").iterdir()}
    code, out, err = run(capsys, "plot", "run", tmp_path / "run", "--out", tmp_path / "figures" / "linreg")
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "figures" / "linreg").iterdir()) == ["curves.png", "fit.png"]
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "run").iterdir()} == before
    assert f"wrote {tmp_path / 'figures' / 'linreg' / 'curves.png'}" in out


def test_plot_run_out_a_file_is_one_line(capsys, tmp_path):
    (tmp_path / "taken").write_text("")
    code, _, err = run(capsys, "plot", "run", tmp_path, "--out", tmp_path / "taken")
    assert code == 2 and "--out" in err and "is a file" in err and err.count("\n") == 1


def test_evaluate_an_image_run_given_a_csv_says_what_it_was_trained_on(capsys, tiny_fashion, tmp_path):
    code, _, _ = run(capsys, "train", "softmax", "--epochs", "1", "--data-dir", tiny_fashion, "--out",
                     tmp_path / "run", "--quiet", *CPU)
    assert code == 0
    code, _, err = run(capsys, "evaluate", tmp_path / "run", "--csv", pets(tmp_path / "pets.csv"))
    assert code == 2 and err.count("\n") == 1
    assert "was trained on the fashion-mnist IDX image set, not a CSV table: leave out --csv" in err


def test_evaluate_a_csv_run_given_a_data_dir_names_its_table(capsys, folds, tmp_path):
    code, _, err = run(capsys, "evaluate", folds / "fold-1", "--data-dir", tmp_path)
    assert code == 2 and err.count("\n") == 1
    assert f"was trained on the CSV table {tmp_path / 'pets.csv'} (target kind), not images" in err
    assert "give --csv for its table moved" in err


def test_the_python_path_names_the_parameter(tmp_path):
    from minidl import TrainConfig, fit
    from minidl.errors import DatasetError
    from minidl.app.inference import evaluate_run

    history = fit(TrainConfig(model="linreg", epochs=1, device="cpu", plots=False, out=str(tmp_path / "r")),
                  progress=False)
    with pytest.raises(DatasetError, match=r"synthetic line data, not a CSV table: leave out csv") as e:
        evaluate_run(history.run_dir or tmp_path / "r", csv=os.devnull)
    assert "--" not in str(e.value)
