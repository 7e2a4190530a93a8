"""The registry of models: build a model and its loss, identify one, and move weights between twins.

Every model, scratch, concise or manual, can show its parameters in canonical form (linreg ``w (d, 1),
b (1,)``; softmax ``W (784, 10), b (10,)``; MLP ``W1 (784, h1), b1 (h1,), ...``); that common form is
how weights cross from one twin to another and how an architecture is described. The names a
registry accepts are ``minidl.config.model``'s and ``minidl.lessons.choices``', checked there.

Where to add a model: its class in each twin (``minidl/lessons/scratch.py``, ``concise.py``,
``manual.py``), and one entry in ``CLASSES`` and ``LOSSES`` here (its name in ``config/model.py``).

>>> model = build_model("mlp", "concise", num_inputs=784, hidden=(32,))
>>> architecture(model)["shapes"]
{'W1': [784, 32], 'b1': [32], 'W2': [32, 10], 'b2': [10]}
"""
import functools

import torch

from minidl.lessons import concise
from minidl.lessons import manual
from minidl.lessons import scratch
from minidl.errors import CheckpointError, ConfigError, check_choice
from minidl.config.model import MODELS, REGRESSORS
from minidl.config.optimization import check_weight_decay
from minidl.lessons.choices import IMPLS

TWINS = {"scratch": scratch, "concise": concise, "manual": manual}
# each model kind's class in every twin; polyreg is linear regression on the polynomial features x^i / i!
CLASSES = {kind: {impl: getattr(twin, name) for impl, twin in TWINS.items()}
           for kind, name in {"linreg": "LinearRegression", "softmax": "SoftmaxRegression", "mlp": "MLP",
                              "polyreg": "LinearRegression"}.items()}
LOSSES = {"linreg": "squared_loss", "softmax": "cross_entropy", "mlp": "cross_entropy", "polyreg": "squared_loss"}


def build_model(kind: str, impl: str, *, num_inputs: int, num_outputs: int = 10, hidden=(256,),
                activation: str = "relu", init: str = "normal", seed: int = 0, dropout=()):
    """Return a fresh ``kind`` model from the ``impl`` twin, its weights drawn from ``seed``.

    linreg and polyreg have one output and no hidden layers: they take only num_inputs, init and
    seed. ``dropout``: the MLP's, one probability per hidden layer.

    >>> build_model("softmax", "scratch", num_inputs=784).W.shape
    torch.Size([784, 10])
    """
    cls = CLASSES[check_choice("model", kind, MODELS)][check_choice("implementation", impl, IMPLS)]
    if kind in REGRESSORS:
        return cls(num_inputs, init=init, seed=seed)
    if kind == "softmax":
        return cls(num_inputs, num_outputs, init=init, seed=seed)
    return cls(num_inputs, hidden, num_outputs, activation=activation, init=init, seed=seed, dropout=dropout)


def model_for(config, num_inputs: int, num_outputs: int):
    """Return the fresh model a TrainConfig describes for data of that many inputs and outputs."""
    return build_model(config.model, config.impl, num_inputs=num_inputs, num_outputs=num_outputs,
                       hidden=config.hidden, activation=config.activation, init=config.init, seed=config.seed,
                       dropout=config.dropout)


def build_loss(kind: str, impl: str, model, *, classifies: bool | None = None, weight_decay: float = 0.0,
               label_smoothing: float = 0.0):
    """Return the ``impl`` twin's loss for ``kind`` (squared_loss for linreg, else cross_entropy), for ``model``.

    ``classifies=False`` makes an MLP a regressor (squared_loss on its single output); None takes
    the kind's own loss. Every loss returns the mean over the batch and has a ``backward()`` that
    reaches ``model``: through autograd's graph in scratch and concise, through the hand-written
    pass in manual. ``label_smoothing``: cross-entropy's (each twin's cross_entropy). ``weight_decay``:
    scratch adds weight_decay/2 ||w||^2 to the loss it
    differentiates; the other twins decay in their optimizer (give build_optimizer the same value).
    """
    twin = _twin(impl)
    name = LOSSES[check_choice("model", kind, MODELS)]
    if classifies is not None and (name == "cross_entropy") != classifies:
        if kind != "mlp":
            raise ConfigError(f"{kind} only {'classifies' if name == 'cross_entropy' else 'regresses'}; "
                              "an MLP does both")
        name = "squared_loss"
    loss = getattr(twin, name)
    if label_smoothing and name == "cross_entropy":  # (y_hat, y) -> the smoothed loss, as every loss takes
        loss = functools.partial(loss, label_smoothing=label_smoothing)
    return twin.objective(model, loss, check_weight_decay(weight_decay))


