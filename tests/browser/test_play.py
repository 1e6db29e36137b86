"""The Play page (book/play.md, issue 24) in headless Chromium: the shipped generators run by onnxruntime-web.

    python -m pytest tests/browser/test_play.py -q -s -p no:cacheprovider

Serves the built book as GitHub Pages would (plain files, no COOP/COEP headers, so WebAssembly runs
single-threaded) and asserts that

- for a fixed seed the page's canvases hold what the Python generator draws from the same latent
  vectors, within 2/255 per pixel, for every generator the book was built with;
- slerp written in JavaScript agrees with ``ganutils.latent.slerp``, the walk's endpoints are the two
  chosen samples, every direction slider and the truncation slider change the image, and the mean
  ‖z‖ shown is the one ``truncated_normal`` gives;
- it works at 1280 px and at 390 px, with the network beyond localhost blocked (onnxruntime-web and
  MathJax served with the book), and shows a static grid per generator with JavaScript off;
- the first load stays under 20 MB, and each further generator loads on demand in at most 5 MB.

The speed (time to interactive, milliseconds per 4x4 grid) is printed, never asserted.
"""

import base64
import functools
import http.server
import io
import json
import threading

import numpy as np
import pytest

from test_pages import WAIT_MATHJAX_JS, WIDTHS, browser, built_book  # noqa: F401  (fixtures)

MB = 2 ** 20
FIRST_LOAD_MAX = 20 * MB
NEXT_GENERATOR_MAX = 5 * MB
SEED = 7


class _Plain(http.server.SimpleHTTPRequestHandler):
    """The built book as plain files, as GitHub Pages serves it (no COOP/COEP, no rewriting)."""

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site(built_book):  # noqa: F811
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                            functools.partial(_Plain, directory=str(built_book)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def play_config(built_book):  # noqa: F811
    path = built_book / "_static" / "play" / "play.json"
    assert path.is_file(), "the book was built without the Play page's generators (_static/play)"
    config = json.loads(path.read_text())
    assert config["generators"], "play.json lists no generator"
    return config


@pytest.fixture()
def offline(browser):  # noqa: F811
    """Everything beyond localhost blocked (CDNs included)."""
    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["https://*", "http://*:443/*",
                                                                 "*cdn.jsdelivr.net*"]})
    browser.execute_cdp_cmd("Network.clearBrowserCache", {})
    yield browser
    browser.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})


WAIT_READY_JS = r"""
const done = arguments[arguments.length - 1];
const start = Date.now();
(function wait() {
  const p = window.ganPlay;
  if (p && p.state.error) return done("error: " + p.state.error);
  if (p && p.state.ready) return p.idle().then(() => done("ok"));
  if (Date.now() - start > 90000) return done("the Play page did not become ready in 90 s");
  setTimeout(wait, 50);
})();
"""

# Run JS (an async function body) and wait for the page to finish drawing.
DO_JS = r"""
const done = arguments[arguments.length - 1];
(async () => { %s })().then(() => ganPlay.idle()).then(() => done("ok"), (e) => done("error: " + e));
"""

LOADED_JS = r"""
const entries = performance.getEntriesByType("resource");
const nav = performance.getEntriesByType("navigation")[0];
return [entries.length, (nav ? nav.transferSize : 0),
        entries.map((e) => [e.name, e.transferSize || e.encodedBodySize])];
"""


def do(driver, body):
    state = driver.execute_async_script(DO_JS % body)
    assert state == "ok", state


def open_play(driver, url, width):
    w, h = WIDTHS[width]
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": w, "height": h, "deviceScaleFactor": 1, "mobile": w < 600})
    driver.get(f"{url}/book/play.html")
    state = driver.execute_async_script(WAIT_READY_JS)
    assert state == "ok", state


def canvas(driver, css, index=0):
    """The pixels of a canvas, uint8 [H, W, 3], read back through a lossless PNG."""
    url = driver.execute_script("return document.querySelectorAll(arguments[0])[arguments[1]]"
                                ".toDataURL('image/png')", css, index)
    from PIL import Image
    img = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    return np.asarray(img.convert("RGB"))


def differs(a, b):
    return int(np.abs(a.astype(int) - b.astype(int)).max())


def python_images(name, zs):
    from ganutils import pretrained
    from ganutils.viz import to_uint8
    z = np.asarray(zs, np.float32)
    return to_uint8(pretrained.load(name)(z, training=False).numpy())


