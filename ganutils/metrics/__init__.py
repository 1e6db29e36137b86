"""Numbers for how good (and how varied) generated images are.

- ``swd(real, fake)``: multi-scale sliced Wasserstein distance (Karras et al. 2018), numpy
  only, a few seconds on a CPU; good for tracking a run every N steps.
- ``fid(real, fake)`` / ``kid(real, fake)``: Fréchet / kernel Inception distance on
  InceptionV3 pool features (the ImageNet weights are downloaded on first use).
- ``factor_distance(fake, kind)``: how far the generated images' factor histograms (hair
  colour, iris colour, ...) are from the embedded dataset's (0 = the same mix); a number for mode
  collapse. ``factor_coverage`` is its old name, kept for older code.
- ``memorisation(fake, train, held_out)``: nearest-neighbour distances of samples to training
  against held-out images (does the generator copy its training set?); ``near_duplicates(fake, real)``:
  samples' distances to each other against real images' (has the generator collapsed?);
  ``coverage(fake, real)``: the share of real images with a sample among their nearest neighbours
  (Naeem et al. 2020; not ``factor_coverage``, the old name of factor distance).
- ``checkerboard(images)``: the grid that stride-2 transposed convolutions leave (Odena et al. 2016), the
  power at its frequencies over the power next to them (≈ 1 without a grid); ``spectrum_ratio(fake, real)``:
  the samples' radial power spectrum against real images' (Durall et al. 2020), which tells blur from a
  clean image; ``spectrum_report(fake, real)``: both, with ``checkerboard(real)`` as the floor.
- ``make_metric(name, real_images)``: a ``metric(fake_images) -> float`` for a trainer.

All functions take images as uint8 ``[N, H, W, 3]`` (0..255) or float in [-1, 1] (numpy or tf), converted
and checked by ``to_uint8`` (the same function as ``ganutils.viz.to_uint8``, with the one rule of
``ganutils.data.check_range``): floats outside [-1.05, 1.05] (0..255 floats, say) raise ``ValueError``
naming the range seen; the reader's images (real, training, held-out) as floats with no negative value
warn with ``ImageRangeWarning`` (probably [0, 1] data); a generator's samples never warn.
One module per family: ``sliced_wasserstein`` (SWD), ``inception`` (FID, KID and the distances on
features), ``factors`` (the factor classifier and factor distance), ``spectrum`` (power spectra); this
package re-exports their public names and holds ``make_metric``. Importing it is cheap: TensorFlow/Keras
are imported only where needed.
"""

from __future__ import annotations

import inspect

import numpy as np

from ._common import _fake, _real, to_uint8
from .factors import (COVERAGE_FACTORS, FactorClassifier, _classifier, _coverage, _procedural,
                      factor_coverage, factor_distance)
from .inception import (INCEPTION_WEIGHTS_FILE, INCEPTION_WEIGHTS_MD5, INCEPTION_WEIGHTS_URL,
                        _fid_from_features, fid, frechet_distance, inception_features, kernel_inception_distance, kid)
from .neighbours import coverage, memorisation, near_duplicates, nearest_distances
from .sliced_wasserstein import SWD_MIN_IMAGES, SWD_MIN_SIZE, swd
from .spectrum import (checkerboard, default_levels, grid_bins, power_spectrum, radial_spectrum, spectrum_ratio,
                       spectrum_report)

__all__ = [
    "to_uint8", "swd", "frechet_distance", "kernel_inception_distance",
    "inception_features", "fid", "kid", "FactorClassifier", "factor_distance", "factor_coverage",
    "coverage", "make_metric", "memorisation", "near_duplicates", "nearest_distances",
    "checkerboard", "default_levels", "grid_bins", "power_spectrum", "radial_spectrum", "spectrum_ratio", "spectrum_report",
    "COVERAGE_FACTORS", "SWD_MIN_IMAGES", "SWD_MIN_SIZE",
    "INCEPTION_WEIGHTS_FILE", "INCEPTION_WEIGHTS_URL", "INCEPTION_WEIGHTS_MD5",
]


# --------------------------------------------------------------------------------------
# Trainer hook
# --------------------------------------------------------------------------------------


def make_metric(name, real_images=None, **kw):
    """A ``metric(fake_images) -> float`` for a trainer to call every N steps.

    ``name``: ``"swd"`` (needs ``real_images``; ``kw`` go to ``swd``), ``"factor_distance:<kind>"``
    (``factor_distance``; ``real_images`` optional, default reference = fresh synthetic sample; the
    classifier's size is ``size=``, else the real images', else the fakes'; ``"coverage:<kind>"`` is its
    old name and still works), ``"fid"`` / ``"kid"`` (need
    ``real_images`` and the InceptionV3 weights; ``feature_fn=``, ``batch_size=`` and, for
    KID, ``subsets=``, ``subset_size=``, ``seed=``). Work on the real images (features,
    histograms) and the classifier are done once, on the first call. The callable's
    ``__name__`` is ``name``, for use as a history key. Images may be uint8 (0..255) or [-1, 1] floats
    (numpy or tf); ``real_images`` are checked here (``ValueError`` outside [-1.05, 1.05];
    ``ImageRangeWarning`` for floats with no negative value), fakes on each call. Example::

        metric = make_metric("factor_distance:faces", real_images)
        history["factor_distance"].append(metric(generator(z, training=False)))
    """
    if not isinstance(name, str):
        raise ValueError(f"metric name must be a str, got {name!r}")
    real = None if real_images is None else _real(real_images, f"make_metric({name!r})'s real_images")
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

    elif name.startswith(("factor_distance:", "coverage:")):
        prefix, kind = name.split(":", 1)
        kinds = _procedural().KINDS
        if kind not in kinds:
            raise ValueError(f"unknown {prefix} kind {kind!r} in {name!r}: expected {prefix}:<kind> "
                             f"with kind one of {', '.join(kinds)}")
        size = kw.pop("size", None)
        if kw:
            raise ValueError(f"make_metric({name!r}) takes only size=, got {sorted(kw)}")

        def metric(fake):
            fake = _fake(fake, f"metric {name!r}'s fake images")
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
            ff = np.asarray(fn(_fake(fake, f"metric {name!r}'s fake images")), np.float64)
            fr = state["feat"]
            if name == "fid":
                return _fid_from_features(fr, ff)
            return kernel_inception_distance(fr, ff, **kw)

    else:
        raise ValueError(f"unknown metric {name!r}: expected 'swd', 'factor_distance:<kind>' "
                         f"(old name 'coverage:<kind>'), 'fid' or 'kid'")
    metric.__name__ = name
    return metric
