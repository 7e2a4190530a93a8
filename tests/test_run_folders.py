"""Run folders: never written over, locked while written, finished after Ctrl-C, level with their
checkpoint after a crash or a full disk; resumes that would change the run; CSV runs that remember
their table; the output a person reads."""
import csv
import errno
import json
import os
import shutil
import sys
from pathlib import Path

import pytest
import torch

import minidl.training.plots
import minidl.training.runs
from minidl.training.checkpoint import load_checkpoint
from minidl.app.cli import main
from minidl.config.train import TrainConfig
from minidl.errors import CheckpointError, ConfigError
from minidl.training.run_folder import is_best, lock_run_folder
from minidl.training.fit import fit
from minidl.training.watch import TrainingInterrupted

ROOT = Path(__file__).resolve().parents[1]
HOUSES = ROOT / "examples" / "data" / "houses.csv"


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def tiny(tiny_fashion, **kw):
    base = dict(model="mlp", hidden=(32,), epochs=2, lr=0.1, batch_size=64, device="cpu",
                data_dir=str(tiny_fashion), plots=False)
    return TrainConfig(**{**base, **kw})


def train_tiny(capsys, tiny_fashion, out, *extra):
    return run(capsys, "train", "mlp", "--data-dir", tiny_fashion, "--hidden", "32", "--lr", "0.1",
               "--batch-size", "64", "--epochs", "2", "--device", "cpu", "--out", out, *extra)


def one_error_line(code, err):
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    return err


def houses_table(path: Path, scale: float = 1.0) -> Path:
    g = torch.Generator().manual_seed(1)
    area = torch.rand(200, generator=g) * 200 + 50
    age = torch.rand(200, generator=g) * 50
    price = (3.0 * area - 2.0 * age + 100 + torch.randn(200, generator=g)) * scale
    lines = ["area,age,price"] + [f"{a:.3f},{b:.3f},{p:.6g}" for a, b, p in zip(area, age, price)]
    path.write_text("\n".join(lines) + "\n")
    return path


# --- item: --out only new, or continued with --resume --------------------------------------------


def test_out_refuses_a_folder_of_the_users_naming_it_and_what_it_holds(capsys, tmp_path, monkeypatch):
    mine = tmp_path / "p"
    mine.mkdir()
    (mine / "config.json").write_text('{"my": 1}')
    err = one_error_line(*run(capsys, "train", "linreg", "--out", mine)[::2])
    assert f"--out {mine} is not empty and not a minidl run (it holds config.json)" in err
    assert (mine / "config.json").read_text() == '{"my": 1}' and os.listdir(mine) == ["config.json"]
    monkeypatch.chdir(mine)  # --out . is the working folder itself
    err = one_error_line(*run(capsys, "train", "linreg", "--out", ".")[::2])
    assert "not a minidl run" in err and os.listdir(mine) == ["config.json"]


def test_a_run_folder_without_its_checkpoint_is_not_silently_reused(capsys, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "config.json").write_text(json.dumps({"config": {}, "minidl_version": "0"}))
    err = one_error_line(*run(capsys, "train", "linreg", "--out", out)[::2])
    assert f"{out} holds a minidl run that never saved its checkpoint.pt" in err
    assert os.listdir(out) == ["config.json"]


def test_an_empty_folder_is_a_fine_new_run_folder(capsys, tmp_path):
    (tmp_path / "run").mkdir()
    code, _, _ = run(capsys, "train", "linreg", "--epochs", "1", "--out", tmp_path / "run", "--no-plots")
    assert code == 0 and (tmp_path / "run" / "checkpoint.pt").is_file()


