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
    fraction in ``t`` (scalar or ``[k]``, 0 = ``a``, 1 = ``b``); the norm is interpolated linearly.
    Returns float32 ``[k, dim]`` (``[dim]`` for a scalar ``t``). Raises ``ValueError`` for vectors of
    different shapes or a zero vector."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"a and b must be vectors of one length, got {a.shape} and {b.shape}")
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        raise ValueError("slerp needs non-zero vectors")
    ts = np.atleast_1d(np.asarray(t, np.float64))[:, None]
    omega = np.arccos(np.clip(np.dot(a / na, b / nb), -1.0, 1.0))
    if omega < 1e-6:
        out = (1 - ts) * a + ts * b
    else:
        unit = (np.sin((1 - ts) * omega) * a / na + np.sin(ts * omega) * b / nb) / np.sin(omega)
        out = unit * ((1 - ts) * na + ts * nb)
    out = out.astype(np.float32)
    return out[0] if np.ndim(t) == 0 else out
