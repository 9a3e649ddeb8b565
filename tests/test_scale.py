import pytest
import torch

import dlhistory
from dlhistory import device, manifest, pick, scale, seed_everything
from dlhistory.scale import ScaleError


def test_modules_are_not_shadowed_by_functions():
    import types
    assert isinstance(dlhistory.scale, types.ModuleType) and isinstance(dlhistory.device, types.ModuleType)


def test_pick_follows_the_environment(monkeypatch):
    for name in ("smoke", "small", "full"):
        monkeypatch.setenv("DLHISTORY_SCALE", name)
        assert scale.current() == name
        assert pick(smoke=1, small=2, full=3) == {"smoke": 1, "small": 2, "full": 3}[name]


def test_unset_scale_is_small_even_with_a_gpu(monkeypatch):
    monkeypatch.delenv("DLHISTORY_SCALE")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert scale.current() == "small"


def test_bad_scale_is_one_clear_error_listing_the_valid_ones(monkeypatch):
    monkeypatch.setenv("DLHISTORY_SCALE", "huge")
    with pytest.raises(ScaleError, match="unknown scale 'huge': use one of smoke, small, full"):
        pick(smoke=1, small=2, full=3)


def test_an_unrecorded_full_configuration_is_announced_once(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(manifest, "ROOT", tmp_path)
    topic = manifest.Topic("01-p/01-toy", "toy", "Toy", "architecture", full="downloads 1 GB; 4 GB of GPU memory, 1 hour")
    topic.path.mkdir(parents=True)
    monkeypatch.setattr(manifest, "TOPICS", [topic])
    monkeypatch.chdir(topic.path)
    monkeypatch.setenv("DLHISTORY_SCALE", "full")
    pick(smoke=1, small=2, full=3)
    pick(smoke=1, small=2, full=3)
    out = capsys.readouterr().out
    assert out.count("never been run and recorded") == 1 and "downloads 1 GB; 4 GB of GPU memory" in out


def test_seed_everything_repeats_random_draws():
    seed_everything(7)
    first = torch.rand(3)
    seed_everything(7)
    torch.testing.assert_close(torch.rand(3), first)


def test_device_is_usable():
    assert torch.zeros(1, device=device.current()).device.type == device.current().type


def test_device_override_and_its_errors(monkeypatch):
    monkeypatch.setenv("DLHISTORY_DEVICE", "cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert device.current() == torch.device("cpu")
    monkeypatch.setenv("DLHISTORY_DEVICE", "tpu")
    with pytest.raises(ValueError, match="use one of cpu, cuda, mps"):
        device.current()


def test_mps_only_for_topics_known_to_work_there(monkeypatch, capsys, tmp_path):
    monkeypatch.delenv("DLHISTORY_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    monkeypatch.setattr(manifest, "ROOT", tmp_path)
    checked, unchecked = manifest.Topic("01-p/01-a", "a", "A", "architecture", mps=True), manifest.Topic("01-p/02-b", "b", "B", "architecture")
    monkeypatch.setattr(manifest, "TOPICS", [checked, unchecked])
    for topic in (checked, unchecked):
        topic.path.mkdir(parents=True)
    monkeypatch.chdir(checked.path)
    assert device.current() == torch.device("mps")
    monkeypatch.chdir(unchecked.path)
    assert device.current() == torch.device("cpu")
    assert "DLHISTORY_DEVICE=mps" in capsys.readouterr().out
