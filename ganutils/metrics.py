"""Numbers for how good (and how varied) generated images are.

- ``swd(real, fake)``: multi-scale sliced Wasserstein distance (Karras et al. 2018), numpy
  only, a few seconds on a CPU; good for tracking a run every N steps.
- ``fid(real, fake)`` / ``kid(real, fake)``: Fréchet / kernel Inception distance on
  InceptionV3 pool features (the ImageNet weights are downloaded on first use).
- ``factor_coverage(fake, kind)``: how far the generated images' factor histograms (hair
  colour, iris colour, ...) are from the embedded dataset's; a number for mode collapse.
- ``make_metric(name, real_images)``: a ``metric(fake_images) -> float`` for a trainer.

All functions take images as uint8 ``[N, H, W, 3]`` or float in [-1, 1] (numpy or tf), converted
and checked by ``to_uint8`` (the same function as ``ganutils.viz.to_uint8``).
Importing this module is cheap: TensorFlow/Keras are imported only where needed.
"""

from __future__ import annotations

import inspect
import os
import time
from pathlib import Path

import numpy as np
import scipy.linalg
import scipy.ndimage

from ._atomic import replacing, write_json
from .viz import to_uint8  # the one converter, shared with the pictures

__all__ = [
    "to_uint8", "swd", "frechet_distance", "kernel_inception_distance",
    "inception_features", "fid", "kid", "FactorClassifier", "factor_coverage", "make_metric",
]


# --------------------------------------------------------------------------------------
# Input handling
# --------------------------------------------------------------------------------------


def _pair(real, fake, min_images, what):
    real, fake = to_uint8(real), to_uint8(fake)
    if real.shape[1:] != fake.shape[1:]:
        raise ValueError(f"{what}: real and fake images must have the same size, "
                         f"got {real.shape[1:3]} and {fake.shape[1:3]}")
    for name, a in (("real", real), ("fake", fake)):
        if len(a) < min_images:
            raise ValueError(f"{what}: needs at least {min_images} {name} images, got {len(a)}")
    return real, fake


# --------------------------------------------------------------------------------------
# Sliced Wasserstein distance
# --------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------
# Fréchet distance and KID on features
# --------------------------------------------------------------------------------------


