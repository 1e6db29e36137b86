"""`pytest --nbval-lax notebooks`: run every chapter in smoke mode (tiny step counts), and clean up.

The kernels nbval starts inherit this environment, and each chapter's parameters cell
reads it through `ganutils.smoke(full, test)`. Their temporary files go to a folder of
their own (TMPDIR) that is removed at the end, and so are the run folders (checkpoints,
grids) the chapters create next to themselves; a run folder that existed before the
tests (a reader's own run) is left alone.
"""

import os
import shutil
import tempfile
from pathlib import Path

from ganutils import run

HERE = Path(__file__).resolve().parent

os.environ["GANBOOK_SMOKE"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # level 3: no C++ start-up log lines in outputs
os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"  # figures inline, whatever the shell says
KERNEL_TMP = tempfile.mkdtemp(prefix="ganbook-nbval-")
os.environ["TMPDIR"] = KERNEL_TMP   # TensorFlow's temporary files of the kernels land here

# Chapters' run folders (their OutDir parameters in smoke mode) that do not exist yet: made by the tests.
NEW_RUN_FOLDERS = run.new_folders(
    [folder for nb in run.chapters(HERE) for folder in run.run_folders(nb, HERE, smoke=True)], HERE)


def pytest_unconfigure(config):
    for folder in NEW_RUN_FOLDERS + [Path(KERNEL_TMP)]:
        shutil.rmtree(folder, ignore_errors=True)
