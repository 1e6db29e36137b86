"""`pytest --nbval-lax notebooks`: run every chapter in smoke mode (tiny step counts).

The kernels nbval starts inherit this environment, and each chapter's parameters cell
reads it through `ganutils.smoke(full, quick)`.
"""

import os

os.environ["GANBOOK_SMOKE"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
