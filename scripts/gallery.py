"""Draw the intro page's gallery from the pretrained generators shipped in ganutils.

    python scripts/gallery.py            # writes docs/img/pretrained_<name>.png for each generator

Each picture is a grid of generated samples (no real image), from latent seed 0 without truncation,
so that it shows the variety the generator learned. ``tests/test_pretrained_package.py`` checks that
the committed pictures are what the shipped generators draw.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "img"
#: samples per picture and columns, by generator: the same page width for every image size
LAYOUT = {"faces28": (48, 12), "anime64": (32, 8), "eyes128": (12, 6)}


def draw(name):
    """The gallery grid of generator ``name``: uint8 [H, W, 3]."""
    from ganutils import latent, pretrained, viz
    n, cols = LAYOUT.get(name, (32, 8))
    g = pretrained.load(name)
    z = latent.truncated_normal(n, pretrained.card(name)["latent_dim"], None, seed=0)
    return viz.upscale(viz.grid(viz.to_uint8(g(z, training=False).numpy()), ncols=cols), min_width=720)


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
