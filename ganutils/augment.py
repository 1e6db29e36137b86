"""Differentiable augmentation of every image the discriminator sees: DiffAugment, with an optional
adaptive probability as in ADA.

DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training"): the same
random, differentiable transformations are applied to real *and* generated images right before the
discriminator, in the discriminator's step and in the generator's, so D cannot memorise a small training
set and G still gets gradients through the transformation. The three policies of the paper, on images
in [-1, 1]:

- ``color``: brightness + U(-0.5, 0.5); saturation × U(0, 2) around each pixel's channel mean; contrast
  × U(0.5, 1.5) around the image mean;
- ``translation``: shift by up to 1/8 of the image side in each direction, zero-filled;
- ``cutout``: a zeroed square of half the image side at a random position.

ADA (Karras et al. 2020, "Training Generative Adversarial Networks with Limited Data") applies each
transformation with probability ``p`` and adjusts ``p`` from the overfitting heuristic r_t = E[sign(D(x))]
on real images: up while r_t is above ``target`` (0.6), down below it, by ``batch / speed_images`` per
step. The paper's speed (p can go from 0 to 1 in 500,000 images) is for runs of tens of millions of
images; the default here (100,000) suits the book's runs of a few hundred thousand.

All randomness is stateless, keyed on a seed ``[2]`` int64 tensor that the trainer derives from
(seed, step, sub-step): a resumed run draws the same transformations.
"""

from __future__ import annotations

__all__ = ["POLICIES", "DiffAugment", "diff_augment"]

#: The transformations of each policy, in the order they are applied.
POLICIES = {"color": ("brightness", "saturation", "contrast"), "translation": ("translation",),
            "cutout": ("cutout",)}


def _tf():
    import tensorflow as tf
    return tf


def _uniform(shape, seed, k, minval=0.0, maxval=1.0, dtype=None):
    tf = _tf()
    seed = tf.stack([seed[0], seed[1] * 16 + k])   # one independent stream per transformation
    return tf.random.stateless_uniform(shape, seed=seed, minval=minval, maxval=maxval,
                                       dtype=dtype or tf.float32)


def _brightness(x, seed):
    b = _uniform([_tf().shape(x)[0], 1, 1, 1], seed, 1) - 0.5
    return x + b


def _saturation(x, seed):
    tf = _tf()
    mean = tf.reduce_mean(x, axis=3, keepdims=True)
    return (x - mean) * (_uniform([tf.shape(x)[0], 1, 1, 1], seed, 2) * 2.0) + mean


def _contrast(x, seed):
    tf = _tf()
    mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
    return (x - mean) * (_uniform([tf.shape(x)[0], 1, 1, 1], seed, 3) + 0.5) + mean


def _translation(x, seed, ratio=0.125):
    tf = _tf()
    b, h, w = tf.shape(x)[0], x.shape[1], x.shape[2]
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = _uniform([b, 1], seed, 4, -sh, sh + 1, tf.int32)
    dx = _uniform([b, 1], seed, 5, -sw, sw + 1, tf.int32)
    # pad by one zero row/column, then read row y + dy (clipped onto the zero border)
    rows = tf.clip_by_value(tf.range(h)[None, :] + dy + 1, 0, h + 1)
    cols = tf.clip_by_value(tf.range(w)[None, :] + dx + 1, 0, w + 1)
    padded = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])
    x = tf.gather(padded, rows, axis=1, batch_dims=1)          # [B, H, W + 2, C]
    return tf.gather(x, cols, axis=2, batch_dims=1)            # [B, H, W, C]


