"""Distances on InceptionV3 features: FID (Heusel et al. 2017) and KID (Bińkowski et al. 2018).

``frechet_distance`` and ``kernel_inception_distance`` work on any feature arrays (numpy only);
``inception_features``, ``fid`` and ``kid`` need Keras and the ImageNet weights of InceptionV3, downloaded
on first use through ``ganutils.data.download``. TensorFlow/Keras are imported only when features are
computed.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import numpy as np
import scipy.linalg

from ._common import _fake, _pair

__all__ = ["frechet_distance", "kernel_inception_distance", "inception_features", "fid", "kid",
           "INCEPTION_WEIGHTS_FILE", "INCEPTION_WEIGHTS_URL", "INCEPTION_WEIGHTS_MD5"]


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
    from ..data import fetch

    keras_copy = _keras_home() / "models" / INCEPTION_WEIGHTS_FILE
    if keras_copy.is_file() and fetch._hash_file(keras_copy, "md5") == INCEPTION_WEIGHTS_MD5:
        return keras_copy
    folder = fetch.cache_dir() / "models"
    try:
        return fetch.download(INCEPTION_WEIGHTS_URL, dest_dir=folder, filename=INCEPTION_WEIGHTS_FILE,
                              md5=INCEPTION_WEIGHTS_MD5)
    except (OSError, ValueError) as e:  # no network, blocked host, an error page, a bad digest...
        # at most 80 columns a line (a chapter prints it after "FID not computed: "), except the
        # URL and the paths, each on a line of its own
        failed = textwrap.fill(f"but the download failed here: {type(e).__name__}: {e}.", 80,
                               break_long_words=False, break_on_hyphens=False)
        raise RuntimeError(
            "FID/KID need the ImageNet weights of InceptionV3\n"
            "(about 84 MB). They are downloaded on first use (this works in Colab) from\n"
            f"  {INCEPTION_WEIGHTS_URL}\n"
            f"{failed}\n"
            "Without a network, download that file elsewhere and put it at\n"
            f"  {folder / INCEPTION_WEIGHTS_FILE}\n"
            f"(or at {keras_copy})."
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
    """InceptionV3 pool features ``[N, 2048]`` (float64) of images ``[N, H, W, 3]``, uint8 (0..255) or
    floats in [-1, 1] (refused outside [-1.05, 1.05]; no warning for all-bright images, which may be a
    generator's: ``fid`` and ``kid`` check the real images' range).

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

    images = _fake(images, "inception_features' images")
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
    ``feature_fn(uint8 images) -> [N, d]`` replaces InceptionV3. Images ``[N, H, W, 3]``: uint8 (0..255)
    or floats in [-1, 1] (``ValueError`` outside [-1.05, 1.05], naming the range seen); float ``real``
    images with no negative value warn (``ImageRangeWarning``: probably [0, 1] data, use ``x * 2 - 1``).
    """
    return _fid_from_features(*_features(real, fake, batch_size, feature_fn, "fid"))


def _fid_from_features(fr, ff):
    return frechet_distance(fr.mean(0), np.cov(fr, rowvar=False), ff.mean(0), np.cov(ff, rowvar=False))


def kid(real, fake, batch_size=64, *, feature_fn=None, subsets=100, subset_size=1000) -> float:
    """Kernel Inception Distance between two image sets (see ``kernel_inception_distance``).

    Same features, weights, pitfalls and image ranges as ``fid``, but unbiased, so usable with a few
    hundred samples. Often reported x 1000.
    """
    fr, ff = _features(real, fake, batch_size, feature_fn, "kid")
    return kernel_inception_distance(fr, ff, subsets=subsets, subset_size=subset_size)
