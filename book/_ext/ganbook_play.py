"""The Play page's build step: the shipped generators for the browser, and the scripts served
locally.

When the book is built (HTML), this extension

- exports every generator ``ganutils.pretrained.available()`` lists as ONNX with its SeFa directions
  (``ganutils.pretrained.web``) and a static 4x4 grid for readers without JavaScript, into
  ``_build/play/<key>/`` (``key``: a hash of the package data and the exporting code, so a rebuild
  reuses it), then copies them to ``_static/play/`` with ``play.json`` describing them;
- copies the few files of npm's ``onnxruntime-web`` the page runs (the WebAssembly-only script, its
  loader and the SIMD ``.wasm``, run single-threaded: GitHub Pages sends no COOP/COEP headers) to
  ``_static/vendor/ort/``, and MathJax 3 (``tex-mml-chtml.js``, its TeX extensions and fonts) to
  ``_static/vendor/mathjax/``, where ``_config.yml``'s ``mathjax_path`` points: the book reads
  offline. The packages are fetched once with ``npm pack`` into ``_build/npm/`` and
  ``_build/mathjax/`` (the browser test's copy). Without npm both load from a CDN and the Play page
  says so.

The ``{ganplay}`` directive places the page's widget. Export errors are Sphinx warnings (``-W``
fails).
"""

import hashlib
import json
import shutil
import subprocess
import tarfile
from pathlib import Path

from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

