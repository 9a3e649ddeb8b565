"""Image datasets as tensors: MNIST, CIFAR-10, Oxford-IIIT Pet.

Full scale loads them through `torchvision.datasets`, which downloads from the official
mirrors and checks each file's md5, into `DLHISTORY_DATA/torchvision`. MNIST at small scale
uses two registry files instead: the published 5,000-image training subset and the official
test set. At smoke scale every loader returns generated stand-ins and touches nothing.
"""
import gzip

import numpy as np
import torch

from dlhistory.data.generated import synthetic_images, touching_cells
from dlhistory.data.registry import DataUnavailable, cache_dir, check_split, path, resolve_scale


def torchvision_dataset(cls, where, **kwargs):
    """`cls(root, download=True, **kwargs)` from torchvision.datasets, with one clear error
    (what to download, where to put it) when the files are missing and the network is not there."""
    root = cache_dir() / "torchvision"
    try:
        return cls(root, download=False, **kwargs)
    except RuntimeError:
        pass  # not downloaded yet
    try:
        return cls(root, download=True, **kwargs)
    except Exception as error:  # noqa: BLE001 - torchvision raises RuntimeError, URLError or OSError
        raise DataUnavailable(
            f"{cls.__name__} is not in {root} and could not be downloaded ({type(error).__name__}: "
            f"{str(error).strip().splitlines()[0] if str(error).strip() else ''}).\nConnect to the internet and run "
            f"`python -m dlhistory data <topic> --scale full`, or put the dataset's files, as torchvision "
            f"lays them out, in {root / where}.") from error


def read_idx(file):
    """Parse a (gzipped) IDX file, the format MNIST is published in: a magic number whose
    last byte is the number of dimensions, the dimensions as big-endian int32, then uint8s."""
    with gzip.open(file, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def read_mnist_csv(file):
    """Parse mnist_5k.csv.gz: one image a line, 784 pixel values then the label."""
    table = np.loadtxt(file, delimiter=",", dtype=np.uint8)
    return table[:, :784].reshape(-1, 28, 28), table[:, 784]


def _as_tensors(images, labels):
    x = torch.from_numpy(np.array(images, dtype=np.float32) / 255.0).unsqueeze(1)
    return x, torch.from_numpy(np.array(labels, dtype=np.int64))


def mnist(split="train", scale=None):
    """MNIST as (images [N, 1, 28, 28] in [0, 1], labels [N] int64).

    `small` trains on the published 5,000-image subset (500 per class) and `full` on all
    60,000 training images; both test on the full 10,000-image test set.
    """
    check_split(split, ("train", "test"))
    s = resolve_scale(scale)
    if s == "smoke":
        return synthetic_images(500 if split == "train" else 200, seed=0 if split == "train" else 1)
    if s == "small":
        if split == "test":
            return _as_tensors(read_idx(path("mnist-test-images")), read_idx(path("mnist-test-labels")))
        return _as_tensors(*read_mnist_csv(path("mnist-5k")))
    from torchvision.datasets import MNIST
    dataset = torchvision_dataset(MNIST, "MNIST/raw", train=split == "train")
    return _as_tensors(dataset.data.numpy(), dataset.targets.numpy())


def cifar10(split="train", scale=None):
    """CIFAR-10 as (images [N, 3, 32, 32] in [0, 1], labels [N] int64): 50,000 training and
    10,000 test images in 10 classes. It is not available offline here, so the curriculum
    uses it at `full` scale only; at smoke, coloured generated stand-ins."""
    check_split(split, ("train", "test"))
    if resolve_scale(scale) == "smoke":
        return synthetic_images(500 if split == "train" else 200, shape=(3, 32, 32),
                                seed=0 if split == "train" else 1)
    from torchvision.datasets import CIFAR10
    dataset = torchvision_dataset(CIFAR10, "cifar-10-batches-py", train=split == "train")
    images = torch.from_numpy(dataset.data).permute(0, 3, 1, 2).float() / 255.0   # [N, 32, 32, 3] -> NCHW
    return images.contiguous(), torch.tensor(dataset.targets)


def oxford_pets(split="train", scale=None, size=128):
    """Oxford-IIIT Pet for segmentation at size x size: (images [N, 3, size, size] in [0, 1],
    masks [N, size, size] int64, 1 pet, 0 background). `train` is the official trainval list
    (3,680 photos), `test` the test list (3,669). The trimaps' uncertain border counts as pet.
    At smoke, generated cells of the same shapes."""
    check_split(split, ("train", "test"))
    if resolve_scale(scale) == "smoke":
        images, masks, _ = touching_cells(48 if split == "train" else 16, size=128, seed=10 if split == "train" else 11)
        return images.expand(-1, 3, -1, -1).contiguous(), masks
    from PIL import Image
    from torchvision.datasets import OxfordIIITPet
    dataset = torchvision_dataset(OxfordIIITPet, "oxford-iiit-pet", target_types="segmentation",
                                  split="trainval" if split == "train" else "test")
    images, masks = [], []
    for photo, trimap in dataset:   # PIL images; trimap 1 pet, 2 background, 3 border
        images.append(np.asarray(photo.convert("RGB").resize((size, size), Image.BILINEAR)))
        masks.append(np.asarray(trimap.resize((size, size), Image.NEAREST)) != 2)
    return (torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255.0,
            torch.from_numpy(np.stack(masks)).long())