def test_a_second_writer_stops_naming_the_holders_pid(tiny_fashion, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    held = lock_run_folder(out)  # as another process training into it would hold it
    try:
        with pytest.raises(CheckpointError, match=rf"{out} is in use: another minidl process \(pid {os.getpid()}\)"):
            fit(tiny(tiny_fashion, out=str(out)), progress=False)
    finally:
        held.close()
    fit(tiny(tiny_fashion, epochs=1, out=str(out)), progress=False)  # released: the run goes ahead
    with pytest.raises(CheckpointError, match="in use"):  # and a resume waits its turn as well
        with lock_run_folder(out):
            fit(tiny(tiny_fashion, out=str(out)), resume=out, progress=False)


def test_the_lock_stops_a_second_process(tiny_fashion, tmp_path):
    import subprocess

    out = tmp_path / "run"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from pathlib import Path; "
                               "from minidl.training.run_folder import lock_run_folder; f = lock_run_folder(Path(sys.argv[1])); "
                               "print('locked', flush=True); time.sleep(60)", str(out)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(CheckpointError, match=rf"pid {holder.pid}\)"):
            fit(tiny(tiny_fashion, out=str(out)), progress=False)
    finally:
        holder.kill()
        holder.wait()
    assert not (out / "config.json").exists()


def test_a_second_train_into_a_run_being_written_names_the_writer(tiny_fashion, tmp_path, capsys):
    out = tmp_path / "run"
    fit(tiny(tiny_fashion, epochs=1, out=str(out)), progress=False)  # a run with its checkpoint, as after epoch 0
    held = lock_run_folder(out)  # its writer still at work
    try:
        code, _, err = run(capsys, "train", "mlp", "--data-dir", str(tiny_fashion), "--out", str(out))
    finally:
        held.close()
    assert code == 2 and f"{out} is in use: another minidl process (pid {os.getpid()})" in err
    assert "--resume" not in err  # not the advice to continue it, which the lock would refuse as well


# --- item: Ctrl-C while the figures and summary are written; plot run ----------------------------


def test_ctrl_c_while_finishing_is_finished_by_resume(tiny_fashion, tmp_path, monkeypatch):
    out = tmp_path / "run"
    config = tiny(tiny_fashion, out=str(out), plots=True)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(minidl.training.runs, "draw_figures", interrupted)
    with pytest.raises(TrainingInterrupted, match=r"writing the figures and summary.*all 2 epochs.*--resume"):
        fit(config, progress=False)
    assert not (out / "summary.json").exists() and load_checkpoint(out)["epoch"] == 2
    monkeypatch.undo()
    finished = fit(config, resume=out, progress=False)  # no epoch left: it writes what is missing
    assert len(finished.rows) == 2
    assert {"summary.json", "curves.png", "predictions.png", "confusion.png", "best.pt"} <= set(os.listdir(out))
    with pytest.raises(CheckpointError, match="already trained 2 epochs"):
        fit(config, resume=out, progress=False)


def test_plot_run_redraws_a_runs_figures(capsys, tiny_fashion, tmp_path):
    out = tmp_path / "run"
    assert train_tiny(capsys, tiny_fashion, out, "--no-plots")[0] == 0
    assert not list(out.glob("*.png"))
    code, stdout, _ = run(capsys, "plot", "run", out)
    assert code == 0 and stdout.count("wrote") == 3
    assert {"curves.png", "predictions.png", "confusion.png"} <= set(os.listdir(out))
    err = one_error_line(*run(capsys, "plot", "run", tmp_path / "nothing")[::2])
    assert "nothing is not a run folder" in err


# --- item: the checkpoint is the truth after a crash; a full disk --------------------------------


def test_evaluate_and_resume_bring_the_folder_level_with_its_checkpoint(capsys, tiny_fashion, tmp_path):
    out = tmp_path / "run"
    fit(tiny(tiny_fashion, out=str(out)), progress=False)
    good_metrics = (out / "metrics.csv").read_text()
    rows = load_checkpoint(out)["rows"]
    # a crash: metrics.csv an epoch ahead, best.pt an epoch behind, the temp files of killed writes
    with open(out / "metrics.csv", "a") as f:
        f.write("3,0.1,0.9,0.1,0.9,1.0\n")
    epoch_one = tmp_path / "epoch1"
    fit(tiny(tiny_fashion, epochs=1, out=str(epoch_one)), progress=False)
    shutil.copy(epoch_one / "checkpoint.pt", out / "best.pt")
    (out / ".checkpoint.pt.k9x1.tmp").write_bytes(b"half a checkpoint")
    (out / ".metrics.csv.k9x2.tmp").write_text("epoch\n")
    code, _, _ = run(capsys, "evaluate", out)
    assert code == 0
    assert (out / "metrics.csv").read_text() == good_metrics
    assert not list(out.glob(".*.tmp"))
    assert load_checkpoint(out / "best.pt")["epoch"] == (2 if is_best(rows) else 1)
    (out / ".checkpoint.pt.k9x3.tmp").write_bytes(b"again")
    with open(out / "metrics.csv", "w") as f:
        f.write("epoch,train_loss\n")
    fit(tiny(tiny_fashion, epochs=3, out=str(out)), resume=out, progress=False)
    with open(out / "metrics.csv") as f:
        assert [int(r["epoch"]) for r in csv.DictReader(f)] == [1, 2, 3]
    assert not list(out.glob(".*.tmp"))


@pytest.mark.parametrize("failure", [
    OSError(errno.ENOSPC, "No space left on device"),
    RuntimeError("[enforce fail at inline_container.cc:659] . unexpected pos 4224 vs 4112"),
])
def test_a_full_disk_is_one_line_and_keeps_checkpoint_and_metrics_together(capsys, tiny_fashion, tmp_path,
                                                                            monkeypatch, failure):
    out = tmp_path / "run"
    real_save = torch.save

    def save(obj, f, *args, **kwargs):
        if obj.get("epoch") == 2:  # the disk fills up while epoch 2's checkpoint is written
            raise failure
        return real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, "save", save)
    code, _, err = train_tiny(capsys, tiny_fashion, out, "--no-plots")
    err = one_error_line(code, err)
    assert f"cannot write checkpoint.pt in the run folder {out}: " in err and "no space left" in err
    assert "checkpoint.pt still holds epoch 1" in err and f"minidl train --resume {out}" in err
    monkeypatch.undo()
    assert load_checkpoint(out)["epoch"] == 1
    with open(out / "metrics.csv") as f:
        assert [int(r["epoch"]) for r in csv.DictReader(f)] == [1]
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]
    code, stdout, _ = run(capsys, "train", "--resume", out)
    assert code == 0 and "epoch 2/2" in stdout