ORT_VERSION = "1.22.0"
#: onnxruntime-web's files the page loads: the WebAssembly-only build, its loader, the SIMD binary.
ORT_FILES = ("ort.wasm.min.js", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
ORT_CDN = f"https://cdn.jsdelivr.net/npm/onnxruntime-web@{ORT_VERSION}/dist/"
#: MathJax 3's es5/ parts served: the combined script, TeX extensions, CommonHTML fonts, a11y.
MATHJAX_PARTS = ("tex-mml-chtml.js", "input/tex/extensions", "output/chtml/fonts", "a11y")
MATHJAX_CDN = "https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"
GRID_SEED = 0
DIRECTIONS = 5
_VERSION = "1"   # bump when the exported files change meaning


def _npm_pack(spec, dest):
    """Unpack npm package ``spec`` into ``dest`` (``package/...``); False without npm or network."""
    npm = shutil.which("npm")
    if not npm:
        return False
    dest.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run([npm, "pack", spec, "--silent"], cwd=dest, capture_output=True,
                              text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as e:
        logger.info(f"[ganplay] npm pack {spec} failed: {e}")
        return False
    if done.returncode != 0:
        logger.info(f"[ganplay] npm pack {spec} failed: {done.stderr.strip()[-500:]}")
        return False
    tgz = dest / done.stdout.strip().splitlines()[-1]
    with tarfile.open(tgz) as tar:
        tar.extractall(dest, filter="data")
    tgz.unlink()
    return True


def _fetch_ort(build):
    folder = build / "npm" / f"onnxruntime-web-{ORT_VERSION}"
    dist = folder / "package" / "dist"
    if not all((dist / f).is_file() for f in ORT_FILES):
        shutil.rmtree(folder, ignore_errors=True)
        if not _npm_pack(f"onnxruntime-web@{ORT_VERSION}", folder):
            return None
        for f in dist.iterdir():          # keep the three files: the package is 138 MB unpacked
            if f.name not in ORT_FILES:
                shutil.rmtree(f) if f.is_dir() else f.unlink()
    return dist if all((dist / f).is_file() for f in ORT_FILES) else None


def _fetch_mathjax(build):
    """MathJax 3's es5/ folder in ``_build/mathjax`` (where tests/browser/test_pages.py keeps
    it)."""
    es5 = build / "mathjax"
    if not (es5 / "tex-mml-chtml.js").is_file():
        tmp = build / "npm" / "mathjax3"
        shutil.rmtree(tmp, ignore_errors=True)
        if not _npm_pack("mathjax@3", tmp):
            return None
        shutil.rmtree(es5, ignore_errors=True)
        shutil.move(str(tmp / "package" / "es5"), str(es5))
        shutil.rmtree(tmp, ignore_errors=True)
    return es5


def _key():
    from ganutils import pretrained
    from ganutils.pretrained import web
    h = hashlib.sha256(_VERSION.encode())
    h.update(Path(web.__file__).read_bytes())
    h.update(Path(__file__).read_bytes())
    for name in pretrained.available():
        h.update(json.dumps(pretrained.card(name), sort_keys=True).encode())
        h.update((pretrained.HERE / pretrained.card(name)["file"]).read_bytes())
    return h.hexdigest()[:16]


def export_play(build):
    """The Play page's files for every shipped generator, in ``build/play/<key>/`` (reused if
    there)."""
    from ganutils import pretrained
    folder = build / "play" / _key()
    if (folder / "play.json").is_file():
        return folder
    import numpy as np
    from PIL import Image

    from ganutils import viz
    from ganutils.latent import truncated_normal
    from ganutils.pretrained import web
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    generators = []
    for name in pretrained.available():
        c = pretrained.card(name)
        info = web.export_onnx(name, tmp / f"{name}.onnx")
        g = pretrained.load(name)
        draw = lambda z, g=g: g(z, training=False).numpy()   # noqa: E731
        vectors, singular = web.sefa(g, DIRECTIONS)
        named = web.name_directions(draw, vectors)
        z = truncated_normal(16, c["latent_dim"], None, seed=GRID_SEED)
        picture = viz.upscale(viz.grid(draw(z), ncols=4, warn_positive=False), min_width=256)
        Image.fromarray(picture).save(tmp / f"{name}_grid.png", optimize=True)
        generators.append({
            "name": name, "file": f"{name}.onnx", "bytes": info["bytes"], "size": info["size"],
            "latent_dim": info["latent_dim"], "chapter": c.get("chapter"),
            "description": pretrained.describe(name), "grid": f"{name}_grid.png",
            "directions": [{"name": d["name"], "statistic": d["statistic"], "r": d["r"],
                            "singular_value": round(float(s), 4),
                            "vector": [round(float(x), 6) for x in np.asarray(d["vector"])]}
                           for d, s in zip(named, singular)]})
    (tmp / "play.json").write_text(json.dumps(
        {"alpha": web.ALPHA, "min_r": web.MIN_R, "grid_seed": GRID_SEED, "generators": generators}))
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    for old in folder.parent.iterdir():          # keep one export
        if old != folder:
            shutil.rmtree(old, ignore_errors=True)
    return folder


def _on_builder_inited(app):
    config = app.config
    build = Path(app.outdir).parent
    app.ganplay = {"ort": None, "mathjax": None, "play": None, "error": None}
    if app.builder.format != "html":
        return
    app.ganplay["ort"] = _fetch_ort(build)
    app.ganplay["mathjax"] = _fetch_mathjax(build)
    if not app.ganplay["mathjax"]:   # _config.yml's mathjax_path is the local copy: none here
        config.mathjax_path = MATHJAX_CDN
        logger.info("[ganplay] npm is not available: MathJax and onnxruntime-web load from a CDN")
    try:
        app.ganplay["play"] = export_play(build)
    except Exception as e:   # noqa: BLE001  (any failure is reported, and fails a -W build)
        app.ganplay["error"] = f"{type(e).__name__}: {e}"
        logger.warning(f"[ganplay] could not export the generators for the Play page: "
                       f"{app.ganplay['error']}")


def _outdated(app, env, added, changed, removed):
    # The widget reflects this build's generators and npm: reread its page every build.
    return [d for d in env.found_docs if d.split("/")[-1] == "play" and d not in added | changed]


def _copy(src, dst):
    if src.is_dir():
        shutil.copytree(src, dst, dirs_exist_ok=True)
    else:
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst)


def _on_finished(app, exception):
    state = getattr(app, "ganplay", None)
    if exception or not state or app.builder.format != "html":
        return
    static = Path(app.outdir) / "_static"
    if state["play"]:
        shutil.rmtree(static / "play", ignore_errors=True)
        _copy(state["play"], static / "play")
    if state["ort"]:
        for f in ORT_FILES:
            _copy(state["ort"] / f, static / "vendor" / "ort" / f)
    if state["mathjax"]:
        for part in MATHJAX_PARTS:
            if (state["mathjax"] / part).exists():
                _copy(state["mathjax"] / part, static / "vendor" / "mathjax" / part)


class PlayDirective(SphinxDirective):
    """``{ganplay}``: the Play page's widget (built by ``_static/play.js``), a static grid per
    generator for readers without JavaScript, and a note when the scripts come from a CDN."""

    has_content = False

    def run(self):
        import html as h
        state = getattr(self.env.app, "ganplay", None) or {}
        up = "../" * self.env.docname.count("/")
        static = f"{up}_static/"
        ort = f"{static}vendor/ort/" if state.get("ort") else ORT_CDN
        parts = [f'<div id="ganplay" class="ganplay" data-play="{static}play/" data-ort="{ort}">']
        if not state.get("ort"):
            parts.append('<p class="ganplay-note">This copy of the book loads onnxruntime-web and '
                         "MathJax from cdn.jsdelivr.net: npm was not available when it was built, "
                         "so the generators below need an internet connection.</p>")
        if state.get("error"):
            parts.append(f'<p class="ganplay-note">The generators could not be exported when this '
                         f"book was built: {h.escape(state['error'])}</p>")
        play = state.get("play")
        gens = json.loads((play / "play.json").read_text())["generators"] if play else []
        parts.append("<noscript>")
        for g in gens:
            parts.append(
                f'<figure class="ganplay-static"><img src="{static}play/{g["grid"]}" '
                f'alt="A 4 by 4 grid of {g["size"]} by {g["size"]} images drawn by the shipped '
                f'{g["name"]} generator from latent seed {GRID_SEED}"><figcaption>{g["name"]}: '
                f"16 samples from seed {GRID_SEED}. Turn JavaScript on to draw your own."
                "</figcaption></figure>")
        parts.append("</noscript></div>")
        parts.append(f'<link rel="stylesheet" href="{static}play.css">')
        parts.append(f'<script src="{static}play.js" defer></script>')
        return [nodes.raw("", "\n".join(parts), format="html")]


def setup(app):
    app.add_directive("ganplay", PlayDirective)
    app.connect("builder-inited", _on_builder_inited)
    app.connect("env-get-outdated", _outdated)
    app.connect("build-finished", _on_finished)
    return {"version": _VERSION, "parallel_read_safe": True, "parallel_write_safe": True}
