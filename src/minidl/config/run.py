"""The run part of a config: the seed, the device, what is recorded and where."""
from __future__ import annotations

from dataclasses import dataclass

from minidl.options import option
from minidl.errors import check_choice, check_whole

DEVICES = ("auto", "cpu", "cuda", "mps")
MAX_SEED = 2**63 - 1  # torch.Generator.manual_seed takes seeds in [0, 2**64); json and int64 fit 2**63


@dataclass(frozen=True)
class RunPart:
    """Where and how the run goes: its seed and device, the extras it records, its folder."""

    seed: int = option(0, f"seed for initialisation and shuffling (0 to {MAX_SEED})")
    device: str = option("auto", f"{', '.join(DEVICES)} (auto: cuda, then mps, then cpu)")
    grad_norms: bool = option(False, "record each layer's gradient norm, the epoch's mean over batches "
                              "(metrics.csv, grad_norms.png)")
    out: str | None = option(None, "run folder (default runs/<model>-<timestamp>)")
    plots: bool = option(True, "skip the PNG figures", flag="--no-plots")

    def check_run(self) -> None:
        """Raise ConfigError for an unknown device or a seed out of range."""
        check_choice("device", self.device, DEVICES)
        check_whole("seed (--seed)", self.seed, low=0, high=MAX_SEED)