def full_disk_at(epoch, monkeypatch):
    """Make torch.save fail, as on a full disk, when it writes the checkpoint of ``epoch``."""
    real_save = torch.save

    def save(obj, f, *args, **kwargs):
        if isinstance(obj, dict) and obj.get("epoch") == epoch:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, "save", save)


def test_a_full_disk_before_any_checkpoint_leaves_nothing_and_the_same_command_works(capsys, tiny_fashion, tmp_path,
                                                                                     monkeypatch):
    out = tmp_path / "run"
    full_disk_at(0, monkeypatch)  # the checkpoint written as the first epoch begins
    err = one_error_line(*train_tiny(capsys, tiny_fashion, out, "--no-plots")[::2])
    assert f"cannot write checkpoint.pt in the run folder {out}: no space left" in err
    assert "the run had saved nothing yet, so its folder was removed" in err and "--resume" not in err
    assert "run the same command again" in err and not out.exists()
    monkeypatch.undo()
    code, stdout, _ = train_tiny(capsys, tiny_fashion, out, "--no-plots")
    assert code == 0 and "epoch 2/2" in stdout


def test_a_full_disk_before_any_checkpoint_empties_a_folder_it_did_not_make(capsys, tiny_fashion, tmp_path,
                                                                            monkeypatch):
    out = tmp_path / "run"
    out.mkdir()  # an empty folder of the user's: kept, emptied of what the run wrote
    full_disk_at(0, monkeypatch)
    err = one_error_line(*train_tiny(capsys, tiny_fashion, out, "--no-plots")[::2])
    assert "so the files it had written were removed" in err
    assert out.is_dir() and not list(out.iterdir())


def test_a_full_disk_in_the_first_epoch_gives_a_resume_that_works(capsys, tiny_fashion, tmp_path, monkeypatch):
    out = tmp_path / "run"
    full_disk_at(1, monkeypatch)  # epoch 0's checkpoint was written; epoch 1's is not
    err = one_error_line(*train_tiny(capsys, tiny_fashion, out, "--no-plots")[::2])
    assert "checkpoint.pt still holds epoch 0" in err and f"resume with: minidl train --resume {out}" in err
    monkeypatch.undo()
    code, stdout, _ = run(capsys, "train", "--resume", out)
    assert code == 0 and "epoch 1/2" in stdout and "epoch 2/2" in stdout
    assert load_checkpoint(out)["epoch"] == 2


# --- item: resume refuses what would make it another run, and records what it changes -------------


