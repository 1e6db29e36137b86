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


def test_sample_sheet_scales_by_whole_factors_to_at_least_px():
    import numpy as np
    from ganutils import viz
    x = np.random.default_rng(0).integers(0, 256, (7, 28, 28, 3), dtype=np.uint8)
    sheet = viz.sample_sheet(x, ncols=3, px=100, pad=2)
    k = 4                                   # ceil(100 / 28): each sample 112 px, not resampled
    assert sheet.shape == (3 * (28 * k + 2) + 2, 3 * (28 * k + 2) + 2, 3) and sheet.dtype == np.uint8
    first = sheet[2:2 + 28 * k, 2:2 + 28 * k]
    assert np.array_equal(first[::k, ::k], x[0])                   # nearest neighbour: exact pixels
    assert np.array_equal(first, x[0].repeat(k, 0).repeat(k, 1))
    assert (sheet[-(28 * k + 2):, -(28 * k + 2):] == 255).all()   # the empty cell stays white
    big = viz.sample_sheet(np.zeros((2, 128, 128, 3), np.uint8), px=96)
    assert big.shape[0] == 128 + 2 * 4                              # 128 px already >= 96: k = 1


def test_titled_rows_draws_each_sheet_at_its_own_size_under_its_title():
    import io
    import numpy as np
    import pytest
    from PIL import Image
    from ganutils import viz
    rng = np.random.default_rng(1)
    a = rng.integers(0, 256, (6, 28, 28, 3), dtype=np.uint8)
    b = rng.uniform(-1, 1, (4, 28, 28, 3)).astype(np.float32)
    fig = viz.titled_rows([("first run", a), ("second run", b)], ncols=6, px=96, title_px=22)
    sheets = [viz.sample_sheet(a, ncols=6, px=96), viz.sample_sheet(b, ncols=6, px=96)]
    width = max(s.shape[1] for s in sheets)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")          # the figure's own 100 dpi: one pixel per sheet pixel
    picture = np.asarray(Image.open(buffer).convert("RGB"))
    assert picture.shape[1] == width and abs(picture.shape[0] - sum(s.shape[0] + 22 for s in sheets)) <= 1
    assert [ax.get_title(loc="left") for ax in fig.axes] == ["first run", "second run"]
    h = sheets[0].shape[0]                     # the first sheet sits under its title, not resampled
    error = min(np.abs(picture[dy:dy + h].astype(int) - sheets[0]).mean() for dy in range(0, 50))
    assert error < 2
    with pytest.raises(ValueError, match="at least one"):
        viz.titled_rows([])


def test_sample_sheet_and_show_png_refuse_bad_input():
    import numpy as np
    import pytest
    from ganutils import viz
    with pytest.raises(ValueError, match="at least one image"):
        viz.sample_sheet(np.zeros((0, 8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match="ncols and px"):
        viz.sample_sheet(np.zeros((1, 8, 8, 3), np.uint8), px=0)
    with pytest.raises(ValueError, match=r"\[-1.05, 1.05\]|range"):
        viz.sample_sheet(np.full((1, 8, 8, 3), 200.0, np.float32))
    with pytest.raises(ValueError, match="uint8"):
        viz.show_png(np.zeros((8, 8, 3), np.float32))


def test_show_png_displays_a_lossless_png(monkeypatch):
    import io
    import IPython.display
    import numpy as np
    from PIL import Image
    from ganutils import viz
    shown = []
    monkeypatch.setattr(IPython.display, "display", shown.append)
    x = np.random.default_rng(1).integers(0, 256, (10, 12, 3), dtype=np.uint8)
    assert viz.show_png(x) is None           # a cell ending with it shows the picture once
    (image,) = shown
    assert image.format == "png"
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(image.data))), x)
