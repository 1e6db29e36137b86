"""The spectral metrics: the checkerboard measure finds a grid and nothing else, the radial spectrum ratio
finds blur, on the embedded faces (CI has no photographs)."""

import numpy as np
import pytest
import scipy.ndimage

from ganutils import metrics, models
from ganutils.data import synthetic
from ganutils.metrics import spectrum


@pytest.fixture(scope="module")
def faces():
    """Two independent sets of 96 embedded faces at 64 px (uint8)."""
    return synthetic("faces", 96, size=64, seed=0)[0], synthetic("faces", 96, size=64, seed=1)[0]


def with_pattern(images, pattern, amplitude=10):
    """``images`` + ``amplitude`` grey levels × ``pattern`` (a [H, W] array in [-1, 1]), clipped, uint8."""
    out = images.astype(np.int32) + np.rint(amplitude * pattern).astype(np.int32)[None, :, :, None]
    return np.clip(out, 0, 255).astype(np.uint8)


def blurred(images, sigma):
    return np.clip(np.rint(scipy.ndimage.gaussian_filter(images.astype(np.float64), (0, sigma, sigma, 0))),
                   0, 255).astype(np.uint8)


YY, XX = np.mgrid[:64, :64]
CHECKER = (-1.0) ** (YY + XX)                                          # period 2 px both ways: bin (32, 32)
DOTS = np.where((YY % 2 == 0) & (XX % 2 == 0), 1.0, -1.0)             # a stride-2 layer's uneven overlap
STRIPES4 = np.where(XX % 4 < 2, 1.0, -1.0)                            # period 4 px along x only


def test_the_public_names_are_exported_from_metrics():
    for name in spectrum.__all__:
        assert getattr(metrics, name) is getattr(spectrum, name)


def test_clean_images_score_about_one(faces):
    for x in faces:
        assert 0.8 < metrics.checkerboard(x) < 1.25


@pytest.mark.parametrize("pattern", [CHECKER, DOTS], ids=["checker", "dots"])
def test_a_period_2_grid_of_10_grey_levels_scores_far_above_the_clean_images(faces, pattern):
    clean = metrics.checkerboard(faces[0])
    gridded = metrics.checkerboard(with_pattern(faces[0], pattern))
    assert gridded >= 1.5 * clean
    # it is the period-2 bins that carry it
    periods = metrics.checkerboard(with_pattern(faces[0], pattern), by_period=True)
    assert list(periods) == [2, 4, 8]
    assert periods[2] > 10 and periods[4] < 2 and periods[8] < 2


def test_by_period_names_the_layer_that_left_the_grid(faces):
    periods = metrics.checkerboard(with_pattern(faces[0], STRIPES4), by_period=True)
    assert periods[4] > 10 * periods[8] and periods[4] > 10
    # a pattern of period 4 px has harmonics at N/4 and 3N/4 only: the period-2 bins stay near 1
    assert periods[2] < 2


def test_a_grid_of_half_a_grey_level_still_shows(faces):
    """Faint grids: ±1 grey level on every other pixel of each row and column, quantised to uint8."""
    faint = with_pattern(faces[0], DOTS, amplitude=1)
    assert metrics.checkerboard(faint) > 1.5 * metrics.checkerboard(faces[0])


def test_blur_scores_low_on_the_grid_and_far_from_real_on_the_radial_ratio(faces):
    x, real = faces
    soft = blurred(with_pattern(x, DOTS), 1.5)   # blur removes the grid...
    assert metrics.checkerboard(soft) < 1.25
    assert metrics.checkerboard(soft) < 0.1 * metrics.checkerboard(with_pattern(x, DOTS))
    r = metrics.spectrum_ratio(soft, real)       # ...and the high frequencies with it
    floor = metrics.spectrum_ratio(x, real)
    assert floor["mean_abs_log_ratio"] < 0.2 and 0.8 < floor["high_power_ratio"] < 1.25
    assert r["mean_abs_log_ratio"] > 1.0 and r["mean_abs_log_ratio"] > 10 * floor["mean_abs_log_ratio"]
    assert r["high_power_ratio"] < 0.1
    assert np.all(r["log_ratio"][r["radius"] > 16] < -1)   # every upper radius short by more than e


def test_the_report_puts_the_real_images_floor_next_to_the_samples(faces):
    x, real = faces
    rep = metrics.spectrum_report(with_pattern(x, CHECKER), real)
    assert set(rep) == {"checkerboard", "checkerboard_real", "mean_abs_log_ratio", "high_power_ratio"}
    assert rep["checkerboard_real"] == pytest.approx(metrics.checkerboard(real))
    assert rep["checkerboard"] > 10 * rep["checkerboard_real"]
    assert rep["high_power_ratio"] > 1.2            # a grid adds high-frequency power


def test_invariances(faces):
    x = faces[0]
    base = metrics.checkerboard(x)
    brighter = np.clip(x.astype(np.int32) + 20, 0, 255).astype(np.uint8)
    assert metrics.checkerboard(brighter) == pytest.approx(base, rel=0.05)
    assert metrics.checkerboard(x[:, :, ::-1]) == pytest.approx(base, rel=1e-6)   # mirrored
    assert metrics.checkerboard(x[::-1]) == pytest.approx(base, rel=1e-6)         # another order
    floats = x.astype(np.float32) / 127.5 - 1.0                                   # [-1, 1] = the same images
    assert metrics.checkerboard(floats) == pytest.approx(base, rel=1e-6)
    r = metrics.spectrum_ratio(brighter, x)
    assert r["mean_abs_log_ratio"] < 0.05 and r["high_power_ratio"] == pytest.approx(1, abs=0.05)