def test_resume_refuses_a_new_batch_size_or_seed_unless_asked_and_records_changes(capsys, tiny_fashion, tmp_path):
    out = tmp_path / "run"
    assert train_tiny(capsys, tiny_fashion, out, "--no-plots", "--epochs", "1")[0] == 0
    before = (out / "checkpoint.pt").read_bytes()
    for flag, value, used in (("--batch-size", "7", "64"), ("--seed", "3", "0")):
        err = one_error_line(*run(capsys, "train", "--resume", out, "--epochs", "2", flag, value)[::2])
        assert f"resuming with {flag} {value} (the run so far used {used})" in err and "--allow-changes" in err
    assert (out / "checkpoint.pt").read_bytes() == before
    assert run(capsys, "train", "--resume", out, "--epochs", "2", "--lr", "0.05")[0] == 0
    assert run(capsys, "train", "--resume", out, "--epochs", "3", "--batch-size", "7", "--allow-changes")[0] == 0
    record = json.loads((out / "config.json").read_text())
    assert record["config"]["lr"] == 0.1 and record["config"]["batch_size"] == 64  # what the run began with
    assert [(r["at_epoch"], r["changes"]) for r in record["resumes"]] == [
        (1, {"epochs": [1, 2], "lr": [0.1, 0.05]}),
        (2, {"epochs": [2, 3], "batch_size": [64, 7]}),
    ]
    err = one_error_line(*run(capsys, "train", "linreg", "--allow-changes", "--out", tmp_path / "new")[::2])
    assert "--allow-changes goes with --resume" in err


# --- item: CSV runs remember their table ---------------------------------------------------------


