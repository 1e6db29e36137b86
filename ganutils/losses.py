"""GAN objectives, each a pair: what the discriminator minimises and what the generator minimises.

Every loss works on **logits** (the discriminators output one unbounded score per image; for the
cross-entropy losses D(x) = sigmoid(logit)) and returns a **per-image** loss of shape ``[B]``,
float32, which the trainer averages over the (global) batch. Pair them as TF-GAN does:

=====================  ==========================================  ====================================
name                   discriminator (critic) minimises            generator minimises
=====================  ==========================================  ====================================
``"minimax"``          BCE(y_r, l_r) + BCE(y_f, l_f)               log(1 - D(G(z)))   (saturates)
``"nonsaturating"``    BCE(y_r, l_r) + BCE(y_f, l_f)               -log D(G(z))
``"hinge"``            max(0, 1 - l_r) + max(0, 1 + l_f)           -l_f
``"least_squares"``    ½(l_r - 1)² + ½ l_f²                        ½(l_f - 1)²
``"wasserstein"``      l_f - l_r   (+ gradient penalty)            -l_f
=====================  ==========================================  ====================================

``l_r``, ``l_f`` are the logits of a real and a generated image, ``y_r``, ``y_f`` the targets of
``label_targets`` (1 and 0 by default; the label tricks of the recipes change them, and only the
cross-entropy losses use them). Sources: minimax and non-saturating, Goodfellow et al. 2014; hinge,
Lim & Ye 2017 and Miyato et al. 2018; least squares (the 0-1 coding), Mao et al. 2017; Wasserstein,
Arjovsky et al. 2017, with the gradient penalty of Gulrajani et al. 2017.

Regularisers (added to the discriminator's loss, per image):

- :func:`gradient_penalty` (WGAN-GP): ``λ (‖∇_x̂ D(x̂)‖₂ - 1)²`` at random points x̂ between a real and a
  generated image, λ = 10.
- :func:`r1_penalty` (Mescheder et al. 2018): ``γ/2 ‖∇_x D(x)‖₂²`` at the real images.

Both take the gradient of the critic's *unscaled* output with respect to its input inside their own
tape: a loss scale (mixed float16 on a GPU) applies to the outer loss only, never to this inner gradient.
A penalty is per image, so the critic must not couple the images of a batch: use it with a discriminator
built without batch normalisation (``models.build(..., d_norm="layer")`` or ``"none"``).
"""

from __future__ import annotations

__all__ = ["LOSSES", "GANLoss", "get", "label_targets", "gradient_penalty", "r1_penalty"]


def _tf():
    import tensorflow as tf
    return tf


def label_targets(kind, u_real, u_fake, smooth=0.9):
    """The cross-entropy targets for real and fake images, float32 tensors shaped like the uniforms.

    ``"hard"``: 1 and 0. ``"smooth"`` (the 28×28 CelebA recipe): real targets 0.9, fake 0 (one-sided label
    smoothing, Salimans et al. 2016). ``"noisy"`` (the 64×64 anime recipe): real in [0.8, 1], fake in
    [0, 0.2], drawn fresh every step from ``u_real``/``u_fake``, uniforms in [0, 1) of shape ``[B, 1]``.
    Raises ``ValueError`` for another ``kind``.
    """
    tf = _tf()
    if kind == "hard":
        return tf.ones_like(u_real), tf.zeros_like(u_fake)
    if kind == "smooth":
        return tf.fill(tf.shape(u_real), smooth), tf.zeros_like(u_fake)
    if kind == "noisy":
        return 1.0 - 0.2 * u_real, 0.2 * u_fake
    raise ValueError(f"unknown labels {kind!r}: expected 'hard', 'smooth' or 'noisy'")


def _flat(logits):
    """``[B, 1]`` or ``[B]`` logits -> float32 ``[B]``."""
    tf = _tf()
    return tf.reshape(tf.cast(logits, tf.float32), [-1])


class GANLoss:
    """A paired objective: ``discriminator(real_logits, fake_logits, real_y, fake_y)`` and
    ``generator(fake_logits)``, each returning a float32 per-image loss of shape ``[B]``.

    ``name`` is one of :data:`LOSSES`; ``uses_labels`` says whether the label tricks (targets other than 1
    and 0) mean anything for it (only the cross-entropy losses). Build one with :func:`get`.
    """

    uses_labels = False

    def __init__(self, name):
        self.name = name

    def discriminator(self, real_logits, fake_logits, real_y=None, fake_y=None):
        raise NotImplementedError

    def generator(self, fake_logits):
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}({self.name!r})"


class _CrossEntropy(GANLoss):
    uses_labels = True

    def __init__(self, name, saturating):
        super().__init__(name)
        self.saturating = saturating

    def discriminator(self, real_logits, fake_logits, real_y=None, fake_y=None):
        """-[y_r log D(x) + (1 - y_r) log(1 - D(x))] - [y_f log D(G(z)) + (1 - y_f) log(1 - D(G(z)))]."""
        tf = _tf()
        lr, lf = _flat(real_logits), _flat(fake_logits)
        real_y = tf.ones_like(lr) if real_y is None else tf.reshape(tf.cast(real_y, tf.float32), [-1])
        fake_y = tf.zeros_like(lf) if fake_y is None else tf.reshape(tf.cast(fake_y, tf.float32), [-1])
        bce = tf.nn.sigmoid_cross_entropy_with_logits
        return bce(real_y, lr) + bce(fake_y, lf)

    def generator(self, fake_logits):
        """Non-saturating: -log D(G(z)). Minimax: log(1 - D(G(z))) = -BCE(0, l_f)."""
        tf = _tf()
        lf = _flat(fake_logits)
        bce = tf.nn.sigmoid_cross_entropy_with_logits
        if self.saturating:
            return -bce(tf.zeros_like(lf), lf)
        return bce(tf.ones_like(lf), lf)


