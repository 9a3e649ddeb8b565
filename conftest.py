"""pytest runs everything at smoke scale: unit tests and every topic notebook (via nbval).

Set here, before any kernel or torch starts, so that nbval's kernels inherit it.
"""
import os

os.environ["DLHISTORY_SCALE"] = "smoke"   # forced: the test suite is defined at smoke scale
os.environ["TQDM_DISABLE"] = "1"          # no progress bars in test output
os.environ["HF_HUB_OFFLINE"] = "1"        # nothing in the tests may reach a hub
os.environ["MPLBACKEND"] = "Agg"
os.environ["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"  # silences a debugger warning in each kernel
# pytest-xdist runs one notebook kernel per core; a kernel that also used every core for
# its own threads would fight the others and run slower than serial.
os.environ.setdefault("OMP_NUM_THREADS", "1")
