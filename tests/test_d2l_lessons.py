"""The later lessons of the first-models chapter, in the book's own style, on `import minidl.d2l as d2l`.

Each test is one lesson of d2l 0.17 (chapters "linear networks" and "multilayer perceptrons") or
of the Chinese course's port (d2lzh_pytorch, "DL basics"), written as the lesson writes it and
calling every d2l name the lesson calls, with fewer epochs and less data so the file runs fast.
Where a lesson's function only prints or draws, it also returns what the test checks.
"""
import hashlib
import math
import re

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

import minidl.d2l as d2l
from minidl.data.fashion_mnist import load_fashion_mnist
from minidl.data.idx import write_idx


@pytest.fixture(scope="module")
def small_fashion(fashion_root, tmp_path_factory):
    """A folder of the first 2,000 training and 1,000 test images of the real Fashion-MNIST.

    Dropout's effect needs real images: on the easy stand-in every net scores 100%, dropout or not.
    """
    root = tmp_path_factory.mktemp("small-fashion")
    X_train, y_train, X_test, y_test = load_fashion_mnist(fashion_root)
    for prefix, X, y in (("train", X_train[:2000], y_train[:2000]),
                         ("t10k", X_test[:1000], y_test[:1000])):
        write_idx(root / f"{prefix}-images-idx3-ubyte", X.numpy())
        write_idx(root / f"{prefix}-labels-idx1-ubyte", y.numpy().astype(np.uint8))
    return root


@pytest.fixture(autouse=True)
def _in_tmp_path(tmp_path, monkeypatch):
    """Run each lesson in its own folder: its figures land there."""
    monkeypatch.chdir(tmp_path)


def seed(n=0):
    np.random.seed(n)
    torch.manual_seed(n)


def epoch_rows(out):
    """Return (loss, train acc, test acc) of each of train_ch3's printed epoch lines."""
    return [tuple(map(float, m)) for m in re.findall(
        r"^epoch \d+, loss (\S+), train acc (\S+), test acc (\S+)$", out, re.MULTILINE)]


def dropout_on_accuracy(net, data_iter):
    """Return the accuracy of `net` with its dropout left on (training mode, no autograd)."""
    net.train()
    correct, n = 0.0, 0
    with torch.no_grad():
        for X, y in data_iter:
            correct += d2l.accuracy(net(X), y)
            n += d2l.size(y)
    return correct / n


# --- Model selection, underfitting and overfitting (d2l 0.17, 4.4) -----------------------------

def test_polynomial_regression_fits_a_cubic_underfits_a_line_overfits_degree_19(capsys, tmp_path):
    seed()
    max_degree = 20  # maximum degree of the polynomial
    n_train, n_test = 100, 100
    true_w = np.zeros(max_degree)
    true_w[0:4] = np.array([5, 1.2, -3.4, 5.6])

    features = np.random.normal(size=(n_train + n_test, 1))
    np.random.shuffle(features)
    poly_features = np.power(features, np.arange(max_degree).reshape(1, -1))
    for i in range(max_degree):
        poly_features[:, i] /= math.gamma(i + 1)  # gamma(n) = (n-1)!
    labels = np.dot(poly_features, true_w)
    labels += np.random.normal(scale=0.1, size=labels.shape)

    true_w, features, poly_features, labels = [
        torch.tensor(x, dtype=d2l.float32) for x in [true_w, features, poly_features, labels]]

    def evaluate_loss(net, data_iter, loss):  # the lesson's own, which d2l.evaluate_loss replaces
        metric = d2l.Accumulator(2)  # sum of losses, no. of examples
        for X, y in data_iter:
            out = net(X)
            y = d2l.reshape(y, out.shape)
            l = loss(out, y)
            metric.add(d2l.reduce_sum(l), d2l.size(l))
        return metric[0] / metric[1]

    def train(train_features, test_features, train_labels, test_labels, num_epochs=400):
        loss = nn.MSELoss(reduction='none')
        input_shape = train_features.shape[-1]
        net = nn.Sequential(nn.Linear(input_shape, 1, bias=False))
        batch_size = min(10, train_labels.shape[0])
        train_iter = d2l.load_array((train_features, train_labels.reshape(-1, 1)), batch_size)
        test_iter = d2l.load_array((test_features, test_labels.reshape(-1, 1)), batch_size,
                                   is_train=False)
        trainer = torch.optim.SGD(net.parameters(), lr=0.01)
        animator = d2l.Animator(xlabel='epoch', ylabel='loss', yscale='log',
                                xlim=[1, num_epochs], ylim=[1e-3, 1e2], legend=['train', 'test'])
        for epoch in range(num_epochs):
            d2l.train_epoch_ch3(net, train_iter, loss, trainer)
            if epoch == 0 or (epoch + 1) % 20 == 0:
                animator.add(epoch + 1, (evaluate_loss(net, train_iter, loss),
                                         evaluate_loss(net, test_iter, loss)))
        print('weight:', net[0].weight.data.numpy())
        # the book's mean-reduced loss, scored per example by d2l.evaluate_loss: the same numbers
        assert d2l.evaluate_loss(net, test_iter, nn.MSELoss()) == pytest.approx(animator.Y[1][-1])
        return net, animator

    # third-order polynomial: normal fit
    net, cubic = train(poly_features[:n_train, :4], poly_features[n_train:, :4],
                       labels[:n_train], labels[n_train:])
    torch.testing.assert_close(net[0].weight.data[0], true_w[:4], atol=0.3, rtol=0)
    assert cubic.Y[1][-1] < 0.05 and cubic.Y[1][-1] < cubic.Y[1][0] / 100  # near the noise's 0.01
    # linear function: underfitting
    _, line = train(poly_features[:n_train, :2], poly_features[n_train:, :2],
                    labels[:n_train], labels[n_train:], num_epochs=20)  # the lesson: 400
    assert line.Y[0][-1] > 10 * cubic.Y[0][-1]  # it cannot reach the cubic's training loss
    # higher-order polynomial: overfitting (the lesson: 1500 epochs)
    net, high = train(poly_features[:n_train, :], poly_features[n_train:, :],
                      labels[:n_train], labels[n_train:], num_epochs=100)
    assert high.Y[1][-1] > cubic.Y[1][-1]  # the terms the cubic lacks fit the noise
    assert net[0].weight.data[0, 4:].abs().max() > 0.01

    out = capsys.readouterr().out
    assert out.count("weight: [[") == 3
    assert len(list(tmp_path.glob("*-animator.png"))) == 3


