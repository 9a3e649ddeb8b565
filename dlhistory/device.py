"""Where tensors live, and seeds for reproducible runs.

The device is CUDA where there is one, else the CPU; `DLHISTORY_DEVICE` (cpu, cuda, mps)
overrides it. Apple's MPS is used only for topics whose tests are known to pass on it
(`mps=True` in the manifest), because several torch operations differ or are missing there.
"""
import os
import random

import numpy as np
import torch

DEVICES = ("cpu", "cuda", "mps")
_noted = set()


def current():
    """The device this run uses: `DLHISTORY_DEVICE`, else CUDA, else MPS where the topic
    being run is known to work on it, else the CPU."""
    wanted = os.environ.get("DLHISTORY_DEVICE", "").strip().lower()
    if wanted:
        if wanted not in DEVICES:
            raise ValueError(f"unknown DLHISTORY_DEVICE {wanted!r}: use one of {', '.join(DEVICES)}")
        return torch.device(wanted)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        from dlhistory import manifest
        topic = manifest.here()
        if topic is not None and topic.mps:
            return torch.device("mps")
        if topic not in _noted:
            _noted.add(topic)
            print("note: Apple's MPS is available, but this topic's tests have not been checked on it, "
                  "so it runs on the CPU. Set DLHISTORY_DEVICE=mps to try it anyway.")
    return torch.device("cpu")


def seed_everything(seed=0):
    """Seed python, numpy and torch (every device) so that a run can be repeated."""
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def describe():
    """One line naming the hardware a run used, for provenance stamps and results."""
    where = current()
    if where.type == "cuda":
        return f"cuda: {torch.cuda.get_device_name(0)}"
    if where.type == "mps":
        return "mps"
    return f"cpu: {torch.get_num_threads()} threads"
