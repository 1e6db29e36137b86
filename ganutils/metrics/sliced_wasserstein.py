"""Multi-scale sliced Wasserstein distance (Karras et al. 2018, Progressive GAN), numpy and scipy only.

``swd(real, fake)`` takes a few seconds on a CPU: good for tracking a run every N steps.
"""

from __future__ import annotations

import numpy as np
import scipy.ndimage

from ._common import _pair

__all__ = ["swd", "SWD_MIN_IMAGES", "SWD_MIN_SIZE"]

_BINOMIAL = np.float32([1, 4, 6, 4, 1]) / 16.0  # separable form of the 5x5 /256 Gaussian
SWD_MIN_IMAGES = 16
SWD_MIN_SIZE = 16


def _pyr_down(x):
    """Blur with the 5x5 binomial filter (mirrored borders, as cv2.pyrDown) and keep every 2nd pixel."""
    x = scipy.ndimage.convolve1d(x, _BINOMIAL, axis=1, mode="mirror")[:, ::2]
    return scipy.ndimage.convolve1d(x, _BINOMIAL, axis=2, mode="mirror")[:, :, ::2]


def _pyr_up(x, shape):
    """Upsample x 2 to ``shape[1:3]``, as cv2.pyrUp: zero insertion, then 4 x the 5x5 binomial
    filter with mirrored borders, computed as its four polyphase parts (no zeros touched)."""
    n, h, w, c = x.shape
    xp = np.empty((n, h + 2, w + 2, c), np.float32)  # borders as the mirrored zero-inserted signal
    xp[:, 1:-1, 1:-1] = x
    xp[:, 0, 1:-1] = x[:, min(1, h - 1)]
    xp[:, -1, 1:-1] = x[:, -1]
    xp[:, :, 0] = xp[:, :, min(2, w)]
    xp[:, :, -1] = xp[:, :, -2]
    even = (xp[:, :-2] + xp[:, 2:]) * 0.125 + xp[:, 1:-1] * 0.75  # output rows 2i: taps 1, 6, 1 (/8)
    odd = (xp[:, 1:-1] + xp[:, 2:]) * 0.5  # output rows 2i + 1: taps 4, 4 (/8)
    out = np.empty((n, 2 * h, 2 * w, c), np.float32)
    for r0, v in ((0, even), (1, odd)):
        out[:, r0::2, 0::2] = (v[:, :, :-2] + v[:, :, 2:]) * 0.125 + v[:, :, 1:-1] * 0.75
        out[:, r0::2, 1::2] = (v[:, :, 1:-1] + v[:, :, 2:]) * 0.5
    return out[:, : shape[1], : shape[2]]


def _laplacian_pyramid(images, n_levels):
    """Band-pass levels (finest first) and the low-pass residual as the last level."""
    levels = [images.astype(np.float32)]
    for _ in range(1, n_levels):
        low = _pyr_down(levels[-1])
        levels[-1] = levels[-1] - _pyr_up(low, levels[-1].shape)
        levels.append(low)
    return levels


def _swd_level_shapes(h, w):
    """(height, width) of each pyramid level: halve while the smaller side stays >= 16 px."""
    shapes = []
    while min(h, w) >= SWD_MIN_SIZE:
        shapes.append((h, w))
        h, w = (h + 1) // 2, (w + 1) // 2
    return shapes


def _descriptors(images, shapes, idx, pos, r, chunk=256):
    """Per pyramid level, the descriptors [M, (2r+1)^2 * 3] of images ``idx`` at positions
    ``pos[level] = (ys, xs)``. The pyramid is built ``chunk`` images at a time, so memory
    holds the descriptors, not the pyramid of the whole set. ``idx`` must be non-decreasing."""
    d = (2 * r + 1) ** 2 * images.shape[-1]
    out = [np.empty((len(idx), d), np.float32) for _ in shapes]
    bounds = np.searchsorted(idx, np.arange(0, len(images) + chunk, chunk))
    for c, a in enumerate(range(0, len(images), chunk)):
        i0, i1 = bounds[c], bounds[c + 1]
        if i0 == i1:
            continue
        for level, band in enumerate(_laplacian_pyramid(images[a: a + chunk], len(shapes))):
            ys, xs = pos[level]
            out[level][i0:i1] = _patches(band, idx[i0:i1] - a, ys[i0:i1], xs[i0:i1], r)
    return out


def _patches(level, img_idx, ys, xs, r):
    """Gather flattened [M, (2r+1)^2 * C] neighbourhoods centred at (ys, xs) of images img_idx."""
    _, h, w, c = level.shape
    d = np.arange(-r, r + 1)
    offsets = (d[:, None, None] * (w * c) + d[None, :, None] * c + np.arange(c)[None, None, :]).ravel()
    base = ((img_idx * h + ys) * w + xs) * c
    return np.take(level.reshape(-1), base[:, None] + offsets[None, :])


