"""The twins compute the same thing: same weights, logits, losses, gradients and SGD trajectory."""
import pytest
import torch
from torch import nn

from minidl import concise, scratch
from minidl.activations import ACTIVATIONS
from minidl.data.synthetic import synthetic_data
from minidl.errors import ConfigError
from minidl.models import copy_weights

TWINS = [scratch, concise]


def _data(kind, n, seed=0):
    """Return (X, y) for ``kind``: (n, 3) rows and (n, 1) targets, or (n, 1, 28, 28) images and labels."""
    g = torch.Generator().manual_seed(seed)
    if kind == "linreg":
        return torch.randn(n, 3, generator=g), torch.randn(n, 1, generator=g)
    return torch.rand(n, 1, 28, 28, generator=g), torch.randint(0, 10, (n,), generator=g)


# kind -> (build(twin, seed, init), loss name)
MODELS = {
    "linreg": (lambda twin, seed, init="normal": twin.LinearRegression(3, init=init, seed=seed), "squared_loss"),
    "softmax": (lambda twin, seed, init="normal": twin.SoftmaxRegression(init=init, seed=seed), "cross_entropy"),
    "mlp": (lambda twin, seed, init="normal": twin.MLP(init=init, seed=seed), "cross_entropy"),
    "mlp-2-hidden": (lambda twin, seed, init="normal": twin.MLP(hidden=(64, 32), activation="tanh", init=init,
                                                                seed=seed), "cross_entropy"),
}


def _pair(kind, seed=0, init="normal"):
    build, loss = MODELS[kind]
    return build(scratch, seed, init), build(concise, seed, init), getattr(scratch, loss), getattr(concise, loss)


def _data_kind(kind):
    return "linreg" if kind == "linreg" else "images"


def _canonical_grads(model) -> dict:
    """Return each parameter's gradient under its canonical name and in canonical (in, out) layout."""
    if isinstance(model, concise.Model):
        linears = [layer for layer in model if isinstance(layer, nn.Linear)]
        return dict(zip(model.names, [g for lin in linears for g in (lin.weight.grad.T, lin.bias.grad)]))
    return {name: param.grad for name, param in model.named_parameters()}


@pytest.mark.parametrize("init", scratch.INITS)
@pytest.mark.parametrize("kind", MODELS)
def test_same_seed_same_initial_weights(kind, init):
    mine, theirs, _, _ = _pair(kind, seed=3, init=init)
    a, b = mine.canonical_state(), theirs.canonical_state()
    assert list(a) == list(b)
    for name in a:
        assert torch.equal(a[name], b[name]), name
    assert not torch.equal(a[next(iter(a))], _pair(kind, seed=4, init=init)[0].canonical_state()[next(iter(a))])


def test_init_schemes_draw_what_they_promise():
    shapes = {"W": (784, 256), "b": (256,)}
    normal, xavier, kaiming = (scratch.init_params(shapes, init) for init in scratch.INITS)
    assert abs(normal["W"].std().item() - 0.01) < 2e-4 and normal["b"].abs().sum() > 0  # biases drawn too
    assert xavier["W"].abs().max() <= (6 / (784 + 256)) ** 0.5 and xavier["b"].abs().sum() == 0
    assert abs(kaiming["W"].std().item() - (2 / 784) ** 0.5) < 1e-3 and kaiming["b"].abs().sum() == 0
    assert torch.equal(scratch.init_params(shapes, seed=5)["W"], scratch.init_params(shapes, seed=5)["W"])


@pytest.mark.parametrize("kind", MODELS)
def test_copy_weights_both_directions(kind):
    build = MODELS[kind][0]
    for src, dst in [(build(scratch, 1), build(concise, 2)), (build(concise, 1), build(scratch, 2))]:
        copy_weights(src, dst)
        for name, value in src.canonical_state().items():
            assert torch.equal(dst.canonical_state()[name], value), name