def test_the_courses_polynomial_fitting_lesson(capsys, tmp_path):  # the course's 3.11
    seed()
    n_train, n_test, true_w, true_b = 100, 100, [1.2, -3.4, 5.6], 5
    features = torch.randn((n_train + n_test, 1))
    poly_features = torch.cat((features, torch.pow(features, 2), torch.pow(features, 3)), 1)
    labels = (true_w[0] * poly_features[:, 0] + true_w[1] * poly_features[:, 1]
              + true_w[2] * poly_features[:, 2] + true_b)
    labels += torch.tensor(np.random.normal(0, 0.01, size=labels.size()), dtype=torch.float)

    num_epochs, loss = 100, torch.nn.MSELoss()

    def fit_and_plot(train_features, test_features, train_labels, test_labels):
        net = torch.nn.Linear(train_features.shape[-1], 1)
        batch_size = min(10, train_labels.shape[0])
        dataset = torch.utils.data.TensorDataset(train_features, train_labels)
        train_iter = torch.utils.data.DataLoader(dataset, batch_size, shuffle=True)
        optimizer = torch.optim.SGD(net.parameters(), lr=0.01)
        train_ls, test_ls = [], []
        for _ in range(num_epochs):
            for X, y in train_iter:
                l = loss(net(X), y.view(-1, 1))
                optimizer.zero_grad()
                l.backward()
                optimizer.step()
            train_labels = train_labels.view(-1, 1)
            test_labels = test_labels.view(-1, 1)
            train_ls.append(loss(net(train_features), train_labels).item())
            test_ls.append(loss(net(test_features), test_labels).item())
        print('final epoch: train loss', train_ls[-1], 'test loss', test_ls[-1])
        d2l.semilogy(range(1, num_epochs + 1), train_ls, 'epochs', 'loss',
                     range(1, num_epochs + 1), test_ls, ['train', 'test'])
        print('weight:', net.weight.data, '\nbias:', net.bias.data)
        return net, test_ls

    net, cubic = fit_and_plot(poly_features[:n_train, :], poly_features[n_train:, :],
                              labels[:n_train], labels[n_train:])
    torch.testing.assert_close(net.weight.data[0], torch.tensor(true_w), atol=0.1, rtol=0)
    _, line = fit_and_plot(features[:n_train, :], features[n_train:, :], labels[:n_train],
                           labels[n_train:])
    assert line[-1] > 10 * cubic[-1]
    assert capsys.readouterr().out.count("saved figure to") == 2
    assert len(list(tmp_path.glob("*-loss.png"))) == 2


# --- Weight decay (d2l 0.17, 4.5; the course's 3.12) -------------------------------------------

def weight_decay_data():
    """The lesson's data: 20 training examples of 200 features, y = 0.01 * sum(x) + 0.05 + noise."""
    n_train, n_test, num_inputs, batch_size = 20, 100, 200, 5
    true_w, true_b = d2l.ones((num_inputs, 1)) * 0.01, 0.05
    train_data = d2l.synthetic_data(true_w, true_b, n_train)
    train_iter = d2l.load_array(train_data, batch_size)
    test_data = d2l.synthetic_data(true_w, true_b, n_test)
    test_iter = d2l.load_array(test_data, batch_size, is_train=False)
    return num_inputs, batch_size, train_iter, test_iter


