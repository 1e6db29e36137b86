"""Images the way other tools hand them over: every entry point that takes images checks their range with
the one rule of ``ganutils.data.check_range`` (uint8 0..255, or floats in [-1, 1] give or take 0.05).

Floats in 0..255 (``keras.utils.image_dataset_from_directory``) are refused, naming the range seen and the
conversion; floats in [0, 1] (``tf.image.convert_image_dtype``) given as the reader's data (real, training
and held-out images) warn; a generator's samples (a collapsed one may draw only bright images) never warn.
"""

import types
import warnings

import numpy as np
import pytest

from ganutils import compare, metrics, viz
from ganutils.data import ImageRangeWarning, check_range, synthetic


@pytest.fixture(scope="module")
def faces():
    """Two sets of 32 embedded faces at 16 px, uint8."""
    return synthetic("faces", 32, 16, seed=1)[0], synthetic("faces", 32, 16, seed=2)[0]


def keras_floats(u):
    """0..255 floats, as keras.utils.image_dataset_from_directory gives them."""
    return u.astype(np.float32)


def unit_floats(u):
    """[0, 1] floats, as tf.image.convert_image_dtype gives them."""
    return u.astype(np.float32) / 255.0


def tanh_floats(u):
    return u.astype(np.float32) / 127.5 - 1.0


def _feature(x):
    return x.reshape(len(x), -1)[:, :8].astype(np.float64)


def _readers_data_entry_points(real, fake):
    """Each entry point that takes the reader's images, called with ``real`` in that place."""
    return {
        "swd": lambda: metrics.swd(real, fake, n_descriptors=8, n_projections=16),
        "fid": lambda: metrics.fid(real, fake, feature_fn=_feature),
        "kid": lambda: metrics.kid(real, fake, feature_fn=_feature, subsets=2, subset_size=8),
        "coverage": lambda: metrics.coverage(fake, real),
        "memorisation (train)": lambda: metrics.memorisation(fake, real, fake),
        "memorisation (held out)": lambda: metrics.memorisation(fake, fake, real),
        "near_duplicates": lambda: metrics.near_duplicates(fake, real),
        "nearest_distances": lambda: metrics.nearest_distances(fake, real),
        "make_metric": lambda: metrics.make_metric("swd", real),
        "grid": lambda: viz.grid(real),
        "compare_recipes": lambda: compare.compare_recipes(["dcgan28"], fake, real, steps=1),
        "score_run": lambda: compare.score_run(None, real),
        "overfitting_probes": lambda: compare.overfitting_probes(real, fake),
    }


def test_0_255_floats_are_refused_everywhere_naming_the_range_seen_and_the_conversion(faces):
    real, fake = faces
    for name, call in _readers_data_entry_points(keras_floats(real), fake).items():
        with pytest.raises(ValueError, match=r"ranges over \[\d+, 2\d\d\].*127\.5") as err:
            call()
        assert "[-1, 1]" in str(err.value), name


def test_unit_floats_given_as_the_readers_data_warn_everywhere(faces):
    real, fake = faces
    for name, call in _readers_data_entry_points(unit_floats(real), fake).items():
        with warnings.catch_warnings():
            warnings.simplefilter("error", ImageRangeWarning)  # stop at the warning, before any work
            with pytest.raises(ImageRangeWarning, match=r"no negative value.*\* 2 - 1"):
                call()


def test_factor_distance_checks_its_real_images_before_building_a_classifier(faces, monkeypatch):
    real, fake = faces

    def no_classifier(*args):
        raise AssertionError("the real images should have been checked first")

    monkeypatch.setattr(metrics.factors, "_classifier", no_classifier)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ImageRangeWarning)
        with pytest.raises(ImageRangeWarning):
            metrics.factor_distance(fake, "faces", real=unit_floats(real))
    with pytest.raises(ValueError, match=r"ranges over \[\d+, 2\d\d\]"):
        metrics.factor_distance(fake, "faces", real=keras_floats(real))


def test_the_warning_points_at_the_readers_line(faces):
    real, fake = faces
    with pytest.warns(ImageRangeWarning) as record:
        metrics.swd(unit_floats(real), fake, n_descriptors=8, n_projections=16)
    assert [w.filename for w in record if w.category is ImageRangeWarning] == [__file__]


