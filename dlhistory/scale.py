"""The one switch: how big every experiment runs.

`DLHISTORY_SCALE` is one of
- `smoke`: seconds, generated stand-in data, no network (CI and `pytest`);
- `small`: minutes on a 2-core laptop, real data, meaningful results;
- `full`: paper-like, on one GPU.
Unset, it is `small` everywhere, GPU or not: `full` runs only when asked for.
"""
import os
from pathlib import Path

SCALES = ("smoke", "small", "full")


class ScaleError(ValueError):
    pass


def check(name):
    """Return `name` if it is a scale, else raise one error that lists the valid ones."""
    if name not in SCALES:
        raise ScaleError(f"unknown scale {name!r}: use one of {', '.join(SCALES)} "
                         f"(for example DLHISTORY_SCALE=small)")
    return name


def current():
    """The scale in force: `DLHISTORY_SCALE`, else `small`."""
    return check(os.environ.get("DLHISTORY_SCALE", "").strip() or "small")


_warned = set()


def _warn_unrecorded_full():
    """Say once per topic when a `full` configuration has never been run and recorded, with
    what its manifest entry says it downloads and needs: nobody has checked it yet."""
    from dlhistory import manifest, results
    topic = manifest.here()
    if topic is None or topic.slug in _warned or "full" in results.load(topic.path):
        return
    _warned.add(topic.slug)
    print(f"note: the full-scale configuration of {topic.slug} has never been run and recorded; "
          f"expect: {topic.full}.")


def pick(smoke, small, full):
    """Choose one of three configurations by the scale in force.

    Notebooks call it once per experiment so that all three settings stand side by side:
    `cfg = pick(smoke=dict(epochs=1), small=dict(epochs=10), full=dict(epochs=100))`.
    """
    name = current()
    if name == "full":
        _warn_unrecorded_full()
    return {"smoke": smoke, "small": small, "full": full}[name]
