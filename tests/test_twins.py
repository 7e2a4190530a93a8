"""The three twins compute the same thing: same weights, logits, losses, gradients and SGD trajectory.

The scratch twin (autograd on plain tensors) is the reference; concise (torch.nn) and manual
(every gradient by hand) are each held against it.
"""
import pytest
import torch

from minidl.lessons import concise
from minidl.lessons import manual
from minidl.lessons import scratch
from minidl.lessons.activations import ACTIVATIONS
from minidl.lessons.choices import INITS
from minidl.data.synthetic import synthetic_data
from minidl.errors import ConfigError
from minidl.training.models import build_loss, copy_weights
from minidl.training.optimizers import build_optimizer
from minidl.lessons.masks import dropout_generator
from minidl.lessons.contracts import init_params

IMPLS = {"scratch": scratch, "concise": concise, "manual": manual}
OTHERS = ["concise", "manual"]  # each held against scratch

# kind -> build(twin, seed, init)
MODELS = {
    "linreg": lambda twin, seed=0, init="normal": twin.LinearRegression(3, init=init, seed=seed),
    "softmax": lambda twin, seed=0, init="normal": twin.SoftmaxRegression(init=init, seed=seed),
    "mlp": lambda twin, seed=0, init="normal": twin.MLP(init=init, seed=seed),
    "mlp-2-hidden": lambda twin, seed=0, init="normal": twin.MLP(hidden=(64, 32), activation="tanh", init=init,
                                                                 seed=seed),
}


def _kind(name):
    return "linreg" if name == "linreg" else "mlp"


def _data(kind, n, seed=0):
    """Return (X, y): (n, 3) rows and (n, 1) targets for linreg, else (n, 1, 28, 28) images and labels."""
    g = torch.Generator().manual_seed(seed)
    if kind == "linreg":
        return torch.randn(n, 3, generator=g), torch.randn(n, 1, generator=g)
    return torch.rand(n, 1, 28, 28, generator=g), torch.randint(0, 10, (n,), generator=g)


def _forward_backward(impl, model, kind, X, y):
    """Return (logits, loss) after one forward, loss and backward through the registry's loss."""
    y_hat = model(X)
    loss = build_loss(_kind(kind), impl, model)(y_hat, y)
    loss.backward()
    return y_hat.detach(), loss.detach()


def _assert_same(a: dict, b: dict, **tolerance):
    assert list(a) == list(b)
    for name in a:
        torch.testing.assert_close(a[name], b[name], msg=lambda m: f"{name}: {m}", **tolerance)


@pytest.mark.parametrize("impl", OTHERS)
@pytest.mark.parametrize("init", INITS)
@pytest.mark.parametrize("kind", MODELS)
def test_same_seed_same_initial_weights(kind, init, impl):
    mine, theirs = MODELS[kind](IMPLS[impl], 3, init), MODELS[kind](scratch, 3, init)
    a, b = mine.canonical_state(), theirs.canonical_state()
    assert list(a) == list(b) and all(torch.equal(a[name], b[name]) for name in a)
    other_seed = MODELS[kind](scratch, 4, init).canonical_state()
    assert not all(torch.equal(a[name], other_seed[name]) for name in a)


def test_init_schemes_draw_what_they_promise():
    shapes = {"W": (784, 256), "b": (256,)}
    normal, xavier, kaiming, standard = (init_params(shapes, init) for init in INITS)
    assert abs(normal["W"].std().item() - 0.01) < 2e-4 and normal["b"].abs().sum() > 0  # biases drawn too
    assert xavier["W"].abs().max() <= (6 / (784 + 256)) ** 0.5 and xavier["b"].abs().sum() == 0
    assert abs(kaiming["W"].std().item() - (2 / 784) ** 0.5) < 1e-3 and kaiming["b"].abs().sum() == 0
    assert abs(standard["W"].std().item() - 1) < 0.01 and standard["b"].abs().sum() == 0
    assert torch.equal(init_params(shapes, seed=5)["W"], init_params(shapes, seed=5)["W"])


