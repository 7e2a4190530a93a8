"""minidl.d2l: the book's names, signatures and printed output, with the published bugs fixed."""
import copy
import hashlib
import re
import sys
import types

import pytest
import torch
from matplotlib import pyplot as plt
from matplotlib.figure import Figure
from torch import nn

import minidl.d2l as d2l
from minidl.data.fashion_mnist import load_fashion_mnist
from minidl.errors import ConfigError, DatasetError

EPOCH_LINE = re.compile(r"^epoch (\d+), loss (\d+\.\d{4}), train acc (\d\.\d{3}), test acc (\d\.\d{3})$")


@pytest.fixture(autouse=True)
def _in_tmp_path(tmp_path, monkeypatch):
    """Run each test in its own folder: figures (train_ch3's Animator PNG) land there."""
    monkeypatch.chdir(tmp_path)


def printed_epochs(text: str) -> list[tuple[int, float, float, float]]:
    """Return (epoch, loss, train acc, test acc) of every line, asserting each has the book's format.

    The one line saying where d2l 0.17's train_ch3 draws its curves (outside Jupyter) is skipped.
    """
    rows = []
    for line in text.strip().splitlines():
        if line.startswith("Animator: drawing to "):
            continue
        match = EPOCH_LINE.match(line)
        assert match, f"not the book's epoch line: {line!r}"
        rows.append((int(match[1]), *map(float, match.groups()[1:])))
    return rows


def softmax_net(seed=0):
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    nn.init.normal_(net[1].weight, std=0.01)
    return net


# --- Linear regression -------------------------------------------------------------------------

def test_synthetic_data_follows_torch_manual_seed():
    torch.manual_seed(0)
    X, y = d2l.synthetic_data(torch.tensor([2, -3.4]), 4.2, 500)
    torch.manual_seed(0)
    X2, _ = d2l.synthetic_data(torch.tensor([2, -3.4]), 4.2, 500)
    assert X.shape == (500, 2) and y.shape == (500, 1)
    assert torch.equal(X, X2)
    assert not torch.equal(X, d2l.synthetic_data(torch.tensor([2, -3.4]), 4.2, 500)[0])
    residual = y - (X @ torch.tensor([[2.0], [-3.4]]) + 4.2)
    assert residual.std() < 0.02


def test_data_iter_visits_every_example_once_in_random_order():
    features, labels = torch.arange(23.0).reshape(23, 1), torch.arange(23)
    batches = list(d2l.data_iter(5, features, labels))
    assert [len(y) for _, y in batches] == [5, 5, 5, 5, 3]
    order = torch.cat([y for _, y in batches])
    assert sorted(order.tolist()) == list(range(23)) and order.tolist() != list(range(23))
    assert all(torch.equal(X[:, 0].long(), y) for X, y in batches)  # rows stay paired


def test_squared_loss_is_per_example_not_averaged():
    y_hat = torch.tensor([[1.0], [2.0], [4.0]])
    loss = d2l.squared_loss(y_hat, torch.tensor([0.0, 0.0, 0.0]))  # (3,) targets: reshaped, no broadcast
    torch.testing.assert_close(loss, torch.tensor([[0.5], [2.0], [8.0]]))


def test_sgd_divides_by_the_batch_size_and_zeroes_the_grads():
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    (w * torch.tensor([10.0, 20.0])).sum().backward()  # grad (10, 20), a sum over 10 examples
    d2l.sgd([w], lr=0.5, batch_size=10)
    torch.testing.assert_close(w.detach(), torch.tensor([0.5, 1.0]))  # 1 - 0.5 * 10 / 10, ...
    assert w.grad.abs().sum() == 0


