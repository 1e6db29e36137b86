"""`pytest --nbval-lax notebooks`: run every chapter in smoke mode (tiny step counts), and clean up.

The kernels nbval starts inherit this environment. nbval injects no parameters: each
chapter's cell after its parameters cell, `ganutils.params.for_tests(globals(), steps=6, ...)`,
reads GANBOOK_SMOKE and sets its small values (GANBOOK_GIVEN, the names a runner injected,
is cleared: nothing here was injected). Their temporary files go to a folder of
their own (TMPDIR) that is removed at the end, and so are the chapters' smoke run
folders (`runs/smoke/...`: checkpoints, grids); a reader's own runs are left alone.
"""

import os
import shutil
import tempfile
from pathlib import Path

import ganutils
from ganutils import run

HERE = Path(__file__).resolve().parent

os.environ[ganutils.SMOKE_ENV] = "1"
os.environ.pop(ganutils.GIVEN_ENV, None)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # level 3: no C++ start-up log lines in outputs
os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"  # figures inline, whatever the shell says
KERNEL_TMP = tempfile.mkdtemp(prefix="ganbook-nbval-")
os.environ["TMPDIR"] = KERNEL_TMP   # TensorFlow's temporary files of the kernels land here

SCRATCH = [folder for nb in run.chapters(HERE) for folder in run.smoke_scratch(nb, HERE)]


def pytest_unconfigure(config):
    run.remove_scratch(SCRATCH, HERE)
    shutil.rmtree(KERNEL_TMP, ignore_errors=True)