def test_weight_decay_from_scratch_shrinks_w_and_the_test_loss(capsys, tmp_path):
    seed()
    num_inputs, batch_size, train_iter, test_iter = weight_decay_data()

    def init_params():
        w = torch.normal(0, 1, size=(num_inputs, 1), requires_grad=True)
        b = torch.zeros(1, requires_grad=True)
        return [w, b]

    def l2_penalty(w):
        return torch.sum(w.pow(2)) / 2

    def train(lambd):
        w, b = init_params()
        net, loss = lambda X: d2l.linreg(X, w, b), d2l.squared_loss
        num_epochs, lr = 50, 0.003  # the lesson: 100
        animator = d2l.Animator(xlabel='epochs', ylabel='loss', yscale='log',
                                xlim=[5, num_epochs], legend=['train', 'test'])
        for epoch in range(num_epochs):
            for X, y in train_iter:
                # the L2 norm penalty term is added; broadcasting makes it a (B, 1) vector
                l = loss(net(X), y) + lambd * l2_penalty(w)
                l.sum().backward()
                d2l.sgd([w, b], lr, batch_size)
            if (epoch + 1) % 5 == 0:
                animator.add(epoch + 1, (d2l.evaluate_loss(net, train_iter, loss),
                                         d2l.evaluate_loss(net, test_iter, loss)))
        print('L2 norm of w:', torch.norm(w).item())
        return torch.norm(w).item(), animator.Y

    norm_free, (_, test_free) = train(lambd=0)
    norm_decayed, (_, test_decayed) = train(lambd=3)
    assert norm_decayed < norm_free / 3  # the penalty pulls w towards 0
    assert test_decayed[-1] < test_free[-1] / 2  # without it, w fits the noise of 20 examples
    assert capsys.readouterr().out.count("L2 norm of w:") == 2
    assert len(list(tmp_path.glob("*-animator.png"))) == 2


def test_concise_weight_decay_in_a_param_group_shrinks_only_the_weight(capsys):
    seed()
    num_inputs, batch_size, train_iter, test_iter = weight_decay_data()

    def train_concise(wd):
        net = nn.Sequential(nn.Linear(num_inputs, 1))
        for param in net.parameters():
            param.data.normal_()
        loss = nn.MSELoss(reduction='none')
        num_epochs, lr = 50, 0.003  # the lesson: 100
        # the bias is not decayed
        trainer = torch.optim.SGD([
            {"params": net[0].weight, 'weight_decay': wd},
            {"params": net[0].bias}], lr=lr)
        animator = d2l.Animator(xlabel='epochs', ylabel='loss', yscale='log',
                                xlim=[5, num_epochs], legend=['train', 'test'])
        for epoch in range(num_epochs):
            for X, y in train_iter:
                trainer.zero_grad()
                l = loss(net(X), y)
                l.mean().backward()
                trainer.step()
            if (epoch + 1) % 5 == 0:
                animator.add(epoch + 1, (d2l.evaluate_loss(net, train_iter, loss),
                                         d2l.evaluate_loss(net, test_iter, loss)))
        print('L2 norm of w:', net[0].weight.norm().item())
        return net[0].weight.norm().item(), animator.Y

    norm_free, (_, test_free) = train_concise(0)
    norm_decayed, (_, test_decayed) = train_concise(3)
    assert norm_decayed < norm_free / 3
    assert test_decayed[-1] < test_free[-1] / 2
    assert capsys.readouterr().out.count("L2 norm of w:") == 2


def test_the_courses_weight_decay_lesson(capsys):  # the course's 3.12, its own data loader
    seed()
    n_train, n_test, num_inputs = 20, 100, 200
    true_w, true_b = torch.ones(num_inputs, 1) * 0.01, 0.05
    features = torch.randn((n_train + n_test, num_inputs))
    labels = torch.matmul(features, true_w) + true_b
    labels += torch.tensor(np.random.normal(0, 0.01, size=labels.size()), dtype=torch.float)
    train_features, test_features = features[:n_train, :], features[n_train:, :]
    train_labels, test_labels = labels[:n_train], labels[n_train:]

    def init_params():
        w = torch.randn((num_inputs, 1), requires_grad=True)
        b = torch.zeros(1, requires_grad=True)
        return [w, b]

    def l2_penalty(w):
        return (w**2).sum() / 2

    batch_size, num_epochs, lr = 1, 50, 0.003
    net, loss = d2l.linreg, d2l.squared_loss
    dataset = torch.utils.data.TensorDataset(train_features, train_labels)
    train_iter = torch.utils.data.DataLoader(dataset, batch_size, shuffle=True)

    def fit_and_plot(lambd):
        w, b = init_params()
        train_ls, test_ls = [], []
        for _ in range(num_epochs):
            for X, y in train_iter:
                l = loss(net(X, w, b), y) + lambd * l2_penalty(w)
                l = l.sum()
                if w.grad is not None:
                    w.grad.data.zero_()
                    b.grad.data.zero_()
                l.backward()
                d2l.sgd([w, b], lr, batch_size)
            train_ls.append(loss(net(train_features, w, b), train_labels).mean().item())
            test_ls.append(loss(net(test_features, w, b), test_labels).mean().item())
        d2l.semilogy(range(1, num_epochs + 1), train_ls, 'epochs', 'loss',
                     range(1, num_epochs + 1), test_ls, ['train', 'test'])
        print('L2 norm of w:', w.norm().item())
        return w.norm().item(), test_ls[-1]

    norm_free, test_free = fit_and_plot(lambd=0)
    norm_decayed, test_decayed = fit_and_plot(lambd=3)
    assert norm_decayed < norm_free / 3 and test_decayed < test_free / 2
    assert capsys.readouterr().out.count("saved figure to") == 2


