"""Keep what is generated from a notebook in step with it.

- Each notebook's `#| export` cells become its topic's helper module (`dnn.py` beside
  `dnn.ipynb`), which later topics and the tests import.
- The Colab badge and the `#| setup` cell are written from the repository address in
  pyproject.toml, so a fork retargets every notebook by editing one line.
`--check` changes nothing and fails if anything is out of date (CI runs it).
"""
import re
import tomllib

import nbformat

from dlhistory import ROOT

EXPORT, SETUP = "#| export", "#| setup"
BADGE = re.compile(r"\[!\[Open In Colab\]\([^)]*\)\]\([^)]*\)")


def repository():
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]["urls"]["Repository"].rstrip("/")


def badge(topic):
    github = repository().removeprefix("https://github.com/")
    return (f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            f"(https://colab.research.google.com/github/{github}/blob/main/{topic.folder}/{topic.slug}.ipynb)")


def setup_cell(topic):
    clone = "/content/curriculum"
    return f'''{SETUP}: written by `python -m dlhistory export`. On Colab: fetch the curriculum,
#| install it and work in this topic's folder. Anywhere else it does nothing.
import sys
if "google.colab" in sys.modules:
    import os, subprocess
    if not os.path.exists("{clone}"):
        subprocess.run(["git", "clone", "--depth=1", "{repository()}", "{clone}"], check=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", "{clone}"], check=True)
    sys.path.insert(0, "{clone}")
    os.chdir("{clone}/{topic.folder}")'''


def module_source(topic, nb):
    cells = [c.source.split("\n", 1)[1].strip("\n") for c in nb.cells
             if c.cell_type == "code" and c.source.startswith(EXPORT)]
    header = (f'"""{topic.title}: the helper module of {topic.slug}.ipynb.\n\n'
              f"Generated from the notebook's `{EXPORT}` cells by `python -m dlhistory export`:\n"
              f'edit the notebook, not this file.\n"""\n')
    return header + "\n\n\n".join(cells) + "\n"


def _sync_notebook(topic, nb):
    """Rewrite the badge and setup cell in place; True if anything changed."""
    changed = False
    for cell in nb.cells:
        if cell.cell_type == "markdown" and BADGE.search(cell.source):
            new = BADGE.sub(badge(topic).replace("\\", "\\\\"), cell.source)
        elif cell.cell_type == "code" and cell.source.startswith(SETUP):
            new = setup_cell(topic)
        else:
            continue
        changed |= new != cell.source
        cell.source = new
    return changed


def export(topics, check=False):
    """Export (or with check=True, only compare) each built topic; returns the stale paths."""
    stale = []
    for topic in topics:
        if not topic.built:
            continue
        nb = nbformat.read(topic.notebook, as_version=4)
        if _sync_notebook(topic, nb):
            stale.append(topic.notebook)
            if not check:
                nbformat.write(nb, topic.notebook)
        source = module_source(topic, nb)
        if not topic.module.exists() or topic.module.read_text() != source:
            stale.append(topic.module)
            if not check:
                topic.module.write_text(source)
    return stale
