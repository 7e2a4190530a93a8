"""minidl.d2l's 1.0 names, each against the book's definition (d2l-ai/d2l-en, d2l/torch.py)."""
import hashlib
import math
import sys

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

import minidl.d2l as d2l
from minidl.d2l import board as board_module
from minidl.data.fashion_mnist import load_fashion_mnist
from minidl.errors import ConfigError, DatasetError


@pytest.fixture(autouse=True)
def _in_tmp_path(tmp_path, monkeypatch):
    """Run each test in its own folder: boards and figures land there."""
    monkeypatch.chdir(tmp_path)


# --- HyperParameters, add_to_class -------------------------------------------------------------

def test_save_hyperparameters_keeps_the_arguments_but_ignored_and_underscored_ones():
    class B(d2l.HyperParameters):
        def __init__(self, a, b, c, _d=4, *rest, e=5, **more):
            made_here = "a local, not an argument"  # noqa: F841
            self.save_hyperparameters(ignore=['c'])

    b = B(1, 2, 3, 4, 6, e=7, f=8)
    assert b.hparams == {"a": 1, "b": 2, "rest": (6,), "e": 7, "more": {"f": 8}}
    assert (b.a, b.b, b.e) == (1, 2, 7)
    assert not hasattr(b, "c") and not hasattr(b, "_d") and not hasattr(b, "made_here")


def test_save_hyperparameters_in_a_module_subclass_leaves_out_super_s_cell():
    model = d2l.LinearRegressionScratch(2, lr=0.03)
    assert model.hparams == {"num_inputs": 2, "lr": 0.03, "sigma": 0.01}
    assert model.plot_train_per_epoch == 2 and model.plot_valid_per_epoch == 1  # Module's own


def test_add_to_class_reaches_existing_instances_and_returns_the_function():
    class A:
        def __init__(self):
            self.b = 1

    a = A()

    @d2l.add_to_class(A)
    def do(self):
        return self.b + 1

    assert a.do() == 2 and do(a) == 2


def test_trainer_fit_calls_a_fit_epoch_added_later(monkeypatch):
    calls = []
    original = d2l.Trainer.fit_epoch
    monkeypatch.setattr(d2l.Trainer, "fit_epoch", d2l.Trainer.fit_epoch)  # restored after the test

    @d2l.add_to_class(d2l.Trainer)
    def fit_epoch(self):
        calls.append(self.epoch)
        original(self)

    torch.manual_seed(0)
    d2l.Trainer(max_epochs=3).fit(d2l.LinearRegression(lr=0.03),
                                  d2l.SyntheticRegressionData(d2l.tensor([2, -3.4]), 4.2))
    assert calls == [0, 1, 2]


# --- ProgressBoard -----------------------------------------------------------------------------

def test_draw_averages_each_every_n_points_per_line():
    board = d2l.ProgressBoard('x', display=False)
    for x in np.arange(0, 1, 0.1):
        board.draw(x, np.sin(x), 'sin', every_n=2)
        board.draw(x, np.cos(x), 'cos', every_n=5)
    xs = np.arange(0, 1, 0.1)
    assert [p.x for p in board.data['sin']] == pytest.approx(xs.reshape(5, 2).mean(1))
    assert [p.y for p in board.data['sin']] == pytest.approx(np.sin(xs).reshape(5, 2).mean(1))
    assert [p.y for p in board.data['cos']] == pytest.approx(np.cos(xs).reshape(2, 5).mean(1))
    assert board.data['cos'][-1]._fields == ('x', 'y')


def test_draw_takes_tensors_weights_and_an_every_n_below_one():
    board = d2l.ProgressBoard(display=False)
    board.draw(1, torch.tensor(1.0, requires_grad=True), 'acc', every_n=2, weight=3)
    board.draw(1, torch.tensor(0.0), 'acc', every_n=2, weight=1)
    board.draw(2, 0.5, 'loss', every_n=0)  # int(0.5) from a plot rate above the batch count
    assert board.data['acc'] == [(1.0, 0.75)] and board.data['loss'] == [(2.0, 0.5)]