def test_linear_regression_lesson_recovers_the_weights():
    torch.manual_seed(0)
    true_w, true_b = torch.tensor([2, -3.4]), 4.2
    features, labels = d2l.synthetic_data(true_w, true_b, 1000)
    w = torch.normal(0, 0.01, size=(2, 1), requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    for _ in range(3):
        for X, y in d2l.data_iter(10, features, labels):
            d2l.squared_loss(d2l.linreg(X, w, b), y).sum().backward()
            d2l.sgd([w, b], 0.03, 10)
    torch.testing.assert_close(w.detach().reshape(2), true_w, atol=5e-3, rtol=0)
    assert abs(b.item() - true_b) < 5e-3


def test_load_array_batches_shuffles_and_iterates_again():
    features, labels = torch.arange(10.0).reshape(10, 1), torch.arange(10)
    ordered = d2l.load_array((features, labels), 4, is_train=False)
    assert len(ordered) == 3
    assert [y.tolist() for _, y in ordered] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    shuffled = d2l.load_array((features, labels), 4)
    epochs = [torch.cat([y for _, y in shuffled]).tolist() for _ in range(3)]
    assert all(sorted(e) == list(range(10)) for e in epochs)
    assert len({tuple(e) for e in epochs}) > 1  # a new order each epoch
    with pytest.raises(ConfigError, match="two"):
        d2l.load_array((features,), 4)


# --- Fashion-MNIST -----------------------------------------------------------------------------

def test_fashion_mnist_batches_look_like_the_books(tiny_fashion):
    train_iter, test_iter = d2l.load_data_fashion_mnist(64, root=tiny_fashion)
    X, y = next(iter(train_iter))
    assert X.shape == (64, 1, 28, 28) and X.dtype == torch.float32
    assert y.shape == (64,) and y.dtype == torch.int64
    assert 0 <= X.min() and X.max() <= 1 and X.max() > 0.5
    # 600 training images: 9 full batches, the partial tenth dropped; 200 test images: 3 + 8
    assert len(train_iter) == 9 and len(test_iter) == 4
    assert [len(y) for _, y in test_iter] == [64, 64, 64, 8]


def test_train_is_shuffled_and_test_in_file_order(tiny_fashion):
    _, _, X_test, y_test = load_fashion_mnist(tiny_fashion)
    train_iter, test_iter = d2l.load_data_fashion_mnist(64, root=tiny_fashion)
    epochs = [torch.cat([y for _, y in train_iter]) for _ in range(2)]
    assert all(len(e) == 576 for e in epochs) and not torch.equal(*epochs)
    for _ in range(2):  # re-iterable, and the same order every time
        Xs, ys = zip(*test_iter)
        assert torch.equal(torch.cat(ys), y_test)
        torch.testing.assert_close(torch.cat(Xs), X_test.unsqueeze(1).float() / 255)


def test_shuffle_follows_torch_manual_seed(tiny_fashion):
    orders = []
    for _ in range(2):
        torch.manual_seed(3)
        train_iter, _ = d2l.load_data_fashion_mnist(64, root=tiny_fashion)
        orders.append(torch.cat([y for _, y in train_iter]))
    assert torch.equal(*orders)


@pytest.mark.parametrize("resize, size", [(64, (64, 64)), ((32, 48), (32, 48)), (28, (28, 28))])
def test_resize(tiny_fashion, resize, size):
    train_iter, test_iter = d2l.load_data_fashion_mnist(16, resize=resize, root=tiny_fashion)
    for X, y in (next(iter(train_iter)), next(iter(test_iter))):
        assert X.shape == (16, 1, *size) and X.dtype == torch.float32 and y.shape == (16,)
        assert 0 <= X.min() and X.max() <= 1


@pytest.mark.parametrize("resize", [0, -3, (64,), "64", 2.5, True])
def test_bad_resize_says_what_to_give(tiny_fashion, resize):
    with pytest.raises(ConfigError, match="resize"):
        d2l.load_data_fashion_mnist(16, resize=resize, root=tiny_fashion)


def test_torchvision_style_root(tmp_path, make_fake_fashion):
    make_fake_fashion(tmp_path / "FashionMNIST" / "raw", n_train=100, n_test=50)
    train_iter, test_iter = d2l.load_data_fashion_mnist(32, root=tmp_path)  # as torchvision's root="../data"
    assert len(train_iter) == 3 and len(test_iter) == 2
    assert next(iter(test_iter))[0].shape == (32, 1, 28, 28)


def test_default_root_is_minidls(tiny_fashion, monkeypatch):
    monkeypatch.setenv("MINIDL_DATA_DIR", str(tiny_fashion))
    train_iter, test_iter = d2l.load_data_fashion_mnist(100)
    assert len(train_iter) == 6 and len(test_iter) == 2


def test_batch_larger_than_the_training_set_keeps_its_one_short_batch(tiny_fashion):
    train_iter, _ = d2l.load_data_fashion_mnist(1000, root=tiny_fashion)
    assert [len(y) for _, y in train_iter] == [600]


def test_text_labels():
    assert d2l.get_fashion_mnist_labels(torch.arange(10)) == [
        "t-shirt", "trouser", "pullover", "dress", "coat",
        "sandal", "shirt", "sneaker", "bag", "ankle boot"]
    assert d2l.get_dataloader_workers() == 0


# --- Accuracy, evaluation ----------------------------------------------------------------------

def test_accuracy_is_a_float_count():
    y = torch.tensor([0, 1, 2, 2])
    assert d2l.accuracy(torch.eye(3)[[0, 1, 2, 0]], y) == 3.0
    assert isinstance(d2l.accuracy(torch.eye(3)[[0, 1, 2, 0]], y), float)
    assert d2l.accuracy(torch.tensor([0, 1, 1, 2]), y) == 3.0  # labels already, as the book allows
    assert d2l.accuracy(torch.tensor([[0.0], [1.0]]), torch.tensor([0, 0])) == 1.0  # (B, 1): no (B, B) broadcast


def test_accumulator_and_timer():
    metric = d2l.Accumulator(3)
    metric.add(1, torch.tensor(2.0), 3)
    metric.add(1, 1, 1)
    assert metric[0] == 2.0 and metric[1] == 3.0 and metric[2] == 4.0
    metric.reset()
    assert metric.data == [0.0, 0.0, 0.0]
    timer = d2l.Timer()
    timer.stop()
    timer.start()
    timer.stop()
    assert len(timer.times) == 2 and timer.sum() >= 0
    assert timer.avg() == pytest.approx(timer.sum() / 2)
    assert timer.cumsum()[-1] == pytest.approx(timer.sum())


def test_devices():
    assert d2l.try_gpu(99) == torch.device("cpu")
    assert d2l.try_all_gpus()[0].type in ("cuda", "cpu")


class Recorder(nn.Module):
    """A linear classifier that records its mode and whether autograd was on at each call."""

    def __init__(self):
        super().__init__()
        self.flatten, self.linear = nn.Flatten(), nn.Linear(784, 10)
        self.calls = []

    def forward(self, X):
        self.calls.append((self.training, torch.is_grad_enabled()))
        return self.linear(self.flatten(X))


@pytest.mark.parametrize("was_training", [True, False])
def test_evaluate_accuracy_runs_in_eval_mode_and_restores_the_mode(tiny_fashion, was_training):
    _, test_iter = d2l.load_data_fashion_mnist(64, root=tiny_fashion)
    net = Recorder().train(was_training)
    acc = d2l.evaluate_accuracy(test_iter, net)
    assert 0 <= acc <= 1
    assert net.calls == [(False, False)] * len(test_iter)
    assert net.training is was_training


def test_evaluate_accuracy_of_a_plain_function_and_in_d2l_017_order(tiny_fashion):
    _, test_iter = d2l.load_data_fashion_mnist(64, root=tiny_fashion)
    _, _, _, y_test = load_fashion_mnist(tiny_fashion)
    correct = torch.zeros(10)
    correct[2] = 1

    def net(X):  # a scratch lesson's closure: no .eval(), no parameters
        return correct.expand(len(X), 10)

    expected = (y_test == 2).float().mean().item()  # per example, not per batch
    assert d2l.evaluate_accuracy(test_iter, net) == pytest.approx(expected)
    assert d2l.evaluate_accuracy(net, test_iter) == pytest.approx(expected)  # d2l 0.17's order
    assert d2l.evaluate_accuracy(test_iter, net, device="cpu") == pytest.approx(expected)


def test_evaluate_accuracy_calls_the_courses_function_net_with_is_training_false():
    y = torch.tensor([0, 0, 0, 1, 1, 1])
    X = y.float().reshape(6, 1)  # each example holds its label
    calls = []

    def net(X, is_training=True):  # the course's dropout net: the flag switches dropout
        calls.append(is_training)
        labels = X[:, 0].long()
        return torch.eye(2)[labels * 0 if is_training else labels]  # (B, 2) scores

    assert d2l.evaluate_accuracy([(X[:4], y[:4]), (X[4:], y[4:])], net) == 1.0
    assert d2l.evaluate_accuracy(net, [(X, y)]) == 1.0  # d2l 0.17's order
    assert calls == [False, False, False]
    w = torch.zeros(1, requires_grad=True)  # something for backward to reach
    d2l.train_epoch_ch3(net, [(X, y)], lambda y_hat, y: y_hat.sum(1) * w, lambda n: None)
    assert calls[-1] is True  # training leaves the net's default


def test_the_books_dropout_module_is_evaluated_in_eval_mode():
    class Net(nn.Module):  # d2l 0.17's scratch dropout net: `self.training` switches dropout
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(2, 2)

        def forward(self, X):
            return self.lin(X) * (0.0 if self.training else 1.0)

    torch.manual_seed(0)
    net = Net()
    X = torch.randn(50, 2)
    with torch.no_grad():
        y = net.lin(X).argmax(1)
    assert d2l.evaluate_accuracy(net, [(X, y)]) == 1.0 and net.training


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_evaluate_loss_is_the_per_example_mean_whatever_the_reduction(reduction):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 1)).train()
    X, y = torch.randn(7, 3), torch.randn(7)  # (B,) targets, (B, 1) outputs: no broadcasting
    with torch.no_grad():
        expected = ((net(X).reshape(7) - y) ** 2).mean().item()
    batches = d2l.load_array((X, y), 3, is_train=False)  # sizes 3, 3, 1
    got = d2l.evaluate_loss(net, batches, nn.MSELoss(reduction=reduction))
    assert got == pytest.approx(expected, rel=1e-6)
    assert net.training  # mode restored