@pytest.mark.parametrize("kind", MODELS)
def test_same_logits_loss_and_gradients(kind):
    mine, theirs, my_loss, their_loss = _pair(kind)
    X, y = _data(_data_kind(kind), 16)
    losses = []
    for model, loss_fn in [(mine, my_loss), (theirs, their_loss)]:
        y_hat = model(X)
        loss = loss_fn(y_hat, y)
        loss.backward()
        losses.append((y_hat, loss))
    torch.testing.assert_close(losses[0][0], losses[1][0])  # logits
    torch.testing.assert_close(losses[0][1], losses[1][1])  # loss
    grads = _canonical_grads(mine), _canonical_grads(theirs)
    for name in grads[0]:
        torch.testing.assert_close(grads[0][name], grads[1][name], msg=lambda m: f"{name}: {m}")


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_mlp_twins_agree_for_every_activation(activation):
    mine, theirs = (twin.MLP(hidden=(32, 16), activation=activation, init="xavier") for twin in TWINS)
    copy_weights(mine, theirs)
    X, y = _data("images", 8)
    for model, twin in [(mine, scratch), (theirs, concise)]:
        twin.cross_entropy(model(X), y).backward()
    torch.testing.assert_close(mine(X), theirs(X))
    grads = _canonical_grads(mine), _canonical_grads(theirs)
    for name in grads[0]:
        torch.testing.assert_close(grads[0][name], grads[1][name])


@pytest.mark.parametrize("kind", MODELS)
def test_fifty_sgd_steps_same_weights(kind):
    mine, theirs, my_loss, their_loss = _pair(kind)
    X, y = _data(_data_kind(kind), 200)
    start = {name: value.clone() for name, value in mine.canonical_state().items()}
    for model, loss_fn, twin in [(mine, my_loss, scratch), (theirs, their_loss, concise)]:
        optimizer = twin.SGD(model.parameters(), lr=0.03)  # stable: at lr 0.1 the random labels make
        # softmax's loss climb, and the chaos amplifies float32 rounding differences to 1e-4
        order = torch.Generator().manual_seed(0)  # the same batches for both twins
        batches = [idx for _ in range(5) for idx in torch.randperm(200, generator=order).split(20)]
        assert len(batches) == 50
        for idx in batches:
            loss = loss_fn(model(X[idx]), y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    a, b = mine.canonical_state(), theirs.canonical_state()
    for name in a:
        torch.testing.assert_close(a[name], b[name], msg=lambda m: f"{name}: {m}")
    assert any(not torch.equal(start[name], a[name]) for name in a)  # training did move the weights


def _logits64():
    return torch.randn(5, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0), requires_grad=True)


@pytest.mark.parametrize("twin", TWINS)
def test_gradcheck_float64(twin):
    logits = _logits64()
    labels = torch.tensor([0, 3, 1, 1, 2])
    assert torch.autograd.gradcheck(twin.softmax, (logits,))
    assert torch.autograd.gradcheck(twin.log_softmax, (logits,))
    assert torch.autograd.gradcheck(lambda z: twin.cross_entropy(z, labels), (logits,))
    y_hat = _logits64()[:, :1].detach().requires_grad_()  # (5, 1)
    y = torch.randn(5, dtype=torch.float64, requires_grad=True)  # (5,): reshaped, never broadcast
    assert torch.autograd.gradcheck(twin.squared_loss, (y_hat, y))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("twin", TWINS)
def test_softmax_and_cross_entropy_stable_for_huge_logits(twin, dtype):
    logits = torch.tensor([[1000.0, -1000.0, 0.0],
                           [-1000.0, -1000.0, -1000.0],  # every logit -1000: naive exp underflows to 0 / 0
                           [1000.0, 1000.0, -1000.0],
                           [0.5, -0.3, 2.0]], dtype=dtype, requires_grad=True)
    y = torch.tensor([1, 2, 0, 2])
    reference = torch.log_softmax(logits.detach().double(), dim=1).to(dtype)
    torch.testing.assert_close(twin.log_softmax(logits), reference)
    torch.testing.assert_close(twin.softmax(logits), reference.exp())
    loss = twin.cross_entropy(logits, y)
    torch.testing.assert_close(loss, -reference[torch.arange(4), y].mean())
    loss.backward()
    assert torch.isfinite(logits.grad).all()
    assert torch.isfinite(twin.softmax(logits)).all() and torch.isfinite(loss)


