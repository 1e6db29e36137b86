"""ganutils.viz: saving pictures to files leaves the reader's matplotlib alone (issue 13, part 1)."""

import json
import os
import subprocess
import sys

import numpy as np

from ganutils import viz


def _history(n=50):
    rng = np.random.default_rng(0)
    return {k: rng.uniform(0, 1, n).tolist() for k in ("d_loss", "g_loss", "d_real", "d_fake")}


def test_plot_history_saves_to_files_without_touching_pyplot_backend_or_figures(tmp_path):
    # A fresh interpreter with the backend a notebook uses: the old code switched it to Agg for good.
    code = f"""
import json, sys
import matplotlib
import matplotlib.pyplot as plt
from ganutils import viz
before = matplotlib.get_backend()
history = {json.dumps(_history())}
fig = viz.plot_history(history, {str(tmp_path / "curves.png")!r})
print(json.dumps({{"before": before, "after": matplotlib.get_backend(), "fignums": plt.get_fignums(),
                  "type": type(fig).__name__, "axes": len(fig.axes)}}))
"""
    env = dict(os.environ, MPLBACKEND="module://matplotlib_inline.backend_inline")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["before"] == "module://matplotlib_inline.backend_inline"
    assert r["after"] == r["before"]
    assert r["fignums"] == []
    assert r["type"] == "Figure" and r["axes"] == 2
    png = (tmp_path / "curves.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 5000


def test_plot_history_without_path_gives_a_pyplot_figure_to_show():
    import matplotlib.pyplot as plt
    fig = viz.plot_history(_history())
    try:
        assert fig.number in plt.get_fignums()  # pyplot manages it: plt.show() / a notebook displays it
        assert [ax.get_ylabel() for ax in fig.axes] == ["loss", "mean discriminator output"]
    finally:
        plt.close(fig)


def test_pictures_are_saved_under_home_for_a_path_with_tilde(tmp_path, monkeypatch):
    """``~`` in a path means the reader's home folder, not a folder named ``~`` in the working folder."""
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(cwd)
    images = np.zeros((4, 8, 8, 3), np.uint8)
    assert viz.save_grid(images, "~/pics/grid.png") == home / "pics" / "grid.png"
    viz.plot_history(_history(), "~/pics/curves.png")
    assert viz.make_gif(["~/pics/grid.png"] * 2, "~/pics/progress.gif") == home / "pics" / "progress.gif"
    assert sorted(p.name for p in (home / "pics").iterdir()) == ["curves.png", "grid.png", "progress.gif"]
    assert list(cwd.iterdir()) == []
