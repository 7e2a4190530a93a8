"""The optimizers each twin trains with, built by name: minidl's own SGD, or torch.optim's.

Where to add an optimizer: a ``build_optimizer`` branch here and its name in
``minidl.config.optimization.OPTIMIZERS``.
"""
import torch

from minidl.config.optimization import OPTIMIZERS, check_lr, check_optimizer, check_weight_decay
from minidl.errors import check_choice
from minidl.lessons import concise, manual, scratch
from minidl.lessons.choices import IMPLS


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
    check_choice("implementation", impl, IMPLS)
    check_choice("optimizer", name, OPTIMIZERS)
    check_optimizer(impl, name)
    check_lr(lr)  # the config's rule, for a caller from Python that built no config
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


def decay_groups(params, weight_decay: float) -> list:
    """Return torch.optim's parameter groups with ``weight_decay`` on the weights (2-D) only, never the biases.

    As the lesson's l2_penalty(w): the biases shift, they do not scale an input. No decay: one plain list.
    """
    params = list(params)
    if not weight_decay:
        return params
    return [{"params": [p for p in params if p.dim() > 1], "weight_decay": weight_decay},
            {"params": [p for p in params if p.dim() <= 1], "weight_decay": 0.0}]