def test_evaluate_loss_of_a_function_net_and_the_books_squared_loss():
    w, b = torch.tensor([[2.0]], requires_grad=True), torch.zeros(1, requires_grad=True)
    X, y = torch.tensor([[1.0], [2.0]]), torch.tensor([[1.0], [1.0]])
    got = d2l.evaluate_loss(lambda X: d2l.linreg(X, w, b), [(X, y)], d2l.squared_loss)
    assert got == pytest.approx((1 / 2 + 9 / 2) / 2)  # (2-1)^2/2 and (4-1)^2/2, averaged
    assert w.grad is None  # no graph was built
    with pytest.raises(ConfigError, match="no examples"):
        d2l.evaluate_loss(lambda X: X, [], d2l.squared_loss)


# --- train_ch3 ---------------------------------------------------------------------------------

def run_ch3(capsys, *args, **kwargs):
    d2l.train_ch3(*args, **kwargs)
    return printed_epochs(capsys.readouterr().out)


@pytest.mark.parametrize("signature", ["d2l-0.17 optimizer", "d2l-0.17 function", "port params",
                                       "port optimizer"])
def test_train_ch3_in_both_signatures_learns_and_prints_the_books_lines(tiny_fashion, capsys, signature):
    train_iter, test_iter = d2l.load_data_fashion_mnist(32, root=tiny_fashion)
    net = softmax_net()
    loss = nn.CrossEntropyLoss(reduction="none")
    params = list(net.parameters())
    if signature == "d2l-0.17 optimizer":
        rows = run_ch3(capsys, net, train_iter, test_iter, loss, 3, torch.optim.SGD(params, lr=0.1))
    elif signature == "d2l-0.17 function":
        rows = run_ch3(capsys, net, train_iter, test_iter, loss, 3,
                       lambda batch_size: d2l.sgd(params, 0.1, batch_size))
    elif signature == "port params":
        rows = run_ch3(capsys, net, train_iter, test_iter, loss, 3, 32, params, 0.1)
    else:
        rows = run_ch3(capsys, net, train_iter, test_iter, loss, 3, 32, None, None,
                       torch.optim.SGD(params, lr=0.1))
    assert [r[0] for r in rows] == [1, 2, 3]
    assert rows[-1][1] < rows[0][1]  # the loss falls
    assert rows[-1][3] > 0.9  # the stand-in is easy to learn
    assert net.training


