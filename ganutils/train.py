"""One training engine for every chapter: ``GANTrainer``.

The heart of it is ``GANTrainer.train_step``: one ``@tf.function`` with gradient tapes, written to be
read (the whole step in one place, as in the keras.io GAN examples). The objective is pluggable
(``ganutils.losses``: non-saturating, minimax, hinge, least squares, Wasserstein, with WGAN-GP's gradient
penalty or R1), and so are the modern options: ``d_steps`` critic updates per generator update, an
exponential moving average of the generator (``ganutils.ema``) and differentiable augmentation of every
image the discriminator sees (``ganutils.augment``). ``GANTrainer.from_recipe`` builds models and trainer
from a recipe (``ganutils.recipes``).

Around the step, ``fit`` adds what a long run needs: a progress bar, fixed-noise sample grids,
checkpoints that resume exactly (models, EMA, optimisers, step, data position, augmentation probability,
history), a stop on non-finite losses, metrics every N steps, and the pictures of the run (GIF, loss and
D(x)/D(G(z)) curves, history JSON). It is built for what real runs meet: a Ctrl-C at any instant saves a
consistent checkpoint (each step moves data position, weights and step counter in one TensorFlow call),
a damaged newest checkpoint falls back to the newest good one, subclassed models, datasets of
``(images, labels)`` or uint8 batches, ``~`` in folders and a change of precision between sittings.

All of the trainer's randomness (the noise z, the noisy labels, the augmentations, the penalty's
interpolation points) is drawn with stateless ops keyed on ``(seed, step, sub-step)``, so restoring the
step restores the random stream too: exact resume needs no process-wide switch such as TensorFlow's
global op determinism (which would make the reader's own unseeded random ops raise). What "exact" means:
the state a sitting restores is bit for bit the state the last one saved; the continued run then matches
an uninterrupted run as closely as two uninterrupted runs match each other, which on most CPUs is to the
last bit but not on all (oneDNN's kernels on an Intel Xeon with AMX differed in the 7th-8th digit from
run to run). With the reader's ``TF_DETERMINISTIC_OPS=1`` a resumed run is bit-exact wherever two
uninterrupted runs are (tests/test_train_options.py).
"""

from __future__ import annotations

import contextlib
import glob
import json
import math
import os
import re
import shutil
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from . import viz
from ._atomic import write_json
from ._text import say
from .losses import label_targets  # noqa: F401  (kept importable from here: chapters 3, 5, 6 use it)

HISTORY_KEYS = ("d_loss", "g_loss", "d_real", "d_fake")

#: The files a run writes into its folders; a fresh run moves them aside (never deletes them).
RUN_FILES = ("checkpoint", "ckpt-*", "damaged-checkpoints", "samples", "history.json", "curves.png",
             "progress.gif")


def _tf():
    import tensorflow as tf
    return tf


def make_optimizer(spec):
    """Build a Keras optimizer from a recipe dict such as ``{"name": "adam",
    "learning_rate": 2e-4, "beta_1": 0.5}`` (see ``ganutils.recipes``); an optimizer passes through.
    Raises ``ValueError`` for an unknown name."""
    import keras
    if not isinstance(spec, dict):
        return spec  # already an optimizer
    spec = dict(spec)
    name = spec.pop("name", "adam").lower()
    classes = {"adam": keras.optimizers.Adam, "rmsprop": keras.optimizers.RMSprop,
               "sgd": keras.optimizers.SGD}
    if name not in classes:
        raise ValueError(f"unknown optimizer {name!r}: expected one of {', '.join(classes)}")
    return classes[name](**spec)


class NonFiniteLossError(FloatingPointError):
    """Training produced NaN or inf; the last good checkpoint was kept."""


