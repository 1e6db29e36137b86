"""Benchmark the training engine against the seed's way of training, on this machine.

    python bench/run.py [--quick] [--options]

Everything is measured in the same run, and reported as ratios against a baseline
measured alongside it (machines are noisy; ratios travel, seconds do not):

- step_speedup_vs_seed: seconds per step of a seed-004-style loop (Keras 3-corrected
  ``predict`` + three ``train_on_batch`` calls, a batch read from a folder of JPEGs
  with PIL every step, as the seed does) / seconds per step of ``GANTrainer`` on
  ``image_dataset`` of the same folder; same 64x64 model, batch 64.
- flops_fraction_of_gemm: the engine's achieved FLOP/s (FLOPs counted from the
  model's layers, formula printed) / a large float32 matmul's FLOP/s.
- input_speedup_vs_seed: images/s of ``image_dataset`` / seed 004's
  ``sample_from_dataset`` on the same folder (from bench/input_pipeline.py).
- peak_rss_mb: the process's peak resident memory.

The last line printed is one JSON object with these figures.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from input_pipeline import measure as measure_input, sample_from_dataset, write_celeba_like  # noqa: E402


def gemm_flops(n=2048, seconds=2.0):
    """FLOP/s of a float32 n x n matmul: the machine's practical peak for dense math."""
    import tensorflow as tf
    a = tf.random.stateless_normal([n, n], seed=[0, 1])   # seeded: works under TF_DETERMINISTIC_OPS=1
    b = tf.random.stateless_normal([n, n], seed=[0, 2])
    mm = tf.function(lambda a, b: tf.matmul(a, b))
    mm(a, b).numpy()
    reps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        mm(a, b).numpy()
        reps += 1
    return 2 * n ** 3 * reps / (time.perf_counter() - t0)


def step_flops_per_image(g, d):
    """FLOPs per image of one training step, as (engine, seed-004 loop).

    Unit costs per network: a forward pass F, the activation gradients F, the weight
    gradients F. Engine: G 3F; D on the real batch 3F; D on the fake batch 4F (forward,
    then the D loss needs activation + weight gradients and the G loss activation
    gradients again): 3 G + 7 D. Seed: ``predict`` (G), two ``train_on_batch`` of D (3 D
    each), the combined model with D frozen (3 G + 2 D): 4 G + 8 D. Their ratio is the most
    a FLOP-bound float32 step can gain from scheduling alone."""
    from ganutils.models import conv_flops
    fg, fd = conv_flops(g), conv_flops(d)
    return 3 * fg + 7 * fd, 4 * fg + 8 * fd


def seed_step_time(folder, steps, batch=64):
    """Seconds per step of the seed's loop, corrected for Keras 3: the discriminator's
    own train function is built before it is frozen inside the combined model, so it
    still learns (checked below)."""
    import keras
    from ganutils import models
    g, d = models.build("anime64", seed=0)
    loss = keras.losses.BinaryCrossentropy(from_logits=True)
    d.compile(optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5), loss=loss)
    shape = (64, 64, 3)
    pattern = str(Path(folder) / "*.jpg")
    d.train_on_batch(sample_from_dataset(batch, shape, pattern), np.ones(batch))  # build while trainable
    d.trainable = False
    z_in = keras.Input((100,))
    gan = keras.Model(z_in, d(g(z_in)))
    gan.compile(optimizer=keras.optimizers.Adam(1.5e-4, beta_1=0.5), loss=loss)
    d_before = [w.copy() for w in d.get_weights()]

    def one_step():
        real = sample_from_dataset(batch, shape, pattern)
        noise = np.random.normal(0, 1, size=(batch, 100))
        fake = g.predict(noise, verbose=0)
        real_y = np.ones(batch) - np.random.random_sample(batch) * 0.2
        fake_y = np.random.random_sample(batch) * 0.2
        d.train_on_batch(real, real_y)
        d.train_on_batch(fake, fake_y)
        gan.train_on_batch(np.random.normal(0, 1, size=(batch, 100)), real_y)

    one_step()  # trace
    t0 = time.perf_counter()
    for _ in range(steps):
        one_step()
    per_step = (time.perf_counter() - t0) / steps
    learned = any(not np.array_equal(a, b) for a, b in zip(d_before, d.get_weights()))
    return per_step, learned


def engine_step_time(folder, steps, batch=64, jit_compile=False, mixed_precision=False):
    """Seconds per step of GANTrainer.fit on image_dataset of the folder (anime64)."""
    from ganutils import models
    from ganutils.data import image_dataset
    from ganutils.train import GANTrainer
    recipe = models.RECIPES["anime64"]
    g, d = models.build("anime64", seed=0, mixed_precision=mixed_precision)
    t = GANTrainer(g, d, labels="noisy", g_optimizer=recipe["g_optimizer"],
                   d_optimizer=recipe["d_optimizer"], jit_compile=jit_compile)
    ds = image_dataset(folder, 64, batch, seed=0)
    t.fit(ds, 2, progress=False)  # trace, fill caches
    t0 = time.perf_counter()
    t.fit(ds, 2 + steps, progress=False)
    return (time.perf_counter() - t0) / steps, g, d