class _Hinge(GANLoss):
    def discriminator(self, real_logits, fake_logits, real_y=None, fake_y=None):
        """max(0, 1 - l_r) + max(0, 1 + l_f)."""
        tf = _tf()
        return tf.nn.relu(1.0 - _flat(real_logits)) + tf.nn.relu(1.0 + _flat(fake_logits))

    def generator(self, fake_logits):
        """-l_f."""
        return -_flat(fake_logits)


class _LeastSquares(GANLoss):
    def discriminator(self, real_logits, fake_logits, real_y=None, fake_y=None):
        """½ (l_r - 1)² + ½ l_f² (Mao et al.'s a = 0, b = 1 coding)."""
        tf = _tf()
        return 0.5 * tf.square(_flat(real_logits) - 1.0) + 0.5 * tf.square(_flat(fake_logits))

    def generator(self, fake_logits):
        """½ (l_f - 1)² (c = 1)."""
        tf = _tf()
        return 0.5 * tf.square(_flat(fake_logits) - 1.0)


class _Wasserstein(GANLoss):
    def discriminator(self, real_logits, fake_logits, real_y=None, fake_y=None):
        """l_f - l_r: the critic raises real scores and lowers fake ones (add a gradient penalty)."""
        return _flat(fake_logits) - _flat(real_logits)

    def generator(self, fake_logits):
        """-l_f."""
        return -_flat(fake_logits)


#: The loss names :func:`get` knows, in the order the book introduces them.
LOSSES = ("minimax", "nonsaturating", "hinge", "least_squares", "wasserstein")


def get(loss):
    """A :class:`GANLoss` from its name (one of :data:`LOSSES`, case-insensitive; "ns", "lsgan", "wgan"
    are accepted too) or an existing ``GANLoss``. Raises ``ValueError`` for an unknown name."""
    if isinstance(loss, GANLoss):
        return loss
    aliases = {"ns": "nonsaturating", "non_saturating": "nonsaturating", "non-saturating": "nonsaturating",
               "lsgan": "least_squares", "least-squares": "least_squares", "wgan": "wasserstein",
               "saturating": "minimax"}
    key = str(loss).lower()
    key = aliases.get(key, key)
    if key == "minimax":
        return _CrossEntropy("minimax", saturating=True)
    if key == "nonsaturating":
        return _CrossEntropy("nonsaturating", saturating=False)
    if key == "hinge":
        return _Hinge("hinge")
    if key == "least_squares":
        return _LeastSquares("least_squares")
    if key == "wasserstein":
        return _Wasserstein("wasserstein")
    raise ValueError(f"unknown loss {loss!r}: expected one of {', '.join(LOSSES)}")


def _input_gradient_norm2(critic, x, training):
    """‖∇_x critic(x)‖₂² per image, float32 ``[B]``, from the critic's unscaled output."""
    tf = _tf()
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = tf.reduce_sum(tf.cast(critic(x, training=training), tf.float32))
    grad = tf.cast(tape.gradient(out, x), tf.float32)
    return tf.reduce_sum(tf.square(grad), axis=tf.range(1, tf.rank(grad)))


def gradient_penalty(critic, real, fake, eps, weight=10.0, training=True):
    """WGAN-GP's penalty (Gulrajani et al. 2017): ``weight * (‖∇ critic(x̂)‖₂ - 1)²`` per image, float32
    ``[B]``, at x̂ = eps·real + (1 - eps)·fake.

    ``real``, ``fake``: images ``[B, H, W, C]`` in [-1, 1]; ``eps``: uniforms in [0, 1] of shape ``[B, 1, 1,
    1]`` (the trainer draws them statelessly, keyed on the step). The generated images are treated as
    constants (no gradient flows back into the generator).
    """
    tf = _tf()
    real = tf.cast(real, tf.float32)
    fake = tf.stop_gradient(tf.cast(fake, tf.float32))
    x_hat = eps * real + (1.0 - eps) * fake
    norm = tf.sqrt(_input_gradient_norm2(critic, x_hat, training) + 1e-12)
    return weight * tf.square(norm - 1.0)


def r1_penalty(critic, real, gamma=10.0, training=True):
    """R1 (Mescheder et al. 2018): ``gamma / 2 * ‖∇_x critic(x)‖₂²`` per real image, float32 ``[B]``.

    ``real``: images ``[B, H, W, C]`` in [-1, 1] as the critic sees them (after any augmentation).
    A zero-centred penalty on the data only: it keeps the critic flat where the real images are.
    """
    tf = _tf()
    return 0.5 * gamma * _input_gradient_norm2(critic, tf.cast(real, tf.float32), training)
