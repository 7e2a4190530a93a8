"""The `minidl` command: every mistake is one line and exit status 2; the commands do their job."""
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from minidl.app.cli import main
from minidl.lessons.choices import ACTIVATIONS


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def train_tiny(capsys, tiny_fashion, out, *extra):
    return run(capsys, "train", "mlp", "--data-dir", str(tiny_fashion), "--hidden", "32", "--lr", "0.1",
               "--batch-size", "64", "--epochs", "2", "--device", "cpu", "--out", str(out), *extra)


@pytest.mark.parametrize("argv,message", [
    (["train", "cnn"], "unknown model 'cnn'"),
    (["train", "mlp", "--lr", "0"], "learning rate (--lr) must be a positive number, got 0"),
    (["train", "mlp", "--lr", "-1"], "got -1"),
    (["train", "mlp", "--batch-size", "0"], "batch size (--batch-size) must be a whole number >= 1, got 0"),
    (["train", "mlp", "--epochs", "0"], "(--epochs) must be a whole number >= 1, got 0"),
    (["train", "mlp", "--activation", "swishy"], "unknown activation 'swishy'"),
    (["train", "mlp", "--impl", "scratch", "--optimizer", "adam"], "--impl concise"),
    (["train", "softmax", "--csv", "x.csv", "--target", "y", "--task", "regress"], "softmax only classifies"),
        (["train", "softmax", "--hidden", "512"], "--hidden does not apply to softmax; it is for mlp"),
        (["train", "mlp", "--seed", str(2**64)], "seed (--seed) must be a whole number from 0 to"),
        (["train", "mlp", "--seed", "-1"], "seed (--seed) must be a whole number from 0 to"),
    (["train", "linreg", "--csv", "missing.csv", "--target", "y"], "missing.csv"),
    (["train", "mlp", "--data-dir", "/no/such/folder"], "/no/such/folder"),
    (["train", "--resume", "/no/such/run"], "/no/such/run"),
    (["train"], "name a model"),
    (["evaluate", "/no/such/run"], "/no/such/run"),
    (["predict", "/no/such/run", "x.png"], "/no/such/run"),
    (["plot", "activations", "--out", "plot.txt"], ".png"),
])
def test_mistakes_exit_2_with_one_clear_line(capsys, tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_argparse_mistakes_are_one_line_too(capsys):
    with pytest.raises(SystemExit) as e:
        main(["train", "mlp", "--lr", "fast"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "invalid float value: 'fast'" in err and err.count("\n") == 1


def test_resume_folder_without_checkpoint(capsys, tmp_path):
    code, _, err = run(capsys, "train", "--resume", str(tmp_path))
    assert code == 2 and "holds no checkpoint.pt" in err


def test_train_evaluate_predict_round_trip(capsys, tiny_fashion, tmp_path):
    out = tmp_path / "run"
    code, stdout, _ = train_tiny(capsys, tiny_fashion, out, "--no-plots")
    assert code == 0
    assert "epoch 2/2" in stdout and "test accuracy" in stdout.splitlines()[-1]
    code, stdout, _ = run(capsys, "evaluate", str(out), "--data-dir", str(tiny_fashion))
    assert code == 0 and "test accuracy" in stdout and "Ankle boot" in stdout
    # a dark-on-light "photo" of the stand-in class 3 template is inverted and classified
    from minidl.data.fashion_mnist import load_fashion_mnist

    X, y, _, _ = load_fashion_mnist(tiny_fashion)
    image = (255 - X[y == 3][0].numpy()).astype(np.uint8)
    Image.fromarray(image).resize((112, 112)).save(tmp_path / "photo.png")
    code, stdout, _ = run(capsys, "predict", str(out), str(tmp_path / "photo.png"))
    assert code == 0 and stdout.startswith(f"{tmp_path / 'photo.png'}: ")


def test_resume_continues_and_refuses_another_architecture(capsys, tiny_fashion, tmp_path):
    out = tmp_path / "run"
    assert train_tiny(capsys, tiny_fashion, out, "--no-plots")[0] == 0
    code, _, err = run(capsys, "train", "--resume", str(out), "--hidden", "64", "--epochs", "3")
    assert code == 2 and "resuming with --hidden 64 (the run so far used 32)" in err and "--allow-changes" in err
    code, _, err = run(capsys, "train", "--resume", str(out), "--hidden", "64", "--epochs", "3", "--allow-changes")
    assert code == 2 and "(784, 32)" in err and "(784, 64)" in err
    code, stdout, _ = run(capsys, "train", "--resume", str(out), "--epochs", "3")
    assert code == 0 and "epoch 3/3" in stdout and "epoch 1/3" not in stdout


def test_evaluate_and_resume_read_the_data_the_run_trained_on(capsys, make_fake_fashion, tmp_path, monkeypatch):
    ours = make_fake_fashion(tmp_path / "ours", seed=0)
    other = make_fake_fashion(tmp_path / "other", seed=1)  # another split: other labels in train and test
    monkeypatch.setenv("MINIDL_DATA_DIR", str(ours))
    out = tmp_path / "run"
    code, _, _ = run(capsys, "train", "mlp", "--hidden", "32", "--lr", "0.1", "--batch-size", "64",
                     "--epochs", "2", "--device", "cpu", "--out", str(out), "--no-plots")
    assert code == 0
    code, expected, _ = run(capsys, "evaluate", str(out), "--data-dir", str(ours))
    assert code == 0

    monkeypatch.setenv("MINIDL_DATA_DIR", str(other))  # a new shell, set up for another course
    code, stdout, _ = run(capsys, "evaluate", str(out))
    assert code == 0 and stdout == expected  # the run's own test set, not whatever the variable says now
    code, _, err = run(capsys, "evaluate", str(out), "--data-dir", str(other))
    assert code == 2 and "split differently" in err and f"--data-dir {ours.resolve()}" in err
    code, _, err = run(capsys, "train", "--resume", str(out), "--epochs", "3", "--data-dir", str(other))
    assert code == 2 and "split differently" in err and err.count("\n") == 1
    code, stdout, _ = run(capsys, "train", "--resume", str(out), "--epochs", "3")
    assert code == 0 and "epoch 3/3" in stdout

    ours.rename(tmp_path / "moved")
    code, _, err = run(capsys, "evaluate", str(out))
    assert code == 2 and f"{ours.resolve()}, which is gone" in err and "pass --data-dir FOLDER" in err
    code, _, err = run(capsys, "train", "--resume", str(out), "--epochs", "4")
    assert code == 2 and f"{ours.resolve()}, which is gone" in err
    code, stdout, _ = run(capsys, "evaluate", str(out), "--data-dir", str(tmp_path / "moved"))
    assert code == 0 and "test accuracy" in stdout


def test_runs_saved_before_the_data_was_recorded_still_evaluate(capsys, tiny_fashion, tmp_path):
    from minidl.training.checkpoint import load_checkpoint, save_checkpoint

    out = tmp_path / "run"
    assert train_tiny(capsys, tiny_fashion, out, "--no-plots")[0] == 0
    state = load_checkpoint(out / "checkpoint.pt")
    del state["data"]["data_root"], state["data"]["labels_sha256"]  # as minidl wrote them before
    save_checkpoint(out / "checkpoint.pt", state)
    code, stdout, _ = run(capsys, "evaluate", str(out), "--data-dir", str(tiny_fashion))
    assert code == 0 and "test accuracy" in stdout


def test_divergence_exits_cleanly(capsys, tiny_fashion, tmp_path):
    code, _, err = train_tiny(capsys, tiny_fashion, tmp_path / "run", "--lr", "1e4", "--no-plots")
    assert code == 1
    assert "lower learning rate, e.g. --lr 1000" in err and "Traceback" not in err  # the flag, on the command line


def test_predict_refuses_an_unreadable_image(capsys, tiny_fashion, tmp_path):
    out = tmp_path / "run"
    train_tiny(capsys, tiny_fashion, out, "--no-plots")
    (tmp_path / "notes.png").write_text("not an image")
    code, _, err = run(capsys, "predict", str(out), str(tmp_path / "notes.png"))
    assert code == 2 and "notes.png" in err and "cannot read it as an image" in err


def test_linreg_predicts_csv_rows(capsys, tmp_path):
    out = tmp_path / "lin"
    code, stdout, _ = run(capsys, "train", "linreg", "--out", str(out), "--no-plots", "--device", "cpu")
    assert code == 0 and "error of w" in stdout
    (tmp_path / "rows.csv").write_text("x1,x2\n1,1\n0,0\n")
    code, stdout, _ = run(capsys, "predict", str(out), str(tmp_path / "rows.csv"))
    lines = stdout.splitlines()
    assert code == 0 and len(lines) == 2
    assert float(lines[0].split("= ")[1]) == pytest.approx(2 - 3.4 + 4.2, abs=0.02)
    assert float(lines[1].split("= ")[1]) == pytest.approx(4.2, abs=0.02)


def test_plot_activations_and_data_commands(capsys, tiny_fashion, tmp_path):
    code, stdout, _ = run(capsys, "plot", "activations", "--out", str(tmp_path / "act.png"))
    assert code == 0 and (tmp_path / "act.png").stat().st_size > 0
    code, stdout, _ = run(capsys, "data", "show", "--data-dir", str(tiny_fashion), "--n", "12",
                          "--out", str(tmp_path / "grid.png"))
    assert code == 0 and (tmp_path / "grid.png").stat().st_size > 0
    code, stdout, _ = run(capsys, "data", "info", "--data-dir", str(tiny_fashion))
    assert code == 0 and "600" in stdout


def test_activation_names_match_the_registry():
    from minidl.lessons.activations import ACTIVATIONS as REGISTRY

    assert tuple(REGISTRY) == ACTIVATIONS


def test_python_dash_m_and_help_work():
    result = subprocess.run([sys.executable, "-m", "minidl", "train", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "--batch-size" in result.stdout and "--resume" in result.stdout


def test_data_info_on_the_real_data(capsys, fashion_root):
    code, stdout, _ = run(capsys, "data", "info", "--data-dir", str(fashion_root))
    assert code == 0
    assert "60,000" in stdout or "60000" in stdout
    assert "6,000" in stdout or "6000" in stdout


def test_a_reader_that_stops_early_ends_the_command_quietly(tiny_fashion):
    # as `minidl data info | head -3`, with the reader gone before the first line is written
    argv = ["data", "info", "--data-dir", str(tiny_fashion)]
    proc = subprocess.Popen([sys.executable, "-m", "minidl", *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait() == 141 and err == ""


def test_a_training_whose_reader_stops_early_still_writes_its_whole_run(tiny_fashion, tmp_path):
    # as `minidl train mlp | head -1`: the reader gone after the first line, the run goes on to its end
    out = tmp_path / "run"
    argv = ["train", "mlp", "--data-dir", str(tiny_fashion), "--hidden", "8", "--epochs", "3", "--out", str(out)]
    proc = subprocess.Popen([sys.executable, "-m", "minidl", *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait() == 141 and "Traceback" not in err
    assert json.loads((out / "summary.json").read_text())["epochs"] == 3
    assert len((out / "metrics.csv").read_text().splitlines()) == 4 and (out / "curves.png").is_file()


def test_plot_out_a_folder_is_one_line(capsys, tmp_path):
    (tmp_path / "figures.png").mkdir()
    for out in (tmp_path, tmp_path / "figures.png"):
        code, _, err = run(capsys, "plot", "activations", "--out", str(out))
        assert code == 2 and f"--out {out} is a folder" in err
        assert err.count("\n") == 1 and "Traceback" not in err


@pytest.fixture
def read_only_folder(tmp_path):
    """A folder no file can be created in: a 0o555 one, or /sys where root writes anyway."""
    import tempfile
    from pathlib import Path

    folder = tmp_path / "read-only"
    folder.mkdir(mode=0o555)
    for candidate in (folder, Path("/sys")):
        try:
            tempfile.TemporaryFile(dir=candidate).close()
        except OSError:
            yield candidate
            break
    else:
        pytest.skip("no read-only folder here: this user can write in a 0o555 folder and in /sys")
    folder.chmod(0o755)


def test_plot_out_a_read_only_path_is_one_line(capsys, read_only_folder):
    out = read_only_folder / "act.png"
    code, _, err = run(capsys, "plot", "activations", "--out", str(out))
    assert code == 2 and f"--out {out}: cannot write in {read_only_folder}" in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()


def test_broken_checkpoints_are_one_line_for_every_command(capsys, tiny_fashion, tmp_path):
    import os
    import pickle
    import warnings

    import torch

    from minidl.training.checkpoint import load_checkpoint, save_checkpoint

    out = tmp_path / "run"
    assert train_tiny(capsys, tiny_fashion, out, "--no-plots")[0] == 0
    state = load_checkpoint(out / "checkpoint.pt")
    del state["architecture"]
    save_checkpoint(out / "checkpoint.pt", state)
    (tmp_path / "pwned").write_text("")  # os.system would overwrite it with "pwned"
    payload = {**state, "x": RunsAShellCommand(f"echo pwned > {tmp_path / 'pwned'}")}
    torch.save(payload, tmp_path / "evil.pt")
    (tmp_path / "plain.pt").write_bytes(pickle.dumps(state))
    cases = [(out, "without 'architecture'"), (tmp_path / "evil.pt", f"({os.name}.system)"),
             (tmp_path / "plain.pt", "a plain pickle")]
    for checkpoint, message in cases:
        for argv in (["evaluate", str(checkpoint)], ["predict", str(checkpoint), "x.png"],
                     ["train", "--resume", str(checkpoint)]):
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # torch's UserWarning on a plain pickle would fail here
                code, _, err = run(capsys, *argv)
            assert code == 2 and message in err and checkpoint.name in err
            assert err.count("\n") == 1 and "Traceback" not in err
    assert (tmp_path / "pwned").read_text() == ""


class RunsAShellCommand:
    """Unpickling it calls os.system(command), as a malicious checkpoint would."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        import os

        return (os.system, (self.command,))


def test_data_show_on_a_folder_that_does_not_exist_neither_creates_it_nor_downloads(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("urllib.request.urlopen", lambda *a, **k: pytest.fail("data show must not download"))
    folder = tmp_path / "typo" / "fashion"
    code, _, err = run(capsys, "data", "show", "--data-dir", str(folder), "--out", str(tmp_path / "grid.png"))
    assert code == 2 and str(folder) in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "typo").exists() and not (tmp_path / "grid.png").exists()
