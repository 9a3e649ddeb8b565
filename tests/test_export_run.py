"""Export (notebook -> helper module, badge, setup cell) and the runner's provenance stamp."""
import nbformat
import pytest

from dlhistory import export, papers, run


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """A manifest topic whose folder lies in a temporary repository root."""
    monkeypatch.setattr(papers, "ROOT", tmp_path)
    topic = papers.Topic("09-part/01-toy", "toy", "Toy")
    topic.path.mkdir(parents=True)
    return topic


def write_notebook(topic, *code):
    cells = [nbformat.v4.new_markdown_cell("# Toy\n\n[![Open In Colab](old.svg)](https://example.com/old)"),
             nbformat.v4.new_code_cell("#| setup")]
    cells += [nbformat.v4.new_code_cell(c) for c in code]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), topic.notebook)


def test_export_writes_module_badge_and_setup_then_check_passes(toy):
    topic = toy
    write_notebook(topic, "#| export\ndef double(x):\n    return 2 * x", "print(double(2))",
                   "#| export\nTHREE = 3")
    assert export.export([topic], check=True) == [topic.notebook, topic.module]  # stale, untouched
    assert not topic.module.exists()
    export.export([topic])
    source = topic.module.read_text()
    assert "def double(x):" in source and "THREE = 3" in source and "print(double" not in source
    namespace = {}
    exec(source, namespace)
    assert namespace["double"](4) == 8
    nb = nbformat.read(topic.notebook, as_version=4)
    assert export.repository().removeprefix("https://github.com/") in nb.cells[0].source
    assert f"{topic.folder}/toy.ipynb" in nb.cells[0].source
    assert export.repository() in nb.cells[1].source and topic.folder in nb.cells[1].source
    assert export.export([topic], check=True) == []


def test_check_notices_an_edited_export_cell(toy):
    topic = toy
    write_notebook(topic, "#| export\nX = 1")
    export.export([topic])
    nb = nbformat.read(topic.notebook, as_version=4)
    nb.cells[2].source = "#| export\nX = 2"
    nbformat.write(nb, topic.notebook)
    assert export.export([topic], check=True) == [topic.module]


def test_setup_cell_runs_as_a_no_op_outside_colab(toy):
    exec(export.setup_cell(toy), {})


def test_code_hash_ignores_the_setup_cell_and_outputs_but_not_code(toy):
    topic = toy
    write_notebook(topic, "x = 1")
    nb = nbformat.read(topic.notebook, as_version=4)
    before = run.code_hash(nb)
    nb.cells[1].source = export.setup_cell(topic)
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", text="1")]
    assert run.code_hash(nb) == before
    nb.cells[2].source = "x = 2"
    assert run.code_hash(nb) != before


def test_runner_stamps_and_saves_at_small_but_never_at_smoke(toy):
    topic = toy
    write_notebook(topic, "import os\nprint(os.environ['DLHISTORY_SCALE'])")
    original = topic.notebook.read_text()
    run.execute(topic, "smoke", log=lambda *_: None)
    assert topic.notebook.read_text() == original
    run.execute(topic, "small", log=lambda *_: None)
    nb = nbformat.read(topic.notebook, as_version=4)
    stamp = nb.metadata["dlhistory"]
    assert stamp["scale"] == "small" and stamp["code_sha256"] == run.code_hash(nb) and stamp["wall_s"] >= 0
    assert nb.cells[2].outputs[0]["text"] == "small\n"


def test_a_failing_notebook_is_not_saved(toy):
    topic = toy
    write_notebook(topic, "raise ValueError('broken on purpose')")
    original = topic.notebook.read_text()
    with pytest.raises(run.NotebookFailed, match="broken on purpose"):
        run.execute(topic, "small", log=lambda *_: None)
    assert topic.notebook.read_text() == original
