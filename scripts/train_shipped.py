"""Train one of the shipped generators (``ganutils.pretrained``) on real photographs, in sittings.

    python scripts/train_shipped.py faces64 --data ../shared/realdata/celeba --out /work/runs/faces64
    python scripts/train_shipped.py faces64 --data ... --out ... --sitting-steps 4000   # one sitting
    python scripts/train_shipped.py faces64 --data ... --out ... --export               # score and ship

The data are split once (a fixed permutation): ``--n-held`` images held out for the card's score
(SWD x1e3 against them, the memorisation check), ``--n-val`` images for the validation curve that
decides when to stop, and the rest to train on. Every ``--eval-every`` steps the run scores the
generator it samples with (the EMA, with its own BatchNorm statistics) on the validation split and saves
a grid; the curve (SWD against images seen) is written to ``OUT/curve.json`` and ``OUT/curve.png``.
Run it again with the same arguments to continue: it resumes from the last checkpoint in ``OUT/run``
(``GANTrainer``'s ``resume=True``) until ``--steps`` are done, or ``--sitting-steps`` more. Ctrl-C, or
``kill -INT`` / ``kill -TERM`` of a run started in the background, saves a checkpoint and stops (exit
status 130). ``--export`` scores the final generator on the held-out split and stores it as package data
with its data card (``pretrained.export``). Nothing here is needed to use the course: it is how the
shipped generators were made.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

#: What each shipped generator is: recipe, data crop, width, upsampling, training length (steps), chapter.
#: ``upsample``: on real anime faces at equal CPU time resize-convolution (``models.UPSAMPLES``) scored
#: SWD 40.8 against 56.9 for the recipes' transposed convolutions, and a checkerboard of 1.1 against 3.6
#: (real faces 1.0; ``bench/results/upsampling-anime64.json``): anime64 resizes. faces28 keeps Monn's
#: 5x5 transposed convolutions: trained 8,000 steps each way on 7,692 CelebA photos (2026-12-03, AMD EPYC),
#: resize scored SWD 45.8 on the 1,000 held-out photos against 26.5 (floor 17.3) and drew duller,
#: browner faces, while transpose drew a checkerboard of 2.44 where the photos score 0.99.
#: ``models.UPSAMPLES``, spelled out so that ``--help`` and a wrong option do not wait for TensorFlow.
UPSAMPLES = ("transpose", "resize", "subpixel")
#: ``models.D_NORMS``, spelled out for the same reason: the discriminator's normalisation when the
#: table's recipe's own is not wanted (eyes128: Chen's discriminator has none; chapter 4's long run,
#: which drew eyes, had batch norm).
D_NORMS = ("batch", "layer", "none")
SHIPPED = {
    "faces64": dict(recipe="anime64_modern", source="celeba", crop="center", width=0.5, steps=16000,
                    chapter="03_faces28", flip=True, upsample="transpose"),
    "anime64": dict(recipe="anime64_modern", source="anime-faces", crop="center", width=0.5, steps=8000,
                    chapter="05_anime64", flip=False, upsample="resize"),
    "faces28": dict(recipe="dcgan28_modern", source="celeba", crop="celeba", width=0.5, steps=8000,
                    chapter="03_faces28", flip=True, upsample="transpose"),
    "eyes128": dict(recipe="eyes128_modern", source="eyes-photos", crop="center", width=0.25, steps=16000,
                    chapter="04_eyes128", flip=True, upsample="transpose"),
}


def split(n, n_held, n_val, seed=0):
    """Index arrays (held_out, validation, train) of a fixed permutation of ``n`` images."""
    import numpy as np
    order = np.random.default_rng(seed).permutation(n)
    if n_held + n_val >= n:
        raise ValueError(f"{n} images cannot spare {n_held} held out and {n_val} for validation")
    return order[:n_held], order[n_held:n_held + n_val], order[n_held + n_val:]


def plot_curve(history, batch, floor, path, title):
    from matplotlib.figure import Figure   # no pyplot: the reader's backend is left alone
    fig = Figure(figsize=(6, 3.6), dpi=110)
    ax = fig.add_subplot()
    for key, label in (("swd_val_ema", "EMA generator"), ("swd_val", "raw generator")):
        pts = history.get(key) or []
        if pts:
            ax.plot([s * batch / 1e6 for s, _ in pts], [v for _, v in pts], marker="o", ms=3, label=label)
    ax.axhline(floor, color="grey", ls="--", label=f"real vs real ({floor:.1f})")
    ax.set_xlabel("million images seen")
    ax.set_ylabel("SWD ×1e3 (validation)")
    ax.set_yscale("log")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("name", choices=sorted(SHIPPED))
    p.add_argument("--data", required=True, help="folder of real images")
    p.add_argument("--out", required=True, help="run folder (outside the work tree)")
    p.add_argument("--steps", type=int, default=None, help="total generator steps (default: the table's)")
    p.add_argument("--sitting-steps", type=int, default=None, help="stop after this many more steps")
    p.add_argument("--width", type=float, default=None)
    p.add_argument("--recipe", default=None)
    p.add_argument("--upsample", default=None, choices=UPSAMPLES, help="how the generator doubles its "
                   "maps (default: the table's)")
    p.add_argument("--d-norm", default=None, choices=D_NORMS, help="the discriminator's normalisation "
                   "(default: the recipe's own)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n-held", type=int, default=1000)
    p.add_argument("--n-val", type=int, default=1000)
    p.add_argument("--eval-every", type=int, default=1000)
    p.add_argument("--mixed-precision", default="auto", choices=["auto", "true", "false"])
    p.add_argument("--export", action="store_true", help="score on the held-out split and ship it")
    p.add_argument("--package-folder", default=None, help="where --export stores it (default: ganutils')")
    p.add_argument("--progress", default=None, help="write a PNG of the first samples at several steps")
    args = p.parse_args(argv)
    cfg = dict(SHIPPED[args.name])
    for key in ("steps", "width", "recipe", "upsample", "d_norm"):
        if getattr(args, key) is not None:
            cfg[key] = getattr(args, key)

    import os
    if "TF_ENABLE_ONEDNN_OPTS" not in os.environ and "tensorflow" not in sys.modules:
        # This script's own process, before TensorFlow starts: TensorFlow leaves oneDNN off on CPUs
        # without AVX-512 VNNI/AMX, where it made the anime64 networks' float32 step 1.6x faster
        # (ganutils.precision.ONEDNN_MEASURED). A reader's session is never switched for them.
        os.environ["TF_ENABLE_ONEDNN_OPTS"] = "1"
        print("TF_ENABLE_ONEDNN_OPTS=1 for this run (set it to 0 to keep TensorFlow's default)")
    import numpy as np
    from ganutils import metrics, recipes, viz
    from ganutils.data import image_dataset, load_images
    from ganutils.train import GANTrainer

    out = Path(args.out).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    size = recipes.get(cfg["recipe"])["image_size"]
    t0 = time.time()
    everything = load_images(args.data, size, crop=cfg["crop"], cache=out / f"images{size}.npy")
    held_i, val_i, train_i = split(len(everything), args.n_held, args.n_val)
    held_out, val, train = everything[held_i], everything[val_i], everything[train_i]
    floor = float(metrics.swd(val, train[:len(val)]))
    print(f"{args.name}: {len(everything)} images ({len(train)} train, {len(val)} validation, "
          f"{len(held_out)} held out), decoded in {time.time() - t0:.0f} s; validation floor {floor:.1f}",
          flush=True)

    mixed = {"auto": "auto", "true": True, "false": False}[args.mixed_precision]
    trainer = GANTrainer.from_recipe(cfg["recipe"], width=cfg["width"], seed=args.seed, out_dir=out / "run",
                                     resume=True, mixed_precision=mixed,
                                     upsample=cfg["upsample"], d_norm=cfg.get("d_norm"))
    batch = trainer.recipe["batch_size"]
    ds = image_dataset(train, size, batch, seed=args.seed, flip=cfg["flip"])
    done = int(trainer.step.numpy())
    if done == 0 and (out / "run").exists():
        done = trainer.restore()   # fit restores too; this only tells where the sitting starts
    target = cfg["steps"] if args.sitting_steps is None else min(cfg["steps"], done + args.sitting_steps)
    print(f"sitting: steps {done} -> {target} of {cfg['steps']} ({cfg['recipe']}, width {cfg['width']}, "
          f"{cfg['upsample']} upsampling, D norm {cfg.get('d_norm') or 'as the recipe'}, "
          f"batch {batch}, {'mixed' if trainer.recipe['mixed_precision'] else 'float32'})", flush=True)
    swd_val = metrics.make_metric("swd", val)
    t1 = time.time()
    if target > done:
        try:
            trainer.fit(ds, target, sample_every=args.eval_every, checkpoint_every=500,
                        metrics={"swd_val": swd_val}, metric_every=args.eval_every, metric_samples=len(val),
                        progress=False, make_gif=False)
        except KeyboardInterrupt:   # fit saved a checkpoint first
            print(f"interrupted at step {int(trainer.step.numpy())}, saved in {out / 'run'}: run the same "
                  "command again to continue", flush=True)
            return 130
    _, wall, cpu = trainer.training_time()   # (steps, wall s, CPU s), evaluations included
    hist = {k: v for k, v in trainer.history.items() if k.startswith("swd_val")}
    record = {"name": args.name, **cfg, "seed": args.seed, "batch": batch, "steps_done": int(trainer.step.numpy()),
              "images": [len(train), len(val), len(held_out)], "floor_val": round(floor, 2),
              "training_cpu_s": round(float(cpu), 1), "training_wall_s": round(float(wall), 1),
              "mixed_precision": bool(trainer.recipe["mixed_precision"]), "history": hist}
    (out / "curve.json").write_text(json.dumps(record, indent=1))
    plot_curve(hist, batch, floor, out / "curve.png",
               f"{args.name}: {cfg['recipe']} width {cfg['width']}, {len(train)} training images")
    z = trainer.fixed_noise(32)
    viz.save_grid(trainer.sample(z), out / f"grid-{int(trainer.step.numpy()):06d}.png")
    last = {k: v[-1] for k, v in hist.items() if v}
    print(f"sitting done in {(time.time() - t1) / 60:.1f} min: step {record['steps_done']}, "
          f"{cpu:.0f} training CPU-s in all; last validation SWD {last}", flush=True)

    if args.export:
        from ganutils import pretrained
        from ganutils.compare import score_run
        from ganutils.data.sources import SOURCES
        result, _ = score_run(trainer, held_out, folder=out / "final")
        fakes = metrics.to_uint8(trainer.sample(trainer.noise(-3, len(held_out), stream=13)))
        mem = metrics.memorisation(fakes, train, held_out)
        held_floor = float(metrics.swd(held_out, train[np.linspace(0, len(train) - 1, len(held_out)).astype(int)]))
        key = "swd_val_ema" if hist.get("swd_val_ema") else "swd_val"
        curve = {"x": "images seen", "y": "SWD x1e3 on the validation split", "generator": key[8:] or "raw",
                 "points": [[int(s * batch), round(float(v), 2)] for s, v in hist.get(key, [])],
                 "floor": round(floor, 2)}
        grid = {"samples": round(float(metrics.checkerboard(fakes[:512])), 3),
                "real": round(float(metrics.checkerboard(held_out[:512])), 3)}
        source = SOURCES[cfg["source"]]
        pretrained.export(out / "final", args.name, chapter=cfg["chapter"],
                          data={"name": Path(args.data).name, "images": len(train)},
                          terms=source.terms, weights_terms=source.weights_terms, swd=result["swd"],
                          floor=held_floor, memorisation=mem, curve=curve, checkerboard=grid,
                          folder=args.package_folder)
        if not args.package_folder:     # describe() reads the package's own manifest
            print(pretrained.describe(args.name))
        print("memorisation:", mem, "held-out SWD", result["swd"], "floor", round(held_floor, 1),
              "checkerboard", grid)
    if args.progress:
        progress_sheet(out / "run" / "samples", Path(args.progress), size)
    return 0


def progress_sheet(samples, path, size, n=6, rows=5):
    """A PNG of the first ``n`` samples of the run's fixed noise at ``rows`` steps spread over the run
    (from the grids ``GANTrainer.fit`` saved: 64 samples of ``size`` px, 8 per row, 1 px apart, scaled up
    by a whole factor); returns the steps."""
    import imageio.v3 as iio
    import numpy as np
    from ganutils import viz
    grids = sorted(samples.glob("step_*.png"))[1:]       # step 0 is the untrained generator
    if not grids:
        raise ValueError(f"no sample grids in {samples}")
    pick = [grids[i] for i in sorted({round(k * (len(grids) - 1) / max(rows - 1, 1)) for k in range(rows)})]
    crops = []
    for g in pick:
        picture = iio.imread(g)[..., :3]
        k = picture.shape[1] // (8 * (size + 1) + 1)
        picture = picture[::k, ::k]                     # undo the nearest-neighbour upscale
        crops += [picture[1:1 + size, 1 + q * (size + 1):1 + q * (size + 1) + size] for q in range(n)]
    iio.imwrite(path, viz.sample_sheet(np.stack(crops), ncols=n))
    steps = [int(g.stem.split("_")[1]) for g in pick]
    print(f"{path}: rows at steps {steps}")
    return steps


def _stoppable():
    """Ctrl-C's promise for a run started in the background too: a shell starts ``cmd &`` with SIGINT
    ignored, where ``kill -INT`` did nothing. In this script's own process (never in a reader's or a
    test's), SIGINT and SIGTERM raise KeyboardInterrupt, which ``GANTrainer.fit`` answers by saving."""
    import signal
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)


if __name__ == "__main__":
    _stoppable()
    sys.exit(main())