# --- Dropout (d2l 0.17, 4.6; the course's 3.13) ------------------------------------------------

def test_dropout_from_scratch_drops_in_training_only(small_fashion, capsys):
    seed()

    def dropout_layer(X, dropout):
        assert 0 <= dropout <= 1
        # in this case, all elements are dropped out
        if dropout == 1:
            return torch.zeros_like(X)
        # in this case, all elements are kept
        if dropout == 0:
            return X
        mask = (torch.rand(X.shape) > dropout).float()
        return mask * X / (1.0 - dropout)

    X = torch.arange(16, dtype=torch.float32).reshape((2, 8))
    assert torch.equal(dropout_layer(X, 0.), X) and not dropout_layer(X, 1.).any()
    kept = dropout_layer(X, 0.5)
    assert set(kept[kept != 0].tolist()) <= set((2 * X).tolist()[0] + (2 * X).tolist()[1])

    num_inputs, num_outputs, num_hiddens1, num_hiddens2 = 784, 10, 256, 256
    dropout1, dropout2 = 0.2, 0.5

    class Net(nn.Module):
        def __init__(self, num_inputs, num_outputs, num_hiddens1, num_hiddens2,
                     is_training=True):
            super(Net, self).__init__()
            self.num_inputs = num_inputs
            self.training = is_training
            self.lin1 = nn.Linear(num_inputs, num_hiddens1)
            self.lin2 = nn.Linear(num_hiddens1, num_hiddens2)
            self.lin3 = nn.Linear(num_hiddens2, num_outputs)
            self.relu = nn.ReLU()

        def forward(self, X):
            H1 = self.relu(self.lin1(X.reshape((-1, self.num_inputs))))
            # use dropout only when training the model
            if self.training == True:  # noqa: E712  (as the lesson writes it)
                # add a dropout layer after the first fully connected layer
                H1 = dropout_layer(H1, dropout1)
            H2 = self.relu(self.lin2(H1))
            if self.training == True:  # noqa: E712
                # add a dropout layer after the second fully connected layer
                H2 = dropout_layer(H2, dropout2)
            out = self.lin3(H2)
            return out

    net = Net(num_inputs, num_outputs, num_hiddens1, num_hiddens2)
    num_epochs, lr, batch_size = 3, 0.5, 32  # the lesson: 10 epochs at batch 256
    loss = nn.CrossEntropyLoss(reduction='none')
    train_iter, test_iter = d2l.load_data_fashion_mnist(batch_size, root=small_fashion)
    trainer = torch.optim.SGD(net.parameters(), lr=lr)
    d2l.train_ch3(net, train_iter, test_iter, loss, num_epochs, trainer)

    rows = epoch_rows(capsys.readouterr().out)
    assert len(rows) == 3 and rows[-1][0] < rows[0][0]
    test_acc = d2l.evaluate_accuracy(net, test_iter)
    assert rows[-1][2] == test_acc > 0.3  # printed with dropout off, in eval mode
    assert net.training  # evaluation restored the mode
    assert d2l.evaluate_accuracy(net, test_iter) == test_acc  # no random masks
    assert test_acc > dropout_on_accuracy(net, test_iter)


