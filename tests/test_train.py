"""The training engine: per-example metrics, determinism, exact resume, divergence, artifacts."""
import csv
import json
import subprocess
import sys

import pytest
import torch

from minidl.training.checkpoint import load_checkpoint
from minidl.config.train import TrainConfig
from minidl.data.fashion_mnist import LABELS
from minidl.errors import CheckpointError, ConfigError
from minidl.training.evaluate import Totals
from minidl.training.fit import fit
from minidl.training.watch import TrainingDiverged, TrainingInterrupted


def tiny(tiny_fashion, **kw):
    base = dict(model="mlp", epochs=2, lr=0.1, batch_size=64, device="cpu", data_dir=str(tiny_fashion), plots=False)
    if kw.get("model", "mlp") == "mlp":
        base["hidden"] = (32,)
    return TrainConfig(**{**base, **kw})


def weights(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def without_seconds(rows):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


def test_totals_average_per_example_not_per_batch():
    totals = Totals(classifies=True)
    # a full batch of 4 with mean loss 1.0, then a short batch of 1 with loss 6.0
    totals.add(torch.tensor(1.0), torch.eye(4), torch.tensor([0, 1, 2, 3]))
    totals.add(torch.tensor(6.0), torch.tensor([[0.0, 1.0, 0.0, 0.0]]), torch.tensor([0]))
    means = totals.means("train")
    assert means["train_loss"] == pytest.approx((4 * 1.0 + 6.0) / 5)  # not (1 + 6) / 2
    assert means["train_acc"] == pytest.approx(4 / 5)


def test_totals_keep_outputs_only_when_asked():
    y_hat, y = torch.tensor([[0.0, 1.0], [2.0, 0.0], [0.0, 3.0]]), torch.tensor([1, 1, 1])
    kept = Totals(classifies=True, keep_outputs=True)
    kept.add(torch.tensor(0.5), y_hat[:2], y[:2])
    kept.add(torch.tensor(0.2), y_hat[2:], y[2:])
    outputs, targets = kept.outputs()
    assert torch.equal(outputs, y_hat) and torch.equal(targets, y)
    assert kept.means(None)["acc"] == pytest.approx(2 / 3)
    lean = Totals(classifies=True)
    lean.add(torch.tensor(0.5), y_hat, y)
    assert lean.batch_outputs == [] and lean.means(None)["acc"] == pytest.approx(2 / 3)


@pytest.mark.parametrize("impl", ["scratch", "concise", "manual"])
@pytest.mark.parametrize("model", ["softmax", "mlp"])
def test_fit_learns_the_stand_in_data(tiny_fashion, model, impl):
    history = fit(tiny(tiny_fashion, model=model, impl=impl, epochs=5), progress=False)
    assert [r["epoch"] for r in history.rows] == [1, 2, 3, 4, 5]
    assert history.final["test_acc"] > 0.9
    assert list(history.summary["per_class_acc"]) == list(LABELS)
    assert sum(map(sum, history.summary["confusion"])) == 200


def test_same_config_gives_the_same_numbers_twice(tiny_fashion):
    a = fit(tiny(tiny_fashion), progress=False)
    b = fit(tiny(tiny_fashion), progress=False)
    assert without_seconds(a.rows) == without_seconds(b.rows)
    for k, v in weights(a.model).items():
        assert torch.equal(v, weights(b.model)[k])


def test_scratch_and_concise_twins_train_to_the_same_numbers(tiny_fashion):
    a = fit(tiny(tiny_fashion, impl="scratch"), progress=False)
    b = fit(tiny(tiny_fashion, impl="concise"), progress=False)
    for ra, rb in zip(a.rows, b.rows):
        for key in ("train_loss", "test_loss", "test_acc"):
            assert ra[key] == pytest.approx(rb[key], rel=1e-4, abs=1e-4)


@pytest.mark.parametrize("impl,optimizer", [("scratch", "sgd"), ("concise", "sgd"), ("concise", "adam"),
                                            ("manual", "sgd"), ("manual", "adam")])
def test_resume_is_exact(tiny_fashion, tmp_path, impl, optimizer):
    lr = 0.01 if optimizer == "adam" else 0.1
    straight = fit(tiny(tiny_fashion, impl=impl, optimizer=optimizer, lr=lr, epochs=4, out=str(tmp_path / "a")),
                   progress=False)
    first = tiny(tiny_fashion, impl=impl, optimizer=optimizer, lr=lr, epochs=2, out=str(tmp_path / "b"))
    fit(first, progress=False)
    resumed = fit(first.replace(epochs=4), resume=tmp_path / "b", progress=False)
    assert without_seconds(resumed.rows) == without_seconds(straight.rows)
    for k, v in weights(straight.model).items():
        assert torch.equal(v, weights(resumed.model)[k]), k
    with open(tmp_path / "b" / "metrics.csv") as f:
        assert [int(r["epoch"]) for r in csv.DictReader(f)] == [1, 2, 3, 4]


def test_resume_refuses_a_finished_run_and_another_architecture(tiny_fashion, tmp_path):
    config = tiny(tiny_fashion, out=str(tmp_path / "run"))
    fit(config, progress=False)
    with pytest.raises(CheckpointError, match="already trained 2 epochs"):
        fit(config, resume=tmp_path / "run", progress=False)
    with pytest.raises(ConfigError, match=r"resuming with --hidden 64 .* --allow-changes"):
        fit(config.replace(epochs=3, hidden=(64,)), resume=tmp_path / "run", progress=False)
    with pytest.raises(CheckpointError, match=r"\(784, 32\).*\(784, 64\)"):
        fit(config.replace(epochs=3, hidden=(64,)), resume=tmp_path / "run", progress=False, allow_changes=True)


def test_a_new_run_never_overwrites_an_old_one(tiny_fashion, tmp_path):
    config = tiny(tiny_fashion, epochs=1, out=str(tmp_path / "run"))
    fit(config, progress=False)
    before = (tmp_path / "run" / "checkpoint.pt").read_bytes()
    with pytest.raises(ConfigError, match="already holds a run"):
        fit(config, progress=False)
    assert (tmp_path / "run" / "checkpoint.pt").read_bytes() == before


def test_divergence_stops_at_once_and_keeps_the_last_good_checkpoint(tiny_fashion, tmp_path):
    out = tmp_path / "run"
    fit(tiny(tiny_fashion, epochs=1, out=str(out)), progress=False)
    good = (out / "checkpoint.pt").read_bytes()
    with pytest.raises(TrainingDiverged, match=r"epoch 2, batch \d+.*lower learning rate, e\.g\. lr=1000\.0$"):
        fit(tiny(tiny_fashion, epochs=3, lr=1e4, out=str(out)), resume=out, progress=False)
    assert (out / "checkpoint.pt").read_bytes() == good
    assert load_checkpoint(out)["epoch"] == 1
    assert not list(out.glob("*.tmp"))


def test_run_folder_holds_every_artifact(tiny_fashion, tmp_path):
    out = tmp_path / "run"
    history = fit(tiny(tiny_fashion, epochs=2, out=str(out), plots=True), progress=False)
    names = {p.name for p in out.iterdir()}
    assert {"config.json", "metrics.csv", "summary.json", "checkpoint.pt", "best.pt",
            "curves.png", "predictions.png", "confusion.png"} <= names
    with open(out / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["epoch", "lr", "train_loss", "train_acc", "test_loss", "test_acc", "seconds"]
    assert len(rows) == 2
    saved = json.loads((out / "config.json").read_text())
    assert saved["config"]["hidden"] == [32] and saved["torch_version"] == torch.__version__
    assert TrainConfig.from_dict(saved["config"]) == history.config
    summary = json.loads((out / "summary.json").read_text())
    assert summary["final"]["test_acc"] == pytest.approx(history.final["test_acc"])
    state = torch.load(out / "checkpoint.pt", weights_only=True)  # no pickled code needed
    assert state["epoch"] == 2 and state["architecture"]["kind"] == "mlp"


def test_best_checkpoint_holds_the_best_epoch(tiny_fashion, tmp_path):
    out = tmp_path / "run"
    history = fit(tiny(tiny_fashion, epochs=3, out=str(out)), progress=False)
    best = load_checkpoint(out / "best.pt")
    assert best["rows"][-1]["test_acc"] == max(r["test_acc"] for r in history.rows)


def test_linreg_recovers_the_true_line(tmp_path):
    history = fit(TrainConfig(model="linreg", device="cpu", out=str(tmp_path / "lin"), plots=True), progress=False)
    s = history.summary
    assert max(abs(e) for e in s["w_error"]) < 0.01 and abs(s["b_error"]) < 0.01
    with open(tmp_path / "lin" / "metrics.csv") as f:
        assert next(csv.reader(f)) == ["epoch", "lr", "train_loss", "test_loss", "seconds"]
    assert (tmp_path / "lin" / "fit.png").stat().st_size > 0


def test_linreg_fits_a_csv_table(tmp_path):
    g = torch.Generator().manual_seed(1)
    area = torch.rand(200, generator=g) * 200 + 50
    age = torch.rand(200, generator=g) * 50
    price = 3.0 * area - 2.0 * age + 100 + torch.randn(200, generator=g)
    lines = ["area,age,price"] + [f"{a:.3f},{b:.3f},{p:.3f}" for a, b, p in zip(area, age, price)]
    (tmp_path / "houses.csv").write_text("\n".join(lines) + "\n")
    config = TrainConfig(model="linreg", csv=str(tmp_path / "houses.csv"), target="price", epochs=20, device="cpu")
    history = fit(config, progress=False)
    assert history.final["test_loss"] < 5.0  # half squared error, in price units squared
    assert history.summary["features"] == ["area", "age"]


def test_fit_on_the_real_data_reaches_the_lessons_accuracy(fashion_root):
    config = TrainConfig(model="mlp", epochs=2, device="cpu", data_dir=str(fashion_root), plots=False)
    history = fit(config, progress=False)
    assert history.final["test_acc"] > 0.78
    assert history.final["train_loss"] < 0.7


@pytest.mark.parametrize("at_call,epoch", [(5, 1), (15, 2)])
def test_ctrl_c_leaves_a_checkpoint_that_resumes_exactly(tiny_fashion, tmp_path, monkeypatch, at_call, epoch):
    import minidl.training.fit as train

    real_build_loss = train.build_loss
    calls = {"n": 0}

    def interrupting_loss(kind, impl, model, **options):
        loss = real_build_loss(kind, impl, model, **options)

        def wrapped(y_hat, y):
            calls["n"] += 1
            if calls["n"] == at_call:  # 9 train batches + 1 test batch per epoch
                raise KeyboardInterrupt
            return loss(y_hat, y)

        return wrapped

    monkeypatch.setattr(train, "build_loss", interrupting_loss)
    config = tiny(tiny_fashion, epochs=3, out=str(tmp_path / "run"))
    with pytest.raises(TrainingInterrupted, match=rf"epoch {epoch}.*end of epoch {epoch - 1}.*--resume"):
        fit(config, progress=False)
    assert load_checkpoint(tmp_path / "run")["epoch"] == epoch - 1
    monkeypatch.setattr(train, "build_loss", real_build_loss)
    resumed = fit(config, resume=tmp_path / "run", progress=False)
    straight = fit(config.replace(out=None), progress=False)
    assert without_seconds(resumed.rows) == without_seconds(straight.rows)


def test_training_drops_a_short_last_batch_but_never_all_the_data(tiny_fashion, tmp_path):
    from minidl.sources.registry import load_run_data

    data = load_run_data(tiny(tiny_fashion, batch_size=64), torch.device("cpu"))
    assert len(data.train) == 600 // 64 and data.train.num_examples == 576  # 24 left out per epoch
    assert data.test.num_examples == 200  # evaluation always sees every test example
    tiny_batch = load_run_data(tiny(tiny_fashion, batch_size=1000), torch.device("cpu"))
    assert tiny_batch.train.num_examples == 600  # no full batch: the short one is kept


def test_the_default_implementation_never_imports_torch_dynamo(tiny_fashion):
    # torch.optim imports torch._dynamo on first use, ~0.8 s of every `minidl train` on a 2-core
    # machine; the default (manual) implementation steps with minidl's own SGD and must not pay it.
    # A fresh interpreter: this one may have imported it for another test.
    code = ("import sys; from minidl.config.train import TrainConfig; from minidl.training.fit import fit; "
            f"fit(TrainConfig(epochs=1, hidden=(8,), data_dir={str(tiny_fashion)!r}, plots=False), progress=False); "
            "print(sorted(m for m in sys.modules if m.startswith('torch._dynamo'))[:1])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout
