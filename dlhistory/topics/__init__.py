"""Every topic's helper module as a real submodule of this package, by slug:

    from dlhistory.topics import dnn
    from dlhistory.topics.dnn import MLP

The package's search path is the list of topic folders, so Python's ordinary import system
finds `01-deep-neural-networks/01-dnn/dnn.py` as `dlhistory.topics.dnn`. Being a real module
path, a topic's objects pickle, and DataLoader workers started with `spawn` (macOS, Windows)
import them again. Later topics build on earlier ones this way instead of rewriting them.
"""
from dlhistory.manifest import TOPICS

__path__ = [str(t.path) for t in TOPICS]


def __getattr__(slug):
    """`from dlhistory.topics import dnn` for a topic that exists but has no module yet, or no
    topic at all, says which; the import system handles every module that does exist."""
    import importlib
    topic = next((t for t in TOPICS if t.slug == slug), None)
    if topic is None:
        raise AttributeError(f"no topic with slug {slug!r}; `python -m dlhistory list` shows them all")
    if not topic.module.exists():
        raise ImportError(f"topic {slug!r} has no helper module yet ({topic.module} is missing): "
                          f"run `python -m dlhistory export`")
    return importlib.import_module(f"{__name__}.{slug}")
