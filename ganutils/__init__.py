"""ganutils: what the ganbook chapters have already taught, packaged for reuse.

Modules are named for what they do: ``data`` (embedded datasets, image pipelines,
downloads), ``models`` (the seeds' generators and discriminators), ``train`` (the
training engine), ``viz`` (grids, curves, GIFs) and ``metrics`` (SWD, FID, factor
coverage). ``import ganutils`` is cheap (no TensorFlow): each submodule is imported the first time
it is used, so ``import ganutils; ganutils.data.synthetic("faces", 16)`` works, as does
``from ganutils import data``.
"""

__version__ = "0.1.0"

import importlib as _importlib
import os as _os

#: Submodules reachable as attributes of the package, imported on first use (PEP 562). Names that do not
#: exist (yet) in this version raise AttributeError as usual.
_SUBMODULES = ("data", "models", "train", "viz", "metrics", "losses", "augment", "recipes", "run", "params",
               "pretrained", "compare", "ema", "latent", "precision")


def __getattr__(name):
    if name in _SUBMODULES:
        try:
            return _importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as e:
            if e.name != f"{__name__}.{name}":
                raise  # the submodule exists but needs something that is missing: say so
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    from importlib.util import find_spec
    return sorted(set(globals()) | {m for m in _SUBMODULES if find_spec(f"{__name__}.{m}") is not None})


#: Set by `pytest --nbval-lax notebooks` (notebooks/conftest.py) and `python -m ganutils.run --smoke`.
SMOKE_ENV = "GANBOOK_SMOKE"
#: Set by `python -m ganutils.run` for the kernels it starts: the names of the parameters it injected
#: (comma-separated). `ganutils.params.for_tests` leaves these alone, so `--smoke -p steps 200` runs 200.
GIVEN_ENV = "GANBOOK_GIVEN"


def smoke(full, test):
    """``full`` in a normal run; ``test`` in a smoke run, i.e. when the tests execute a chapter.

    A smoke run only checks that every cell of a chapter runs (``pytest --nbval-lax notebooks`` and
    ``python -m ganutils.run --smoke`` set the environment variable ``GANBOOK_SMOKE=1``), so it uses tiny
    settings. Kept for code that uses it; the chapters' parameters cells hold plain values and give the
    tests theirs in the next cell with ``ganutils.params.for_tests(globals(), steps=6)``.
    """
    return test if _os.environ.get(SMOKE_ENV, "") not in ("", "0") else full
