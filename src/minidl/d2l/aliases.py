"""The book's framework-neutral tensor names (d2l 0.17), so lessons can call `d2l.reshape(X, ...)`.

d2l writes its shared helpers once for MXNet, PyTorch and TensorFlow, calling these names instead
of each framework's own; the PyTorch lessons call them too (`d2l.float32`, `d2l.reduce_sum`,
`d2l.size`, ...). This is the 0.17 release's set, and the ones the 1.0 edition's first chapters
add (`randn`, `int64`, `sigmoid`, `ones_like`, `zeros_like`, `expand_dims`). The first group is torch's own
functions and dtypes under the book's names; the second takes the tensor first and calls its
method, passing every other argument through (so `reduce_sum(X, axis=1, keepdims=True)` works,
as torch accepts those NumPy spellings).

>>> X = tensor([[1.0, 2.0], [3.0, 4.0]])
>>> reduce_sum(X, axis=1), size(X), transpose(X)[0].tolist()
(tensor([3., 7.]), 4, [1.0, 3.0])
"""
import torch

# --- Torch's functions and dtypes, under the book's names -----------------------------------------

ones = torch.ones
zeros = torch.zeros
tensor = torch.tensor
arange = torch.arange
meshgrid = torch.meshgrid
sin = torch.sin
sinh = torch.sinh
cos = torch.cos
cosh = torch.cosh
tanh = torch.tanh
linspace = torch.linspace
exp = torch.exp
log = torch.log
normal = torch.normal
rand = torch.rand
matmul = torch.matmul
int32 = torch.int32
float32 = torch.float32
concat = torch.cat  # the book's name for torch.cat
stack = torch.stack
abs = torch.abs  # noqa: A001  (shadows the builtin only as d2l.abs, as in the book)
eye = torch.eye
# the 1.0 edition's additions
randn = torch.randn
int64 = torch.int64
sigmoid = torch.sigmoid
ones_like = torch.ones_like
zeros_like = torch.zeros_like


# --- Methods of the tensor, called as functions ------------------------------------------------------

def numpy(x, *args, **kwargs):
    """Return `x` as a NumPy array, detached from autograd (and copied off a GPU first).

    >>> numpy(ones(2, requires_grad=True))
    array([1., 1.], dtype=float32)
    """
    return x.detach().cpu().numpy(*args, **kwargs)


def size(x, *args, **kwargs):
    """Return the number of elements of `x` (x.numel(), not its shape).

    >>> size(zeros(2, 3))
    6
    """
    return x.numel(*args, **kwargs)


def reshape(x, *args, **kwargs):
    """Return x.reshape(shape)."""
    return x.reshape(*args, **kwargs)


def to(x, *args, **kwargs):
    """Return x.to(device or dtype)."""
    return x.to(*args, **kwargs)


def reduce_sum(x, *args, **kwargs):
    """Return x.sum(...): all elements, or along `axis`/`dim`."""
    return x.sum(*args, **kwargs)


def argmax(x, *args, **kwargs):
    """Return x.argmax(...): the index of the largest element, or along `axis`/`dim`."""
    return x.argmax(*args, **kwargs)


def astype(x, *args, **kwargs):
    """Return x.type(dtype): `x` converted to `dtype`.

    >>> astype(tensor([1.7, -0.2]), int32)
    tensor([1, 0], dtype=torch.int32)
    """
    return x.type(*args, **kwargs)


def transpose(x, *args, **kwargs):
    """Return x.t(): the transpose of a matrix (at most 2-D)."""
    return x.t(*args, **kwargs)


def reduce_mean(x, *args, **kwargs):
    """Return x.mean(...): of all elements, or along `axis`/`dim`."""
    return x.mean(*args, **kwargs)


def expand_dims(x, *args, **kwargs):
    """Return x.unsqueeze(axis): `x` with a new axis of length 1 (the 1.0 edition's).

    >>> expand_dims(zeros(2, 3), 1).shape
    torch.Size([2, 1, 3])
    """
    return x.unsqueeze(*args, **kwargs)


__all__ = [
    "ones", "zeros", "tensor", "arange", "meshgrid", "sin", "sinh", "cos", "cosh", "tanh",
    "linspace", "exp", "log", "normal", "rand", "matmul", "int32", "float32", "concat", "stack",
    "abs", "eye", "numpy", "size", "reshape", "to", "reduce_sum", "argmax", "astype", "transpose",
    "reduce_mean", "randn", "int64", "sigmoid", "ones_like", "zeros_like", "expand_dims",
]