def frechet_distance(mu1, sigma1, mu2, sigma2, eps=1e-6) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2).

    ``|mu1 - mu2|^2 + Tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^(1/2))``, as in the TTUR
    reference code: if the product's square root is not finite or inaccurate (singular
    covariances, e.g. fewer samples than feature dimensions) ``eps * I`` is added to both;
    a small imaginary part from round-off is dropped, a large one raises ``ValueError``.
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    s1, s2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    d = mu1.shape[0]
    if mu1.shape != (d,) or mu2.shape != (d,) or s1.shape != (d, d) or s2.shape != (d, d):
        raise ValueError(f"frechet_distance: expected mu [d] and sigma [d, d] with one d, got "
                         f"{mu1.shape}, {s1.shape}, {mu2.shape}, {s2.shape}")
    diff = mu1 - mu2
    prod = s1 @ s2
    with np.errstate(all="ignore"):
        covmean = scipy.linalg.sqrtm(prod)
    bad = not np.isfinite(covmean).all()
    if not bad:  # scipy >= 1.16 no longer reports its error estimate: check X @ X = A ourselves
        err = np.linalg.norm(covmean @ covmean - prod) / max(np.linalg.norm(prod), 1e-300)
        bad = err > 1e-3
    if bad:
        offset = np.eye(d) * eps
        with np.errstate(all="ignore"):
            covmean = scipy.linalg.sqrtm((s1 + offset) @ (s2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError(f"frechet_distance: sqrt of sigma1 @ sigma2 has a large imaginary "
                             f"component {np.max(np.abs(covmean.imag)):.3g}")
        covmean = covmean.real
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(covmean))


def _mmd2_poly(x, y):
    """Unbiased MMD^2 with the kernel k(a, b) = (a . b / d + 1)^3."""
    d = x.shape[1]
    kxx = (x @ x.T / d + 1) ** 3
    kyy = (y @ y.T / d + 1) ** 3
    kxy = (x @ y.T / d + 1) ** 3
    m, n = len(x), len(y)
    return ((kxx.sum() - np.trace(kxx)) / (m * (m - 1))
            + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
            - 2 * kxy.sum() / (m * n))


def kernel_inception_distance(feat_real, feat_fake, *, subsets=100, subset_size=1000, seed=0) -> float:
    """Kernel Inception Distance (Bińkowski et al. 2018) between two feature sets [N, d].

    Unbiased MMD^2 with the cubic polynomial kernel ``(x . y / d + 1)^3``, averaged over
    ``subsets`` random subsets of ``min(subset_size, N_real, N_fake)`` rows of each set,
    drawn without replacement (deterministic given ``seed``). Unbiased, so it can be
    slightly negative when the sets match; unlike FID it is fair at small sample counts.
    """
    x, y = np.asarray(feat_real, np.float64), np.asarray(feat_fake, np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"kernel_inception_distance: expected features [N, d] with the same d, "
                         f"got {x.shape} and {y.shape}")
    k = min(subset_size, len(x), len(y))
    if k < 2:
        raise ValueError(f"kernel_inception_distance: needs at least 2 rows per set, got {len(x)}, {len(y)}")
    if subsets < 1:
        raise ValueError(f"kernel_inception_distance: subsets must be >= 1, got {subsets}")
    rng = np.random.default_rng(seed)
    vals = []
    for _ in range(subsets):
        xs = x if k == len(x) else x[rng.choice(len(x), k, replace=False)]
        ys = y if k == len(y) else y[rng.choice(len(y), k, replace=False)]
        vals.append(_mmd2_poly(xs, ys))
    return float(np.mean(vals))


# --------------------------------------------------------------------------------------
# InceptionV3 features, FID, KID
# --------------------------------------------------------------------------------------

INCEPTION_WEIGHTS_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
INCEPTION_WEIGHTS_URL = ("https://storage.googleapis.com/tensorflow/keras-applications/"
                         "inception_v3/" + INCEPTION_WEIGHTS_FILE)
INCEPTION_WEIGHTS_MD5 = "bcbd6486424b2319ff4ef7d526e38f63"
_INCEPTION = None


def _keras_home() -> Path:
    """Where Keras caches downloads: $KERAS_HOME, else ~/.keras (as Keras decides)."""
    if "KERAS_HOME" in os.environ:
        return Path(os.environ["KERAS_HOME"]).expanduser()
    return Path("~/.keras").expanduser()


def _inception_weights() -> Path:
    """The path of the InceptionV3 weights file, downloaded on first use.

    One downloader for the whole package: ``ganutils.data.download`` (not ``keras.utils.get_file``), so the
    file lands in the one cache root (``$GANBOOK_CACHE/models/``, default ``~/.cache/ganbook``), a broken
    transfer resumes, an HTML error page or a truncated file is refused with a message saying what arrived,
    and the MD5 digest Keras publishes is checked. A copy Keras already downloaded
    (``$KERAS_HOME/models/`` or ``~/.keras/models/``) is used when its digest matches, so nothing is
    fetched twice. Raises ``RuntimeError`` saying where to put the file when the download fails.
    """
    from .data import fetch

    keras_copy = _keras_home() / "models" / INCEPTION_WEIGHTS_FILE
    if keras_copy.is_file() and fetch._hash_file(keras_copy, "md5") == INCEPTION_WEIGHTS_MD5:
        return keras_copy
    folder = fetch.cache_dir() / "models"
    try:
        return fetch.download(INCEPTION_WEIGHTS_URL, dest_dir=folder, filename=INCEPTION_WEIGHTS_FILE,
                              md5=INCEPTION_WEIGHTS_MD5)
    except (OSError, ValueError) as e:  # no network, blocked host, an error page, a bad digest...
        raise RuntimeError(
            "FID/KID need the ImageNet weights of InceptionV3 (about 84 MB). They are downloaded on "
            f"first use from {INCEPTION_WEIGHTS_URL} (this works in Colab), but the download failed "
            f"here: {type(e).__name__}: {e}. Without a network, download that file elsewhere and put "
            f"it at {folder / INCEPTION_WEIGHTS_FILE} (or at {keras_copy})."
        ) from e


def _inception_model():
    """InceptionV3 without its top, global-average pooled: images -> 2048 features."""
    global _INCEPTION
    if _INCEPTION is not None:
        return _INCEPTION
    import keras

    _INCEPTION = keras.applications.InceptionV3(include_top=False, pooling="avg",
                                                weights=str(_inception_weights()), input_shape=(299, 299, 3))
    return _INCEPTION


def inception_features(images, batch_size=64, *, model=None) -> np.ndarray:
    """InceptionV3 pool features ``[N, 2048]`` (float64) of uint8 / [-1, 1] images.

    Images are resized to 299 x 299 with bilinear interpolation *and antialiasing*, then
    scaled to [-1, 1] by ``keras.applications.inception_v3.preprocess_input``. Pitfall: the
    resize method alone moves FID by whole points (the original TTUR code resized without
    antialiasing; clean-fid, Parmar et al. 2022, showed how much that matters), and these
    Keras weights differ slightly from the TF1 graph papers used, so compare numbers only
    between runs of this same code. ``model`` swaps in another Keras model taking
    299 x 299 x 3 inputs (for tests). Needs the ImageNet weights (see ``fid``).
    """
    import tensorflow as tf
    from keras.applications.inception_v3 import preprocess_input

    images = to_uint8(images)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    model = model if model is not None else _inception_model()
    out = []
    for a in range(0, len(images), batch_size):
        x = tf.image.resize(tf.cast(images[a: a + batch_size], tf.float32), (299, 299),
                            method="bilinear", antialias=True)
        x = preprocess_input(tf.clip_by_value(x, 0.0, 255.0))
        out.append(np.asarray(model(x, training=False), np.float64))
    if not out:
        return np.zeros((0, 2048))
    return np.concatenate(out).reshape(len(images), -1)


def _features(real, fake, batch_size, feature_fn, what):
    real, fake = _pair(real, fake, 2, what)
    fn = feature_fn if feature_fn is not None else (lambda x: inception_features(x, batch_size))
    fr, ff = np.asarray(fn(real), np.float64), np.asarray(fn(fake), np.float64)
    if fr.ndim != 2 or ff.ndim != 2 or len(fr) != len(real) or len(ff) != len(fake):
        raise ValueError(f"{what}: feature_fn must return [N, d] features, got {fr.shape}, {ff.shape}")
    return fr, ff


def fid(real, fake, batch_size=64, *, feature_fn=None) -> float:
    """Fréchet Inception Distance (Heusel et al. 2017) between two image sets. Lower is better.

    Fits a Gaussian to the InceptionV3 pool features of each set and returns
    ``frechet_distance`` of the two. FID is biased upwards at small sample counts and
    depends on the resize method: paper-comparable numbers need >= 10,000 samples (50k is
    usual) and the same preprocessing; with a few hundred it only ranks runs scored the same
    way. The ImageNet weights (~84 MB) are downloaded to ``~/.cache/ganbook/models/`` on first use
    (works in Colab); offline this raises ``RuntimeError`` telling where to put the file.
    ``feature_fn(uint8 images) -> [N, d]`` replaces InceptionV3.
    """
    return _fid_from_features(*_features(real, fake, batch_size, feature_fn, "fid"))


def _fid_from_features(fr, ff):
    return frechet_distance(fr.mean(0), np.cov(fr, rowvar=False), ff.mean(0), np.cov(ff, rowvar=False))


def kid(real, fake, batch_size=64, *, feature_fn=None, subsets=100, subset_size=1000) -> float:
    """Kernel Inception Distance between two image sets (see ``kernel_inception_distance``).

    Same features, weights and pitfalls as ``fid``, but unbiased, so usable with a few
    hundred samples. Often reported x 1000.
    """
    fr, ff = _features(real, fake, batch_size, feature_fn, "kid")
    return kernel_inception_distance(fr, ff, subsets=subsets, subset_size=subset_size)


# --------------------------------------------------------------------------------------
# Factor classifier and factor coverage
# --------------------------------------------------------------------------------------

#: Categorical factors that enter ``factor_coverage``: those the small classifier reads
#: reliably at 32 px (balanced held-out accuracy >= 0.9 when measured, most >= 0.96). Too
#: small or subtle to count: faces' iris colour, face shape and glasses (thin lines), eyes'
#: shape and make-up, anime mouths; their heads are still trained and shown in the details.
COVERAGE_FACTORS = {
    "faces": ("hair_color", "hair_style", "background"),
    "eyes": ("iris_color", "brow_color"),
    "anime": ("hair_color", "eye_color", "hair_style", "bangs", "blush"),
}
_CLASSIFIERS = {}


def _cache_root() -> Path:
    """The cache root of ganutils, ``ganutils.data.fetch.cache_dir()`` ($GANBOOK_CACHE or ~/.cache/ganbook)."""
    from .data.fetch import cache_dir
    return cache_dir()


def _procedural():
    from ganutils.data import procedural  # lazy: only coverage needs the renderer
    return procedural


class FactorClassifier:
    """A small Keras CNN that reads the generating factors back from an embedded-dataset image.

    One softmax head per categorical factor of ``FACTORS[kind]`` and one sigmoid head per
    continuous factor, trained for a few epochs on ``synthetic(kind, 4000, ...)`` seen at
    32 px (``size`` if smaller). Training takes seconds on a CPU; the weights are then
    cached in ``$GANBOOK_CACHE/factor_classifiers/{kind}_{size}_v1.weights.h5`` (default
    ``~/.cache/ganbook``) with a JSON note holding a fingerprint of the renderer, so later
    calls load in a fraction of a second and a changed renderer triggers retraining.
    Above 64 px the training images are rendered at 64 px (same pixels after the resize
    to 32 px, 4x cheaper); ``evaluate`` measures accuracy at the real size.
    """

    VERSION = 1
    N_TRAIN = 4000
    EPOCHS = 4
    BATCH = 64
    INTERNAL = 32
    TRAIN_SEED, EVAL_SEED, REF_SEED = 7001, 7002, 7003
    N_REF = 2000

    def __init__(self, kind, size=None, *, cache=True, verbose=False):
        proc = _procedural()
        if kind not in proc.KINDS:
            raise ValueError(f"unknown kind {kind!r}: expected one of {', '.join(proc.KINDS)}")
        size = proc.DEFAULT_SIZE[kind] if size is None else size
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not 8 <= size <= 512:
            raise ValueError(f"size must be an int in [8, 512], got {size!r}")
        self.kind, self.size = kind, int(size)
        self.internal = min(self.INTERNAL, self.size)
        self.categories = {k: list(v) for k, v in proc.FACTORS[kind].items() if v}
        self.continuous = [k for k, v in proc.FACTORS[kind].items() if not v]
        self.verbose = verbose
        self.train_seconds = None
        self._ref = None
        self.model = self._build()
        folder = _cache_root() / "factor_classifiers"
        self.weights_path = folder / f"{kind}_{self.size}_v{self.VERSION}.weights.h5"
        self._meta_path = folder / f"{kind}_{self.size}_v{self.VERSION}.json"
        fingerprint = self._fingerprint()
        meta = self._read_meta() if cache else None
        if meta is not None and meta.get("fingerprint") == fingerprint and self.weights_path.exists():
            try:
                self.model.load_weights(str(self.weights_path))
                self._ref = meta.get("reference")
                self.train_seconds = meta.get("train_seconds")
                return
            except Exception:  # truncated / incompatible file: retrain below
                pass
        t0 = time.perf_counter()
        self._train()
        self.train_seconds = time.perf_counter() - t0
        if cache:
            self._write(fingerprint)

    # -- construction ------------------------------------------------------------------

    def _build(self):
        import keras

        r, seed = self.internal, 1234
        x = inp = keras.Input((r, r, 3))
        for i, ch in enumerate((16, 32, 64)):
            x = keras.layers.Conv2D(ch, 3, strides=2, padding="same", use_bias=False,
                                    kernel_initializer=keras.initializers.GlorotUniform(seed + i))(x)
            x = keras.layers.BatchNormalization(momentum=0.9)(x)  # 0.9: stats settle in few steps
            x = keras.layers.ReLU()(x)
        x = keras.layers.Flatten()(x)
        x = keras.layers.Dense(128, activation="relu",
                               kernel_initializer=keras.initializers.GlorotUniform(seed + 10))(x)
        outs = {k: keras.layers.Dense(len(v), activation="softmax", name=k)(x)
                for k, v in self.categories.items()}
        outs.update({k: keras.layers.Dense(1, activation="sigmoid", name=k)(x) for k in self.continuous})
        return keras.Model(inp, outs, name=f"factor_classifier_{self.kind}")

    def _fingerprint(self):
        """Hash of a few tiny renders and the factor table: changes when the dataset does."""
        import hashlib

        proc = _procedural()
        imgs, _ = proc.synthetic(self.kind, 4, 16, seed=1)
        h = hashlib.sha1(imgs.tobytes())
        h.update(repr(sorted(proc.FACTORS[self.kind].items())).encode())
        return h.hexdigest()[:16]

    def _train(self):
        images, factors = _procedural().synthetic(self.kind, self.N_TRAIN, min(self.size, 64),
                                                  seed=self.TRAIN_SEED)
        import keras

        x = self._prepare(images)
        y = {k: factors[k] for k in list(self.categories) + self.continuous}
        steps = self.EPOCHS * -(-len(x) // self.BATCH)
        # Cosine decay to 0: the last steps settle the weights (and BatchNorm statistics),
        # which makes held-out accuracy stable from run to run.
        self.model.compile(keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(3e-3, steps)),
                           loss={k: "sparse_categorical_crossentropy" if k in self.categories else "mse"
                                 for k in y})
        self.model.fit(x, y, batch_size=self.BATCH, epochs=self.EPOCHS, shuffle=False,
                       verbose=2 if self.verbose else 0)

    def _read_meta(self):
        import json

        try:
            return json.loads(self._meta_path.read_text())
        except (OSError, ValueError):
            return None

    def _write(self, fingerprint):
        """Save weights, then the JSON note (atomically: parallel notebooks may race)."""
        import warnings

        folder = self.weights_path.parent
        try:
            with replacing(self.weights_path, suffix=".weights.h5") as tmp_w:  # Keras insists on the suffix
                with warnings.catch_warnings():  # Keras 3.15 + numpy 2.4 "__array__ copy" noise
                    warnings.filterwarnings("ignore", message="__array__ implementation",
                                            category=DeprecationWarning)
                    self.model.save_weights(str(tmp_w))
            self._write_meta(fingerprint)
        except OSError as e:  # read-only home etc.: keep the trained model, skip the cache
            warnings.warn(f"could not cache the factor classifier in {folder}: {e}")

    def _write_meta(self, fingerprint=None):
        write_json(self._meta_path, {"kind": self.kind, "size": self.size, "version": self.VERSION,
                                     "fingerprint": fingerprint or (self._read_meta() or {}).get("fingerprint"),
                                     "train_seconds": self.train_seconds, "reference": self._ref})

    # -- use -----------------------------------------------------------------------------

    def _prepare(self, images):
        """uint8 / [-1, 1] images -> float32 [N, r, r, 3] in [0, 1] at the internal size."""
        images = to_uint8(images)
        if images.shape[1] != images.shape[2]:
            raise ValueError(f"FactorClassifier: images must be square, got {images.shape[1:3]}")
        x = images.astype(np.float32) / 255.0
        if x.shape[1] != self.internal:
            import tensorflow as tf
            x = tf.image.resize(x, (self.internal, self.internal), method="area").numpy()
        return x

    def predict_proba(self, images, batch_size=512) -> dict:
        """Per factor: class probabilities [N, k] (categorical) or a value in [0, 1] [N]."""
        x = self._prepare(images)
        outs = {k: [] for k in list(self.categories) + self.continuous}
        for a in range(0, len(x), batch_size):
            y = self.model(x[a: a + batch_size], training=False)
            for k in outs:
                outs[k].append(np.asarray(y[k]))
        res = {}
        for k, v in outs.items():
            width = len(self.categories[k]) if k in self.categories else 1
            arr = np.concatenate(v) if v else np.zeros((0, width), np.float32)
            res[k] = arr if k in self.categories else arr[:, 0]
        return res

    def predict(self, images, batch_size=512) -> dict:
        """Per factor: int64 category codes (categorical) or float32 values in [0, 1]."""
        p = self.predict_proba(images, batch_size)
        return {k: (v.argmax(axis=1).astype(np.int64) if k in self.categories else v.astype(np.float32))
                for k, v in p.items()}

    def evaluate(self, n=1000, seed=None) -> dict:
        """Held-out accuracy (categorical) / mean absolute error (continuous) per factor,
        on ``n`` fresh images rendered at the classifier's real size."""
        images, factors = _procedural().synthetic(self.kind, n, self.size,
                                                  seed=self.EVAL_SEED if seed is None else seed)
        pred = self.predict(images)
        return {k: float(np.mean(pred[k] == factors[k])) if k in self.categories
                else float(np.mean(np.abs(pred[k] - factors[k]))) for k in pred}

    def balanced_accuracy(self, n=1000, seed=None) -> dict:
        """Mean per-category recall of each categorical head (chance = 1 / categories):
        unlike accuracy it is not flattered by a dominant category (76 % of faces wear no glasses)."""
        images, factors = _procedural().synthetic(self.kind, n, self.size,
                                                  seed=self.EVAL_SEED if seed is None else seed)
        pred = self.predict(images)
        out = {}
        for k, cats in self.categories.items():
            recalls = [np.mean(pred[k][factors[k] == c] == c)
                       for c in range(len(cats)) if np.any(factors[k] == c)]
            out[k] = float(np.mean(recalls))
        return out

    def histograms(self, images) -> dict:
        """Per categorical factor: the fraction of ``images`` classified into each category."""
        pred = self.predict(images)
        return {k: np.bincount(pred[k], minlength=len(c)) / max(len(pred[k]), 1)
                for k, c in self.categories.items()}

    def reference_histograms(self) -> dict:
        """Histograms of ``N_REF`` fresh synthetic images (seen through this classifier, so
        its confusions cancel against the fakes'); computed once, then cached."""
        if self._ref is None:
            images, _ = _procedural().synthetic(self.kind, self.N_REF, min(self.size, 64), seed=self.REF_SEED)
            self._ref = {k: v.tolist() for k, v in self.histograms(images).items()}
            if self._meta_path.exists():
                try:
                    self._write_meta()
                except OSError:
                    pass
        return {k: np.asarray(v) for k, v in self._ref.items()}


def _classifier(kind, size):
    """One FactorClassifier per (kind, size, cache dir) per process."""
    key = (kind, int(size), str(_cache_root()))
    if key not in _CLASSIFIERS:
        _CLASSIFIERS[key] = FactorClassifier(kind, size)
    return _CLASSIFIERS[key]


def _coverage(h_fake, h_real, clf, n_fake, reference, return_details):
    used = COVERAGE_FACTORS[clf.kind]
    per = {}
    for k, cats in clf.categories.items():
        tv = 0.5 * float(np.abs(h_fake[k] - h_real[k]).sum())
        per[k] = {"categories": cats, "fake": np.asarray(h_fake[k]).tolist(),
                  "real": np.asarray(h_real[k]).tolist(), "tv": tv, "used": k in used}
    score = float(np.mean([per[k]["tv"] for k in used]))
    if not return_details:
        return score
    return {"score": score, "factors": per, "used": list(used), "n_fake": int(n_fake), "reference": reference}


def factor_coverage(fake, kind, *, real=None, classifier=None, return_details=False):
    """Mode collapse as a number: how far the fakes' factor histograms are from the data's.

    A ``FactorClassifier`` reads the categorical factors (hair colour, glasses, ...) of
    every fake; per factor in ``COVERAGE_FACTORS[kind]`` the total-variation distance
    ``0.5 * sum |p_fake - p_real|`` between the predicted category histograms is taken,
    and the mean over factors returned: 0 = the same mix as the data, 1 = disjoint (a
    collapsed generator drawing only blond, glasses-free faces scores high). ``real``
    images (classified the same way) are the reference; by default a fresh synthetic
    sample. Use a few hundred fakes or more: with n fakes the score of a perfect
    generator is about ``sqrt(categories / n)`` / 2 from sampling noise alone.
    ``return_details=True`` returns a dict with per-factor histograms and distances.
    """
    fake = to_uint8(fake)
    if len(fake) < 1:
        raise ValueError("factor_coverage: needs at least 1 fake image")
    clf = classifier if classifier is not None else _classifier(kind, fake.shape[1])
    if clf.kind != kind:
        raise ValueError(f"factor_coverage: classifier is for {clf.kind!r}, not {kind!r}")
    if real is None:
        h_real, ref = clf.reference_histograms(), f"synthetic({kind!r}, {clf.N_REF}, seed={clf.REF_SEED})"
    else:
        real = to_uint8(real)
        h_real, ref = clf.histograms(real), f"{len(real)} real images"
    return _coverage(clf.histograms(fake), h_real, clf, len(fake), ref, return_details)


# --------------------------------------------------------------------------------------
# Trainer hook
# --------------------------------------------------------------------------------------


def make_metric(name, real_images=None, **kw):
    """A ``metric(fake_images) -> float`` for a trainer to call every N steps.

    ``name``: ``"swd"`` (needs ``real_images``; ``kw`` go to ``swd``), ``"coverage:<kind>"``
    (``real_images`` optional, default reference = fresh synthetic sample; the classifier's
    size is ``size=``, else the real images', else the fakes'), ``"fid"`` / ``"kid"`` (need
    ``real_images`` and the InceptionV3 weights; ``feature_fn=``, ``batch_size=`` and, for
    KID, ``subsets=``, ``subset_size=``, ``seed=``). Work on the real images (features,
    histograms) and the classifier are done once, on the first call. The callable's
    ``__name__`` is ``name``, for use as a history key. Fakes may be uint8 or [-1, 1] floats
    (numpy or tf). Example::

        metric = make_metric("coverage:faces", real_images)
        history["coverage"].append(metric(generator(z, training=False)))
    """
    if not isinstance(name, str):
        raise ValueError(f"metric name must be a str, got {name!r}")
    real = None if real_images is None else to_uint8(real_images)
    state = {}

    if name == "swd":
        if real is None:
            raise ValueError("make_metric('swd') needs real_images")
        try:
            inspect.signature(swd).bind(real, real, **kw)
        except TypeError as e:
            raise ValueError(f"make_metric('swd'): {e}") from None

        def metric(fake):
            return swd(real, fake, **kw)

    elif name.startswith("coverage:"):
        kind = name.split(":", 1)[1]
        kinds = _procedural().KINDS
        if kind not in kinds:
            raise ValueError(f"unknown coverage kind {kind!r} in {name!r}: expected coverage:<kind> "
                             f"with kind one of {', '.join(kinds)}")
        size = kw.pop("size", None)
        if kw:
            raise ValueError(f"make_metric({name!r}) takes only size=, got {sorted(kw)}")

        def metric(fake):
            fake = to_uint8(fake)
            if "clf" not in state:
                at = size or (real.shape[1] if real is not None else fake.shape[1])
                state["clf"] = _classifier(kind, at)
                clf = state["clf"]
                state["ref"] = clf.reference_histograms() if real is None else clf.histograms(real)
            clf = state["clf"]
            return _coverage(clf.histograms(fake), state["ref"], clf, len(fake), "", False)

    elif name in ("fid", "kid"):
        if real is None:
            raise ValueError(f"make_metric({name!r}) needs real_images")
        feature_fn = kw.pop("feature_fn", None)
        batch_size = kw.pop("batch_size", 64)
        allowed = {"subsets", "subset_size", "seed"} if name == "kid" else set()
        if set(kw) - allowed:
            raise ValueError(f"make_metric({name!r}): unexpected arguments {sorted(set(kw) - allowed)}")
        fn = feature_fn or (lambda x: inception_features(x, batch_size))

        def metric(fake):
            if "feat" not in state:
                state["feat"] = np.asarray(fn(real), np.float64)
            ff = np.asarray(fn(to_uint8(fake)), np.float64)
            fr = state["feat"]
            if name == "fid":
                return _fid_from_features(fr, ff)
            return kernel_inception_distance(fr, ff, **kw)

    else:
        raise ValueError(f"unknown metric {name!r}: expected 'swd', 'coverage:<kind>', 'fid' or 'kid'")
    metric.__name__ = name
    return metric
