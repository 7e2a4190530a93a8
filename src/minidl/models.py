"""The registry: build a model, its loss and its optimizer by name, and move weights between twins.

Every model, scratch, concise or manual, can show its parameters in canonical form (linreg ``w (d, 1),
b (1,)``; softmax ``W (784, 10), b (10,)``; MLP ``W1 (784, h1), b1 (h1,), ...``); that common form is
how weights cross from one twin to another and how an architecture is described. The names a
registry accepts (models, implementations, optimizers) are ``minidl.config``'s, checked there.

>>> model = build_model("mlp", "concise", num_inputs=784, hidden=(32,))
>>> architecture(model)["shapes"]
{'W1': [784, 32], 'b1': [32], 'W2': [32, 10], 'b2': [10]}
"""
import functools

import torch

from minidl import concise, manual, scratch
from minidl.checks import check_choice
from minidl.config import IMPLS, MODELS, OPTIMIZERS, REGRESSORS, check_lr, check_optimizer, check_weight_decay
from minidl.errors import CheckpointError, ConfigError
from minidl.params import decay_groups

TWINS = {"scratch": scratch, "concise": concise, "manual": manual}
# the same in every twin; polyreg is linear regression on the polynomial features x^i / i!
CLASSES = {"linreg": "LinearRegression", "softmax": "SoftmaxRegression", "mlp": "MLP", "polyreg": "LinearRegression"}
LOSSES = {"linreg": "squared_loss", "softmax": "cross_entropy", "mlp": "cross_entropy", "polyreg": "squared_loss"}


def build_model(kind: str, impl: str, *, num_inputs: int, num_outputs: int = 10, hidden=(256,),
                activation: str = "relu", init: str = "normal", seed: int = 0, dropout=()):
    """Return a fresh ``kind`` model from the ``impl`` twin, its weights drawn from ``seed``.

    linreg and polyreg have one output and no hidden layers: they take only num_inputs, init and
    seed. ``dropout``: the MLP's, one probability per hidden layer.

    >>> build_model("softmax", "scratch", num_inputs=784).W.shape
    torch.Size([784, 10])
    """
    cls = getattr(_twin(impl), CLASSES[check_choice("model", kind, MODELS)])
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


def build_optimizer(model, impl: str, name: str, lr: float, weight_decay: float = 0.0, *, momentum: float = 0.0,
                    nesterov: bool = False):
    """Return the optimizer ``name`` over ``model``'s parameters with learning rate ``lr``.

    Scratch models train with minidl's own SGD; concise ones with torch.optim's SGD, Adam or AdamW;
    manual ones with minidl's SGD (which steps from the backward pass's gradient factors), or
    torch.optim's Adam and AdamW, fed each step the gradients those factors multiply out to.
    ``weight_decay`` (L2, on the weights only) is in the update for concise and manual; scratch has
    it in its loss (build_loss), so its sgd gets none. AdamW's decay is decoupled, as torch's is.
    ``momentum`` and ``nesterov`` (SGD only) follow torch.optim.SGD in every twin: the decay (on
    the weights) is part of the gradient that enters the velocity.
    """
    _twin(impl)
    check_choice("optimizer", name, OPTIMIZERS)
    check_optimizer(impl, name)
    check_lr(lr)
    weight_decay = check_weight_decay(weight_decay)
    if name == "sgd" and impl == "scratch":
        return scratch.SGD(model.parameters(), lr, momentum, nesterov)  # the decay is in scratch's loss
    if name == "sgd" and impl == "manual":
        return manual.SGD(model, lr, weight_decay, momentum, nesterov)
    groups = decay_groups(model.parameters(), weight_decay)
    if name == "sgd":
        return concise.SGD(groups, lr, momentum=momentum, nesterov=nesterov)
    optimizer = _TORCH_OPTIMIZERS[name](groups, lr=lr, weight_decay=weight_decay)
    return FromFactors(model, optimizer) if impl == "manual" else optimizer


_TORCH_OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}


class FromFactors:
    """A torch.optim optimizer for a manual model: each step first sets ``.grad`` from the factors.

    The manual backward pass keeps every gradient as two factors (H, dZ); torch.optim reads
    ``.grad``, so ``step()`` multiplies them out there, then lets the torch optimizer step.
    """

    def __init__(self, model, optimizer: torch.optim.Optimizer):
        self.model, self.optimizer = model, optimizer
        self.param_groups = optimizer.param_groups

    def step(self) -> None:
        if self.model.grads is None:
            return
        for param, grad in zip(self.model.parameters(), self.model.canonical_grads().values()):
            param.grad = grad
        self.optimizer.step()

    def zero_grad(self) -> None:
        self.model.grads = None
        self.optimizer.zero_grad()

    def state_dict(self) -> dict:
        return self.optimizer.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.optimizer.load_state_dict(state)


def _twin(impl: str):
    return TWINS[check_choice("implementation", impl, IMPLS)]


def identify(model) -> tuple[str, str]:
    """Return ``(kind, impl)`` of a minidl model, e.g. ``("mlp", "manual")``; ConfigError for anything else.

    A polyreg model is a LinearRegression (on polynomial features): it identifies as linreg.
    """
    for impl, twin in TWINS.items():
        for kind, name in CLASSES.items():
            if type(model) is getattr(twin, name):
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
