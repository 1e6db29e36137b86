"""Embedded procedural datasets: faces, eyes and anime faces rendered by code.

Every chapter trains on these by default: they need no download, are
deterministic by seed, and come with the factors that generated each image
(skin tone, hair colour, smile, iris colour, ...), which later chapters use
for attribute vectors and for a factor-coverage check of mode collapse.

Images are drawn with vectorised numpy over a batch: shapes are signed
distance functions (ellipses, circles, bands between two curves) turned into
anti-aliased coverage with ``clip(0.5 - sdf / pixel, 0, 1)`` and shaded with a
simple lighting term. Below 48 px the scene is drawn at twice the size and
box-downsampled so tiny features stay smooth.

One module per kind (``faces.py``, ``eyes.py``, ``anime.py``) holds its factor table, its palettes, its
parameter draw and its renderer, and registers them (``_registry.register``); every module of this package
whose name does not start with ``_`` is imported here, so a new kind is one new file. The drawing toolkit
the kinds share is ``_draw.py``.
"""

import importlib
import numbers
import pkgutil
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ._draw import _F
from ._registry import _KINDS, _MAX_SIZE, _MIN_SIZE, DEFAULT_SIZE, FACTORS, register

__all__ = ["KINDS", "DEFAULT_SIZE", "FACTORS", "synthetic", "register"]

_CHUNK = 64  # factors are drawn per chunk of this many images (keyed by chunk index)
_JOB_PIXELS = 1 << 17  # pixels per render job: small enough to stay in cache


def _load_kinds():
    """Import every kind module of this package (each registers itself), then order the tables by stream."""
    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")
    order = sorted(_KINDS, key=lambda k: _KINDS[k].stream)
    for table in (FACTORS, DEFAULT_SIZE):
        items = {k: table[k] for k in order}
        table.clear()
        table.update(items)
    return tuple(order)


#: The embedded kinds, in the order of their random streams: ("faces", "eyes", "anime").
KINDS = _load_kinds()


def _check(kind, n, size):
    if not isinstance(kind, str) or kind not in _KINDS:
        raise ValueError(f"unknown kind {kind!r}: expected one of {', '.join(KINDS)}")
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
        raise ValueError(f"n must be a non-negative int, got {n!r}")
    if size is None:
        size = DEFAULT_SIZE[kind]
    if isinstance(size, bool) or not isinstance(size, numbers.Integral) or not _MIN_SIZE <= size <= _MAX_SIZE:
        raise ValueError(f"size must be an int in [{_MIN_SIZE}, {_MAX_SIZE}], got {size!r}")
    return int(n), int(size)


def _draw_params(kind, n, seed):
    fs, ps = [], []
    for c in range((n + _CHUNK - 1) // _CHUNK):
        rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, _KINDS[kind].stream, c])
        f, p = _KINDS[kind].params(rng, _CHUNK)
        fs.append(f)
        ps.append(p)
    factors = {k: np.concatenate([f[k] for f in fs])[:n] for k in FACTORS[kind]}
    params = {k: np.concatenate([p[k] for p in ps])[:n] for k in ps[0]} if ps else {}
    return factors, params


def synthetic(kind, n, size=None, seed=0):
    """Render ``n`` images of ``kind`` ("faces", "eyes", "anime") at ``size`` px.

    Returns ``(images, factors)``: uint8 ``[n, size, size, 3]`` and a dict of factor
    name -> array of length n (int64 category codes indexing ``FACTORS[kind][name]``,
    or float32 in [0, 1]). Deterministic: image i depends only on (kind, size, seed, i).
    """
    n, size = _check(kind, n, size)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    images = np.empty((n, size, size, 3), np.uint8)
    factors = {}
    if n == 0:
        for k, cats in FACTORS[kind].items():
            factors[k] = np.zeros(0, np.int64 if cats else _F)
        return images, factors
    factors, params = _draw_params(kind, n, seed)
    for k, cats in FACTORS[kind].items():
        factors[k] = factors[k].astype(np.int64 if cats else _F)
    ss = 2 if size < 48 else 1
    R = size * ss
    per = max(1, min(_CHUNK, _JOB_PIXELS // (R * R)))
    starts = list(range(0, n, per))
    allp = dict(factors)
    allp.update(params)

    def job(a):
        b = min(n, a + per)
        P = {k: v[a:b] for k, v in allp.items()}
        canvas = _KINDS[kind].render(P, b - a, R)
        if ss > 1:
            canvas = canvas.reshape(3, b - a, size, ss, size, ss).mean(axis=(3, 5))
        canvas *= 255.0
        canvas += 0.5
        np.clip(canvas, 0, 255, out=canvas)
        images[a:b] = canvas.transpose(1, 2, 3, 0).astype(np.uint8)

    if len(starts) > 1:
        with ThreadPoolExecutor(2) as ex:
            list(ex.map(job, starts))
    else:
        job(0)
    return images, factors
