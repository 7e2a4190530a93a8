"""Momentum and Nesterov in every twin's SGD, held against torch.optim.SGD; the learning-rate schedules."""
import math

import pytest
import torch

from minidl.lessons import concise
from minidl.lessons import manual
from minidl.lessons import scratch
from minidl.config.train import TrainConfig
from minidl.errors import ConfigError
from minidl.training.models import build_loss, copy_weights
from minidl.training.optimizers import build_optimizer
from minidl.training.optimizers import decay_groups
from minidl.training.schedules import lr_at, set_lr

IMPLS = {"scratch": scratch, "concise": concise, "manual": manual}


def _mlp(twin):
    return twin.MLP(hidden=(32, 16), activation="tanh", seed=0)


def _data(n=200):
    g = torch.Generator().manual_seed(0)
    return torch.rand(n, 1, 28, 28, generator=g), torch.randint(0, 10, (n,), generator=g)


def _batches():
    order = torch.Generator().manual_seed(0)  # the same 50 batches of 20 for every optimizer
    return [idx for _ in range(5) for idx in torch.randperm(200, generator=order).split(20)]


def _torch_reference(momentum, nesterov, weight_decay, lr=0.05):
    """Return the canonical weights after 50 steps of torch.optim.SGD itself on a plain autograd MLP."""
    model = _mlp(scratch)  # plain tensors with requires_grad: torch.optim steps them directly
    optimizer = torch.optim.SGD(decay_groups(model.parameters(), weight_decay), lr=lr, momentum=momentum,
                                nesterov=nesterov, weight_decay=weight_decay)
    X, y = _data()
    for idx in _batches():
        loss = scratch.cross_entropy(model(X[idx]), y[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return {name: value.detach() for name, value in model.canonical_state().items()}


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("impl", IMPLS)
def test_fifty_momentum_steps_equal_torch_optim_sgd(impl, nesterov, weight_decay):
    model = _mlp(IMPLS[impl])
    loss_fn = build_loss("mlp", impl, model, weight_decay=weight_decay)
    optimizer = build_optimizer(model, impl, "sgd", 0.05, weight_decay, momentum=0.9, nesterov=nesterov)
    X, y = _data()
    for idx in _batches():
        loss = loss_fn(model(X[idx]), y[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    expected = _torch_reference(0.9, nesterov, weight_decay)
    for name, value in model.canonical_state().items():
        torch.testing.assert_close(value, expected[name], rtol=1e-4, atol=1e-5, msg=lambda m: f"{name}: {m}")
    plain = _torch_reference(0.0, False, weight_decay)
    assert not torch.allclose(expected["W1"], plain["W1"], atol=1e-4)  # momentum did change the trajectory


@pytest.mark.parametrize("impl", IMPLS)
def test_velocities_are_in_the_state_dict_and_resume_exactly(impl):
    X, y = _data()
    batches = _batches()

    def build():
        model = _mlp(IMPLS[impl])
        return model, build_loss("mlp", impl, model), build_optimizer(model, impl, "sgd", 0.05, momentum=0.9)

    def steps(model, loss_fn, optimizer, chosen):
        for idx in chosen:
            loss = loss_fn(model(X[idx]), y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    straight = build()
    steps(*straight, batches)
    first = build()
    steps(*first, batches[:25])
    saved_model = {k: v.clone() for k, v in first[0].state_dict().items()}
    saved_optimizer = first[2].state_dict()
    second = build()
    second[0].load_state_dict(saved_model)
    second[2].load_state_dict(saved_optimizer)
    steps(*second, batches[25:])
    for (name, a), b in zip(straight[0].state_dict().items(), second[0].state_dict().values()):
        assert torch.equal(a, b), name  # bitwise: the velocities came back with the weights


def test_momentum_free_manual_sgd_keeps_no_velocities():
    model = _mlp(manual)
    assert not build_optimizer(model, "manual", "sgd", 0.1).velocities  # the fast path: no buffers at all


@pytest.mark.parametrize("flags, message", [
    ({"nesterov": True}, "--nesterov needs momentum"),
    ({"momentum": 0.9, "optimizer": "adam", "impl": "concise"}, "adam has its own moments"),
    ({"momentum": 1.0}, "momentum (--momentum)"),
    ({"schedule": "step"}, "--schedule step needs --step-size"),
    ({"gamma": 0.5}, "apply to --schedule step"),
    ({"schedule": "warm"}, "unknown schedule"),
    ({"warmup": -1}, "--warmup"),
])
def test_bad_optimizer_and_schedule_flags_are_config_errors(flags, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        TrainConfig(model="mlp", **flags)


def _lrs(**flags):
    config = TrainConfig(model="mlp", lr=1.0, **flags)
    return [lr_at(config, epoch) for epoch in range(1, config.epochs + 1)]


def test_schedules_give_the_lr_of_each_epoch():
    assert _lrs(epochs=4) == [1.0] * 4
    assert _lrs(epochs=6, schedule="step", step_size=2, gamma=0.5) == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    cosine = _lrs(epochs=10, schedule="cosine")
    assert cosine[0] == 1.0 and all(a > b > 0 for a, b in zip(cosine, cosine[1:]))  # down, never to 0
    warm = _lrs(epochs=10, schedule="cosine", warmup=3)
    assert warm[:4] == [0.25, 0.5, 0.75, 1.0] and warm[4:] == pytest.approx(_lrs(epochs=7, schedule="cosine")[1:])
    cycle = _lrs(epochs=10, schedule="onecycle")  # 3 epochs up from lr/25, then down to lr/25/1e4
    assert cycle[0] == pytest.approx(1 / 25) and cycle[2] == 1.0 and cycle[-1] == pytest.approx(1 / 25 / 1e4)
    assert all(a < b for a, b in zip(cycle[:3], cycle[1:3])) and all(a > b for a, b in zip(cycle[2:], cycle[3:]))
    assert math.isclose(max(cycle), 1.0)


@pytest.mark.parametrize("impl", IMPLS)
def test_set_lr_reaches_every_optimizer_step(impl):
    model, other = _mlp(IMPLS[impl]), _mlp(IMPLS[impl])
    copy_weights(model, other)
    X, y = _data(20)
    for m, lr in ((model, 0.2), (other, None)):
        optimizer = build_optimizer(m, impl, "sgd", 0.1 if lr is None else 0.7)
        if lr is not None:
            assert set_lr(optimizer, lr) == lr and all(g["lr"] == lr for g in optimizer.param_groups)
        else:
            set_lr(optimizer, 0.2)
        loss = build_loss("mlp", impl, m)(m(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    for a, b in zip(model.canonical_state().values(), other.canonical_state().values()):
        torch.testing.assert_close(a, b)  # both stepped at 0.2, whatever lr they were built with


@pytest.mark.parametrize("impl", IMPLS)
def test_label_smoothing_equals_torchs_in_value_and_gradient(impl):
    g = torch.Generator().manual_seed(0)
    logits, y = torch.randn(16, 10, generator=g, dtype=torch.float64), torch.randint(0, 10, (16,), generator=g)
    expected = torch.nn.functional.cross_entropy(logits, y, label_smoothing=0.1)
    if impl == "manual":
        value, grad = manual.cross_entropy(logits, y, label_smoothing=0.1)
    else:
        leaf = logits.clone().requires_grad_()
        value = IMPLS[impl].cross_entropy(leaf, y, label_smoothing=0.1)
        value.backward()
        grad = leaf.grad
    reference = logits.clone().requires_grad_()
    torch.nn.functional.cross_entropy(reference, y, label_smoothing=0.1).backward()
    torch.testing.assert_close(value, expected)
    torch.testing.assert_close(grad, reference.grad)


@pytest.mark.parametrize("impl", ["concise", "manual"])
def test_fifty_steps_with_label_smoothing_same_weights(impl):
    X, y = _data()
    states = {}
    for i in (impl, "scratch"):
        model = _mlp(IMPLS[i])
        loss_fn, optimizer = build_loss("mlp", i, model, label_smoothing=0.1), build_optimizer(model, i, "sgd", 0.05)
        for idx in _batches():
            loss = loss_fn(model(X[idx]), y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        states[i] = model.canonical_state()
    for name, value in states[impl].items():
        torch.testing.assert_close(value, states["scratch"][name], rtol=1e-4, atol=1e-5)
