"""The registry: build a model, its loss and its optimizer by name, and move weights between twins.

Every model, scratch, concise or manual, can show its parameters in canonical form (linreg ``w (d, 1),
b (1,)``; softmax ``W (784, 10), b (10,)``; MLP ``W1 (784, h1), b1 (h1,), ...``); that common form is
how weights cross from one twin to the other and how an architecture is described.

>>> model = build_model("mlp", "concise", num_inputs=784, hidden=(32,))
>>> architecture(model)["shapes"]
{'W1': [784, 32], 'b1': [32], 'W2': [32, 10], 'b2': [10]}
"""
import torch

from minidl import concise, manual, scratch
from minidl.errors import ConfigError

KINDS = ("linreg", "softmax", "mlp")
IMPLS = ("scratch", "concise", "manual")
OPTIMIZERS = ("sgd", "adam", "adamw")

_TWINS = {"scratch": scratch, "concise": concise, "manual": manual}
_KIND_OF = {"LinearRegression": "linreg", "SoftmaxRegression": "softmax", "MLP": "mlp"}  # class name -> kind
_TORCH_OPTIMIZERS = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}


def _check_choice(what: str, value, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"unknown {what} {value!r}; choose one of {', '.join(choices)}")


def build_model(kind: str, impl: str, *, num_inputs: int, num_outputs: int = 10, hidden=(256,),
                activation: str = "relu", init: str = "normal", seed: int = 0):
    """Return a fresh ``kind`` model from the ``impl`` twin, its weights drawn from ``seed``.

    linreg has one output and no hidden layers: it ignores num_outputs, hidden and activation.

    >>> build_model("softmax", "scratch", num_inputs=784).W.shape
    torch.Size([784, 10])
    """
    _check_choice("model", kind, KINDS)
    _check_choice("implementation", impl, IMPLS)
    twin = _TWINS[impl]
    if kind == "linreg":
        return twin.LinearRegression(num_inputs, init=init, seed=seed)
    if kind == "softmax":
        return twin.SoftmaxRegression(num_inputs, num_outputs, init=init, seed=seed)
    return twin.MLP(num_inputs, hidden, num_outputs, activation=activation, init=init, seed=seed)


def build_loss(kind: str, impl: str, model=None):
    """Return the ``impl`` twin's loss for ``kind``: squared_loss for linreg, else cross_entropy.

    All return the mean over the batch. The manual twin's loss is bound to ``model`` (required
    there): its ``backward()`` runs the model's hand-written backward pass.
    """
    _check_choice("model", kind, KINDS)
    _check_choice("implementation", impl, IMPLS)
    twin = _TWINS[impl]
    name = "squared_loss" if kind == "linreg" else "cross_entropy"
    if impl != "manual":
        return getattr(twin, name)
    if not isinstance(model, manual.Model):
        raise ConfigError(f"the manual {name} is bound to the model it trains: pass a manual model, got {model!r}")
    return manual.Objective(model, getattr(manual, name))


def build_optimizer(model, impl: str, name: str, lr: float):
    """Return the optimizer ``name`` over ``model``'s parameters with learning rate ``lr``.

    Scratch models train with minidl's own SGD; concise ones with torch.optim's SGD, Adam or AdamW;
    manual ones with minidl's SGD (which steps from the backward pass's factors), or torch.optim's
    Adam and AdamW (they read the .grad the backward pass then writes).
    """
    _check_choice("implementation", impl, IMPLS)
    _check_choice("optimizer", name, OPTIMIZERS)
    if not lr > 0:
        raise ConfigError(f"learning rate must be a positive number, got lr={lr}")
    if impl == "manual":
        return manual.SGD(model, lr) if name == "sgd" else _TORCH_OPTIMIZERS[name](model.parameters(), lr=lr)
    if impl == "concise":
        return _TORCH_OPTIMIZERS[name](model.parameters(), lr=lr)
    if name != "sgd":
        raise ConfigError(
            f"scratch models train with minidl's own sgd, not {name}; "
            f"use --impl manual or --impl concise to train with torch.optim's {name}"
        )
    return scratch.SGD(model.parameters(), lr)


def _check_model(model) -> None:
    if not isinstance(model, (scratch.Model, concise.Model)):
        raise ConfigError(f"expected a minidl model (see build_model), got {type(model).__name__}")


def canonical_state(model) -> dict[str, torch.Tensor]:
    """Return {name: tensor} in canonical form; concise weights come back transposed to (in, out).

    The tensors are views sharing memory with the model's parameters: clone them to keep a copy.
    """
    _check_model(model)
    return model.canonical_state()


def load_canonical_state(model, state: dict[str, torch.Tensor]) -> None:
    """Copy canonical ``state`` into ``model``; ConfigError names both sides if names or shapes differ."""
    _check_model(model)
    model.load_canonical_state(state)


def architecture(model) -> dict:
    """Return JSON-ready facts that must match for weights to fit: kind, impl, activation, shapes.

    >>> architecture(build_model("linreg", "scratch", num_inputs=2))
    {'kind': 'linreg', 'impl': 'scratch', 'shapes': {'w': [2, 1], 'b': [1]}}
    """
    _check_model(model)
    # manual models are scratch.Model underneath: ask for the narrower class first
    impl = "manual" if isinstance(model, manual.Model) else "concise" if isinstance(model, concise.Model) else "scratch"
    arch = {"kind": _KIND_OF[type(model).__name__], "impl": impl}
    if arch["kind"] == "mlp":
        arch["activation"] = model.activation
    arch["shapes"] = {name: list(t.shape) for name, t in canonical_state(model).items()}
    return arch


def copy_weights(src, dst) -> None:
    """Copy ``src``'s weights into ``dst`` (scratch or concise, either way) through canonical form.

    >>> a = build_model("softmax", "scratch", num_inputs=784, seed=1)
    >>> b = build_model("softmax", "concise", num_inputs=784, seed=2)
    >>> copy_weights(a, b)
    >>> bool((b[1].weight.T == a.W).all())
    True
    """
    src_arch, dst_arch = architecture(src), architecture(dst)
    if {**src_arch, "impl": None} != {**dst_arch, "impl": None}:
        raise ConfigError(
            f"cannot copy weights between different architectures: {_describe(src_arch)} into {_describe(dst_arch)}"
        )
    load_canonical_state(dst, canonical_state(src))


def _describe(arch: dict) -> str:
    """Return e.g. ``mlp (scratch, relu; W1 (784, 256), b1 (256,), ...)``."""
    shapes = ", ".join(f"{name} {tuple(shape)}" for name, shape in arch["shapes"].items())
    extra = f", {arch['activation']}" if "activation" in arch else ""
    return f"{arch['kind']} ({arch['impl']}{extra}; {shapes})"
