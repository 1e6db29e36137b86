"""The package itself: submodules reachable as attributes (issue 13, part 7), and ``import ganutils`` staying
cheap. Each check runs in a fresh interpreter, because this test session has imported everything already."""

import json
import subprocess
import sys


def _run(code):
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_ganutils_then_data_synthetic_works_lazily_without_tensorflow():
    r = _run("""
import json, sys
import ganutils
after_import = {m: m in sys.modules for m in ("tensorflow", "keras", "ganutils.data", "ganutils.viz")}
images, factors = ganutils.data.synthetic("faces", 2, 16, seed=0)
print(json.dumps({"after_import": after_import, "shape": list(images.shape), "dtype": str(images.dtype),
                  "tf_after_synthetic": "tensorflow" in sys.modules,
                  "viz": ganutils.viz.__name__, "metrics": ganutils.metrics.__name__,
                  "dir": [m for m in ("data", "models", "train", "viz", "metrics") if m in dir(ganutils)]}))
""")
    assert r["after_import"] == {"tensorflow": False, "keras": False, "ganutils.data": False,
                                 "ganutils.viz": False}
    assert r["shape"] == [2, 16, 16, 3] and r["dtype"] == "uint8"
    assert r["tf_after_synthetic"] is False
    assert r["viz"] == "ganutils.viz" and r["metrics"] == "ganutils.metrics"
    assert r["dir"] == ["data", "models", "train", "viz", "metrics"]


def test_unknown_attribute_still_raises_attribute_error():
    r = _run("""
import json, ganutils
errors = []
for name in ("no_such_module", "losses_typo"):
    try:
        getattr(ganutils, name)
    except AttributeError as e:
        errors.append(str(e))
print(json.dumps({"errors": errors, "has_smoke": callable(ganutils.smoke)}))
""")
    assert r["errors"] == ["module 'ganutils' has no attribute 'no_such_module'",
                           "module 'ganutils' has no attribute 'losses_typo'"]
    assert r["has_smoke"]


def test_progress_bars_do_not_warn_without_ipywidgets():
    """A chapter's output must not carry tqdm's 'IProgress not found' warning (papermill kernels have no
    ipywidgets): every bar in the package comes from ganutils._tqdm."""
    r = _run("""
import json, warnings
warnings.simplefilter("error")
import numpy as np
from ganutils.data import load_images
import tempfile, PIL.Image
d = tempfile.mkdtemp()
for i in range(3):
    PIL.Image.fromarray(np.full((8, 8, 3), i * 40, np.uint8)).save(f"{d}/{i}.png")
from ganutils.data import files
files._PROGRESS_ABOVE = 0            # show the bar even for three images
x = load_images(d, 8)
print(json.dumps({"n": len(x)}))
""")
    assert r["n"] == 3