def test_the_jump_between_opposite_borders_is_not_counted_as_frequencies(faces):
    """A plain FFT sees a ramp's jump from one border to the other as power at every frequency of the axis;
    the periodic component (Moisan 2011) keeps less than 0.1 % of it. Without it the clean faces' grid bins
    on the axes would read above their neighbours (1.12 instead of 0.98 over 256 faces)."""
    ramp = np.broadcast_to((np.arange(64) * 4)[None, None, :, None], (4, 64, 64, 3)).astype(np.uint8)
    luma = ramp[..., 0].astype(np.float64)
    plain = np.abs(np.fft.fft2(luma - luma.mean(axis=(1, 2), keepdims=True))) ** 2
    assert metrics.power_spectrum(ramp).sum() < 1e-3 * plain.mean(0).sum()
    # the faces' axis bins (u = 0 or v = 0) read like the others
    ratios, _ = spectrum._grid_ratios(metrics.power_spectrum(faces[0]), 3)
    grid = metrics.grid_bins(64)
    on_axis = np.array([u == 0 or v == 0 for u in grid for v in grid if (u, v) != (0, 0)])
    assert abs(ratios[on_axis].mean() - ratios[~on_axis].mean()) < 0.25


def test_power_spectrum_puts_a_sinusoid_at_its_frequency():
    wave = 128 + 60 * np.cos(2 * np.pi * 5 * XX / 64)              # 5 cycles across the width
    x = np.repeat(np.rint(wave)[None, :, :, None], 3, axis=3).astype(np.uint8)
    p = metrics.power_spectrum(x)
    assert p.shape == (64, 64) and p[0, 0] == 0
    assert (p[0, 5] + p[0, 59]) > 0.99 * p.sum()
    radius, power = metrics.radial_spectrum(x)
    assert radius[0] == 1 and radius[-1] == 45 and power.sum() == pytest.approx(1)   # round(64 / √2)
    assert power.argmax() == 4                                         # radius 5


def test_default_levels_follow_the_size():
    """Without ``levels`` the measure looks for as many stride-2 grids as the size holds, up to 3."""
    assert [metrics.default_levels(s) for s in (128, 64, 28, 18, 4)] == [3, 3, 2, 1, 1]
    assert metrics.default_levels(64, 28) == 2
    x28 = synthetic("faces", 64, size=28, seed=0)[0]
    assert metrics.checkerboard(x28) == metrics.checkerboard(x28, levels=2)
    x64 = synthetic("faces", 64, size=64, seed=0)[0]
    assert metrics.checkerboard(x64) == metrics.checkerboard(x64, levels=3)
    assert metrics.spectrum_report(x28, x28)["checkerboard"] == metrics.checkerboard(x28, levels=2)


def test_grid_bins():
    assert metrics.grid_bins(64) == [0, 8, 16, 24, 32, 40, 48, 56]
    assert metrics.grid_bins(28, levels=2) == [0, 7, 14, 21]


@pytest.mark.parametrize("call,match", [
    (lambda: metrics.checkerboard(synthetic("faces", 2, size=28, seed=0)[0], levels=3),
     r"divisible by 8.*got 28; levels=2 fits size 28"),
    (lambda: metrics.checkerboard(np.zeros((2, 8, 8, 3), np.uint8), levels=3), r"at least 16 pixels, got 8; levels=2"),
    (lambda: metrics.checkerboard(np.zeros((2, 18, 17, 3), np.uint8)), r"divisible by 2.*got 18x17"),
    (lambda: metrics.checkerboard(np.zeros((2, 64, 64, 3), np.uint8), levels=0),
     "levels must be an int >= 1"),
    (lambda: metrics.checkerboard(np.zeros((2, 64, 64, 3), np.uint8), levels=2.0), "levels must be an int"),
    (lambda: metrics.checkerboard(np.zeros((0, 64, 64, 3), np.uint8)), "empty batch"),
    (lambda: metrics.radial_spectrum(np.zeros((2, 64, 32, 3), np.uint8)), "square images"),
    (lambda: metrics.spectrum_ratio(np.zeros((2, 64, 64, 3), np.uint8), np.zeros((2, 32, 32, 3), np.uint8)),
     "same size"),
    (lambda: metrics.checkerboard(np.zeros((2, 64, 64, 3), np.int32)), "uint8"),
])
def test_argument_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_28_pixel_images_are_measured_at_two_levels():
    x = synthetic("faces", 64, size=28, seed=0)[0]
    assert 0.8 < metrics.checkerboard(x, levels=2) < 1.25
    y, xx = np.mgrid[:28, :28]
    assert metrics.checkerboard(with_pattern(x, (-1.0) ** (y + xx)), levels=2) > 10


def _sample(g, n=64):
    z = np.random.default_rng(0).normal(size=(n, g.input.shape[-1])).astype("float32")
    x = g(z, training=False).numpy()
    return x / np.abs(x).max()   # an untrained generator draws faint images: stretched to [-1, 1]


def test_an_untrained_transposed_convolution_generator_draws_a_grid_that_resizing_does_not():
    """The same seeded eyes128 generator (width 0.125), untrained: its three stride-2 transposed
    convolutions (5x5 kernels N(0, 0.02)) leave a grid at 2, 4 and 8 px; nearest-neighbour resizing followed
    by a convolution, and sub-pixel convolution with ICNR, start without one (measured with 256 samples:
    about 50 against 2 to 5)."""
    scores = {}
    for mode in models.UPSAMPLES:
        g, _ = models.build("eyes128", width=0.125, seed=0, upsample=mode)
        scores[mode] = metrics.checkerboard(_sample(g))
    assert scores["transpose"] > 10
    assert scores["transpose"] > 3 * scores["resize"]
    assert scores["transpose"] > 3 * scores["subpixel"]
