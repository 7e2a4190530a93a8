"""The machinery the three twins share: parameter shapes, the seeded draw, input checks, containers.

None of this is a lesson; it is what makes the twins comparable. Parameters live in canonical form,
inputs times weights: linreg ``w (d, 1), b (1,)``; softmax ``W (784, 10), b (10,)``; MLP ``W1 (784,
h1), b1 (h1,), W2 ...`` (nn.Linear stores the transpose). Every twin draws them with
:func:`init_params` from one seeded generator, so the same seed gives every twin the same weights.

Two containers hold them: :class:`Params` (named plain tensors with the slice of nn.Module's
interface the trainer uses; the scratch and manual twins) and :class:`Sequential` (nn.Sequential
that also reads and writes canonical form; the concise twin).

Contracts the twins keep:

- Parameters live in canonical form and are drawn by ``init_params``.
- Losses return the *mean* over the batch, and ``sgd`` steps by ``lr`` times that mean's gradient:
  the batch size is divided out once, in the loss, never again in the update.
- ``accuracy`` returns a count of correct predictions; divide the sum over batches by the number
  of examples.
- A model maps inputs to outputs and nothing else: it never prints, saves or reads global state.
- ``nonlinearity(name)`` returns what its twin's MLP applies: scratch a function of a tensor,
  concise a new ``torch.nn`` module, manual the ``activations.Activation`` (its function beside its
  derivative, which the hand-written backward pass needs).

>>> mlp_shapes(784, (256,), 10)
{'W1': (784, 256), 'b1': (256,), 'W2': (256, 10), 'b2': (10,)}
"""
from __future__ import annotations

import math
import torch
from torch import Tensor, nn

from minidl.errors import ConfigError, check_choice, check_whole
from minidl.lessons.choices import INITS


def init_params(shapes: dict[str, tuple[int, ...]], init: str = "normal", seed: int = 0) -> dict[str, Tensor]:
    """Return {name: float32 tensor} drawn for ``shapes`` in order from one seeded generator.

    ``normal``: every parameter, biases too, normal with std 0.01 (the lesson's choice).
    ``xavier``: weights uniform in +-sqrt(6 / (fan_in + fan_out)), biases 0 (Glorot, for tanh).
    ``kaiming``: weights normal with std sqrt(2 / fan_in), biases 0 (He, for relu).
    ``standard_normal``: weights N(0, 1), biases 0 (the weight-decay lesson's, to start far from 0).
    A weight is a 2-D (fan_in, fan_out) shape, a bias a 1-D one.

    >>> p = init_params({"W": (784, 10), "b": (10,)}, init="xavier")
    >>> p["W"].shape, p["b"].abs().sum().item()
    (torch.Size([784, 10]), 0.0)
    """
    check_choice("init", init, INITS)
    generator = torch.Generator().manual_seed(seed)
    params = {}
    for name, shape in shapes.items():
        for n in shape:
            check_whole(f"parameter {name} of shape {shape}: each layer size", n)
        if init == "normal":
            params[name] = 0.01 * torch.randn(shape, generator=generator)
        elif len(shape) == 1:  # xavier and kaiming start biases at 0
            params[name] = torch.zeros(shape)
        elif init == "standard_normal":
            params[name] = torch.randn(shape, generator=generator)
        elif init == "xavier":
            bound = math.sqrt(6 / (shape[0] + shape[1]))
            params[name] = bound * (2 * torch.rand(shape, generator=generator) - 1)
        else:  # kaiming
            params[name] = math.sqrt(2 / shape[0]) * torch.randn(shape, generator=generator)
    return params


def mlp_shapes(num_inputs: int, hidden: tuple[int, ...], num_outputs: int) -> dict[str, tuple[int, ...]]:
    """Return the canonical MLP shapes, one (W, b) pair per layer; ``hidden`` lists the widths."""
    hidden = (hidden,) if isinstance(hidden, int) else tuple(hidden)  # 256 means (256,)
    widths = (num_inputs, *hidden, num_outputs)
    shapes = {}
    for i, (fan_in, fan_out) in enumerate(zip(widths, widths[1:]), start=1):
        shapes[f"W{i}"], shapes[f"b{i}"] = (fan_in, fan_out), (fan_out,)
    return shapes


