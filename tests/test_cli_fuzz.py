"""Every command, fed bad arguments: exit status 2, exactly one line on stderr, no traceback, and
not a file of the working folder changed (none written, none touched, none removed).

The working folder holds what a user's would: a linear-regression run, an MLP run, a CSV table, an
image, a text file, a broken checkpoint and a folder of the user's own. Commands that would go to
the network (a download) are left out.
"""
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from minidl.app.cli import main

TINY = "{tiny}"  # replaced by the stand-in Fashion-MNIST folder
BAD = [
    # train: values, choices, flags that do not apply or go together
    "train", "train cnn", "train mlp --lr 0", "train mlp --lr -1", "train mlp --lr nan", "train mlp --lr inf",
    "train mlp --lr fast", "train mlp --batch-size 0", "train mlp --batch-size -3", "train mlp --batch-size 1.5",
    "train mlp --epochs 0", "train mlp --epochs x", "train mlp --hidden 0", "train mlp --hidden", "train mlp --hidden -5",
    "train mlp --activation swishy", "train mlp --init zeros", "train mlp --optimizer rmsprop",
    "train mlp --impl scratch --optimizer adam", "train mlp --impl numpy", "train mlp --device tpu",
    "train mlp --seed -1", f"train mlp --seed {2**64}", "train mlp --frobnicate",
    "train mlp --nproc 0", "train mlp --nproc two", "train mlp --nproc 2 --batch-size 255",
    "train softmax --hidden 512", "train softmax --activation gelu", "train softmax --csv table.csv --target price --task regress",
    "train linreg --data-dir data", "train linreg --csv table.csv", "train linreg --target price",
    "train linreg --examples 0", "train linreg --examples 10000000000", f"train mlp --hidden 100000000 --data-dir {TINY}",
    # train: data that is missing or wrong
    "train linreg --csv missing.csv --target price", "train linreg --csv table.csv --target nope",
    "train linreg --csv notes.txt --target price", "train linreg --csv empty.csv --target price",
    "train linreg --csv words.csv --target price", "train mlp --data-dir /no/such/folder", "train mlp --data-dir notes.txt",
    # train: tables that are wrong, and table flags that do not go together
    "train mlp --csv gaps.csv --target kind", "train mlp --csv gaps.csv --target size --task regress --fill-missing",
    "train softmax --csv kinds.csv --target kind --test-csv unseen.csv",
    "train softmax --csv kinds.csv --target kind --test-csv newclass.csv",
    "train softmax --csv kinds.csv --target kind --test-csv missing.csv", "train softmax --csv kinds.csv --target size",
    "train softmax --csv kinds.csv --target kind --folds 1", "train softmax --csv kinds.csv --target kind --folds 99",
    "train softmax --csv kinds.csv --target kind --folds 3 --test-fraction 0.2",
    "train softmax --csv kinds.csv --target kind --fold 2", "train softmax --csv kinds.csv --target kind --folds 3 --fold 4",
    "train softmax --csv kinds.csv --target kind --metric log-rmse", "train mlp --csv kinds.csv --target kind --task guess",
    "train linreg --csv table.csv --target price --task classify", "train mlp --fill-missing", "train mlp --folds 5",
    "train linreg --csv kinds.csv --target size --metric log-rmse", "train mlp --csv kinds.csv --target kind --images data",
    # train: column roles, number formats, one class (issue 28)
    "train softmax --csv kinds.csv --target kind --columns nope", "train softmax --csv kinds.csv --target kind --drop kind",
    "train softmax --csv kinds.csv --target kind --drop size colour", "train softmax --csv kinds.csv --target kind --columns",
    "train mlp --columns size", "train mlp --drop size", "train mlp --keep-ids",
    "train softmax --csv oneclass.csv --target kind", "train linreg --csv commas.csv --target price",
    "train softmax --csv kinds.csv --target kind --test-csv manyclasses.csv",
    # train: image folder flags
    "train mlp --channels 3", "train mlp --channels 2", "train softmax --images data --channels 2",
    "train mlp --images data --channels 0", "train mlp --images data --channels rgb", "train linreg --channels 3",
    "train --resume mlprun --epochs 9 --channels 3",
    # train: run folders
    "train linreg --out mine", "train linreg --out linrun", "train linreg --out table.csv", "train linreg --out .",
    "train linreg --allow-changes", "train --resume /no/such/run", "train --resume mine", "train --resume bad.pt",
    "train --resume linrun", "train --resume linrun --epochs 1", "train --resume linrun --epochs 9 --batch-size 7",
    "train --resume linrun --epochs 9 --seed 3", "train --resume linrun --epochs 9 --out other",
    "train --resume linrun --epochs 9 --examples 50", "train --resume mlprun --epochs 9 --hidden 16",
    "train --resume mlprun --epochs 9 --data-dir {other}",
    # evaluate
    "evaluate", "evaluate /no/such/run", "evaluate bad.pt", "evaluate notes.txt", "evaluate mine",
    "evaluate linrun --data-dir data", "evaluate linrun --csv table.csv", "evaluate mlprun --csv table.csv",
    "evaluate mlprun --data-dir {other}", "evaluate mlprun --data-dir /no/such/folder", "evaluate linrun --bogus",
    # predict
    "predict", "predict mlprun", "predict /no/such/run x.png", "predict bad.pt image.png", "predict mlprun notes.txt",
    "predict mlprun missing.png", "predict mlprun image.png --top 0", "predict mlprun image.png --top -2",
    "predict mlprun image.png --top x", "predict mlprun image.png --invert maybe", "predict linrun image.png",
    "predict linrun table.csv table.csv", "predict linrun missing.csv",
    "predict tablerun unseen.csv", "predict tablerun extra.csv", "predict tablerun gaps.csv", "predict tablerun image.png",
    "evaluate tablerun --csv table.csv",
    # plot
    "plot", "plot bogus", "plot activations --out plot.txt", "plot activations --out mine",
    "plot activations --out /no/such/folder/a.png", "plot run", "plot run /no/such/run", "plot run mine",
    "plot run notes.txt", "plot run linrun --data-dir data", "plot run mlprun --csv table.csv",
    # data (no command that would download)
    "data", "data bogus", "data info --data-dir /no/such/folder", "data info --data-dir notes.txt",
    f"data show --n 0 --data-dir {TINY}", f"data show --n 100000 --data-dir {TINY}", "data show --n x",
    f"data show --out a.txt --data-dir {TINY}", f"data show --out mine --data-dir {TINY}",
    "data download --data-dir notes.txt", "data show --data-dir /no/such/folder", "--bogus", "",
    # past the lesson: momentum, schedules, validation, early stopping, shifts, recipes, lr-find, compare
    "train mlp --momentum 1", "train mlp --momentum -0.5", "train mlp --nesterov", "train mlp --schedule warm",
    "train mlp --schedule step", "train mlp --gamma 0.5", "train mlp --schedule step --step-size 0",
    "train mlp --warmup -1", "train mlp --val-fraction 1", "train mlp --val-fraction -0.1", "train mlp --patience 0",
    "train mlp --min-delta 0.1", "train mlp --shift 9", "train linreg --shift 1", "train mlp --recipe nope",
    "train --resume mlprun --recipe lesson", "train mlp --label-smoothing 1", "train linreg --label-smoothing 0.1", "train mlp --impl concise --optimizer adam --momentum 0.9",
    "train linreg --standardize", "train linreg --tta-flip", "train softmax --standardize yes",
    "train mlp --csv table.csv --target y --standardize", "train mlp --csv table.csv --target y --tta-flip",
    "lr-find", "lr-find cnn", "lr-find mlp --steps 1", "lr-find mlp --out plot.txt", "lr-find mlp --out mine",
    "lr-find mlp --data-dir /no/such/folder", "lr-find mlp --recipe nope",
    "compare", "compare /no/such/run", "compare notes.txt", "compare mine", "compare mlprun --out plot.txt",
    "compare mlprun --out mine", "compare mlprun --csv /no/such/folder/t.csv",
    # in other tools: TensorBoard, MLflow, export
    "train mlp --mlflow mlruns.db", "train mlp --mlflow sqlite:/m.db", "train mlp --mlflow ftp://host/m",
    "train mlp --mlflow-experiment lesson", "lr-find mlp --tensorboard", "lr-find mlp --mlflow sqlite:///m.db",
    f"train mlp --hidden 8 --epochs 1 --data-dir {TINY} --mlflow sqlite:///no/such/folder/m.db",
    f"train mlp --hidden 8 --epochs 1 --data-dir {TINY} --mlflow http://127.0.0.1:9",
    "train --resume linrun --epochs 1 --mlflow sqlite:///m.db", "train --resume linrun --epochs 9 --mlflow m.db",
    "export", "export mlprun", "export mlprun --format onnx", "export mlprun --out m.onnx",
    "export mlprun --format pdf --out m.pdf", "export /no/such/run --format onnx --out m.onnx",
    "export mine --format onnx --out m.onnx", "export data --format onnx --out m.onnx",
    "export notes.txt --format torchscript --out m.pt", "export bad.pt --format onnx --out m.onnx",
    "export mlprun --format onnx --out /no/such/folder/m.onnx", "export mlprun --format onnx --out mine",
    "export mlprun --format torchscript --out /proc/m.pt", "export mlprun --format onnx --out m.onnx --bogus",
    # every folder minidl writes: a --folds folder, plot run --out DIR, evaluate given another data kind's option
    "compare emptycv", "plot run linrun --out table.csv", "plot run mlprun --out notes.txt", "plot run linrun --out",
    "evaluate tablerun --data-dir data", "evaluate mlprun --csv kinds.csv", "plot run tablerun --data-dir data",
    "plot run linrun --csv table.csv", "lr-find linreg --steps 9", "lr-find linreg --csv table.csv",
    "lr-find linreg --csv table.csv --target nope", "train mlp --warmup 5 --epochs 3", "train mlp --warmup 3 --epochs 3",
    "train mlp --degree 3", "train softmax --hidden 256", "lr-find mlp --lr 1", "lr-find mlp --schedule cosine",
]
# a missing extra: the module made unimportable, the command line that needs it
MISSING_EXTRA = [
    ("tensorboard", f"train mlp --hidden 8 --epochs 1 --data-dir {TINY} --tensorboard --out tb"),
    ("mlflow", f"train mlp --hidden 8 --epochs 1 --data-dir {TINY} --mlflow sqlite:///m.db --out ml"),
    ("onnx", "export mlprun --format onnx --out m.onnx"),
    ("onnxscript", "export mlprun --format onnx --out m.onnx"),
]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, tiny_fashion, make_fake_fashion):
    """A working folder with runs, tables and files in it, made once for every case."""
    work = tmp_path_factory.mktemp("work")
    other = make_fake_fashion(tmp_path_factory.mktemp("other-fashion"), n_train=100, n_test=50, seed=1)
    cwd = os.getcwd()
    os.chdir(work)
    try:
        assert main(["train", "linreg", "--epochs", "2", "--out", "linrun", "--device", "cpu"]) == 0
        kinds(work)
        assert main(["train", "softmax", "--csv", "kinds.csv", "--target", "kind", "--epochs", "1", "--out",
                     "tablerun", "--no-plots", "--device", "cpu"]) == 0
        assert main(["train", "mlp", "--hidden", "8", "--epochs", "1", "--batch-size", "100", "--data-dir",
                     str(tiny_fashion), "--out", "mlprun", "--no-plots", "--device", "cpu"]) == 0
    finally:
        os.chdir(cwd)
    (work / "table.csv").write_text("area,age,price\n" + "".join(f"{i},{i % 7},{3 * i + 1}\n" for i in range(30)))
    (work / "words.csv").write_text("area,age,price\n1,2,3\n4,five,6\n")
    (work / "oneclass.csv").write_text("size,kind\n" + "".join(f"{i},ant\n" for i in range(10)))  # one class
    (work / "commas.csv").write_text('area,price\n"1,5",3\n"2,25",4\n')  # decimal commas: not thousands
    (work / "manyclasses.csv").write_text("size,colour,kind\n" + "".join(f"1,red,k{i}\n" for i in range(9)))
    (work / "empty.csv").write_text("")
    (work / "notes.txt").write_text("not an image, not a table\n")
    (work / "bad.pt").write_bytes(b"\x80\x04 not a checkpoint")
    Image.fromarray(np.full((28, 28), 200, dtype=np.uint8)).save(work / "image.png")
    (work / "mine").mkdir()
    (work / "mine" / "config.json").write_text('{"my": 1}')
    (work / "data").mkdir()
    (work / "emptycv").mkdir()  # a --folds folder whose folds are gone
    (work / "emptycv" / "folds.json").write_text('{"folds": [], "mean": {}}')
    return work, {"tiny": str(tiny_fashion), "other": str(other)}