def select_generator(driver, name):
    do(driver, f"""const s = document.getElementById("ganplay-generator");
        s.value = {json.dumps(name)}; s.dispatchEvent(new Event("change"));
        await new Promise((r) => {{ (function w() {{
          if (ganPlay.state.gen && ganPlay.state.gen.name === {json.dumps(name)} && ganPlay.state.grid.length)
            r(); else setTimeout(w, 20); }})(); }});""")


def test_canvas_equals_python_generator_and_loads_stay_small(site, browser, play_config):  # noqa: F811
    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd("Network.clearBrowserCache", {})
    open_play(browser, site, "1280px")
    count, nav_bytes, entries = browser.execute_script(LOADED_JS)
    first = nav_bytes + sum(size for _, size in entries)
    timings = browser.execute_script("return ganPlay.state.timings")
    default = browser.execute_script("return ganPlay.state.gen.name")
    print(f"\nPlay page: interactive {timings['ready']:.0f} ms after navigation (local server), "
          f"first load {first / MB:.2f} MB with {default} "
          f"({', '.join(n.rsplit('/', 1)[-1] for n, s in entries if s > MB)} over 1 MB)")
    assert first < FIRST_LOAD_MAX, entries
    assert not browser.execute_script("return crossOriginIsolated")
    assert browser.execute_script("return ort.env.wasm.numThreads") == 1
    names = [g["name"] for g in play_config["generators"]]
    assert sorted(browser.execute_script(
        "return Array.from(document.querySelectorAll('#ganplay-generator option'), o => o.value)")) \
        == sorted(names)
    for name in [default] + [n for n in names if n != default]:
        if name != default:
            select_generator(browser, name)
            now, _, entries = browser.execute_script(LOADED_JS)
            extra = sum(size for _, size in entries[count:])
            count = now
            print(f"{name}: loaded on demand, {extra / MB:.2f} MB")
            assert 0 < extra <= NEXT_GENERATOR_MAX
        do(browser, f"""const s = document.getElementById("ganplay-seed");
            s.value = "{SEED}"; s.dispatchEvent(new Event("change"));""")
        for _ in range(4):                          # a few grids, for the speed figure
            do(browser, "document.querySelector('.ganplay-controls button').click();")
        do(browser, f"""const s = document.getElementById("ganplay-seed");
            s.value = "{SEED}"; s.dispatchEvent(new Event("change"));""")
        zs = browser.execute_script("return ganPlay.state.grid.map((z) => Array.from(z))")
        assert len(zs) == 16
        expected = python_images(name, zs)
        got = np.stack([canvas(browser, ".ganplay-grid canvas", i) for i in range(16)])
        assert got.shape == expected.shape
        diff = differs(got, expected)
        grids = browser.execute_script("return ganPlay.state.timings.grids")[-6:]
        print(f"{name}: canvas vs Python max difference {diff}/255; "
              f"4x4 grid median {np.median(grids):.0f} ms (last 6: {', '.join(f'{g:.0f}' for g in grids)})")
        assert diff <= 2, f"{name}: the page's grid differs from the Python generator by {diff}/255"


def test_slerp_in_javascript_matches_ganutils(site, browser):  # noqa: F811
    from ganutils.latent import slerp
    open_play(browser, site, "1280px")
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(100), rng.standard_normal(100) * 2
    near = -a + 1e-9 * rng.standard_normal(100)
    cases = [(a, b), (a, 3 * a), (a, a), (a, -a), (a, near), (np.array([1.0, 0, 0]), np.array([-2.0, 0, 0]))]
    for x, y in cases:
        for t in (0.0, 0.3, 0.5, 1.0):
            js = np.array(browser.execute_script(
                "return Array.from(ganPlay.slerp(arguments[0], arguments[1], arguments[2]))",
                x.tolist(), y.tolist(), t))
            np.testing.assert_allclose(js, slerp(x, y, t), rtol=1e-5, atol=1e-5)
    error = browser.execute_script("try { ganPlay.slerp([0, 0], [1, 0], 0.5); return null; }"
                                   " catch (e) { return String(e); }")
    assert error and "non-zero" in error