def check_inputs(X: Tensor, num_inputs: int, model: str, images: bool = False) -> Tensor:
    """Return X unchanged if each example holds ``num_inputs`` values, else raise ConfigError.

    With ``images`` an example may come in any shape holding that many values, like (1, 28, 28).

    >>> check_inputs(torch.zeros(4, 1, 28, 28), 784, "MLP", images=True).shape
    torch.Size([4, 1, 28, 28])
    >>> check_inputs(torch.zeros(4, 100), 784, "MLP", images=True)
    Traceback (most recent call last):
    ...
    minidl.errors.ConfigError: MLP expects inputs with 784 features per example (like (B, 784) or (B, 1, 28, 28)), got shape (4, 100)
    """
    if (X.dim() >= 2 if images else X.dim() == 2) and math.prod(X.shape[1:]) == num_inputs:
        return X
    like = f"(B, {num_inputs})" + (" or (B, 1, 28, 28)" if images and num_inputs == 784 else "")
    raise ConfigError(
        f"{model} expects inputs with {num_inputs} features per example (like {like}), got shape {tuple(X.shape)}"
    )


def check_state(state: dict[str, Tensor], expected: dict[str, Tensor], model: str) -> None:
    """Raise ConfigError naming both sides unless ``state`` has the names and shapes of ``expected``."""
    if set(state) != set(expected):
        raise ConfigError(f"{model} has parameters {', '.join(expected)}; the state given has {', '.join(state)}")
    for name, param in expected.items():
        if state[name].shape != param.shape:
            raise ConfigError(
                f"{model} parameter {name} has shape {tuple(param.shape)}; "
                f"the state given has {tuple(state[name].shape)}"
            )


class Params:
    """Named parameters as plain tensors, with the slice of nn.Module's interface the trainer uses.

    ``requires_grad``: whether autograd tracks them (the scratch twin) or not (the manual twin,
    which writes its own backward pass). ``training`` is set by train() and eval(), as nn.Module's.
    """

    def __init__(self, params: dict[str, Tensor], requires_grad: bool = True):
        self.names = tuple(params)  # canonical order: w, b / W, b / W1, b1, W2, b2, ...
        for name, value in params.items():
            setattr(self, name, value.requires_grad_(requires_grad))
        self.training = True

    def __call__(self, X: Tensor) -> Tensor:
        return self.forward(X)

    def named_parameters(self) -> list[tuple[str, Tensor]]:
        return [(name, getattr(self, name)) for name in self.names]

    def parameters(self) -> list[Tensor]:
        return [param for _, param in self.named_parameters()]

    def layers(self) -> list[tuple[Tensor, Tensor]]:
        """Return each layer's (W, b), first to last (parameters come in such pairs)."""
        params = self.parameters()
        return list(zip(params[0::2], params[1::2]))

    def state_dict(self) -> dict[str, Tensor]:
        """Return {name: tensor}, detached but sharing memory with the parameters (as nn.Module's)."""
        return {name: param.detach() for name, param in self.named_parameters()}

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        """Copy ``state`` into the parameters after checking its names and shapes."""
        current = self.state_dict()  # views of the parameters: copying into them writes the parameters
        check_state(state, current, type(self).__name__)
        for name, view in current.items():
            view.copy_(state[name])

    def to(self, device) -> "Params":
        """Move the parameters to ``device`` in place (an optimizer keeps the same tensors); return self."""
        for param in self.parameters():
            param.data = param.data.to(device)
            if param.grad is not None:
                param.grad = param.grad.to(device)
        return self

    def train(self, mode: bool = True) -> "Params":
        self.training = mode
        return self

    def eval(self) -> "Params":
        return self.train(False)

    canonical_state = state_dict  # plain tensors are stored in canonical form already
    load_canonical_state = load_state_dict

    def canonical_grads(self) -> dict[str, Tensor]:
        """Return each parameter's .grad under its canonical name."""
        return {name: param.grad for name, param in self.named_parameters()}


