import pytest
import torch

from dlhistory import device, pick, scale, seed_everything
from dlhistory.scale import ScaleError


def test_pick_follows_the_environment(monkeypatch):
    for name in ("smoke", "small", "full"):
        monkeypatch.setenv("DLHISTORY_SCALE", name)
        assert scale() == name
        assert pick(smoke=1, small=2, full=3) == {"smoke": 1, "small": 2, "full": 3}[name]


def test_unset_scale_defaults_by_hardware(monkeypatch):
    monkeypatch.delenv("DLHISTORY_SCALE")
    assert scale() == ("full" if torch.cuda.is_available() else "small")


def test_bad_scale_is_one_clear_error_listing_the_valid_ones(monkeypatch):
    monkeypatch.setenv("DLHISTORY_SCALE", "huge")
    with pytest.raises(ScaleError, match="unknown scale 'huge': use one of smoke, small, full"):
        pick(smoke=1, small=2, full=3)


def test_seed_everything_repeats_random_draws():
    seed_everything(7)
    first = torch.rand(3)
    seed_everything(7)
    torch.testing.assert_close(torch.rand(3), first)


def test_device_is_usable():
    assert torch.zeros(1, device=device()).device.type == device().type