def test_concise_dropout_is_off_at_evaluation(small_fashion, capsys):
    seed()
    dropout1, dropout2 = 0.2, 0.5
    net = nn.Sequential(nn.Flatten(),
                        nn.Linear(784, 256),
                        nn.ReLU(),
                        # add a dropout layer after the first fully connected layer
                        nn.Dropout(dropout1),
                        nn.Linear(256, 256),
                        nn.ReLU(),
                        # add a dropout layer after the second fully connected layer
                        nn.Dropout(dropout2),
                        nn.Linear(256, 10))

    def init_weights(m):
        if type(m) == nn.Linear:
            nn.init.normal_(m.weight, std=0.01)

    net.apply(init_weights)
    num_epochs, lr, batch_size = 3, 0.5, 32  # the lesson: 10 epochs at batch 256
    loss = nn.CrossEntropyLoss(reduction='none')
    train_iter, test_iter = d2l.load_data_fashion_mnist(batch_size, root=small_fashion)
    trainer = torch.optim.SGD(net.parameters(), lr=lr)
    d2l.train_ch3(net, train_iter, test_iter, loss, num_epochs, trainer)

    rows = epoch_rows(capsys.readouterr().out)
    assert len(rows) == 3 and rows[-1][0] < rows[0][0] and rows[-1][2] > 0.3
    assert d2l.evaluate_accuracy(net, test_iter) > dropout_on_accuracy(net, test_iter)


def test_the_courses_dropout_net_is_scored_with_is_training_false(small_fashion, capsys):
    seed()

    def dropout(X, drop_prob):
        X = X.float()
        assert 0 <= drop_prob <= 1
        keep_prob = 1 - drop_prob
        # in this case all elements are dropped
        if keep_prob == 0:
            return torch.zeros_like(X)
        mask = (torch.rand(X.shape) < keep_prob).float()
        return mask * X / keep_prob

    num_inputs, num_outputs, num_hiddens1, num_hiddens2 = 784, 10, 256, 256
    W1 = torch.tensor(np.random.normal(0, 0.01, size=(num_inputs, num_hiddens1)),
                      dtype=torch.float, requires_grad=True)
    b1 = torch.zeros(num_hiddens1, requires_grad=True)
    W2 = torch.tensor(np.random.normal(0, 0.01, size=(num_hiddens1, num_hiddens2)),
                      dtype=torch.float, requires_grad=True)
    b2 = torch.zeros(num_hiddens2, requires_grad=True)
    W3 = torch.tensor(np.random.normal(0, 0.01, size=(num_hiddens2, num_outputs)),
                      dtype=torch.float, requires_grad=True)
    b3 = torch.zeros(num_outputs, requires_grad=True)
    params = [W1, b1, W2, b2, W3, b3]

    drop_prob1, drop_prob2 = 0.2, 0.5
    calls = []

    def net(X, is_training=True):
        calls.append(is_training)
        X = X.view(-1, num_inputs)
        H1 = (torch.matmul(X, W1) + b1).relu()
        if is_training:  # dropout only while training
            H1 = dropout(H1, drop_prob1)  # after the first fully connected layer
        H2 = (torch.matmul(H1, W2) + b2).relu()
        if is_training:
            H2 = dropout(H2, drop_prob2)  # after the second fully connected layer
        return torch.matmul(H2, W3) + b3

    # the lesson: 5 epochs at batch 256, lr 100 (sgd divides by the batch size: the same steps)
    num_epochs, lr, batch_size = 3, 100.0 * 32 / 256, 32
    loss = torch.nn.CrossEntropyLoss()
    train_iter, test_iter = d2l.load_data_fashion_mnist(batch_size, root=small_fashion)
    d2l.train_ch3(net, train_iter, test_iter, loss, num_epochs, batch_size, params, lr)

    rows = epoch_rows(capsys.readouterr().out)
    assert len(rows) == 3 and rows[-1][0] < rows[0][0] and rows[-1][2] > 0.3
    n_train, n_test = len(train_iter), len(test_iter)
    assert calls == ([True] * n_train + [False] * n_test) * num_epochs  # off at each evaluation
    with torch.no_grad():
        off = sum(d2l.accuracy(net(X, is_training=False), y) for X, y in test_iter) / 1000
        on = sum(d2l.accuracy(net(X), y) for X, y in test_iter) / 1000
    assert d2l.evaluate_accuracy(test_iter, net) == off != on  # scored as is_training=False


def test_the_courses_concise_dropout_lesson(small_fashion, capsys):
    seed()
    num_inputs, num_outputs, num_hiddens1, num_hiddens2 = 784, 10, 256, 256
    drop_prob1, drop_prob2 = 0.2, 0.5
    net = nn.Sequential(
        d2l.FlattenLayer(),
        nn.Linear(num_inputs, num_hiddens1),
        nn.ReLU(),
        nn.Dropout(drop_prob1),
        nn.Linear(num_hiddens1, num_hiddens2),
        nn.ReLU(),
        nn.Dropout(drop_prob2),
        nn.Linear(num_hiddens2, num_outputs))
    for param in net.parameters():
        nn.init.normal_(param, mean=0, std=0.01)

    num_epochs, batch_size = 3, 32
    loss = torch.nn.CrossEntropyLoss()
    train_iter, test_iter = d2l.load_data_fashion_mnist(batch_size, root=small_fashion)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.5)
    d2l.train_ch3(net, train_iter, test_iter, loss, num_epochs, batch_size, None, None, optimizer)

    rows = epoch_rows(capsys.readouterr().out)
    assert len(rows) == 3 and rows[-1][0] < rows[0][0] and rows[-1][2] > 0.3
    assert d2l.evaluate_accuracy(test_iter, net) > dropout_on_accuracy(net, test_iter)


