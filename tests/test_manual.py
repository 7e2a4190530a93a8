"""The hand-written backward pass gives autograd's gradients: manual vs the scratch twin, same weights."""
import pytest
import torch

from minidl import concise, manual, scratch
from minidl.activations import ACTIVATIONS
from minidl.errors import ConfigError
from minidl.models import architecture, build_loss, build_model, build_optimizer, copy_weights

# kind -> (build(twin, seed), loss name, example inputs (n) -> (X, y))
MODELS = {
    "linreg": (lambda twin, seed: twin.LinearRegression(3, seed=seed), "squared_loss"),
    "softmax": (lambda twin, seed: twin.SoftmaxRegression(seed=seed), "cross_entropy"),
    "mlp": (lambda twin, seed: twin.MLP(seed=seed), "cross_entropy"),
    "mlp-2-hidden": (lambda twin, seed: twin.MLP(hidden=(64, 32), activation="tanh", init="xavier", seed=seed),
                     "cross_entropy"),
}


def _data(kind, n, seed=0):
    g = torch.Generator().manual_seed(seed)
    if kind == "linreg":
        return torch.randn(n, 3, generator=g), torch.randn(n, 1, generator=g)
    return torch.rand(n, 1, 28, 28, generator=g), torch.randint(0, 10, (n,), generator=g)


def _step_both(kind, mine, theirs, X, y):
    """Run forward, loss and backward on the manual model and its scratch twin; return both (logits, loss)."""
    loss_name = MODELS[kind][1]
    out = []
    for model, loss_fn in [(mine, build_loss("linreg" if kind == "linreg" else "mlp", "manual", mine)),
                           (theirs, getattr(scratch, loss_name))]:
        y_hat = model(X)
        loss = loss_fn(y_hat, y)
        loss.backward()
        out.append((y_hat.detach(), loss.detach()))
    return out


def _grads(model):
    return {name: param.grad for name, param in model.named_parameters()}


@pytest.mark.parametrize("kind", MODELS)
def test_same_weights_logits_loss_and_gradients_as_autograd(kind):
    build = MODELS[kind][0]
    mine, theirs = build(manual, 3), build(scratch, 3)
    for name, value in mine.canonical_state().items():
        assert torch.equal(value, theirs.canonical_state()[name]), name  # one seed, one set of weights
    X, y = _data(kind, 16)
    (my_out, my_loss), (their_out, their_loss) = _step_both(kind, mine, theirs, X, y)
    torch.testing.assert_close(my_out, their_out)
    torch.testing.assert_close(my_loss, their_loss)
    mine_g, theirs_g = _grads(mine), _grads(theirs)
    for name in theirs_g:
        torch.testing.assert_close(mine_g[name], theirs_g[name], msg=lambda m: f"{name}: {m}")


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_every_activations_hand_gradient_in_float64(activation):
    mine, theirs = (twin.MLP(hidden=(16, 8), activation=activation, init="xavier", seed=1) for twin in (manual, scratch))
    for model in (mine, theirs):  # float64: any mistake in a formula shows far above rounding
        for param in model.parameters():
            param.data = param.data.double()
    X, y = _data("images", 8)
    _step_both("mlp", mine, theirs, X.double(), y)
    for name, grad in _grads(theirs).items():
        torch.testing.assert_close(_grads(mine)[name], grad, rtol=1e-10, atol=1e-12, msg=lambda m: f"{name}: {m}")