class Sequential(nn.Sequential):
    """nn.Sequential that also reads and writes its weights in canonical form (each nn.Linear transposed).

    Shared, not replaced: torch.nn.init draws the same distributions, but from the global RNG and
    in nn.Linear's (out, in) layout, so one seed would not give every twin the same weights.
    """

    def __init__(self, params: dict[str, Tensor], *layers: nn.Module):
        super().__init__(*layers)
        self.names = tuple(params)  # canonical order: w, b / W, b / W1, b1, W2, b2, ...
        self.load_canonical_state(params)

    def canonical_state(self) -> dict[str, Tensor]:
        """Return the parameters in canonical form: each nn.Linear's (out, in) weight transposed."""
        linears = [layer for layer in self if isinstance(layer, nn.Linear)]
        views = [t.detach() for linear in linears for t in (linear.weight.T, linear.bias)]
        return dict(zip(self.names, views))  # views: they share memory with the parameters

    def load_canonical_state(self, state: dict[str, Tensor]) -> None:
        """Copy canonical ``state`` into the nn.Linear layers, transposing each weight."""
        current = self.canonical_state()
        check_state(state, current, type(self).__name__)
        for name, view in current.items():
            view.copy_(state[name])

    def canonical_grads(self) -> dict[str, Tensor]:
        """Return each parameter's .grad under its canonical name, weights transposed to (in, out)."""
        linears = [layer for layer in self if isinstance(layer, nn.Linear)]
        grads = [g for linear in linears for g in (linear.weight.grad.T, linear.bias.grad)]
        return dict(zip(self.names, grads))



class Factored(Params):
    """Parameters with a hand-written backward pass (the manual twin): no autograd, gradients as factors.

    A layer Z = H W + b has the gradients dL/dW = H^T dZ and dL/db = dZ summed over the batch, so a
    model's ``backward(dY)`` keeps, per layer, the two factors ``(H, dZ)`` in ``self.grads``, and an
    optimizer steps from them (``manual.SGD``: W -= lr H^T dZ in one product) or multiplies them
    out (:meth:`canonical_grads`). ``self.saved`` holds what the last training-mode forward kept
    for backward.
    """

    def __init__(self, params: dict[str, Tensor]):
        super().__init__(params, requires_grad=False)
        self.saved = None  # what the last training-mode forward() kept for backward()
        self.grads = None  # what the last backward() found: per layer, (H, dL/dZ)

    def take_saved(self):
        """Return what the last forward kept for backward, once (one backward per forward, as autograd)."""
        if self.saved is None:
            raise RuntimeError("backward() needs a forward() in training mode first (model.train())")
        saved, self.saved = self.saved, None
        return saved

    def canonical_grads(self) -> dict[str, Tensor]:
        """Return each parameter's gradient, multiplied out of the last backward's factors."""
        if self.grads is None:
            return {name: None for name in self.names}
        grads = [g for grad in self.grads
                 for g in (grad[0].T @ grad[1], grad[1].sum(dim=0))]
        return dict(zip(self.names, grads))


class Loss:
    """A batch's mean loss whose ``backward()`` runs a hand-written backward pass (see manual.objective)."""

    def __init__(self, value: Tensor, backward):
        self.value, self._backward = value, backward

    def backward(self) -> None:
        self._backward()

    def detach(self) -> Tensor:
        return self.value

    def item(self) -> float:
        return self.value.item()


class Optimizer:
    """torch.optim's interface for minidl's own optimizers: ``param_groups`` with their ``lr``, state.

    A subclass sets ``self.param_groups = [{"params": [...], "lr": lr}]`` and writes ``step`` and
    ``zero_grad``; the learning rate is read from the group at every step, so setting
    ``group["lr"]`` (resume, a schedule) takes effect as it does in torch.optim.
    """

    param_groups: list[dict]
    velocities: list[Tensor] | tuple = ()  # momentum's, one per parameter (none without momentum): in state_dict

    def state_dict(self) -> dict:
        return {"param_groups": [{"lr": group["lr"]} for group in self.param_groups],
                "velocities": [v.clone() for v in self.velocities]}

    def load_state_dict(self, state: dict) -> None:
        for group, saved in zip(self.param_groups, state["param_groups"]):
            group["lr"] = saved["lr"]
        for v, saved in zip(self.velocities, state.get("velocities", ())):  # older checkpoints: none
            v.copy_(saved)
