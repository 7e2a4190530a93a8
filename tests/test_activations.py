"""Each activation's hand-written derivative against autograd, its stability, and its torch.nn twin."""
import pytest
import torch

from minidl.lessons import concise
from minidl.lessons.activations import ACTIVATIONS, get_activation, sigmoid, softplus
from minidl.errors import ConfigError

NAMES = list(ACTIVATIONS)
# A float64 grid: dense over [-10, 10], 0 itself and points next to it, and large |x|
GRID = torch.cat([
    torch.linspace(-10, 10, 2001, dtype=torch.float64),
    torch.tensor([0.0], dtype=torch.float64),
    torch.tensor([1e-12, 1e-8, 1e-4, 30.0, 100.0, 700.0, 1000.0], dtype=torch.float64),
    -torch.tensor([1e-12, 1e-8, 1e-4, 30.0, 100.0, 700.0, 1000.0], dtype=torch.float64),
])


@pytest.mark.parametrize("name", NAMES)
def test_derivative_matches_autograd(name):
    act = ACTIVATIONS[name]
    x = GRID.clone().requires_grad_()
    (autograd,) = torch.autograd.grad(act.fn(x).sum(), x)
    torch.testing.assert_close(act.grad(GRID), autograd)


@pytest.mark.parametrize("name", NAMES)
def test_same_values_with_and_without_a_graph(name):
    # relu skips its autograd-only mask when no graph is recorded (manual backprop, evaluation)
    act = ACTIVATIONS[name]
    assert torch.equal(act.fn(GRID), act.fn(GRID.clone().requires_grad_()).detach())


@pytest.mark.parametrize("name", NAMES)
def test_gradcheck_float64(name):
    x = torch.randn(50, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * 4
    x = x[x.abs() > 1e-3]  # finite differences across relu's kink at 0 would not agree
    assert torch.autograd.gradcheck(ACTIVATIONS[name].fn, (x.requires_grad_(),))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name", NAMES)
def test_finite_for_large_inputs(name, dtype):
    act = ACTIVATIONS[name]
    x = torch.tensor([-1000.0, -100.0, 100.0, 1000.0], dtype=dtype, requires_grad=True)
    y = act.fn(x)
    (autograd,) = torch.autograd.grad(y.sum(), x)
    for values in (y, act.grad(x.detach()), autograd):
        assert torch.isfinite(values).all(), f"{name}: {values}"


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_sigmoid_and_softplus_exact_far_out(dtype):
    x = torch.tensor([-1000.0, 1000.0], dtype=dtype)
    assert sigmoid(x).tolist() == [0.0, 1.0]
    assert softplus(x).tolist() == [0.0, 1000.0]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name", NAMES)
def test_concise_module_computes_the_same(name, dtype):
    x = GRID.to(dtype)
    torch.testing.assert_close(concise.nonlinearity(name)(x), ACTIVATIONS[name].fn(x))


def test_registry_names_and_aliases():
    assert NAMES == ["relu", "sigmoid", "tanh", "leaky_relu", "elu", "gelu", "silu", "softplus"]
    assert set(concise.MODULES) == set(NAMES)
    assert get_activation("swish") is ACTIVATIONS["silu"]
    with pytest.raises(ConfigError, match="unknown activation 'swiss'; choose one of relu, sigmoid"):
        get_activation("swiss")
