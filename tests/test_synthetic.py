"""Tests for the embedded procedural datasets (ganutils/data/procedural/: one module per kind)."""

import hashlib
import os
import subprocess
import sys

import numpy as np
import pytest

from ganutils.data.procedural import DEFAULT_SIZE, FACTORS, KINDS, synthetic

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("size", [28, 64, 128])
def test_shapes_and_dtypes(kind, size):
    images, factors = synthetic(kind, 3, size, seed=5)
    assert images.shape == (3, size, size, 3)
    assert images.dtype == np.uint8
    assert set(factors) == set(FACTORS[kind])
    # a real picture, not a flat fill
    assert images.reshape(3, -1).std(axis=1).min() > 10


@pytest.mark.parametrize("kind", KINDS)
def test_default_size(kind):
    images, _ = synthetic(kind, 2)
    assert images.shape == (2, DEFAULT_SIZE[kind], DEFAULT_SIZE[kind], 3)


@pytest.mark.parametrize("kind", KINDS)
def test_deterministic_and_seeded(kind):
    # 70 images at 28 px span several render jobs (run on a thread pool)
    a, fa = synthetic(kind, 70, 28, seed=3)
    b, fb = synthetic(kind, 70, 28, seed=3)
    assert a.tobytes() == b.tobytes()
    for k in fa:
        assert fa[k].tobytes() == fb[k].tobytes()
    c, _ = synthetic(kind, 70, 28, seed=4)
    assert (a != c).any(axis=(1, 2, 3)).all(), "every image should change with the seed"


@pytest.mark.parametrize("kind", KINDS)
def test_prefix_stable(kind):
    big, fbig = synthetic(kind, 100, 32, seed=11)  # crosses the 64-image factor chunk
    for n in (1, 10, 65):
        small, fsmall = synthetic(kind, n, 32, seed=11)
        assert np.array_equal(big[:n], small), f"first {n} images differ from a longer run"
        for k in fsmall:
            assert np.array_equal(fbig[k][:n], fsmall[k])


def test_factors_same_at_every_size():
    _, f28 = synthetic("faces", 5, 28, seed=2)
    _, f64 = synthetic("faces", 5, 64, seed=2)
    for k in f28:
        assert np.array_equal(f28[k], f64[k])


@pytest.mark.parametrize("kind", KINDS)
def test_images_diverse(kind):
    images, _ = synthetic(kind, 64, 32, seed=0)
    flat = images.reshape(64, -1).astype(np.float32)
    d = np.abs(flat[:, None, :] - flat[None, :, :]).mean(axis=2)
    d[np.arange(64), np.arange(64)] = np.inf
    assert d.min() > 4.0, "two images are near-identical"


@pytest.mark.parametrize("kind", KINDS)
def test_factor_values_and_coverage(kind):
    n = 512
    images, factors = synthetic(kind, n, 8, seed=7)  # tiny images: this checks the factors
    assert images.shape == (n, 8, 8, 3)
    assert list(factors) == list(FACTORS[kind])
    for name, cats in FACTORS[kind].items():
        v = factors[name]
        assert v.shape == (n,), name
        if cats is None:
            assert v.dtype == np.float32, name
            assert v.min() >= 0.0 and v.max() <= 1.0, name
            assert v.std() > 0.2, f"{name} does not vary over [0, 1]"
        else:
            assert v.dtype == np.int64, name
            assert 3 <= len(cats) <= 8 or len(cats) == 2, name
            assert v.min() >= 0 and v.max() < len(cats), name
            counts = np.bincount(v, minlength=len(cats))
            assert (counts > 0).all(), f"{name}: categories never drawn: {[c for c, k in zip(cats, counts) if not k]}"


@pytest.mark.parametrize("kind", KINDS)
def test_zero_images(kind):
    images, factors = synthetic(kind, 0, 40)
    assert images.shape == (0, 40, 40, 3) and images.dtype == np.uint8
    for name, cats in FACTORS[kind].items():
        assert factors[name].shape == (0,)
        assert factors[name].dtype == (np.float32 if cats is None else np.int64)


