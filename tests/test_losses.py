"""The paired GAN losses against values computed by hand, and the penalties on critics whose
input gradient is known."""

import math

import numpy as np
import pytest
import tensorflow as tf
import keras

from ganutils import losses

REAL = tf.constant([[2.0], [-1.0], [0.0]])     # logits of three real images
FAKE = tf.constant([[-3.0], [0.5], [1.0]])     # logits of three generated images


def softplus(x):
    return math.log1p(math.exp(x))


def bce(y, logit):  # -[y log s(l) + (1 - y) log(1 - s(l))], written from its definition
    s = 1 / (1 + math.exp(-logit))
    return -(y * math.log(s) + (1 - y) * math.log(1 - s))


def values(t):
    return t.numpy().tolist()


def test_cross_entropy_pair_by_hand():
    ns, mm = losses.get("nonsaturating"), losses.get("minimax")
    r, f = [2.0, -1.0, 0.0], [-3.0, 0.5, 1.0]
    d = [bce(1, a) + bce(0, b) for a, b in zip(r, f)]
    np.testing.assert_allclose(values(ns.discriminator(REAL, FAKE)), d, rtol=1e-6)
    np.testing.assert_allclose(values(mm.discriminator(REAL, FAKE)), d, rtol=1e-6)
    np.testing.assert_allclose(values(ns.generator(FAKE)), [-math.log(1 / (1 + math.exp(-b))) for b in f],
                               rtol=1e-6)
    # minimax generator: log(1 - D(G(z))) = -softplus(l)
    np.testing.assert_allclose(values(mm.generator(FAKE)), [-softplus(b) for b in f], rtol=1e-6)
    # label targets reach the cross-entropy: real target 0.9 (one-sided smoothing)
    y = tf.fill([3, 1], 0.9)
    np.testing.assert_allclose(values(ns.discriminator(REAL, FAKE, y, tf.zeros([3, 1]))),
                               [bce(0.9, a) + bce(0, b) for a, b in zip(r, f)], rtol=1e-6)


def test_the_minimax_generator_loss_saturates_where_the_non_saturating_one_does_not():
    z = tf.constant([[-8.0]])   # D(G(z)) = 0.0003: the discriminator wins
    grads = {}
    for name in ("minimax", "nonsaturating"):
        with tf.GradientTape() as tape:
            tape.watch(z)
            out = losses.get(name).generator(z)
        grads[name] = abs(float(tape.gradient(out, z)[0, 0]))
    assert grads["minimax"] < 1e-3 < 0.99 < grads["nonsaturating"]


def test_hinge_least_squares_wasserstein_by_hand():
    r, f = [2.0, -1.0, 0.0], [-3.0, 0.5, 1.0]
    h = losses.get("hinge")
    np.testing.assert_allclose(values(h.discriminator(REAL, FAKE)),
                               [max(0, 1 - a) + max(0, 1 + b) for a, b in zip(r, f)])
    np.testing.assert_allclose(values(h.generator(FAKE)), [-b for b in f])
    ls = losses.get("lsgan")
    np.testing.assert_allclose(values(ls.discriminator(REAL, FAKE)),
                               [0.5 * (a - 1) ** 2 + 0.5 * b ** 2 for a, b in zip(r, f)])
    np.testing.assert_allclose(values(ls.generator(FAKE)), [0.5 * (b - 1) ** 2 for b in f])
    w = losses.get("wasserstein")
    np.testing.assert_allclose(values(w.discriminator(REAL, FAKE)), [b - a for a, b in zip(r, f)])
    np.testing.assert_allclose(values(w.generator(FAKE)), [-b for b in f])


def test_every_loss_is_per_image_float32_and_names_are_checked():
    for name in losses.LOSSES:
        loss = losses.get(name)
        assert loss.name == name
        for out in (loss.discriminator(REAL, FAKE), loss.generator(FAKE)):
            assert out.shape == (3,) and out.dtype == tf.float32
    with pytest.raises(ValueError, match="unknown loss 'hingee'.*minimax, nonsaturating, hinge"):
        losses.get("hingee")


def linear_critic(a):
    """critic(x) = a · sum(x): its input gradient is a everywhere, norm |a| sqrt(H W C)."""
    return lambda x, training=False: a * tf.reduce_sum(x, axis=[1, 2, 3])[:, None]


def test_gradient_penalty_on_a_critic_with_known_gradient_norm():
    real = tf.random.stateless_uniform([4, 2, 2, 1], seed=[1, 2], minval=-1, maxval=1)
    fake = tf.random.stateless_uniform([4, 2, 2, 1], seed=[3, 4], minval=-1, maxval=1)
    eps = tf.random.stateless_uniform([4, 1, 1, 1], seed=[5, 6])
    # gradient norm = 0.5 * sqrt(4) = 1: no penalty; 1.5 * 2 = 3: penalty 10 * (3 - 1)^2 = 40
    np.testing.assert_allclose(losses.gradient_penalty(linear_critic(0.5), real, fake, eps).numpy(), 0,
                               atol=1e-5)
    np.testing.assert_allclose(losses.gradient_penalty(linear_critic(1.5), real, fake, eps).numpy(), 40,
                               rtol=1e-5)
    # a quadratic critic: gradient 2x at x_hat, so the penalty depends on where x_hat lies
    quad = lambda x, training=False: tf.reduce_sum(tf.square(x), axis=[1, 2, 3])[:, None]  # noqa: E731
    x_hat = eps * real + (1 - eps) * fake
    expected = 10 * (2 * tf.norm(tf.reshape(x_hat, [4, -1]), axis=1) - 1) ** 2
    np.testing.assert_allclose(losses.gradient_penalty(quad, real, fake, eps).numpy(), expected.numpy(),
                               rtol=1e-4)


def test_r1_penalty_on_a_critic_with_known_gradient_norm():
    real = tf.random.stateless_uniform([3, 4, 4, 3], seed=[7, 8], minval=-1, maxval=1)
    # |grad|^2 = a^2 * 48 per image; gamma/2 * that
    np.testing.assert_allclose(losses.r1_penalty(linear_critic(0.25), real, gamma=10).numpy(),
                               5 * 0.0625 * 48, rtol=1e-5)


def test_the_penalty_gradient_reaches_the_critic_weights():
    """Double backward: the penalty must train the critic's weights (WGAN-GP needs this)."""
    critic = keras.Sequential([keras.Input((2, 2, 1)), keras.layers.Flatten(),
                               keras.layers.Dense(1, kernel_initializer="ones")])
    real = tf.ones([2, 2, 2, 1])
    with tf.GradientTape() as tape:
        penalty = tf.reduce_sum(losses.r1_penalty(critic, real, gamma=2.0, training=True))
    grad = tape.gradient(penalty, critic.trainable_variables[0])
    # penalty = sum over images of |w|^2 = 2 * |w|^2, so d/dw = 4 w = 4
    np.testing.assert_allclose(grad.numpy(), 4.0, rtol=1e-5)