@pytest.mark.parametrize("impl", OTHERS)
@pytest.mark.parametrize("kind", MODELS)
def test_copy_weights_both_directions(kind, impl):
    build, twin = MODELS[kind], IMPLS[impl]
    for src, dst in [(build(scratch, 1), build(twin, 2)), (build(twin, 1), build(scratch, 2))]:
        copy_weights(src, dst)
        _assert_same(dst.canonical_state(), src.canonical_state(), rtol=0, atol=0)


@pytest.mark.parametrize("impl", OTHERS)
@pytest.mark.parametrize("kind", MODELS)
def test_same_logits_loss_and_gradients(kind, impl):
    mine, theirs = MODELS[kind](IMPLS[impl]), MODELS[kind](scratch)
    X, y = _data(_kind(kind), 16)
    (my_out, my_loss), (their_out, their_loss) = (
        _forward_backward(i, m, kind, X, y) for i, m in [(impl, mine), ("scratch", theirs)])
    torch.testing.assert_close(my_out, their_out)
    torch.testing.assert_close(my_loss, their_loss)
    _assert_same(mine.canonical_grads(), theirs.canonical_grads())


@pytest.mark.parametrize("impl", OTHERS)
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_mlp_twins_agree_for_every_activation_in_float64(activation, impl):
    """float64: a mistake in any formula (a derivative written by hand) shows far above rounding."""
    mine, theirs = (twin.MLP(hidden=(16, 8), activation=activation, init="xavier", seed=1)
                    for twin in (IMPLS[impl], scratch))
    for model in (mine, theirs):
        for param in model.parameters():
            param.data = param.data.double()
    X, y = _data("images", 8)
    outs = [_forward_backward(i, m, "mlp", X.double(), y) for i, m in [(impl, mine), ("scratch", theirs)]]
    torch.testing.assert_close(outs[0][0], outs[1][0], rtol=1e-10, atol=1e-12)
    _assert_same(mine.canonical_grads(), theirs.canonical_grads(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("impl", OTHERS)
@pytest.mark.parametrize("kind", MODELS)
def test_fifty_sgd_steps_same_weights(kind, impl):
    mine, theirs = MODELS[kind](IMPLS[impl]), MODELS[kind](scratch)
    X, y = _data(_kind(kind), 200)
    start = {name: value.clone() for name, value in theirs.canonical_state().items()}
    for model, i in [(mine, impl), (theirs, "scratch")]:
        loss_fn = build_loss(_kind(kind), i, model)
        optimizer = build_optimizer(model, i, "sgd", 0.03)  # stable: at lr 0.1 the random labels make
        # softmax's loss climb, and the chaos amplifies float32 rounding differences to 1e-4
        order = torch.Generator().manual_seed(0)  # the same batches for both twins
        batches = [idx for _ in range(5) for idx in torch.randperm(200, generator=order).split(20)]
        assert len(batches) == 50
        for idx in batches:
            loss = loss_fn(model(X[idx]), y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    _assert_same(mine.canonical_state(), theirs.canonical_state())
    assert all(not torch.equal(start[n], v) for n, v in theirs.canonical_state().items())  # training moved all


def test_gradcheck_float64():
    """Autograd differentiates the scratch twin's own softmax, log_softmax and losses correctly."""
    logits = torch.randn(5, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0), requires_grad=True)
    labels = torch.tensor([0, 3, 1, 1, 2])
    assert torch.autograd.gradcheck(scratch.softmax, (logits,))
    assert torch.autograd.gradcheck(scratch.log_softmax, (logits,))
    assert torch.autograd.gradcheck(lambda z: scratch.cross_entropy(z, labels), (logits,))
    y_hat = logits.detach()[:, :1].clone().requires_grad_()  # (5, 1)
    y = torch.randn(5, dtype=torch.float64, requires_grad=True)  # (5,): reshaped, never broadcast
    assert torch.autograd.gradcheck(scratch.squared_loss, (y_hat, y))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_softmax_and_cross_entropy_stable_for_huge_logits(dtype):
    logits = torch.tensor([[1000.0, -1000.0, 0.0],
                           [-1000.0, -1000.0, -1000.0],  # every logit -1000: naive exp underflows to 0 / 0
                           [1000.0, 1000.0, -1000.0],
                           [0.5, -0.3, 2.0]], dtype=dtype, requires_grad=True)
    y = torch.tensor([1, 2, 0, 2])
    reference = torch.log_softmax(logits.detach().double(), dim=1).to(dtype)
    torch.testing.assert_close(scratch.log_softmax(logits), reference)
    torch.testing.assert_close(scratch.softmax(logits), reference.exp())
    loss = scratch.cross_entropy(logits, y)
    torch.testing.assert_close(loss, -reference[torch.arange(4), y].mean())
    loss.backward()
    assert torch.isfinite(logits.grad).all() and torch.isfinite(loss)
    manual_loss, manual_grad = manual.cross_entropy(logits.detach(), y)  # value and gradient by hand
    torch.testing.assert_close(manual_loss, loss.detach())
    torch.testing.assert_close(manual_grad, logits.grad)


@pytest.mark.parametrize("impl", ["scratch", "concise"])
def test_squared_loss_never_broadcasts_to_pairs(impl):
    y_hat = torch.tensor([[1.0], [2.0], [3.0], [4.0], [5.0]])  # (5, 1)
    y = torch.tensor([1.0, 2.0, 3.0, 4.0, 7.0])  # (5,)
    per_example = 0.5 * (y_hat[:, 0] - y) ** 2
    twin = IMPLS[impl]
    torch.testing.assert_close(twin.squared_loss(y_hat, y), per_example.mean())  # 0.4, not the (5, 5) mean
    torch.testing.assert_close(twin.squared_loss(y_hat[:, 0], y.reshape(5, 1)), per_example.mean())


def test_manual_squared_loss_gradient_never_broadcasts_to_pairs():
    y_hat = torch.tensor([[1.0], [2.0], [4.0]], requires_grad=True)
    y = torch.tensor([0.0, 0.0, 1.0])  # (n,) beside (n, 1): a careless subtraction makes (n, n)
    loss, grad = manual.squared_loss(y_hat.detach(), y)
    scratch.squared_loss(y_hat, y).backward()
    assert grad.shape == (3, 1)
    torch.testing.assert_close(grad, y_hat.grad)
    torch.testing.assert_close(loss, torch.tensor((1 + 4 + 9) / 6))


def test_accuracy_is_a_count():
    y_hat = torch.tensor([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
    assert scratch.accuracy(y_hat, torch.tensor([1, 1, 1])) == 2
    assert scratch.accuracy(y_hat, torch.tensor([[1], [1], [1]])) == 2  # (n, 1) labels: no (n, n) broadcast


@pytest.mark.parametrize("impl", IMPLS)
def test_image_models_accept_flat_square_and_channel_inputs(impl):
    X = torch.rand(4, 1, 28, 28)
    for model in (IMPLS[impl].SoftmaxRegression(), IMPLS[impl].MLP(hidden=(16,))):
        out = model(X)
        assert out.shape == (4, 10)
        torch.testing.assert_close(model(X.reshape(4, 28, 28)), out)
        torch.testing.assert_close(model(X.reshape(4, 784)), out)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("model_name, build, bad, expected", [
    ("MLP", lambda t: t.MLP(hidden=(16,)), (4, 100), "784 features per example (like (B, 784) or (B, 1, 28, 28))"),
    ("SoftmaxRegression", lambda t: t.SoftmaxRegression(), (4, 3, 28, 28), "784 features per example"),
    ("SoftmaxRegression", lambda t: t.SoftmaxRegression(), (784,), "784 features per example"),
    ("LinearRegression", lambda t: t.LinearRegression(2), (4, 3), "2 features per example (like (B, 2))"),
    ("LinearRegression", lambda t: t.LinearRegression(2), (4, 2, 1), "2 features per example (like (B, 2))"),
])
def test_wrong_input_width_names_expected_and_actual_shape(impl, model_name, build, bad, expected):
    with pytest.raises(ConfigError) as error:
        build(IMPLS[impl])(torch.zeros(bad))
    message = str(error.value)
    assert message.startswith(f"{model_name} expects inputs with {expected}")
    assert message.endswith(f"got shape {bad}")


@pytest.mark.parametrize("impl", IMPLS)
def test_bad_sizes_and_init_are_config_errors(impl):
    twin = IMPLS[impl]
    with pytest.raises(ConfigError, match=r"parameter W2 of shape \(16, 0\): each layer size must be a whole number"):
        twin.MLP(hidden=(16, 0))
    with pytest.raises(ConfigError, match="unknown init 'glorot'; choose one of normal, xavier, kaiming"):
        twin.SoftmaxRegression(init="glorot")
    with pytest.raises(ConfigError, match="unknown activation"):
        twin.MLP(activation="sigmoidal")


@pytest.mark.parametrize("impl", IMPLS)
def test_linear_regression_by_sgd_recovers_the_least_squares_solution(impl):
    """The lesson's run: 1,000 examples, lr 0.03, batch 10, 3 epochs of shuffled minibatches."""
    X, y = synthetic_data(torch.tensor([2.0, -3.4]), 4.2, 1000)
    A = torch.cat([X, torch.ones(1000, 1)], dim=1).double()  # (n, 3): [X, 1]
    solution = torch.linalg.lstsq(A, y.double()).solution[:, 0]  # (w1, w2, b), closed form
    model = IMPLS[impl].LinearRegression(2)
    loss_fn, optimizer = build_loss("linreg", impl, model), build_optimizer(model, impl, "sgd", 0.03)
    order = torch.Generator().manual_seed(0)
    for _ in range(3):
        for idx in torch.randperm(1000, generator=order).split(10):
            loss = loss_fn(model(X[idx]), y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    state = model.canonical_state()
    w_error = (state["w"][:, 0].double() - solution[:2]).abs().max().item()
    b_error = (state["b"][0].double() - solution[2]).abs().item()
    assert w_error < 1e-3 and b_error < 1e-3, (w_error, b_error)


# --- what only the manual twin does: factors instead of .grad, no graph -----------------------------

def test_manual_sgd_steps_from_the_factors_as_sgd_on_grad_does():
    stepped, reference = manual.MLP(hidden=(32,), seed=0), scratch.MLP(hidden=(32,), seed=0)
    X, y = _data("images", 16)
    optimizer = build_optimizer(stepped, "manual", "sgd", 0.5)
    optimizer.step()  # before any backward(): nothing to step from, nothing changes
    _assert_same(stepped.canonical_state(), reference.canonical_state(), rtol=0, atol=0)
    for model, impl in [(stepped, "manual"), (reference, "scratch")]:
        _forward_backward(impl, model, "mlp", X, y)
    assert all(p.grad is None for p in stepped.parameters())  # W -= lr H^T dZ: no gradient written out
    optimizer.step()
    scratch.sgd(reference.parameters(), 0.5)  # the textbook update on .grad
    _assert_same(stepped.canonical_state(), reference.canonical_state())
    assert stepped.grads is not None  # an optimizer leaves the gradients alone: zero_grad() lets them go
    optimizer.zero_grad()
    assert stepped.grads is None
    start = manual.MLP(hidden=(32,), seed=0).canonical_state()
    assert all(not torch.equal(v, start[n]) for n, v in stepped.canonical_state().items())


def test_building_an_optimizer_leaves_the_model_as_it_was():
    model = manual.MLP(hidden=(8,), seed=0)
    before = dict(vars(model))
    for name in ("sgd", "adam"):
        build_optimizer(model, "manual", name, 0.1)
        assert vars(model).keys() == before.keys() and all(vars(model)[k] is v for k, v in before.items())


def test_adam_trains_manual_models_like_concise_ones():
    mine, theirs = manual.MLP(hidden=(32,), seed=0), concise.MLP(hidden=(32,), seed=0)
    X, y = _data("images", 64)
    for model, impl in [(mine, "manual"), (theirs, "concise")]:
        loss_fn, optimizer = build_loss("mlp", impl, model), build_optimizer(model, impl, "adam", 0.01)
        for idx in torch.arange(64).split(16):
            loss = loss_fn(model(X[idx]), y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    _assert_same(mine.canonical_state(), theirs.canonical_state())


def test_manual_records_no_graph_and_evaluation_keeps_nothing():
    model = manual.MLP(hidden=(8,))
    X, y = _data("images", 4)
    assert not any(p.requires_grad for p in model.parameters())
    assert not model(X).requires_grad
    model.eval()
    model(X)
    with pytest.raises(RuntimeError, match="forward.*training mode"):
        model.backward(torch.zeros(4, 10))
    model.train()
    _forward_backward("manual", model, "mlp", X, y)
    assert all(g is not None for g in model.canonical_grads().values())
    with pytest.raises(RuntimeError, match="forward"):  # one backward per forward
        model.backward(torch.zeros(4, 10))


# --- weight decay and dropout: the same trajectory in every twin ----------------------------------

def _fifty_steps(model, impl, kind, X, y, weight_decay=0.0, lr=0.03):
    """Train ``model`` 50 minibatch SGD steps (5 epochs of 10 batches, one fixed order); return its losses."""
    loss_fn = build_loss(_kind(kind), impl, model, weight_decay=weight_decay)
    optimizer = build_optimizer(model, impl, "sgd", lr, weight_decay)
    order = torch.Generator().manual_seed(0)  # the same batches for every twin
    losses = []
    for idx in [idx for _ in range(5) for idx in torch.randperm(len(X), generator=order).split(len(X) // 10)]:
        loss = loss_fn(model(X[idx]), y[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.detach())
    return torch.stack(losses)


@pytest.mark.parametrize("impl", OTHERS)
@pytest.mark.parametrize("kind", MODELS)
def test_fifty_sgd_steps_with_weight_decay_same_weights(kind, impl):
    mine, theirs, plain = MODELS[kind](IMPLS[impl]), MODELS[kind](scratch), MODELS[kind](scratch)
    X, y = _data(_kind(kind), 200)
    my_losses = _fifty_steps(mine, impl, kind, X, y, weight_decay=0.5)
    their_losses = _fifty_steps(theirs, "scratch", kind, X, y, weight_decay=0.5)
    _fifty_steps(plain, "scratch", kind, X, y)
    _assert_same(mine.canonical_state(), theirs.canonical_state())
    torch.testing.assert_close(my_losses, their_losses)  # every twin records the data loss, not the penalty
    decayed, free = theirs.canonical_state(), plain.canonical_state()
    weights = [name for name in decayed if decayed[name].dim() > 1]
    assert all(decayed[n].norm() < free[n].norm() for n in weights)  # the decay shrank every weight


def test_weight_decay_leaves_the_biases_alone():
    """lambda/2 ||w||^2 on the weights only, as the lesson's l2_penalty(w): with no data gradient, b stays."""
    for impl, twin in IMPLS.items():
        model = twin.LinearRegression(3, seed=0)
        start = {name: value.clone() for name, value in model.canonical_state().items()}
        X, y = torch.zeros(4, 3), model(torch.zeros(4, 3)).detach()  # zero inputs, perfect fit: loss gradient 0
        loss_fn = build_loss("linreg", impl, model, weight_decay=2.0)
        optimizer = build_optimizer(model, impl, "sgd", 0.1, 2.0)
        loss = loss_fn(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        state = model.canonical_state()
        torch.testing.assert_close(state["w"], start["w"] * (1 - 0.1 * 2.0), msg=impl)  # w -= lr lambda w
        torch.testing.assert_close(state["b"], start["b"], msg=impl)


def DROPOUT_MLP(twin, seed=0):
    return twin.MLP(hidden=(64, 32), activation="tanh", seed=seed, dropout=(0.2, 0.5))


@pytest.mark.parametrize("impl", OTHERS)
def test_dropout_same_masks_logits_and_gradients(impl):
    mine, theirs = DROPOUT_MLP(IMPLS[impl]), DROPOUT_MLP(scratch)
    X, y = _data("images", 16)
    (my_out, _), (their_out, _) = (_forward_backward(i, m, "mlp", X, y) for i, m in [(impl, mine), ("scratch", theirs)])
    torch.testing.assert_close(my_out, their_out)
    _assert_same(mine.canonical_grads(), theirs.canonical_grads())
    assert torch.equal(mine.dropout_generator.get_state(), theirs.dropout_generator.get_state())


@pytest.mark.parametrize("impl", OTHERS)
@pytest.mark.parametrize("weight_decay", [0.0, 0.5])
def test_fifty_sgd_steps_with_dropout_same_weights(impl, weight_decay):
    mine, theirs = DROPOUT_MLP(IMPLS[impl]), DROPOUT_MLP(scratch)
    X, y = _data("images", 200)
    my_losses = _fifty_steps(mine, impl, "mlp", X, y, weight_decay)
    their_losses = _fifty_steps(theirs, "scratch", "mlp", X, y, weight_decay)
    _assert_same(mine.canonical_state(), theirs.canonical_state())
    torch.testing.assert_close(my_losses, their_losses)
    without = MODELS["mlp-2-hidden"](scratch)  # the same MLP, no dropout: another trajectory
    _fifty_steps(without, "scratch", "mlp", X, y, weight_decay)
    assert not torch.allclose(without.canonical_state()["W1"], theirs.canonical_state()["W1"])


@pytest.mark.parametrize("impl", IMPLS)
def test_dropout_drops_in_training_only_and_keeps_the_mean(impl):
    model = IMPLS[impl].MLP(hidden=(16,), seed=0, dropout=(0.5,))
    X = _data("images", 8)[0]
    model.eval()
    state = model.dropout_generator.get_state()
    first, second = model(X), model(X)
    assert torch.equal(first, second)  # evaluation never drops, so it is deterministic
    assert torch.equal(model.dropout_generator.get_state(), state)  # and draws nothing
    model.train()
    assert not torch.allclose(model(X), first)
    H = torch.ones(2000, 50)
    dropped = scratch.dropout(H, 0.5, dropout_generator(1))
    assert set(dropped.unique().tolist()) == {0.0, 2.0} and abs(dropped.mean().item() - 1) < 0.02
    assert scratch.dropout(H, 0.0, dropout_generator(0)) is H


def test_manual_dropout_gradient_matches_autograd_in_float64():
    mine, theirs = (twin.MLP(hidden=(16, 8), activation="sigmoid", init="xavier", seed=1, dropout=(0.3, 0.6))
                    for twin in (manual, scratch))
    for model in (mine, theirs):
        for param in model.parameters():
            param.data = param.data.double()
    X, y = _data("images", 8)
    outs = [_forward_backward(i, m, "mlp", X.double(), y) for i, m in [("manual", mine), ("scratch", theirs)]]
    torch.testing.assert_close(outs[0][0], outs[1][0], rtol=1e-10, atol=1e-12)
    _assert_same(mine.canonical_grads(), theirs.canonical_grads(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("dropout, message", [
    ((0.5,), "--dropout gives 1 probability for 2 hidden layers"),
    ((0.5, 1.0), r"dropout probability \(--dropout\) must be"),
    ((-0.1, 0.5), r"dropout probability \(--dropout\) must be"),
])
def test_bad_dropout_is_a_config_error(impl, dropout, message):
    with pytest.raises(ConfigError, match=message):
        IMPLS[impl].MLP(hidden=(16, 8), dropout=dropout)
