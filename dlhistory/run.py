"""Execute a topic's notebook at a scale, top to bottom, and stamp its provenance.

The stamp in `metadata.dlhistory` records the scale, the hardware, the versions, the wall
time and a hash of the code cells, so a test can prove that the committed outputs come
from the committed code. A `smoke` run checks that the notebook works and writes nothing.
"""
import datetime
import hashlib
import os
import platform
import sys
import time

import nbformat
import numpy
import torch
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

import dlhistory
from dlhistory.device import describe
from dlhistory.export import SETUP
from dlhistory.scale import check


def code_hash(nb):
    """sha256 of the code cells' sources. The setup cell is left out: it is generated from
    the repository address, and a fork that retargets it has not changed the experiment."""
    sources = [c.source for c in nb.cells if c.cell_type == "code" and not c.source.startswith(SETUP)]
    return hashlib.sha256("\n\0\n".join(sources).encode()).hexdigest()


class NotebookFailed(RuntimeError):
    pass


def execute(topic, scale, timeout=None, log=print):
    """Run `topic`'s notebook with DLHISTORY_SCALE=`scale`; save it in place with its
    stamp unless the scale is smoke. Returns the wall time in seconds."""
    check(scale)
    nb = nbformat.read(topic.notebook, as_version=4)
    n = sum(c.cell_type == "code" for c in nb.cells)
    done = [0]

    def progress(cell, cell_index, execute_reply):
        done[0] += 1
        log(f"  [{done[0]}/{n}] cell {cell_index} done at {time.perf_counter() - start:.0f} s")

    # The kernel inherits this environment. Progress bars are off inside it: in a saved
    # notebook they are only noise; this runner reports progress cell by cell instead.
    os.environ.update(DLHISTORY_SCALE=scale, TQDM_DISABLE="1", PYDEVD_DISABLE_FILE_VALIDATION="1")
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                            resources={"metadata": {"path": str(topic.path)}},
                            on_cell_executed=progress)
    start = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as error:
        raise NotebookFailed(f"{topic.folder}/{topic.notebook.name} failed at {scale} scale; "
                             f"nothing was saved.\n{error}") from None
    wall = time.perf_counter() - start
    nb.metadata["dlhistory"] = {
        "scale": scale, "code_sha256": code_hash(nb), "wall_s": round(wall, 1), "device": describe(),
        "python": platform.python_version(), "torch": torch.__version__, "numpy": numpy.__version__,
        "dlhistory": dlhistory.__version__, "executed": datetime.date.today().isoformat()}
    if scale != "smoke":
        nbformat.write(nb, topic.notebook)
    return wall
