"""The built book, read in a real browser: every page at 1280 px and at a phone's 390 px.

    python -m pytest tests/browser -q -p no:cacheprovider

Builds the book (``jupyter-book build . -W -n --keep-going``) unless ``_build/html`` is
newer than every source, serves it on localhost and opens every page of ``_toc.yml`` in
headless Chromium (Debian's ``chromium`` and ``chromium-driver``, driven by selenium; no
browser is downloaded). A page fails where

- a code block is wider than the column at 1280 px (code lines fit in 80 characters),
  or at any width runs out of its column or is cut off without a scrollbar (a cell's
  *output* may scroll: wide tables are allowed to);
- a display equation is wider than the column at 1280 px, or is cut off without a
  scrollbar at phone width, or MathJax did not render it;
- a table or a figure runs out of the column without a scrollbar;
- an image is broken, wider than the column, has no alt text or a file name as alt
  text, or is not in a figure with a caption;
- the page shows a traceback, a Sphinx error box, or a warning that ``ALLOWED_WARNINGS``
  does not name.

MathJax is served from a local copy of the npm package ``mathjax@3`` (``.ci/run`` unpacks
it into ``_build/mathjax``; the fixture runs ``npm pack mathjax@3`` if it is missing), so
the test needs no network. A screenshot of the top of every chapter at 1280 px goes to
``$GANBOOK_SCREENS`` (default ``/tmp/screens``); with ``GANBOOK_SCREENS_ALL=1`` one per
screenful, to read the pages as a student would.
"""

import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import tarfile
import threading
from pathlib import Path

import pytest
import yaml

INSTALL = ("pip install -r tests/browser/requirements.txt; apt-get install -y chromium chromium-driver npm "
           "(.ci/run does both)")


def _missing(what):
    """Skip the browser test where its tools are missing (`pytest tests` on a reader's machine); under CI
    (CI=true, as .ci/run runs) a missing tool fails instead: CI installs them, so none may be skipped."""
    message = f"the browser test needs {what}: {INSTALL}"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message, allow_module_level=True)


try:
    import selenium  # noqa: F401  (the client; the browser is Debian's chromium)
except ImportError:
    _missing("selenium")

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"
MATHJAX = ROOT / "_build" / "mathjax"          # the npm package's es5/ folder
MATHJAX_CDN = "https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"
SCREENS = Path(os.environ.get("GANBOOK_SCREENS", "/tmp/screens"))
WIDTHS = {"1280px": (1280, 900), "phone": (390, 844)}

#: Warnings a page shows on purpose: page -> regular expressions, each matched against
#: one output line that looks like a warning or an error.
ALLOWED_WARNINGS = {
    # Chapter 5 prints the one warning Keras 3 gives when a frozen discriminator's
    # train_on_batch is traced: the chapter is about that warning.
    "notebooks/05_anime64": [r"The model does not have any trainable weights"],
    # Chapter 7 prints why FID was not computed where the book was built (no network to fetch
    # InceptionV3's weights); the chapter says FID needs one (Colab has one).
    "notebooks/07_evaluation": [r"download failed here: DownloadError", r"URLError: <urlopen error"],
}


def toc_pages():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"]]
    for part in toc.get("parts", []):
        pages += [c["file"] for c in part.get("chapters", [])]
    return pages


PAGES = toc_pages()


def _sources_mtime():
    files = [ROOT / "_config.yml", ROOT / "_toc.yml"]
    files += list((ROOT / "notebooks").glob("*.ipynb")) + list((ROOT / "book").rglob("*"))
    return max(f.stat().st_mtime for f in files if f.is_file())


@pytest.fixture(scope="session")
def built_book():
    index = HTML / "index.html"
    if os.environ.get("GANBOOK_REBUILD") or not index.exists() or index.stat().st_mtime < _sources_mtime():
        exe = shutil.which("jupyter-book") or str(Path(sys.executable).parent / "jupyter-book")
        done = subprocess.run([exe, "build", str(ROOT), "-W", "-n", "--keep-going"],
                              capture_output=True, text=True)
        assert done.returncode == 0, f"the book build failed or warned:\n{done.stdout[-4000:]}{done.stderr[-4000:]}"
    return HTML


