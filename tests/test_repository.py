"""What the repository promises its readers: committed notebooks are fresh outputs of their
committed code and of the modules they imported, helper modules match their notebooks, the
README's links, key claims and RESULTS.md are true, and the docs stand alone."""
import json
import re

import nbformat
import pytest

from dlhistory import ROOT, export, manifest, results
from dlhistory.__main__ import update_readme
from dlhistory.run import stale_reasons

BUILT = [t for t in manifest.TOPICS if t.built]
MACHINE_PATHS = re.compile(r"(/work/|/root/|/home/|/Users/|/tmp/|[A-Z]:\\\\Users)")


def test_at_least_one_topic_is_built():
    assert BUILT


@pytest.mark.parametrize("topic", BUILT, ids=lambda t: t.slug)
def test_committed_outputs_come_from_the_committed_code_and_modules(topic):
    assert stale_reasons(topic) == [], \
        f"{topic.slug}: outputs are stale; re-run them with `python -m dlhistory run --stale`"
    nb = nbformat.read(topic.notebook, as_version=4)
    stamp = nb.metadata["dlhistory"]
    assert stamp["scale"] in ("small", "full"), f"{topic.slug}: committed at {stamp['scale']} scale"
    assert "dlhistory/results.py" in stamp["modules"], "the stamp names the modules the notebook imported"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1)), "not run top to bottom once"
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    assert stamp["scale"] in json.loads((topic.path / "results.json").read_text())


@pytest.mark.parametrize("topic", BUILT, ids=lambda t: t.slug)
def test_results_have_settings_verdicts_a_key_claim_and_compute(topic):
    for scale, run in results.load(topic.path).items():
        assert sum(row["key"] for row in run["rows"]) == 1, f"{topic.slug} {scale}: one key claim"
        for row in run["rows"]:
            assert row["verdict"] == results.verdict(row["ours"], row["bar"]), row["metric"]
            assert row["setting"] and (row["paper_setting"] or row["paper"] == "n/a"), row["metric"]
        assert run["flops"] > 0 and run["wall_s"] > 0 and run["device"]


@pytest.mark.parametrize("topic", BUILT, ids=lambda t: t.slug)
def test_notebooks_are_small_and_free_of_machine_paths(topic):
    text = topic.notebook.read_text()
    assert len(text.encode()) < 1_500_000, "keep figures small (dlhistory.plots' dpi)"
    cells = json.loads(text)["cells"]
    outputs = json.dumps([c.get("outputs", []) for c in cells])
    assert not MACHINE_PATHS.search(outputs), MACHINE_PATHS.search(outputs)
    assert "application/vnd.jupyter.widget" not in outputs, "progress widgets saved in outputs"
    for cell in cells:
        for output in cell.get("outputs", []):
            png = output.get("data", {}).get("image/png", "")
            assert len(png) * 3 / 4 < 100_000, f"{topic.slug}: a figure over 100 KB"


def test_helper_modules_badges_and_setup_cells_are_in_sync():
    assert export.export(manifest.TOPICS, check=True) == [], "run `python -m dlhistory export`"


def test_readme_links_resolve_and_name_every_built_topic():
    readme = (ROOT / "README.md").read_text()
    links = re.findall(r"\]\(([^)#\s]+)[^)]*\)", readme)
    local = [link for link in links if not link.startswith(("http://", "https://", "mailto:"))]
    assert local, "the README links no notebook"
    missing = [link for link in local if not (ROOT / link).exists()]
    assert not missing, missing
    for topic in BUILT:
        assert f"{topic.folder}/{topic.slug}.ipynb" in local, f"README does not link {topic.slug}"


def test_readme_key_claims_and_results_md_are_current():
    readme = (ROOT / "README.md").read_text()
    assert "<!-- results:start -->" in readme and "<!-- topics:start -->" in readme
    assert update_readme(readme) == readme, "run `python -m dlhistory results --write`"
    assert (ROOT / "RESULTS.md").read_text() == results.results_md(BUILT), "run `python -m dlhistory results --write`"