def test_a_csv_run_remembers_its_table_and_refuses_an_edited_one(capsys, tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    houses_table(work / "houses.csv")
    monkeypatch.chdir(work)
    assert run(capsys, "train", "linreg", "--csv", "houses.csv", "--target", "price", "--out", "run",
               "--epochs", "3", "--no-plots")[0] == 0  # 3 of the 4 the resume below asks for
    state = load_checkpoint(work / "run")
    assert state["data"]["csv"] == str(work / "houses.csv") and len(state["data"]["csv_sha256"]) == 64
    monkeypatch.chdir(tmp_path)  # cd elsewhere: the run still finds its table
    code, expected, _ = run(capsys, "evaluate", work / "run")
    assert code == 0 and "test loss" in expected
    moved = tmp_path / "moved.csv"
    (work / "houses.csv").rename(moved)
    err = one_error_line(*run(capsys, "evaluate", work / "run")[::2])
    assert f"the table {work / 'houses.csv'}, which is gone; pass --csv FILE" in err
    code, stdout, _ = run(capsys, "evaluate", work / "run", "--csv", moved)
    assert code == 0 and stdout == expected
    assert run(capsys, "train", "--resume", work / "run", "--epochs", "4", "--csv", moved, "--no-plots")[0] == 0
    moved.write_text(moved.read_text().replace("\n1", "\n2", 1))  # one cell edited
    err = one_error_line(*run(capsys, "evaluate", work / "run", "--csv", moved)[::2])
    assert f"{moved} is not that table (its contents differ" in err
    err = one_error_line(*run(capsys, "evaluate", work / "run", "--data-dir", tmp_path)[::2])
    assert "(target price), not images in a folder: leave out --data-dir (give --csv for its table moved)" in err


# --- item: what a person reads --------------------------------------------------------------------


def test_no_training_line_for_a_run_that_fails_before_its_folder_exists(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "train", "linreg", "--csv", "missing.csv", "--target", "y", "--out", "run")
    assert code == 2 and out == "" and not (tmp_path / "run").exists()


def test_one_epoch_is_singular_and_summary_floats_are_rounded(capsys, tmp_path):
    code, out, _ = run(capsys, "train", "linreg", "--epochs", "1", "--out", tmp_path / "run", "--no-plots")
    assert code == 0 and "1 epochs" not in out and "after 1 epoch " in out
    assert out.splitlines()[0].startswith("training linreg") and "1 epoch," in out.splitlines()[0]

    def floats(value):
        if isinstance(value, float):
            yield value
        elif isinstance(value, dict):
            for v in value.values():
                yield from floats(v)
        elif isinstance(value, list):
            for v in value:
                yield from floats(v)

    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert all(float(f"{v:.6g}") == v for v in floats(summary))


def test_small_losses_and_weights_print_as_numbers(capsys, tmp_path):
    code, out, _ = run(capsys, "train", "linreg", "--out", tmp_path / "run", "--no-plots")
    final = out.splitlines()[-1]
    assert code == 0 and "0.0000" not in out and "'" not in final
    assert "error of w [" in final and "e-0" in final  # 1.2e-04, not '1.2e-04'


def test_the_readme_csv_example_runs_as_written(capsys, tmp_path, monkeypatch):
    from minidl.data.tables import load_table

    sys.path.insert(0, str(HOUSES.parent))
    try:
        import make_houses
    finally:
        sys.path.remove(str(HOUSES.parent))
    assert make_houses.houses() == HOUSES.read_text()  # the committed table is the script's
    assert len(load_table(HOUSES, "price").y) == 200
    figures = {}
    real_save = minidl.training.plots.save_figure

    def keep(fig, path):
        figures[Path(path).name] = fig
        return real_save(fig, path)

    monkeypatch.setattr(minidl.training.plots, "save_figure", keep)
    monkeypatch.chdir(ROOT)  # as the README says it, from the checkout, relative path and all
    code, out, _ = run(capsys, "train", "linreg", "--csv", "examples/data/houses.csv", "--target", "price",
                       "--epochs", "20", "--out", tmp_path / "run")
    assert code == 0
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["features"] == list(make_houses.WEIGHTS)
    assert summary["w"] == pytest.approx(list(make_houses.WEIGHTS.values()), rel=0.15)  # in the table's units
    assert "standardised price" in out.splitlines()[-1] and "w [1.4" in out.splitlines()[-1]
    (ax,) = figures["fit.png"].axes
    assert ax.get_xlabel() == "true price" and ax.get_ylabel().startswith("predicted price")
    assert f"test loss {summary['final']['test_loss']:.3g}" in ax.get_title()  # the loss metrics.csv reports
    assert figures["curves.png"].axes[0].get_yscale() == "log"


def test_a_target_near_float32s_limit_trains_instead_of_diverging(tmp_path):
    table = houses_table(tmp_path / "huge.csv", scale=1e34)  # prices near 1e37
    history = fit(TrainConfig(model="linreg", csv=str(table), target="price", epochs=20, device="cpu"),
                  progress=False)
    assert history.final["test_loss"] < 0.01 and abs(history.summary["w"][0] / 3e34 - 1) < 0.05


def test_a_first_batch_that_is_already_inf_blames_the_data_not_the_lr():
    from minidl.training.watch import diverged_message

    message = diverged_message(TrainConfig(model="linreg"), 1, 1, torch.tensor(float("inf")), None)
    assert "overflow float32" in message and "--lr" not in message


def test_messages_quote_shell_commands(tiny_fashion, tmp_path, monkeypatch):
    import minidl.training.fit as train

    out = tmp_path / "sp ace run"
    real_build_loss = train.build_loss

    def interrupting(*args, **kwargs):
        def loss(y_hat, y):
            raise KeyboardInterrupt

        return loss

    monkeypatch.setattr(train, "build_loss", interrupting)
    with pytest.raises(TrainingInterrupted, match=f"minidl train --resume '{out}'"):
        fit(tiny(tiny_fashion, out=str(out)), progress=False)
    monkeypatch.setattr(train, "build_loss", real_build_loss)
    with pytest.raises(ConfigError, match=f"`minidl train --resume '{out}'`"):
        fit(tiny(tiny_fashion, out=str(out)), progress=False)


# --- item: out of memory, unwritable folders ------------------------------------------------------


@pytest.mark.parametrize("argv,asked", [
    (["train", "mlp", "--hidden", "100000000"], "a 784-100000000-10 mlp (--hidden 100000000)"),
    (["train", "linreg", "--examples", "10000000000"], "--examples 10000000000"),
])
def test_a_model_or_data_too_big_for_memory_is_one_line(capsys, tiny_fashion, tmp_path, argv, asked):
    extra = ["--data-dir", tiny_fashion] if argv[1] == "mlp" else []
    err = one_error_line(*run(capsys, *argv, *extra, "--device", "cpu", "--out", tmp_path / "run")[::2])
    assert asked in err and "needs about" in err and "free" in err
    assert not (tmp_path / "run").exists()


def test_out_a_read_only_folder_is_one_line(capsys, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o555)
    try:
        (folder / "probe").touch()
        outs = [Path("/sys/minidl-run")]  # root writes in 0o555 folders, not in /sys
    except OSError:
        outs = [folder, folder / "run"]  # the folder itself (empty), and a new one inside it
    try:
        for out in outs:
            err = one_error_line(*run(capsys, "train", "linreg", "--out", out)[::2])
            assert f"the run folder {out}" in err and ("cannot create" in err or "cannot write in" in err)
    finally:
        folder.chmod(0o755)


def test_an_allocation_that_fails_anyway_is_one_line(capsys, tiny_fashion, tmp_path, monkeypatch):
    import minidl.training.fit as train

    def out_of_memory(*args, **kwargs):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: not enough memory: "
                           "you tried to allocate 313600000000 bytes.")

    monkeypatch.setattr(train, "model_for", out_of_memory)
    err = one_error_line(*train_tiny(capsys, tiny_fashion, tmp_path / "run")[::2])
    assert "the mlp does not fit in the memory of cpu (it asked for 314 GB at once)" in err
    assert not (tmp_path / "run").exists()
