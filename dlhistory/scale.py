"""The one switch: how big every experiment runs.

`DLHISTORY_SCALE` is one of
- `smoke`: seconds, synthetic stand-in data, no network (CI and `pytest`);
- `small`: minutes on a 2-core laptop, real data, meaningful results;
- `full`: paper-like, on one GPU.
Unset, it is `full` where CUDA is available and `small` otherwise.
"""
import os

import torch

SCALES = ("smoke", "small", "full")


class ScaleError(ValueError):
    pass


def check(name):
    """Return `name` if it is a scale, else raise one error that lists the valid ones."""
    if name not in SCALES:
        raise ScaleError(f"unknown scale {name!r}: use one of {', '.join(SCALES)} "
                         f"(for example DLHISTORY_SCALE=small)")
    return name


def scale():
    """The scale in force: `DLHISTORY_SCALE`, or the default for this machine."""
    name = os.environ.get("DLHISTORY_SCALE", "").strip()
    if name:
        return check(name)
    return "full" if torch.cuda.is_available() else "small"


def pick(smoke, small, full):
    """Choose one of three configurations by the scale in force.

    Notebooks call it once per experiment so that all three settings stand side by side:
    `cfg = pick(smoke=dict(epochs=1), small=dict(epochs=10), full=dict(epochs=100))`.
    """
    return {"smoke": smoke, "small": small, "full": full}[scale()]
