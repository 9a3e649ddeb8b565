"""Shared code of the deep-learning history curriculum: everything that is not one paper's idea.

`from dlhistory import data, device, pick, plots, results, scale, seed_everything` gives a
notebook what it needs: `scale.current()` and `device.current()` name the scale and the
device in force; the modules are never shadowed by functions of the same name.
"""
import time
from pathlib import Path

from dlhistory import device, scale
from dlhistory.device import seed_everything
from dlhistory.scale import SCALES, pick

__version__ = "0.2.0"

# The repository's root: topic folders, README and pyproject live here (the package is
# installed editable, `pip install -e .`, so this is the checkout, not site-packages).
ROOT = Path(__file__).resolve().parent.parent

# When this process first imported the package: a notebook's results state the wall time
# from here to the moment they are recorded.
STARTED = time.perf_counter()

__all__ = ["ROOT", "SCALES", "device", "pick", "scale", "seed_everything"]