def kinds(work: Path) -> None:
    """Write the tables of text and numbers the table cases read: a good one, and bad ones beside it."""
    rows = [f"{(i % 10 - 5) / 2},{('red', 'green', 'blue')[i % 3]},{('ant', 'bee')[i % 2]}" for i in range(30)]
    (work / "kinds.csv").write_text("size,colour,kind\n" + "\n".join(rows) + "\n")
    (work / "unseen.csv").write_text("size,colour,kind\n1,purple,ant\n")  # a category training never saw
    (work / "newclass.csv").write_text("size,colour,kind\n1,red,wasp\n")  # a class training never saw
    (work / "extra.csv").write_text("size,colour,weight\n1,red,3\n")  # a column training never saw
    (work / "gaps.csv").write_text("size,colour,kind\n1,red,ant\n2,NA,bee\n,blue,\n")  # NA cells, a missing target


def snapshot(folder: Path) -> dict:
    """Return every file and folder below ``folder`` with its size, mode and modification time."""
    return {str(p.relative_to(folder)): (p.is_dir(), p.stat().st_size, p.stat().st_mode, p.stat().st_mtime_ns)
            for p in folder.rglob("*")}


def test_the_table_is_big_enough():
    assert len(BAD) >= 60 and len(set(BAD)) == len(BAD)
    assert {line.split()[0] for line in BAD if line and not line.startswith("-")} == {
        "train", "evaluate", "predict", "plot", "data", "lr-find", "compare", "export"}


@pytest.mark.parametrize("line", BAD)
def test_a_bad_command_line_is_one_line_exit_2_and_changes_nothing(capsys, monkeypatch, workspace, line):
    work, names = workspace
    argv = [arg.format(**names) for arg in line.split()]
    monkeypatch.chdir(work)
    before = snapshot(work)
    try:
        code = main(argv)
    except SystemExit as e:  # argparse's own mistakes (an unknown flag, a missing argument)
        code = e.code
    out, err = capsys.readouterr()
    assert code == 2, (line, out, err)
    assert err.count("\n") == 1 and err.startswith("minidl") and "Traceback" not in err, (line, err)
    assert snapshot(work) == before, line


@pytest.mark.parametrize("module, line", MISSING_EXTRA)
def test_a_flag_whose_extra_is_missing_is_one_line_naming_it(capsys, monkeypatch, workspace, module, line):
    work, names = workspace
    monkeypatch.chdir(work)
    monkeypatch.setitem(sys.modules, module, None)  # import MODULE now raises ImportError
    before = snapshot(work)
    code = main([arg.format(**names) for arg in line.split()])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, (line, err)
    assert "needs the optional extra" in err and "pip install 'minidl[" in err, err
    assert snapshot(work) == before, line
