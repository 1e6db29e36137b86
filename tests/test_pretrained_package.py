"""The book's pretrained generators travel inside the built package (issue 12): a wheel is built, installed
into an empty folder, and every generator listed in the repository's manifest loads from there, draws images
in [-1, 1], and draws what the float32 generator drew when it was exported. With the book run's real
photographs beside the repository (``../shared/realdata``, as on CI), each generator's SWD against the
held-out images its chapter kept out of training stays within the figure on its data card."""

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = json.loads((ROOT / "ganutils" / "pretrained" / "manifest.json").read_text())
REALDATA = Path(os.environ.get("GANBOOK_REALDATA", ROOT.parent / "shared" / "realdata"))

#: How each chapter chose its held-out images (see the chapters' "Load" sections): the folder under the
#: real-data root, the crop, and the split (the first n of a fixed permutation, seed 0).
HELD_OUT = {
    "faces28": dict(folder="celeba", size=28, crop="celeba", n=1000),
    "anime64": dict(folder="anime", size=64, crop="center", n=1000),
    "eyes128": dict(folder="eyes", size=128, crop="center", n=None),
    # scripts/train_shipped.py (faces28, anime64, faces64): the first n of the same permutation
    "faces64": dict(folder="celeba", size=64, crop="center", n=1000),
}


def test_the_manifest_lists_one_generator_per_face_chapter():
    assert set(MANIFEST) == set(HELD_OUT)
    assert sum(c["bytes"] for c in MANIFEST.values()) <= 25 * 1024 * 1024   # all together
    for name, c in MANIFEST.items():
        assert c["bytes"] <= 5 * 1024 * 1024
        assert (ROOT / "ganutils" / "pretrained" / c["file"]).stat().st_size == c["bytes"]
        assert c["data"]["images"] > 0 and c["terms"] and c["floor"] < c["swd"]
        assert c["memorisation"]["ratio"] > 0 and "check" in c


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pkg")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp / "wheel"), str(ROOT)],
                   check=True, capture_output=True, timeout=600)
    (wheel,) = (tmp / "wheel").glob("ganutils-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(tmp / "site"),
                    str(wheel)], check=True, capture_output=True, timeout=600)
    return tmp / "site", names


def test_the_wheel_carries_the_weights_and_the_manifest(installed):
    _, names = installed
    assert "ganutils/pretrained/manifest.json" in names
    for c in MANIFEST.values():
        assert f"ganutils/pretrained/{c['file']}" in names


def test_the_installed_generators_load_and_draw_what_was_exported(installed, tmp_path):
    site, _ = installed
    code = """
import json
import ganutils.pretrained as p
out = {"file": p.__file__, "names": p.available(), "gens": {}}
for name in p.available():
    g = p.load(name)
    x = g(p.check_noise(p.card(name)["latent_dim"])[:8], training=False).numpy()
    out["gens"][name] = {"shape": list(x.shape), "min": float(x.min()), "max": float(x.max()),
                         "dtype": g.dtype_policy.compute_dtype, "fidelity": p.fidelity(name)}
print(json.dumps(out))
"""
    env = dict(os.environ, PYTHONPATH=str(site), TF_CPP_MIN_LOG_LEVEL="3")
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["file"].startswith(str(site))          # the installed copy, not the repository's
    assert out["names"] == sorted(MANIFEST)
    for name, r in out["gens"].items():
        size = HELD_OUT[name]["size"]
        assert r["shape"] == [8, size, size, 3] and r["dtype"] == "float32"
        assert -1 <= r["min"] < r["max"] <= 1
        assert r["fidelity"] < 0.01, name


@pytest.mark.skipif(not REALDATA.is_dir(), reason=f"the book run's real photographs are not at {REALDATA} "
                    "(they are beside the repository on CI and the book machine only)")
@pytest.mark.parametrize("name", sorted(HELD_OUT))
def test_each_generator_scores_its_card_s_swd_against_the_held_out_photos(name):
    from ganutils import latent, metrics, pretrained
    from ganutils.data import load_images
    how, c = HELD_OUT[name], pretrained.card(name)
    photos = load_images(str(REALDATA / how["folder"]), how["size"], crop=how["crop"])
    n = how["n"] or max(16, len(photos) // 10)
    held = photos[np.random.default_rng(0).permutation(len(photos))[:n]]
    assert len(held) == c["held_out_images"]
    g = pretrained.load(name)
    z = latent.truncated_normal(len(held), c["latent_dim"], None, seed=1)
    fake = np.concatenate([g(z[i:i + 250], training=False).numpy() for i in range(0, len(z), 250)])
    score = metrics.swd(held, fake)
    assert score <= 1.2 * c["swd"] + 2, (name, score, c["swd"])
    assert score > c["floor"]


def test_the_intro_gallery_shows_what_the_shipped_generators_draw():
    sys.path.insert(0, str(ROOT / "scripts"))
    import gallery
    from PIL import Image
    for name in sorted(MANIFEST):
        committed = np.asarray(Image.open(ROOT / "docs" / "img" / f"pretrained_{name}.png").convert("RGB"))
        drawn = gallery.draw(name)
        assert committed.shape == drawn.shape, name
        assert np.abs(committed.astype(int) - drawn.astype(int)).mean() < 1.0, name
    intro = (ROOT / "book" / "intro.md").read_text()
    for name in sorted(MANIFEST):   # every shipped generator is in the intro's gallery, large enough
        assert f"../docs/img/pretrained_{name}.png" in intro, f"book/intro.md does not show {name}"
        width = Image.open(ROOT / "docs" / "img" / f"pretrained_{name}.png").size[0]
        assert width / gallery.COLUMNS >= 96, (name, width)   # one sample >= 96 px at a 1280 px page


def test_the_intro_quotes_each_generator_s_card():
    """The intro's captions quote steps and scores: after a generator is retrained, they must say
    the new card's (an earlier caption kept 600 CPU-seconds and SWD 43.1 of a generator since
    replaced)."""
    intro = (ROOT / "book" / "intro.md").read_text()
    for name, c in MANIFEST.items():
        start = intro.index(f"../docs/img/pretrained_{name}.png")
        caption = " ".join(intro[start:intro.index("```", start)].split())
        assert f"{c['steps']:,} steps" in caption, (name, c["steps"])
        assert f"{c['swd']}" in caption or f"{c['swd']:.0f}" in caption, (name, c["swd"])
        assert f"{c['floor']}" in caption, (name, c["floor"])
        assert f"{c['data']['images']:,}" in caption, (name, c["data"]["images"])
