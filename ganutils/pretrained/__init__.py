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
Raises ``KeyError`` (with the available names) for an unknown name.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

__all__ = ["available", "card", "describe", "load", "export", "fidelity", "check_noise", "MAX_BYTES"]

HERE = Path(__file__).resolve().parent
#: The largest weights file a generator may have (bytes): package data must stay small.
MAX_BYTES = 5 * 1024 * 1024
#: How many samples, from latent seed 0, the card's ``check`` statistics are computed on.
CHECK_SAMPLES = 256


def _manifest(folder=None):
    path = Path(folder or HERE) / "manifest.json"
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


def describe(name):
    """One line saying how generator ``name`` was trained and how it scored (from its card)."""
    c = card(name)
    precision = ", bfloat16" if c.get("mixed_precision") else ""
    return (f"{c['recipe']} at width {c['width']}: {c['steps']:,} steps, {c['cpu_seconds']:.0f} training "
            f"CPU-s{precision}, on {c['data']['images']:,} {c['data']['name']} images; SWD ×1e3 {c['swd']} "
            f"(real vs real {c['floor']}) against {c['held_out_images']} held-out images")


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


def _build(model, latent_dim, width, weights, source):
    from .. import models
    g, _ = models.build(model, latent_dim=latent_dim, width=width, seed=0)
    shapes = [tuple(w.shape) for w in g.get_weights()]
    if shapes != [w.shape for w in weights]:
        raise ValueError(f"{source} does not fit the {model} generator at width {width}: "
                         "the weights and ganutils.models disagree")
    g.set_weights(weights)
    return g


def load(name):
    """Generator ``name`` as a float32 Keras model (latent ``[B, latent_dim]`` -> images in [-1, 1])."""
    c = card(name)
    with np.load(HERE / c["file"]) as f:
        weights = [f[f"arr_{i}"].astype(np.float32) for i in range(len(f.files))]
    return _build(c["model"], c["latent_dim"], c["width"], weights, c["file"])


def export(run_dir, name, *, data, terms, swd, floor, memorisation=None, chapter=None, folder=None):
    """Store the generator a :func:`ganutils.compare.compare_recipes` run saved in ``run_dir`` as
    package data ``name`` (float16 weights) and add its card to the manifest.

    ``data``: ``{"name": ..., "images": N}``; ``terms``: the data's terms of use (text); ``swd`` and
    ``floor``: SWD ×1e3 against held-out real images and the real-vs-real floor; ``memorisation``:
    the nearest-neighbour check (:func:`ganutils.metrics.memorisation`). Returns the card. Raises
    ``ValueError`` if the weights exceed :data:`MAX_BYTES`.
    """
    from .._atomic import write_bytes, write_json
    import io
    run_dir, folder = Path(run_dir), Path(folder or HERE)
    result = json.loads((run_dir / "result.json").read_text())
    with np.load(run_dir / "generator.npz") as f:
        full = [f[f"arr_{i}"] for i in range(len(f.files))]
    weights = [w.astype(np.float16) for w in full]
    exported = _build(result["model"], result["latent_dim"], result["spec"]["width"], full, run_dir)
    buf = io.BytesIO()
    np.savez_compressed(buf, *weights)
    if buf.tell() > MAX_BYTES:
        raise ValueError(f"{name}: {buf.tell() / 2**20:.1f} MB of weights, more than {MAX_BYTES / 2**20:.0f} MB")
    write_bytes(folder / f"{name}.npz", buf.getvalue())
    spec = result["spec"]
    c = {"file": f"{name}.npz", "chapter": chapter, "model": result["model"],
         "latent_dim": result["latent_dim"], "width": spec["width"], "recipe": spec["recipe"],
         "seed": spec["seed"], "generator": result["generator"], "steps": result["steps"],
         "cpu_seconds": result["cpu_s"], "mixed_precision": spec["mixed_precision"],
         "data": data, "terms": terms, "swd": round(float(swd), 1), "floor": round(float(floor), 1),
         "held_out_images": spec["held_out"][0], "memorisation": memorisation,
         "bytes": buf.tell(), "check": _statistics(exported, result["latent_dim"])}
    m = _manifest(folder)
    m[name] = c
    write_json(folder / "manifest.json", dict(sorted(m.items())), indent=1)
    return c