def options_table(steps, batch=64):
    """Seconds per step of each model: float32, XLA, mixed precision (bfloat16 on a CPU)."""
    from ganutils import models
    from ganutils.data import image_dataset
    from ganutils.train import GANTrainer
    kinds = {"celeba28": "faces", "anime64": "anime", "eyes128": "eyes"}
    variants = (("float32", False, False), ("XLA", True, False), ("mixed", False, True))
    print(f"  {'model':10s}" + "".join(f"{v[0]:>12s}" for v in variants) + "   (s/step, batch 64)")
    rows = {}
    for name, kind in kinds.items():
        r = models.RECIPES[name]
        ds = image_dataset(kind, r["image_size"], batch, num_images=512)
        for label, jit, mixed in variants:
            g, d = models.build(name, seed=0, mixed_precision=mixed)
            t = GANTrainer(g, d, labels=r["labels"], jit_compile=jit)
            t.fit(ds, 2, progress=False)
            t0 = time.perf_counter()
            t.fit(ds, 2 + steps, progress=False)
            rows[(name, label)] = (time.perf_counter() - t0) / steps
        print(f"  {name:10s}" + "".join(f"{rows[(name, v[0])]:>12.3f}" for v in variants), flush=True)
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="fewer steps: under 3 minutes")
    p.add_argument("--options", action="store_true",
                   help="also time every model in float32, with XLA and with mixed precision")
    p.add_argument("--folder", help="a folder of JPEGs to read (default: write CelebA-sized ones)")
    args = p.parse_args(argv)
    steps = 3 if args.quick else 10
    n_files = 512 if args.quick else 2000

    tmp_dir = tempfile.TemporaryDirectory(prefix="ganbench-")
    tmp = tmp_dir.name
    folder = args.folder or write_celeba_like(Path(tmp) / "jpegs", n_files)
    print(f"folder: {folder} ({len(list(Path(folder).glob('*.jpg')))} JPEGs)", flush=True)

    peak = gemm_flops(seconds=1.0 if args.quick else 3.0)
    print(f"float32 matmul 2048^3: {peak / 1e9:.1f} GFLOP/s", flush=True)

    seed_s, seed_learned = seed_step_time(folder, steps)
    print(f"seed-004-style loop: {seed_s:.3f} s/step (discriminator learns: {seed_learned})", flush=True)
    eng_s, g, d = engine_step_time(folder, steps)
    eng_f, seed_f = step_flops_per_image(g, d)
    flops = eng_f * 64
    print(f"GANTrainer, float32: {eng_s:.3f} s/step; {flops / 1e9:.1f} GFLOP/step "
          f"(3 G + 7 D forward-pass FLOPs x 64 images)", flush=True)
    print(f"seed loop work: {seed_f * 64 / 1e9:.1f} GFLOP/step (4 G + 8 D): a FLOP-bound step "
          f"can gain at most {seed_f / eng_f:.2f}x over it by scheduling alone", flush=True)
    mixed_s, _, _ = engine_step_time(folder, steps, mixed_precision=True)
    print(f"GANTrainer, mixed precision (bfloat16 on CPU): {mixed_s:.3f} s/step", flush=True)

    quick = dict(batches=50, seed_batches=8) if args.quick else {}
    inp = measure_input(folder=folder, image_size=64, batch_size=64, verbose=False, **quick)
    print(f"input: image_dataset {inp['image_dataset_images_per_s']:.0f} img/s, seed "
          f"{inp['seed_images_per_s']:.0f} img/s", flush=True)

    if args.options:
        options_table(steps)

    result = {
        "step_speedup_vs_seed": round(seed_s / eng_s, 3),
        "flops_fraction_of_gemm": round(flops / eng_s / peak, 3),
        "input_speedup_vs_seed": round(inp["input_speedup_vs_seed"], 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "engine_s_per_step": round(eng_s, 4),
        "seed_s_per_step": round(seed_s, 4),
        "flop_bound_ceiling_speedup": round(seed_f / eng_f, 3),
        "step_speedup_vs_seed_mixed": round(seed_s / mixed_s, 3),
        "engine_mixed_s_per_step": round(mixed_s, 4),
        "engine_gflops_per_s": round(flops / eng_s / 1e9, 2),
        "gemm_gflops_per_s": round(peak / 1e9, 2),
        "model": "anime64", "batch": 64, "steps_timed": steps,
        "flops_formula": "(3 G + 7 D) forward-pass FLOPs per image",
    }
    print(f"\n{'figure':28s} value")
    for k in ("step_speedup_vs_seed", "flops_fraction_of_gemm", "input_speedup_vs_seed", "peak_rss_mb"):
        print(f"{k:28s} {result[k]}")
    print(json.dumps(result))
    tmp_dir.cleanup()
    return result


if __name__ == "__main__":
    from ganutils.run import quiet_tensorflow
    quiet_tensorflow()   # TensorFlow's C++ start-up lines stay off this process's terminal
    main()
