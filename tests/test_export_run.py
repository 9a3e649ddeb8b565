"""Export (notebook -> helper module, badge, setup cell) and the runner's provenance stamp."""
import os
import subprocess
import sys

import nbformat
import pytest

from dlhistory import ROOT, export, manifest, run, skeleton


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """A manifest topic whose folder lies in a temporary repository root."""
    monkeypatch.setattr(manifest, "ROOT", tmp_path)
    topic = manifest.Topic("09-part/01-toy", "toy", "Toy", "architecture")
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


def test_runner_leaves_this_process_environment_alone(toy, monkeypatch):
    """A notebook's scale reaches its kernel only: a later notebook on the same worker is not
    run at the earlier one's scale."""
    monkeypatch.delenv("DLHISTORY_SCALE", raising=False)
    write_notebook(toy, "import os\nprint(os.environ['DLHISTORY_SCALE'])")
    run.execute(toy, "small", log=lambda *_: None)
    assert "DLHISTORY_SCALE" not in os.environ


def test_stamp_names_the_local_modules_imported_and_goes_stale_when_one_changes(toy, monkeypatch):
    helper = toy.path / "helper_for_test.py"
    helper.write_text("VALUE = 1\n")
    write_notebook(toy, "import sys\nsys.path.insert(0, '.')\nimport helper_for_test\nfrom dlhistory import results")
    monkeypatch.setattr(run, "ROOT", toy.path.parent.parent)
    run.execute(toy, "small", log=lambda *_: None)
    modules = nbformat.read(toy.notebook, as_version=4).metadata["dlhistory"]["modules"]
    assert "09-part/01-toy/helper_for_test.py" in modules
    assert all(not m.startswith("dlhistory") for m in modules)  # dlhistory lies outside this temporary root
    assert run.stale_reasons(toy) == []
    helper.write_text("VALUE = 2\n")
    assert run.stale_reasons(toy) == ["09-part/01-toy/helper_for_test.py changed"]


def test_real_stamps_include_dlhistory_modules():
    files = [str(ROOT / "dlhistory" / "train.py"), str(ROOT / "site-packages" / "x.py"), None, "/usr/lib/os.py",
             str(ROOT / "dlhistory" / "manifest.py")]
    assert list(run.local_modules(files)) == ["dlhistory/train.py"]


def test_runner_prints_progress_and_no_warnings(toy, capfd):
    write_notebook(toy, "x = 1")
    lines = []
    run.execute(toy, "smoke", log=lines.append)
    captured = capfd.readouterr()
    assert len(lines) == 2 and lines[-1].startswith("  [2/2] cell 2 done at")
    assert "warning" not in (captured.err + captured.out).lower(), captured


def test_topic_modules_are_a_real_package_in_a_fresh_process(tmp_path):
    """Import by module path, unpickle a topic's object, and start DataLoader workers with
    `spawn`, the default on macOS and Windows: each needs dlhistory.topics.<slug> importable."""
    script = tmp_path / "fresh.py"
    script.write_text(
        "import pickle, torch\n"
        "from torch.utils.data import DataLoader\n"
        "from dlhistory.topics.dnn import MLP\n"
        "net = MLP([4, 3, 2])\n"
        "again = pickle.loads(pickle.dumps(net))\n"
        "assert type(again).__module__ == 'dlhistory.topics.dnn'\n"
        "class Data(torch.utils.data.Dataset):\n"
        "    def __len__(self): return 4\n"
        "    def __getitem__(self, i): return torch.ones(4) * i\n"
        "if __name__ == '__main__':\n"
        "    loader = DataLoader(Data(), batch_size=2, num_workers=1, multiprocessing_context='spawn',\n"
        "                        collate_fn=torch.utils.data.default_collate)\n"
        "    print(sum(again(x).shape[0] for x in loader))\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "4"


def test_new_writes_a_skeleton_that_runs_up_to_its_blanks(toy, monkeypatch):
    monkeypatch.setattr(skeleton, "ROOT", toy.path.parent.parent)
    (toy.path.parent.parent / "tests").mkdir()
    toy.path.rmdir()
    monkeypatch.setattr(manifest, "TOPICS", [toy])
    notebook, test = skeleton.write(toy)
    nb = nbformat.read(notebook, as_version=4)
    headings = [c.source.splitlines()[0] for c in nb.cells if c.cell_type == "markdown"]
    for section in ("## Why it mattered", "## Intuition", "## The math", "## Notes on the paper",
                    "## Implementation", "## Experiment", "## Results", "## Takeaways"):
        assert section in headings
    sources = [c.source for c in nb.cells if c.cell_type == "code"]
    assert sources[0].startswith(export.SETUP) and any("pick(" in s for s in sources)
    assert any("results.record(" in s and "key=True" in s for s in sources)
    assert "NotImplementedError" in test.read_text()  # fails until a real check is written
    with pytest.raises(FileExistsError):
        skeleton.write(toy)
