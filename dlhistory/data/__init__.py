"""Every dataset of the curriculum behind one function each: `data.mnist("train")`,
`data.tiny_shakespeare()`, `data.touching_cells(64)`, ...

- `registry`: the files no library serves (or that small scale needs), with checksums, a
  cache folder (`DLHISTORY_DATA`, default `~/.cache/dlhistory`) and one clear error offline;
- `vision`: MNIST, CIFAR-10 and Oxford-IIIT Pet (torchvision.datasets at full scale);
- `text`: tiny Shakespeare, Multi30k, rt-polarity, the analogy files, and the Hugging Face hub;
- `generated`: generated datasets and the smoke-scale stand-ins.
At `smoke` scale no loader touches the disk or the network.
"""
from dlhistory.data.generated import synthetic_images, touching_cells
from dlhistory.data.registry import FILES, DataUnavailable, File, cache_dir, path
from dlhistory.data.text import analogies, hub, multi30k, rt_polarity, tiny_shakespeare
from dlhistory.data.vision import cifar10, mnist, oxford_pets, read_idx, read_mnist_csv

# The loaders that `python -m dlhistory data TOPIC` calls ahead of time for a topic's
# manifest entry: name -> (loader, the splits to fetch).
LOADERS = {
    "mnist": (mnist, ("train", "test")),
    "cifar10": (cifar10, ("train", "test")),
    "oxford_pets": (oxford_pets, ("train", "test")),
    "tiny_shakespeare": (tiny_shakespeare, (None,)),
    "multi30k": (multi30k, ("train", "val", "test")),
    "rt_polarity": (rt_polarity, (None,)),
    "analogies": (analogies, ("words", "phrases")),
}


def fetch(name, scale):
    """Load dataset `name` (a LOADERS key) at `scale` once, every split: this downloads and
    verifies whatever it needs, so that later runs start offline."""
    loader, splits = LOADERS[name]
    for split in splits:
        loader(scale=scale) if split is None else loader(split, scale=scale)


__all__ = ["FILES", "LOADERS", "DataUnavailable", "File", "analogies", "cache_dir", "cifar10", "fetch", "hub",
           "mnist", "multi30k", "oxford_pets", "path", "read_idx", "read_mnist_csv", "rt_polarity",
           "synthetic_images", "tiny_shakespeare", "touching_cells"]
