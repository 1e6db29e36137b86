"""Nearest-neighbour distances: does a generator copy its training images?

A generator that memorised its training set draws samples that sit much closer to some training image
than unseen real images do. ``memorisation`` compares the nearest-training-image distances of the
samples with those of held-out real images (both against the same training set, since a nearest
neighbour is nearer in a larger set).
The distances are root-mean-square pixel differences in [0, 1] units, computed on the images as given
(no features), as in the memorisation checks of Webster et al. (2019, "Detecting overfitting of deep
generative networks via latent recovery") in their simplest, pixel-space form.
"""

from __future__ import annotations

import numpy as np

from ._common import _fake, _real

__all__ = ["nearest_distances", "memorisation", "near_duplicates", "coverage"]


def _pairwise(a, b, chunk=256):
    """RMS pixel distances (in [0, 1] units) between every row of ``a`` and of ``b`` (float32 [N, D],
    [M, D] in [0, 1]): float64 ``[N, M]``."""
    bb = (b * b).sum(1)
    out = np.empty((len(a), len(b)))
    for i in range(0, len(a), chunk):
        x = a[i:i + chunk]
        d2 = (x * x).sum(1)[:, None] + bb[None, :] - 2.0 * x @ b.T
        out[i:i + chunk] = np.sqrt(np.maximum(d2, 0.0) / a.shape[1])
    return out


def nearest_distances(images, reference, chunk=256, exclude_self=False):
    """For each image, the RMS pixel distance (in [0, 1] units) to its nearest image in ``reference``.

    ``images`` [N, H, W, 3] (e.g. a generator's samples) and ``reference`` [M, H, W, 3] (the reader's
    images), uint8 (0..255) or floats in [-1, 1] (the same size); a float ``reference`` with no negative
    value warns (``ImageRangeWarning``: probably [0, 1] data), ``images`` never do. ``exclude_self=True``
    (``reference`` is ``images``): the nearest *other* image, so an image is not its own neighbour. Returns
    float64 ``[N]``. Raises ``ValueError`` for floats outside [-1.05, 1.05], if the sizes differ, a set is
    empty, or ``exclude_self`` is asked of sets of different lengths or of a single image."""
    a = _fake(images, "nearest_distances' images")
    b = a if exclude_self and reference is images else _real(reference, "nearest_distances' reference")
    a = a.reshape(len(a), -1).astype(np.float32) / 255.0
    b = b.reshape(len(b), -1).astype(np.float32) / 255.0
    if a.shape[1] != b.shape[1] or not len(a) or not len(b):
        raise ValueError(f"need two non-empty sets of images of one size, got {np.shape(images)} and "
                         f"{np.shape(reference)}")
    if exclude_self and (len(a) != len(b) or len(a) < 2):
        raise ValueError(f"exclude_self needs one set of at least 2 images given twice, got {len(a)} "
                         f"and {len(b)}")
    out = np.empty(len(a))
    for i in range(0, len(a), chunk):
        d = _pairwise(a[i:i + chunk], b, chunk)
        if exclude_self:
            d[np.arange(len(d)), np.arange(i, i + len(d))] = np.inf
        out[i:i + chunk] = d.min(1)
    return out


def memorisation(fake, train, held_out):
    """Nearest-neighbour check of generated images against the training images.

    Each fake's distance to its nearest training image is compared with the same distance for
    held-out real images (real images the generator never saw, measured against the same training
    set, so the set sizes match). Returns ``{"fake_median", "held_out_median", "ratio",
    "near_copies"}``: the two medians (RMS pixel distance in [0, 1] units), their ratio (about 1, or
    above for a generator that does not copy; well below 1 for one that does), and the fraction of
    fakes nearer to a training image than all but 1 % of the held-out images are (about 0.01
    without copying; near 1 for a generator that reproduces its training images).
    Images: uint8 (0..255) or floats in [-1, 1] of one size; ``train`` or ``held_out`` as floats with no
    negative value warn (``ImageRangeWarning``: probably [0, 1] data); floats outside [-1.05, 1.05] raise
    ``ValueError``.
    """
    fake = _fake(fake, "memorisation's fake images")
    train = _real(train, "memorisation's training images")
    held_out = _real(held_out, "memorisation's held-out images")
    to_train = nearest_distances(fake, train)
    baseline = nearest_distances(held_out, train)
    return {"fake_median": round(float(np.median(to_train)), 4),
            "held_out_median": round(float(np.median(baseline)), 4),
            "ratio": round(float(np.median(to_train) / np.median(baseline)), 3),
            "near_copies": round(float(np.mean(to_train < np.percentile(baseline, 1))), 3)}


