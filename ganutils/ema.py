"""An exponential moving average (EMA) of a generator's weights, with StyleGAN's warm-up.

Sampling from a running average of the generator's weights rather than from its latest weights gives
smoother, better images at no training cost (Yazıcı et al. 2019, "The Unusual Effectiveness of Averaging
in GAN Training"; used by ProGAN, StyleGAN and BigGAN). Two things go wrong in short runs, and this class
handles both:

- **Warm-up.** With a fixed decay of 0.999 the average of a 1,500-step run still holds 0.999^1500 ≈ 22 %
  of the random initial weights. As in StyleGAN2-ADA the average's half-life (in steps) is capped at
  ``rampup`` × the steps done so far: it starts as a copy of the generator and only becomes a long
  average once the run is long. The decay at step t is ``β_t = 0.5 ** (1 / min(H, rampup · t))``, where
  ``H = ln 0.5 / ln decay`` is the target half-life (693 steps for 0.999).
- **Batch normalisation.** BatchNorm's moving statistics were collected for the raw generator's weights,
  not for the averaged ones; used as they are, the averaged generator can score worse than the raw one.
  :meth:`GeneratorEMA.recalibrate` re-estimates them from a large batch of the averaged generator's own
  activations (as SWA's ``bn_update`` does) before it samples or is exported.
"""

from __future__ import annotations

import math

__all__ = ["GeneratorEMA"]


class GeneratorEMA:
    """The moving average of a generator's trainable weights, kept in a copy of the generator.

    ``decay``: the long-run decay per step, in (0, 1); ``rampup``: the warm-up ratio (0.05 as in
    StyleGAN2-ADA; ``None`` or 0 turns the warm-up off). :meth:`build` makes ``self.model`` (a Keras
    clone of the generator, same input ``[B, latent_dim]`` and output images in [-1, 1]).
    Raises ``ValueError`` for a decay outside (0, 1) or a negative rampup.
    """

    def __init__(self, decay=0.999, rampup=0.05):
        if not 0.0 < float(decay) < 1.0:
            raise ValueError(f"EMA decay must be in (0, 1), got {decay!r}")
        if rampup is not None and float(rampup) < 0:
            raise ValueError(f"EMA rampup must be >= 0 or None, got {rampup!r}")
        self.decay = float(decay)
        self.rampup = float(rampup or 0.0)
        self.model = None
        self._pairs = []
        self._calibrated_at = None

    @property
    def half_life(self):
        """The target half-life in steps: after this many steps a weight's old value counts half."""
        return math.log(0.5) / math.log(self.decay)

    def beta(self, step):
        """The decay used at ``step`` (1-based count of updates; float or tensor)."""
        import tensorflow as tf
        step = tf.cast(step, tf.float32)
        if not self.rampup:
            return tf.constant(self.decay, tf.float32)
        h = tf.minimum(self.half_life, tf.maximum(self.rampup * step, 1e-8))
        return tf.pow(0.5, 1.0 / h)

    def build(self, generator, latent_dim=None):
        """Copy ``generator`` (architecture and weights) into ``self.model``.

        Functional and Sequential generators are cloned as they are; a subclassed one is rebuilt from
        its ``get_config()`` (Keras records the constructor's plain arguments) and, when the copy has
        no weights yet, called once on zeros ``[1, latent_dim]``. Raises ``ValueError``, saying how to
        fix it, when the generator cannot be copied that way."""
        import keras
        import tensorflow as tf
        fix = ("give the generator's class a get_config() returning its constructor arguments (or build "
               "it with the functional API), or train without an EMA (ema=None)")
        try:
            model = keras.models.clone_model(generator)
            if len(model.weights) != len(generator.weights) and latent_dim:
                model(tf.zeros([1, int(latent_dim)]), training=False)
            model.set_weights(generator.get_weights())
        except Exception as e:  # noqa: BLE001 - Keras raises several kinds for models it cannot rebuild
            why = f"{type(e).__name__}: {' '.join(str(e).split())[:300]}"
            raise ValueError(f"the EMA keeps a copy of the generator, and keras.models.clone_model could "
                             f"not make one ({why}): {fix}") from None
        if [v.shape for v in model.trainable_variables] != [v.shape for v in generator.trainable_variables]:
            raise ValueError(f"the EMA's copy of the generator does not have the generator's trainable "
                             f"weights (a subclassed model whose get_config() does not rebuild it): {fix}")
        self.model = model
        self._pairs = list(zip(generator.trainable_variables, self.model.trainable_variables))
        return self

    def update(self, step):
        """avg ← β·avg + (1 - β)·w for every trainable weight; call after each generator update."""
        beta = self.beta(step)
        for w, avg in self._pairs:
            avg.assign(w + beta * (avg - w))

    def recalibrate(self, z, step=None):
        """Re-estimate the averaged generator's BatchNorm statistics from ``z`` (``[N, latent_dim]``,
        e.g. 512 noise vectors): each moving mean/variance becomes the statistic of one forward pass.
        Skipped when ``step`` equals the step of the last recalibration. Returns ``self.model``."""
        import keras
        if step is not None and step == self._calibrated_at:
            return self.model
        norms = [l for l in _layers(self.model) if isinstance(l, keras.layers.BatchNormalization)]
        if norms:
            saved = [l.momentum for l in norms]
            try:
                for layer in norms:
                    layer.momentum = 0.0          # moving statistic := this batch's statistic
                self.model(z, training=True)
            finally:
                for layer, m in zip(norms, saved):
                    layer.momentum = m
        self._calibrated_at = step
        return self.model

    def config(self):
        return {"decay": self.decay, "rampup": self.rampup}

    def __repr__(self):
        return f"GeneratorEMA(decay={self.decay}, rampup={self.rampup})"


def _layers(model):
    """Every layer inside ``model``, nested models' and subclassed layers' own layers included."""
    flatten = getattr(model, "_flatten_layers", None)   # Keras 3: the walk Model.layers is built on
    if flatten is not None:
        return list(flatten(include_self=False, recursive=True))
    out = []
    for layer in getattr(model, "layers", []):
        out += [layer] + _layers(layer)
    return out
