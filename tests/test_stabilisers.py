"""The modern stabilisers on their own: DiffAugment, the EMA generator with its warm-up and BatchNorm
statistics, spectral normalisation."""

import numpy as np
import pytest
import tensorflow as tf
import keras

from ganutils import models
from ganutils.augment import DiffAugment, diff_augment
from ganutils.ema import GeneratorEMA


def images(n=8, size=16, seed=0):
    return tf.random.stateless_uniform([n, size, size, 3], seed=[seed, 1], minval=-1, maxval=1)


def test_diff_augment_is_keyed_on_its_seed_and_keeps_shape_and_dtype():
    x = images()
    a = diff_augment(x, tf.constant([1, 5], tf.int64))
    b = diff_augment(x, tf.constant([1, 5], tf.int64))
    c = diff_augment(x, tf.constant([1, 6], tf.int64))
    assert a.shape == x.shape and a.dtype == x.dtype
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not np.allclose(a.numpy(), c.numpy())


def test_translation_moves_pixels_and_fills_with_zeros():
    x = tf.ones([64, 16, 16, 1])
    y = diff_augment(x, tf.constant([0, 3], tf.int64), "translation").numpy()
    zero_rows = (y == 0).all(axis=2)[..., 0].sum(axis=1)    # rows shifted in from outside
    assert zero_rows.max() <= 2 and zero_rows.max() >= 1      # at most 1/8 of 16 = 2 rows
    assert set(np.unique(y)) <= {0.0, 1.0}


def test_cutout_zeroes_a_square_of_half_the_side():
    x = tf.ones([32, 16, 16, 1])
    y = diff_augment(x, tf.constant([0, 4], tf.int64), "cutout").numpy()
    zeros = (y == 0).sum(axis=(1, 2, 3))
    assert zeros.max() == 64 and zeros.min() > 0              # 8 x 8, clipped at the borders


def test_colour_keeps_gradients_flowing_to_the_images():
    x = images()
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(diff_augment(x, tf.constant([2, 2], tf.int64)))
    g = tape.gradient(y, x)
    assert g is not None and float(tf.reduce_max(tf.abs(g))) > 0


def test_probability_zero_is_the_identity_and_policies_are_checked():
    x = images()
    np.testing.assert_array_equal(diff_augment(x, tf.constant([0, 1], tf.int64), p=0.0).numpy(), x.numpy())
    with pytest.raises(ValueError, match="unknown DiffAugment policy 'colour'"):
        DiffAugment("colour,translation")


def test_ada_controller_moves_p_toward_the_target():
    aug = DiffAugment(p=0.5, adaptive=True, target=0.6, speed_images=640).build()
    aug.update(tf.ones([64, 1]))        # r_t = 1 > 0.6: D overfits, more augmentation
    assert float(aug.p.numpy()) == pytest.approx(0.6)
    aug.update(-tf.ones([64, 1]))       # r_t = -1 < 0.6: less
    assert float(aug.p.numpy()) == pytest.approx(0.5)
    fixed = DiffAugment(p=0.5).build()
    fixed.update(tf.ones([64, 1]))
    assert float(fixed.p.numpy()) == 0.5


def test_ema_warm_up_follows_stylegan():
    ema = GeneratorEMA(decay=0.999, rampup=0.05)
    assert ema.half_life == pytest.approx(692.8, rel=1e-3)
    # step 1: half-life 0.05 steps -> the average is a copy; step 1,500: half-life 75 steps
    assert float(ema.beta(1)) < 1e-5
    assert float(ema.beta(1500)) == pytest.approx(0.5 ** (1 / 75), rel=1e-5)
    assert float(ema.beta(10**6)) == pytest.approx(0.999, rel=1e-6)
    # what is left of the initial weights after 1,500 steps: 22 % without warm-up, ~0 with it
    betas = np.array([float(ema.beta(t)) for t in range(1, 1501)])
    assert np.prod(betas) < 1e-6 < 0.2 < 0.999 ** 1500
    assert float(GeneratorEMA(0.999, rampup=None).beta(1)) == pytest.approx(0.999)
    with pytest.raises(ValueError, match="decay must be in"):
        GeneratorEMA(decay=1.0)


def test_ema_update_averages_the_weights():
    g, _ = models.build("celeba28", width=0.125, seed=1)
    ema = GeneratorEMA(decay=0.5, rampup=None).build(g)
    w0 = g.trainable_variables[0].numpy().copy()
    g.trainable_variables[0].assign(w0 + 2.0)
    ema.update(10)
    np.testing.assert_allclose(ema.model.trainable_variables[0].numpy(), w0 + 1.0, rtol=1e-6)


def test_ema_batchnorm_statistics_are_re_estimated_for_its_own_weights():
    g, _ = models.build("celeba28", width=0.125, seed=1)
    ema = GeneratorEMA().build(g)
    z = tf.random.stateless_normal([256, 100], seed=[0, 1])
    # the copied statistics are BatchNorm's initial ones (mean 0, variance 1), far from the real ones
    model = ema.recalibrate(z, step=5)
    bn = [l for l in model.layers if isinstance(l, keras.layers.BatchNormalization)][0]
    dense_out = model.get_layer(index=2)(model.get_layer(index=1)(z))   # Dense -> Reshape
    np.testing.assert_allclose(bn.moving_mean.numpy(), tf.reduce_mean(dense_out, axis=[0, 1, 2]).numpy(),
                               rtol=1e-3, atol=1e-5)
    assert bn.momentum == 0.99                                   # restored
    # eval mode now matches training mode's batch statistics on the same batch
    np.testing.assert_allclose(model(z, training=False).numpy(), model(z, training=True).numpy(),
                               atol=2e-3)


def test_spectral_norm_keeps_the_largest_singular_value_near_one():
    _, d = models.build("anime64", width=0.125, seed=2, d_norm="none", spectral_norm=True)
    assert not any(isinstance(l, keras.layers.BatchNormalization) for l in d.layers)
    x = tf.random.stateless_uniform([8, 64, 64, 3], seed=[1, 1], minval=-1, maxval=1)
    for _ in range(20):            # each training call: one power iteration, kernel projected in place
        d(x, training=True)
    sn = [l for l in d.layers if isinstance(l, keras.layers.SpectralNormalization)]
    assert len(sn) == 5            # four convolutions and the dense layer
    for layer in sn:
        w = layer.kernel.numpy().reshape(-1, layer.kernel.shape[-1])
        assert np.linalg.svd(w, compute_uv=False)[0] == pytest.approx(1.0, abs=0.05)


def test_layer_norm_discriminator_does_not_couple_the_batch():
    _, d = models.build("celeba28", width=0.125, seed=2, d_norm="layer")
    x = images(4, 28)
    alone = d(x[:1], training=True).numpy()
    together = d(x, training=True).numpy()[:1]
    np.testing.assert_allclose(alone, together, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="d_norm must be None or one of batch, layer, none"):
        models.build("celeba28", d_norm="group")
