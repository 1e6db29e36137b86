"""Draw the intro page's gallery from the pretrained generators shipped in ganutils.

    python scripts/gallery.py            # writes docs/img/pretrained_<name>.png for each generator

Each picture is a grid of generated samples (no real image), from latent seed 0 without truncation,
so that it shows the variety the generator learned: 24 samples in 6 columns, each scaled up by a whole
factor (nearest neighbour) to at least 120 px, so that one sample is at least 96 px on a 1280 px page. ``tests/test_pretrained_package.py`` checks that
the committed pictures are what the shipped generators draw.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "img"
#: samples per picture and columns: fewer, larger samples (``viz.sample_sheet``)
SAMPLES, COLUMNS, PX = 24, 6, 120


def draw(name):
    """The gallery grid of generator ``name``: uint8 [H, W, 3]."""
    from ganutils import latent, pretrained, viz
    g = pretrained.load(name)
    z = latent.truncated_normal(SAMPLES, pretrained.card(name)["latent_dim"], None, seed=0)
    return viz.sample_sheet(g(z, training=False), ncols=COLUMNS, px=PX)


def main():
    sys.path.insert(0, str(ROOT))
    from PIL import Image
    from ganutils import pretrained
    for name in pretrained.available():
        path = OUT / f"pretrained_{name}.png"
        Image.fromarray(draw(name)).save(path, optimize=True)
        print(f"{path.relative_to(ROOT)}: {pretrained.describe(name)}")


if __name__ == "__main__":
    main()