def _sliced_wasserstein(a, b, w):
    """Mean over directions (columns of w) of the 1-D Wasserstein-1 distance of projections.

    a, b: descriptors [M, D] (same M); per direction the distance is the mean absolute
    difference between the sorted projections (the optimal 1-D matching). Projections are
    quantised to uint16 over their joint range so numpy sorts them with its radix sort,
    ~10x faster than float32; the step (range / 65,535) changes the result by < 1e-5.
    """
    pa = w.T @ a.T  # [K, M]
    pb = w.T @ b.T
    lo = np.minimum(pa.min(axis=1), pb.min(axis=1))[:, None]
    span = np.maximum(pa.max(axis=1), pb.max(axis=1))[:, None] - lo
    scale = (65535.0 / np.where(span > 0, span, 1.0)).astype(np.float32)
    qs = []
    for p in (pa, pb):
        p -= lo
        p *= scale
        q = p.astype(np.uint16)  # truncation: the same quantiser for both sets
        q.sort(axis=1, kind="stable")
        qs.append(q)
    d = np.subtract(qs[0], qs[1], dtype=np.int32)
    np.abs(d, out=d)
    return float(np.mean(d.sum(axis=1, dtype=np.int64) / scale[:, 0]) / a.shape[0])


def swd(real, fake, *, n_descriptors=128, n_projections=512, patch_size=7, seed=0,
        max_descriptors=2 ** 17, return_per_level=False):
    """Multi-scale sliced Wasserstein distance between two image sets, **x 1e3** (as the paper).

    Karras et al. 2018 (Progressive GAN, section 5, and its ``sliced_wasserstein.py``): each
    image becomes a Laplacian pyramid (5x5 binomial filter, levels halving down to 16 px);
    ``n_descriptors`` random ``patch_size`` x ``patch_size`` x 3 patches per image and level
    are the descriptors; each colour channel of a level is normalised by the mean/std of the
    real + fake descriptors together (the reference code normalises each set on its own,
    which hides a global colour shift); then the distance is the mean
    |sorted(real . u) - sorted(fake . u)| over ``n_projections`` random unit directions u
    (drawn in repeats of 128). Lower is better; 0 for identical sets (both sets share the
    patch positions). Returns the average over levels, or ``(average, {level_height:
    value})`` with ``return_per_level=True``.

    Deterministic given ``seed``. Sets may differ in size: the smaller one sets the
    descriptor count, at most ``max_descriptors`` per set and level (spread evenly over the
    images: memory is ~0.15 GB per pyramid level at the cap). Needs >= 16 images per
    set (use >= 1000 for stable numbers) of the same size, at least 16 px. Values are
    comparable only between runs with the same settings and sample counts: fewer images
    give larger values. Cost: ~n_images x n_descriptors x n_projections x levels.

    Images ``[N, H, W, 3]``: uint8 (0..255) or floats in [-1, 1]. Floats outside [-1.05, 1.05] (0..255
    floats from ``keras.utils.image_dataset_from_directory``, say) raise ``ValueError`` naming the range
    seen; float ``real`` images with no negative value warn with ``ImageRangeWarning`` (probably [0, 1]
    data: use ``x * 2 - 1``); ``fake`` images, a generator's, never warn.
    """
    real, fake = _pair(real, fake, SWD_MIN_IMAGES, "swd")
    h, w = real.shape[1], real.shape[2]
    if min(h, w) < SWD_MIN_SIZE:
        raise ValueError(f"swd: images must be at least {SWD_MIN_SIZE} px, got {h}x{w}")
    if not isinstance(patch_size, int) or patch_size < 1 or patch_size % 2 == 0:
        raise ValueError(f"swd: patch_size must be an odd positive int, got {patch_size!r}")
    if n_descriptors < 1 or n_projections < 1:
        raise ValueError(f"swd: n_descriptors and n_projections must be >= 1, "
                         f"got {n_descriptors}, {n_projections}")
    shapes = _swd_level_shapes(h, w)
    if min(shapes[-1]) < patch_size:
        raise ValueError(f"swd: patch_size {patch_size} does not fit the {shapes[-1]} coarsest level")
    rng = np.random.default_rng(seed)
    m = min(int(n_descriptors) * min(len(real), len(fake)), int(max_descriptors))
    idx_r = (np.arange(m) * len(real)) // m  # spread descriptors evenly over each set
    idx_f = (np.arange(m) * len(fake)) // m
    r = patch_size // 2
    pos = [(rng.integers(r, lh - r, size=m), rng.integers(r, lw - r, size=m)) for lh, lw in shapes]
    desc_r = _descriptors(real, shapes, idx_r, pos, r)  # the same positions for both sets
    desc_f = _descriptors(fake, shapes, idx_f, pos, r)
    per_level = {}
    for (lh, _), da, db in zip(shapes, desc_r, desc_f):
        # Per-channel std over real + fake descriptors. Normalising (x - mean) / std is
        # folded into the directions: the mean shift cancels in sorted differences.
        s1 = (da.sum(0, dtype=np.float64) + db.sum(0, dtype=np.float64)).reshape(-1, 3).sum(0)
        s2 = (np.einsum("ij,ij->j", da, da, dtype=np.float64)
              + np.einsum("ij,ij->j", db, db, dtype=np.float64)).reshape(-1, 3).sum(0)
        cnt = 2 * m * patch_size * patch_size
        std = np.sqrt(np.maximum(s2 / cnt - (s1 / cnt) ** 2, 0.0))
        std[std == 0] = 1.0
        inv = np.tile(1.0 / std, patch_size * patch_size).astype(np.float32)
        total, left = 0.0, n_projections
        while left > 0:
            k = min(128, left)
            dirs = rng.standard_normal((da.shape[1], k)).astype(np.float32)
            dirs /= np.linalg.norm(dirs, axis=0, keepdims=True)
            total += _sliced_wasserstein(da, db, dirs * inv[:, None]) * k
            left -= k
        per_level[int(lh)] = 1e3 * total / n_projections
    avg = float(np.mean(list(per_level.values())))
    return (avg, per_level) if return_per_level else avg