class GANTrainer:
    """Train a generator/discriminator pair; by default with the non-saturating GAN loss.

    ``generator``: a Keras model ``[B, latent_dim] -> [B, H, W, C]`` images in [-1, 1];
    ``discriminator``: a Keras model ``[B, H, W, C] -> [B, 1]`` logits (no sigmoid). Functional,
    Sequential and subclassed models all work; a subclassed one must be built (called once) and is
    checked by running it once on 2 noise vectors (the generator) and on those images (the
    discriminator). ``latent_dim`` (int) is read from the generator when it is left out (its input
    shape, or the shape it was built with) and must agree with it when given.
    ``loss``: a name from ``ganutils.losses.LOSSES`` or a ``GANLoss``; ``labels``: ``"hard"``, ``"smooth"``
    or ``"noisy"`` (the cross-entropy losses' targets); optimisers are Keras optimizers or recipe dicts.
    ``d_steps``: critic updates per generator update, each on its own batch (5 for WGAN-GP; 1 updates both
    from one forward pass, as the TensorFlow DCGAN tutorial does). ``gradient_penalty``: WGAN-GP's λ (0 =
    off); ``r1``: R1's γ (0 = off). ``ema``: a ``GeneratorEMA``, a dict of its arguments, a decay in (0, 1)
    such as ``0.999``, ``True`` (decay 0.999, StyleGAN's warm-up), or ``None``/``False``; ``augment``: a
    ``DiffAugment``, a dict of its arguments, a policy string, ``True`` (the paper's
    ``"color,translation,cutout"`` on every image), or ``None``/``False``.

    ``checkpoint_dir`` makes ``fit`` resumable; ``out_dir`` (defaults to ``checkpoint_dir``) receives
    sample grids, the GIF, curves and ``history.json``; in both ``~`` is the home folder. A trainer owns
    these folders: with ``resume=False`` (the default) an earlier run found there is moved aside into
    ``previous-runs/<time>/`` inside the folder (never deleted) and this run starts fresh; with
    ``resume=True`` a checkpoint there is continued if it was made with the same models, loss, optimiser
    classes, ``d_steps`` and EMA setting, and refused with a message otherwise. Hyperparameters given now
    (learning rates, label trick, augmentation, penalty weights) win over the checkpoint's, and the
    trainer says which changed. So does the precision (``config()["precision"]``: ``"float32"``,
    ``"mixed_bfloat16"``, ``"mixed_float16"``): a checkpoint continues under another one, weights and
    optimiser state restored exactly (they are float32 under each). The newest checkpoint that reads back
    whole is the one continued: a newer damaged one (an index or data file missing, cut short, corrupt) and
    a ``checkpoint`` state file TensorFlow cannot read are moved into ``damaged-checkpoints/<time>/``
    (kept) with a ``RuntimeWarning`` naming each and what is wrong.

    ``jit_compile`` compiles the step with XLA: off for every model, because on a 2-core CPU it made each
    of them slower (``python bench/run.py --options``: 28×28 1.73 vs 0.48 s/step, 64×64 1.74 vs 0.85,
    128×128 5.16 vs 3.45); try it on a GPU. ``strategy`` is a ``tf.distribute`` strategy whose scope the
    models were built in (``d_steps`` must then be 1).

    Raises ``ValueError`` when the models cannot be trained together (frozen or weightless models, a
    discriminator that does not output one logit per image, a generator whose images do not fit the
    discriminator's input, a ``latent_dim`` the generator does not take), for a bad option, and with
    ``resume=True`` when checkpoints are there but none can be read (nothing is moved then).
    """

    def __init__(self, generator, discriminator, *, latent_dim=None, g_optimizer=None,
                 d_optimizer=None, loss="nonsaturating", labels="hard", d_steps=1, gradient_penalty=0.0,
                 r1=0.0, ema=None, augment=None, checkpoint_dir=None, out_dir=None, resume=False, seed=0,
                 jit_compile=False, strategy=None, n_samples=64, recipe=None):
        tf = _tf()
        from . import losses as _losses
        from .augment import DiffAugment
        from .ema import GeneratorEMA
        self._shapes = _check_models(generator, discriminator, latent_dim)
        self.generator, self.discriminator = generator, discriminator
        self.latent_dim = self._shapes["latent_dim"]
        self.loss = _losses.get(loss)
        label_targets(labels, tf.zeros([1]), tf.zeros([1]))  # validate early
        self.labels = labels
        if isinstance(d_steps, bool) or not isinstance(d_steps, (int, np.integer)) or d_steps < 1:
            raise ValueError(f"d_steps must be an int >= 1, got {d_steps!r}")
        self.d_steps = int(d_steps)
        for name, value in (("gradient_penalty", gradient_penalty), ("r1", r1)):
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not value >= 0:
                raise ValueError(f"{name} must be a number >= 0 (0 turns it off), got {value!r}")
        self.gp_weight, self.r1_gamma = float(gradient_penalty), float(r1)
        self.seed = int(seed)
        self.strategy = strategy or tf.distribute.get_strategy()
        if self.d_steps > 1 and self.strategy.num_replicas_in_sync > 1:
            raise ValueError("d_steps > 1 needs a single-replica strategy (each critic step takes its own "
                             "batch); use d_steps=1 with a multi-replica strategy")
        self.checkpoint_dir = _folder(checkpoint_dir) if checkpoint_dir else None
        self.out_dir = _folder(out_dir) if out_dir else self.checkpoint_dir
        self.n_samples = n_samples
        self.jit_compile = bool(jit_compile)
        self.recipe = recipe
        self.ema, self.augment = _as_ema(ema, GeneratorEMA), _as_augment(augment, DiffAugment)
        with self.strategy.scope():
            self.g_optimizer = make_optimizer(g_optimizer or {"name": "adam", "learning_rate": 2e-4,
                                                              "beta_1": 0.5})
            self.d_optimizer = make_optimizer(d_optimizer or {"name": "adam", "learning_rate": 2e-4,
                                                              "beta_1": 0.5})
            if generator.dtype_policy.name == "mixed_float16":
                # float16 gradients underflow without loss scaling; bfloat16 needs none
                import keras
                self.g_optimizer = keras.optimizers.LossScaleOptimizer(self.g_optimizer)
                self.d_optimizer = keras.optimizers.LossScaleOptimizer(self.d_optimizer)
            self.g_optimizer.build(generator.trainable_variables)
            self.d_optimizer.build(discriminator.trainable_variables)
            self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
            # the last step's d_loss, g_loss, D(x), D(G(z)), written with the step (not checkpointed)
            self._last_values = tf.Variable(tf.zeros([len(HISTORY_KEYS)]), trainable=False,
                                            name="last_values")
            if self.ema is not None:
                self.ema.build(generator, latent_dim=self.latent_dim)
            if self.augment is not None:
                self.augment.build()
        self.history = {k: [] for k in HISTORY_KEYS}
        self._compiled = None
        self._compiled_fit = None
        self._verified = {}    # checkpoint prefix -> (files' sizes and times, what is wrong or None)
        self._manager = None
        self._iterator = None
        self._prepare_folders(resume)

    @classmethod
    def from_recipe(cls, name, *, width=1.0, out_dir=None, resume=False, seed=0, mixed_precision="auto",
                    strategy=None, **overrides):
        """Build the models of recipe ``name`` (see ``ganutils.recipes``) and a trainer for them.

        ``width`` multiplies every layer's channels (1.0 = the recipe's size); ``out_dir`` holds the run
        (checkpoints, grids, GIF, curves); ``resume`` continues the run in ``out_dir`` (else an earlier run
        there is moved aside); ``seed`` fixes initial weights and every random draw;
        ``mixed_precision``: ``"auto"`` (the default) computes in a 16-bit type where that is faster here
        (float16 on a GPU; bfloat16 on a CPU with bfloat16 units and oneDNN when a short probe runs at least
        1.15x faster: ``ganutils.precision.choose``, which prints why once), ``True`` always, ``False``
        never; the choice is ``trainer.recipe["mixed_precision"]``. ``overrides`` replace
        recipe settings (e.g. ``loss="hinge"``, ``augment=None``). The recipe, with its overrides, is
        ``trainer.recipe``. Raises ``ValueError`` for an unknown recipe or setting.
        """
        from . import models, precision, recipes
        import keras
        r = recipes.get(name, **overrides)
        choice = precision.choose(mixed_precision)   # draws no random numbers: the seeding below holds
        scope = strategy.scope() if strategy is not None else contextlib.nullcontext()
        with scope:
            keras.utils.set_random_seed(seed)
            g, d = models.build(r["model"], latent_dim=r["latent_dim"], width=width, seed=seed,
                                mixed_precision=choice, d_norm=r["d_norm"],
                                spectral_norm=r["spectral_norm"], upsample=r["upsample"])
        r.update(width=width, seed=seed, mixed_precision=choice.mixed)
        return cls(g, d, latent_dim=r["latent_dim"], g_optimizer=r["g_optimizer"],
                   d_optimizer=r["d_optimizer"], loss=r["loss"], labels=r["labels"], d_steps=r["d_steps"],
                   gradient_penalty=r["gradient_penalty"], r1=r["r1"], ema=r["ema"], augment=r["augment"],
                   checkpoint_dir=out_dir, resume=resume, seed=seed, strategy=strategy, recipe=r)

    # ------------------------------------------------------------------ the algorithm
    def losses(self, real, z, u_real, u_fake, training=True, sub=0):
        """The losses for one batch, per image (float32 ``[B]``), from logits.

        Returns ``(d_loss, g_loss, real_logits, fake_logits)``. With the default non-saturating loss:
        the discriminator minimises the binary cross-entropy of real images against real targets and of
        fakes against fake targets (maximising log D(x) + log(1 - D(G(z)))); the generator minimises
        -log D(G(z)), strong gradients even while D(G(z)) is near 0. ``d_loss`` includes the gradient
        penalties when they are on. With augmentation, D sees augmented reals and fakes. ``sub`` numbers
        the critic step within a generator step (it keys the random draws).
        """
        G, D = self.generator, self.discriminator
        fake = G(z, training=training)
        real_in, fake_in = self._augment(real, 2 * sub), self._augment(fake, 2 * sub + 1)
        real_logits = D(real_in, training=training)
        fake_logits = D(fake_in, training=training)
        real_y, fake_y = label_targets(self.labels, u_real, u_fake)
        d_loss = self.loss.discriminator(real_logits, fake_logits, real_y, fake_y)
        d_loss += self._penalties(real_in, fake_in, sub, training)
        g_loss = self.loss.generator(fake_logits)
        return d_loss, g_loss, real_logits, fake_logits

    def train_step(self, real, z, u_real, u_fake):
        """One training step. With ``d_steps == 1``: one simultaneous update
        of D and G from the same forward pass (as the TensorFlow DCGAN
        tutorial does). With ``d_steps = k > 1``: the inputs carry k batches
        (``[k, B, ...]``); D is updated on each in turn, then G once.
        Afterwards the EMA of G is updated. Returns the step's mean losses,
        D(x) and D(G(z)) (sigmoids of the logits)."""
        tf = _tf()
        G, D = self.generator, self.discriminator
        k = self.d_steps
        n = self._global_batch(real[0] if k > 1 else real)
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            if k == 1:
                d_loss, g_loss, real_logits, fake_logits = self.losses(
                    real, z, u_real, u_fake)
            else:
                # the last batch's forward pass feeds G's update; D has had
                # k - 1 steps before it
                with g_tape.stop_recording(), d_tape.stop_recording():
                    for i in range(k - 1):
                        with tf.GradientTape() as critic_tape:
                            d_i, _, _, _ = self.losses(
                                real[i], z[i], u_real[i], u_fake[i], sub=i)
                            d_i = self._scale(self.d_optimizer,
                                              tf.reduce_sum(d_i) / n)
                        self._apply(self.d_optimizer, critic_tape, d_i, D)
                d_loss, g_loss, real_logits, fake_logits = self.losses(
                    real[-1], z[-1], u_real[-1], u_fake[-1], sub=k - 1)
            # average over the global batch, so replicas' gradients sum to
            # the full-batch one
            d_loss = tf.reduce_sum(d_loss) / n
            g_loss = tf.reduce_sum(g_loss) / n
            # mixed float16 scales the losses (inside the tapes) so small
            # gradients survive
            d_scaled = self._scale(self.d_optimizer, d_loss)
            g_scaled = self._scale(self.g_optimizer, g_loss)
        self._apply(self.d_optimizer, d_tape, d_scaled, D)
        self._apply(self.g_optimizer, g_tape, g_scaled, G)
        if self.augment is not None:
            # ADA's controller (no-op unless adaptive)
            self.augment.update(real_logits)
        if self.ema is not None:
            self.ema.update(self.step + 1)
        # D(x) and D(G(z)), in float32 whatever precision D computes in
        d_real = tf.sigmoid(tf.cast(real_logits, tf.float32))
        d_fake = tf.sigmoid(tf.cast(fake_logits, tf.float32))
        return {
            "d_loss": d_loss, "g_loss": g_loss,
            "d_real": tf.reduce_sum(d_real) / n,   # mean D(x)
            "d_fake": tf.reduce_sum(d_fake) / n,   # mean D(G(z))
        }

    @staticmethod
    def _scale(optimizer, loss):
        """The loss as ``optimizer`` wants it: scaled by a LossScaleOptimizer (mixed float16),
        unchanged otherwise. Call it inside the tape."""
        return optimizer.scale_loss(loss) if hasattr(optimizer, "scale_loss") else loss

    @staticmethod
    def _apply(optimizer, tape, loss, model):
        """Gradients of ``loss`` (already scaled by ``_scale``) applied to ``model``'s weights."""
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))

    def _global_batch(self, real):
        tf = _tf()
        return tf.cast(tf.shape(real)[0] * self.strategy.num_replicas_in_sync, tf.float32)

    def _draw_seed(self, stream):
        """A stateless seed keyed on (seed, stream, step): for augmentations and penalties."""
        tf = _tf()
        return tf.stack([tf.cast(self.seed, tf.int64) * 1_000_003 + 100 + stream,
                         tf.cast(self.step, tf.int64)])

    def _augment(self, images, stream):
        if self.augment is None:
            return images
        return self.augment(images, self._draw_seed(stream))

    def _penalties(self, real_in, fake_in, sub, training):
        """WGAN-GP's and R1's per-image penalties (0 when off), on the images D sees."""
        tf = _tf()
        from .losses import gradient_penalty, r1_penalty
        total = tf.zeros([tf.shape(real_in)[0]], tf.float32)
        if self.gp_weight:
            eps = tf.random.stateless_uniform([tf.shape(real_in)[0], 1, 1, 1], seed=self._draw_seed(50 + sub))
            total += gradient_penalty(self.discriminator, real_in, fake_in, eps, self.gp_weight, training)
        if self.r1_gamma:
            total += r1_penalty(self.discriminator, real_in, self.r1_gamma, training)
        return total

    # ------------------------------------------------------------------ randomness
    def noise(self, step, n, stream=0):
        """The latent vectors of ``step``: N(0, 1), ``[n, latent_dim]`` float32, keyed on (seed, step,
        stream)."""
        tf = _tf()
        seed = tf.stack([tf.cast(self.seed, tf.int64) * 1_000_003 + stream, tf.cast(step, tf.int64)])
        return tf.random.stateless_normal([n, self.latent_dim], seed=seed)

    def _extras(self, step, n):
        tf = _tf()
        k = self.d_steps
        z = self.noise(step, n * k)
        seed = tf.stack([tf.cast(self.seed, tf.int64) * 1_000_003 + 1, tf.cast(step, tf.int64)])
        u = tf.random.stateless_uniform([n * k, 2], seed=seed)
        ur, uf = u[:, :1], u[:, 1:]
        if k > 1:
            z, ur, uf = (tf.reshape(t, [k, n, -1]) for t in (z, ur, uf))
        return z, ur, uf

    def fixed_noise(self, n=None):
        """The noise used for the sample grids: the same all run long."""
        return self.noise(-1, n or self.n_samples, stream=7)

    def _images(self, dataset):
        """The dataset's image batches as the models take them, and whether their range needs a look.

        Elements may be image batches, tuples whose first item is the batch (``(images, labels)`` from
        ``keras.utils.image_dataset_from_directory``) or dicts with an ``"image"``/``"images"`` key
        (TensorFlow Datasets); uint8 batches (0..255) become float32 in [-1, 1] (x / 127.5 - 1)."""
        tf = _tf()
        where = "GANTrainer.fit's dataset"
        if not isinstance(dataset, tf.data.Dataset):
            raise ValueError(f"{where} must be a tf.data.Dataset of image batches, got "
                             f"{type(dataset).__name__} (ganutils.data.image_dataset makes one from images)")
        spec = dataset.element_spec
        if isinstance(spec, (tuple, list)) and spec:
            dataset, spec = dataset.map(lambda *parts: parts[0]), spec[0]   # (images, labels, ...)
        elif isinstance(spec, dict):
            key = next((k for k in ("image", "images") if k in spec), None)
            if key is None:
                raise ValueError(f"{where} gives dicts with keys {', '.join(repr(k) for k in sorted(spec))}; "
                                 f"dicts must hold the images under 'image' (or 'images'): map it to the "
                                 f"images, e.g. dataset.map(lambda d: d['{sorted(spec)[0]}'])")
            dataset, spec = dataset.map(lambda d: d[key]), spec[key]
        if not isinstance(spec, tf.TensorSpec):
            raise ValueError(f"{where} must give image batches [B, H, W, C] (or (images, ...) tuples, or "
                             f"dicts with an 'image' key); its elements are {spec}")
        if spec.shape.rank is not None and spec.shape.rank != 4:
            raise ValueError(f"{where} must give batches of images [B, H, W, C]; its elements have shape "
                             f"{spec.shape}: batch it (dataset.batch(B, drop_remainder=True))")
        image, made = tuple(spec.shape[1:]) if spec.shape.rank == 4 else (), self._shapes["g_out"]
        if image and None not in image + tuple(made) and list(image) != made:
            raise ValueError(f"{where} gives images of shape {image}, but the generator makes "
                             f"{tuple(self._shapes['g_out'])}: resize them, or build the models for "
                             f"{image}")
        if spec.dtype == tf.uint8:  # 0..255 by definition: nothing to check
            return dataset.map(lambda x: tf.cast(x, tf.float32) / 127.5 - 1.0), False
        if not spec.dtype.is_floating:
            raise ValueError(f"{where} gives {spec.dtype.name} images; it takes uint8 (0..255) or floats in "
                             "[-1, 1]: cast 0..255 values to uint8 (tf.cast(x, tf.uint8)) or scale them "
                             "(x / 127.5 - 1)")
        return dataset, True

    def _stream(self, dataset):
        """Pair each real batch (``d_steps`` batches when > 1) with its step's noise and uniforms."""
        tf = _tf()
        dataset, _ = self._images(dataset)
        batch = dataset.element_spec.shape[0]
        if batch is None:
            raise ValueError("the dataset needs a fixed batch size: batch it with drop_remainder=True, or "
                             "rebatch one that is already batched (dataset.rebatch(B, drop_remainder=True)); "
                             "ganutils.data.image_dataset does this")
        if self.d_steps > 1:
            dataset = dataset.batch(self.d_steps, drop_remainder=True)
        steps = tf.data.Dataset.counter(start=0)
        extras = steps.map(lambda s: self._extras(s, batch))
        stream = tf.data.Dataset.zip(dataset, extras).map(
            lambda x, e: (x, e[0], e[1], e[2])).prefetch(tf.data.AUTOTUNE)
        # Checkpoint the data position, not the prefetched batches: keeps checkpoints small.
        options = tf.data.Options()
        options.experimental_symbolic_checkpoint = True
        return stream.with_options(options)

    def _compiled_step(self):
        """``train_step`` compiled (and run on every replica): ``(real, z, u_real, u_fake) -> losses``.
        It leaves the step counter alone."""
        tf = _tf()
        if self._compiled is None:
            step = tf.function(self.train_step, jit_compile=self.jit_compile, reduce_retracing=True)
            if self.strategy.num_replicas_in_sync > 1:
                def distributed(real, z, ur, uf):
                    out = self.strategy.run(step, args=(real, z, ur, uf))
                    return {k: self.strategy.reduce("SUM", v, axis=None) for k, v in out.items()}
                self._compiled = tf.function(distributed)
            else:
                self._compiled = step
        return self._compiled

    def _compiled_fit_step(self):
        """One step of ``fit`` as one TensorFlow call: take the next batch from the iterator, train on it,
        advance the step counter and record the step's losses. A Ctrl-C cannot land inside it, so the
        data position, the weights, the optimisers, the EMA and the step always move together."""
        tf = _tf()
        if self._compiled_fit is None:
            train = self._compiled_step()

            def fit_step(iterator):
                out = train(*next(iterator))
                values = tf.stack([tf.cast(out[k], tf.float32) for k in HISTORY_KEYS])
                with tf.control_dependencies([values]):
                    self._last_values.assign(values)
                    self.step.assign_add(1)
                return out
            self._compiled_fit = tf.function(fit_step)
        return self._compiled_fit

    # ------------------------------------------------------------------ checkpoints
    def signature(self):
        """What a checkpoint must match: architectures (shapes of every variable) and sizes."""
        G, D, shapes = self.generator, self.discriminator, self._shapes
        return json.dumps({
            "generator": {"input": shapes["g_in"], "output": shapes["g_out"],
                          "params": int(G.count_params()), "name": G.name},
            "discriminator": {"input": shapes["d_in"], "params": int(D.count_params()), "name": D.name},
            "variables": [list(v.shape) for v in G.variables + D.variables],
        }, sort_keys=True)

    def config(self):
        """How this trainer trains (JSON-able): loss, labels, critic steps, penalties, EMA,
        augmentation, each optimiser's class and hyperparameters, and ``precision``, the generator's
        Keras dtype policy (``"float32"``, ``"mixed_bfloat16"``, ``"mixed_float16"``). Saved with every
        checkpoint."""
        return {"loss": self.loss.name, "labels": self.labels, "d_steps": self.d_steps,
                "precision": self.generator.dtype_policy.name,
                "gradient_penalty": self.gp_weight, "r1": self.r1_gamma,
                "ema": None if self.ema is None else self.ema.config(),
                "augment": None if self.augment is None else self.augment.config(),
                "g_optimizer": _optimizer_config(self.g_optimizer),
                "d_optimizer": _optimizer_config(self.d_optimizer)}

    def _checkpoint(self, iterator=None, saved_loss_scale=None):
        """What a checkpoint holds. ``saved_loss_scale``: read one whose optimisers were (True) or were
        not (False) wrapped in a LossScaleOptimizer (mixed_float16) into this trainer's optimisers of the
        other kind: their inner optimiser's state maps onto each other, the loss scale is left out."""
        tf = _tf()
        if saved_loss_scale is None:
            self._signature = tf.Variable(self.signature(), trainable=False, name="signature")
            self._config_json = tf.Variable(json.dumps(self.config(), sort_keys=True), trainable=False,
                                            name="config")
            self._history_json = tf.Variable("{}", trainable=False, name="history")
            g_opt, d_opt = self.g_optimizer, self.d_optimizer
        elif saved_loss_scale:
            g_opt, d_opt = (tf.train.Checkpoint(inner_optimizer=_inner(o))
                            for o in (self.g_optimizer, self.d_optimizer))
        else:
            g_opt, d_opt = _inner(self.g_optimizer), _inner(self.d_optimizer)
        parts = dict(generator=list(self.generator.variables),
                     discriminator=list(self.discriminator.variables),
                     g_optimizer=g_opt, d_optimizer=d_opt,
                     step=self.step, signature=self._signature, config=self._config_json,
                     history=self._history_json)
        if self.ema is not None:
            parts["ema"] = list(self.ema.model.variables)
        if self.augment is not None:
            parts["augment_p"] = self.augment.p
        if iterator is not None:
            parts["data"] = iterator
        return tf.train.Checkpoint(**parts)

    def _check_signature(self, path):
        """Refuse, before anything loads, a checkpoint made for other models or another way of training
        (loss, optimiser class, critic steps, EMA on/off). Returns the checkpoint's config (or None)."""
        tf = _tf()
        reader = tf.train.load_checkpoint(str(path))
        try:
            saved = reader.get_tensor("signature/.ATTRIBUTES/VARIABLE_VALUE").decode()
        except Exception:  # not one of ours
            raise ValueError(f"{path} is not a GANTrainer checkpoint (no signature found)") from None
        fresh = ("Pass resume=False to start fresh (the earlier run is moved aside, not deleted), or use "
                 "another folder.")
        mine = self.signature()
        a, b = json.loads(saved), json.loads(mine)
        for sig in (a, b):   # a model's name says nothing of its weights (Keras numbers unnamed ones)
            for net in ("generator", "discriminator"):
                sig[net].pop("name", None)
        if a != b:
            lines = []
            for net, keys in (("generator", ("input", "output", "params")),
                              ("discriminator", ("input", "params"))):
                for k in keys:
                    if a[net].get(k) != b[net].get(k):
                        lines.append(f"  {net} {k}: checkpoint {a[net].get(k)}, now {b[net].get(k)}")
            if not lines:
                lines.append("  the layer shapes differ (same sizes, different architecture)")
            raise ValueError(
                f"the checkpoint in {Path(path).parent} was written for different models:\n"
                + "\n".join(lines)
                + "\nBuild the models the checkpoint was made with to continue it. " + fresh)
        try:
            old = json.loads(reader.get_tensor("config/.ATTRIBUTES/VARIABLE_VALUE").decode())
        except Exception:  # a checkpoint from before configs were saved
            return None
        new = self.config()
        lines = []
        for key in ("loss", "d_steps"):
            if old.get(key) != new[key]:
                lines.append(f"  {key}: checkpoint {old.get(key)!r}, now {new[key]!r}")
        if (old.get("ema") is None) != (new["ema"] is None):
            lines.append(f"  EMA of the generator: checkpoint {'on' if old.get('ema') else 'off'}, "
                         f"now {'on' if new['ema'] else 'off'}")
        for key in ("g_optimizer", "d_optimizer"):
            was, now = (old.get(key) or {}).get("class"), new[key]["class"]
            if was != now:
                lines.append(f"  {key} class: checkpoint {was}, now {now}")
        if lines:
            raise ValueError(f"the checkpoint in {Path(path).parent} was trained differently:\n"
                             + "\n".join(lines) + "\nTrain it as it was trained to continue it. " + fresh)
        return old

    def _report_changes(self, old):
        """Say which hyperparameters given now differ from the checkpoint's (the new ones win)."""
        if not old:
            return
        new = self.config()
        changes = []
        for key in ("labels", "gradient_penalty", "r1", "ema", "augment"):
            if old.get(key) != new[key]:
                changes.append(f"{key} {old.get(key)!r} -> {new[key]!r}")
        for key in ("g_optimizer", "d_optimizer"):
            o, n = old.get(key) or {}, new[key]
            for h in sorted(set(o) | set(n)):
                if h != "class" and o.get(h) != n.get(h):
                    changes.append(f"{key} {h} {o.get(h)!r} -> {n.get(h)!r}")
        if changes:
            say("Resuming with settings that differ from the checkpoint's; the new ones are used:",
                 *(f"  {c}" for c in changes))
        was, now = old.get("precision"), new["precision"]
        if was and was != now:
            scale = ("" if "mixed_float16" not in (was, now) else
                     " mixed_float16's loss scale was left behind;" if was == "mixed_float16" else
                     " mixed_float16's loss scale starts afresh;")
            say("Resuming in another precision:", f"  precision: checkpoint {was}, now {now}.",
                 f"The weights and optimiser state are kept in float32 under both and were restored "
                 f"exactly;{scale} the steps from here on compute in {now}, so the run does not "
                 f"continue bit for bit as it would have in {was}.")

    def restore(self, iterator=None):
        """Restore the newest checkpoint in ``checkpoint_dir`` that reads whole, if there is one (a
        damaged newer one is set aside with a warning, see ``_latest_checkpoint``); returns the step.
        Raises ``ValueError`` for a checkpoint of other models or another way of training, or when
        checkpoints are there but none can be read."""
        tf = _tf()
        if self.checkpoint_dir is None:
            return int(self.step.numpy())
        latest = self._latest_checkpoint()
        ckpt = self._checkpoint(iterator)
        self._manager = tf.train.CheckpointManager(ckpt, str(self.checkpoint_dir), max_to_keep=3)
        self._ckpt = ckpt
        if latest is None:
            return 0
        old = self._check_signature(latest)
        rates = [_learning_rate(o) for o in (self.g_optimizer, self.d_optimizer)]
        was = (old or {}).get("precision")
        mine = hasattr(self.g_optimizer, "inner_optimizer")
        if was and (was == "mixed_float16") != mine:   # a LossScaleOptimizer on one side only
            status = self._checkpoint(iterator, saved_loss_scale=not mine).read(str(latest))
            status.expect_partial()
        else:
            status = ckpt.read(str(latest))
            if iterator is None:
                status.expect_partial()
        # the learning rate is an optimizer variable, restored with it: the one given now wins
        for opt, rate in zip((self.g_optimizer, self.d_optimizer), rates):
            if rate is not None:
                _inner(opt).learning_rate.assign(rate)
        self._config_json.assign(json.dumps(self.config(), sort_keys=True))
        self._report_changes(old)
        self.history = json.loads(self._history_json.numpy().decode())
        return int(self.step.numpy())

    def save(self):
        """Write a checkpoint (models, EMA, optimisers, step, data position, history)."""
        if self._manager is None:
            return None
        self._history_json.assign(json.dumps(self.history))
        path = self._manager.save(checkpoint_number=int(self.step.numpy()))
        if self.out_dir is not None:
            write_json(self.out_dir / "history.json", self.history)
        return path

    def _latest_checkpoint(self):
        """The checkpoint to continue from: the newest one in ``checkpoint_dir`` (by step) whose files
        are all there and read back whole, or None when the folder holds no checkpoint files.

        Newer checkpoints that fail (an index or data file missing, cut short or corrupt) and a
        ``checkpoint`` state file TensorFlow cannot read are moved into ``damaged-checkpoints/<time>/``
        (kept, never deleted) with a ``RuntimeWarning`` naming each and what is wrong. The state file is
        not trusted to list the checkpoints: their files are. Raises ``ValueError``, moving nothing, when
        checkpoint files are there but none can be read."""
        folder = self.checkpoint_dir
        if folder is None or not folder.is_dir():
            return None
        listed, state_problem = _read_state(folder)
        names = set(listed) | {p.name.split(".")[0] for pattern in ("ckpt-*.index", "ckpt-*.data-*")
                               for p in folder.glob(pattern)}
        found = {n: _checkpoint_files(folder, n) for n in names}
        latest, damaged = None, []
        for name in sorted((n for n in names if found[n]), key=_checkpoint_number, reverse=True):
            why = self._verify(folder / name, found[name])
            if why is None:
                latest = folder / name
                break
            damaged.append((name, why))
        if latest is None and damaged:
            raise ValueError(f"no checkpoint in {folder} can be read (nothing was moved or loaded):\n"
                             + "\n".join(f"  {name}: {why}" for name, why in damaged)
                             + "\nPass resume=False to start a fresh run (these files are moved into "
                               "previous-runs/, not deleted), or put a good checkpoint back.")
        if not damaged and not state_problem:
            return latest
        target = _fresh_folder(folder / "damaged-checkpoints")
        for name, _ in damaged:
            for p in found[name]:
                shutil.move(str(p), str(target / p.name))
        said = []
        if damaged:
            said.append("skipped " + "; ".join(f"{name} ({why})" for name, why in damaged))
        if state_problem:
            shutil.move(str(folder / "checkpoint"), str(target / "checkpoint"))
            said.append(f"the checkpoint state file 'checkpoint' {state_problem}, so the checkpoints were "
                        "found by their files (the next save writes a new state file)")
        go_on = (f"continuing from {latest.name}, the newest checkpoint that reads whole" if latest
                 else "no checkpoint is left to continue")
        warnings.warn(f"{folder}: " + "; ".join(said) + f"; {go_on}. The damaged files were moved to "
                      f"{target} (kept, not deleted).", RuntimeWarning, stacklevel=4)
        return latest

    def _verify(self, prefix, files):
        """What is wrong with the checkpoint at ``prefix`` (None if nothing): remembered per file state."""
        key = tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in files)
        if self._verified.get(str(prefix), (None,))[0] != key:
            self._verified[str(prefix)] = (key, _checkpoint_problem(prefix))
        return self._verified[str(prefix)][1]

    # ------------------------------------------------------------------ run folders
    def _prepare_folders(self, resume):
        """Own the run folders: move an earlier run aside unless it is to be (and can be) continued."""
        folders = [f for f in dict.fromkeys([self.checkpoint_dir, self.out_dir]) if f is not None]
        latest = self._latest_checkpoint() if resume else None
        if latest is not None:
            self._check_signature(latest)   # refuse a mismatch now, before any training
            return
        moved = []
        for folder in folders:
            found = ([p for pattern in RUN_FILES for p in sorted(folder.glob(pattern))]
                     if folder.is_dir() else [])
            if not found:
                continue
            target = _fresh_folder(folder / "previous-runs")
            for p in found:
                shutil.move(str(p), str(target / p.name))
            moved.append(target)
        if moved:
            why = ("it has no checkpoint to continue" if resume else "resume=False")
            say(f"Starting a fresh run ({why}).", "The earlier run's files were moved to:",
                 *(f"  {m}" for m in moved),
                 *([] if resume else ["Pass resume=True to continue a run instead."]))

    # ------------------------------------------------------------------ the loop
    def sampler(self):
        """The generator that draws the run's pictures: the EMA generator (its BatchNorm statistics
        re-estimated for its own weights) unless the first metric says the raw generator is better;
        the raw generator when there is no EMA."""
        if self.ema is None:
            return self.generator
        metric = next((k for k in self.history if k + "_ema" in self.history), None)
        if metric and self.history[metric] and self.history[metric + "_ema"]:
            if self.history[metric + "_ema"][-1][1] > self.history[metric][-1][1]:
                return self.generator
        return self._ema_model()

    def _ema_model(self):
        """The EMA generator with BatchNorm statistics for its own weights (re-estimated once a step)."""
        return self.ema.recalibrate(self.noise(-4, 512, stream=17), step=int(self.step.numpy()))

    def sample(self, z=None, which="best"):
        """Generated images for ``z`` (default: the fixed noise), float32 ``[N, H, W, C]`` in [-1, 1].
        ``which``: ``"best"`` (see :meth:`sampler`), ``"raw"`` or ``"ema"``."""
        z = self.fixed_noise() if z is None else z
        if which == "raw" or (which == "best" and self.ema is None):
            model = self.generator
        elif which == "ema":
            if self.ema is None:
                raise ValueError("this trainer has no EMA generator (pass ema=... to keep one)")
            model = self._ema_model()
        elif which == "best":
            model = self.sampler()
        else:
            raise ValueError(f"which must be 'best', 'raw' or 'ema', got {which!r}")
        return model(z, training=False).numpy()

    def fit(self, dataset, steps, *, sample_every=None, checkpoint_every=None, metrics=None,
            metric_every=None, metric_samples=256, progress=True, make_gif=True):
        """Train until ``steps`` steps have been done in total; returns ``history``.

        ``dataset``: a repeating ``tf.data.Dataset`` with a fixed batch size whose elements are image
        batches ``[B, H, W, C]``, or tuples whose first item is one (``(images, labels)``, as
        ``keras.utils.image_dataset_from_directory`` gives: the rest is ignored), or dicts holding one under
        ``"image"`` (or ``"images"``), as TensorFlow Datasets gives. Images are floats in [-1, 1] or uint8
        (0..255, converted to x / 127.5 - 1). The first batch is checked (``ganutils.data.check_range``)
        before anything trains: floats outside [-1.05, 1.05], such as 0..255 floats, raise ``ValueError``
        naming the range seen and the fix; floats with no negative value warn (``ImageRangeWarning``).

        Called again after an interruption (or on a folder that holds a checkpoint, with ``resume=True``),
        it resumes from the last checkpoint and finishes the run. Ctrl-C (``KeyboardInterrupt``) saves a
        checkpoint of a consistent state, wherever it lands: each step moves the data position, weights,
        optimisers, EMA and step counter in one TensorFlow call, and what the Python side had not
        recorded yet (the step's losses, a measurement cut in half) is completed or left to the next
        ``fit``, which first makes up a missed measurement or sample grid. ``metrics`` maps a name to
        ``metric(fake_images) -> float``; every ``metric_every`` steps it is computed on ``metric_samples``
        generated images and appended to ``history[name]`` as ``[step, value]`` (and, with an EMA, for the
        EMA generator to ``history[name + "_ema"]``).
        Raises ``NonFiniteLossError`` (last good checkpoint kept) and ``ValueError`` for bad arguments or
        data.
        """
        tf = _tf()
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
            raise ValueError(f"steps must be a non-negative int, got {steps!r}")
        _, needs_check = self._images(dataset)
        stream = self._stream(dataset)
        iterator, saveable, first = _peek(stream, iter(stream))
        if needs_check:
            from .data.checks import check_range
            check_range(first, where="GANTrainer.fit's dataset")
        start = self.restore(saveable)
        if saveable is None and start:
            iterator = iter(stream.skip(start))  # no saved data position: replay up to it
        checkpoint_every = checkpoint_every or max(1, min(500, steps // 10 or 1))
        sample_every = sample_every or max(1, steps // 20 or 1)
        metrics = metrics or {}
        metric_every = metric_every or sample_every
        for name in metrics:
            self.history.setdefault(name, [])
            if self.ema is not None:
                self.history.setdefault(name + "_ema", [])
        if self.augment is not None:
            self.history.setdefault("augment_p", [])
        if self.strategy.num_replicas_in_sync > 1:
            iterator = iter(self.strategy.experimental_distribute_dataset(stream)) if start == 0 \
                else _distributed_from(self.strategy, stream, start)
        step_fn = self._compiled_fit_step()
        bar = _progress(start, steps, progress)
        last_good = start
        clock = self.history.setdefault("time", [])
        wall0, cpu0 = time.perf_counter(), time.process_time()
        base = clock[-1][1:] if clock else [0.0, 0.0]

        def tick(done):  # cumulative seconds of this run, over every fit() call, saved with the history
            if clock and clock[-1][0] == done:
                return
            clock.append([done, round(base[0] + time.perf_counter() - wall0, 2),
                          round(base[1] + time.process_time() - cpu0, 2)])
        try:
            if steps > start:
                self._make_up(start, metrics, metric_every, metric_samples, sample_every)
            for step in range(start, steps):
                try:
                    out = step_fn(iterator)   # data, update, EMA, step counter: one call
                except tf.errors.OutOfRangeError:
                    raise ValueError(f"the dataset ran out after {step - start} batches; training "
                                     f"needs {steps - start}: repeat it (image_dataset(..., "
                                     "repeat=True) does)") from None
                values = {k: float(v) for k, v in out.items()}
                if not all(math.isfinite(v) for v in values.values()):
                    raise NonFiniteLossError(
                        f"non-finite loss at step {step + 1}: "
                        + ", ".join(f"{k}={v:.4g}" for k, v in values.items())
                        + (f". The last good checkpoint (step {last_good}) in {self.checkpoint_dir} "
                           "was kept; lower the learning rate or check the data."
                           if self.checkpoint_dir else ". Lower the learning rate or check the data."))
                for k in HISTORY_KEYS:
                    self.history[k].append(values[k])
                done = step + 1
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(bar_postfix(values), refresh=False)
                if metrics and (done % metric_every == 0 or done == steps):
                    self._measure(metrics, done, metric_samples)
                if self.out_dir is not None and (done % sample_every == 0 or done == steps):
                    self._save_samples(done)
                if done % checkpoint_every == 0 and done != steps:
                    tick(done)
                    self.save()
                    last_good = done
            if bar is not None:
                bar.close()
            if steps > start:
                tick(steps)
            self.save()
        except NonFiniteLossError:
            if bar is not None:
                bar.close()
            raise
        except KeyboardInterrupt:
            if bar is not None:
                bar.close()
            self._after_interrupt(start, metrics, last_good, tick)
            raise
        if self.out_dir is not None and steps > start:
            try:
                self.write_report(make_gif=make_gif)
            except Exception as e:  # the training is saved: a failed picture must not hide it
                warnings.warn(f"training finished and was saved (step {int(self.step.numpy())}), but "
                              f"writing the run's report into {self.out_dir} failed: "
                              f"{type(e).__name__}: {e}", RuntimeWarning, stacklevel=2)
        return self.history

    def _after_interrupt(self, start, metrics, last_good, tick):
        """Bring the Python-side record level with the TensorFlow state after a Ctrl-C, then save it.

        The step counter moved with the weights (one TensorFlow call), so only the record can lag: the
        losses of the last step (kept in ``_last_values``) are appended where missing, and a measurement
        interrupted half-way is taken back (``_make_up`` takes it again on the next ``fit``). A last step
        with non-finite losses is not saved: the last good checkpoint stays the newest; nor is a step
        whose checkpoint is already written (a second Ctrl-C while rewriting it could spoil it)."""
        step = int(self.step.numpy())
        kept = self._manager.latest_checkpoint if self._manager is not None else None
        if step > start:
            last = [float(v) for v in self._last_values.numpy()]
            if not all(math.isfinite(v) for v in last):
                say(f"Interrupted at step {step}, whose losses are not finite: nothing saved"
                     + (f"; the last good checkpoint {kept} was kept." if kept else "."))
                return
            for k, v in zip(HISTORY_KEYS, last):
                if len(self.history[k]) == step - 1:
                    self.history[k].append(v)
        keys = self._measure_keys(metrics)
        measured = [k for k in keys if self.history[k] and self.history[k][-1][0] == step]
        if measured and len(measured) < len(keys):
            for k in measured:
                self.history[k].pop()
        if self._manager is None:
            return
        if step == last_good:   # already on disk (or a fresh run's step 0): leave that checkpoint alone
            say(f"Interrupted at step {step}; " + (f"its checkpoint {kept} was already saved. Run "
                                                    "fit() again to continue." if kept
                                                    else "nothing to save yet."))
            return
        tick(step)
        say(f"Interrupted at step {step}; checkpoint saved to {self.save()}. Run fit() again to "
             "continue.")

    def _measure_keys(self, metrics):
        """The history entries one measurement appends to."""
        keys = [name + suffix for name in metrics for suffix in ("", "_ema")[:1 + (self.ema is not None)]]
        return keys + (["augment_p"] if self.augment is not None and metrics else [])

    def _make_up(self, start, metrics, metric_every, n, sample_every):
        """Take the measurement and the sample grid due at ``start`` if an interrupted sitting missed
        them (a Ctrl-C while measuring or drawing)."""
        if start == 0:
            if self.out_dir is not None:
                self._save_samples(0)
            return
        keys = self._measure_keys(metrics)
        if keys and start % metric_every == 0 and any(
                not self.history[k] or self.history[k][-1][0] != start for k in keys):
            self._measure(metrics, start, n)
        if self.out_dir is not None and start % sample_every == 0 and \
                not (self.out_dir / "samples" / f"step_{start:06d}.png").is_file():
            self._save_samples(start)

    def _measure(self, metrics, done, n):
        """Compute every metric (and the augmentation probability), then record them all together."""
        z = self.noise(-2, n, stream=11)
        fakes = {"": self.sample(z, which="raw")}
        if self.ema is not None:
            fakes["_ema"] = self.sample(z, which="ema")
        entries = {name + suffix: [done, float(fn(fake))]
                   for name, fn in metrics.items() for suffix, fake in fakes.items()}
        if self.augment is not None:
            entries["augment_p"] = [done, float(self.augment.p.numpy())]
        for key, entry in entries.items():
            self.history[key].append(entry)

    def training_time(self):
        """``(steps, wall_seconds, cpu_seconds)`` this run has trained so far, over every ``fit`` call
        and every sitting (saved in the checkpoint with the history; sampling and metrics during
        ``fit`` included). ``(0, 0.0, 0.0)`` before training."""
        clock = self.history.get("time") or [[0, 0.0, 0.0]]
        return int(clock[-1][0]), float(clock[-1][1]), float(clock[-1][2])

    # ------------------------------------------------------------------ what a run leaves
    def sample_paths(self):
        """The fixed-noise grids saved so far by this run, in step order."""
        if self.out_dir is None:
            return []
        return sorted((self.out_dir / "samples").glob("step_*.png"))

    def _save_samples(self, step):
        viz.save_grid(self.sample(), self.out_dir / "samples" / f"step_{step:06d}.png")

    def write_report(self, make_gif=True):
        """The run's pictures: progress GIF, loss and D(x)/D(G(z)) curves, history JSON."""
        out = self.out_dir
        write_json(out / "history.json", self.history)
        if self.history["d_loss"]:
            viz.plot_history(self.history, out / "curves.png")
        frames = self.sample_paths()
        if make_gif and frames:
            viz.make_gif(frames, out / "progress.gif")
        return out


def _inner(optimizer):
    """The optimizer a LossScaleOptimizer wraps (or the optimizer itself)."""
    return getattr(optimizer, "inner_optimizer", optimizer)


def _learning_rate(optimizer):
    """The optimizer's learning rate as a float, or None for a schedule."""
    try:
        return float(_inner(optimizer).learning_rate.numpy())
    except Exception:
        return None


def _optimizer_config(optimizer):
    """Class name and the hyperparameters that matter for resuming (JSON-able)."""
    opt = _inner(optimizer)
    out = {"class": type(opt).__name__}
    rate = _learning_rate(opt)
    if rate is not None:
        out["learning_rate"] = float(f"{rate:.7g}")   # float32 noise off: 2e-4, not 0.000199999
    for key in ("beta_1", "beta_2", "rho", "momentum", "epsilon", "clipvalue", "clipnorm"):
        value = getattr(opt, key, None)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out[key] = float(f"{value:.7g}")
    return out


def _folder(path):
    """A folder the reader named, ``~`` meaning their home folder."""
    return Path(os.path.expanduser(os.fspath(path)))


def _as_ema(ema, GeneratorEMA):
    """``ema`` as a ``GeneratorEMA`` or None: a decay (0.999), True (the default decay), a dict of its
    arguments, an instance; None or False for none."""
    if ema is None or ema is False:
        return None
    if ema is True:
        return GeneratorEMA()
    if isinstance(ema, (int, float, np.floating)) and not isinstance(ema, (bool, np.bool_)):
        return GeneratorEMA(decay=float(ema))
    if isinstance(ema, dict):
        return GeneratorEMA(**ema)
    if isinstance(ema, GeneratorEMA):
        return ema
    raise ValueError(f"ema must be None, a decay in (0, 1) such as 0.999, True (decay 0.999), a dict of "
                     f"GeneratorEMA's arguments (decay, rampup) or a GeneratorEMA; got {ema!r}")


def _as_augment(augment, DiffAugment):
    """``augment`` as a ``DiffAugment`` or None: True (the paper's three transformations), a policy
    string, a dict of its arguments, an instance; None or False for none."""
    if augment is None or augment is False:
        return None
    if augment is True:
        return DiffAugment()
    if isinstance(augment, str):
        return DiffAugment(augment)
    if isinstance(augment, dict):
        return DiffAugment(**augment)
    if isinstance(augment, DiffAugment):
        return augment
    raise ValueError(f"augment must be None, True (DiffAugment's color,translation,cutout), a policy "
                     f"string such as 'color,translation', a dict of DiffAugment's arguments (policy, p, "
                     f"adaptive, ...) or a DiffAugment; got {augment!r}")


def _static_shape(model, attribute):
    """``model.input_shape``/``output_shape`` as a tuple, or None where Keras does not know it (a
    subclassed model: then its build config's input shape, if it has one)."""
    try:
        return tuple(getattr(model, attribute))
    except (AttributeError, ValueError, TypeError):
        pass
    if attribute == "input_shape":
        try:
            shape = (model.get_build_config() or {}).get("input_shape")
        except Exception:  # noqa: BLE001 - a model whose build config cannot be read
            shape = None
        if shape is not None and not isinstance(shape, dict) and all(
                d is None or isinstance(d, int) for d in shape):
            return (None,) + tuple(shape)[1:]
    return None


def _check_models(generator, discriminator, latent_dim=None):
    """Refuse models the trainer cannot train, with what is wrong and how to fix it. Returns the shapes
    without the batch axis: ``{"latent_dim", "g_in", "g_out", "d_in"}``. Functional and Sequential models
    give them statically; for subclassed ones the generator runs once on 2 noise vectors and the
    discriminator once on its images (inference mode)."""
    tf = _tf()
    for name, model in (("generator", generator), ("discriminator", discriminator)):
        if not getattr(model, "trainable", True):
            raise ValueError(f"the {name} has trainable = False (the Keras 2 combined-model recipe freezes "
                             f"the discriminator this way), so it cannot learn: set "
                             f"{name}.trainable = True before building the trainer")
        if not model.trainable_variables:
            raise ValueError(f"the {name} has no trainable weights (are all its layers frozen, or is it a "
                             f"subclassed model never called?): set trainable = True on its layers, or "
                             f"build it (call it once on a batch)")
    if latent_dim is not None and (isinstance(latent_dim, bool) or latent_dim < 1
                                   or not isinstance(latent_dim, (int, np.integer))):
        raise ValueError(f"latent_dim must be a positive int, got {latent_dim!r}")
    g_in = _static_shape(generator, "input_shape")
    if g_in is not None and len(g_in) != 2:
        raise ValueError(f"the generator must take latent vectors [batch, latent_dim]; its input shape is "
                         f"{g_in}")
    known = g_in[-1] if g_in is not None else None
    if latent_dim is not None and known is not None and int(latent_dim) != known:
        raise ValueError(f"latent_dim={latent_dim}, but the generator takes vectors of {known}: pass "
                         f"latent_dim={known} (or leave it out)")
    latent = int(latent_dim or known or 0)
    if not latent:
        raise ValueError("the generator does not say how long its latent vectors are (a subclassed model): "
                         "pass latent_dim=... to GANTrainer")
    g_out, d_in = _static_shape(generator, "output_shape"), _static_shape(discriminator, "input_shape")
    d_out, fake = _static_shape(discriminator, "output_shape"), None
    if g_out is None:
        try:
            fake = generator(tf.zeros([2, latent]), training=False)
        except Exception as e:  # noqa: BLE001 - any failure of the reader's model, reported with its cause
            raise ValueError(f"the generator fails on noise of shape [2, {latent}] (latent_dim={latent}): "
                             f"{_why(e)}. Pass the latent_dim the generator was built for") from None
        g_out = (None,) + tuple(fake.shape[1:])
    if d_in is not None and tuple(g_out[1:]) != tuple(d_in[1:]):
        raise ValueError(f"the generator's images {tuple(g_out[1:])} do not fit the discriminator's input "
                         f"{tuple(d_in[1:])}: build both for the same image size and channels")
    if d_out is None:
        if fake is None:
            fake = tf.zeros([2, *g_out[1:]])
        try:
            logits = discriminator(fake, training=False)
        except Exception as e:  # noqa: BLE001
            raise ValueError(f"the generator's images {tuple(g_out[1:])} do not fit the discriminator: "
                             f"{_why(e)}. Build both for the same image size and channels") from None
        d_out = (None,) + tuple(logits.shape[1:])
    if tuple(d_out[1:]) not in ((1,), ()):
        raise ValueError(f"the discriminator must output one logit per image, shape [batch, 1]; its output "
                         f"shape is {d_out}. End it with Dense(1) and no sigmoid (the loss applies it)")
    return {"latent_dim": latent, "g_in": list(g_in[1:]) if g_in is not None else [latent],
            "g_out": list(g_out[1:]), "d_in": list(d_in[1:]) if d_in is not None else list(g_out[1:])}


def _why(error):
    """An exception as one line: its class and the start of its message."""
    return f"{type(error).__name__}: {' '.join(str(error).split())[:300]}"


def _fresh_folder(parent):
    """A new folder ``parent/<time>`` (``-2``, ``-3``... when taken), created."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target, i = parent / stamp, 1
    while target.exists():
        i += 1
        target = parent / f"{stamp}-{i}"
    target.mkdir(parents=True)
    return target


def _checkpoint_number(name):
    match = re.fullmatch(r"ckpt-(\d+)", name)
    return int(match.group(1)) if match else -1


def _checkpoint_files(folder, name):
    """The files of checkpoint ``name`` (``ckpt-N.index``, ``ckpt-N.data-*``) in ``folder``."""
    return sorted(p for p in folder.glob(glob.escape(name) + ".*") if p.is_file())


def _read_state(folder):
    """The checkpoint names TensorFlow's state file ``folder/checkpoint`` lists, and what is wrong with the
    file (None if nothing, or if there is no such file)."""
    tf = _tf()
    path = folder / "checkpoint"
    if not path.is_file():
        return [], None
    if path.stat().st_size == 0:
        return [], "is empty"
    try:
        state = tf.train.get_checkpoint_state(str(folder))
    except Exception as e:  # noqa: BLE001 - TensorFlow's parser raises several kinds
        return [], f"cannot be read ({_why(e)})"
    if state is None or not state.model_checkpoint_path:
        return [], "cannot be read (not a checkpoint state)"
    paths = list(state.all_model_checkpoint_paths) + [state.model_checkpoint_path]
    return list(dict.fromkeys(Path(p).name for p in paths)), None


def _checkpoint_problem(prefix):
    """What is wrong with the checkpoint at ``prefix`` (None if nothing): its index or data missing, or a
    tensor that does not read back whole (TensorFlow checks each tensor's size and checksum)."""
    tf = _tf()
    if not Path(f"{prefix}.index").is_file():
        return f"its index file {prefix.name}.index is missing"
    if not list(prefix.parent.glob(glob.escape(prefix.name) + ".data-*")):
        return f"its data file {prefix.name}.data-00000-of-00001 is missing"
    try:
        dtypes = tf.train.load_checkpoint(str(prefix)).get_variable_to_dtype_map()
        names = sorted(dtypes)
        # one RestoreV2 reads every tensor, the data position's variant tensor included
        tf.raw_ops.RestoreV2(prefix=str(prefix), tensor_names=names, shape_and_slices=[""] * len(names),
                             dtypes=[dtypes[n] for n in names])
    except Exception as e:  # noqa: BLE001 - IndexError, DataLossError, OutOfRangeError...
        return f"it cannot be read: {_why(e)}"
    return None


def _peek(stream, iterator):
    """``(iterator, saveable, first)``: the iterator to train from, that iterator again if
    ``tf.train.Checkpoint`` can save its data position (else None), and the first batch's images.

    A saveable iterator is left where it was (its position saved, one batch read, the position read
    back), so the run sees the same batches with or without the peek: another iterator would start a
    seeded shuffle's next order. Saving is tried after a batch has been read, as it will be during
    training (some datasets, such as ``rebatch``, only fail then). A pipeline that cannot save its
    position (a ``py_function``, ``rebatch``) gets a fresh iterator and is replayed with ``skip()``."""
    import tempfile
    tf = _tf()
    with tempfile.TemporaryDirectory(prefix="ganutils-probe-") as tmp:
        position = tf.train.Checkpoint(data=iterator)
        try:
            path = position.write(os.path.join(tmp, "start"))
        except Exception:  # noqa: BLE001 - TensorFlow's UnimplementedError, FailedPrecondition...
            return iter(stream), None, _first(iterator)
        first = _first(iterator)
        try:
            position.write(os.path.join(tmp, "next"))
            position.read(path).assert_consumed()
        except Exception:  # noqa: BLE001
            return iter(stream), None, first
        return iterator, iterator, first


def _first(iterator):
    """The images of the iterator's next element, as float32 (bfloat16 has no numpy range check)."""
    try:
        return _tf().cast(next(iterator)[0], "float32")
    except StopIteration:
        raise ValueError("GANTrainer.fit's dataset is empty") from None


def _distributed_from(strategy, stream, start):
    """A distributed iterator positioned ``start`` batches in (for resuming)."""
    return iter(strategy.experimental_distribute_dataset(stream.skip(start)))


#: The text bar's layout: steps done and to do, elapsed<remaining, then the losses and D's outputs
#: (tqdm's default also shows a percentage, a bar and the rate, which leave the losses no room in
#: 80 columns).
BAR_FORMAT = "{n_fmt}/{total_fmt} [{elapsed}<{remaining}{postfix}]"
#: The bar's name for each of ``HISTORY_KEYS``: D's mean outputs as the book writes them.
BAR_NAMES = {"d_loss": "d_loss", "g_loss": "g_loss", "d_real": "D(x)", "d_fake": "D(G(z))"}


def bar_postfix(values):
    """The text bar's values: ``{BAR_NAMES[k]: str}`` for each of ``HISTORY_KEYS`` in ``values``
    (floats), 3 significant digits, whole numbers from 100 on (a WGAN's losses run to the thousands):
    a 10,000-step bar after 4 hours stays within 80 columns, where 3 fixed decimals took 82-92."""
    def short(v):
        v = float(v)
        return f"{v:.0f}" if abs(v) >= 100 else f"{v:.3g}"
    return {BAR_NAMES[k]: short(values[k]) for k in HISTORY_KEYS}


def _progress(start, steps, enabled):
    if not enabled or steps <= start:
        return None
    from ._tqdm import tqdm
    return tqdm(total=steps, initial=start, unit="step", bar_format=BAR_FORMAT,
                mininterval=5 if not sys.stderr.isatty() else 0.1)