@pytest.mark.parametrize("width", list(WIDTHS), ids=str)
def test_selecting_walking_and_sliders(site, browser, width):  # noqa: F811
    open_play(browser, site, width)
    grid = browser.find_elements("css selector", ".ganplay-grid canvas")
    assert len(grid) == 16
    # the widget fits the page: nothing wider than the window
    assert browser.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth + 1"), "page scrolls sideways"
    right = browser.execute_script("return document.getElementById('ganplay').getBoundingClientRect().right")
    assert right <= WIDTHS[width][0]
    assert grid[0].size["width"] >= 40
    # two clicked samples are the walk's ends
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", grid[2])
    grid[2].click()
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", grid[5])
    grid[5].click()
    browser.execute_async_script("ganPlay.idle().then(arguments[arguments.length - 1])")
    assert browser.execute_script("return [ganPlay.state.a, ganPlay.state.b]") == [2, 5]
    a, b = canvas(browser, ".ganplay-grid canvas", 2), canvas(browser, ".ganplay-grid canvas", 5)
    walk = """const w = document.getElementById("ganplay-walk"); w.value = "%s";
        w.dispatchEvent(new Event("input"));"""
    do(browser, walk % "0")
    assert differs(canvas(browser, "canvas.ganplay-big"), a) <= 2
    assert differs(canvas(browser, ".ganplay-strip canvas", 0), a) <= 2
    assert differs(canvas(browser, ".ganplay-strip canvas", 6), b) <= 2
    do(browser, walk % "1")
    assert differs(canvas(browser, "canvas.ganplay-big"), b) <= 2
    do(browser, walk % "0.5")
    half = canvas(browser, "canvas.ganplay-big")
    assert differs(half, a) > 2 and differs(half, b) > 2
    # every direction slider changes the image
    n = browser.execute_script("return ganPlay.state.gen.directions.length")
    assert n >= 1
    for k in range(n):
        before = canvas(browser, "canvas.ganplay-big")
        do(browser, f"""const s = document.querySelector('input[data-direction="{k}"]');
            s.value = s.max; s.dispatchEvent(new Event("input"));""")
        assert differs(canvas(browser, "canvas.ganplay-big"), before) > 2, f"direction {k + 1}"
        do(browser, f"""const s = document.querySelector('input[data-direction="{k}"]');
            s.value = "0"; s.dispatchEvent(new Event("input"));""")
    # truncation: the grid changes, every value within psi, and the mean |z| shown is truncated_normal's
    before = canvas(browser, ".ganplay-grid canvas", 0)
    do(browser, """const s = document.getElementById("ganplay-psi"); s.value = "0.5";
        s.dispatchEvent(new Event("input"));""")
    assert differs(canvas(browser, ".ganplay-grid canvas", 0), before) > 2
    zs = np.array(browser.execute_script("return ganPlay.state.grid.map((z) => Array.from(z))"))
    assert np.abs(zs).max() <= 0.5 + 1e-6
    from ganutils.latent import truncated_normal
    for psi in (0.5, 1.0, 2.0, None):
        shown = browser.execute_script("return ganPlay.meanNorm(arguments[0], arguments[1])", zs.shape[1], psi)
        numpy = np.linalg.norm(truncated_normal(20000, zs.shape[1], psi, seed=0), axis=1).mean()
        assert shown == pytest.approx(numpy, rel=5e-3), psi
    text = browser.find_element("css selector", ".ganplay-norm").text
    assert f"{browser.execute_script('return ganPlay.meanNorm(100, 0.5)'):.2f}" in text


def test_offline_single_threaded_and_mathjax_local(site, offline, play_config):
    open_play(offline, site, "phone")
    names = offline.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert all(n.startswith(site) for n in names), [n for n in names if not n.startswith(site)]
    assert offline.execute_script("return ort.env.wasm.numThreads") == 1
    assert not offline.find_elements("css selector", ".ganplay-note")     # no "from a CDN" note
    # a chapter's equations render from the book's own MathJax, the network blocked
    offline.get(f"{site}/notebooks/01_the_game.html")
    assert offline.execute_async_script(WAIT_MATHJAX_JS) == "ok"
    maths = offline.execute_script(
        "return [document.querySelectorAll('div.math').length,"
        " document.querySelectorAll('div.math mjx-container').length]")
    assert maths[0] > 0 and maths[0] == maths[1], maths


def test_without_javascript_a_static_grid_per_generator(site, browser, play_config):  # noqa: F811
    browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        browser.get(f"{site}/book/play.html")
        imgs = browser.find_elements("css selector", "figure.ganplay-static img")
        assert len(imgs) == len(play_config["generators"])
        for img in imgs:
            assert img.size["width"] > 0 and img.get_attribute("alt")
        assert not browser.find_elements("css selector", ".ganplay-grid canvas")
    finally:
        browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})
