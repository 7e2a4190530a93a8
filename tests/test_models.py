"""The registry: every model x implementation builds, bad names say the choices, weights cross twins."""
import json

import pytest
import torch

from minidl.lessons import concise
from minidl.lessons import manual
from minidl.lessons import scratch
from minidl.errors import ConfigError
from minidl.lessons.choices import IMPLS
from minidl.config.optimization import OPTIMIZERS
from minidl.config.model import MODELS as KINDS
from minidl.training.optimizers import FromFactors, build_optimizer
from minidl.training.models import architecture, build_loss, build_model, canonical_state, copy_weights, load_canonical_state

SIZES = {"linreg": 2, "softmax": 784, "mlp": 784, "polyreg": 2}
REGRESSORS = ("linreg", "polyreg")  # polyreg: linear regression on polynomial features


def _build(kind, impl, **kw):
    return build_model(kind, impl, num_inputs=SIZES[kind], **{"hidden": (32,), **kw})


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("kind", KINDS)
def test_every_combination_builds_and_trains_one_step(kind, impl):
    model = _build(kind, impl)
    assert isinstance(model, {"scratch": scratch, "concise": concise, "manual": manual}[impl].Model)
    X = torch.rand(4, 2) if kind in REGRESSORS else torch.rand(4, 1, 28, 28)
    y = torch.rand(4, 1) if kind in REGRESSORS else torch.tensor([0, 1, 2, 3])
    y_hat = model(X)
    assert y_hat.shape == ((4, 1) if kind in REGRESSORS else (4, 10))
    loss = build_loss(kind, impl, model)(y_hat, y)
    assert loss.detach().shape == ()  # the batch mean
    optimizer = build_optimizer(model, impl, "sgd", 0.1)
    before = {k: v.clone() for k, v in canonical_state(model).items()}
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    assert all(not torch.equal(before[k], v) for k, v in canonical_state(model).items())


def test_loss_per_kind():
    assert build_loss("linreg", "scratch", _build("linreg", "scratch")) is scratch.squared_loss
    assert build_loss("softmax", "concise", _build("softmax", "concise")) is concise.cross_entropy
    assert build_loss("mlp", "scratch", _build("mlp", "scratch")) is scratch.cross_entropy


@pytest.mark.parametrize("call, message", [
    (lambda: build_model("cnn", "scratch", num_inputs=784), "unknown model 'cnn'; choose one of linreg, softmax, mlp"),
    (lambda: build_model("mlp", "keras", num_inputs=784),
     "unknown implementation 'keras'; choose one of scratch, concise"),
    (lambda: build_model("mlp", "concise", num_inputs=784, activation="step"),
     "unknown activation 'step'; choose one of"),
    (lambda: build_model("mlp", "concise", num_inputs=784, init="zeros"), "unknown init 'zeros'; choose one of normal"),
    (lambda: build_loss("svm", "scratch", None), "unknown model 'svm'"),
    (lambda: build_optimizer(_build("mlp", "concise"), "concise", "rmsprop", 0.1),
     "unknown optimizer 'rmsprop'; choose one of sgd, adam, adamw"),
    (lambda: build_optimizer(_build("mlp", "concise"), "concise", "sgd", 0), r"learning rate \(--lr\) must be a positive number"),
])
def test_bad_names_list_the_choices(call, message):
    with pytest.raises(ConfigError, match=message):
        call()


def test_optimizer_choices():
    model = _build("mlp", "concise")
    for name, cls in zip(OPTIMIZERS, (torch.optim.SGD, torch.optim.Adam, torch.optim.AdamW)):
        optimizer = build_optimizer(model, "concise", name, 0.01)
        assert type(optimizer) is cls and optimizer.param_groups[0]["lr"] == 0.01
    assert isinstance(build_optimizer(_build("mlp", "scratch"), "scratch", "sgd", 0.5), scratch.SGD)
    manual_model = _build("mlp", "manual")
    assert type(build_optimizer(manual_model, "manual", "sgd", 0.5)) is manual.SGD  # no torch.optim import
    adamw = build_optimizer(manual_model, "manual", "adamw", 0.01)  # torch.optim's, fed from the factors
    assert type(adamw) is FromFactors and type(adamw.optimizer) is torch.optim.AdamW
    for name in ("adam", "adamw"):
        message = f"scratch models train with minidl's own sgd, not {name}; use --impl manual or --impl concise"
        with pytest.raises(ConfigError, match=message):
            build_optimizer(_build("mlp", "scratch"), "scratch", name, 0.01)


def test_scratch_sgd_state_round_trips():
    optimizer = build_optimizer(_build("linreg", "scratch"), "scratch", "sgd", 0.03)
    other = build_optimizer(_build("linreg", "scratch"), "scratch", "sgd", 1.0)
    other.load_state_dict(optimizer.state_dict())
    assert other.param_groups[0]["lr"] == 0.03