def near_duplicates(fake, real):
    """Nearest-neighbour check of generated images against *each other*: a number for mode collapse.

    A collapsed generator maps many noise vectors to a few near-identical images, so its samples sit
    much closer to their nearest other sample than real images sit to theirs. ``fake`` and ``real``:
    two sets of the same size N >= 2 (uint8 or floats in [-1, 1]; the distance to a nearest neighbour
    shrinks as a set grows, so the sizes must match). Returns ``{"fake_median", "real_median", "ratio",
    "duplicates"}``: the median distance of each image to its nearest other image in its own set (RMS
    pixel difference in [0, 1] units), their ratio (about 1 for a generator as varied as the data,
    near 0 for a collapsed one), and the fraction of fakes nearer to another fake than all but 1 % of
    the real images are to another real image (about 0.01 without collapse, near 1 with it).
    Raises ``ValueError`` if the sets differ in size or hold fewer than 2 images, or for floats outside
    [-1.05, 1.05]; a float ``real`` set with no negative value warns (``ImageRangeWarning``).
    """
    fake = _fake(fake, "near_duplicates' fake images")
    real = _real(real, "near_duplicates' real images")
    if len(fake) != len(real):
        raise ValueError(f"near_duplicates needs sets of the same size (a nearest neighbour is nearer in a "
                         f"larger set), got {len(fake)} fakes and {len(real)} real images")
    among_fakes = nearest_distances(fake, fake, exclude_self=True)
    among_real = nearest_distances(real, real, exclude_self=True)
    return {"fake_median": round(float(np.median(among_fakes)), 4),
            "real_median": round(float(np.median(among_real)), 4),
            "ratio": round(float(np.median(among_fakes) / np.median(among_real)), 3),
            "duplicates": round(float(np.mean(among_fakes < np.percentile(among_real, 1))), 3)}


def coverage(fake, real, k=5):
    """Coverage (Naeem et al. 2020, "Reliable fidelity and diversity metrics for generative models"):
    the fraction of real images with at least one fake inside their k-nearest-neighbour ball.

    Around each real image draw the ball whose radius is its distance to its k-th nearest *other* real
    image; a real image is covered when some fake falls inside its ball. Two large samples of one
    distribution, of equal size, cover about 1 - 2^-k of the real images (0.97 at k = 5, the paper's
    choice); a collapsed generator, whose fakes sit in a few places, covers only the real images near
    those places. ``fake`` [N, H, W, 3] and ``real`` [M, H, W, 3]
    (uint8 or floats in [-1, 1], one size; M > k), distances in pixel space as in this module. Returns
    a float in [0, 1]. Raises ``ValueError`` for sets of different image sizes, an empty set, floats
    outside [-1.05, 1.05], or ``k`` not in 1..M-1; a float ``real`` set with no negative value warns
    (``ImageRangeWarning``: probably [0, 1] data)."""
    a = _real(real, "coverage's real images")
    b = _fake(fake, "coverage's fake images")
    a = a.reshape(len(a), -1).astype(np.float32) / 255.0
    b = b.reshape(len(b), -1).astype(np.float32) / 255.0
    if a.shape[1] != b.shape[1] or not len(a) or not len(b):
        raise ValueError(f"need two non-empty sets of images of one size, got {np.shape(fake)} and "
                         f"{np.shape(real)}")
    if not isinstance(k, int) or not 1 <= k < len(a):
        raise ValueError(f"k must be an int from 1 to {len(a) - 1} (the real images less one), got {k!r}")
    among_real = _pairwise(a, a)
    np.fill_diagonal(among_real, np.inf)
    radius = np.sort(among_real, axis=1)[:, k - 1]
    nearest_fake = _pairwise(a, b).min(1)
    return float(np.mean(nearest_fake < radius))
