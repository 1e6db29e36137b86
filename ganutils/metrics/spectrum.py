"""The images' power spectra: checkerboard artifacts and missing (or extra) high frequencies.

A generator that upsamples with stride-2 transposed convolutions paints a faint grid on its images
(Odena et al. 2016, "Deconvolution and checkerboard artifacts"): each layer's kernel overlaps its
neighbours unevenly, or its four sub-pixel phases have different weights, so the output carries a
pattern of period 2 px, and ``L`` stacked layers one of period 2, 4, … 2^L px. In the 2-D power
spectrum of an ``N``-pixel-wide image such a pattern is a set of peaks at the multiples of ``N / 2^L``
cycles per image; ``checkerboard`` measures them against the bins around them.

A grid is not the only thing a generator gets wrong in the spectrum: blur, which removes the grid,
removes the high frequencies too (Durall et al. 2020, "Watch your up-convolution: CNN based generative
deep neural networks are failing to reproduce spectral distributions"). ``spectrum_ratio`` compares the
samples' radial power spectrum with real images'; ``spectrum_report`` gives both numbers for the samples
next to the same numbers for real images, the floor a sample set can reach::

    spectrum_report(fake, real)   # the shipped anime64 generator against 256 anime photographs:
    # {"checkerboard": 7.8, "checkerboard_real": 1.0, "mean_abs_log_ratio": 0.65, "high_power_ratio": 0.73}

The book's shipped generators (``ganutils.pretrained``, 256 samples each) all carry a grid: anime64 7.8
and eyes128 10.6 against 1.0 and 1.1 for their real photographs, faces28 1.5 against 1.0 (``levels=2``).

All functions take images as uint8 ``[N, H, W, 3]`` or floats in [-1, 1] (``to_uint8``), and compute on
their luma (ITU-R BT.601: ``0.299 R + 0.587 G + 0.114 B``, in grey levels 0..255), numpy only. Before the
FFT each image loses its mean and its "smooth component" (Moisan 2011, "Periodic plus smooth image
decomposition"): the DFT treats an image as periodic, and the jump between its opposite borders would
otherwise put a cross of power on the axes of the spectrum, peaks at the grid bins of the axes included;
a pattern whose period divides the image size is periodic and stays whole.
"""

from __future__ import annotations

import numpy as np

from ._common import _pair, to_uint8

__all__ = ["power_spectrum", "grid_bins", "default_levels", "checkerboard", "radial_spectrum", "spectrum_ratio",
           "spectrum_report"]

_LUMA = np.array([0.299, 0.587, 0.114])  # ITU-R BT.601
_CHUNK = 64  # images per FFT batch: bounds the memory to a few complex copies of 64 images


def _luma(images):
    """uint8 ``[N, H, W, 3]`` -> float64 luma ``[N, H, W]`` in grey levels 0..255."""
    return images.astype(np.float64) @ _LUMA


def _periodic(y):
    """The DFT of the periodic component of each image of ``y`` (float64 ``[N, H, W]``), mean removed
    (Moisan 2011): ``p = y - s``, where the smooth component ``s`` solves Laplace's equation with the
    jumps across the image's opposite borders as its source. Returns complex ``[N, H, W]``, DC = 0."""
    n, h, w = y.shape
    v = np.zeros_like(y)
    v[:, 0, :] += y[:, -1, :] - y[:, 0, :]
    v[:, -1, :] += y[:, 0, :] - y[:, -1, :]
    v[:, :, 0] += y[:, :, -1] - y[:, :, 0]
    v[:, :, -1] += y[:, :, 0] - y[:, :, -1]
    q = np.arange(h)[:, None]
    r = np.arange(w)[None, :]
    denom = 2 * np.cos(2 * np.pi * q / h) + 2 * np.cos(2 * np.pi * r / w) - 4
    denom[0, 0] = 1.0
    p = np.fft.fft2(y) - np.fft.fft2(v) / denom
    p[:, 0, 0] = 0.0
    return p


