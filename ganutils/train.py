"""One training engine for every chapter: ``GANTrainer``.

The heart of it is ``GANTrainer.train_step``: one ``@tf.function`` with two gradient
tapes, written to be read. Around it, ``fit`` adds what a long run needs: a progress
bar, fixed-noise sample grids, checkpoints that resume exactly (models, optimisers,
step, data position, history), a stop on non-finite losses, metrics every N steps, and
the pictures of the run (GIF, loss and D(x)/D(G(z)) curves, history JSON).

All of the trainer's randomness (the noise z, the noisy labels) is drawn with stateless
ops keyed on ``(seed, step)``, so restoring the step restores the random stream too.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

from . import viz

HISTORY_KEYS = ("d_loss", "g_loss", "d_real", "d_fake")


def _tf():
    import tensorflow as tf
    return tf


def make_optimizer(spec):
    """Build a Keras optimizer from a recipe dict such as ``{"name": "adam",
    "learning_rate": 2e-4, "beta_1": 0.5}`` (see ``ganutils.models.RECIPES``)."""
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


def label_targets(kind, u_real, u_fake, smooth=0.9):
    """The discriminator's targets for real and fake images.

    ``"hard"``: 1 and 0. ``"smooth"`` (seed 002): real labels 0.9, fake 0 — one-sided
    label smoothing (Salimans et al. 2016). ``"noisy"`` (seed 004): real in [0.8, 1],
    fake in [0, 0.2], drawn fresh every step from the uniforms ``u_real``/``u_fake``.
    """
    tf = _tf()
    if kind == "hard":
        return tf.ones_like(u_real), tf.zeros_like(u_fake)
    if kind == "smooth":
        return tf.fill(tf.shape(u_real), smooth), tf.zeros_like(u_fake)
    if kind == "noisy":
        return 1.0 - 0.2 * u_real, 0.2 * u_fake
    raise ValueError(f"unknown labels {kind!r}: expected 'hard', 'smooth' or 'noisy'")


class NonFiniteLossError(FloatingPointError):
    """Training produced NaN or inf; the last good checkpoint was kept."""


class GANTrainer:
    """Train a generator/discriminator pair with the non-saturating GAN loss.

    ``labels`` is ``"hard"``, ``"smooth"`` or ``"noisy"``; optimisers are Keras
    optimizers or recipe dicts; ``checkpoint_dir`` makes ``fit`` resumable; ``out_dir``
    (defaults to ``checkpoint_dir``) receives sample grids, the GIF, curves and
    ``history.json``. ``jit_compile`` compiles the step with XLA: off for every model,
    because on a 2-core CPU it made each of them slower (``python bench/run.py --options``:
    28×28 1.73 vs 0.48 s/step, 64×64 1.74 vs 0.85, 128×128 5.16 vs 3.45); try it on a GPU.
    ``strategy`` is a ``tf.distribute`` strategy whose scope the models were built in.
    """

    def __init__(self, generator, discriminator, *, latent_dim=None, g_optimizer=None,
                 d_optimizer=None, labels="hard", checkpoint_dir=None, out_dir=None, seed=0,
                 jit_compile=False, strategy=None, deterministic=True, n_samples=64):
        tf = _tf()
        if deterministic:
            # Same seed, same losses: needed for exact resume. Global, cheap on CPU.
            tf.config.experimental.enable_op_determinism()
        self.generator, self.discriminator = generator, discriminator
        self.latent_dim = int(latent_dim or generator.input_shape[-1])
        label_targets(labels, tf.zeros([1]), tf.zeros([1]))  # validate early
        self.labels = labels
        self.seed = int(seed)
        self.strategy = strategy or tf.distribute.get_strategy()
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir else None
        self.out_dir = Path(out_dir) if out_dir else self.checkpoint_dir
        self.n_samples = n_samples
        self.jit_compile = bool(jit_compile)
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
        self.history = {k: [] for k in HISTORY_KEYS}
        self._compiled = None
        self._manager = None
        self._iterator = None

    # ------------------------------------------------------------------ the algorithm
    def losses(self, real, z, u_real, u_fake, training=True):
        """The GAN losses for one batch, from logits (the sigmoid is inside the loss).

        Discriminator: maximise log D(x) + log(1 - D(G(z))), i.e. minimise the binary
        cross-entropy of real images against real targets and fakes against fake targets.
        Generator, non-saturating: maximise log D(G(z)), i.e. minimise the cross-entropy
        of fakes against the target 1 — strong gradients even while D(G(z)) is near 0.
        """
        tf = _tf()
        G, D = self.generator, self.discriminator
        fake = G(z, training=training)
        real_logits = D(real, training=training)
        fake_logits = D(fake, training=training)
        real_y, fake_y = label_targets(self.labels, u_real, u_fake)
        bce = tf.nn.sigmoid_cross_entropy_with_logits
        d_loss = bce(real_y, real_logits) + bce(fake_y, fake_logits)        # per image
        g_loss = bce(tf.ones_like(fake_logits), fake_logits)               # -log D(G(z))
        return d_loss, g_loss, real_logits, fake_logits

    def train_step(self, real, z, u_real, u_fake):
        """One simultaneous update of D and G from the same forward pass (as the
        TensorFlow DCGAN tutorial does). Returns the step's mean losses, D(x), D(G(z))."""
        tf = _tf()
        G, D = self.generator, self.discriminator
        global_batch = tf.cast(tf.shape(real)[0] * self.strategy.num_replicas_in_sync, tf.float32)
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            d_loss, g_loss, real_logits, fake_logits = self.losses(real, z, u_real, u_fake)
            # average over the global batch, so replicas' gradients sum to the full-batch one
            d_loss = tf.reduce_sum(d_loss) / global_batch
            g_loss = tf.reduce_sum(g_loss) / global_batch
            d_scaled = self._scale(self.d_optimizer, d_loss)
            g_scaled = self._scale(self.g_optimizer, g_loss)
        d_grads = d_tape.gradient(d_scaled, D.trainable_variables)
        g_grads = g_tape.gradient(g_scaled, G.trainable_variables)
        self.d_optimizer.apply_gradients(zip(d_grads, D.trainable_variables))
        self.g_optimizer.apply_gradients(zip(g_grads, G.trainable_variables))
        return {
            "d_loss": d_loss, "g_loss": g_loss,
            "d_real": tf.reduce_sum(tf.sigmoid(real_logits)) / global_batch,   # mean D(x)
            "d_fake": tf.reduce_sum(tf.sigmoid(fake_logits)) / global_batch,   # mean D(G(z))
        }

    @staticmethod
    def _scale(optimizer, loss):
        # LossScaleOptimizer (mixed float16) scales the loss; other optimizers do not.
        return optimizer.scale_loss(loss) if hasattr(optimizer, "scale_loss") else loss

    # ------------------------------------------------------------------ randomness
    def noise(self, step, n, stream=0):
        """The latent vectors of ``step``: N(0, 1), keyed on (seed, step, stream)."""
        tf = _tf()
        seed = tf.stack([tf.cast(self.seed, tf.int64) * 1_000_003 + stream, tf.cast(step, tf.int64)])
        return tf.random.stateless_normal([n, self.latent_dim], seed=seed)

    def _extras(self, step, n):
        tf = _tf()
        z = self.noise(step, n)
        seed = tf.stack([tf.cast(self.seed, tf.int64) * 1_000_003 + 1, tf.cast(step, tf.int64)])
        u = tf.random.stateless_uniform([n, 2], seed=seed)
        return z, u[:, :1], u[:, 1:]

    def fixed_noise(self, n=None):
        """The noise used for the sample grids: the same all run long."""
        return self.noise(-1, n or self.n_samples, stream=7)

    def _stream(self, dataset):
        """Pair each real batch with its step's noise and label uniforms."""
        tf = _tf()
        batch = dataset.element_spec.shape[0]
        if batch is None:
            raise ValueError("the dataset needs a fixed batch size: batch it with drop_remainder=True "
                             "(ganutils.data.image_dataset does)")
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

    def _checkpoint(self, iterator=None):
        tf = _tf()
        self._signature = tf.Variable(self.signature(), trainable=False, name="signature")
        self._history_json = tf.Variable("{}", trainable=False, name="history")
        parts = dict(generator=list(self.generator.variables),
                     discriminator=list(self.discriminator.variables),
                     g_optimizer=self.g_optimizer, d_optimizer=self.d_optimizer,
                     step=self.step, signature=self._signature, history=self._history_json)
        if iterator is not None:
            parts["data"] = iterator
        return tf.train.Checkpoint(**parts)

    def _check_signature(self, path):
        tf = _tf()
        reader = tf.train.load_checkpoint(path)
        try:
            saved = reader.get_tensor("signature/.ATTRIBUTES/VARIABLE_VALUE").decode()
        except Exception:  # not one of ours
            raise ValueError(f"{path} is not a GANTrainer checkpoint (no signature found)") from None
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
                + "\nUse a new checkpoint_dir for these models, or build the models the checkpoint "
                  "was made with.")

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
        self._check_signature(latest)
        status = ckpt.read(latest)
        if iterator is None:
            status.expect_partial()
        self.history = json.loads(self._history_json.numpy().decode())
        return int(self.step.numpy())

    def save(self):
        """Write a checkpoint (models, optimisers, step, data position, history)."""
        if self._manager is None:
            return None
        self._history_json.assign(json.dumps(self.history))
        path = self._manager.save(checkpoint_number=int(self.step.numpy()))
        if self.out_dir is not None:
            _write_json_atomic(self.out_dir / "history.json", self.history)
        return path

    # ------------------------------------------------------------------ the loop
    def sample(self, z=None):
        """Generated images for ``z`` (default: the fixed noise), in [-1, 1]."""
        z = self.fixed_noise() if z is None else z
        return self.generator(z, training=False).numpy()

    def fit(self, dataset, steps, *, sample_every=None, checkpoint_every=None, metrics=None,
            metric_every=None, metric_samples=256, progress=True, make_gif=True):
        """Train until ``steps`` steps have been done in total; returns ``history``.

        Called again with the same arguments after an interruption (or on a directory
        that holds a checkpoint), it resumes from the last checkpoint and finishes the run.
        ``metrics`` maps a name to ``metric(fake_images) -> float``; every ``metric_every``
        steps it is computed on ``metric_samples`` generated images and appended to
        ``history[name]`` as ``[step, value]``.
        """
        tf = _tf()
        if not isinstance(steps, (int, np.integer)) or steps < 0:
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
        if self.strategy.num_replicas_in_sync > 1:
            iterator = iter(self.strategy.experimental_distribute_dataset(stream)) if start == 0 \
                else _distributed_from(self.strategy, stream, start)
        step_fn = self._compiled_step()
        bar = _progress(start, steps, progress)
        last_good = start
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
                    fake = self.sample(self.noise(-2, metric_samples, stream=11))
                    for name, fn in metrics.items():
                        self.history[name].append([done, float(fn(fake))])
                if self.out_dir is not None and (done % sample_every == 0 or done == steps):
                    self._save_samples(done)
                if done % checkpoint_every == 0 and done != steps:
                    self.save()
                    last_good = done
        except NonFiniteLossError:
            if bar is not None:
                bar.close()
            raise
        except KeyboardInterrupt:
            if bar is not None:
                bar.close()
            path = self.save()
            if path:
                print(f"Interrupted at step {int(self.step.numpy())}; checkpoint saved to {path}. "
                      "Run fit() again to continue.")
            raise
        if bar is not None:
            bar.close()
        self.save()
        if self.out_dir is not None and steps > start:
            self.write_report(make_gif=make_gif)
        return self.history

    # ------------------------------------------------------------------ what a run leaves
    def sample_paths(self):
        """The fixed-noise grids saved so far, in step order."""
        if self.out_dir is None:
            return []
        return sorted((self.out_dir / "samples").glob("step_*.png"))

    def _save_samples(self, step):
        viz.save_grid(self.sample(), self.out_dir / "samples" / f"step_{step:06d}.png")

    def write_report(self, make_gif=True):
        """The run's pictures: progress GIF, loss and D(x)/D(G(z)) curves, history JSON."""
        out = self.out_dir
        _write_json_atomic(out / "history.json", self.history)
        if self.history["d_loss"]:
            viz.plot_history(self.history, out / "curves.png")
        frames = self.sample_paths()
        if make_gif and frames:
            viz.make_gif(frames, out / "progress.gif")
        return out


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
    import warnings
    with warnings.catch_warnings():   # without ipywidgets tqdm.auto falls back to a text bar
        warnings.simplefilter("ignore")  # and warns (TqdmWarning) about it; the text bar is fine
        from tqdm.auto import tqdm
    return tqdm(total=steps, initial=start, unit="step", dynamic_ncols=True,
                mininterval=5 if not sys.stderr.isatty() else 0.1)


def _write_json_atomic(path, obj):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj))
    os.replace(tmp, path)