def test_the_port_signature_takes_its_arguments_by_name(tiny_fashion, capsys):
    train_iter, test_iter = d2l.load_data_fashion_mnist(32, root=tiny_fashion)
    net = softmax_net()
    rows = run_ch3(capsys, net, train_iter, test_iter, nn.CrossEntropyLoss(), 1, batch_size=32,
                   optimizer=torch.optim.SGD(net.parameters(), lr=0.1))
    assert len(rows) == 1


@pytest.mark.parametrize("signature", ["d2l-0.17", "port"])
def test_every_loss_reduction_prints_the_same_per_example_loss(tiny_fashion, capsys, signature):
    # Same net, same batches; each reduction at the learning rate that makes the same steps
    # (a summed loss's gradient is batch_size times the mean's), so the runs must agree.
    batch_size, printed = 64, {}
    start = softmax_net()
    for reduction, lr in (("mean", 0.1), ("none", 0.1), ("sum", 0.1 / batch_size)):
        torch.manual_seed(1)  # the same shuffle order for every run
        train_iter, test_iter = d2l.load_data_fashion_mnist(batch_size, root=tiny_fashion)
        net = copy.deepcopy(start)
        trainer = torch.optim.SGD(net.parameters(), lr=lr)
        loss = nn.CrossEntropyLoss(reduction=reduction)
        if signature == "d2l-0.17":
            printed[reduction] = run_ch3(capsys, net, train_iter, test_iter, loss, 2, trainer)
        else:
            printed[reduction] = run_ch3(capsys, net, train_iter, test_iter, loss, 2, batch_size,
                                         None, None, trainer)
    for reduction in ("none", "sum"):
        for got, want in zip(printed[reduction], printed["mean"]):
            assert got == pytest.approx(want, abs=2e-4), reduction
    assert 0.3 < printed["mean"][0][1] < 3  # per example: ln(10) = 2.3 at the start, not 2.3 / 64


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("updater", ["optimizer", "function"])
def test_loss_and_accuracy_are_per_example_with_a_short_last_batch(reduction, updater):
    torch.manual_seed(0)
    X, y = torch.randn(5, 784), torch.tensor([0, 1, 2, 3, 4])
    batches = [(X[:4], y[:4]), (X[4:], y[4:])]  # sizes 4 and 1
    net = nn.Sequential(nn.Linear(784, 10))
    with torch.no_grad():
        logits = net(X)
        expected_loss = nn.functional.cross_entropy(logits, y).item()  # over the 5 examples
        expected_acc = (logits.argmax(1) == y).float().mean().item()
    frozen = torch.optim.SGD(net.parameters(), lr=0.0) if updater == "optimizer" else (lambda n: None)
    loss = nn.CrossEntropyLoss(reduction=reduction)
    train_loss, train_acc = d2l.train_epoch_ch3(net, batches, loss, frozen)
    assert train_loss == pytest.approx(expected_loss, rel=1e-5)
    assert train_acc == pytest.approx(expected_acc)


