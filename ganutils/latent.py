"""Latent vectors to feed a trained generator: truncated noise and spherical interpolation.

- ``truncated_normal(n, dim, threshold, seed)``: the truncation trick of BigGAN (Brock et al. 2019):
  standard normal values whose magnitude exceeds ``threshold`` are drawn again, trading variety for
  typical-looking samples (a smaller threshold gives safer, more alike images).
- ``slerp(a, b, t)``: spherical linear interpolation (White 2016, "Sampling generative networks"):
  in high dimensions a standard normal vector lies near the sphere of radius sqrt(dim), and a straight
  line between two such vectors passes well inside it, where the generator saw no training inputs;
  slerp stays on the sphere's scale.
"""

from __future__ import annotations

import numpy as np

__all__ = ["truncated_normal", "slerp"]


def truncated_normal(n, dim, threshold=None, seed=0):
    """float32 ``[n, dim]`` standard normal latent vectors, each value redrawn until ``|z| <= threshold``
    (``None``: no truncation). Raises ``ValueError`` for a threshold <= 0."""
    if threshold is not None and not threshold > 0:
        raise ValueError(f"threshold must be positive (or None), got {threshold!r}")
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, dim))
    if threshold is not None:
        bad = np.abs(z) > threshold
        while bad.any():
            z[bad] = rng.standard_normal(int(bad.sum()))
            bad = np.abs(z) > threshold
    return z.astype(np.float32)


def slerp(a, b, t):
    """Points between latent vectors ``a`` and ``b`` (``[dim]`` each) along the great circle, for each
    fraction in ``t`` (scalar or ``[k]``, 0 = ``a``, 1 = ``b``); the norm is interpolated linearly, from
    ``|a|`` to ``|b|``. Returns float32 ``[k, dim]`` (``[dim]`` for a scalar ``t``).

    Two endpoints have no single great circle, and the textbook formula divides by sin(angle) = 0 there:

    - the same direction (``b`` a positive multiple of ``a``, ``a`` itself included): the path stays on
      that direction, only the norm changes (``slerp(z, z, t)`` is ``z`` for every ``t``);
    - opposite directions (``b`` a negative multiple of ``a``, e.g. ``slerp(z, -z, t)``): every great
      circle through them is as short, and the formula gave a zero vector half-way. The path taken is the
      one through ``e_k`` made orthogonal to ``a``, where ``k`` is the first coordinate at which ``|a|`` is
      smallest: deterministic, and ``e_k`` is the axis least aligned with ``a``. Half-way the point is
      that direction times the interpolated norm.

    Directions within about 1e-7 radians of these cases count as them. Raises ``ValueError`` for vectors
    of different shapes, a zero vector (no direction), non-finite values, or opposite vectors of length 1
    (in one dimension no great circle joins them).
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"a and b must be vectors of one length, got {a.shape} and {b.shape}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("slerp needs finite vectors, got NaN or inf")
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        raise ValueError("slerp needs non-zero vectors (a zero vector has no direction to interpolate)")
    ts = np.atleast_1d(np.asarray(t, np.float64))[:, None]
    u, w = a / na, b / nb
    cos = float(np.clip(np.dot(u, w), -1.0, 1.0))
    perp = w - cos * u                      # the part of b's direction orthogonal to a's
    sin = float(np.linalg.norm(perp))
    if sin > 1e-7:
        omega, v = np.arctan2(sin, cos), perp / sin   # arctan2: accurate near 0 and pi, unlike arccos
    elif cos > 0:                           # the same direction
        omega, v = 0.0, np.zeros_like(u)
    else:                                   # opposite directions: a documented great circle
        if len(u) < 2:
            raise ValueError("slerp of opposite vectors in one dimension: no great circle joins them; "
                             "use vectors of two or more dimensions")
        k = int(np.argmin(np.abs(u)))
        v = -u[k] * u
        v[k] += 1.0                         # e_k minus its component along u
        v -= np.dot(v, u) * u               # once more, for rounding
        omega, v = np.pi, v / np.linalg.norm(v)
    unit = np.cos(ts * omega) * u + np.sin(ts * omega) * v
    out = (unit * ((1 - ts) * na + ts * nb)).astype(np.float32)
    return out[0] if np.ndim(t) == 0 else out