def test_readme_claims_no_more_than_the_verdicts_show():
    """The README may say that every key claim is reproduced only if every verdict says so."""
    readme = (ROOT / "README.md").read_text().lower()
    verdicts = [results.key_claim(results.load(t.path))[1]["verdict"] for t in BUILT]
    if results.NOT_MET in verdicts:
        for boast in ("reproduces the paper's key claim", "every notebook reproduces", "each reproduces"):
            assert boast not in readme, f"the README says '{boast}', but a key claim is not met"


def test_docs_refer_only_to_files_a_clone_has():
    """The design documents of the team are not in the repository: nothing may point to them."""
    texts = [p.read_text() for p in [*ROOT.glob("*.md"), *(ROOT / "dlhistory").rglob("*.py"), *(ROOT / "tests").glob("*.py")]]
    texts += [t.notebook.read_text() for t in BUILT]
    for name in ("DESIGN" + ".md", "CURRICULUM" + ".md", "ESSAY" + ".md", "../" + "shared"):
        assert not [t for t in texts if name in t], f"something refers to {name}, which a clone does not have"


ESSAY = re.compile(r"## A history in seven constraints\n(.*?)\n## Quick start", re.S)
DECIMAL = re.compile(r"(?<![\w.])\d+\.\d+(?![\w.])")
# numbers the essay quotes from the history rather than from our runs: AlexNet's ImageNet top-5
# error against the year before's best, GPT-2's and InstructGPT's billions of parameters
HISTORICAL = {"16.4", "25.8", "1.5", "1.3"}


def essay():
    found = ESSAY.search((ROOT / "README.md").read_text())
    assert found, "the README's essay section is missing"
    return found.group(1)


def test_readme_essay_is_long_complete_and_links_every_topic():
    text = essay()
    prose = re.sub(r"\]\([^)]*\)", "]", text)
    assert len(re.findall(r"[A-Za-z][\w'-]*", prose)) >= 4000, "the essay is under 4,000 words"
    assert "{{" not in text and "TODO" not in text
    for topic in manifest.TOPICS:
        if topic.built:
            assert f"]({topic.folder}/{topic.slug}.ipynb)" in text, f"the essay does not link {topic.slug}'s notebook"
        else:
            assert any(f"]({p.abstract})" in text for p in topic.papers), f"the essay does not mention {topic.slug}"


def _numbers(text):
    return [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", text)]


def _measured(topic):
    """Every number in a topic's results.json and in its notebook's outputs."""
    texts = [(topic.path / "results.json").read_text()]
    for cell in nbformat.read(topic.notebook, as_version=4).cells:
        for output in cell.get("outputs", []):
            texts.append(output.get("text", ""))
            texts += [output.get("data", {}).get(kind, "") for kind in ("text/plain", "text/markdown")]
    return _numbers("\n".join(texts))


def test_readme_essay_numbers_are_the_linked_notebooks_measurements():
    """Each decimal number in a paragraph of the essay is one that a notebook linked from the same
    paragraph measured or quotes in its results (at the precision printed), so the essay cannot
    drift from the committed runs."""
    by_link = {f"{t.folder}/{t.slug}.ipynb": t for t in BUILT}
    for paragraph in essay().split("\n\n"):
        quoted = [n for n in DECIMAL.findall(re.sub(r"\]\([^)]*\)", "]", paragraph)) if n not in HISTORICAL]
        if not quoted:
            continue
        topics = [by_link[link] for link in re.findall(r"\]\(([^)]+\.ipynb)\)", paragraph) if link in by_link]
        measured = [v for t in topics for v in _measured(t)]
        for n in quoted:
            tolerance = 0.5 * 10 ** -len(n.split(".")[1]) + 1e-12
            assert any(abs(abs(v) - float(n)) <= tolerance for v in measured), \
                f"the essay quotes {n}, which no notebook linked in its paragraph recorded: {paragraph[:80]}..."