def power_spectrum(images):
    """The mean 2-D power spectrum of the images' luma: float64 ``[H, W]``.

    ``images``: uint8 ``[N, H, W, 3]`` or floats in [-1, 1]. Bin ``[u, v]`` holds ``|DFT|^2`` at ``u``
    cycles per image height and ``v`` per width (numpy's unshifted order: ``u >= H / 2`` are the negative
    frequencies ``u - H``), averaged over the images, in grey levels^2 × pixels^2 (Parseval: the bins sum
    to ``H·W`` times the sum of squares of the luma's periodic component); the DC bin ``[0, 0]`` is 0
    (each image's mean is removed). Raises ``ValueError`` for an empty batch or what ``to_uint8`` refuses.
    """
    x = to_uint8(images, where="power_spectrum's images")
    if len(x) == 0:
        raise ValueError("power_spectrum needs at least one image, got an empty batch")
    total = np.zeros(x.shape[1:3])
    for i in range(0, len(x), _CHUNK):
        total += (np.abs(_periodic(_luma(x[i:i + _CHUNK]))) ** 2).sum(0)
    return total / len(x)


def grid_bins(size, levels=3):
    """The frequencies at which ``levels`` stacked stride-2 upsamplings leave a grid in images ``size``
    pixels wide: the multiples of ``size / 2^levels`` cycles per image below ``size`` (numpy's unshifted
    order), e.g. ``grid_bins(64) == [0, 8, 16, 24, 32, 40, 48, 56]`` (periods 8, 4, 8/3, 2 px, …).

    Raises ``ValueError`` unless ``size`` is divisible by ``2^levels`` with at least two pixels to spare
    per period (``size >= 2^(levels + 1)``), so that every grid bin has neighbours that are not grid bins;
    ``levels`` must be an int >= 1.
    """
    if not isinstance(levels, (int, np.integer)) or isinstance(levels, bool) or levels < 1:
        raise ValueError(f"levels must be an int >= 1, got {levels!r}")
    period = 2 ** levels
    if size % period or size < 2 * period:
        try:
            hint = f"; levels={default_levels(size, most=levels - 1)} fits size {size}" if levels > 1 else ""
        except ValueError:   # not even one level fits
            hint = ""
        raise ValueError(f"checkerboard(levels={levels}) needs image sides divisible by {period} and at "
                         f"least {2 * period} pixels, got {size}{hint}")
    return list(range(0, size, size // period))


def _grid_ratios(p, levels):
    """Per grid bin: its power over the mean power of its 8 neighbours that are not grid bins.
    Returns ``(ratios, periods)``: float64 arrays over the ``4^levels - 1`` grid bins, ``periods`` the
    finest period (2, 4, … 2^levels px) of the pattern each bin belongs to."""
    h, w = p.shape
    gu, gv = grid_bins(h, levels), grid_bins(w, levels)
    on_grid = np.zeros((h, w), bool)
    on_grid[np.ix_(gu, gv)] = True
    eps = 1e-12 * p.mean() + 1e-300  # constant images: 0 / 0 -> 1
    ratios, periods = [], []
    for u in gu:
        for v in gv:
            if u == 0 and v == 0:
                continue
            near = [p[(u + du) % h, (v + dv) % w] for du in (-1, 0, 1) for dv in (-1, 0, 1)
                    if not on_grid[(u + du) % h, (v + dv) % w]]
            ratios.append((p[u, v] + eps) / (np.mean(near) + eps))
            # the coarsest step dividing both u / (h / 2^levels) and v / (w / 2^levels) sets the period
            k = np.gcd(np.gcd(u // (h >> levels), v // (w >> levels)), 2 ** levels)
            periods.append(2 ** levels // k)
    return np.array(ratios), np.array(periods)


def default_levels(*sides, most=3):
    """The ``levels`` that ``checkerboard`` uses when given none: the most stacked stride-2 upsamplings,
    at most ``most`` (3: periods 2, 4 and 8 px), whose grid fits every side (``grid_bins``): 3 for 64-
    and 128-px images, 2 for 28-px ones (28 = 7 × 2 × 2), 1 for 18-px ones. Raises ``ValueError`` when
    not even one fits (an odd side, or one under 4 px)."""
    fits = [lv for lv in range(1, most + 1)
            if all(side % 2 ** lv == 0 and side >= 2 ** (lv + 1) for side in sides)]
    if not fits:
        raise ValueError(f"checkerboard needs image sides divisible by 2 and at least 4 pixels, got "
                         f"{'x'.join(str(s) for s in sides)}")
    return fits[-1]


def checkerboard(images, levels=None, *, by_period=False):
    """How strongly the images carry the grid of ``levels`` stacked stride-2 upsamplers: ≈ 1 without
    one, larger with one (Odena et al. 2016).

    The mean power spectrum of the luma (``power_spectrum``) is read at every grid bin ``(u, v)``: ``u``
    and ``v`` multiples of ``N / 2^levels`` (``grid_bins``), ``(N/2, N/2)`` included, ``(0, 0)`` excluded,
    ``4^levels - 1`` bins; each bin's power is divided by the mean power of its 8 immediate neighbours
    that are not themselves grid bins, and the score is the mean of these ratios. A smooth spectrum gives
    ratios near 1 (slightly below at low frequencies, where the spectrum falls steeply); a ±10-grey-level
    checkerboard of period 2 px over 256 embedded 64-px faces gives 227 (the faces alone 0.98).

    ``images``: uint8 ``[N, H, W, 3]`` or floats in [-1, 1], with ``H`` and ``W`` divisible by
    ``2^levels`` (64-px images: ``levels`` up to 5; 28-px: ``levels=2``). ``levels``: how many stacked
    stride-2 upsamplings to look for (3: periods 2, 4 and 8 px); ``None`` (the default) takes
    ``default_levels`` of the image size: 3, or fewer where the size does not fit 3 (28 px: 2).
    ``by_period=True`` returns a dict ``{2: score, 4: score, …}``: the mean ratio over the bins of each
    period (the bins of period 4 are the multiples of ``N/4`` that are not multiples of ``N/2``, and so
    on) — which layer left the grid.

    Report it next to ``checkerboard(real)`` for real images of the same size (``spectrum_report`` does
    both): real photographs need not score exactly 1 (resized ones carry their resampler's traces: 256 of
    the book's eye photographs at 128 px score 1.1, anime faces at 64 px 1.0), and they are the floor a
    generator can reach. Two sets of 256 embedded images score within ±0.05 of 1; 256 images is enough.

    Returns a float (or the dict). Raises ``ValueError`` for sizes the grid does not fit (``grid_bins``),
    an empty batch, or what ``to_uint8`` refuses.
    """
    x = to_uint8(images, where="checkerboard's images")
    if levels is None:
        levels = default_levels(*x.shape[1:3])
    for side in x.shape[1:3]:
        grid_bins(side, levels)   # the clear message before any FFT
    ratios, periods = _grid_ratios(power_spectrum(x), levels)
    if by_period:
        return {int(t): float(ratios[periods == t].mean()) for t in sorted(set(periods.tolist()))}
    return float(ratios.mean())


def radial_spectrum(images):
    """The azimuthally averaged power spectrum of the images' luma (Durall et al. 2020).

    ``images``: uint8 ``[N, S, S, 3]`` or floats in [-1, 1], square, ``S >= 8``. Every bin of the mean
    2-D power spectrum (``power_spectrum``) at frequency ``(u, v)`` (signed, cycles per image) goes to the
    radius ``round(sqrt(u² + v²))``, from 1 to ``R = round(S / √2)``: the rings beyond ``S / 2`` (the
    Nyquist frequency along an axis) are the spectrum's corners, incomplete but averaged over the bins they
    have, and a checkerboard of period 2 px lives there (radius ``S / √2``). Returns ``(radius, power)``:
    int ``[R]`` and float64 ``[R]``, the mean power per bin at each radius, normalised to sum 1 (so that
    curves of darker or paler image sets compare by shape). Raises ``ValueError`` for non-square or
    smaller images.
    """
    x = to_uint8(images, where="radial_spectrum's images")
    h, w = x.shape[1:3]
    if h != w or h < 8:
        raise ValueError(f"radial_spectrum needs square images of at least 8x8 pixels, got {h}x{w}")
    p = power_spectrum(x)
    f = np.fft.fftfreq(h, 1.0 / h)
    rad = np.rint(np.hypot(f[:, None], f[None, :])).astype(int)
    radius = np.arange(1, rad.max() + 1)
    sums = np.bincount(rad.ravel(), weights=p.ravel())[radius]
    counts = np.bincount(rad.ravel())[radius]
    power = sums / counts
    total = power.sum()
    return radius, power / total if total > 0 else np.full(len(radius), 1.0 / len(radius))


def spectrum_ratio(fake, real):
    """How far the samples' radial power spectrum is from real images' (Durall et al. 2020).

    ``fake``, ``real``: image sets of the same square size (uint8 ``[N, S, S, 3]`` or floats in [-1, 1];
    a few hundred each). Both radial spectra (``radial_spectrum``, normalised to sum 1) are compared
    radius by radius. Returns a dict:

    - ``radius``: int ``[R]``, 1 … ``R = round(S / √2)`` cycles per image (``S / 2``: period 2 px along an
      axis; the radii beyond it are the spectrum's corners);
    - ``log_ratio``: float64 ``[R]``, ``ln(P_fake / P_real)`` per radius: 0 where the samples have
      real images' share of power, negative where they miss it (blur), positive where they have too much
      (a grid, noise);
    - ``mean_abs_log_ratio``: the mean of ``|log_ratio|`` over the upper frequencies (radii above
      ``S / 4``, half the Nyquist frequency, corners included), in natural-log units (0.69 = off by a
      factor 2 on average); two sets of 256 embedded faces give 0.04, of 256 anime photographs 0.02;
    - ``high_power_ratio``: the share of the power above ``S / 4`` in the samples over the same share in
      the real images (1 = as real; blur < 1, a grid or noise > 1).

    Blur removes the checkerboard and the high frequencies with it: a low ``checkerboard`` with a
    ``high_power_ratio`` far below 1 is a blurry generator, not a good one. Raises ``ValueError`` for
    sets of different sizes, non-square images, or what ``to_uint8`` refuses.
    """
    real, fake = _pair(real, fake, 1, "spectrum_ratio")
    radius, pf = radial_spectrum(fake)
    _, pr = radial_spectrum(real)
    tiny = 1e-300
    log_ratio = np.log((pf + tiny) / (pr + tiny))
    high = radius > fake.shape[1] / 4
    return {"radius": radius, "log_ratio": log_ratio,
            "mean_abs_log_ratio": float(np.abs(log_ratio[high]).mean()),
            "high_power_ratio": float((pf[high].sum() + tiny) / (pr[high].sum() + tiny))}


def spectrum_report(fake, real, levels=None):
    """The samples' spectral numbers next to real images': a dict with ``checkerboard`` (the samples'),
    ``checkerboard_real`` (the real images', the floor: "no checkerboard" means as low as this),
    ``mean_abs_log_ratio`` and ``high_power_ratio`` (``spectrum_ratio``; real against real would give 0
    and 1). ``fake``, ``real``: image sets of the same square size, uint8 or floats in [-1, 1]; ``levels``
    as in ``checkerboard``. Raises ``ValueError`` as ``checkerboard`` and ``spectrum_ratio`` do."""
    real, fake = _pair(real, fake, 1, "spectrum_report")
    ratio = spectrum_ratio(fake, real)
    return {"checkerboard": checkerboard(fake, levels), "checkerboard_real": checkerboard(real, levels),
            "mean_abs_log_ratio": ratio["mean_abs_log_ratio"], "high_power_ratio": ratio["high_power_ratio"]}