# --- Forward propagation, backward propagation and computational graphs (d2l 0.17, 4.7) --------

def test_backpropagation_by_the_lessons_equations_matches_autograd():
    # The lesson has no code: its one-hidden-layer net with an L2 penalty, by its equations.
    seed()
    d, h, q, lambd = 5, 4, 3, 0.1
    x, y = d2l.normal(0, 1, (d, 1)), torch.tensor([1])
    W1 = d2l.normal(0, 1, (h, d)).requires_grad_()
    W2 = d2l.normal(0, 1, (q, h)).requires_grad_()

    # forward: z = W1 x, h = relu(z), o = W2 h, L = l(o, y), s = lambda/2 (|W1|^2 + |W2|^2)
    z = d2l.matmul(W1, x)
    hidden = torch.relu(z)
    o = d2l.matmul(W2, hidden)
    L = nn.functional.cross_entropy(d2l.reshape(o, (1, q)), y)
    s = lambd / 2 * (d2l.reduce_sum(W1 ** 2) + d2l.reduce_sum(W2 ** 2))
    J = L + s  # the objective
    J.backward()

    with torch.no_grad():  # backward, the lesson's chain rule in reverse order
        dJ_do = d2l.reshape(torch.softmax(o.reshape(q), 0) - nn.functional.one_hot(y, q)[0], (q, 1))
        dJ_dW2 = d2l.matmul(dJ_do, d2l.transpose(hidden)) + lambd * W2
        dJ_dh = d2l.matmul(d2l.transpose(W2), dJ_do)
        dJ_dz = dJ_dh * d2l.astype(z > 0, d2l.float32)  # relu'(z)
        dJ_dW1 = d2l.matmul(dJ_dz, d2l.transpose(x)) + lambd * W1
    torch.testing.assert_close(dJ_dW2, W2.grad)
    torch.testing.assert_close(dJ_dW1, W1.grad)


# --- Numerical stability and initialization (d2l 0.17, 4.8) ------------------------------------

def test_sigmoid_gradients_vanish_and_matrix_products_explode(capsys, tmp_path):
    seed()
    x = torch.arange(-8.0, 8.0, 0.1, requires_grad=True)
    y = torch.sigmoid(x)
    y.backward(torch.ones_like(x))

    d2l.plot(x.detach().numpy(), [y.detach().numpy(), x.grad.numpy()],
             legend=['sigmoid', 'gradient'], figsize=(4.5, 2.5))

    assert x.grad.max().item() == pytest.approx(0.25, abs=1e-3)  # at x = 0
    assert x.grad[[0, -1]].max().item() < 4e-4  # vanished at |x| = 8
    assert "saved figure to" in capsys.readouterr().out and len(list(tmp_path.glob("*.png"))) == 1

    M = torch.normal(0, 1, size=(4, 4))
    print('a single matrix \n', M)
    for i in range(100):
        M = torch.mm(M, torch.normal(0, 1, size=(4, 4)))
    print('after multiplying 100 matrices\n', M)
    assert M.abs().max() > 1e15  # exploded

    # the course's 3.15 has no code; its point in two lines: Xavier keeps the output's variance
    W = nn.init.xavier_normal_(torch.empty(256, 256))
    assert 0.8 < (torch.randn(1000, 256) @ W).var().item() < 1.2


# --- Predicting house prices on Kaggle (d2l 0.17, 4.10) ----------------------------------------

def write_house_tables(folder):
    """Write train.csv (1460 x 81) and test.csv (1459 x 80) shaped like Kaggle's, with their kinds.

    An Id, 36 numeric columns (some with gaps), 43 text columns (some with gaps) and, in the
    training table, a SalePrice that depends on both kinds, log-normally around 180,000.
    """
    rng = np.random.default_rng(0)
    n_train, n_test, n = 1460, 1459, 1460 + 1459
    columns = {"Id": np.arange(1, n + 1)}
    log_price = np.log(180_000) + rng.normal(0, 0.05, n)
    for j in range(36):
        values = rng.normal(0, 1, n)
        log_price += 0.1 * values if j < 6 else 0
        column = np.round(1000 + 300 * values) if j % 3 else np.round(values * 20 + 60, 1)
        column = column.astype(float) if j % 4 == 0 else column.astype(int)
        if j % 4 == 0:
            column[rng.random(n) < 0.1] = np.nan  # LotFrontage-like gaps
        columns[f"Num{j}"] = column
    for j in range(43):
        codes = rng.integers(0, 4, n)
        log_price += 0.05 * (codes == 0) if j < 6 else 0
        column = np.array(["RL", "RM", "FV", "RH"], dtype=object)[codes]
        if j % 5 == 0:
            column[rng.random(n) < 0.05] = np.nan  # Alley-like gaps
        columns[f"Text{j}"] = column
    table = pd.DataFrame(columns)
    train = table[:n_train].assign(SalePrice=np.round(np.exp(log_price[:n_train])).astype(int))
    train.to_csv(folder / "train.csv", index=False)
    table[n_train:].to_csv(folder / "test.csv", index=False)
    return [folder / "train.csv", folder / "test.csv"]


