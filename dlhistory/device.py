"""Where tensors live, and seeds for reproducible runs."""
import os
import random

import numpy as np
import torch


def device():
    """CUDA, then Apple's MPS, then the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed=0):
    """Seed python, numpy and torch (all devices) so that a run can be repeated."""
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def describe():
    """One line naming the hardware a run used, for provenance stamps and results."""
    if torch.cuda.is_available():
        return f"cuda: {torch.cuda.get_device_name(0)}"
    if torch.backends.mps.is_available():
        return "mps"
    return f"cpu: {torch.get_num_threads()} threads"
