"""Shared code of the deep-learning history curriculum: everything that is not one paper's idea."""
from pathlib import Path

from dlhistory.scale import SCALES, pick, scale
from dlhistory.device import device, seed_everything

__version__ = "0.1.0"

# The repository's root: topic folders, README and pyproject live here (the package is
# installed editable, `pip install -e .`, so this is the checkout, not site-packages).
ROOT = Path(__file__).resolve().parent.parent

__all__ = ["ROOT", "SCALES", "pick", "scale", "device", "seed_everything"]
