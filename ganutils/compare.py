"""Compare training recipes fairly: the same data, the same CPU time, several seeds.

The face chapters end by training their generator again with a modern recipe (``*_modern`` in
``ganutils.recipes``) for the same training CPU time as the original recipe, and
``bench/time_to_quality.py`` measures how long each recipe takes to reach a quality. Both use this
module:

- :func:`train_for` runs a trainer's compiled step until a budget of training CPU-seconds (or of
  generator steps) is spent, scoring along the way if asked;
- :func:`compare_recipes` trains each recipe once per seed for the same budget and scores the final
  generator (the EMA generator for recipes that keep one, the raw one otherwise: nothing is picked
  after the fact) by SWD against held-out real images, next to the real-vs-real floor. Runs are
  saved in ``out_dir`` and reused when the same run is asked for again, so a chapter re-executed
  after an interruption trains only what is missing.

CPU-seconds are the process's CPU time (``time.process_time``, all threads, seconds) spent inside
training steps, the first step's one-time tracing of the ``tf.function`` included (1-6 CPU-seconds
here, more for a recipe with several critic steps or a penalty): sampling and scoring are not counted, and a second program on the machine slows the
wall clock more than it changes this count. On a 2-core machine one wall-clock second is up to two
CPU-seconds.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from pathlib import Path

import numpy as np

__all__ = ["train_for", "compare_recipes", "Comparison", "run_spec", "score_run", "overfitting_probes"]


def train_for(trainer, dataset, *, cpu_seconds=None, steps=None, evals=0, score=None):
    """Train ``trainer`` on ``dataset`` until ``cpu_seconds`` of training CPU time (or ``steps``
    generator steps) are spent; returns ``{"steps", "cpu_s", "curve", "finite"}``.

    ``dataset``: a repeating ``tf.data.Dataset`` of image batches in [-1, 1] (e.g.
    ``ganutils.data.image_dataset``). Exactly one of ``cpu_seconds`` (float, seconds) and ``steps``
    (int) is given. With ``evals`` > 0 and ``score`` (a callable returning a tuple of floats),
    ``score()`` is called ``evals`` times at equal spacing of the budget and each call appended to
    ``curve`` as ``[cpu_s, *score()]``. Training stops early, with ``finite=False``, at the first
    non-finite discriminator loss. Raises ``ValueError`` for a missing or double budget.
    """
    if (cpu_seconds is None) == (steps is None):
        raise ValueError("give exactly one budget: cpu_seconds=... or steps=...")
    total = float(cpu_seconds if steps is None else steps)
    if not total > 0:
        raise ValueError(f"the budget must be positive, got {total}")
    step_fn = trainer._compiled_step()
    iterator = iter(trainer._stream(dataset))
    curve, cpu, done, finite = [], 0.0, 0, True
    next_eval = total / evals if evals else math.inf

    def spent():
        return cpu if steps is None else done

    while spent() < total:
        real, z, ur, uf = next(iterator)
        t0 = time.process_time()
        out = step_fn(real, z, ur, uf)
        d_loss = float(out["d_loss"])            # waits for the step to finish
        cpu += time.process_time() - t0
        trainer.step.assign_add(1)
        done += 1
        if not math.isfinite(d_loss):
            finite = False
            break
        if score is not None and (spent() >= next_eval or spent() >= total):
            curve.append([round(cpu, 1), *(round(float(v), 2) for v in score())])
            next_eval += total / evals
    return {"steps": done, "cpu_s": round(cpu, 1), "curve": curve, "finite": finite}


def _images(images, where):
    """The reader's images as uint8 ``[N, S, S, 3]``: uint8 as is, floats in [-1, 1] mapped to 0..255 (the
    same array as the uint8 they came from); floats outside [-1.05, 1.05] raise ``ValueError`` naming the
    range seen, and floats with no negative value warn (``ImageRangeWarning``: probably [0, 1] data)."""
    from .viz import to_uint8
    return to_uint8(images, warn_positive=True, where=where)


def _folder(path):
    """A folder the reader named, ``~`` meaning their home folder."""
    return Path(os.path.expanduser(os.fspath(path)))


def _fingerprint(images):
    """A short hash of an image array (its shape and a spread of its pixels): tells data sets apart."""
    images = np.asarray(images)
    pick = images[:: max(1, len(images) // 64)]
    h = hashlib.sha1(repr(images.shape).encode())
    h.update(np.ascontiguousarray(pick).tobytes())
    return h.hexdigest()[:12]


def run_spec(recipe, seed, *, width, cpu_seconds=None, mixed_precision, train, held_out, flip=False, probes=(),
             evals=0, steps=None):
    """What defines one run of :func:`compare_recipes` (a dict, saved with its result): its budget is
    ``cpu_seconds`` of training CPU time or, when that is None, ``steps`` generator steps."""
    budget = {"cpu_seconds": float(cpu_seconds)} if steps is None else {"steps": int(steps)}
    spec = {"recipe": recipe, "seed": int(seed), "width": float(width), **budget,
            "mixed_precision": bool(mixed_precision), "flip": bool(flip),
            "train": [len(train), _fingerprint(train)], "held_out": [len(held_out), _fingerprint(held_out)]}
    if probes:
        spec.update(probes=sorted(probes), evals=int(evals))
    return spec


def overfitting_probes(train, held_out, n=256):
    """Probes of a discriminator's overfitting (for ``compare_recipes(probes=...)`` or, wrapped, a
    trainer's metrics): ``{"logit_train", "logit_held", "r_t"}``, each ``probe(trainer) -> float``.

    ``logit_train`` and ``logit_held`` are the discriminator's mean logit (inference mode, no
    augmentation) on up to ``n`` training images and on up to ``n`` held-out real images (``[N, S, S, 3]``,
    uint8 0..255 or floats in [-1, 1]; others raise ``ValueError`` and floats with no negative value warn,
    as in :func:`compare_recipes`). A discriminator that only learned what real images look like scores both
    alike; one that memorised its training images scores them higher than unseen real ones: the gap
    is the overfitting ADA measures (Karras et al. 2020). ``r_t`` is ADA's heuristic on the training
    images, E[sign D(x)], from -1 to 1 (0.6 is ADA's target).
    """
    import tensorflow as tf
    train = _images(train, "overfitting_probes' training images")
    held_out = _images(held_out, "overfitting_probes' held-out images")
    pick = np.linspace(0, len(train) - 1, min(n, len(train))).astype(int)
    x_train = tf.constant(train[pick], tf.float32) / 127.5 - 1.0
    x_held = tf.constant(held_out[:n], tf.float32) / 127.5 - 1.0

    def logits(trainer, x):
        return np.concatenate([tf.cast(trainer.discriminator(x[i:i + 64], training=False), tf.float32)
                               .numpy().ravel() for i in range(0, len(x), 64)])

    return {"logit_train": lambda t: float(logits(t, x_train).mean()),
            "logit_held": lambda t: float(logits(t, x_held).mean()),
            "r_t": lambda t: float(np.sign(logits(t, x_train)).mean())}


class Comparison:
    """What :func:`compare_recipes` measured.

    ``runs``: one dict per (recipe, seed) with ``recipe``, ``seed``, ``steps``, ``cpu_s`` (training
    CPU-seconds), ``swd`` (×1e3, the generator the recipe samples with, against the held-out images),
    ``swd_raw`` (the raw generator), ``generator`` ("ema" or "raw") and ``dir`` (the run's folder, or
    None). ``samples[(recipe, seed)]``: uint8 ``[n, H, W, 3]`` from the same fixed noise for every run.
    ``floor``: SWD ×1e3 of as many real training images against the held-out ones (what a perfect
    generator would score with these counts).
    """

    def __init__(self, runs, samples, floor, budget, budget_steps=None):
        self.runs, self.samples, self.floor, self.budget = runs, samples, floor, budget
        self.budget_steps = budget_steps   # set instead of budget (CPU-s) for a comparison at equal steps

    def recipes(self):
        """The recipe names, in the order they were trained."""
        return list(dict.fromkeys(r["recipe"] for r in self.runs))

    def summary(self):
        """``{recipe: {"swd": [per seed], "mean", "steps": [per seed], "cpu_s": [per seed]}}``."""
        out = {}
        for name in self.recipes():
            rs = [r for r in self.runs if r["recipe"] == name]
            out[name] = {"swd": [r["swd"] for r in rs], "mean": float(np.mean([r["swd"] for r in rs])),
                         "steps": [r["steps"] for r in rs], "cpu_s": [r["cpu_s"] for r in rs]}
        return out

    def table(self):
        """A plain-text table: one line per run, then the floor."""
        lines = [f"{'recipe':<22}{'seed':>5}{'steps':>7}{'CPU-s':>8}{'SWD':>8}  generator"]
        for r in self.runs:
            lines.append(f"{r['recipe']:<22}{r['seed']:>5}{r['steps']:>7}{r['cpu_s']:>8.0f}"
                         f"{r['swd']:>8.1f}  {r['generator']}")
        lines.append(f"{'real vs real (floor)':<42}{self.floor:>8.1f}")
        return "\n".join(lines)

    def best(self, recipe=None):
        """The run with the lowest SWD (of ``recipe`` if given)."""
        rs = [r for r in self.runs if recipe is None or r["recipe"] == recipe]
        return min(rs, key=lambda r: r["swd"])

    def show(self, n=32, ncols=8, labels=None, scale=1.0):
        """A figure: one grid of ``n`` samples per run, a row of grids per recipe (seeds side by side),
        each titled with its SWD (titles too wide for their grids get a smaller font, then line breaks:
        :func:`ganutils.viz.fit_titles`). ``labels`` maps recipe names to titles. Returns a
        ``matplotlib.figure.Figure`` (not registered with pyplot)."""
        from matplotlib.figure import Figure
        from . import viz
        names, seeds = self.recipes(), sorted({r["seed"] for r in self.runs})
        fig = Figure(figsize=(4.2 * len(seeds) * scale, 2.5 * len(names) * scale * n / 32 + 0.4))
        axes = fig.subplots(len(names), len(seeds), squeeze=False)
        for i, name in enumerate(names):
            for j, seed in enumerate(seeds):
                ax = axes[i][j]
                r = next((r for r in self.runs if r["recipe"] == name and r["seed"] == seed), None)
                if r is None:
                    ax.set_axis_off()
                    continue
                title = (labels or {}).get(name, name)
                viz.show_grid(self.samples[(name, seed)][:n], ncols=ncols, ax=ax, warn_positive=False,
                              title=f"{title}, seed {seed}: SWD {r['swd']:.0f}")
        return viz.fit_titles(fig)  # titles side by side never run into each other

    def sheet(self, n=3, labels=None, px=96):
        """A figure for many recipes: one row per recipe, ``n`` samples of each seed side by side, each
        sample scaled up by nearest neighbour to at least ``px`` pixels and drawn at one figure pixel
        per image pixel (``viz.titled_rows``), the row titled with the recipe's SWD per seed.
        Where :meth:`show` gives every run a grid of its own (18 runs: faces of about 30 px on the
        page), this keeps each face readable. ``labels`` maps recipe names to titles. Returns a
        ``matplotlib.figure.Figure`` (not registered with pyplot); raises ``ValueError`` for ``n`` < 1."""
        from . import viz
        if n < 1:
            raise ValueError(f"sheet() shows at least one sample per run, got n={n}")
        names, seeds = self.recipes(), sorted({r["seed"] for r in self.runs})
        rows = []
        for name in names:
            runs = [r for r in self.runs if r["recipe"] == name]
            images = np.concatenate([self.samples[(name, r["seed"])][:n] for r in runs])
            scores = ", ".join(f"seed {r['seed']}: SWD {r['swd']:.0f}" for r in runs)
            rows.append((f"{(labels or {}).get(name, name)} ({scores}; {n} samples each)", images))
        return viz.titled_rows(rows, ncols=n * len(seeds), px=px)

    def to_dict(self):
        out = {"budget_cpu_s": self.budget, "floor": self.floor, "runs": self.runs}
        if self.budget_steps is not None:
            out["budget_steps"] = self.budget_steps
        return out


def compare_recipes(recipes, train, held_out, *, cpu_seconds=None, seeds=(0, 1), width=1.0,
                    mixed_precision="auto", out_dir=None, flip=False, n_samples=64, probes=None, evals=8,
                    verbose=True, steps=None):
    """Train each recipe once per seed for ``cpu_seconds`` of training CPU time and score them.

    ``steps`` (int) instead of ``cpu_seconds`` gives every run the same number of generator steps (a budget
    that does not depend on the machine's speed: the tests use it); exactly one of the two is given.

    ``recipes``: names in ``ganutils.recipes`` (their image size must be the images'), or variants
    ``(label, name, overrides)`` trained as ``GANTrainer.from_recipe(name, **overrides)`` and reported
    under ``label`` (e.g. ``("+EMA", "dcgan28", {"ema": {"decay": 0.999, "rampup": 0.05}})``); ``train``:
    ``[N, S, S, 3]`` training images; ``held_out``: ``[M, S, S, 3]`` real images no run trains on (M >= 16;
    SWD is computed on M generated images against them, and the floor on M training images against them).
    Both uint8 (0..255) or floats in [-1, 1] (converted to uint8 first: the same runs as the uint8 images
    they came from); floats outside [-1.05, 1.05] (0..255 floats, say) raise ``ValueError`` naming the
    range seen, and floats with no negative value warn with ``ImageRangeWarning`` (probably [0, 1] data:
    pass ``x * 2 - 1``), before any training. ``width``: channel multiplier of the recipes' networks;
    ``mixed_precision``: ``"auto"`` (16-bit compute where it is faster on this machine:
    ``ganutils.precision.choose``), ``True`` or ``False``, decided once for every run (each run's spec
    records whether it was mixed). ``flip``: mirror training images at random.
    ``out_dir`` (``~`` is the home folder): each run saves ``result.json``, ``samples.npy`` and
    ``generator.npz`` (the weights of the generator it samples with, float32) in
    ``out_dir/<recipe>-seed<k>``, and a later call with the same run (same :func:`run_spec` and the
    same recipe settings) loads them instead of training.
    ``probes``: ``{name: probe(trainer) -> float}`` (e.g. :func:`overfitting_probes`), measured
    ``evals`` times at equal spacing of the budget into each run's ``curve``: ``[[cpu_s, value, ...],
    ...]`` in the order of ``probe_names``. Returns a :class:`Comparison`.
    Raises ``ValueError`` for an unknown recipe, a recipe whose image size is not the images', or too
    few held-out images.
    """
    from . import metrics, precision, recipes as recipe_book
    from ._text import say   # printed at most 80 columns wide

    if (cpu_seconds is None) == (steps is None):
        raise ValueError("give exactly one budget: cpu_seconds=... or steps=...")
    mixed = precision.choose(mixed_precision).mixed   # decided once: every run of it in one precision
    train = _images(train, "compare_recipes' training images")
    held_out = _images(held_out, "compare_recipes' held-out images")
    size = train.shape[1]
    entries = [_entry(e) for e in recipes]
    for name, base, overrides in entries:
        r = recipe_book.get(base, **overrides)
        if r["image_size"] != size:
            raise ValueError(f"recipe {name!r} makes {r['image_size']}×{r['image_size']} images; the "
                             f"training images are {size}×{size}")
    if len(held_out) < 16 or held_out.shape[1:] != train.shape[1:]:
        raise ValueError(f"held_out must be at least 16 images shaped like the training images "
                         f"{train.shape[1:]}, got {held_out.shape}")
    n_eval = len(held_out)
    floor = float(metrics.swd(held_out, train[np.linspace(0, len(train) - 1, n_eval).astype(int)]))
    runs, samples = [], {}
    seeds = list(seeds)
    for name, base, overrides in entries:
        recipe = recipe_book.get(base, **overrides)
        for seed in seeds:
            spec = run_spec(name, seed, width=width, cpu_seconds=cpu_seconds, steps=steps,
                            mixed_precision=mixed, train=train, held_out=held_out, flip=flip,
                            probes=probes or (), evals=evals)
            if (base, overrides) != (name, {}):
                spec.update(base=base, overrides=overrides)
            # the recipe's settings themselves: a saved run of a recipe since changed is not reused
            spec["settings"] = {k: v for k, v in recipe.items() if k not in ("what", "name", "family")}
            if spec["settings"].get("upsample") == "transpose":   # the recipes' layers, as before the option
                del spec["settings"]["upsample"]                    # existed: runs saved then are still reused
            batch = recipe["batch_size"]
            if batch > len(train):        # a handful of photos (a test, a small folder)
                spec["batch_size"] = len(train)
                if verbose and seed == seeds[0]:
                    say(f"{name}: {len(train)} training images, fewer than the recipe's batch of {batch}: "
                        f"batches of {len(train)}")
            folder = _folder(out_dir) / f"{name}-seed{seed}" if out_dir is not None else None
            saved = _load(folder, spec)
            if saved is not None:
                result, pictures = saved
                if verbose:
                    say(f"{name}, seed {seed}: reused the run saved in {folder}")
            else:
                t0 = time.perf_counter()
                result, pictures = _train_one(spec, train, held_out, n_samples, folder, probes or {})
                if verbose:
                    say(f"{name}, seed {seed}: {result['steps']} steps, {result['cpu_s']:.0f} "
                        f"training CPU-s ({(time.perf_counter() - t0) / 60:.1f} min wall), "
                        f"SWD {result['swd']:.1f}")
            result["dir"] = None if folder is None else str(folder)
            runs.append(result)
            samples[(name, seed)] = pictures
    return Comparison(runs, samples, floor, cpu_seconds, budget_steps=steps)


def _entry(entry):
    """``"name"`` or ``(label, name, overrides)`` -> ``(label, name, overrides)``."""
    if isinstance(entry, str):
        return entry, entry, {}
    try:
        label, name, overrides = entry
    except (TypeError, ValueError):
        raise ValueError(f"a recipe is a name or a (label, name, overrides) tuple, got {entry!r}") from None
    if not isinstance(label, str) or not label or any(c in label for c in "/\\"):
        raise ValueError(f"a variant's label must be a non-empty name without slashes, got {label!r}")
    return label, name, dict(overrides)


def _load(folder, spec):
    if folder is None or not (folder / "result.json").exists():
        return None
    try:
        result = json.loads((folder / "result.json").read_text())
        if result.get("spec") != spec:
            return None
        return result, np.load(folder / "samples.npy")
    except (OSError, ValueError):
        return None


def _train_one(spec, train, held_out, n_samples, folder, probes):
    """Train and score one run of :func:`compare_recipes`; returns ``(result, uint8 samples)``."""
    from .data import image_dataset
    from .train import GANTrainer
    trainer = GANTrainer.from_recipe(spec.get("base", spec["recipe"]), width=spec["width"], seed=spec["seed"],
                                     mixed_precision=spec["mixed_precision"], **spec.get("overrides", {}))
    ds = image_dataset(train, train.shape[1], spec.get("batch_size", trainer.recipe["batch_size"]),
                       seed=spec["seed"], flip=spec["flip"])
    names = sorted(probes)
    done = train_for(trainer, ds, cpu_seconds=spec.get("cpu_seconds"), steps=spec.get("steps"), evals=spec.get("evals", 0) if names else 0,
                     score=(lambda: [probes[k](trainer) for k in names]) if names else None)
    return score_run(trainer, held_out, folder=folder, spec=spec, n_samples=n_samples, steps=done["steps"],
                     cpu_s=done["cpu_s"], finite=done["finite"], curve=done["curve"], probe_names=names)


def score_run(trainer, held_out, *, folder=None, spec=None, n_samples=64, steps=None, cpu_s=None, finite=True,
              curve=(), probe_names=()):
    """Score a trained generator the way :func:`compare_recipes` scores its runs, and save it like one.

    The generator scored is the one the recipe samples with: the EMA when ``trainer`` keeps one, else
    the raw generator. ``held_out``: ``[M, S, S, 3]`` real images the run never trained on (uint8, or floats
    in [-1, 1], checked as :func:`compare_recipes` checks them); SWD
    (×1e3, :func:`ganutils.metrics.swd`) of M generated images (noise stream 13, which no training step
    draws) against them; with an EMA the raw generator's SWD too (``swd_raw``). ``steps`` and ``cpu_s``
    (training CPU-seconds) default to the trainer's step and :meth:`GANTrainer.training_time`;
    ``spec`` to what defines the run (recipe, seed, width, precision, held-out set). With ``folder``
    (``~`` is the home folder) it writes ``result.json``, ``samples.npy`` (the first ``n_samples``
    fakes, uint8) and ``generator.npz`` (float32 weights), which :func:`ganutils.pretrained.export`
    reads: a long run trained with ``GANTrainer.fit`` is exported like a comparison's run. Returns
    ``(result, samples)``.
    """
    from . import metrics
    from ._atomic import write_json
    held_out = _images(held_out, "score_run's held-out images")
    n_eval = len(held_out)
    if steps is None:
        steps = int(trainer.step.numpy())
    if cpu_s is None:
        cpu_s = round(float(trainer.training_time()[2]), 1)
    if spec is None:
        r = trainer.recipe
        spec = {"recipe": r["name"], "seed": int(r["seed"]), "width": float(r["width"]),
                "mixed_precision": bool(r["mixed_precision"]), "steps": int(steps),
                "held_out": [n_eval, _fingerprint(held_out)],
                "settings": {"upsample": r.get("upsample", "transpose")}}   # how to rebuild its generator
    which = "raw" if trainer.ema is None else "ema"
    model = trainer.generator if which == "raw" else trainer._ema_model()
    z = trainer.noise(-3, n_eval, stream=13)
    fake = np.concatenate([model(z[i:i + 256], training=False).numpy() for i in range(0, n_eval, 256)])
    result = {"recipe": spec["recipe"], "seed": spec["seed"], "steps": int(steps), "cpu_s": cpu_s,
              "finite": finite, "generator": which, "probe_names": list(probe_names), "curve": list(curve),
              "swd": round(float(metrics.swd(held_out, fake)), 2)}
    if which == "ema":
        raw = np.concatenate([trainer.generator(z[i:i + 256], training=False).numpy()
                              for i in range(0, n_eval, 256)])
        result["swd_raw"] = round(float(metrics.swd(held_out, raw)), 2)
    else:
        result["swd_raw"] = result["swd"]
    pictures = metrics.to_uint8(fake[:n_samples])
    if folder is not None:
        folder = _folder(folder)
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / "samples.npy", pictures)
        np.savez(folder / "generator.npz", *[np.asarray(w, np.float32) for w in model.get_weights()])
        write_json(folder / "result.json", {**result, "spec": spec,
                                            "model": trainer.recipe["model"],
                                            "latent_dim": trainer.recipe["latent_dim"]})
    return result, pictures