@pytest.fixture(scope="session")
def mathjax():
    """Path of MathJax 3's tex-mml-chtml.js, unpacked from the npm package if missing."""
    script = MATHJAX / "tex-mml-chtml.js"
    if not script.exists():
        npm = shutil.which("npm")
        assert npm, "MathJax 3 is needed offline: install npm (apt-get install npm) or run .ci/run"
        MATHJAX.mkdir(parents=True, exist_ok=True)
        packed = subprocess.run([npm, "pack", "mathjax@3", "--silent"], cwd=MATHJAX,
                                capture_output=True, text=True)
        assert packed.returncode == 0, f"npm pack mathjax@3 failed: {packed.stderr[-2000:]}"
        tgz = MATHJAX / packed.stdout.strip().splitlines()[-1]
        with tarfile.open(tgz) as tar:
            members = [m for m in tar.getmembers() if m.name.startswith("package/es5/")]
            for m in members:
                m.name = m.name.removeprefix("package/es5/")
            tar.extractall(MATHJAX, members=members, filter="data")
        tgz.unlink()
    assert script.exists(), f"no MathJax at {script}"
    return MATHJAX


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves the book; its pages load MathJax from the local copy instead of the CDN."""

    mathjax_dir = None

    def log_message(self, *args):
        pass

    def do_GET(self):
        path = self.path.split("?")[0]
        if path.startswith("/_mathjax/"):
            file = self.mathjax_dir / path.removeprefix("/_mathjax/")
            return self._send(file.read_bytes() if file.is_file() else None, self.guess_type(str(file)))
        if path.endswith(".html"):
            file = Path(self.translate_path(path))
            if file.is_file():
                text = file.read_text(encoding="utf-8").replace(MATHJAX_CDN, "/_mathjax/tex-mml-chtml.js")
                return self._send(text.encode("utf-8"), "text/html; charset=utf-8")
        return super().do_GET()

    def _send(self, body, ctype):
        if body is None:
            return self.send_error(404)
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="session")
def server(built_book, mathjax):
    handler = type("Handler", (_Handler,), {"mathjax_dir": mathjax})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                            functools.partial(handler, directory=str(built_book)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="session")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    # Debian's chromium (.ci/run installs it); on a GitHub runner, its preinstalled Chrome.
    browsers = ("chromium", "chromium-browser", "google-chrome")
    chromium = next((shutil.which(b) for b in browsers if shutil.which(b)), None)
    driver_exe = shutil.which("chromedriver")
    if not (chromium and driver_exe):
        _missing("headless Chromium (chromium and chromedriver)")
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,900", "--force-device-scale-factor=1"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=driver_exe), options=opts)
    driver.set_page_load_timeout(120)
    driver.set_script_timeout(120)
    yield driver
    driver.quit()


# One script measures the page; it returns a list of problems, each one line.
CHECK_JS = r"""
const desktop = arguments[0];
const problems = [];
const column = document.querySelector("article.bd-article") || document.querySelector("main");
if (!column) return ["no article column found"];
const col = column.getBoundingClientRect();
const where = (el) => {
  const sec = el.closest("section");
  const h = sec && sec.querySelector("h1, h2, h3");
  return (h ? "in '" + h.textContent.replace(/[#¶]/g, "").trim().slice(0, 50) + "'" : "");
};
const scrolls = (el) => ["auto", "scroll"].includes(getComputedStyle(el).overflowX);
const scrollableAncestor = (el, stop) => {
  for (let a = el; a && a !== stop.parentElement; a = a.parentElement) {
    if (scrolls(a) && a.scrollWidth > a.clientWidth + 1) return a;
  }
  return null;
};
const outOfColumn = (el) => {
  const r = el.getBoundingClientRect();
  return r.width > 0 && (r.right > col.right + 1 || r.left < col.left - 1);
};

// Code blocks.
for (const pre of column.querySelectorAll("pre")) {
  if (pre.closest(".MathJax, mjx-container")) continue;
  const isOutput = !!pre.closest(".cell_output");
  const wide = pre.scrollWidth > pre.clientWidth + 1;
  const first = (pre.textContent.split("\n").find((l) => l.length > 80) || pre.textContent).slice(0, 60);
  if (outOfColumn(pre)) problems.push("code block runs out of the column " + where(pre) + ": " + first);
  else if (wide && !scrolls(pre)) problems.push("code block cut off without a scrollbar " + where(pre) + ": " + first);
  else if (wide && desktop && !isOutput)
    problems.push("code wider than the column at 1280 px " + where(pre) + ": " + first);
}

// Display equations.
for (const box of column.querySelectorAll("div.math")) {
  const mjx = box.querySelector("mjx-container");
  if (!mjx) { problems.push("equation not rendered by MathJax " + where(box) + ": " + box.textContent.trim().slice(0, 60)); continue; }
  const math = mjx.querySelector("mjx-math") || mjx;
  const mw = math.getBoundingClientRect().width;
  const tex = box.getAttribute("data-tex") || (mjx.getAttribute("aria-label") || "").slice(0, 60) || box.id;
  if (mw > col.width + 1 || mw > box.clientWidth + 1) {
    if (desktop) problems.push("equation wider than the column at 1280 px " + where(box) + " (" + Math.round(mw) + " px > " + Math.round(Math.min(col.width, box.clientWidth)) + " px)");
    else if (!scrollableAncestor(math, box)) problems.push("equation cut off without a scrollbar " + where(box));
  }
  if (outOfColumn(box)) problems.push("equation box runs out of the column " + where(box));
}

// Tables.
for (const table of column.querySelectorAll("table")) {
  if (table.getBoundingClientRect().right > col.right + 1 && !scrollableAncestor(table, column))
    problems.push("table runs out of the column without a scrollbar " + where(table));
}

// Images and figures.
for (const img of column.querySelectorAll("img")) {
  const src = (img.getAttribute("src") || "").slice(0, 60);
  if (!img.complete || img.naturalWidth === 0) { problems.push("broken image " + where(img) + ": " + src); continue; }
  const r = img.getBoundingClientRect();
  if (r.width > col.width + 1 || outOfColumn(img)) problems.push("image wider than the column " + where(img) + ": " + src);
  const alt = (img.getAttribute("alt") || "").trim();
  if (!alt) problems.push("image without alt text " + where(img) + ": " + src);
  else if (/\.(png|jpe?g|gif|svg|webp)$/i.test(alt) || /^[\w.\/-]+$/.test(alt)) problems.push("alt text is a file name " + where(img) + ": " + alt);
  const fig = img.closest("figure");
  const cap = fig && fig.querySelector("figcaption");
  if (!cap || !cap.textContent.trim()) problems.push("image not in a figure with a caption " + where(img) + ": " + (alt || src));
}

// Tracebacks, error boxes and warnings.
for (const el of column.querySelectorAll(".system-message, .output.traceback, .output.error"))
  problems.push("error shown on the page " + where(el) + ": " + el.textContent.trim().slice(0, 80));
const warnings = [];
for (const out of column.querySelectorAll(".cell_output")) {
  for (const line of out.textContent.split("\n")) {
    if (/Traceback \(most recent call last\)|\b[A-Z]\w*(Warning|Error)\b|\bwarnings?:|\bWARNING\b|^[EW]\d{4} /.test(line))
      warnings.push(line.trim().slice(0, 200));
  }
}
return [problems, warnings];
"""

WAIT_MATHJAX_JS = r"""
const done = arguments[arguments.length - 1];
const start = Date.now();
(function wait() {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    MathJax.startup.promise.then(() => done("ok"), (e) => done("MathJax failed: " + e));
  } else if (!document.querySelector("div.math, span.math")) {
    done("ok");
  } else if (Date.now() - start > 60000) {
    done("MathJax did not load");
  } else {
    setTimeout(wait, 100);
  }
})();
"""

WAIT_IMAGES_JS = r"""
const done = arguments[arguments.length - 1];
const imgs = Array.from(document.images);
Promise.all(imgs.map((img) => img.complete ? null : new Promise((r) => { img.onload = img.onerror = r; })))
  .then(() => done("ok"));
"""


def open_page(driver, url, width, height):
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1,
                            "mobile": width < 600})
    driver.get(url)
    state = driver.execute_async_script(WAIT_MATHJAX_JS)
    assert state == "ok", f"{url}: {state}"
    driver.execute_async_script(WAIT_IMAGES_JS)


def screenshots(driver, page, height):
    SCREENS.mkdir(parents=True, exist_ok=True)
    stem = page.replace("/", "_")
    driver.execute_script("window.scrollTo(0, 0)")
    driver.save_screenshot(str(SCREENS / f"{stem}_1280.png"))
    if os.environ.get("GANBOOK_SCREENS_ALL"):
        total = driver.execute_script("return document.documentElement.scrollHeight")
        for k, y in enumerate(range(0, total, height - 100)):
            driver.execute_script("window.scrollTo(0, arguments[0])", y)
            driver.save_screenshot(str(SCREENS / f"{stem}_1280_{k:02d}.png"))
        driver.execute_script("window.scrollTo(0, 0)")


@pytest.mark.parametrize("width", list(WIDTHS), ids=str)
@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.split("/")[-1])
def test_page_reads_well(page, width, server, browser):
    w, h = WIDTHS[width]
    open_page(browser, f"{server}/{page}.html", w, h)
    problems, warnings = browser.execute_script(CHECK_JS, w >= 1000)
    allowed = ALLOWED_WARNINGS.get(page, [])
    problems += [f"warning or error shown: {line}" for line in warnings
                 if not any(re.search(a, line) for a in allowed)]
    if w >= 1000 and page.startswith("notebooks/"):
        screenshots(browser, page, h)
    assert not problems, f"{page} at {width}:\n" + "\n".join(problems)


def test_allow_list_names_warnings_that_are_shown(server, browser):
    # An allowed warning that no longer appears is a stale entry: remove it.
    for page, patterns in ALLOWED_WARNINGS.items():
        open_page(browser, f"{server}/{page}.html", *WIDTHS["1280px"])
        _, warnings = browser.execute_script(CHECK_JS, True)
        for pattern in patterns:
            assert any(re.search(pattern, line) for line in warnings), f"{page}: {pattern!r} is not shown"


def test_checks_catch_what_they_should(server, browser, tmp_path):
    # The checks themselves: a page with each fault must report it.
    bad = """<html><head><script src="/_mathjax/tex-mml-chtml.js" defer></script></head><body>
    <main><article class="bd-article" style="width:600px">
    <section><h2>faults</h2>
    <pre style="overflow:hidden;width:300px">""" + "x" * 200 + """</pre>
    <img src="missing.png" alt="img/missing.png">
    <div class="cell_output"><pre>Traceback (most recent call last):</pre></div>
    <div class="math notranslate nohighlight" style="overflow:hidden">\\[""" + " + ".join(["x_{%d}" % i for i in range(80)]) + """\\]</div>
    </section></article></main></body></html>"""
    page = HTML / "_selftest_faults.html"
    page.write_text(bad, encoding="utf-8")
    try:
        open_page(browser, f"{server}/_selftest_faults.html", *WIDTHS["1280px"])
        problems, warnings = browser.execute_script(CHECK_JS, True)
    finally:
        page.unlink()
    text = "\n".join(problems)
    for expected in ("code block cut off without a scrollbar", "broken image",
                     "equation wider than the column"):
        assert expected in text, f"the check missed: {expected}\n{text}"
    assert any("Traceback" in w for w in warnings)
