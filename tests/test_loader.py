"""The in-memory Loader: complete epochs, seeded order, drop_last, sharding, resume."""
import pytest
import torch

from minidl.data.loader import Loader
from minidl.errors import CheckpointError, ConfigError, DatasetError


def data(n=103):
    """n examples whose first feature is their index, so batches reveal which samples they hold."""
    X = torch.arange(n, dtype=torch.float32).reshape(n, 1).repeat(1, 3)  # (n, 3)
    return X, torch.arange(n)


def epoch(loader):
    """The labels (= sample indices) of one epoch, in order."""
    return torch.cat([y for _, y in loader]).tolist()


@pytest.mark.parametrize("shuffle", [False, True])
def test_every_epoch_visits_every_sample_once(shuffle):
    X, y = data()
    loader = Loader(X, y, batch_size=10, shuffle=shuffle)
    for _ in range(3):
        batches = list(loader)
        assert [len(yb) for _, yb in batches] == [10] * 10 + [3]
        assert all(torch.equal(xb[:, 0].long(), yb) for xb, yb in batches), "X and y stay paired"
        assert sorted(epoch(batches)) == list(range(103))
    assert len(loader) == 11 and loader.num_examples == 103


def test_natural_order_without_shuffle():
    assert epoch(Loader(*data(), batch_size=7)) == list(range(103))


def test_order_depends_on_seed_only_not_on_global_rng():
    torch.manual_seed(0)
    first = Loader(*data(), batch_size=16, shuffle=True, seed=5)
    a = [epoch(first), epoch(first)]
    torch.manual_seed(123)
    torch.rand(10)
    second = Loader(*data(), batch_size=16, shuffle=True, seed=5)
    b0 = epoch(second)
    torch.manual_seed(999)  # between epochs, too
    assert [b0, epoch(second)] == a
    assert a[0] != a[1], "a new permutation each epoch"
    assert epoch(Loader(*data(), batch_size=16, shuffle=True, seed=6)) != a[0]


def test_drop_last():
    loader = Loader(*data(), batch_size=10, shuffle=True, drop_last=True)
    assert len(loader) == 10 and loader.num_examples == 100
    batches = list(loader)
    assert len(batches) == 10 and all(len(yb) == 10 for _, yb in batches)
    assert len(set(epoch(batches))) == 100


def test_len_matches_batches():
    for n in (1, 9, 10, 11):
        for drop_last in (False, True):
            loader = Loader(*data(n), batch_size=10, drop_last=drop_last)
            assert len(loader) == len(list(loader))


@pytest.mark.parametrize("shuffle", [False, True])
def test_sharding_disjoint_and_complete(shuffle):
    n, world = 120, 4
    shards = [epoch(Loader(*data(n), batch_size=8, shuffle=shuffle, seed=3, rank=r, world_size=world))
              for r in range(world)]
    assert all(len(s) == 30 for s in shards)
    assert sorted(sum(shards, [])) == list(range(n)), "disjoint, and together the whole epoch"


def test_sharding_pads_or_trims_to_equal_shares():
    n, world = 103, 4
    padded = [Loader(*data(n), batch_size=8, shuffle=True, rank=r, world_size=world) for r in range(4)]
    shards = [epoch(loader) for loader in padded]
    assert [len(s) for s in shards] == [26] * 4 and all(len(l) == 4 for l in padded)
    assert set(sum(shards, [])) == set(range(n)) and len(sum(shards, [])) == 104  # one repeated
    trimmed = [epoch(Loader(*data(n), batch_size=5, shuffle=True, drop_last=True, rank=r,
                            world_size=world)) for r in range(4)]
    assert [len(s) for s in trimmed] == [25] * 4 and len(set(sum(trimmed, []))) == 100


def test_state_dict_reproduces_the_next_epoch():
    loader = Loader(*data(), batch_size=10, shuffle=True, seed=1)
    epoch(loader)
    state = loader.state_dict()
    expected = epoch(loader)
    resumed = Loader(*data(), batch_size=10, shuffle=True, seed=42)
    resumed.load_state_dict(state)
    assert epoch(resumed) == expected
    torch.testing.assert_close(loader.generator.get_state(), resumed.generator.get_state())
    with pytest.raises(CheckpointError, match="Loader state"):
        resumed.load_state_dict({})


def test_uint8_images_become_float_in_unit_range():
    X = torch.tensor([[[0, 255], [51, 102]]], dtype=torch.uint8).repeat(5, 1, 1)  # (5, 2, 2)
    xb, yb = next(iter(Loader(X, torch.zeros(5, dtype=torch.int64), batch_size=4)))
    assert xb.dtype == torch.float32 and xb.shape == (4, 2, 2)
    torch.testing.assert_close(xb[0], torch.tensor([[0.0, 1.0], [0.2, 0.4]]))
    assert yb.dtype == torch.int64


def test_other_dtypes_are_kept():
    X = torch.arange(6, dtype=torch.float64).reshape(3, 2)
    assert next(iter(Loader(X, torch.zeros(3), batch_size=2)))[0].dtype == torch.float64


@pytest.mark.parametrize("kwargs, match", [
    ({"batch_size": 0}, "batch_size"), ({"batch_size": 2.0}, "batch_size"),
    ({"world_size": 0}, "world_size"), ({"rank": 2, "world_size": 2}, "rank"),
    ({"rank": -1}, "rank")])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        Loader(*data(10), **{"batch_size": 4, **kwargs})


def test_mismatched_or_empty_data():
    with pytest.raises(DatasetError, match="as many targets"):
        Loader(torch.zeros(5, 2), torch.zeros(4), batch_size=2)
    with pytest.raises(DatasetError, match="at least one example"):
        Loader(torch.zeros(0, 2), torch.zeros(0), batch_size=2)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_data_lives_on_the_device_and_order_matches_cpu():
    X = torch.randint(0, 256, (50, 2, 2), dtype=torch.uint8)
    on_gpu = Loader(X, torch.arange(50), batch_size=8, shuffle=True, seed=2, device="cuda")
    assert on_gpu.X.is_cuda and on_gpu.X.dtype == torch.float32
    order = [y.cpu() for _, y in on_gpu]
    assert all(y.is_cuda for _, y in on_gpu)
    assert torch.equal(torch.cat(order), torch.cat([y for _, y in Loader(X, torch.arange(50), 8,
                                                                          shuffle=True, seed=2)]))
