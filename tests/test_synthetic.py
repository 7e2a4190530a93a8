"""The lesson's synthetic regression data."""
import pytest
import torch

from minidl.data.synthetic import TRUE_B, TRUE_W, synthetic_data
from minidl.errors import ConfigError


def test_shapes_and_dtype():
    X, y = synthetic_data(TRUE_W, TRUE_B, 50)
    assert X.shape == (50, 2) and y.shape == (50, 1)
    assert X.dtype == y.dtype == torch.float32


def test_least_squares_recovers_the_true_parameters():
    X, y = synthetic_data(TRUE_W, TRUE_B, 5000, noise=0.01)
    A = torch.cat([X, torch.ones(len(X), 1)], dim=1).double()  # (n, 3): features and a bias column
    solution = torch.linalg.lstsq(A, y.double()).solution.flatten()
    torch.testing.assert_close(solution, torch.tensor([*TRUE_W, TRUE_B], dtype=torch.float64),
                               atol=2e-3, rtol=0)


def test_noise_level():
    X, y = synthetic_data([1.0, 0.0, -1.0], 0.5, 20000, noise=0.3)
    residual = y - (X @ torch.tensor([[1.0], [0.0], [-1.0]]) + 0.5)
    assert abs(residual.std().item() - 0.3) < 0.01


def test_seeded_and_independent_of_the_global_rng():
    torch.manual_seed(1)
    first = synthetic_data(torch.tensor(TRUE_W), TRUE_B, 10, seed=3)
    torch.manual_seed(2)
    torch.rand(5)
    second = synthetic_data(list(TRUE_W), TRUE_B, 10, seed=3)
    for a, b in zip(first, second):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert not torch.equal(first[0], synthetic_data(TRUE_W, TRUE_B, 10, seed=4)[0])


@pytest.mark.parametrize("n, noise", [(-1, 0.01), (2.5, 0.01), (10, -0.1)])
def test_bad_arguments(n, noise):
    with pytest.raises(ConfigError):
        synthetic_data(TRUE_W, TRUE_B, n, noise=noise)
