"""Training rows as torch batches: dense arrays once as a tensor, sparse matrices densified batch by batch.

A CSR or CSC matrix (a TfidfVectorizer's, a ColumnTransformer's) is never made dense whole: each
batch's rows are sliced out and only they become a dense (batch, n_features) tensor.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse
import torch

CHUNK = 4096  # rows per piece when a whole set goes through the network (lbfgs, predict, validation)


class Rows:
    """X (n, d), targets Y (n, k) and sample weights w (n,), served as tensors of one dtype on one device."""

    def __init__(self, X, Y: np.ndarray, weights: np.ndarray, dtype: torch.dtype, device: torch.device):
        self.sparse = scipy.sparse.issparse(X)
        self.X = X.tocsr() if self.sparse else torch.as_tensor(X, dtype=dtype, device=device)
        self.Y = torch.as_tensor(np.asarray(Y, dtype=np.float64), dtype=dtype, device=device)
        self.w = torch.as_tensor(weights, dtype=dtype, device=device)
        self.dtype, self.device = dtype, device

    def __len__(self) -> int:
        return self.X.shape[0]

    def inputs(self, idx) -> torch.Tensor:
        """Return the rows ``idx`` (a slice or a 1-D index tensor) of X as a dense (len(idx), d) tensor."""
        if not self.sparse:
            return self.X[idx]
        picked = self.X[idx if isinstance(idx, slice) else idx.cpu().numpy()]
        return torch.as_tensor(picked.toarray(), dtype=self.dtype, device=self.device)

    def batch(self, idx):
        """Return (X, Y, w) of the rows ``idx``."""
        return self.inputs(idx), self.Y[idx], self.w[idx]

    def chunks(self):
        """Yield (X, Y, w) over all rows, CHUNK rows at a time, in order."""
        for start in range(0, len(self), CHUNK):
            yield self.batch(slice(start, start + CHUNK))

    def subset(self, idx: np.ndarray) -> "Rows":
        """Return the rows ``idx`` as Rows of their own (the training or validation share)."""
        X = self.X[idx] if self.sparse else self.X[torch.as_tensor(idx, device=self.device)]
        part = Rows.__new__(Rows)
        part.sparse, part.X, part.dtype, part.device = self.sparse, X, self.dtype, self.device
        at = torch.as_tensor(idx, device=self.device)
        part.Y, part.w = self.Y[at], self.w[at]
        return part


def outputs(model, X, dtype: torch.dtype, device: torch.device) -> np.ndarray:
    """Return the network's raw outputs for X (dense or sparse), CHUNK rows at a time, as NumPy."""
    sparse = scipy.sparse.issparse(X)
    X = X.tocsr() if sparse else X
    pieces = []
    with torch.no_grad():
        for start in range(0, X.shape[0], CHUNK):
            part = X[start:start + CHUNK]
            part = part.toarray() if sparse else part
            pieces.append(model(torch.as_tensor(part, dtype=dtype, device=device)).cpu().numpy())
    return np.concatenate(pieces) if pieces else np.zeros((0, 0))
