"""What the repository promises its readers: committed notebooks are fresh outputs of their
committed code, helper modules match their notebooks, and the README's links and results
table are true."""
import json
import re

import nbformat
import pytest

from dlhistory import ROOT, export, papers
from dlhistory.__main__ import update_readme
from dlhistory.run import code_hash

BUILT = [t for t in papers.TOPICS if t.built]
MACHINE_PATHS = re.compile(r"(/work/|/root/|/home/|/Users/|/tmp/|[A-Z]:\\\\Users)")


def test_at_least_one_topic_is_built():
    assert BUILT


@pytest.mark.parametrize("topic", BUILT, ids=lambda t: t.slug)
def test_committed_outputs_come_from_the_committed_code(topic):
    nb = nbformat.read(topic.notebook, as_version=4)
    stamp = nb.metadata.get("dlhistory")
    assert stamp, f"{topic.slug}: never executed by `python -m dlhistory run`"
    assert stamp["scale"] in ("small", "full"), f"{topic.slug}: committed at {stamp['scale']} scale"
    assert stamp["code_sha256"] == code_hash(nb), \
        f"{topic.slug}: code changed since it was run: `python -m dlhistory run {topic.slug}`"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1)), "not run top to bottom once"
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    assert stamp["scale"] in json.loads((topic.path / "results.json").read_text())


@pytest.mark.parametrize("topic", BUILT, ids=lambda t: t.slug)
def test_notebooks_are_small_and_free_of_machine_paths(topic):
    text = topic.notebook.read_text()
    assert len(text.encode()) < 1_500_000, "keep figures small (dlhistory.plots' dpi)"
    outputs = json.dumps([c.get("outputs", []) for c in json.loads(text)["cells"]])
    assert not MACHINE_PATHS.search(outputs), MACHINE_PATHS.search(outputs)
    assert "application/vnd.jupyter.widget" not in outputs, "progress widgets saved in outputs"


def test_helper_modules_badges_and_setup_cells_are_in_sync():
    assert export.export(papers.TOPICS, check=True) == [], "run `python -m dlhistory export`"


def test_readme_links_resolve_and_name_every_built_topic():
    readme = (ROOT / "README.md").read_text()
    links = re.findall(r"\]\(([^)#\s]+)[^)]*\)", readme)
    local = [link for link in links if not link.startswith(("http://", "https://", "mailto:"))]
    assert local, "the README links no notebook"
    missing = [link for link in local if not (ROOT / link).exists()]
    assert not missing, missing
    for topic in BUILT:
        assert f"{topic.folder}/{topic.slug}.ipynb" in local, f"README does not link {topic.slug}"


def test_readme_topic_index_and_results_table_are_current():
    readme = (ROOT / "README.md").read_text()
    assert "<!-- results:start -->" in readme and "<!-- topics:start -->" in readme
    assert update_readme(readme) == readme, "run `python -m dlhistory results --readme`"
