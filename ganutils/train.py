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
D(x)/D(G(z)) curves, history JSON).

All of the trainer's randomness (the noise z, the noisy labels, the augmentations, the penalty's
interpolation points) is drawn with stateless ops keyed on ``(seed, step, sub-step)``, so restoring the
step restores the random stream too: exact resume needs no process-wide switch such as TensorFlow's
global op determinism (which would make the reader's own unseeded random ops raise).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from . import viz
from ._atomic import write_json
from .losses import label_targets  # noqa: F401  (kept importable from here: chapters 3, 5, 6 use it)

HISTORY_KEYS = ("d_loss", "g_loss", "d_real", "d_fake")

#: The files a run writes into its folders; a fresh run moves them aside (never deletes them).
RUN_FILES = ("checkpoint", "ckpt-*", "samples", "history.json", "curves.png", "progress.gif")


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
    ``discriminator``: a Keras model ``[B, H, W, C] -> [B, 1]`` logits (no sigmoid).
    ``loss``: a name from ``ganutils.losses.LOSSES`` or a ``GANLoss``; ``labels``: ``"hard"``, ``"smooth"``
    or ``"noisy"`` (the cross-entropy losses' targets); optimisers are Keras optimizers or recipe dicts.
    ``d_steps``: critic updates per generator update, each on its own batch (5 for WGAN-GP; 1 updates both
    from one forward pass, as the TensorFlow DCGAN tutorial does). ``gradient_penalty``: WGAN-GP's λ (0 =
    off); ``r1``: R1's γ (0 = off). ``ema``: a ``GeneratorEMA``, a dict of its arguments, or ``None``;
    ``augment``: a ``DiffAugment``, a dict of its arguments, a policy string, or ``None``.

    ``checkpoint_dir`` makes ``fit`` resumable; ``out_dir`` (defaults to ``checkpoint_dir``) receives
    sample grids, the GIF, curves and ``history.json``. A trainer owns these folders: with ``resume=False``
    (the default) an earlier run found there is moved aside into ``previous-runs/<time>/`` inside the
    folder (never deleted) and this run starts fresh; with ``resume=True`` a checkpoint there is continued
    if it was made with the same models, loss, optimiser classes, ``d_steps`` and EMA setting, and refused
    with a message otherwise. Hyperparameters given now (learning rates, label trick, augmentation,
    penalty weights) win over the checkpoint's, and the trainer says which changed.

    ``jit_compile`` compiles the step with XLA: off for every model, because on a 2-core CPU it made each
    of them slower (``python bench/run.py --options``: 28×28 1.73 vs 0.48 s/step, 64×64 1.74 vs 0.85,
    128×128 5.16 vs 3.45); try it on a GPU. ``strategy`` is a ``tf.distribute`` strategy whose scope the
    models were built in (``d_steps`` must then be 1).

    Raises ``ValueError`` when the models cannot be trained together (frozen or weightless models, a
    discriminator that does not output one logit per image, a generator whose images do not fit the
    discriminator's input), or for a bad option.
    """

    def __init__(self, generator, discriminator, *, latent_dim=None, g_optimizer=None,
                 d_optimizer=None, loss="nonsaturating", labels="hard", d_steps=1, gradient_penalty=0.0,
                 r1=0.0, ema=None, augment=None, checkpoint_dir=None, out_dir=None, resume=False, seed=0,
                 jit_compile=False, strategy=None, n_samples=64, recipe=None):
        tf = _tf()
        from . import losses as _losses
        from .augment import DiffAugment
        from .ema import GeneratorEMA
        _check_models(generator, discriminator)
        self.generator, self.discriminator = generator, discriminator
        self.latent_dim = int(latent_dim or generator.input_shape[-1])
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
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir else None
        self.out_dir = Path(out_dir) if out_dir else self.checkpoint_dir
        self.n_samples = n_samples
        self.jit_compile = bool(jit_compile)
        self.recipe = recipe
        if isinstance(ema, dict):
            ema = GeneratorEMA(**ema)
        if isinstance(augment, str):
            augment = DiffAugment(augment)
        elif isinstance(augment, dict):
            augment = DiffAugment(**augment)
        self.ema, self.augment = ema, augment
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
            if self.ema is not None:
                self.ema.build(generator)
            if self.augment is not None:
                self.augment.build()
        self.history = {k: [] for k in HISTORY_KEYS}
        self._compiled = None
        self._manager = None
        self._iterator = None
        self._prepare_folders(resume)

    @classmethod
    def from_recipe(cls, name, *, width=1.0, out_dir=None, resume=False, seed=0, mixed_precision=False,
                    strategy=None, **overrides):
        """Build the models of recipe ``name`` (see ``ganutils.recipes``) and a trainer for them.

        ``width`` multiplies every layer's channels (1.0 = the recipe's size); ``out_dir`` holds the run
        (checkpoints, grids, GIF, curves); ``resume`` continues the run in ``out_dir`` (else an earlier run
        there is moved aside); ``seed`` fixes initial weights and every random draw;
        ``mixed_precision=True`` computes in bfloat16 on a CPU (float16 on a GPU); ``overrides`` replace
        recipe settings (e.g. ``loss="hinge"``, ``augment=None``). The recipe, with its overrides, is
        ``trainer.recipe``. Raises ``ValueError`` for an unknown recipe or setting.
        """
        from . import models, recipes
        import keras
        r = recipes.get(name, **overrides)
        scope = strategy.scope() if strategy is not None else contextlib.nullcontext()
        with scope:
            keras.utils.set_random_seed(seed)
            g, d = models.build(r["model"], latent_dim=r["latent_dim"], width=width, seed=seed,
                                mixed_precision=mixed_precision, d_norm=r["d_norm"],
                                spectral_norm=r["spectral_norm"])
        r.update(width=width, seed=seed, mixed_precision=bool(mixed_precision))
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
        """One training step. With ``d_steps == 1``: one simultaneous update of D and G from the same
        forward pass (as the TensorFlow DCGAN tutorial does). With ``d_steps = k > 1``: the inputs
        carry k batches (``[k, B, ...]``); D is updated on each in turn, then G once. Afterwards the EMA
        of G is updated. Returns the step's mean losses, D(x) and D(G(z)) (sigmoids of the logits)."""
        tf = _tf()
        G, D = self.generator, self.discriminator
        k = self.d_steps
        n = self._global_batch(real[0] if k > 1 else real)
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            if k == 1:
                d_loss, g_loss, real_logits, fake_logits = self.losses(real, z, u_real, u_fake)
            else:  # the last batch's forward pass feeds G's update; D has had k - 1 steps before it
                with g_tape.stop_recording(), d_tape.stop_recording():
                    for i in range(k - 1):
                        with tf.GradientTape() as critic_tape:
                            d_i, _, _, _ = self.losses(real[i], z[i], u_real[i], u_fake[i], sub=i)
                            d_i = self._scale(self.d_optimizer, tf.reduce_sum(d_i) / n)
                        self._apply(self.d_optimizer, critic_tape, d_i, D)
                d_loss, g_loss, real_logits, fake_logits = self.losses(
                    real[-1], z[-1], u_real[-1], u_fake[-1], sub=k - 1)
            # average over the global batch, so replicas' gradients sum to the full-batch one
            d_loss = tf.reduce_sum(d_loss) / n
            g_loss = tf.reduce_sum(g_loss) / n
            # mixed float16 scales the losses (inside the tapes) so small gradients survive
            d_scaled = self._scale(self.d_optimizer, d_loss)
            g_scaled = self._scale(self.g_optimizer, g_loss)
        self._apply(self.d_optimizer, d_tape, d_scaled, D)
        self._apply(self.g_optimizer, g_tape, g_scaled, G)
        if self.augment is not None:
            self.augment.update(real_logits)   # ADA's controller (no-op unless adaptive)
        if self.ema is not None:
            self.ema.update(self.step + 1)
        return {
            "d_loss": d_loss, "g_loss": g_loss,
            "d_real": tf.reduce_sum(tf.sigmoid(tf.cast(real_logits, tf.float32))) / n,   # mean D(x)
            "d_fake": tf.reduce_sum(tf.sigmoid(tf.cast(fake_logits, tf.float32))) / n,   # mean D(G(z))
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

    def _stream(self, dataset):
        """Pair each real batch (``d_steps`` batches when > 1) with its step's noise and uniforms."""
        tf = _tf()
        batch = dataset.element_spec.shape[0]
        if batch is None:
            raise ValueError("the dataset needs a fixed batch size: batch it with drop_remainder=True "
                             "(ganutils.data.image_dataset does)")
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

    # ------------------------------------------------------------------ checkpoints
    def signature(self):
        """What a checkpoint must match: architectures (shapes of every variable) and sizes."""
        G, D = self.generator, self.discriminator
        return json.dumps({
            "generator": {"input": list(G.input_shape[1:]), "output": list(G.output_shape[1:]),
                          "params": int(G.count_params()), "name": G.name},
            "discriminator": {"input": list(D.input_shape[1:]), "params": int(D.count_params()),
                              "name": D.name},
            "variables": [list(v.shape) for v in G.variables + D.variables],
        }, sort_keys=True)

    def config(self):
        """How this trainer trains (JSON-able): loss, labels, critic steps, penalties, EMA,
        augmentation and each optimiser's class and hyperparameters. Saved with every checkpoint."""
        return {"loss": self.loss.name, "labels": self.labels, "d_steps": self.d_steps,
                "gradient_penalty": self.gp_weight, "r1": self.r1_gamma,
                "ema": None if self.ema is None else self.ema.config(),
                "augment": None if self.augment is None else self.augment.config(),
                "g_optimizer": _optimizer_config(self.g_optimizer),
                "d_optimizer": _optimizer_config(self.d_optimizer)}

    def _checkpoint(self, iterator=None):
        tf = _tf()
        self._signature = tf.Variable(self.signature(), trainable=False, name="signature")
        self._config_json = tf.Variable(json.dumps(self.config(), sort_keys=True), trainable=False,
                                        name="config")
        self._history_json = tf.Variable("{}", trainable=False, name="history")
        parts = dict(generator=list(self.generator.variables),
                     discriminator=list(self.discriminator.variables),
                     g_optimizer=self.g_optimizer, d_optimizer=self.d_optimizer,
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
        reader = tf.train.load_checkpoint(path)
        try:
            saved = reader.get_tensor("signature/.ATTRIBUTES/VARIABLE_VALUE").decode()
        except Exception:  # not one of ours
            raise ValueError(f"{path} is not a GANTrainer checkpoint (no signature found)") from None
        fresh = ("Pass resume=False to start fresh (the earlier run is moved aside, not deleted), or use "
                 "another folder.")
        mine = self.signature()
        if saved != mine:
            a, b = json.loads(saved), json.loads(mine)
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
            print("Resuming with settings that differ from the checkpoint's (the ones given now are "
                  "used): " + "; ".join(changes))

    def restore(self, iterator=None):
        """Restore the latest checkpoint in ``checkpoint_dir`` if there is one; returns the step."""
        tf = _tf()
        if self.checkpoint_dir is None:
            return int(self.step.numpy())
        latest = tf.train.latest_checkpoint(str(self.checkpoint_dir))
        ckpt = self._checkpoint(iterator)
        self._manager = tf.train.CheckpointManager(ckpt, str(self.checkpoint_dir), max_to_keep=3)
        self._ckpt = ckpt
        if latest is None:
            return 0
        old = self._check_signature(latest)
        rates = [_learning_rate(o) for o in (self.g_optimizer, self.d_optimizer)]
        status = ckpt.read(latest)
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

    # ------------------------------------------------------------------ run folders
    def _prepare_folders(self, resume):
        """Own the run folders: move an earlier run aside unless it is to be (and can be) continued."""
        tf = _tf()
        folders = [f for f in dict.fromkeys([self.checkpoint_dir, self.out_dir]) if f is not None]
        latest = tf.train.latest_checkpoint(str(self.checkpoint_dir)) if self.checkpoint_dir else None
        if resume and latest:
            self._check_signature(latest)   # refuse a mismatch now, before any training
            return
        moved = []
        for folder in folders:
            found = ([p for pattern in RUN_FILES for p in sorted(folder.glob(pattern))]
                     if folder.is_dir() else [])
            if not found:
                continue
            stamp = time.strftime("%Y%m%d-%H%M%S")
            target = folder / "previous-runs" / stamp
            i = 1
            while target.exists():
                i += 1
                target = folder / "previous-runs" / f"{stamp}-{i}"
            target.mkdir(parents=True)
            for p in found:
                shutil.move(str(p), str(target / p.name))
            moved.append(target)
        if moved:
            why = ("it has no checkpoint to continue" if resume else "resume=False")
            print(f"Starting a fresh run ({why}): the earlier run's files were moved to "
                  + ", ".join(str(m) for m in moved)
                  + ("" if resume else "; pass resume=True to continue a run instead."))

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

        ``dataset``: a ``tf.data.Dataset`` of image batches ``[B, H, W, C]`` in [-1, 1] with a fixed batch
        size, repeating. Called again after an interruption (or on a folder that holds a checkpoint, with
        ``resume=True``), it resumes from the last checkpoint and finishes the run. ``metrics`` maps a
        name to ``metric(fake_images) -> float``; every ``metric_every`` steps it is computed on
        ``metric_samples`` generated images and appended to ``history[name]`` as ``[step, value]`` (and,
        with an EMA, for the EMA generator to ``history[name + "_ema"]``).
        Raises ``NonFiniteLossError`` (last good checkpoint kept) and ``ValueError`` for bad arguments.
        """
        tf = _tf()
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
            raise ValueError(f"steps must be a non-negative int, got {steps!r}")
        stream = self._stream(dataset)
        iterator = iter(stream)
        saveable = _checkpointable(iterator)
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
        step_fn = self._compiled_step()
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
            if start == 0 and steps > 0 and self.out_dir is not None:
                self._save_samples(0)
            for step in range(start, steps):
                try:
                    real, z, ur, uf = next(iterator)
                except StopIteration:
                    raise ValueError(f"the dataset ran out after {step - start} batches; training "
                                     f"needs {steps - start}: repeat it (image_dataset(..., "
                                     "repeat=True) does)") from None
                out = step_fn(real, z, ur, uf)
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
                self.step.assign_add(1)
                done = step + 1
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix({k: f"{values[k]:.3f}" for k in HISTORY_KEYS}, refresh=False)
                if metrics and (done % metric_every == 0 or done == steps):
                    self._measure(metrics, done, metric_samples)
                if self.out_dir is not None and (done % sample_every == 0 or done == steps):
                    self._save_samples(done)
                if done % checkpoint_every == 0 and done != steps:
                    tick(done)
                    self.save()
                    last_good = done
        except NonFiniteLossError:
            if bar is not None:
                bar.close()
            raise
        except KeyboardInterrupt:
            if bar is not None:
                bar.close()
            tick(int(self.step.numpy()))
            path = self.save()
            if path:
                print(f"Interrupted at step {int(self.step.numpy())}; checkpoint saved to {path}. "
                      "Run fit() again to continue.")
            raise
        if bar is not None:
            bar.close()
        if steps > start:
            tick(steps)
        self.save()
        if self.out_dir is not None and steps > start:
            try:
                self.write_report(make_gif=make_gif)
            except Exception as e:  # the training is saved: a failed picture must not hide it
                warnings.warn(f"training finished and was saved (step {int(self.step.numpy())}), but "
                              f"writing the run's report into {self.out_dir} failed: "
                              f"{type(e).__name__}: {e}", RuntimeWarning, stacklevel=2)
        return self.history

    def _measure(self, metrics, done, n):
        z = self.noise(-2, n, stream=11)
        fakes = {"": self.sample(z, which="raw")}
        if self.ema is not None:
            fakes["_ema"] = self.sample(z, which="ema")
        for name, fn in metrics.items():
            for suffix, fake in fakes.items():
                self.history[name + suffix].append([done, float(fn(fake))])
        if self.augment is not None:
            self.history["augment_p"].append([done, float(self.augment.p.numpy())])

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


def _check_models(generator, discriminator):
    """Refuse models the trainer cannot train, with what is wrong and how to fix it."""
    for name, model in (("generator", generator), ("discriminator", discriminator)):
        if not getattr(model, "trainable", True):
            raise ValueError(f"the {name} has trainable = False (the Keras 2 combined-model recipe freezes "
                             f"the discriminator this way), so it cannot learn: set "
                             f"{name}.trainable = True before building the trainer")
        if not model.trainable_variables:
            raise ValueError(f"the {name} has no trainable weights (are all its layers frozen?): set "
                             f"trainable = True on its layers, or build it again")
    g_in, g_out = tuple(generator.input_shape), tuple(generator.output_shape)
    d_in, d_out = tuple(discriminator.input_shape), tuple(discriminator.output_shape)
    if len(g_in) != 2:
        raise ValueError(f"the generator must take latent vectors [batch, latent_dim]; its input shape is "
                         f"{g_in}")
    if d_out[1:] not in ((1,), ()):
        raise ValueError(f"the discriminator must output one logit per image, shape [batch, 1]; its output "
                         f"shape is {d_out}. End it with Dense(1) and no sigmoid (the loss applies it)")
    if g_out[1:] != d_in[1:]:
        raise ValueError(f"the generator's images {g_out[1:]} do not fit the discriminator's input "
                         f"{d_in[1:]}: build both for the same image size and channels")


def _checkpointable(iterator):
    """The iterator if tf.train.Checkpoint can save it (data position), else None."""
    import tempfile
    tf = _tf()
    with tempfile.TemporaryDirectory(prefix="ganutils-probe-") as tmp:
        try:
            tf.train.Checkpoint(data=iterator).write(os.path.join(tmp, "probe"))
            return iterator
        except Exception:  # e.g. a pipeline with a py_function: replay it with skip() instead
            return None


def _distributed_from(strategy, stream, start):
    """A distributed iterator positioned ``start`` batches in (for resuming)."""
    return iter(strategy.experimental_distribute_dataset(stream.skip(start)))


def _progress(start, steps, enabled):
    if not enabled or steps <= start:
        return None
    from ._tqdm import tqdm
    return tqdm(total=steps, initial=start, unit="step", dynamic_ncols=True,
                mininterval=5 if not sys.stderr.isatty() else 0.1)