def test_errors():
    with pytest.raises(ValueError, match="faces, eyes, anime"):
        synthetic("cats", 4)
    with pytest.raises(ValueError, match="kind"):
        synthetic(None, 4)
    for bad in (7, 513, 64.0, "64", True, -64):
        with pytest.raises(ValueError, match=r"size must be an int in \[8, 512\]"):
            synthetic("faces", 2, bad)
    for bad in (-1, 2.5, "3", None):
        with pytest.raises(ValueError, match="n must be a non-negative int"):
            synthetic("faces", bad)
    with pytest.raises(ValueError, match="seed"):
        synthetic("faces", 2, seed=-1)
    # numpy integers are fine
    images, _ = synthetic("anime", np.int64(2), np.int32(16), seed=np.uint8(3))
    assert images.shape == (2, 16, 16, 3)


def _region_mean(images, x0, x1, y0, y1):
    """Mean colour over a box given in image coordinates [-1, 1] (y down)."""
    s = images.shape[1]
    c = lambda v: int(round((v + 1) / 2 * s))  # noqa: E731
    return images[:, c(y0):c(y1), c(x0):c(x1)].reshape(len(images), -1, 3).mean(axis=1)


def _nearest_centroid_accuracy(feats, labels):
    """Fit class centroids on even samples, classify odd ones."""
    tr, te = np.arange(0, len(labels), 2), np.arange(1, len(labels), 2)
    cats = np.unique(labels[tr])
    cent = np.stack([feats[tr][labels[tr] == c].mean(axis=0) for c in cats])
    pred = cats[np.argmin(((feats[te][:, None] - cent[None]) ** 2).sum(-1), axis=1)]
    return (pred == labels[te]).mean()


def test_faces_skin_tone_drives_cheeks():
    images, f = synthetic("faces", 200, 64, seed=1)
    cheeks = (_region_mean(images, -0.42, -0.26, 0.10, 0.24) + _region_mean(images, 0.26, 0.42, 0.10, 0.24)) / 2
    lum = cheeks @ np.array([0.299, 0.587, 0.114])
    r = np.corrcoef(lum, f["skin_tone"])[0, 1]
    assert r < -0.85, f"cheek brightness should fall with skin_tone (r = {r:.2f})"


def test_faces_hair_color_drives_hair():
    images, f = synthetic("faces", 300, 64, seed=2)
    top = _region_mean(images, -0.15, 0.15, -0.72, -0.58)
    acc = _nearest_centroid_accuracy(top, f["hair_color"])
    assert acc > 0.6, f"hair colour is hard to tell from the top of the head (accuracy {acc:.2f}, chance 0.2)"


def test_faces_smile_drives_mouth():
    images, f = synthetic("faces", 300, 64, seed=3)
    s = images.shape[1]
    c = lambda v: int(round((v + 1) / 2 * s))  # noqa: E731
    mouth = images[:, c(0.30):c(0.50), c(-0.12):c(0.12)].astype(np.float32) @ np.float32([0.299, 0.587, 0.114])
    # a broad smile opens the mouth: teeth and a dark inside raise the contrast there
    contrast = mouth.reshape(len(images), -1).std(axis=1)
    r = np.corrcoef(contrast, f["smile"])[0, 1]
    assert r > 0.5, f"mouth contrast should grow with smile (r = {r:.2f})"


def test_eyes_iris_color_drives_iris():
    images, f = synthetic("eyes", 300, 64, seed=4)
    centre = _region_mean(images, -0.25, 0.25, -0.02, 0.22)
    acc = _nearest_centroid_accuracy(centre, f["iris_color"])
    assert acc > 0.5, f"iris colour is hard to tell from the eye's centre (accuracy {acc:.2f}, chance 0.2)"
    blue, brown = FACTORS["eyes"]["iris_color"].index("blue"), FACTORS["eyes"]["iris_color"].index("brown")
    b_minus_r = centre[:, 2] - centre[:, 0]
    assert b_minus_r[f["iris_color"] == blue].mean() > b_minus_r[f["iris_color"] == brown].mean() + 10