def _twin(impl: str):
    return TWINS[check_choice("implementation", impl, IMPLS)]


def identify(model) -> tuple[str, str]:
    """Return ``(kind, impl)`` of a minidl model, e.g. ``("mlp", "manual")``; ConfigError for anything else.

    A polyreg model is a LinearRegression (on polynomial features): it identifies as linreg.
    """
    for kind, classes in CLASSES.items():
        for impl, cls in classes.items():
            if type(model) is cls:
                return kind, impl
    raise ConfigError(f"expected a minidl model (see build_model), got {type(model).__name__}")


def canonical_state(model) -> dict[str, torch.Tensor]:
    """Return {name: tensor} in canonical form; concise weights come back transposed to (in, out).

    The tensors are views sharing memory with the model's parameters: clone them to keep a copy.
    """
    identify(model)
    return model.canonical_state()


def load_canonical_state(model, state: dict[str, torch.Tensor]) -> None:
    """Copy canonical ``state`` into ``model``; ConfigError names both sides if names or shapes differ."""
    identify(model)
    model.load_canonical_state(state)


def architecture(model) -> dict:
    """Return JSON-ready facts that must match for weights to fit: kind, impl, activation, shapes.

    >>> architecture(build_model("linreg", "scratch", num_inputs=2))
    {'kind': 'linreg', 'impl': 'scratch', 'shapes': {'w': [2, 1], 'b': [1]}}
    """
    kind, impl = identify(model)
    arch = {"kind": kind, "impl": impl}
    if kind == "mlp":
        arch["activation"] = model.activation
    arch["shapes"] = {name: list(t.shape) for name, t in model.canonical_state().items()}
    return arch


def copy_weights(src, dst) -> None:
    """Copy ``src``'s weights into ``dst`` (any twin into any twin) through canonical form.

    >>> a = build_model("softmax", "scratch", num_inputs=784, seed=1)
    >>> b = build_model("softmax", "concise", num_inputs=784, seed=2)
    >>> copy_weights(a, b)
    >>> bool((b[1].weight.T == a.W).all())
    True
    """
    src_arch, dst_arch = architecture(src), architecture(dst)
    if {**src_arch, "impl": None} != {**dst_arch, "impl": None}:
        raise ConfigError(
            f"cannot copy weights between different architectures: {describe(src_arch)} into {describe(dst_arch)}"
        )
    load_canonical_state(dst, canonical_state(src))


def describe(arch: dict) -> str:
    """Return e.g. ``mlp (scratch, relu; W1 (784, 256), b1 (256,), ...)``."""
    shapes = ", ".join(f"{name} {tuple(shape)}" for name, shape in arch.get("shapes", {}).items())
    extra = f", {arch['activation']}" if arch.get("activation") else ""
    return f"{arch.get('kind')} ({arch.get('impl')}{extra}; {shapes})"


def load_weights(model, state: dict, where) -> None:
    """Copy a checkpoint ``state``'s weights into ``model``; CheckpointError naming ``where`` if they do not fit.

    The one path from a checkpoint to a model: training's resume, evaluate and predict all take it.
    """
    saved, built = state["architecture"], architecture(model)
    if saved != built:
        raise CheckpointError(
            f"{where} holds a {describe(saved)} but this run builds a {describe(built)}; "
            f"use the same model settings, or start a new run"
        )
    model.load_state_dict(state["model"])
