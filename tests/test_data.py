"""Dataset loaders, offline: real formats in small files the tests write, the cache and
its checks, the offline error, and the smoke stand-ins that touch nothing."""
import gzip
import hashlib
import io
import os
import pickle

import numpy as np
import pytest
import torch

from dlhistory import data
from dlhistory.train import Batches


def sha(blob):
    return "sha256:" + hashlib.sha256(blob).hexdigest()


def idx_bytes(array):
    """Encode an uint8 array in MNIST's IDX format, gzipped."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty data folder, and a way to register small files in it (or on a server)."""
    monkeypatch.setenv("DLHISTORY_DATA", str(tmp_path))

    def register(name, blob, urls=("http://127.0.0.1:9/unreachable",), write=True):
        entry = data.File(data.FILES[name].path, sha(blob), tuple(urls))
        monkeypatch.setitem(data.FILES, name, entry)
        if write:
            (tmp_path / entry.path).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / entry.path).write_bytes(blob)
        return tmp_path / entry.path
    return register


def test_idx_and_csv_parsers_read_the_real_formats(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (3, 28, 28))
    (tmp_path / "x.gz").write_bytes(idx_bytes(images))
    np.testing.assert_array_equal(data.read_idx(tmp_path / "x.gz"), images)
    rows = np.hstack([images.reshape(3, -1), [[7], [1], [0]]])
    with gzip.open(tmp_path / "x.csv.gz", "wt") as f:
        np.savetxt(f, rows, fmt="%d", delimiter=",")
    parsed, labels = data.read_mnist_csv(tmp_path / "x.csv.gz")
    np.testing.assert_array_equal(parsed, images)
    np.testing.assert_array_equal(labels, [7, 1, 0])


def test_mnist_small_reads_the_subset_and_the_test_set(cache):
    rng = np.random.default_rng(1)
    images, labels = rng.integers(0, 256, (4, 28, 28)), np.array([3, 1, 4, 1])
    buffer = io.BytesIO()
    with gzip.open(buffer, "wt") as f:
        np.savetxt(f, np.hstack([images.reshape(4, -1), labels[:, None]]), fmt="%d", delimiter=",")
    cache("mnist-5k", buffer.getvalue())
    cache("mnist-test-images", idx_bytes(images[:2]))
    cache("mnist-test-labels", idx_bytes(labels[:2]))
    x, y = data.mnist("train", scale="small")
    assert x.shape == (4, 1, 28, 28) and x.dtype == torch.float32 and 0 <= x.min() and x.max() <= 1
    assert y.tolist() == [3, 1, 4, 1] and y.dtype == torch.int64
    torch.testing.assert_close(x[0, 0] * 255, torch.from_numpy(images[0]).float())
    assert data.mnist("test", scale="small")[0].shape == (2, 1, 28, 28)


def test_cache_hit_is_checked_and_a_corrupt_file_is_downloaded_again(cache, server):
    blob = b"real file"
    server.route("/f", (200, blob))
    target = cache("tiny-shakespeare", blob, urls=(server.url("/f"),))
    assert data.path("tiny-shakespeare") == target and "/f" not in server.hits  # verified hit
    target.write_bytes(b"corrupt")
    assert data.path("tiny-shakespeare").read_bytes() == blob and server.hits["/f"] == 1


def test_missing_file_offline_says_what_to_download_and_where(cache, tmp_path):
    cache("tiny-shakespeare", b"x", write=False)
    with pytest.raises(data.DataUnavailable) as error:
        data.path("tiny-shakespeare")
    message = str(error.value)
    assert "tiny-shakespeare/input.txt" in message and str(tmp_path) in message and "DLHISTORY_DATA" in message
    assert list(tmp_path.rglob("*")) in ([], [tmp_path / "tiny-shakespeare"])  # no partial file


def test_unknown_file_name_is_a_clear_error():
    with pytest.raises(KeyError, match="known:"):
        data.path("imagenet")


def test_text_loaders_parse_their_files(cache):
    cache("tiny-shakespeare", "First Citizen:\nSpeak.\n".encode())
    assert data.tiny_shakespeare(scale="small").startswith("First Citizen")
    for split, name in [("train", "train"), ("val", "val"), ("test", "test_2016_flickr")]:
        cache(f"multi30k-{name}.de", gzip.compress("Ein Hund.\nZwei Katzen.\n".encode()))
        cache(f"multi30k-{name}.en", gzip.compress("A dog.\nTwo cats.\n".encode()))
    assert data.multi30k("test", scale="small") == [("Ein Hund.", "A dog."), ("Zwei Katzen.", "Two cats.")]
    cache("rt-polarity.pos", "a gem .\nsuperb\xe9 .\n".encode("latin-1"))
    cache("rt-polarity.neg", "a mess .\n".encode("latin-1"))
    assert data.rt_polarity(scale="small") == [("a gem .", 1), ("superb\xe9 .", 1), ("a mess .", 0)]
    cache("analogies-words", b": capital\nAthens Greece Oslo Norway\n: family\nboy girl man woman\n")
    assert data.analogies(scale="small") == {"capital": [("athens", "greece", "oslo", "norway")],
                                            "family": [("boy", "girl", "man", "woman")]}


