"""ganutils: what the ganbook chapters have already taught, packaged for reuse.

Modules are named for what they do: ``data`` (embedded datasets, image pipelines,
downloads), ``models`` (the seeds' generators and discriminators), ``train`` (the
training engine), ``viz`` (grids, curves, GIFs) and ``metrics`` (SWD, FID, factor
coverage). Import the one you need; importing ``ganutils`` itself is cheap.
"""

__version__ = "0.1.0"

import os as _os

#: Set by `pytest --nbval-lax notebooks` (notebooks/conftest.py) and `python -m ganutils.run --smoke`.
SMOKE_ENV = "GANBOOK_SMOKE"


def smoke(full, quick):
    """``quick`` in a smoke run (tests: the chapter must only *run*), else ``full``.

    A chapter's parameters cell writes ``steps = ganutils.smoke(3000, 5)`` so the reader
    sees both the real setting and the one the tests use.
    """
    return quick if _os.environ.get(SMOKE_ENV, "") not in ("", "0") else full