def test_outside_a_notebook_the_board_is_one_png_named_once(tmp_path, capsys):
    board = d2l.ProgressBoard('x')
    board.draw(0, 1.0, 'y')
    out = capsys.readouterr().out
    assert out.count("ProgressBoard: drawing to") == 1 and str(board.path) in out
    assert board.path.parent == tmp_path and board.path.suffix == ".png"
    board.draw(1, 2.0, 'y')
    board.flush()
    assert capsys.readouterr().out == "" and list(tmp_path.iterdir()) == [board.path]


def test_the_board_redraws_at_most_once_a_redraw_interval(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(board_module.time, "monotonic", lambda: clock[0])
    board = d2l.ProgressBoard()
    renders = []
    monkeypatch.setattr(board, "_render", lambda: renders.append(len(board.data['y'])))
    for i in range(50):  # 50 points in no time: drawn once, at the first
        board.draw(i, float(i), 'y')
    assert renders == [1]
    clock[0] += board_module.REDRAW_SECONDS
    board.draw(50, 50.0, 'y')
    assert renders == [1, 51]
    board.draw(51, 51.0, 'y')
    board.flush()  # what the fit's end, the cell's end and the exit do
    board.flush()  # nothing new: no redraw
    assert renders == [1, 51, 52]


def test_a_slow_drawing_waits_twenty_times_its_own_time_before_the_next(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(board_module.time, "monotonic", lambda: clock[0])
    board = d2l.ProgressBoard()
    renders = []

    def render():  # a drawing that takes 0.5 s of the clock
        renders.append(len(board.data['y']))
        clock[0] += 0.5

    monkeypatch.setattr(board, "_render", render)
    board.draw(0, 0.0, 'y')
    clock[0] += board_module.REDRAW_SECONDS  # enough for a quick drawing, not for this one
    board.draw(1, 1.0, 'y')
    assert renders == [1]
    clock[0] += 0.5 / board_module.MAX_DRAW_SHARE - board_module.REDRAW_SECONDS
    board.draw(2, 2.0, 'y')
    assert renders == [1, 3]  # drawing took 1 s of the 11 s that passed


def test_a_hidden_board_keeps_points_and_draws_nothing(tmp_path, capsys):
    board = d2l.ProgressBoard(display=False)
    board.draw(0, 1.0, 'y')
    board.flush()
    assert board.data['y'] and not list(tmp_path.iterdir()) and capsys.readouterr().out == ""


# --- Module, Classifier, SGD, the models -------------------------------------------------------

def test_plot_without_a_trainer_says_to_fit_first():
    with pytest.raises(ConfigError, match=r"needs a Trainer: call trainer.fit\(model, data\)"):
        d2l.LinearRegression(lr=0.1).plot('loss', 1.0, train=True)


def test_a_module_without_net_or_forward_says_what_to_define():
    with pytest.raises(ConfigError, match="set self.net in __init__ or define forward"):
        d2l.Module()(torch.zeros(1, 2))


def test_classifier_accuracy_per_example_and_averaged():
    model = d2l.SoftmaxRegression(num_outputs=3, lr=0.1)
    Y_hat = torch.tensor([[[0.1, 0.8, 0.1], [0.9, 0.0, 0.1]], [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]])
    Y = torch.tensor([[1, 2], [2, 0]])  # a leading batch shape is flattened, as in the book
    assert model.accuracy(Y_hat, Y, averaged=False).tolist() == [1.0, 0.0, 1.0, 1.0]
    assert model.accuracy(Y_hat, Y).item() == 0.75


def test_classifier_loss_is_cross_entropy_mean_or_per_example():
    model = d2l.SoftmaxRegression(num_outputs=4, lr=0.1)
    Y_hat, Y = torch.randn(6, 4) * 50, torch.tensor([0, 1, 2, 3, 0, 1])  # large logits: no overflow
    torch.testing.assert_close(model.loss(Y_hat, Y, averaged=False),
                               F.cross_entropy(Y_hat, Y, reduction="none"))
    torch.testing.assert_close(model.loss(Y_hat, Y), F.cross_entropy(Y_hat, Y))


def test_sgd_steps_by_minus_lr_grad_and_zero_grad_zeroes():
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    (w * torch.tensor([3.0, -1.0])).sum().backward()
    opt = d2l.SGD([w], lr=0.5)
    opt.step()
    assert w.tolist() == [-0.5, 2.5]
    opt.zero_grad()
    assert w.grad.tolist() == [0.0, 0.0]
    assert d2l.sgd is not d2l.SGD and callable(d2l.sgd)  # 0.17's function stays


def test_linear_regression_is_initialised_as_the_book_says_once_sized():
    torch.manual_seed(0)
    model = d2l.LinearRegression(lr=0.03)
    model(torch.zeros(1, 1000))  # sizes the lazy layer
    w, b = model.get_w_b()
    assert w.shape == (1, 1000) and b.tolist() == [0.0]
    assert 0.008 < w.std().item() < 0.012  # N(0, 0.01^2), not torch's default uniform


def test_configure_optimizers_defaults_to_sgd_at_the_models_lr():
    model = d2l.SoftmaxRegression(num_outputs=10, lr=0.25)
    opt = d2l.Module.configure_optimizers(model)
    assert isinstance(opt, torch.optim.SGD) and opt.param_groups[0]["lr"] == 0.25


def test_apply_init_runs_a_forward_then_the_init():
    model = d2l.SoftmaxRegression(num_outputs=3, lr=0.1)
    model.apply_init([torch.zeros(2, 1, 4, 4)],
                     lambda m: nn.init.ones_(m.weight) if isinstance(m, nn.Linear) else None)
    assert model.net[1].weight.shape == (3, 16) and model.net[1].weight.eq(1).all()


# --- Trainer -----------------------------------------------------------------------------------

def test_clip_gradients_rescales_to_the_norm_and_leaves_smaller_ones():
    net = nn.Linear(3, 2)
    for p, g in zip(net.parameters(), [torch.full((2, 3), 2.0), torch.full((2,), 2.0)]):
        p.grad = g.clone()
    trainer = d2l.Trainer(max_epochs=1)
    trainer.clip_gradients(1.0, net)
    norm = torch.sqrt(sum((p.grad ** 2).sum() for p in net.parameters()))
    assert norm.item() == pytest.approx(1.0, rel=1e-5)
    assert net.weight.grad[0, 0].item() == pytest.approx(2.0 / math.sqrt(32), rel=1e-5)
    trainer.clip_gradients(5.0, net)  # already smaller: unchanged
    assert net.weight.grad[0, 0].item() == pytest.approx(2.0 / math.sqrt(32), rel=1e-5)


def test_asking_for_more_gpus_than_there_are_is_one_line():
    with pytest.raises(ConfigError, match=rf"num_gpus={d2l.num_gpus() + 1}\), but this machine has"):
        d2l.Trainer(max_epochs=1, num_gpus=d2l.num_gpus() + 1)
    assert d2l.Trainer(max_epochs=1).gpus == []


def test_fit_counts_batches_and_epochs_and_scores_validation_per_example():
    torch.manual_seed(0)
    data = d2l.SyntheticRegressionData(d2l.tensor([2, -3.4]), 4.2, num_train=100, num_val=50,
                                       batch_size=32)
    model = d2l.LinearRegression(lr=0.03)
    trainer = d2l.Trainer(max_epochs=2)
    trainer.fit(model, data)
    assert (trainer.num_train_batches, trainer.num_val_batches) == (4, 2)  # 100 = 3*32 + 4
    assert (trainer.epoch, trainer.train_batch_idx, trainer.val_batch_idx) == (1, 8, 4)
    # the book's x: the batch's index before its step, over the batch count, averaged in pairs
    assert [p.x for p in model.board.data['train_loss']] == [0.125, 0.625, 1.125, 1.625]
    assert [p.x for p in model.board.data['val_loss']] == [1, 2]
    with torch.no_grad():  # the last point: the whole validation set's per-example mean
        expected = F.mse_loss(model(data.X[100:]), data.y[100:]).item()
    assert model.board.data['val_loss'][-1].y == pytest.approx(expected, rel=1e-5)
    assert model.board.xlim == [0, 2] and model.trainer is trainer


def test_a_module_trains_in_train_mode_and_validates_in_eval_mode_without_grad():
    seen = []

    class Probe(d2l.LinearRegression):
        def forward(self, X):
            seen.append((self.training, torch.is_grad_enabled()))
            return super().forward(X)

    data = d2l.SyntheticRegressionData(d2l.tensor([1.0]), 0.0, num_train=4, num_val=4, batch_size=4)
    d2l.Trainer(max_epochs=1).fit(Probe(lr=0.1), data)
    assert seen == [(True, True), (False, False)]


# --- Data ----------------------------------------------------------------------------------------

def test_synthetic_regression_data_follows_the_seed_and_splits_train_and_val():
    torch.manual_seed(1)
    a = d2l.SyntheticRegressionData(w=d2l.tensor([2, -3.4]), b=4.2)
    torch.manual_seed(1)
    b = d2l.SyntheticRegressionData(w=d2l.tensor([2, -3.4]), b=4.2)
    assert torch.equal(a.X, b.X) and a.X.shape == (2000, 2) and a.y.shape == (2000, 1)
    residual = a.y - a.X @ torch.tensor([[2], [-3.4]]) - 4.2
    assert 0.008 < residual.std().item() < 0.012  # noise 0.01
    assert len(a.train_dataloader()) == 32  # ceil(1000 / 32): the last batch kept, as the book
    X, y = next(iter(a.val_dataloader()))
    assert torch.equal(X, a.X[1000:1032]) and torch.equal(y, a.y[1000:1032])  # in order
    first = torch.cat([X for X, _ in a.train_dataloader()])
    assert not torch.equal(first, a.X[:1000])  # shuffled
    assert torch.equal(first[first[:, 0].argsort()], a.X[:1000][a.X[:1000, 0].argsort()])


def test_get_tensorloader_batches_the_rows_at_indices_and_refuses_three_tensors():
    data = d2l.DataModule()
    data.batch_size = 2
    X, y = torch.arange(10.0).reshape(5, 2), torch.arange(5)
    loader = data.get_tensorloader((X, y), False, slice(1, 4))
    assert [b[1].tolist() for b in loader] == [[1, 2], [3]] and len(loader) == 2
    with pytest.raises(ConfigError, match="got 3 tensors"):
        data.get_tensorloader((X, y, y), False)
    assert data.root is None and data.num_workers == 0  # minidl's folder; data in memory


def test_fashion_mnist_in_memory_as_the_books_datasets(tiny_fashion):
    data = d2l.FashionMNIST(batch_size=64, root=tiny_fashion)
    X_train, y_train, X_test, _ = load_fashion_mnist(tiny_fashion)
    assert len(data.train) == len(X_train) and len(data.val) == len(X_test)
    image, label = data.train[0]
    assert image.shape == (1, 28, 28) and image.dtype == torch.float32 and label == y_train[0]
    torch.testing.assert_close(image[0] * 255, X_train[0].float())
    X, y = next(iter(data.train_dataloader()))
    assert X.shape == (64, 1, 28, 28) and y.dtype == torch.int64
    assert len(data.val_dataloader()) == math.ceil(len(X_test) / 64)
    assert data.text_labels(torch.tensor([0, 9])) == ['t-shirt', 'ankle boot']


def test_fashion_mnist_resizes_once(tiny_fashion):
    data = d2l.FashionMNIST(batch_size=8, resize=(32, 32), root=tiny_fashion)
    assert data.train.tensors[0].shape[1:] == (1, 32, 32)
    X, _ = next(iter(data.val_dataloader()))
    assert X.shape == (8, 1, 32, 32) and 0 <= X.min() and X.max() <= 1


def test_visualize_writes_one_figure(tiny_fashion, tmp_path, capsys):
    data = d2l.FashionMNIST(root=tiny_fashion)
    data.visualize(next(iter(data.val_dataloader())))
    assert [p.name for p in tmp_path.iterdir()] == [p.name for p in tmp_path.glob("*-images.png")]
    assert "saved figure to" in capsys.readouterr().out


# --- Aliases, devices, download, IPython ---------------------------------------------------------

def test_the_1_0_aliases_are_torchs():
    assert (d2l.randn, d2l.int64, d2l.sigmoid) == (torch.randn, torch.int64, torch.sigmoid)
    assert (d2l.ones_like, d2l.zeros_like, d2l.nn_Module) == (torch.ones_like, torch.zeros_like,
                                                              nn.Module)
    assert d2l.expand_dims(torch.zeros(2, 3), 0).shape == (1, 2, 3)


def test_devices():
    assert d2l.cpu() == torch.device("cpu") and d2l.gpu(1) == torch.device("cuda:1")
    assert d2l.num_gpus() == torch.cuda.device_count()
    assert d2l.try_gpu(d2l.num_gpus()) == d2l.cpu()


def test_download_with_1_0s_signature_uses_a_present_file_with_the_right_sha1(tmp_path, capsys):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "house.csv").write_text("Id\n1\n")
    sha1 = hashlib.sha1(b"Id\n1\n").hexdigest()
    dead = (tmp_path / "nowhere" / "house.csv").as_uri()  # a download would fail
    assert d2l.download(dead, str(folder), sha1_hash=sha1) == str(folder / "house.csv")
    assert capsys.readouterr().out == ""
    with pytest.raises(DatasetError, match=rf"could not download house.csv .* put the file at "
                                           rf"{folder / 'house.csv'}"):
        d2l.download(dead, str(folder), sha1_hash="0" * 40)  # present, but not that file


def test_download_with_1_0s_signature_fetches_and_checks(serve, tmp_path):
    base, log = serve({"table.csv": b"a,b\n1,2\n"})
    sha1 = hashlib.sha1(b"a,b\n1,2\n").hexdigest()
    path = d2l.download(base + "table.csv", tmp_path / "d", sha1_hash=sha1)
    assert open(path).read() == "a,b\n1,2\n" and log == ["table.csv"]
    with pytest.raises(DatasetError, match="not the sha1_hash 0000"):
        d2l.download(base + "table.csv", tmp_path / "e", sha1_hash="0" * 40)
    assert not (tmp_path / "e" / "table.csv").exists()


def test_the_house_price_entries_are_in_data_hub():
    assert d2l.DATA_HUB["kaggle_house_train"][1] == "585e9cc93e70b39160e7921475f9bcd7d31219ce"
    assert d2l.DATA_HUB["kaggle_house_test"][0] == d2l.DATA_URL + "kaggle_house_pred_test.csv"


def test_ipython_display_has_set_matplotlib_formats_again(monkeypatch):
    from IPython import display
    from matplotlib_inline import backend_inline

    calls = []
    monkeypatch.setattr(backend_inline, "set_matplotlib_formats", lambda *f, **k: calls.append(f))
    display.set_matplotlib_formats('svg')  # the course's linear-regression lesson
    assert calls == [('svg',)] and "IPython" in sys.modules