@pytest.mark.parametrize("twin", TWINS)
def test_squared_loss_never_broadcasts_to_pairs(twin):
    y_hat = torch.tensor([[1.0], [2.0], [3.0], [4.0], [5.0]])  # (5, 1)
    y = torch.tensor([1.0, 2.0, 3.0, 4.0, 7.0])  # (5,)
    per_example = 0.5 * (y_hat[:, 0] - y) ** 2
    torch.testing.assert_close(twin.squared_loss(y_hat, y), per_example.mean())  # 0.4, not the (5, 5) mean
    torch.testing.assert_close(twin.squared_loss(y_hat[:, 0], y.reshape(5, 1)), per_example.mean())


def test_accuracy_is_a_count():
    y_hat = torch.tensor([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
    assert scratch.accuracy(y_hat, torch.tensor([1, 1, 1])) == 2
    assert scratch.accuracy(y_hat, torch.tensor([[1], [1], [1]])) == 2  # (n, 1) labels: no (n, n) broadcast
    assert concise.accuracy is scratch.accuracy


@pytest.mark.parametrize("twin", TWINS)
def test_image_models_accept_flat_square_and_channel_inputs(twin):
    X = torch.rand(4, 1, 28, 28)
    for model in (twin.SoftmaxRegression(), twin.MLP(hidden=(16,))):
        out = model(X)
        assert out.shape == (4, 10)
        torch.testing.assert_close(model(X.reshape(4, 28, 28)), out)
        torch.testing.assert_close(model(X.reshape(4, 784)), out)


@pytest.mark.parametrize("twin", TWINS)
@pytest.mark.parametrize("model_name, build, bad, expected", [
    ("MLP", lambda t: t.MLP(hidden=(16,)), (4, 100), "784 features per example (like (B, 784) or (B, 1, 28, 28))"),
    ("SoftmaxRegression", lambda t: t.SoftmaxRegression(), (4, 3, 28, 28), "784 features per example"),
    ("SoftmaxRegression", lambda t: t.SoftmaxRegression(), (784,), "784 features per example"),
    ("LinearRegression", lambda t: t.LinearRegression(2), (4, 3), "2 features per example (like (B, 2))"),
    ("LinearRegression", lambda t: t.LinearRegression(2), (4, 2, 1), "2 features per example (like (B, 2))"),
])
def test_wrong_input_width_names_expected_and_actual_shape(twin, model_name, build, bad, expected):
    with pytest.raises(ConfigError) as error:
        build(twin)(torch.zeros(bad))
    message = str(error.value)
    assert message.startswith(f"{model_name} expects inputs with {expected}")
    assert message.endswith(f"got shape {bad}")


@pytest.mark.parametrize("twin", TWINS)
def test_bad_sizes_and_init_are_config_errors(twin):
    with pytest.raises(ConfigError, match=r"parameter W2 would have shape \(16, 0\)"):
        twin.MLP(hidden=(16, 0))
    with pytest.raises(ConfigError, match="unknown init 'glorot'; choose one of normal, xavier, kaiming"):
        twin.SoftmaxRegression(init="glorot")
    with pytest.raises(ConfigError, match="unknown activation"):
        twin.MLP(activation="sigmoidal")


@pytest.mark.parametrize("twin", TWINS)
def test_linear_regression_by_sgd_recovers_the_least_squares_solution(twin):
    """The lesson's run: 1,000 examples, lr 0.03, batch 10, 3 epochs of shuffled minibatches."""
    X, y = synthetic_data(torch.tensor([2.0, -3.4]), 4.2, 1000)
    A = torch.cat([X, torch.ones(1000, 1)], dim=1).double()  # (n, 3): [X, 1]
    solution = torch.linalg.lstsq(A, y.double()).solution[:, 0]  # (w1, w2, b), closed form
    model = twin.LinearRegression(2)
    order = torch.Generator().manual_seed(0)
    for _ in range(3):
        for idx in torch.randperm(1000, generator=order).split(10):
            loss = twin.squared_loss(model(X[idx]), y[idx])
            loss.backward()
            twin.sgd(model.parameters(), lr=0.03)
    state = model.canonical_state()
    w_error = (state["w"][:, 0].double() - solution[:2]).abs().max().item()
    b_error = (state["b"][0].double() - solution[2]).abs().item()
    print(f"\n{twin.__name__}: |w - w_lstsq|max = {w_error:.2e}, |b - b_lstsq| = {b_error:.2e}")
    assert w_error < 1e-3 and b_error < 1e-3, (w_error, b_error)