def test_a_plain_function_loss_returning_a_mean_is_taken_as_a_mean():
    X, y = torch.randn(6, 784), torch.arange(6)
    net = nn.Sequential(nn.Linear(784, 10))
    batches = [(X[:4], y[:4]), (X[4:], y[4:])]
    with torch.no_grad():
        expected = nn.functional.cross_entropy(net(X), y).item()

    def mean_loss(y_hat, y):  # no `reduction` attribute: a scalar is read as a mean
        return nn.functional.cross_entropy(y_hat, y)

    train_loss, _ = d2l.train_epoch_ch3(net, batches, mean_loss, lambda n: None)
    assert train_loss == pytest.approx(expected, rel=1e-5)


def test_the_port_steps_by_the_real_size_of_a_short_batch(capsys):
    # The port divides by its batch_size argument even for a short last batch; we divide by the
    # batch's own size, so each step is lr times the batch's mean gradient.
    X, y = torch.randn(3, 2), torch.tensor([0, 1, 1])
    W = torch.zeros(2, 2, requires_grad=True)
    expected_grad = torch.func.grad(
        lambda W: nn.functional.cross_entropy(X @ W, y, reduction="sum"))(W.detach())

    def net(X):
        return X @ W

    def cross_entropy(y_hat, y):
        return -torch.log(torch.softmax(y_hat, dim=1).gather(1, y.view(-1, 1)))

    d2l.train_ch3(net, [(X, y)], [(X, y)], cross_entropy, 1, 256, [W], 0.3)
    torch.testing.assert_close(W.detach(), -0.3 * expected_grad / 3)
    printed_epochs(capsys.readouterr().out)


def test_train_ch3_trains_in_train_mode_and_evaluates_in_eval_mode(tiny_fashion, capsys):
    train_iter, test_iter = d2l.load_data_fashion_mnist(64, root=tiny_fashion)
    net = Recorder().eval()  # the loop must switch it to training itself
    d2l.train_ch3(net, train_iter, test_iter, nn.CrossEntropyLoss(), 1,
                  torch.optim.SGD(net.parameters(), lr=0.1))
    assert net.calls == [(True, True)] * len(train_iter) + [(False, False)] * len(test_iter)
    assert net.training
    capsys.readouterr()


@pytest.mark.parametrize("args", [(64,), (64, None, None, None), (64, [torch.zeros(1)]), ("sgd",)])
def test_train_ch3_without_a_way_to_step_says_what_to_pass(tiny_fashion, args):
    train_iter, test_iter = d2l.load_data_fashion_mnist(64, root=tiny_fashion)
    with pytest.raises(ConfigError, match="batch_size"):
        d2l.train_ch3(softmax_net(), train_iter, test_iter, nn.CrossEntropyLoss(), 1, *args)