def _cutout(x, seed, ratio=0.5):
    tf = _tf()
    b, h, w = tf.shape(x)[0], x.shape[1], x.shape[2]
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = _uniform([b, 1, 1], seed, 6, 0, h + (1 - ch % 2), tf.int32)
    cx = _uniform([b, 1, 1], seed, 7, 0, w + (1 - cw % 2), tf.int32)
    ys = tf.range(h)[None, :, None]
    xs = tf.range(w)[None, None, :]
    inside = ((ys >= cy - ch // 2) & (ys < cy - ch // 2 + ch)
              & (xs >= cx - cw // 2) & (xs < cx - cw // 2 + cw))
    return x * tf.cast(~inside, x.dtype)[..., None]


_FNS = {"brightness": _brightness, "saturation": _saturation, "contrast": _contrast,
        "translation": _translation, "cutout": _cutout}


def _parse(policy):
    if isinstance(policy, str):
        names = [p.strip() for p in policy.split(",") if p.strip()]
    else:
        names = list(policy)
    unknown = [p for p in names if p not in POLICIES]
    if unknown:
        raise ValueError(f"unknown DiffAugment policy {unknown[0]!r}: expected a comma-separated subset of "
                         f"{', '.join(POLICIES)}")
    return tuple(names)


def diff_augment(x, seed, policy="color,translation,cutout", p=1.0):
    """Augment a batch ``x`` (float ``[B, H, W, C]``, values about [-1, 1]) differentiably.

    ``seed``: int ``[2]`` tensor keying every random draw; ``policy``: a comma-separated subset of
    ``color``, ``translation``, ``cutout``; ``p``: the probability (float or scalar tensor in [0, 1]) with
    which each transformation is applied to each image (1 = DiffAugment, always). Returns a tensor of the
    same shape and dtype. Raises ``ValueError`` for an unknown policy.
    """
    tf = _tf()
    seed = tf.cast(seed, tf.int64)
    for k, name in enumerate(t for pol in _parse(policy) for t in POLICIES[pol]):
        y = _FNS[name](x, seed)
        if not (isinstance(p, (int, float)) and p >= 1):
            keep = _uniform([tf.shape(x)[0], 1, 1, 1], tf.stack([seed[0] + 7919 * (k + 1), seed[1]]), 8)
            y = tf.where(keep < tf.cast(p, tf.float32), y, x)
        x = y
    return x


class DiffAugment:
    """The augmentation a :class:`ganutils.train.GANTrainer` applies to every image its discriminator sees.

    ``policy``: ``"color,translation,cutout"`` (the paper's choice for small data) or a subset; ``p``: the
    initial probability per transformation and image (1.0 = DiffAugment); ``adaptive=True`` adjusts ``p``
    as ADA does, toward an r_t = E[sign(D(x_real))] of ``target``, at ``batch / speed_images`` per step
    (``speed_images``: how many real images it takes ``p`` to move by 1). ``p`` is a checkpointed variable
    once the trainer builds it.
    """

    def __init__(self, policy="color,translation,cutout", p=1.0, adaptive=False, target=0.6,
                 speed_images=100_000):
        self.policy = ",".join(_parse(policy))
        if not 0.0 <= float(p) <= 1.0:
            raise ValueError(f"p must be in [0, 1], got {p!r}")
        if not 0.0 < float(target) < 1.0:
            raise ValueError(f"target must be in (0, 1), got {target!r}")
        if not float(speed_images) > 0:
            raise ValueError(f"speed_images must be > 0, got {speed_images!r}")
        self.p0, self.adaptive, self.target = float(p), bool(adaptive), float(target)
        self.speed_images = float(speed_images)
        self.p = None   # a tf.Variable, made by build()

    def build(self):
        """Create the probability variable (inside the trainer's distribution scope)."""
        tf = _tf()
        if self.p is None:
            self.p = tf.Variable(self.p0, dtype=tf.float32, trainable=False, name="augment_p")
        return self

    def __call__(self, x, seed):
        """Augmented ``x`` (same shape/dtype), keyed on ``seed`` (int ``[2]``)."""
        p = 1.0 if (not self.adaptive and self.p0 >= 1.0) else self.p
        return diff_augment(x, seed, self.policy, p)

    def update(self, real_logits):
        """ADA's controller: move ``p`` by ±batch/speed_images from the sign of E[sign(D(x))] - target.
        Returns r_t (float32 scalar). Does nothing to ``p`` unless ``adaptive``."""
        tf = _tf()
        r_t = tf.reduce_mean(tf.sign(tf.cast(real_logits, tf.float32)))
        if self.adaptive:
            n = tf.cast(tf.shape(real_logits)[0], tf.float32)
            step = tf.sign(r_t - self.target) * n / self.speed_images
            self.p.assign(tf.clip_by_value(self.p + step, 0.0, 1.0))
        return r_t

    def config(self):
        """What describes this augmentation (recorded with a run)."""
        return {"policy": self.policy, "p": self.p0, "adaptive": self.adaptive, "target": self.target,
                "speed_images": self.speed_images}

    def __repr__(self):
        return "DiffAugment(" + ", ".join(f"{k}={v!r}" for k, v in self.config().items()) + ")"
