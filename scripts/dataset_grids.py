"""Redraw the README's and the data page's grids of the embedded datasets (docs/img/).

    python scripts/dataset_grids.py
"""

from pathlib import Path

from PIL import Image

from ganutils import viz
from ganutils.data import synthetic

OUT = Path(__file__).resolve().parents[1] / "docs" / "img"


def save(kind, size, name, scale):
    images, _ = synthetic(kind, 64, size, seed=0)
    picture = viz.grid(images, ncols=8, pad=0)
    picture = picture.repeat(scale, axis=0).repeat(scale, axis=1)
    img = Image.fromarray(picture)
    if picture.shape[0] > 600:  # a 1024-px grid: an adaptive 256-colour palette keeps it small
        img = img.quantize(256, method=Image.Quantize.MEDIANCUT)
    img.save(OUT / name, optimize=True)
    print(OUT / name, picture.shape, (OUT / name).stat().st_size // 1024, "KB")


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    save("faces", 28, "faces_28.png", 3)
    save("faces", 64, "faces_64.png", 1)
    save("eyes", 128, "eyes_128.png", 1)
    save("anime", 64, "anime_64.png", 1)