def test_house_price_lesson_with_k_fold_and_a_submission(tmp_path, monkeypatch, capsys):
    # Standing in for the network: DATA_HUB's two Kaggle entries point at local tables.
    for name, path in zip(["kaggle_house_train", "kaggle_house_test"],
                          write_house_tables(tmp_path)):
        monkeypatch.setitem(d2l.DATA_HUB, name,
                            (path.as_uri(), hashlib.sha1(path.read_bytes()).hexdigest()))
    seed()

    train_data = pd.read_csv(d2l.download('kaggle_house_train'))
    test_data = pd.read_csv(d2l.download('kaggle_house_test'))
    print(train_data.shape)
    print(test_data.shape)
    print(train_data.iloc[0:4, [0, 1, 2, 3, -3, -2, -1]])
    assert train_data.shape == (1460, 81) and test_data.shape == (1459, 80)

    all_features = pd.concat((train_data.iloc[:, 1:-1], test_data.iloc[:, 1:]))
    # if test data were inaccessible, mean and standard deviation could be calculated from
    # training data
    numeric_features = all_features.dtypes[all_features.dtypes != 'object'].index
    all_features[numeric_features] = all_features[numeric_features].apply(
        lambda x: (x - x.mean()) / (x.std()))
    # after standardizing the data all means vanish, hence we can set missing values to 0
    all_features[numeric_features] = all_features[numeric_features].fillna(0)
    # `dummy_na=True` considers "na" (missing value) as a valid feature value, and creates an
    # indicator feature for it. The one change from d2l 0.17's text: pandas >= 2 makes the
    # indicators bool, which torch.tensor cannot take from a mixed-type frame, so ask for floats.
    all_features = pd.get_dummies(all_features, dummy_na=True, dtype=float)
    assert all_features.shape == (2919, 36 + 43 * 5) and not all_features.isna().any().any()

    n_train = train_data.shape[0]
    train_features = torch.tensor(all_features[:n_train].values, dtype=torch.float32)
    test_features = torch.tensor(all_features[n_train:].values, dtype=torch.float32)
    train_labels = torch.tensor(train_data.SalePrice.values.reshape(-1, 1), dtype=torch.float32)

    loss = nn.MSELoss()
    in_features = train_features.shape[1]

    def get_net():
        net = nn.Sequential(nn.Linear(in_features, 1))
        return net

    def log_rmse(net, features, labels):
        # to further stabilize the value when the logarithm is taken, set the value less than 1
        # as 1
        clipped_preds = torch.clamp(net(features), 1, float('inf'))
        rmse = torch.sqrt(loss(torch.log(clipped_preds), torch.log(labels)))
        return rmse.item()

    def train(net, train_features, train_labels, test_features, test_labels, num_epochs,
              learning_rate, weight_decay, batch_size):
        train_ls, test_ls = [], []
        train_iter = d2l.load_array((train_features, train_labels), batch_size)
        # the Adam optimization algorithm is used here
        optimizer = torch.optim.Adam(net.parameters(), lr=learning_rate,
                                     weight_decay=weight_decay)
        for epoch in range(num_epochs):
            for X, y in train_iter:
                optimizer.zero_grad()
                l = loss(net(X), y)
                l.backward()
                optimizer.step()
            train_ls.append(log_rmse(net, train_features, train_labels))
            if test_labels is not None:
                test_ls.append(log_rmse(net, test_features, test_labels))
        return train_ls, test_ls

    def get_k_fold_data(k, i, X, y):
        assert k > 1
        fold_size = X.shape[0] // k
        X_train, y_train = None, None
        for j in range(k):
            idx = slice(j * fold_size, (j + 1) * fold_size)
            X_part, y_part = X[idx, :], y[idx]
            if j == i:
                X_valid, y_valid = X_part, y_part
            elif X_train is None:
                X_train, y_train = X_part, y_part
            else:
                X_train = torch.cat([X_train, X_part], 0)
                y_train = torch.cat([y_train, y_part], 0)
        return X_train, y_train, X_valid, y_valid

    def k_fold(k, X_train, y_train, num_epochs, learning_rate, weight_decay, batch_size):
        train_l_sum, valid_l_sum = 0, 0
        for i in range(k):
            data = get_k_fold_data(k, i, X_train, y_train)
            net = get_net()
            train_ls, valid_ls = train(net, *data, num_epochs, learning_rate, weight_decay,
                                       batch_size)
            train_l_sum += train_ls[-1]
            valid_l_sum += valid_ls[-1]
            if i == 0:
                d2l.plot(list(range(1, num_epochs + 1)), [train_ls, valid_ls],
                         xlabel='epoch', ylabel='rmse', xlim=[1, num_epochs],
                         legend=['train', 'valid'], yscale='log')
                assert train_ls[-1] < train_ls[0] / 2  # the fold's loss falls
            print(f'fold {i + 1}, train log rmse {float(train_ls[-1]):f}, '
                  f'valid log rmse {float(valid_ls[-1]):f}')
        return train_l_sum / k, valid_l_sum / k

    X_train, y_train, X_valid, y_valid = get_k_fold_data(5, 1, train_features, train_labels)
    assert X_train.shape == (1168, in_features) and X_valid.shape == (292, in_features)
    assert torch.equal(X_valid, train_features[292:584])

    k, num_epochs, lr, weight_decay, batch_size = 3, 100, 5, 0, 64  # the lesson: k = 5
    train_l, valid_l = k_fold(k, train_features, train_labels, num_epochs, lr, weight_decay,
                              batch_size)
    print(f'{k}-fold validation: avg train log rmse: {float(train_l):f}, '
          f'avg valid log rmse: {float(valid_l):f}')
    assert valid_l < 0.8 * torch.log(train_labels).std().item()  # better than guessing the mean

    def train_and_pred(train_features, test_feature, train_labels, test_data, num_epochs, lr,
                       weight_decay, batch_size):
        net = get_net()
        train_ls, _ = train(net, train_features, train_labels, None, None, num_epochs, lr,
                            weight_decay, batch_size)
        d2l.plot(np.arange(1, num_epochs + 1), [train_ls], xlabel='epoch', ylabel='log rmse',
                 xlim=[1, num_epochs], yscale='log')
        print(f'train log rmse {float(train_ls[-1]):f}')
        # apply the network to the test set
        preds = net(test_features).detach().numpy()
        # reformat it to export to Kaggle
        test_data['SalePrice'] = pd.Series(preds.reshape(1, -1)[0])
        submission = pd.concat([test_data['Id'], test_data['SalePrice']], axis=1)
        submission.to_csv('submission.csv', index=False)

    train_and_pred(train_features, test_features, train_labels, test_data, num_epochs, lr,
                   weight_decay, batch_size)

    out = capsys.readouterr().out
    assert len(re.findall(r"^fold \d, train log rmse \d\.\d{6}, valid log rmse \d\.\d{6}$", out,
                          re.MULTILINE)) == k
    submission = pd.read_csv(tmp_path / "submission.csv")
    assert list(submission.columns) == ["Id", "SalePrice"] and len(submission) == 1459
    assert submission.Id.tolist() == list(range(1461, 2920))
    assert submission.SalePrice.between(50_000, 500_000).mean() > 0.95
    assert len(list(tmp_path.glob("*rmse.png"))) == 2, out  # the two d2l.plot figures


