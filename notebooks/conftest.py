"""`pytest --nbval-lax notebooks`: run every chapter in smoke mode (tiny step counts).

The kernels nbval starts inherit this environment, and each chapter's parameters cell
reads it through `ganutils.smoke(full, quick)`.
"""

import os

os.environ["GANBOOK_SMOKE"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # level 3: no C++ start-up log lines in outputs
os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"  # figures inline, whatever the shell says