def test_the_scratch_softmax_lesson_learns_with_the_users_naive_softmax(tiny_fashion, capsys):
    train_iter, test_iter = d2l.load_data_fashion_mnist(32, root=tiny_fashion)
    torch.manual_seed(0)
    W = torch.normal(0, 0.01, (784, 10), requires_grad=True)
    b = torch.zeros(10, requires_grad=True)

    def softmax(X):  # the lesson's own, overflow and all
        X_exp = X.exp()
        return X_exp / X_exp.sum(dim=1, keepdim=True)

    def net(X):
        return softmax(torch.mm(X.view((-1, 784)), W) + b)

    def cross_entropy(y_hat, y):
        return - torch.log(y_hat.gather(1, y.view(-1, 1)))

    rows = run_ch3(capsys, net, train_iter, test_iter, cross_entropy, 3, 32, [W, b], 0.1)
    assert rows[-1][3] > 0.9


def test_train_ch3_draws_d2l_017s_curves_to_a_png_and_the_course_only_prints(tiny_fashion, capsys,
                                                                              tmp_path):
    train_iter, test_iter = d2l.load_data_fashion_mnist(64, root=tiny_fashion)
    net = softmax_net()
    d2l.train_ch3(net, train_iter, test_iter, nn.CrossEntropyLoss(), 2,
                  torch.optim.SGD(net.parameters(), lr=0.1))
    out = capsys.readouterr().out
    pngs = list(tmp_path.glob("*.png"))
    assert len(pngs) == 1 and f"Animator: drawing to {pngs[0]}" in out
    assert len(printed_epochs(out)) == 2
    pngs[0].unlink()
    d2l.train_ch3(net, train_iter, test_iter, nn.CrossEntropyLoss(), 1, 64, None, None,
                  torch.optim.SGD(net.parameters(), lr=0.1))
    assert "Animator" not in capsys.readouterr().out and not list(tmp_path.iterdir())


def test_the_courses_iter_next_works_on_every_loader(tiny_fashion):
    _, test_iter = d2l.load_data_fashion_mnist(16, root=tiny_fashion)
    X, y = iter(test_iter).next()  # Python 2's spelling, as the course prints it
    assert X.shape == (16, 1, 28, 28) and torch.equal(y, next(iter(test_iter))[1])
    it = iter(d2l.load_array((torch.arange(4.0), torch.arange(4)), 3, is_train=False))
    assert it.next()[1].tolist() == [0, 1, 2] and next(it)[1].tolist() == [3]
    with pytest.raises(StopIteration):
        it.next()


def test_ipython_display_imports_in_a_plain_script():
    from IPython import display  # the lessons' first lines; minidl depends on IPython

    assert callable(display.display)


def test_flatten_layer():
    assert d2l.FlattenLayer()(torch.zeros(5, 1, 28, 28)).shape == (5, 784)


# --- Figures -----------------------------------------------------------------------------------

