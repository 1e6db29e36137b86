"""Chapters train on real photo files, not only on the embedded datasets.

Each chapter listed in ``CHAPTERS`` is run through papermill in smoke mode with its
``data`` parameter pointing at a folder, or a zip, of CelebA-format photos (178×218 JPEGs
and PNGs) written here. The run must succeed, and the executed notebook must report that it
loaded the images written: a chapter prints ``training images: N`` after loading (the
photos it trains on, after any it holds out).
"""

import re
import zipfile

import nbformat
import numpy as np
import pytest
from PIL import Image

from ganutils import run
from ganutils.data import synthetic

N_JPEG, N_PNG = 24, 16
N = N_JPEG + N_PNG
N_MANY = 600   # chapter 7 holds out 200 faces (its smoke n_eval) and needs 6 × 64 to train on

#: chapter stem -> (source kinds to train on, parameters that keep the smoke run cheap,
#: how many of the photos the chapter must report as training images: each holds some
#: photos out for its scores)
CHAPTERS = {
    "03_faces28": (("folder", "zip"), {"batch_size": 16, "width": 0.25}, N - 16),
    "04_eyes128": (("folder",), {"batch_size": 8}, N - max(16, N // 10)),
    "05_anime64": (("folder",), {"batch_size": 8, "n_eval": 16}, N - 16),
    "07_evaluation": (("many",), {"batch_size": 16}, N_MANY - 200),
}
#: how a chapter reports its training set, when not as "training images: N"
REPORTS = {"07_evaluation": r"(\d+) training faces"}
CELEBA_W, CELEBA_H, FACE = 178, 218, 108  # aligned CelebA size and seed 002's face square


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """A folder of CelebA-like photos: embedded faces scaled to 108×108 and padded to 178×218
    (edge pixels repeated) so that the face sits where CelebA's crop looks for it; plus a zip
    of the same files under ``img_align_celeba/``, the layout of CelebA's own zip."""
    root = tmp_path_factory.mktemp("celeba_like")
    folder = root / "img_align_celeba"
    folder.mkdir()
    faces, _ = synthetic("faces", N_JPEG + N_PNG, size=64, seed=3)
    top, left = (CELEBA_H - FACE) // 2, (CELEBA_W - FACE) // 2
    for i, face in enumerate(faces):
        big = np.asarray(Image.fromarray(face).resize((FACE, FACE), Image.BICUBIC))
        photo = np.pad(big, ((top, CELEBA_H - FACE - top), (left, CELEBA_W - FACE - left), (0, 0)),
                       mode="edge")
        assert photo.shape == (CELEBA_H, CELEBA_W, 3)
        name = f"{i + 1:06d}.jpg" if i < N_JPEG else f"{i + 1:06d}.png"
        Image.fromarray(photo).save(folder / name, **({"quality": 90} if name.endswith(".jpg") else {}))
    archive = root / "img_align_celeba.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for path in sorted(folder.iterdir()):
            z.write(path, f"img_align_celeba/{path.name}")
    many = root / "many"
    many.mkdir()
    for i, face in enumerate(synthetic("faces", N_MANY, size=64, seed=4)[0]):
        Image.fromarray(face).resize((CELEBA_W, CELEBA_H), Image.BICUBIC).save(many / f"{i:06d}.jpg")
    return {"folder": folder, "zip": archive, "many": many}


def _printed(nb):
    return "".join(out.get("text", "") for cell in nb.cells if cell.cell_type == "code"
                   for out in cell.get("outputs", []) if out.get("output_type") == "stream")


@pytest.mark.parametrize("chapter,kind", [(c, k) for c, (kinds, _, _) in CHAPTERS.items() for k in kinds])
def test_chapter_trains_on_photo_files(chapter, kind, photos, tmp_path):
    notebook = run.NOTEBOOKS / f"{chapter}.ipynb"
    assert notebook.exists(), f"no chapter {notebook}"
    out_dir = tmp_path / "run"
    params = dict(CHAPTERS[chapter][1], data=str(photos[kind]), out_dir=str(out_dir))
    executed = tmp_path / notebook.name
    run.run(notebook, executed, params, smoke=True, cwd=tmp_path)  # raises if a cell fails

    nb = nbformat.read(executed, as_version=4)
    assert nb.metadata["ganbook"]["smoke"] is True
    expected = CHAPTERS[chapter][2]
    counts = [int(n) for n in re.findall(REPORTS.get(chapter, r"training images: (\d+)"), _printed(nb))]
    assert counts == [expected], f"expected one 'training images: {expected}' line, got {counts}"
    # it trained: the fixed-noise grids of the run are where out_dir says
    grids = sorted((out_dir / "samples").glob("step_*.png"))
    assert grids and grids[0].name == "step_000000.png" and len(grids) >= 2
    assert (out_dir / "history.json").exists()
