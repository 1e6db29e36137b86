"""Upsampling without a checkerboard: a recipe's generator with each way of doubling its feature maps
(``models.build(..., upsample=...)``: the recipes' stride-2 transposed convolutions, resize-convolution,
sub-pixel convolution with ICNR), trained for the same CPU time over several seeds and scored.

    python bench/upsampling.py --data FOLDER --recipe anime64_modern      # real 64x64 anime faces
    python bench/upsampling.py --data FOLDER --recipe eyes128_modern --size 128 --flip
    python bench/upsampling.py --quick                                    # embedded anime set, tiny budget

Each run trains ``--budget`` training CPU-seconds (``ganutils.compare.compare_recipes``: runs are saved
in ``--out`` and reused when asked for again, so an interrupted comparison continues where it stopped).
Scored on a validation split the runs never train on: SWD x1e3 (``--eval-images`` samples against as many
validation images; the real-vs-real floor beside it), the checkerboard measure of ``--eval-images``
samples and of the validation images (``metrics.checkerboard``: about 1 without a grid) and the radial
spectrum's distance from real (``metrics.spectrum_ratio``: blur shows as high_power_ratio < 1). Grids of
each run's samples go to ``--out``: SWD is a weak judge of what a reader sees, so look at them.

The last line printed is JSON: the CPU, the settings, every run's numbers and each option's means.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default=None, help="folder of real images (default: the embedded anime set)")
    p.add_argument("--recipe", default="anime64_modern")
    p.add_argument("--size", type=int, default=64, help="image size in pixels (the recipe's)")
    p.add_argument("--options", default="transpose,resize,subpixel", help="upsample options to compare")
    p.add_argument("--budget", type=float, default=600.0, help="training CPU-seconds per run")
    p.add_argument("--seeds", type=int, default=2)
    p.add_argument("--width", type=float, default=0.5)
    p.add_argument("--precision", choices=("float32", "bfloat16"), default="bfloat16")
    p.add_argument("--flip", action="store_true", help="mirror training images at random")
    p.add_argument("--eval-images", type=int, default=512)
    p.add_argument("--out", default="outputs/bench/upsampling")
    p.add_argument("--quick", action="store_true", help="embedded anime set, width 0.125, 4 CPU-s per run")
    args = p.parse_args(argv)
    if args.quick:
        args.budget, args.seeds, args.width, args.eval_images = 4.0, 1, 0.125, 64

    import numpy as np
    from ganutils import compare, metrics, precision, viz
    from ganutils.data import load_images

    out = Path(args.out).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    images = load_images(args.data or "anime", args.size, num_images=None if args.data else 1500, seed=0)
    order = np.random.default_rng(0).permutation(len(images))
    val, train = images[order[:args.eval_images]], images[order[args.eval_images:]]
    options = [o.strip() for o in args.options.split(",") if o.strip()]
    variants = [(option, args.recipe, {"upsample": option}) for option in options]
    info = precision.cpu_info()
    model, bf16 = info.model or "unknown", list(info.bf16_flags or ())
    print(f"data: {'folder of ' if args.data else 'embedded '}{len(images)} images at {args.size} px: "
          f"{len(train)} train / {len(val)} validation; CPU: {model} ({', '.join(bf16) or 'no bf16 flags'})")
    c = compare.compare_recipes(variants, train, val, cpu_seconds=args.budget, seeds=range(args.seeds),
                                width=args.width, mixed_precision=args.precision == "bfloat16", out_dir=out,
                                flip=args.flip, n_samples=args.eval_images, probes=None, evals=0)
    real_board = metrics.checkerboard(val)
    rows = []
    for r in c.runs:
        fake = c.samples[(r["recipe"], r["seed"])]
        spectrum = metrics.spectrum_ratio(fake, val)
        row = {"upsample": r["recipe"], "seed": r["seed"], "steps": r["steps"], "cpu_s": r["cpu_s"],
               "swd": round(r["swd"], 1), "checkerboard": round(metrics.checkerboard(fake), 2),
               "high_power_ratio": round(spectrum["high_power_ratio"], 3),
               "mean_abs_log_ratio": round(spectrum["mean_abs_log_ratio"], 3)}
        viz.save_grid(fake[:64], out / f"{r['recipe']}-seed{r['seed']}.png")
        rows.append(row)
    print(f"\n{'upsample':<11}{'seed':>5}{'steps':>7}{'CPU-s':>7}{'SWD':>8}{'grid':>7}{'HF ratio':>10}"
          f"{'|log|':>7}")
    for row in rows:
        print(f"{row['upsample']:<11}{row['seed']:>5}{row['steps']:>7}{row['cpu_s']:>7.0f}{row['swd']:>8.1f}"
              f"{row['checkerboard']:>7.2f}{row['high_power_ratio']:>10.3f}{row['mean_abs_log_ratio']:>7.3f}")
    print(f"{'real (validation)':<30}{c.floor:>8.1f}{real_board:>7.2f}{1.0:>10.3f}{0.0:>7.3f}   "
          f"(SWD: the real-vs-real floor)")
    means = {}
    for option in options:
        mine = [row for row in rows if row["upsample"] == option]
        means[option] = {k: round(float(np.mean([row[k] for row in mine])), 3)
                         for k in ("swd", "checkerboard", "high_power_ratio", "mean_abs_log_ratio", "steps")}
    result = {"cpu": model, "bf16_flags": bf16, "recipe": args.recipe, "budget_cpu_s": args.budget,
              "width": args.width, "precision": args.precision, "data": "folder" if args.data else "embedded",
              "train": len(train), "validation": len(val), "floor_swd": round(c.floor, 1),
              "checkerboard_real": round(real_board, 2), "runs": rows, "means": means}
    (out / "results.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
