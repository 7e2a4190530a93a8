"""Learning-rate schedules: the lr of each epoch, set through an optimizer's ``param_groups``.

Every optimizer minidl trains with has torch.optim's ``param_groups`` (minidl's own SGDs too, see
``minidl.lessons.contracts.Optimizer``), so one line at the top of an epoch sets its learning rate:
``set_lr(optimizer, lr_at(config, epoch))``. The schedule is a pure function of the config and the
epoch number, so a resumed run gets exactly the lr a straight run would have had.

- constant (the lessons'): ``lr`` every epoch.
- step: ``lr * gamma ** (k // step_size)``, k = epochs after the warm-up (torch's StepLR).
- cosine: from ``lr`` down along half a cosine, reaching 0 one epoch after the last (SGDR, without
  restarts; torch's CosineAnnealingLR with T_max = the epochs after the warm-up).
- onecycle: Smith and Topin's one cycle, per epoch: up from lr / 25 to ``lr`` over the warm-up
  (default: 30% of the epochs), then down along a cosine to lr / 25 / 1e4 at the last epoch
  (torch's OneCycleLR, with its div_factor and final_div_factor).

``--warmup N`` climbs linearly to ``lr`` over the first N epochs (lr / (N + 1), 2 lr / (N + 1), ...)
before any of them (onecycle starts its climb at lr / 25).

>>> from minidl.config.train import TrainConfig
>>> c = TrainConfig(model="mlp", lr=1.0, epochs=4, schedule="cosine")
>>> [round(lr_at(c, e), 4) for e in range(1, 5)]
[1.0, 0.8536, 0.5, 0.1464]
>>> c = TrainConfig(model="mlp", lr=1.0, epochs=5, schedule="step", step_size=2, gamma=0.1, warmup=1)
>>> [round(lr_at(c, e), 4) for e in range(1, 6)]
[0.5, 1.0, 1.0, 0.1, 0.1]
"""
from __future__ import annotations

import math

ONECYCLE_START = 25.0  # onecycle starts at lr / 25 (OneCycleLR's div_factor) ...
ONECYCLE_END = 1e4  # ... and ends at that / 1e4 (its final_div_factor)
ONECYCLE_WARMUP = 0.3  # the share of the epochs spent climbing when --warmup is not given (pct_start)


def lr_at(config, epoch: int) -> float:
    """Return the learning rate of ``epoch`` (1, 2, ..., config.epochs) under ``config.schedule``."""
    lr, schedule, epochs = config.lr, config.schedule, config.epochs
    warmup = config.warmup
    if schedule == "onecycle" and not warmup:
        warmup = max(1, round(ONECYCLE_WARMUP * epochs)) if epochs > 1 else 0
    if epoch <= warmup:
        if schedule == "onecycle":  # from lr / 25 at epoch 1 up to lr at the warm-up's last epoch
            low = lr / ONECYCLE_START
            return low + (lr - low) * (epoch - 1) / max(1, warmup - 1) if warmup > 1 else lr
        return lr * epoch / (warmup + 1)
    k, n = epoch - warmup - 1, max(1, epochs - warmup)  # k = 0, 1, ..., n - 1 after the warm-up
    if schedule == "step":
        return lr * config.gamma ** (k // config.step_size)
    if schedule == "cosine":
        return lr * (1 + math.cos(math.pi * k / n)) / 2
    if schedule == "onecycle":  # on down from the warm-up's lr to lr / 25 / 1e4, reached at the last epoch
        low = lr / ONECYCLE_START / ONECYCLE_END
        return low + (lr - low) * (1 + math.cos(math.pi * (k + 1) / n)) / 2
    return lr


def set_lr(optimizer, lr: float) -> float:
    """Return ``lr`` after setting it in every parameter group of ``optimizer`` (torch.optim's or minidl's)."""
    for group in optimizer.param_groups:
        group["lr"] = lr
    return lr
