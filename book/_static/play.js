/* The Play page (book/play.md): the shipped generators, run in the browser by onnxruntime-web.
 *
 * book/_ext/ganbook_play.py exports them at build time into _static/play/ (ONNX files and
 * play.json: sizes, latent dimension, SeFa directions with their names) and serves
 * onnxruntime-web's WebAssembly build from _static/vendor/ort/ (or a CDN without npm).
 * WebAssembly runs single-threaded: GitHub Pages sends no COOP/COEP headers.
 * window.ganPlay exposes the latent maths and the state to tests/browser/test_play.py. */
(function () {
  "use strict";
  const root = document.getElementById("ganplay");
  if (!root) return;

  // ---- Latent maths (slerp is tested against ganutils.latent.slerp) -------------------------

  function mulberry32(seed) {            // a small seeded uniform generator in [0, 1)
    let a = seed >>> 0;
    return function () {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  function normalSource(seed) {          // standard normal values (Box-Muller)
    const rand = mulberry32(seed);
    let spare = null;
    return function () {
      if (spare !== null) { const s = spare; spare = null; return s; }
      let u = 0;
      while (u === 0) u = rand();
      const r = Math.sqrt(-2 * Math.log(u)), a = 2 * Math.PI * rand();
      spare = r * Math.sin(a);
      return r * Math.cos(a);
    };
  }

  // n latent vectors of length dim, each value redrawn until |x| <= psi (null: no truncation),
  // as ganutils.latent.truncated_normal does (the same distribution, not the same numbers).
  function truncatedNormal(n, dim, psi, seed) {
    const normal = normalSource(seed), out = [];
    for (let i = 0; i < n; i++) {
      const z = new Float32Array(dim);
      for (let j = 0; j < dim; j++) {
        let x = normal();
        if (psi !== null) while (Math.abs(x) > psi) x = normal();
        z[j] = x;
      }
      out.push(z);
    }
    return out;
  }

  function erf(x) {                      // Abramowitz and Stegun 7.1.26, |error| < 1.5e-7
    const s = Math.sign(x), t = 1 / (1 + 0.3275911 * Math.abs(x));
    const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t
      + 0.254829592) * t * Math.exp(-x * x);
    return s * y;
  }

  // E|z| for z of dim values from a standard normal truncated to [-psi, psi]: sqrt(dim m2)
  // with the delta method's correction, m2 and m4 the truncated normal's 2nd and 4th moments.
  function meanNorm(dim, psi) {
    let m2 = 1, m4 = 3;
    if (psi !== null) {
      const phi = Math.exp(-psi * psi / 2) / Math.sqrt(2 * Math.PI), mass = erf(psi / Math.SQRT2);
      m2 = 1 - 2 * psi * phi / mass;
      m4 = 3 * m2 - 2 * psi * psi * psi * phi / mass;
    }
    return Math.sqrt(dim * m2) * (1 - (m4 - m2 * m2) / (8 * dim * m2 * m2));
  }

  const dot = (a, b) => { let s = 0; for (let i = 0; i < a.length; i++) s += a[i] * b[i]; return s; };

  // The point a fraction t of the way from a to b along the great circle, its norm interpolated
  // linearly: ganutils.latent.slerp, with its two special cases (same and opposite directions).
  function slerp(a, b, t) {
    const n = a.length;
    if (b.length !== n) throw new Error("a and b must be vectors of one length");
    const na = Math.sqrt(dot(a, a)), nb = Math.sqrt(dot(b, b));
    if (!(isFinite(na) && isFinite(nb))) throw new Error("slerp needs finite vectors");
    if (na === 0 || nb === 0) throw new Error("slerp needs non-zero vectors");
    const u = Array.from(a, (x) => x / na), w = Array.from(b, (x) => x / nb);
    const cos = Math.min(1, Math.max(-1, dot(u, w)));
    let v = w.map((x, i) => x - cos * u[i]);
    const sin = Math.sqrt(dot(v, v));
    let omega;
    if (sin > 1e-7) {
      omega = Math.atan2(sin, cos);
      v = v.map((x) => x / sin);
    } else if (cos > 0) {
      omega = 0;
      v = v.map(() => 0);
    } else {
      if (n < 2) throw new Error("slerp of opposite vectors in one dimension");
      let k = 0;
      for (let i = 1; i < n; i++) if (Math.abs(u[i]) < Math.abs(u[k])) k = i;
      v = u.map((x) => -u[k] * x);
      v[k] += 1;
      const d = dot(v, u);
      v = v.map((x, i) => x - d * u[i]);
      const nv = Math.sqrt(dot(v, v));
      v = v.map((x) => x / nv);
      omega = Math.PI;
    }
    const c = Math.cos(t * omega), s = Math.sin(t * omega), r = (1 - t) * na + t * nb;
    return Float32Array.from(u, (x, i) => (c * x + s * v[i]) * r);
  }

  // ---- Page ---------------------------------------------------------------------------------

  const PSI_OFF = 3.2;
  const STRIP = 7;
  const el = (tag, attrs, ...kids) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") e.textContent = v; else e.setAttribute(k, v);
    }
    for (const k of kids) e.append(k);
    return e;
  };
  const abs = (rel) => new URL(rel, document.baseURI).href;
  const playBase = abs(root.dataset.play), ortBase = abs(root.dataset.ort);

  const state = {
    config: null, gen: null, session: null, sessions: new Map(), seed: 0, psi: null,
    grid: [], a: 0, b: null, za: null, zb: null, t: 0, alphas: [], ready: false,
    timings: { ready: null, grids: [], loads: {} }, error: null,
  };

  const ui = {};
  function buildUI() {
    ui.select = el("select", { id: "ganplay-generator" });
    ui.seed = el("input", { id: "ganplay-seed", type: "number", min: "0", step: "1", value: "0" });
    ui.next = el("button", { type: "button", text: "New grid" });
    ui.psi = el("input", { id: "ganplay-psi", type: "range", min: "0.2", max: String(PSI_OFF),
      step: "0.05", value: String(PSI_OFF) });
    ui.psiOut = el("output", { for: "ganplay-psi" });
    ui.norm = el("span", { class: "ganplay-norm" });
    ui.gridBox = el("div", { class: "ganplay-grid", role: "group",
      "aria-label": "16 samples: click one to select it" });
    ui.big = el("canvas", { class: "ganplay-big", role: "img", "aria-label": "the selected sample" });
    ui.which = el("p", { class: "ganplay-which" });
    ui.walk = el("input", { id: "ganplay-walk", type: "range", min: "0", max: "1", step: "0.01",
      value: "0", disabled: "" });
    ui.walkOut = el("output", { for: "ganplay-walk", text: "t = 0" });
    ui.strip = el("div", { class: "ganplay-strip" });
    ui.stripCanvases = [];
    for (let i = 0; i < STRIP; i++) {
      const c = el("canvas", { role: "img", "aria-label": `walk step ${i + 1} of ${STRIP}` });
      ui.stripCanvases.push(c);
      ui.strip.append(c);
    }
    ui.dirs = el("div", { class: "ganplay-dirs" });
    ui.reset = el("button", { type: "button", text: "Reset directions" });
    ui.status = el("p", { class: "ganplay-status", "aria-live": "polite", text: "Loading…" });
    ui.card = el("p", { class: "ganplay-card" });
    const controls = el("div", { class: "ganplay-controls" },
      el("label", {}, "Generator ", ui.select),
      el("label", {}, "Seed ", ui.seed), ui.next,
      el("label", { class: "ganplay-wide" }, "Truncation ψ ", ui.psi, " ", ui.psiOut),
      ui.norm);
    const edit = el("div", { class: "ganplay-edit" },
      el("div", { class: "ganplay-view" }, ui.big, ui.which),
      el("div", { class: "ganplay-sliders" },
        el("label", { class: "ganplay-wide" }, "Walk A → B (slerp) ", ui.walk, " ", ui.walkOut),
        ui.strip, el("p", { class: "ganplay-sub", text: "Directions (SeFa)" }), ui.dirs, ui.reset));
    root.append(controls, ui.gridBox, edit, ui.status, ui.card);
  }

  function setStatus(text) { ui.status.textContent = text; }

  function sizeCanvas(c, s) { if (c.width !== s) { c.width = s; c.height = s; } }

  // images: float32 [n, S, S, 3] in [-1, 1] -> canvas pixels, as ganutils.viz.to_uint8 rounds
  function draw(canvas, data, index, s) {
    sizeCanvas(canvas, s);
    const ctx = canvas.getContext("2d");
    const img = ctx.createImageData(s, s), px = img.data, off = index * s * s * 3;
    for (let p = 0; p < s * s; p++) {
      for (let c = 0; c < 3; c++) {
        const v = Math.round((data[off + 3 * p + c] + 1) * 127.5);
        px[4 * p + c] = v < 0 ? 0 : v > 255 ? 255 : v;
      }
      px[4 * p + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
  }

  let queue = Promise.resolve();
  function exclusive(fn) {              // one session.run at a time
    const p = queue.then(fn);
    queue = p.catch(() => {});
    return p;
  }

  async function generate(zs) {
    const g = state.gen, d = g.latent_dim, data = new Float32Array(zs.length * d);
    zs.forEach((z, i) => data.set(z, i * d));
    const feeds = {};
    feeds[state.session.inputNames[0]] = new ort.Tensor("float32", data, [zs.length, d]);
    const out = await state.session.run(feeds);
    return out[state.session.outputNames[0]].data;
  }

  function drawGrid() {
    return exclusive(async () => {
      const t0 = performance.now();
      state.grid = truncatedNormal(16, state.gen.latent_dim, state.psi, state.seed);
      const images = await generate(state.grid);
      const s = state.gen.size;
      state.gridCanvases.forEach((c, i) => draw(c, images, i, s));
      state.timings.grids.push(performance.now() - t0);
    }).then(() => select(0, true));
  }

  function edited() {                    // the selected sample, walked and moved along directions
    const base = state.zb ? slerp(state.za, state.zb, state.t) : Float32Array.from(state.za);
    state.gen.directions.forEach((d, k) => {
      const a = state.alphas[k];
      if (a) for (let i = 0; i < base.length; i++) base[i] += a * d.vector[i];
    });
    return base;
  }

  let dirty = false, rendering = null;
  function renderEdit() {                // coalesces slider events: one render in flight
    dirty = true;
    if (rendering) return rendering;
    rendering = (async () => {
      while (dirty) {
        dirty = false;
        await exclusive(async () => {
          const zs = [edited()];
          if (state.zb) for (let i = 0; i < STRIP; i++) zs.push(slerp(state.za, state.zb, i / (STRIP - 1)));
          const images = await generate(zs);
          const s = state.gen.size;
          draw(ui.big, images, 0, s);
          ui.stripCanvases.forEach((c, i) => { if (state.zb) draw(c, images, i + 1, s); });
        });
      }
      rendering = null;
    })();
    return rendering;
  }

  function select(i, fresh) {
    if (fresh) { state.a = i; state.b = null; }
    else if (i !== state.b) { state.a = state.b === null ? state.a : state.b; state.b = i; }
    if (state.a === state.b) state.b = null;
    state.za = Float32Array.from(state.grid[state.a]);
    state.zb = state.b === null ? null : Float32Array.from(state.grid[state.b]);
    state.gridCanvases.forEach((c, k) => {
      c.classList.toggle("ganplay-a", k === state.a);
      c.classList.toggle("ganplay-b", k === state.b);
    });
    if (state.zb) ui.walk.removeAttribute("disabled"); else ui.walk.setAttribute("disabled", "");
    ui.strip.hidden = !state.zb;
    ui.which.textContent = state.zb
      ? `A = sample ${state.a + 1}, B = sample ${state.b + 1}: walk t = ${state.t.toFixed(2)}`
      : `Sample ${state.a + 1}. Click another sample to walk to it.`;
    return renderEdit();
  }

  function buildDirections() {
    ui.dirs.replaceChildren();
    state.alphas = state.gen.directions.map(() => 0);
    ui.dirSliders = state.gen.directions.map((d, k) => {
      const input = el("input", { type: "range", min: String(-state.config.alpha),
        max: String(state.config.alpha), step: "0.1", value: "0", "data-direction": String(k) });
      const out = el("output", { text: "0" });
      const label = d.name.startsWith("direction") ? d.name : `${d.name} (r = ${d.r.toFixed(2)})`;
      input.addEventListener("input", () => {
        state.alphas[k] = parseFloat(input.value);
        out.textContent = input.value;
        renderEdit();
      });
      ui.dirs.append(el("label", { class: "ganplay-wide", title:
        `SeFa direction ${k + 1}; best statistic: ${d.statistic}, |r| = ${d.r}` },
        label + " ", input, " ", out));
      return input;
    });
  }

  function buildGrid() {
    ui.gridBox.replaceChildren();
    state.gridCanvases = [];
    for (let i = 0; i < 16; i++) {
      const c = el("canvas", { role: "img", tabindex: "0", "aria-label": `sample ${i + 1}` });
      c.addEventListener("click", () => select(i, false));
      c.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") select(i, false); });
      state.gridCanvases.push(c);
      ui.gridBox.append(c);
    }
  }

  function showPsi() {
    const p = state.psi;
    ui.psiOut.textContent = p === null ? "off" : p.toFixed(2);
    const d = state.gen ? state.gen.latent_dim : 100;
    ui.norm.textContent = `mean ‖z‖ ≈ ${meanNorm(d, p).toFixed(2)} (no truncation: ${meanNorm(d, null).toFixed(2)})`;
  }

  async function useGenerator(name) {
    const g = state.config.generators.find((x) => x.name === name);
    setStatus(`Loading ${name} (${(g.bytes / 2 ** 20).toFixed(1)} MB)…`);
    let session = state.sessions.get(name);
    if (!session) {
      const t0 = performance.now();
      const bytes = await (await fetch(playBase + g.file)).arrayBuffer();
      session = await ort.InferenceSession.create(new Uint8Array(bytes),
        { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
      state.sessions.set(name, session);
      state.timings.loads[name] = performance.now() - t0;
    }
    await queue;
    state.gen = g;
    state.session = session;
    buildDirections();
    ui.card.textContent = g.description;
    showPsi();
    await drawGrid();
    const grids = state.timings.grids;
    setStatus(`${name}: ${g.size}×${g.size} images, ${(g.bytes / 2 ** 20).toFixed(1)} MB, loaded in ` +
      `${Math.round(state.timings.loads[name])} ms; last 4×4 grid in ` +
      `${Math.round(grids[grids.length - 1])} ms (WebAssembly, ${ort.env.wasm.numThreads} thread).`);
  }

  function loadScript(src) {
    return new Promise((resolve, reject) => {
      const s = el("script", { src });
      s.onload = resolve;
      s.onerror = () => reject(new Error(`could not load ${src}`));
      document.head.append(s);
    });
  }

  async function start() {
    buildUI();
    buildGrid();
    try {
      const [config] = await Promise.all([
        fetch(playBase + "play.json").then((r) => {
          if (!r.ok) throw new Error(`play.json: HTTP ${r.status}`);
          return r.json();
        }),
        loadScript(ortBase + "ort.wasm.min.js"),
      ]);
      state.config = config;
      if (!config.generators.length) throw new Error("no generators were exported with this book");
      ort.env.wasm.wasmPaths = ortBase;
      ort.env.wasm.numThreads = 1;       // no COOP/COEP on GitHub Pages: single-threaded
      ort.env.wasm.proxy = false;
      for (const g of config.generators) {
        ui.select.append(el("option", { value: g.name,
          text: `${g.name} (${g.size}×${g.size}, ${(g.bytes / 2 ** 20).toFixed(1)} MB)` }));
      }
      const first = config.generators.reduce((a, b) => (b.bytes < a.bytes ? b : a));
      ui.select.value = first.name;
      ui.select.addEventListener("change", () => useGenerator(ui.select.value).catch(fail));
      ui.seed.addEventListener("change", () => {
        state.seed = Math.max(0, parseInt(ui.seed.value, 10) || 0);
        drawGrid().catch(fail);
      });
      ui.next.addEventListener("click", () => {
        state.seed += 1;
        ui.seed.value = String(state.seed);
        drawGrid().catch(fail);
      });
      ui.psi.addEventListener("input", () => {
        const v = parseFloat(ui.psi.value);
        state.psi = v >= PSI_OFF ? null : v;
        showPsi();
        drawGrid().catch(fail);
      });
      ui.walk.addEventListener("input", () => {
        state.t = parseFloat(ui.walk.value);
        ui.walkOut.textContent = `t = ${state.t.toFixed(2)}`;
        ui.which.textContent = `A = sample ${state.a + 1}, B = sample ${state.b + 1}: walk t = ${state.t.toFixed(2)}`;
        renderEdit();
      });
      ui.reset.addEventListener("click", () => {
        ui.dirSliders.forEach((s) => { s.value = "0"; s.nextSibling.nextSibling.textContent = "0"; });
        state.alphas = state.alphas.map(() => 0);
        renderEdit();
      });
      await useGenerator(first.name);
      state.timings.ready = performance.now();
      state.ready = true;
      root.classList.add("ganplay-ready");
    } catch (e) {
      fail(e);
    }
  }

  function fail(e) {
    state.error = String(e && e.message ? e.message : e);
    setStatus(`The generators could not run here: ${state.error}`);
    root.classList.add("ganplay-failed");
  }

  // Resolves when every requested image is drawn (for tests and for readers' scripts).
  async function idle() {
    for (;;) {
      const r = rendering;
      await queue;
      if (r) await r;
      if (!rendering && !dirty) { await queue; if (!rendering && !dirty) return; }
    }
  }

  window.ganPlay = { slerp, truncatedNormal, meanNorm, state, idle, useGenerator };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