def test_generated_samples_with_no_negative_value_do_not_warn(faces, tmp_path):
    """A collapsed generator may draw only bright images: its samples are not the reader's data."""
    real, fake = faces
    bright = unit_floats(fake)                     # tanh output that happens to be all positive
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        metrics.to_uint8(bright)                   # the converter: generator output by default
        metrics.swd(real, bright, n_descriptors=8, n_projections=16)
        metrics.coverage(bright, real)
        metrics.memorisation(bright, real[:16], real[16:])
        metrics.near_duplicates(bright, real)
        metrics.make_metric("swd", real)(bright)
        viz.grid(bright, warn_positive=False)      # a chapter's grid of samples
        viz.save_grid(bright, tmp_path / "samples.png")  # the trainer's progress grids
    with pytest.warns(ImageRangeWarning):
        viz.save_grid(unit_floats(real), tmp_path / "real.png", warn_positive=True)


def test_to_uint8_refuses_and_clips_at_check_ranges_bounds():
    x = np.array([-1.04, -1.0, 0.0, 1.0, 1.04], np.float32).reshape(1, 1, 5, 1).repeat(3, -1)
    np.testing.assert_array_equal(metrics.to_uint8(x)[0, 0, :, 0], [0, 0, 128, 255, 255])
    for bad in (1.06, -1.06):
        with pytest.raises(ValueError, match=r"\[-1, 1\]"):
            metrics.to_uint8(np.full((1, 2, 2, 3), bad, np.float32))


def test_check_range_takes_bfloat16_and_refuses_other_integer_types():
    import ml_dtypes

    x = np.array([-1.0, 0.0, 1.0], ml_dtypes.bfloat16).reshape(1, 1, 3, 1)
    assert check_range(x, where="test") == (-1.0, 1.0)
    with pytest.raises(ValueError, match="int32.*uint8"):
        check_range(np.zeros((1, 2, 2, 3), np.int32), where="test")


def test_compare_recipes_takes_tanh_floats_as_the_same_images_as_uint8(faces, tmp_path):
    train, held = (synthetic("faces", n, 28, seed=s)[0] for n, s in ((32, 3), (16, 4)))
    as_floats = compare.compare_recipes(["dcgan28"], tanh_floats(train), tanh_floats(held), steps=1,
                                        seeds=(0,), width=0.125, out_dir=tmp_path, verbose=False)
    pick = np.linspace(0, 31, 16).astype(int)
    assert as_floats.floor == pytest.approx(float(metrics.swd(held, train[pick])))
    spec = compare.run_spec("dcgan28", 0, width=0.125, steps=1, mixed_precision=False, train=train,
                            held_out=held)
    saved = (tmp_path / "dcgan28-seed0" / "result.json").read_text()
    assert f'"{spec["train"][1]}"' in saved and f'"{spec["held_out"][1]}"' in saved


def test_overfitting_probes_read_tanh_floats_as_the_same_images_as_uint8(faces):
    import tensorflow as tf
    real, fake = faces
    trainer = types.SimpleNamespace(discriminator=lambda x, training: tf.reduce_mean(x, axis=[1, 2, 3]))
    from_uint8 = compare.overfitting_probes(real, fake, n=16)
    from_floats = compare.overfitting_probes(tanh_floats(real), tanh_floats(fake), n=16)
    for name in ("logit_train", "logit_held"):
        assert from_floats[name](trainer) == pytest.approx(from_uint8[name](trainer), abs=1e-6)
    assert -0.9 < from_uint8["logit_train"](trainer) < 0.9


def test_image_dataset_refuses_float_arrays_naming_their_range_and_the_conversion(faces):
    from ganutils.data import image_dataset
    real, _ = faces
    for images, fix in ((keras_floats(real), r"np\.round\(images\)\.astype"),
                        (unit_floats(real), r"np\.round\(images \* 255\)"),
                        (tanh_floats(real), r"ganutils\.metrics\.to_uint8\(images\)")):
        with pytest.raises(ValueError, match=r"must be uint8 .*range over \[.*\]: pass " + fix):
            image_dataset(images, 16, 8)
