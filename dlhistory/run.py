"""Execute a topic's notebook at a scale, top to bottom, and stamp its provenance.

The stamp in `metadata.dlhistory` records the scale, the hardware, the versions, the wall
time, a hash of the code cells and a hash of every local module the notebook imported
(`dlhistory` and earlier topics' helper modules), so a test can prove that the committed
outputs come from the committed code, and `python -m dlhistory run --stale` can re-run
exactly the notebooks that a change left behind. A `smoke` run checks that the notebook
works and writes nothing.
"""
import datetime
import hashlib
import json
import os
import platform
import time
from pathlib import Path

import nbformat
import numpy
import torch
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

import dlhistory
from dlhistory import ROOT
from dlhistory.device import describe
from dlhistory.export import SETUP
from dlhistory.scale import check

# Run in the kernel after the last cell: every module file it has loaded.
_PROBE = "import json as _j, sys as _s\nprint(_j.dumps([getattr(_m, '__file__', None) for _m in list(_s.modules.values())]))"


def code_hash(nb):
    """sha256 of the code cells' sources. The setup cell is left out: it is generated from
    the repository address, and a fork that retargets it has not changed the experiment."""
    sources = [c.source for c in nb.cells if c.cell_type == "code" and not c.source.startswith(SETUP)]
    return hashlib.sha256("\n\0\n".join(sources).encode()).hexdigest()


def file_hash(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def local_modules(files):
    """The repository's own modules among loaded module files: dlhistory's and topics' (not
    installed packages, even in a virtual environment inside the checkout)."""
    found = {}
    for file in files:
        if not file or "site-packages" in file:
            continue
        path = Path(file).resolve()
        if path.suffix == ".py" and path.is_relative_to(ROOT):
            relative = path.relative_to(ROOT)
            # The manifest is left out: it is the curriculum's table of contents, and adding a
            # topic to it changes no result of a notebook that imports an earlier topic.
            if relative.as_posix() == "dlhistory/manifest.py":
                continue
            if relative.parts[0] == "dlhistory" or relative.parts[0][:2].isdigit():
                found[relative.as_posix()] = file_hash(path)
    return dict(sorted(found.items()))


def stale_reasons(topic):
    """Why `topic`'s committed outputs may no longer come from its code: [] when fresh."""
    nb = nbformat.read(topic.notebook, as_version=4)
    stamp = nb.metadata.get("dlhistory")
    if not stamp:
        return ["never executed by `python -m dlhistory run`"]
    reasons = []
    if stamp.get("code_sha256") != code_hash(nb):
        reasons.append("its code cells changed")
    for module, digest in stamp.get("modules", {}).items():
        if not (ROOT / module).exists() or file_hash(ROOT / module) != digest:
            reasons.append(f"{module} changed")
    if "modules" not in stamp:
        reasons.append("its stamp predates module hashes")
    return reasons


class NotebookFailed(RuntimeError):
    pass


def execute(topic, scale, timeout=None, log=print):
    """Run `topic`'s notebook with DLHISTORY_SCALE=`scale`; save it in place with its
    stamp unless the scale is smoke. Returns the wall time in seconds.

    The scale reaches the kernel through the kernel's own environment: this process's
    environment is left as it was, so a later notebook run from it is not affected."""
    check(scale)
    nb = nbformat.read(topic.notebook, as_version=4)
    n = sum(c.cell_type == "code" for c in nb.cells)
    done = [0]

    def progress(cell, cell_index, execute_reply):
        done[0] += 1
        if done[0] <= n:
            log(f"  [{done[0]}/{n}] cell {cell_index} done at {time.perf_counter() - start:.0f} s")

    # Progress bars are off inside the kernel: in a saved notebook they are only noise; this
    # runner reports progress cell by cell instead.
    env = dict(os.environ, DLHISTORY_SCALE=scale, TQDM_DISABLE="1", PYDEVD_DISABLE_FILE_VALIDATION="1")
    # The kernel logs only errors: its warning that a local kernel's ports are unencrypted is
    # noise to a learner running a notebook on their own machine.
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                            resources={"metadata": {"path": str(topic.path)}},
                            extra_arguments=["--log-level=ERROR"], on_cell_executed=progress)
    probe = nbformat.v4.new_code_cell(_PROBE)
    start = time.perf_counter()
    try:
        with client.setup_kernel(env=env):
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
            wall = time.perf_counter() - start
            nb.cells.append(probe)
            client.execute_cell(probe, len(nb.cells) - 1)
            nb.cells.pop()
    except CellExecutionError as error:
        raise NotebookFailed(f"{topic.folder}/{topic.notebook.name} failed at {scale} scale; "
                             f"nothing was saved.\n{error}") from None
    files = json.loads("".join(o.get("text", "") for o in probe.outputs if o.output_type == "stream"))
    nb.metadata["dlhistory"] = {
        "scale": scale, "code_sha256": code_hash(nb), "modules": local_modules(files),
        "wall_s": round(wall, 1), "device": describe(), "python": platform.python_version(),
        "torch": torch.__version__, "numpy": numpy.__version__, "dlhistory": dlhistory.__version__,
        "executed": datetime.date.today().isoformat()}
    if scale != "smoke":
        nbformat.write(nb, topic.notebook)
    return wall