@pytest.mark.parametrize("kind", KINDS)
def test_copy_weights_round_trips(kind):
    original = _build(kind, "scratch", seed=1)
    kept = {k: v.clone() for k, v in canonical_state(original).items()}
    twin, back = _build(kind, "concise", seed=2), _build(kind, "scratch", seed=3)
    copy_weights(original, twin)
    copy_weights(twin, back)
    for name, value in canonical_state(back).items():
        assert torch.equal(value, kept[name]), name
    X = torch.rand(3, 2) if kind in REGRESSORS else torch.rand(3, 784)
    torch.testing.assert_close(twin(X), original(X))


def test_architecture_describes_the_model():
    mlp = build_model("mlp", "scratch", num_inputs=784, hidden=(256, 64), activation="swish")
    arch = architecture(mlp)
    assert arch == {"kind": "mlp", "impl": "scratch", "activation": "silu",
                    "shapes": {"W1": [784, 256], "b1": [256], "W2": [256, 64], "b2": [64], "W3": [64, 10], "b3": [10]}}
    assert json.loads(json.dumps(arch)) == arch
    concise_arch = architecture(build_model("mlp", "concise", num_inputs=784, hidden=(256, 64), activation="silu"))
    assert concise_arch == {**arch, "impl": "concise"}


@pytest.mark.parametrize("src, dst", [
    (dict(kind="mlp", hidden=(32,)), dict(kind="mlp", hidden=(16,))),
    (dict(kind="mlp", hidden=(32,)), dict(kind="mlp", hidden=(32, 32))),
    (dict(kind="mlp", hidden=(32,)), dict(kind="mlp", hidden=(32,), activation="tanh")),
    (dict(kind="softmax"), dict(kind="mlp", hidden=(32,))),
])
def test_architecture_mismatch_is_refused(src, dst):
    a = build_model(impl="scratch", num_inputs=784, **src)
    b = build_model(impl="concise", num_inputs=784, **dst)
    assert architecture(a) != architecture(b)
    with pytest.raises(ConfigError, match="cannot copy weights between different architectures: "):
        copy_weights(a, b)


@pytest.mark.parametrize("impl", IMPLS)
def test_loading_wrong_names_or_shapes_names_both(impl):
    model = _build("softmax", impl)
    with pytest.raises(ConfigError, match="SoftmaxRegression has parameters W, b; the state given has w, b"):
        load_canonical_state(model, {"w": torch.zeros(784, 10), "b": torch.zeros(10)})
    with pytest.raises(ConfigError, match=r"parameter W has shape \(784, 10\); the state given has \(10, 784\)"):
        load_canonical_state(model, {"W": torch.zeros(10, 784), "b": torch.zeros(10)})
    with pytest.raises(ConfigError, match="expected a minidl model"):
        canonical_state(torch.nn.Linear(2, 1))


def test_scratch_container_protocol():
    model = _build("mlp", "scratch")
    assert [name for name, _ in model.named_parameters()] == ["W1", "b1", "W2", "b2"]
    assert all(p.requires_grad for p in model.parameters())
    params = model.parameters()
    assert model.to("cpu") is model and all(a is b for a, b in zip(params, model.parameters()))
    assert model.eval() is model and not model.training and model.train().training
    state = {k: torch.ones_like(v) for k, v in model.state_dict().items()}
    model.load_state_dict(state)
    assert all(torch.equal(p, torch.ones_like(p)) for p in model.parameters())
    model.state_dict()["b1"].add_(1)  # state_dict() shares memory with the parameters, as nn.Module's does
    assert torch.equal(model.b1, torch.full_like(model.b1, 2.0))
    assert not model.state_dict()["b1"].requires_grad


@pytest.mark.parametrize("impl", ["concise", "manual"])
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_weight_decay_goes_to_the_weights_only(impl, name):
    optimizer = build_optimizer(_build("mlp", impl), impl, name, 0.1, weight_decay=0.5)
    groups = getattr(optimizer, "optimizer", optimizer).param_groups  # FromFactors wraps torch's
    if impl == "manual" and name == "sgd":  # minidl's own: one group, decaying each layer's W in its addmm_
        assert [g["weight_decay"] for g in groups] == [0.5]
        return
    assert [(g["weight_decay"], [p.dim() for p in g["params"]]) for g in groups] == [(0.5, [2, 2]), (0.0, [1, 1])]


def test_no_weight_decay_is_no_decay_for_adamw_too():
    optimizer = build_optimizer(_build("mlp", "concise"), "concise", "adamw", 0.1)
    assert [g["weight_decay"] for g in optimizer.param_groups] == [0.0]  # not torch's default 0.01


def test_bad_weight_decay_is_a_config_error():
    with pytest.raises(ConfigError, match=r"weight decay \(--weight-decay\) must be a number >= 0"):
        build_optimizer(_build("mlp", "concise"), "concise", "sgd", 0.1, weight_decay=-1)
    with pytest.raises(ConfigError, match="weight decay"):
        build_loss("mlp", "scratch", _build("mlp", "scratch"), weight_decay=float("nan"))