@pytest.mark.parametrize("kind", MODELS)
def test_fifty_sgd_steps_same_weights_as_the_autograd_twin(kind):
    build, loss_name = MODELS[kind]
    mine, theirs = build(manual, 0), build(scratch, 0)
    X, y = _data(kind, 200)
    for model, impl in [(mine, "manual"), (theirs, "scratch")]:
        loss_fn = build_loss("linreg" if kind == "linreg" else "mlp", impl, model)
        optimizer = build_optimizer(model, impl, "sgd", 0.03)
        order = torch.Generator().manual_seed(0)
        for idx in [i for _ in range(5) for i in torch.randperm(200, generator=order).split(20)]:
            loss = loss_fn(model(X[idx]), y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    start = build(scratch, 0).canonical_state()
    for name, value in mine.canonical_state().items():
        torch.testing.assert_close(value, theirs.canonical_state()[name], msg=lambda m: f"{name}: {m}")
        assert not torch.equal(value, start[name]), name  # training moved every parameter


def test_sgd_steps_from_the_factors_as_sgd_on_grad_does():
    stepped, reference = manual.MLP(hidden=(32,), seed=0), manual.MLP(hidden=(32,), seed=0)
    X, y = _data("images", 16)
    optimizer = build_optimizer(stepped, "manual", "sgd", 0.5)
    optimizer.step()  # before any backward(): nothing to step from, nothing changes
    assert all(torch.equal(a, b) for a, b in zip(stepped.parameters(), reference.parameters()))
    for model in (stepped, reference):
        build_loss("mlp", "manual", model)(model(X), y).backward()
    assert all(p.grad is None for p in stepped.parameters())  # W -= lr H^T dZ: no gradient written out
    assert stepped.factors is not None
    optimizer.step()
    manual.sgd(reference.parameters(), 0.5)  # the textbook update on .grad
    assert stepped.factors is None  # the batch's activations are let go, as autograd lets go of its graph
    start = manual.MLP(hidden=(32,), seed=0).parameters()
    for mine, theirs, before in zip(stepped.parameters(), reference.parameters(), start):
        torch.testing.assert_close(mine, theirs)
        assert not torch.equal(mine, before)  # the step moved every parameter


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
    for name, value in mine.canonical_state().items():
        torch.testing.assert_close(value, theirs.canonical_state()[name], msg=lambda m: f"{name}: {m}")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_cross_entropy_and_its_gradient_stay_finite_for_huge_logits(dtype):
    logits = torch.tensor([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, -1000.0]], dtype=dtype, requires_grad=True)
    y = torch.tensor([1, 2])
    loss, grad = manual.cross_entropy(logits.detach(), y)
    expected = torch.nn.functional.cross_entropy(logits, y)
    expected.backward()
    torch.testing.assert_close(loss, expected.detach())
    torch.testing.assert_close(grad, logits.grad)
    assert torch.isfinite(grad).all()


def test_squared_loss_gradient_never_broadcasts_to_pairs():
    y_hat = torch.tensor([[1.0], [2.0], [4.0]], requires_grad=True)
    y = torch.tensor([0.0, 0.0, 1.0])  # (n,) beside (n, 1): a careless subtraction makes (n, n)
    loss, grad = manual.squared_loss(y_hat.detach(), y)
    scratch.squared_loss(y_hat, y).backward()
    assert grad.shape == (3, 1)
    torch.testing.assert_close(grad, y_hat.grad)
    torch.testing.assert_close(loss, torch.tensor((1 + 4 + 9) / 6))


def test_no_graph_is_recorded_and_evaluation_keeps_nothing():
    model = manual.MLP(hidden=(8,))
    X, y = _data("images", 4)
    assert not any(p.requires_grad for p in model.parameters())
    assert not model(X).requires_grad
    model.eval()
    model(X)
    with pytest.raises(RuntimeError, match="forward.*training mode"):
        model.backward(torch.zeros(4, 10))
    model.train()
    build_loss("mlp", "manual", model)(model(X), y).backward()
    assert all(p.grad is not None for p in model.parameters())
    with pytest.raises(RuntimeError, match="forward"):  # one backward per forward
        model.backward(torch.zeros(4, 10))


def test_manual_loss_needs_its_model_and_the_registry_knows_the_impl():
    with pytest.raises(ConfigError, match="bound to the model"):
        build_loss("mlp", "manual")
    model = build_model("mlp", "manual", num_inputs=784, hidden=(8,))
    assert architecture(model)["impl"] == "manual"
    other = build_model("mlp", "concise", num_inputs=784, hidden=(8,), seed=5)
    copy_weights(other, model)
    torch.testing.assert_close(model(torch.ones(2, 784)), other(torch.ones(2, 784)).detach())
