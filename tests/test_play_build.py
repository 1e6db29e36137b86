"""The Play page's build step (book/_ext/ganbook_play.py) on a machine without npm: the book still
builds, MathJax and onnxruntime-web come from a CDN and the page says so (issue 24). A two-page
Sphinx project, with the generators' export replaced by a stub (tests/test_onnx_export.py tests the
real one)."""

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))
ganbook_play = pytest.importorskip("ganbook_play")


def _build(tmp_path, monkeypatch, npm):
    from sphinx.application import Sphinx

    src = tmp_path / "src"
    (src / "book").mkdir(parents=True)
    (src / "conf.py").write_text("extensions = ['sphinx.ext.mathjax', 'ganbook_play']\n"
                                 "mathjax_path = 'vendor/mathjax/tex-mml-chtml.js'\n")
    (src / "index.rst").write_text("Index\n=====\n\n:math:`x^2`\n\n.. toctree::\n\n   book/play\n")
    (src / "book" / "play.rst").write_text("Play\n====\n\n.. ganplay::\n")

    def fake_export(build):
        folder = build / "play" / "stub"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "play.json").write_text(json.dumps({"generators": [
            {"name": "faces28", "size": 28, "grid": "faces28_grid.png"}]}))
        return folder

    monkeypatch.setattr(ganbook_play, "export_play", fake_export)
    if not npm:
        monkeypatch.setattr(ganbook_play.shutil, "which", lambda name: None)
    out = tmp_path / "_build" / "html"
    app = Sphinx(str(src), str(src), str(out), str(tmp_path / "_build" / "doctrees"), "html",
                 status=None, warning=None, freshenv=True)
    app.build()
    return out


def test_without_npm_the_page_loads_from_a_cdn_and_says_so(tmp_path, monkeypatch):
    out = _build(tmp_path, monkeypatch, npm=False)
    play = (out / "book" / "play.html").read_text()
    assert ganbook_play.ORT_CDN in play and "npm was not available" in play
    assert "cdn.jsdelivr.net/npm/mathjax@3" in (out / "index.html").read_text()
    assert not (out / "_static" / "vendor").exists()
    # without JavaScript: a static grid per generator, in a figure with alt text and a caption
    assert '<noscript><figure class="ganplay-static"><img src="../_static/play/faces28_grid.png"' \
        in play.replace("\n", "")
    assert (out / "_static" / "play" / "play.json").is_file()