def test_eyes_openness_shows_more_eye():
    images, f = synthetic("eyes", 200, 64, seed=5)
    # the open eye shows bright sclera: count near-white pixels
    bright = (images.min(axis=3) > 200).reshape(len(images), -1).mean(axis=1)
    r = np.corrcoef(bright, f["openness"])[0, 1]
    assert r > 0.4, f"more sclera should show when the eye is open (r = {r:.2f})"


def test_anime_hair_color_drives_hair():
    images, f = synthetic("anime", 300, 64, seed=6)
    top = _region_mean(images, -0.2, 0.2, -0.72, -0.55)
    acc = _nearest_centroid_accuracy(top, f["hair_color"])
    assert acc > 0.8, f"hair colour is hard to tell from the top of the head (accuracy {acc:.2f}, chance 0.125)"


def test_anime_eye_color_drives_eyes():
    images, f = synthetic("anime", 300, 64, seed=7)
    eyes = (_region_mean(images, -0.42, -0.18, 0.08, 0.28) + _region_mean(images, 0.18, 0.42, 0.08, 0.28)) / 2
    acc = _nearest_centroid_accuracy(eyes, f["eye_color"])
    assert acc > 0.5, f"eye colour is hard to tell from the eyes (accuracy {acc:.2f}, chance 0.17)"


@pytest.mark.parametrize("kind", KINDS)
def test_edges_are_antialiased(kind):
    """Across sharp edges (neighbours differing a lot) many middle pixels take in-between values."""
    images, _ = synthetic(kind, 16, 64, seed=8)
    v = images.astype(np.float32).mean(axis=3)
    a, m, c = v[:, :, :-2], v[:, :, 1:-1], v[:, :, 2:]
    step = np.abs(c - a)
    edge = step > 60
    lo, hi = np.minimum(a, c), np.maximum(a, c)
    between = (m > lo + 0.15 * step) & (m < hi - 0.15 * step)
    frac = between[edge].mean()
    assert edge.sum() > 100
    assert frac > 0.3, f"only {frac:.0%} of edge pixels are intermediate: edges look aliased"
    # not blocky (upscaled): equal neighbours are no likelier inside aligned 2-px cells than across them
    eq = (images[:, :, 1:] == images[:, :, :-1]).all(axis=3)
    inside, across = eq[:, :, 0::2].mean(), eq[:, :, 1::2].mean()
    assert inside - across < 0.05, f"pixels repeat in 2-px cells ({inside:.2f} vs {across:.2f})"


