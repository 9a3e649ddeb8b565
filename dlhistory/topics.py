"""Import a topic's helper module by its slug, from anywhere:

    from dlhistory.topics import dnn
    mlp = dnn.MLP([784, 256, 10])

Later topics build on earlier ones this way instead of rewriting them.
"""
import importlib.util
import sys

from dlhistory.papers import TOPICS


def __getattr__(slug):
    topic = next((t for t in TOPICS if t.slug == slug), None)
    if topic is None:
        raise AttributeError(f"no topic with slug {slug!r}; `python -m dlhistory list` shows them all")
    if not topic.module.exists():
        raise ImportError(f"topic {slug!r} has no helper module yet ({topic.module} is missing): "
                          f"run `python -m dlhistory export`")
    name = f"{__name__}.{slug}"
    spec = importlib.util.spec_from_file_location(name, topic.module)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    globals()[slug] = module
    return module
