"""Benchmark the training engine against the seed's way of training, on this machine.

    python bench/run.py [--quick] [--options] [--repeats R] [--precision-steps N] [--widths book,1]
    python bench/run.py --kernels anime64 [--width 1]

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
- float32_over_mixed: seconds per step in float32 / in mixed precision (bfloat16 on a CPU, float16 on
  a GPU), same model: above 1 when mixed precision is faster (``_cpu``: the same in CPU seconds of
  this process, which other processes on a shared machine do not inflate). Both are timed in turns,
  ``--repeats`` (5) timings of ``--precision-steps`` (20; 3 with ``--quick``, a smoke check rather
  than a measurement) steps each, alternating which goes first, and the medians compared: a change
  in the machine's load hits both.

It also prints the CPU (model, bfloat16 units, oneDNN) and what ``ganutils.precision.choose("auto")``
decides here, with its probe's timings and how long the probe took. ``--options`` times every model at
width 1 and at the book run's width (``ganutils.run.BOOK_PARAMS``; ``--widths`` picks) in float32, with
XLA and in mixed precision, the same interleaved way, and puts each float32/mixed ratio, with the ratio
``ganutils.precision``'s probe predicts at that model's heaviest convolution, in the JSON. On 2 CPU
cores the full ``--options`` table takes most of an hour (eyes128 at width 1 alone about 25 minutes):
``--widths book`` skips width 1.

``--onednn`` instead times each model at the book run's width (``--widths``) with TensorFlow's oneDNN
kernels off and on (``TF_ENABLE_ONEDNN_OPTS=0`` / ``1``, set in child processes: the switch is read
once, when TensorFlow starts), ``--repeats`` children of each, alternating, and prints the median
CPU-seconds per step and their ratio. TensorFlow turns oneDNN on by default only on CPUs with
AVX-512 VNNI, AVX-VNNI or AMX; on an AVX2-only CPU the ratio says what the default costs.

``--kernels MODEL`` instead lists the oneDNN kernels (``ONEDNN_VERBOSE=1``) that one training step of
MODEL runs in float32 and in mixed precision, with their milliseconds, heaviest first: where bfloat16
gains and where it does not, and any fallback to a reference or gemm implementation.

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


def make_engine(folder_or_kind, name="anime64", *, width=1.0, batch=64, jit_compile=False,
                mixed_precision=False, num_images=None):
    """A GANTrainer for model ``name`` (seed 0, the recipe's labels and optimisers) and an
    ``image_dataset`` of a folder or an embedded kind, ready to ``fit``."""
    from ganutils import models
    from ganutils.data import image_dataset
    from ganutils.train import GANTrainer
    recipe = models.RECIPES[name]
    g, d = models.build(name, seed=0, width=width, mixed_precision=mixed_precision)
    t = GANTrainer(g, d, labels=recipe["labels"], g_optimizer=recipe["g_optimizer"],
                   d_optimizer=recipe["d_optimizer"], jit_compile=jit_compile)
    extra = {} if num_images is None else {"num_images": num_images}
    ds = image_dataset(folder_or_kind, recipe["image_size"], batch, seed=0, **extra)
    return t, ds


def interleaved(engines, steps, repeats):
    """Median seconds per step of each of ``engines`` (label -> (trainer, dataset)), timed in turns:
    after 2 warm-up steps each (tracing, caches), ``repeats`` rounds in which every trainer trains
    ``steps`` steps, the order reversed every other round, so that the machine's load changes hit all
    of them. Returns ``{label: (median wall s/step, [wall s/step of each round], median CPU s/step)}``;
    CPU time is this process's (all threads), which other processes on the machine do not inflate."""
    import statistics
    for t, ds in engines.values():
        t.fit(ds, int(t.step.numpy()) + 2, progress=False)
    wall, cpu = {label: [] for label in engines}, {label: [] for label in engines}
    labels = list(engines)
    for r in range(repeats):
        for label in (labels if r % 2 == 0 else labels[::-1]):
            t, ds = engines[label]
            start = int(t.step.numpy())
            t0, c0 = time.perf_counter(), time.process_time()
            t.fit(ds, start + steps, progress=False)
            wall[label].append((time.perf_counter() - t0) / steps)
            cpu[label].append((time.process_time() - c0) / steps)
    return {label: (statistics.median(wall[label]), wall[label], statistics.median(cpu[label]))
            for label in engines}


def book_width(name):
    """The width the book run trains ``name`` at (``ganutils.run.BOOK_PARAMS``), or None."""
    from ganutils.run import BOOK_PARAMS
    chapter = {"celeba28": "03_faces28", "eyes128": "04_eyes128", "anime64": "05_anime64"}.get(name)
    return BOOK_PARAMS.get(chapter, {}).get("width")


def options_table(steps, repeats, widths=("book", "1"), batch=64):
    """Seconds per step of each model at width 1 and at the book run's width: float32, XLA, mixed
    precision (bfloat16 on a CPU), timed in turns (``interleaved``); with float32/mixed and the
    ratio the precision probe predicts at the model's heaviest convolution. Returns the rows as a
    dict for the JSON."""
    from ganutils import precision
    kinds = {"celeba28": "faces", "anime64": "anime", "eyes128": "eyes"}
    variants = (("float32", False, False), ("XLA", True, False), ("mixed", False, True))
    print(f"  {'model':10s} {'width':>5s}" + "".join(f"{v[0]:>10s}" for v in variants)
          + f"{'f32/mixed':>10s}{'probe':>7s}   (s/step, batch {batch}, median of {repeats} x {steps} steps)")
    rows = {}
    for name, kind in kinds.items():
        ws = sorted({float(w) for w in ([book_width(name)] if "book" in widths else [])
                     + ([1.0] if "1" in widths else []) if w is not None})
        for width in ws:
            engines = {label: make_engine(kind, name, width=width, batch=batch, jit_compile=jit,
                                          mixed_precision=mixed, num_images=512)
                       for label, jit, mixed in variants}
            probe = precision.run_probe(precision.Probe.from_model(engines["float32"][0].generator,
                                                                   batch=batch))
            timed = interleaved(engines, steps, repeats)
            row = {f"{label}_s_per_step": round(timed[label][0], 4) for label in timed}
            row["float32_over_mixed"] = round(timed["float32"][0] / timed["mixed"][0], 3)
            row["float32_over_mixed_cpu"] = round(timed["float32"][2] / timed["mixed"][2], 3)
            row["probe_speedup"] = round(probe.speedup, 3)
            row["probe"] = {k: getattr(probe.probe, k) for k in ("batch", "size", "channels", "kernel")}
            rows[f"{name}@{width:g}"] = row
            print(f"  {name:10s} {width:5g}" + "".join(f"{timed[v[0]][0]:>10.3f}" for v in variants)
                  + f"{row['float32_over_mixed']:>10.2f}{probe.speedup:>7.2f}", flush=True)
    return rows


def machine_report():
    """Print the CPU, its bfloat16 units, oneDNN and what ``precision.choose("auto")`` decides here
    (with its probe's timings); return them as a dict for the JSON."""
    import os
    from ganutils import precision
    info = precision.cpu_info()
    onednn, how = precision.onednn_enabled()
    units = ", ".join(info.bf16_flags) or ("unknown" if info.flags is None else "none")
    print(f"CPU: {info.model or 'unknown'} ({os.cpu_count()} logical CPUs); bfloat16 units: {units}; "
          f"oneDNN {'on' if onednn else 'off'} ({how})", flush=True)
    choice = precision.choose("auto", verbose=False)
    out = {"cpu_model": info.model, "cpu_bf16_flags": list(info.bf16_flags), "onednn": onednn,
           "auto_precision": choice.dtype, "auto_reason": choice.reason}
    print(f"precision.choose('auto'): {choice}", flush=True)
    if choice.probe is not None:
        p = choice.probe
        print(f"  probe: CPU {p.float32 * 1e3:.1f} ms float32, {p.bfloat16 * 1e3:.1f} ms bfloat16 per "
              f"forward + backward pass (wall {p.float32_wall * 1e3:.1f}, {p.bfloat16_wall * 1e3:.1f}; "
              f"medians of {p.probe.repeats}); the probe took {p.seconds:.1f} s", flush=True)
        out.update(probe_float32_cpu_s=round(p.float32, 5), probe_bfloat16_cpu_s=round(p.bfloat16, 5),
                   probe_speedup=round(p.speedup, 3), probe_wall_speedup=round(p.wall_speedup, 3),
                   probe_seconds=round(p.seconds, 2))
    return out


KERNEL_MARK = "=== ganbench step:"


def kernel_child(name, width, steps=3, batch=64):
    """In a child process started with ``ONEDNN_VERBOSE=1``: build ``name`` in float32 and in mixed
    precision, train each for 2 warm-up steps on constant batches, then ``steps`` steps of each in
    turns, each step after a line ``KERNEL_MARK <precision>`` (oneDNN logs every primitive it runs to
    stdout) and followed by a line with its wall and CPU seconds."""
    import tensorflow as tf
    from ganutils import models
    from ganutils.train import GANTrainer
    r = models.RECIPES[name]
    size = r["image_size"]
    real = tf.random.stateless_uniform([batch, size, size, 3], seed=[0, 1], minval=-1, maxval=1)
    z = tf.random.stateless_normal([batch, r["latent_dim"]], seed=[0, 2])
    u = tf.random.stateless_uniform([batch], seed=[0, 3])
    fns = {}
    for mode in ("float32", "mixed"):
        g, d = models.build(name, seed=0, width=width, mixed_precision=mode == "mixed")
        t = GANTrainer(g, d, labels=r["labels"], g_optimizer=r["g_optimizer"],
                       d_optimizer=r["d_optimizer"])
        fns[mode] = tf.function(t.train_step)
        for _ in range(2):
            float(fns[mode](real, z, u, u)["d_loss"])
    for i in range(steps):
        for mode in (("float32", "mixed") if i % 2 == 0 else ("mixed", "float32")):
            print(f"{KERNEL_MARK} {mode}", flush=True)
            t0, c0 = time.perf_counter(), time.process_time()
            float(fns[mode](real, z, u, u)["d_loss"])
            print(f"step_seconds {time.perf_counter() - t0} {time.process_time() - c0}", flush=True)


ONEDNN_MARK = "=== ganbench onednn:"


def onednn_child(name, width, steps, batch=64):
    """In a child process: 2 warm-up steps, then ``steps`` training steps of model ``name`` (float32, the
    recipe's optimisers) on constant batches; prints ``ONEDNN_MARK <wall s/step> <CPU s/step>``."""
    import tensorflow as tf
    from ganutils import models
    from ganutils.train import GANTrainer
    r = models.RECIPES[name]
    size = r["image_size"]
    real = tf.random.stateless_uniform([batch, size, size, 3], seed=[0, 1], minval=-1, maxval=1)
    z = tf.random.stateless_normal([batch, r["latent_dim"]], seed=[0, 2])
    u = tf.random.stateless_uniform([batch], seed=[0, 3])
    g, d = models.build(name, seed=0, width=width)
    t = GANTrainer(g, d, labels=r["labels"], g_optimizer=r["g_optimizer"], d_optimizer=r["d_optimizer"])
    fn = tf.function(t.train_step)
    for _ in range(2):
        float(fn(real, z, u, u)["d_loss"])
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(steps):
        float(fn(real, z, u, u)["d_loss"])
    print(f"{ONEDNN_MARK} {(time.perf_counter() - t0) / steps} {(time.process_time() - c0) / steps}",
          flush=True)


def onednn_table(steps, repeats, widths=("book",)):
    """Median CPU s/step of each model with oneDNN off and on, ``repeats`` child processes of each in
    alternating order; returns ``{"model@width": {"off_cpu_s", "on_cpu_s", "off_over_on", ...}}``."""
    import os
    import statistics
    import subprocess
    rows = {}
    print(f"  {'model':10s} {'width':>5s} {'oneDNN off':>11s} {'on':>8s} {'off/on':>7s}"
          f"   (CPU s/step, batch 64, median of {repeats} children x {steps} steps)", flush=True)
    for name in ("celeba28", "anime64", "eyes128"):
        ws = sorted({float(w) for w in ([book_width(name)] if "book" in widths else [])
                     + ([1.0] if "1" in widths else []) if w is not None})
        for width in ws:
            times = {"0": [], "1": []}
            for r in range(repeats):
                for flag in (("0", "1") if r % 2 == 0 else ("1", "0")):
                    env = dict(os.environ, TF_ENABLE_ONEDNN_OPTS=flag, TF_CPP_MIN_LOG_LEVEL="2")
                    out = subprocess.run([sys.executable, __file__, "--onednn-child", name, str(width), str(steps)],
                                         capture_output=True, text=True, env=env, check=True).stdout
                    line = next(x for x in out.splitlines() if x.startswith(ONEDNN_MARK))
                    wall, cpu = map(float, line[len(ONEDNN_MARK):].split())
                    times[flag].append((wall, cpu))
            off = statistics.median(c for _, c in times["0"])
            on = statistics.median(c for _, c in times["1"])
            rows[f"{name}@{width:g}"] = {"off_cpu_s": round(off, 4), "on_cpu_s": round(on, 4),
                                         "off_over_on": round(off / on, 3),
                                         "off_wall_s": round(statistics.median(w for w, _ in times["0"]), 4),
                                         "on_wall_s": round(statistics.median(w for w, _ in times["1"]), 4)}
            print(f"  {name:10s} {width:5g} {off:>11.3f} {on:>8.3f} {off / on:>7.2f}", flush=True)
    return rows


def parse_onednn(text):
    """The child's output: ``{precision: ({(problem, kind, prop): [median ms per step, impl, data
    type]}, (median wall s/step, median CPU s/step))}``."""
    import statistics
    steps = {}   # precision -> list of (rows, seconds) per step
    current = None
    for line in text.splitlines():
        if line.startswith(KERNEL_MARK):
            current = ({}, [])
            steps.setdefault(line[len(KERNEL_MARK):].strip(), []).append(current)
        elif current is None:
            continue
        elif line.startswith("step_seconds "):
            current[1].extend(float(v) for v in line.split()[1:3])
        elif line.startswith("onednn_verbose,") and ",primitive,exec," in line:
            f = line.split(",")
            kind, impl, prop, mds, problem, ms = f[5], f[6], f[7], f[8], f[-2], float(f[-1])
            dtype = mds.split(":")[1] if ":" in mds else "?"
            row = current[0].setdefault((problem, kind, prop), [0.0, impl, dtype])
            row[0] += ms
    out = {}
    for mode, per_step in steps.items():
        keys = {k for rows, _ in per_step for k in rows}
        med = {k: [statistics.median(rows.get(k, [0.0])[0] for rows, _ in per_step),
                   *next(rows[k][1:] for rows, _ in per_step if k in rows)] for k in keys}
        seconds = tuple(statistics.median(sec[i] for _, sec in per_step) for i in (0, 1))
        out[mode] = (med, seconds)
    return out


def kernel_table(name, width=1.0, steps=3):
    """Print which oneDNN kernel runs each primitive of a training step of ``name`` in float32 and in
    mixed precision, and its milliseconds per step in each (medians of ``steps`` steps, the two
    precisions in turns in one process), heaviest first; reference implementations and gemm-based
    convolutions are marked as fallbacks (slow paths). Returns the rows for the JSON."""
    import os
    import subprocess
    env = dict(os.environ, ONEDNN_VERBOSE="1", TF_CPP_MIN_LOG_LEVEL="3")
    child = [sys.executable, __file__, "--kernel-child", name, str(width), str(steps)]
    proc = subprocess.run(child, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"the child process failed:\n{proc.stderr[-3000:]}")
    out = parse_onednn(proc.stdout)
    (f32, (f32_wall, f32_cpu)), (mix, (mix_wall, mix_cpu)) = out["float32"], out["mixed"]
    print(f"{name} at width {width:g}, batch 64, median of {steps} training steps in turns: float32 "
          f"{f32_wall:.3f} s wall {f32_cpu:.3f} s CPU, mixed {mix_wall:.3f} s wall {mix_cpu:.3f} s CPU")
    for label, rows in (("float32", f32), ("mixed", mix)):
        by_kernel = {}
        for (_, kind, prop), (ms, impl, _) in rows.items():
            by_kernel[(kind, prop, impl)] = by_kernel.get((kind, prop, impl), 0.0) + ms
        print(f"  oneDNN time by kernel, {label} ({sum(by_kernel.values()):.0f} ms per step):")
        for (kind, prop, impl), ms in sorted(by_kernel.items(), key=lambda kv: -kv[1]):
            slow = "ref" in impl or (kind == "convolution" and "gemm" in impl)
            print(f"    {ms:8.1f} ms  {kind} {prop} {impl}{'   <- fallback' if slow else ''}")
    print(f"  {'f32 ms':>8s} {'mixed ms':>8s} {'ratio':>6s}  primitive (problem), mixed kernel")
    table = []
    for key in sorted(set(f32) | set(mix), key=lambda k: -(f32.get(k, [0])[0])):
        a, b = f32.get(key, [0.0, "-", "-"]), mix.get(key, [0.0, "-", "-"])
        if max(a[0], b[0]) < 1.0:
            continue
        ratio = a[0] / b[0] if b[0] else float("nan")
        print(f"  {a[0]:8.1f} {b[0]:8.1f} {ratio:6.2f}  {key[1]} {key[2]} {key[0]}, {b[1]} ({b[2]})")
        table.append({"problem": key[0], "kind": key[1], "prop": key[2], "float32_ms": round(a[0], 2),
                      "mixed_ms": round(b[0], 2), "float32_impl": a[1], "mixed_impl": b[1],
                      "mixed_dtype": b[2]})
    return {"model": name, "width": width, "float32_s_per_step": f32_wall, "mixed_s_per_step": mix_wall,
            "float32_cpu_s_per_step": f32_cpu, "mixed_cpu_s_per_step": mix_cpu, "primitives": table}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="fewer steps: a few minutes")
    p.add_argument("--options", action="store_true",
                   help="also time every model in float32, with XLA and with mixed precision")
    p.add_argument("--folder", help="a folder of JPEGs to read (default: write CelebA-sized ones)")
    p.add_argument("--repeats", type=int, default=5,
                   help="timings per precision, interleaved; the median is reported (default 5)")
    p.add_argument("--precision-steps", type=int, default=None,
                   help="steps per timing of the precision comparison (default 20; 3 with --quick)")
    p.add_argument("--widths", default="book,1",
                   help="--options: 'book' (the book run's width per model), '1', or 'book,1' (default)")
    p.add_argument("--kernels", metavar="MODEL",
                   help="only list the oneDNN kernels of one training step of MODEL (e.g. anime64) in "
                        "float32 and mixed precision, with their times (ONEDNN_VERBOSE), and exit")
    p.add_argument("--width", type=float, default=1.0, help="--kernels: the model's width (default 1)")
    p.add_argument("--kernel-child", nargs=3, help=argparse.SUPPRESS)
    p.add_argument("--onednn", action="store_true",
                   help="only time each model with oneDNN off and on (child processes), and exit")
    p.add_argument("--onednn-child", nargs=3, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.kernel_child:
        name, width, steps = args.kernel_child
        return kernel_child(name, float(width), int(steps))
    if args.onednn_child:
        name, width, steps = args.onednn_child
        return onednn_child(name, float(width), int(steps))
    if args.onednn:
        widths = tuple(w.strip() for w in args.widths.split(","))
        machine = machine_report()
        rows = onednn_table(args.precision_steps or (3 if args.quick else 10), args.repeats, widths)
        print(json.dumps({"onednn": rows, **machine}))
        return rows
    if args.kernels:
        rows = kernel_table(args.kernels, args.width)
        print(json.dumps(rows))
        return rows
    widths = tuple(w.strip() for w in args.widths.split(","))
    if not widths or any(w not in ("book", "1") for w in widths):
        p.error(f"--widths takes 'book', '1' or 'book,1', got {args.widths!r}")
    steps = 3 if args.quick else 10
    n_files = 512 if args.quick else 2000
    p_steps = args.precision_steps or (3 if args.quick else 20)
    if args.repeats < 1 or p_steps < 1:
        p.error("--repeats and --precision-steps must be at least 1")

    tmp_dir = tempfile.TemporaryDirectory(prefix="ganbench-")
    tmp = tmp_dir.name
    machine = machine_report()
    folder = args.folder or write_celeba_like(Path(tmp) / "jpegs", n_files)
    print(f"folder: {folder} ({len(list(Path(folder).glob('*.jpg')))} JPEGs)", flush=True)

    peak = gemm_flops(seconds=1.0 if args.quick else 3.0)
    print(f"float32 matmul 2048^3: {peak / 1e9:.1f} GFLOP/s", flush=True)

    seed_s, seed_learned = seed_step_time(folder, steps)
    print(f"seed-004-style loop: {seed_s:.3f} s/step (discriminator learns: {seed_learned})", flush=True)
    engines = {"float32": make_engine(folder), "mixed": make_engine(folder, mixed_precision=True)}
    timed = interleaved(engines, p_steps, args.repeats)
    eng_s, mixed_s = timed["float32"][0], timed["mixed"][0]
    g, d = engines["float32"][0].generator, engines["float32"][0].discriminator
    eng_f, seed_f = step_flops_per_image(g, d)
    flops = eng_f * 64
    print(f"GANTrainer, float32: {eng_s:.3f} s/step; {flops / 1e9:.1f} GFLOP/step "
          f"(3 G + 7 D forward-pass FLOPs x 64 images)", flush=True)
    print(f"seed loop work: {seed_f * 64 / 1e9:.1f} GFLOP/step (4 G + 8 D): a FLOP-bound step "
          f"can gain at most {seed_f / eng_f:.2f}x over it by scheduling alone", flush=True)
    caveat = "; --quick: a smoke check, not a measurement" if args.quick and not args.precision_steps else ""
    print(f"GANTrainer, mixed precision (bfloat16 on CPU): {mixed_s:.3f} s/step; float32/mixed "
          f"{eng_s / mixed_s:.2f} (medians of {args.repeats} interleaved timings of {p_steps} steps{caveat})",
          flush=True)
    del engines, g, d

    quick = dict(batches=50, seed_batches=8) if args.quick else {}
    inp = measure_input(folder=folder, image_size=64, batch_size=64, verbose=False, **quick)
    print(f"input: image_dataset {inp['image_dataset_images_per_s']:.0f} img/s, seed "
          f"{inp['seed_images_per_s']:.0f} img/s", flush=True)

    options = options_table(p_steps, args.repeats, widths) if args.options else None

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
        "float32_over_mixed": round(eng_s / mixed_s, 3),
        "float32_over_mixed_cpu": round(timed["float32"][2] / timed["mixed"][2], 3),
        "engine_s_per_step_rounds": [round(x, 4) for x in timed["float32"][1]],
        "engine_mixed_s_per_step_rounds": [round(x, 4) for x in timed["mixed"][1]],
        "engine_gflops_per_s": round(flops / eng_s / 1e9, 2),
        "gemm_gflops_per_s": round(peak / 1e9, 2),
        "model": "anime64", "width": 1.0, "batch": 64, "steps_timed": steps,
        "precision_repeats": args.repeats, "precision_steps": p_steps,
        "flops_formula": "(3 G + 7 D) forward-pass FLOPs per image",
        **machine,
    }
    if options is not None:
        result["options"] = options
    print(f"\n{'figure':28s} value")
    for k in ("step_speedup_vs_seed", "flops_fraction_of_gemm", "input_speedup_vs_seed", "peak_rss_mb",
              "float32_over_mixed"):
        print(f"{k:28s} {result[k]}")
    print(json.dumps(result))
    tmp_dir.cleanup()
    return result


if __name__ == "__main__":
    from ganutils.run import quiet_tensorflow
    quiet_tensorflow()   # TensorFlow's C++ start-up lines stay off this process's terminal
    main()
