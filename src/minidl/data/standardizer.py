"""Per-column standardisation with stored statistics: (x - mean) / std, fitted on the training rows.

>>> import torch
>>> s = Standardizer.fit(torch.tensor([[1.0, 10.0], [3.0, 10.0]]))
>>> s.mean, s.std                      # a constant column keeps std 1: centred, never divided by 0
((2.0, 10.0), (1.0, 1.0))
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from minidl.errors import DatasetError

ROWS_AT_A_TIME = 65_536  # transform's float64 working block: 65,536 rows x d inputs


@dataclass(frozen=True)
class Standardizer:
    """Per-column (x - mean) / std with stored statistics, so new rows get the same transform."""

    mean: tuple[float, ...]
    std: tuple[float, ...]  # a constant column stores 1: centred, never divided by 0

    @classmethod
    def fit(cls, X: torch.Tensor) -> "Standardizer":
        """Return the standardizer of the columns of X (n, d): their mean and population std."""
        X = X.double()  # float64 statistics: prices near 1e6 would lose digits in float32
        # a column at a time: the same sums in the same order however the columns are laid out or batched
        columns = [X[:, j] for j in range(X.shape[1])]
        std = [1.0 if c.amax() == c.amin() else c.std(correction=0).item() for c in columns]
        return cls(tuple(c.mean().item() for c in columns), tuple(std))

    @classmethod
    def identity(cls, d: int) -> "Standardizer":
        """Return the standardizer that leaves d columns unchanged (mean 0, std 1)."""
        return cls((0.0,) * d, (1.0,) * d)

    def transform(self, X: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
        """Return (X - mean) / std for X (n, d), row-major in ``dtype`` (default X's), computed in float64.

        A block of rows at a time: a million-row table never holds a float64 copy of itself beside it."""
        mean, std = (torch.tensor(v, dtype=torch.float64, device=X.device) for v in (self.mean, self.std))
        out = torch.empty(X.shape, dtype=dtype or X.dtype, device=X.device)
        for start in range(0, len(X), ROWS_AT_A_TIME):
            block = slice(start, start + ROWS_AT_A_TIME)
            out[block] = (X[block].double() - mean).div_(std)
        return out

    def inverse(self, Z: torch.Tensor) -> torch.Tensor:
        """Return Z * std + mean: standardised values (n, d) back in their own units."""
        mean, std = (torch.tensor(v, dtype=torch.float64, device=Z.device) for v in (self.mean, self.std))
        return (Z.double() * std + mean).to(Z.dtype)

    def to_dict(self) -> dict:
        """Return {"mean": [...], "std": [...]}, ready for JSON."""
        return {"mean": list(self.mean), "std": list(self.std)}

    @classmethod
    def from_dict(cls, d: dict) -> "Standardizer":
        """Return the standardizer saved by `to_dict`."""
        try:
            mean, std = tuple(map(float, d["mean"])), tuple(map(float, d["std"]))
        except (KeyError, TypeError, ValueError) as e:
            raise DatasetError(f"not a saved standardizer ({e!r}): expected "
                               '{"mean": [numbers], "std": [numbers]}') from None
        if len(mean) != len(std) or not all(s > 0 for s in std):
            raise DatasetError(f"saved standardizer is inconsistent: {len(mean)} means, "
                               f"{len(std)} stds, all stds must be > 0")
        return cls(mean, std)
