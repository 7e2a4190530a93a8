"""The ranks' gradients averaged before each step: what data-parallel training adds to an optimizer.

:class:`GradientSync` wraps a scratch or manual model's optimizer (a concise model has
DistributedDataParallel instead, see minidl.distributed.world): its ``step()`` first replaces this
rank's gradients with the average over every rank, then steps. The lessons' optimizers never know.
"""
from __future__ import annotations

import torch
import torch.distributed as dist
from torch.optim.sgd import sgd as torch_sgd


class GradientSync:
    """An optimizer whose ``step()`` first averages the ranks' gradients, then steps.

    A manual model (``model.grads``: per layer the factors (H, dZ)) all-gathers the factors, and the
    optimizer it wraps steps from the whole batch's; or it all-reduces their products H^T dZ, as
    :func:`sends_factors` decides (``factors``: True or False to choose), and steps from those by
    torch.optim's rule (:func:`step_products`). A scratch model all-reduces its ``.grad`` tensors.
    One collective per step: the tensors go as one flat buffer.
    """

    def __init__(self, model, optimizer, size: int, factors: bool | None = None):
        self.model, self.optimizer, self.size, self.factors = model, optimizer, size, factors
        self.param_groups = optimizer.param_groups

    def step(self) -> None:
        self.apply(self.sync())

    def sync(self) -> list[torch.Tensor] | None:
        """Replace this rank's gradients with the ranks' average; return the products form's (else None)."""
        if not hasattr(self.model, "grads"):  # scratch: .grad on every parameter
            average_grads(self.model.parameters(), self.size)
        elif self.model.grads is not None:
            grads = self.model.grads
            if sends_factors(grads, self.size) if self.factors is None else self.factors:
                self.model.grads = _gather_factors(grads, self.size)  # the whole batch's factors
            else:
                return _sum_products(grads, self.size)
        return None

    def apply(self, products: list[torch.Tensor] | None) -> None:
        """Step from what :meth:`sync` returned: the products, or the wrapped optimizer as it is."""
        if products is None:
            self.optimizer.step()
        else:
            step_products(self.optimizer, self.model, products)

    def zero_grad(self) -> None:
        self.optimizer.zero_grad()

    def state_dict(self) -> dict:
        return self.optimizer.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.optimizer.load_state_dict(state)


def average_grads(params, size: int) -> None:
    """Replace each parameter's ``.grad`` with its average over the ``size`` ranks (one all-reduce)."""
    grads = [p.grad for p in params if p.grad is not None]
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= size
    for g, part in zip(grads, flat.split([g.numel() for g in grads])):
        g.copy_(part.view_as(g))


def step_products(optimizer, model, grads: list[torch.Tensor]) -> None:
    """Step a manual model from its gradients multiplied out (``grads``: dW1, db1, dW2, ...).

    A torch.optim optimizer behind ``optimizers.FromFactors`` (Adam, AdamW) reads them as ``.grad``.
    The manual twin's own SGD steps from factors only: its rule (weight decay on the weights, never
    the biases; momentum's velocities; Nesterov) is torch.optim.SGD's, run here by torch itself.
    """
    params = model.parameters()
    if hasattr(optimizer, "optimizer"):  # FromFactors: torch.optim inside
        for param, grad in zip(params, grads):
            param.grad = grad
        optimizer.optimizer.step()
        return
    group = optimizer.param_groups[0]
    velocities = list(optimizer.velocities) or [None] * len(params)
    for start, decay in ((0, group["weight_decay"]), (1, 0.0)):  # weights (W1, W2, ...), then biases
        torch_sgd(params[start::2], grads[start::2], velocities[start::2], foreach=False,
                  weight_decay=decay, momentum=group["momentum"], lr=group["lr"], dampening=0.0,
                  nesterov=group["nesterov"], maximize=False)


def sends_factors(grads, size: int) -> bool:
    """Return whether the ranks should exchange their factors (H, dZ), not the products H^T dZ:
    whichever moves fewer numbers through each rank.

    Gathering the factors brings each rank the other ranks' rows, (size - 1) B (fan_in + fan_out)
    numbers a layer for B rows a rank; a ring all-reduce of the products moves 2 (size - 1) / size
    (fan_in + 1) fan_out. Factors also cost each rank the other ranks' share of the products; which
    form is faster where is ``python benchmarks/bench_ddp.py``'s to say. Products win the count once
    the global batch outgrows the layers.
    """
    gathered = sum((size - 1) * len(H) * (H.shape[1] + dZ.shape[1]) for H, dZ in grads)
    reduced = sum(2 * (size - 1) / size * (H.shape[1] + 1) * dZ.shape[1] for H, dZ in grads)
    return gathered <= reduced


def _sum_products(grads, size: int) -> list[torch.Tensor]:
    """Return every layer's gradient over the whole global batch, [dW1, db1, dW2, ...]: each rank
    multiplies its own factors into one flat buffer, and one all-reduce adds the ranks' buffers."""
    sizes = [n for H, dZ in grads for n in (H.shape[1] * dZ.shape[1], dZ.shape[1])]
    flat = grads[0][1].new_empty(sum(sizes))
    parts = list(flat.split(sizes))
    for (H, dZ), i in zip(grads, range(0, len(parts), 2)):
        parts[i] = parts[i].view(H.shape[1], dZ.shape[1])
        torch.mm(H.T, dZ, out=parts[i])
        torch.sum(dZ, dim=0, out=parts[i + 1])
    dist.all_reduce(flat)
    flat /= size  # each rank's dZ is of its own mean loss: their mean is the whole batch's
    return parts


def _gather_factors(grads, size: int) -> list:
    """Return the whole global batch's factors [(H, dZ), ...] from every rank's own (B/size rows each)."""
    tensors = [t for pair in grads for t in pair]
    flat = torch.cat([t.reshape(-1) for t in tensors])
    parts = [torch.empty_like(flat) for _ in range(size)]
    dist.all_gather(parts, flat)
    pieces = [part.split([t.numel() for t in tensors]) for part in parts]  # per rank, per tensor
    stacked = [torch.cat([p[i].view_as(t) for p in pieces]) for i, t in enumerate(tensors)]  # (B, ...) rows
    return [(H, dZ / size) for H, dZ in zip(stacked[0::2], stacked[1::2])]  # dZ of the global mean loss