def test_full_scale_vision_loads_through_torchvision_from_its_files(tmp_path, monkeypatch):
    """torchvision's own layout, written by hand: the loader finds it without a network."""
    monkeypatch.setenv("DLHISTORY_DATA", str(tmp_path))
    raw = tmp_path / "torchvision" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    images, labels = np.random.default_rng(2).integers(0, 256, (3, 28, 28)), np.array([5, 0, 4])
    for prefix, n in [("train", 3), ("t10k", 2)]:
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(gzip.decompress(idx_bytes(images[:n])))
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(gzip.decompress(idx_bytes(labels[:n])))
    x, y = data.mnist("train", scale="full")
    assert x.shape == (3, 1, 28, 28) and x.dtype == torch.float32 and y.tolist() == [5, 0, 4]
    torch.testing.assert_close(x[1, 0] * 255, torch.from_numpy(images[1]).float())
    assert data.mnist("test", scale="full")[1].tolist() == [5, 0]


def test_cifar10_reads_torchvisions_pickled_batches(tmp_path, monkeypatch):
    import torchvision.datasets as tv
    monkeypatch.setenv("DLHISTORY_DATA", str(tmp_path))
    folder = tmp_path / "torchvision" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name, label in zip(names, [3, 4, 5, 6, 7, 9]):
        rows = np.full((2, 3072), label, dtype=np.uint8)
        rows[:, 1024:] = 0  # red channel only
        (folder / name).write_bytes(pickle.dumps({"data": rows, "labels": [label, label]}))
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": [str(i) for i in range(10)]}))
    # our little files cannot have the real ones' md5s: let torchvision's check accept them
    monkeypatch.setattr(tv.CIFAR10, "_check_integrity", lambda self: True)
    monkeypatch.setattr(tv.cifar, "check_integrity", lambda *args, **kwargs: True)
    x, y = data.cifar10("train", scale="full")
    assert x.shape == (10, 3, 32, 32) and y.tolist() == [3, 3, 4, 4, 5, 5, 6, 6, 7, 7]
    assert x[0, 0, 0, 0] == 3 / 255 and x[0, 1].max() == 0
    assert data.cifar10("test", scale="full")[1].tolist() == [9, 9]


def test_torchvision_dataset_offline_says_what_to_do(tmp_path, monkeypatch):
    import torchvision.datasets as tv
    monkeypatch.setenv("DLHISTORY_DATA", str(tmp_path))
    monkeypatch.setattr(tv.MNIST, "mirrors", ["http://127.0.0.1:9/"])
    with pytest.raises(data.DataUnavailable) as error:
        data.mnist("train", scale="full")
    message = str(error.value)
    assert "MNIST" in message and str(tmp_path / "torchvision") in message and "python -m dlhistory data" in message


def test_hub_offline_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("DLHISTORY_DATA", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    with pytest.raises(data.DataUnavailable, match="not cached"):
        data.hub("dlhistory-tests/no-such-dataset")


def test_smoke_loaders_touch_neither_disk_nor_network(tmp_path, monkeypatch):
    folder = tmp_path / "never-created"
    monkeypatch.setenv("DLHISTORY_DATA", str(folder))
    for module in (data.vision, data.text):
        monkeypatch.setattr(module, "path", lambda name: pytest.fail(f"smoke loader asked for {name}"))
    x, y = data.mnist("train")
    assert x.shape[1:] == (1, 28, 28) and x.dtype == torch.float32 and set(y.tolist()) == set(range(10))
    assert data.cifar10("test")[0].shape[1:] == (3, 32, 32)
    assert len(data.tiny_shakespeare()) > 10_000
    assert all(isinstance(de, str) and isinstance(en, str) for de, en in data.multi30k("val"))
    assert {label for _, label in data.rt_polarity()} == {0, 1}
    assert all(len(q) == 4 for qs in data.analogies().values() for q in qs)
    assert not folder.exists()


def test_smoke_stand_ins_are_deterministic_and_learnable():
    x1, y1 = data.mnist("train")
    x2, y2 = data.mnist("train")
    torch.testing.assert_close(x1, x2)
    # a nearest-class-mean classifier already separates the ten patterns
    means = torch.stack([x1[y1 == c].mean(0) for c in range(10)]).flatten(1)
    xt, yt = data.mnist("test")
    predicted = torch.cdist(xt.flatten(1), means).argmin(1)
    assert (predicted == yt).float().mean() > 0.8


def test_bad_split_and_bad_scale_are_clear_errors():
    with pytest.raises(ValueError, match="use one of train, test"):
        data.mnist("validation")
    with pytest.raises(ValueError, match="smoke, small, full"):
        data.mnist("train", scale="tiny")


@pytest.mark.skipif(not os.environ.get("DLHISTORY_REAL_DATA"), reason="set DLHISTORY_REAL_DATA to a data folder")
def test_registry_checksums_match_the_real_files(monkeypatch):
    """For maintainers with the real files: DLHISTORY_REAL_DATA=/path/to/data pytest tests/test_data.py"""
    monkeypatch.setenv("DLHISTORY_DATA", os.environ["DLHISTORY_REAL_DATA"])
    for name, entry in data.FILES.items():
        file = data.cache_dir() / entry.path
        if file.exists():
            assert data.path(name) == file


def test_batches_cover_every_example_once_per_epoch_and_reshuffle():
    x, y = torch.arange(10.0), torch.arange(10) * 2
    batches = Batches(x, y, batch_size=4, generator=torch.Generator().manual_seed(0))
    assert len(batches) == 3
    first, second = list(batches), list(batches)
    assert [len(b[0]) for b in first] == [4, 4, 2]
    assert sorted(torch.cat([b[0] for b in first]).tolist()) == x.tolist()
    assert all(torch.equal(b[1], b[0].long() * 2) for b in first)  # tensors stay aligned
    assert torch.cat([b[0] for b in first]).tolist() != torch.cat([b[0] for b in second]).tolist()
    assert torch.cat([b[0] for b in Batches(x, batch_size=3, shuffle=False)]).tolist() == x.tolist()