def test_import_is_cheap():
    # the package alone, as a top-level one (it imports only relatively): ganutils.data itself also loads PIL
    code = (
        f"import sys; sys.path.insert(0, {os.path.join(ROOT, 'ganutils', 'data')!r}); import procedural as p;"
        "heavy = ('tensorflow', 'keras', 'scipy', 'PIL', 'matplotlib');"
        "print(p.KINDS, sorted(k for k in heavy if k in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ROOT).stdout
    assert out.strip() == "('faces', 'eyes', 'anime') []"


# sha256 of synthetic(kind, 16, seed=0)'s images and of (kind, 16, 32, seed=3)'s, computed on the single-file
# procedural.py before it was split into one module per kind (issue 11): the split must not move a pixel.
RENDER_SHA256 = {
    "faces": ("c75259741bd397218c5288f3d6a20c04b247c64dea089fec6e045f2ff997d7c2",
              "638684f87f141baee955cca964a06e1c2c5381cb777583bdf49b8bf4ffdd49e0"),
    "eyes": ("601a28d72bb7d435f57668e997a76dc1580ad0366add260ae05c02f7d8b4a65c",
             "a5124b7e2f3629403ff497f793503d810a8d94647447e4b26ce1eba2b0de1661"),
    "anime": ("f6d98f54e0ca24aef356f8b759585f95c99d19e01d23ddcd38dcacd618e38e9d",
              "015d3a0e7a662a565e6aa964beeb6105296d771b4766c792d32da690c9ee9e5c"),
}
FACTORS_SHA256 = {
    "faces": "a4b0c774c7d345c051b7e31f417d6096f13fe5fdac58b66372c920374ad95c98",
    "eyes": "4687e1a51249dcc38f9a822783ad3a2bbe452a8da80c8bc507d66f4c27ec01d5",
    "anime": "cd356d6fdf532e75416b04eb21421139b069b354d7316e879a5e7a53596ed5ed",
}


@pytest.mark.parametrize("kind", ["faces", "eyes", "anime"])
def test_synthetic_renders_bit_identical_to_before_the_split(kind):
    images, factors = synthetic(kind, 16, seed=0)
    small, _ = synthetic(kind, 16, 32, seed=3)  # the 2x supersampled path
    assert (hashlib.sha256(images.tobytes()).hexdigest(), hashlib.sha256(small.tobytes()).hexdigest()) \
        == RENDER_SHA256[kind]
    table = repr(sorted((k, np.asarray(v).dtype.str, np.asarray(v).tobytes()) for k, v in factors.items()))
    assert hashlib.sha256(table.encode()).hexdigest() == FACTORS_SHA256[kind]


def test_synthetic_new_kind_is_one_new_file(tmp_path):
    """Issue 11: a kind is one module that registers its factors, parameters and renderer; nothing else
    changes. A copy of the package plus one file 'dots.py' gains the kind 'dots'."""
    import shutil

    import ganutils.data.procedural as proc

    shutil.copytree(os.path.dirname(proc.__file__), tmp_path / "kinds",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "kinds" / "dots.py").write_text(
        "import numpy as np\n"
        "from ._draw import _F, _circle, _cov, _paint, _col, _b\n"
        "from ._registry import register\n"
        "FACTORS = {'color': ['red', 'blue'], 'radius': None}\n"
        "def params(rng, m):\n"
        "    return {'color': rng.integers(0, 2, m), 'radius': rng.random(m, dtype=_F)}, {}\n"
        "def render(P, B, R):\n"
        "    g = (np.arange(R, dtype=_F) + 0.5) * _F(2.0 / R) - 1.0\n"
        "    x, y = g[None, None, :], g[None, :, None]\n"
        "    canvas = np.ones((3, B, R, R), _F)\n"
        "    rgb = np.where(P['color'][:, None] == 0, [[1.0, 0, 0]], [[0, 0, 1.0]])\n"
        "    _paint(canvas, _cov(_circle(x, y, _b(0.3 + 0.5 * P['radius'])), 2.0 / R), _col(rgb))\n"
        "    return canvas\n"
        "register('dots', factors=FACTORS, default_size=32, stream=99, params=params, render=render)\n")
    code = ("import sys, json; import numpy as np; sys.path.insert(0, sys.argv[1]); import kinds;"
            "images, factors = kinds.synthetic('dots', 4, seed=0);"
            "print(json.dumps([kinds.KINDS, kinds.DEFAULT_SIZE['dots'], list(images.shape),"
            " int(np.isin(images[:, 16, 16] @ [1, 256, 65536], [255, 255 * 65536]).sum()),"
            " factors['color'].tolist()]))")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    import json
    kinds, size, shape, pure_centres, colors = json.loads(out.stdout)
    assert kinds == ["faces", "eyes", "anime", "dots"] and size == 32 and shape == [4, 32, 32, 3]
    assert pure_centres == 4 and set(colors) <= {0, 1}
