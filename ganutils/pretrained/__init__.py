"""Generators trained by the book run, shipped with ``ganutils``: sample the book's results at once.

Each face chapter's best generator (from its closing comparison, trained on real photographs on a
2-core CPU) is stored here as package data, so ``pip install git+...`` in Colab brings it along:

- ``available()``: the names, e.g. ``["anime64", "eyes128", "faces28"]``;
- ``card(name)``: its data card (recipe, width, steps, training CPU-seconds, the data's name, image
  count and terms, SWD ×1e3 against held-out photographs with the real-vs-real floor, and the
  nearest-neighbour memorisation check);
- ``load(name)``: the generator as a float32 Keras model: input latent vectors ``[B, latent_dim]``
  (float32, standard normal), output images float32 ``[B, S, S, 3]`` in [-1, 1], with BatchNorm in
  inference mode when called with ``training=False``.

The weights are stored in float16 (``<name>.npz``, at most 5 MB each) and loaded into the float32
model the recipe builds (``ganutils.models.build``); ``manifest.json`` lists them with their cards.
A weight tensor float16 cannot hold to within 2^-10 of its largest value (a value beyond float16's
65,504 would become inf; a tensor of values below ~6e-5 would lose its digits or flush to zero) is stored
in float32 instead; the card's ``float16`` entry names those tensors and gives the largest error of the
others. Raises ``KeyError`` (with the available names) for an unknown name.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

__all__ = ["available", "card", "describe", "load", "export", "fidelity", "check_noise", "MAX_BYTES"]

HERE = Path(__file__).resolve().parent
#: The largest weights file a generator may have (bytes): package data must stay small.
MAX_BYTES = 5 * 1024 * 1024
#: How many samples, from latent seed 0, the card's ``check`` statistics are computed on.
CHECK_SAMPLES = 256
#: A weight tensor is stored in float16 only if float16 holds each value to within this fraction of the
#: tensor's largest magnitude (float16 rounds to 2^-11 of a value in its normal range).
FLOAT16_TOLERANCE = 2.0 ** -10


def _folder(path):
    """A folder the reader named, ``~`` meaning their home folder."""
    return Path(os.path.expanduser(os.fspath(path)))


def _manifest(folder=None):
    path = _folder(folder or HERE) / "manifest.json"
    return json.loads(path.read_text()) if path.exists() else {}


def available():
    """The names of the pretrained generators shipped with this copy of ``ganutils``, sorted."""
    return sorted(_manifest())


def card(name):
    """The data card of generator ``name`` (a dict; see the module's docstring)."""
    m = _manifest()
    if name not in m:
        raise KeyError(f"no pretrained generator {name!r}; available: {', '.join(available()) or 'none'}")
    return dict(m[name])


def describe(name, width=80):
    """How generator ``name`` was trained and how it scored (from its card), as lines of at most
    ``width`` characters: recipe, width, steps, training CPU-minutes, precision and CPU where the card
    records them, the data, SWD ×1e3 against held-out photographs beside the real-vs-real floor, the
    checkerboard measure beside real images' where the card records it, and the terms the weights
    inherit. Raises ``KeyError`` for an unknown name."""
    import textwrap
    c = card(name)
    precision = "bfloat16" if c.get("mixed_precision") else "float32"
    cpu = f" on {c['cpu']}" if c.get("cpu") else ""
    text = (f"{name}: {c['recipe']} at width {c['width']}, {c['steps']:,} steps "
            f"({c['cpu_seconds'] / 60:.0f} training CPU-minutes, {precision}{cpu}) on "
            f"{c['data']['images']:,} {c['data']['name']} images. SWD ×1e3 {c['swd']} against "
            f"{c['held_out_images']:,} held-out images (lower is better; two real sets: {c['floor']}).")
    if c.get("checkerboard"):
        text += (f" Checkerboard {c['checkerboard']['samples']:.2f} (real images "
                 f"{c['checkerboard']['real']:.2f}; about 1 without a grid).")
    if c.get("weights_terms"):
        text += " " + c["weights_terms"]
    return textwrap.fill(text, width, break_on_hyphens=False)


def describe_memorisation(name):
    """The memorisation check on generator ``name``'s card (``metrics.memorisation``: samples against
    the training photos, beside held-out photos against the same), as two lines of at most 80
    characters. Raises ``KeyError`` for an unknown name or a card without the check."""
    m = card(name).get("memorisation")
    if not m:
        raise KeyError(f"the card of {name!r} records no memorisation check")
    return (f"median distance to the nearest training image: {m['fake_median']:.3f} for samples,\n"
            f"{m['held_out_median']:.3f} for held-out images (ratio {m['ratio']:.2f}); near copies: "
            f"{m['near_copies']:.1%} of samples")


def check_noise(latent_dim):
    """The latent vectors (float32 ``[CHECK_SAMPLES, latent_dim]``, seed 0) of the cards' ``check``."""
    from ..latent import truncated_normal
    return truncated_normal(CHECK_SAMPLES, latent_dim, None, seed=0)


def _statistics(generator, latent_dim):
    x = generator(check_noise(latent_dim), training=False).numpy().astype(np.float64)
    return {"mean": [round(float(v), 5) for v in x.mean(axis=(0, 1, 2))],
            "std": [round(float(v), 5) for v in x.std(axis=(0, 1, 2))]}


def fidelity(name):
    """How far the shipped float16 weights draw from what the float32 generator drew at export:
    the largest difference of the per-channel mean or standard deviation of the check samples
    (images in [-1, 1]; a few thousandths is float16 rounding)."""
    c = card(name)
    now = _statistics(load(name), c["latent_dim"])
    return max(abs(a - b) for k in ("mean", "std") for a, b in zip(now[k], c["check"][k]))


def _build(model, latent_dim, width, weights, source, upsample="transpose"):
    from .. import models
    g, _ = models.build(model, latent_dim=latent_dim, width=width, seed=0, upsample=upsample)
    shapes = [tuple(w.shape) for w in g.get_weights()]
    if shapes != [w.shape for w in weights]:
        raise ValueError(f"{source} does not fit the {model} generator at width {width}: "
                         "the weights and ganutils.models disagree")
    g.set_weights(weights)
    return g


def load(name):
    """Generator ``name`` as a float32 Keras model (latent ``[B, latent_dim]`` -> images in [-1, 1]), built
    with the card's ``upsample`` option (``models.build``; cards without one: ``"transpose"``)."""
    c = card(name)
    with np.load(HERE / c["file"]) as f:
        weights = [f[f"arr_{i}"].astype(np.float32) for i in range(len(f.files))]
    return _build(c["model"], c["latent_dim"], c["width"], weights, c["file"],
                  upsample=c.get("upsample", "transpose"))


def _weight_names(model):
    """Names of ``model.get_weights()`` that stay the same in every session (Keras numbers layer names
    per session): ``"#<index> <layer class>.<variable> [shape]"``, the index being ``arr_<index>`` of the
    ``.npz`` files."""
    owner = {}
    for layer in model.layers:
        for v in layer.weights:
            owner.setdefault(id(v), type(layer).__name__)
    return [f"#{i} {owner.get(id(v), 'model')}.{v.name.split('/')[-1]} {list(v.shape)}"
            for i, v in enumerate(model.weights)]


def _half(weights, names, source):
    """The weights to store: float16 where it holds a tensor to within :data:`FLOAT16_TOLERANCE` of the
    tensor's largest magnitude, float32 otherwise. Returns ``(stored, names kept in float32, largest error
    of the float16 tensors relative to their largest magnitude)``; raises ``ValueError`` naming a weight
    that holds NaN or inf."""
    stored, kept, worst = [], [], 0.0
    for w, name in zip(weights, names):
        w = np.asarray(w, np.float32)
        if not np.isfinite(w).all():
            raise ValueError(f"{source}: the generator's weight {name} holds NaN or inf values (the run "
                             "diverged): export a run that trained to the end with finite losses")
        with np.errstate(over="ignore", under="ignore"):   # overflow and flushing are measured below
            half = w.astype(np.float16)
        scale = float(np.abs(w).max()) if w.size else 0.0
        error = float(np.abs(half.astype(np.float32) - w).max()) / scale if scale > 0 else 0.0
        if np.isfinite(error) and error <= FLOAT16_TOLERANCE:
            stored.append(half)
            worst = max(worst, error)
        else:
            stored.append(w)
            kept.append(name)
    return stored, kept, worst


def export(run_dir, name, *, data, terms, swd, floor, memorisation=None, chapter=None, folder=None,
           weights_terms="", curve=None, checkerboard=None):
    """Store the generator a :func:`ganutils.compare.compare_recipes` run saved in ``run_dir`` as
    package data ``name`` (float16 weights) and add its card to the manifest.

    ``data``: ``{"name": ..., "images": N}``; ``terms``: the data's terms of use (text); ``swd`` and
    ``floor``: SWD ×1e3 against held-out real images and the real-vs-real floor; ``memorisation``:
    the nearest-neighbour check (:func:`ganutils.metrics.memorisation`); ``weights_terms``: what the
    data's terms mean for the weights (``Source.weights_terms``); ``curve``: the run's validation curve,
    ``{"x": "images seen", "points": [[images, swd], ...], "floor": f}`` (stored as given);
    ``checkerboard``: ``{"samples": s, "real": r}``, :func:`ganutils.metrics.checkerboard` of the
    generator's samples and of held-out real images (about 1 without a grid); ``folder``:
    where to store it
    (default: this package; ``~`` in it and in ``run_dir`` is the home folder). A weight tensor float16
    cannot hold (see the module's docstring) is stored in float32; the card's ``float16`` entry gives
    ``float32_weights`` (their names) and ``max_error`` (the largest rounding error of the float16 tensors,
    relative to each tensor's largest magnitude). Returns the card. Raises ``ValueError``, before anything
    is written, for a weight holding NaN or inf (a diverged run), or if the weights exceed
    :data:`MAX_BYTES`.
    """
    from .._atomic import write_bytes, write_json
    from ..precision import cpu_info
    import io
    run_dir, folder = _folder(run_dir), _folder(folder or HERE)
    result = json.loads((run_dir / "result.json").read_text())
    with np.load(run_dir / "generator.npz") as f:
        full = [f[f"arr_{i}"] for i in range(len(f.files))]
    spec = result["spec"]
    upsample = spec.get("settings", {}).get("upsample", "transpose")
    exported = _build(result["model"], result["latent_dim"], spec["width"], full, run_dir, upsample=upsample)
    names = _weight_names(exported)
    weights, in_float32, max_error = _half(full, names, run_dir)
    buf = io.BytesIO()
    np.savez_compressed(buf, *weights)
    if buf.tell() > MAX_BYTES:
        raise ValueError(f"{name}: {buf.tell() / 2**20:.1f} MB of weights, more than the "
                         f"{MAX_BYTES / 2**20:.0f} MB package data may hold: export a narrower generator "
                         f"(a smaller width)")
    write_bytes(folder / f"{name}.npz", buf.getvalue())
    c = {"file": f"{name}.npz", "chapter": chapter, "model": result["model"],
         "latent_dim": result["latent_dim"], "width": spec["width"], "upsample": upsample,
         "recipe": spec["recipe"],
         "seed": spec["seed"], "generator": result["generator"], "steps": result["steps"],
         "cpu_seconds": result["cpu_s"], "mixed_precision": spec["mixed_precision"],
         "data": data, "terms": terms, "swd": round(float(swd), 1), "floor": round(float(floor), 1),
         "held_out_images": spec["held_out"][0], "memorisation": memorisation,
         "weights_terms": weights_terms, "cpu": cpu_info().model, "curve": curve,
         "checkerboard": checkerboard,
         "bytes": buf.tell(), "check": _statistics(exported, result["latent_dim"]),
         "float16": {"max_error": float(f"{max_error:.3g}"), "float32_weights": in_float32}}
    m = _manifest(folder)
    m[name] = c
    write_json(folder / "manifest.json", dict(sorted(m.items())), indent=1)
    return c

from .web import export_onnx  # noqa: E402  (ONNX for the browser: ganutils.pretrained.web)