# --- Softmax regression from scratch, the course's last cell (3.6) -----------------------------

def test_the_courses_softmax_lesson_takes_a_batch_with_iter_next(tiny_fashion, capsys, tmp_path):
    seed()
    batch_size = 32
    train_iter, test_iter = d2l.load_data_fashion_mnist(batch_size, root=tiny_fashion)
    W = torch.tensor(np.random.normal(0, 0.01, (784, 10)), dtype=torch.float, requires_grad=True)
    b = torch.zeros(10, dtype=torch.float, requires_grad=True)

    def net(X):
        return torch.softmax(torch.mm(X.view((-1, 784)), W) + b, dim=1)

    def cross_entropy(y_hat, y):
        return - torch.log(y_hat.gather(1, y.view(-1, 1)))

    d2l.train_ch3(net, train_iter, test_iter, cross_entropy, 2, batch_size, [W, b], 0.1)

    X, y = iter(test_iter).next()  # as the course prints it (Python 2's spelling)
    true_labels = d2l.get_fashion_mnist_labels(y.numpy())
    pred_labels = d2l.get_fashion_mnist_labels(net(X).argmax(dim=1).numpy())
    titles = [true + '\n' + pred for true, pred in zip(true_labels, pred_labels)]
    d2l.show_fashion_mnist(X[0:9], titles[0:9])

    assert X.shape == (batch_size, 1, 28, 28) and len(titles) == batch_size
    assert sum(t == p for t, p in zip(true_labels, pred_labels)) > 0.9 * batch_size
    assert len(epoch_rows(capsys.readouterr().out)) == 2
    assert len(list(tmp_path.glob("*-fashion_mnist.png"))) == 1