def test_animator_outside_a_notebook_writes_a_png_and_says_where(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    animator = d2l.Animator(xlabel="epoch", xlim=[1, 3], legend=["train loss", "test acc"])
    animator.add(1, (0.9, 0.6))
    first = capsys.readouterr().out
    assert str(animator.path) in first and "<Figure" not in first
    assert animator.path.parent == tmp_path and animator.path.suffix == ".png"
    size = animator.path.stat().st_size
    animator.add(2, (0.5, 0.8))
    animator.add(3, (0.4, None))  # None skips a point, as in the book
    assert capsys.readouterr().out == ""  # said once
    assert animator.path.stat().st_size != size  # redrawn
    assert animator.Y == [[0.9, 0.5, 0.4], [0.6, 0.8]]
    assert list(tmp_path.iterdir()) == [animator.path]  # no temp file left


def test_plots_outside_a_notebook_become_pngs_in_the_current_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    x = torch.arange(-2.0, 2.0, 0.1, requires_grad=True)  # plot takes it without .detach()
    d2l.plot(x, [torch.relu(x), torch.tanh(x)], "x", "f(x)", legend=["relu", "tanh"])
    d2l.xyplot(x, torch.sigmoid(x), "sigmoid")
    d2l.semilogy(range(1, 4), [1, 10, 100], "epoch", "loss", range(1, 4), [2, 20, 200], ["train", "test"])
    images = torch.rand(4, 1, 28, 28)
    axes = d2l.show_images(images.reshape(4, 28, 28), 2, 2, titles=["a", "b", "c", "d"])
    d2l.show_fashion_mnist(images[:3], ["x", "y", "z"])
    out = capsys.readouterr().out.splitlines()
    pngs = sorted(tmp_path.glob("*.png"))
    assert len(out) == len(pngs) == 5
    assert all(line.startswith("saved figure to ") for line in out)
    assert any(p.name.endswith("-sigmoid_x.png") for p in pngs)
    assert len(axes) == 4 and axes[3].get_title() == "d"


def test_plot_on_given_axes_draws_there_and_writes_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    ax = Figure().subplots()
    d2l.plot([1, 2, 3], [[1, 2, 3], [3, 2, 1]], axes=ax)
    assert len(ax.lines) == 2
    assert capsys.readouterr().out == "" and not list(tmp_path.iterdir())


def test_predict_ch3_titles_true_and_predicted_labels(tiny_fashion, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    _, test_iter = d2l.load_data_fashion_mnist(64, resize=32, root=tiny_fashion)
    _, _, _, y_test = load_fashion_mnist(tiny_fashion)
    net = Recorder()
    net.linear = nn.Linear(32 * 32, 10)
    shown, show_images = [], d2l.show_images
    monkeypatch.setattr(sys.modules["minidl.d2l.train"], "show_images",
                        lambda *args, **kwargs: shown.append(show_images(*args, **kwargs)))
    assert d2l.predict_ch3(net, test_iter, n=4) is None  # as the book's: nothing for Jupyter to print
    (axes,) = shown
    trues = d2l.get_fashion_mnist_labels(y_test[:4])
    assert [ax.get_title().split("\n")[0] for ax in axes] == trues
    assert net.training and net.calls == [(False, False)]
    assert "saved figure to" in capsys.readouterr().out


@pytest.mark.filterwarnings("error")  # matplotlib warns of an x range [1, 1]
def test_a_one_point_chart_marks_its_point(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    animator = d2l.Animator(xlabel="epoch", xlim=[1, 1], legend=["train loss", "test acc"])
    animator.add(1, (0.9, 0.6))  # train_ch3 with num_epochs=1
    assert [line.get_marker() for line in animator.axes[0].lines] == ["o", "o"]  # a line alone: invisible
    low, high = animator.axes[0].get_xlim()
    assert low < 1 < high
    animator.add(2, (0.5, 0.8))
    assert [line.get_marker() for line in animator.axes[0].lines] == ["None", "None"]
    capsys.readouterr()


class DisplayHandle:
    """IPython's: `display(display_id=True)` returns one; `update` redraws that output in place."""

    def __init__(self):
        self.shown = []

    def update(self, obj):
        self.shown.append(obj)


def test_in_a_notebook_figures_are_left_to_jupyter(tiny_fashion, tmp_path, monkeypatch, capsys):
    handles = []

    def display(*objs, display_id=None):
        assert display_id is True and not objs  # an empty output, filled in by the updates
        handles.append(DisplayHandle())
        return handles[-1]

    shell = types.SimpleNamespace(kernel=object(),  # a kernel, as far as d2l can tell
                                  events=types.SimpleNamespace(register=lambda *args: None),
                                  enable_gui=lambda gui: None)  # what pyplot asks of a shell
    ipython = types.ModuleType("IPython")
    ipython.version_info, ipython.get_ipython = (9, 0), lambda: shell
    ipython.display = types.SimpleNamespace(display=display)  # no clear_output: it wipes printed lines
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setattr(plt, "_REPL_DISPLAYHOOK", plt._REPL_DISPLAYHOOK)  # pyplot hooks in once: undo it
    monkeypatch.chdir(tmp_path)
    train_iter, test_iter = d2l.load_data_fashion_mnist(64, root=tiny_fashion)
    net = softmax_net()
    try:
        d2l.train_ch3(net, train_iter, test_iter, nn.CrossEntropyLoss(), 2,
                      torch.optim.SGD(net.parameters(), lr=0.1))
        d2l.plot([1, 2], [3, 4], "x", "y")
    finally:
        plt.close("all")
    assert len(printed_epochs(capsys.readouterr().out)) == 2  # printed there too
    (handle,) = handles
    assert len(handle.shown) == 2  # the Animator redrew its one display once per epoch
    assert not list(tmp_path.iterdir())  # and nothing was written


# --- The book's tensor names -------------------------------------------------------------------

BOOK_ALIASES = {  # d2l 0.17's set, each to the torch function or dtype it names
    "ones": torch.ones, "zeros": torch.zeros, "tensor": torch.tensor, "arange": torch.arange,
    "meshgrid": torch.meshgrid, "sin": torch.sin, "sinh": torch.sinh, "cos": torch.cos,
    "cosh": torch.cosh, "tanh": torch.tanh, "linspace": torch.linspace, "exp": torch.exp,
    "log": torch.log, "normal": torch.normal, "rand": torch.rand, "matmul": torch.matmul,
    "int32": torch.int32, "float32": torch.float32, "concat": torch.cat, "stack": torch.stack,
    "abs": torch.abs, "eye": torch.eye,
    # and the ones d2l 1.0's first chapters add
    "randn": torch.randn, "int64": torch.int64, "sigmoid": torch.sigmoid,
    "ones_like": torch.ones_like, "zeros_like": torch.zeros_like,
}
BOOK_METHODS = ["numpy", "size", "reshape", "to", "reduce_sum", "argmax", "astype", "transpose",
                "reduce_mean", "expand_dims"]


def test_the_books_aliases_are_exactly_its_set():
    assert sorted(d2l.aliases.__all__) == sorted([*BOOK_ALIASES, *BOOK_METHODS])
    for name, target in BOOK_ALIASES.items():
        assert getattr(d2l, name) is target, name


def test_the_books_method_aliases_call_the_tensors_methods():
    X = torch.tensor([[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]], requires_grad=True)
    array = d2l.numpy(X * 2)  # detached first, as the book needs
    assert array.tolist() == [[2.0, -4.0, 6.0], [8.0, 10.0, -12.0]]
    assert d2l.size(X) == 6  # numel, not the shape
    assert d2l.reshape(X, (3, 2)).shape == (3, 2) and d2l.reshape(X, -1).shape == (6,)
    assert d2l.to(X, torch.float64).dtype == torch.float64
    assert d2l.to(X, torch.device("cpu")).device.type == "cpu"
    assert d2l.reduce_sum(X).item() == 5.0
    torch.testing.assert_close(d2l.reduce_sum(X, axis=1, keepdims=True), torch.tensor([[2.0], [3.0]]))
    assert d2l.argmax(X, axis=1).tolist() == [2, 1] and d2l.argmax(X).item() == 4
    assert d2l.astype(X, torch.int32).dtype == torch.int32
    assert d2l.astype(torch.tensor([1.7, -0.2]), d2l.int32).tolist() == [1, 0]
    assert torch.equal(d2l.transpose(X), X.t())
    assert d2l.reduce_mean(X).item() == pytest.approx(5 / 6)
    assert d2l.reduce_mean(X, axis=0).tolist() == [2.5, 1.5, -1.5]
    assert d2l.concat((X, X), 0).shape == (4, 3) and d2l.stack((X, X)).shape == (2, 2, 3)


# --- The data hub ------------------------------------------------------------------------------

def test_download_fetches_a_hub_file_checks_its_sha1_and_caches_it(tmp_path, monkeypatch, capsys):
    source = tmp_path / "house.csv"
    source.write_text("Id,SalePrice\n1,200000\n")
    sha1 = hashlib.sha1(source.read_bytes()).hexdigest()
    monkeypatch.setitem(d2l.DATA_HUB, "house", (source.as_uri(), sha1))
    monkeypatch.setenv("MINIDL_CACHE_DIR", str(tmp_path / "cache"))
    path = d2l.download("house")
    assert path == str(tmp_path / "cache" / "d2l" / "house.csv")
    assert open(path).read() == source.read_text() and "Downloading" in capsys.readouterr().out
    source.unlink()
    assert d2l.download("house") == path and capsys.readouterr().out == ""  # from the cache
    assert d2l.download("house", cache_dir=tmp_path / "cache" / "d2l") == path


def test_download_refuses_a_wrong_checksum_an_unknown_name_and_a_dead_url(tmp_path, monkeypatch):
    source = tmp_path / "house.csv"
    source.write_text("Id\n1\n")
    monkeypatch.setitem(d2l.DATA_HUB, "house", (source.as_uri(), "0" * 40))
    with pytest.raises(DatasetError, match="SHA-1 .* not DATA_HUB"):
        d2l.download("house", cache_dir=tmp_path / "data")
    assert not (tmp_path / "data" / "house.csv").exists()  # nothing saved
    with pytest.raises(DatasetError, match="no file 'hose' in d2l.DATA_HUB"):
        d2l.download("hose")
    monkeypatch.setitem(d2l.DATA_HUB, "gone", ((tmp_path / "gone.csv").as_uri(), "0" * 40))
    with pytest.raises(DatasetError, match="could not download gone .* put the file at"):
        d2l.download("gone", cache_dir=tmp_path / "data")
