"""`python -m dlhistory new SLUG`: a planned topic's starting point, written from the manifest.

The notebook has every section of the anatomy (CONTRIBUTING.md), the Colab badge and setup
cell, a `pick` cell and a `results.record` cell to fill in; the test module fails until its
first real check against torch is written, so a topic cannot land untested.
"""
import nbformat

from dlhistory import ROOT
from dlhistory.export import badge, setup_cell


def _citations(topic):
    return "\n".join(f"- {p.authors} ({p.year}). *{p.title}*. {p.venue}. [link]({p.abstract})" for p in topic.papers)


def notebook(topic):
    from dlhistory import manifest
    number = manifest.TOPICS.index(topic) + 1
    part = topic.folder.split("/")[0].split("-", 1)[1].replace("-", " ")
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    cells = [
        md(f"# {topic.title}\n\n{_citations(topic)}\n\n{badge(topic)}\n\n"
           f"Part {topic.folder[:2].lstrip('0')}, *{part}*, topic {number} of {len(manifest.TOPICS)}. "
           f"`python -m dlhistory papers {topic.slug}` downloads the papers into this folder."),
        code(setup_cell(topic)),
        md("## Why it mattered\n\nWhich of the seven constraints (data, parameters, optimization and "
           "regularization, architecture, compute, compute efficiency, energy) the paper moved, and what "
           "came before it, with priority right."),
        md("## Intuition"),
        md("## The math\n\nThe key equations, numbered as in the paper, every symbol explained."),
        md("## Notes on the paper\n\n- **Method.**\n- **Experiments.**\n- **Claims.**"),
        code("from dlhistory import data, device, pick, plots, results, scale, seed_everything\n"
             "from dlhistory.train import Batches, accuracy, classification_step, fit, last\n\n"
             'print("scale:", scale.current(), "| device:", device.current())'),
        md("## Implementation\n\nSmall cells, each citing the equation or section it implements; where torch "
           "has the same component, one cell checks ours against it."),
        code("#| export\n"),
        md("## Experiment\n\nThe paper's key claim at small scale. Compared models share one recipe."),
        code("cfg = pick(smoke=dict(), small=dict(), full=dict())"),
        md("## Results"),
        code("results.record([\n"
             "    dict(metric=..., paper=..., paper_setting=..., ours=..., setting=..., bar=(\">=\", ...), key=True),\n"
             "], budget=...)"),
        code("# the key claim, with a margin that a trivial model would fail\nassert ..."),
        md("## Takeaways\n\n## Things to try\n\n1.\n2."),
    ]
    return nbformat.v4.new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})


def test_module(topic):
    return f'''"""{topic.title}: the helper module {topic.slug}.py against torch's own components."""
import torch

from dlhistory.topics import {topic.slug}


def test_matches_torch():
    raise NotImplementedError("check each component of {topic.slug} against torch's with "
                              "torch.testing.assert_close, forward and gradients, on more than one shape")
'''


def write(topic):
    """Write the topic's notebook and test module; never overwrite. Returns the paths written."""
    test = ROOT / "tests" / f"test_{topic.slug}.py"
    for path in (topic.notebook, test):
        if path.exists():
            raise FileExistsError(f"{path.relative_to(ROOT)} exists already: `new` never overwrites")
    topic.path.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook(topic), topic.notebook)
    test.write_text(test_module(topic))
    return [topic.notebook, test]
