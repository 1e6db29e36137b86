"""Time to quality: how many training CPU-seconds the 64x64 anime recipe needs to reach a sample quality,
against the best modern recipe on the same generator and discriminator shapes.

    python bench/time_to_quality.py --data FOLDER     # a folder of real 64x64 anime faces
    python bench/time_to_quality.py --quick           # embedded anime set, tiny budget (CI)
    python bench/time_to_quality.py --data FOLDER --recipes anime64_wgan_gp --steps 400
                                                      # equal generator steps instead of equal time

Each recipe trains for the same budget of training CPU-seconds (process CPU time of the training steps,
all threads; evaluation excluded), in float32 and in bfloat16 mixed precision (float16 on a GPU), for
several seeds. Every ``budget / evals`` CPU-seconds the run is scored: SWD x1e3 between ``--eval-images``
generated images (the EMA generator where there is one, its BatchNorm statistics re-estimated) and
real images of the *validation* split (used to pick recipes) and of a separate *held-out* split
(reported). The target is the seed recipe's mean final validation SWD in float32; a run reaches it when
two consecutive evaluations are below it, and its time is the CPU time of the second of them.

Printed: a table per run, the real-vs-real floor on each split, and a last line of JSON with
``speedup_to_seed_quality`` (CPU-seconds of the float32 seed recipe / CPU-seconds of the best recipe in
its best precision) and ``speedup_same_precision`` (float32 against float32). Grids of each run's final
samples are saved in ``--out`` beside ``results.json``: SWD is a weak judge of what a reader sees, so
look at them too.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def _split(images, n_eval, seed):
    import numpy as np
    order = np.random.default_rng(seed).permutation(len(images))
    val, test = order[:n_eval], order[n_eval:2 * n_eval]
    return images[order[2 * n_eval:]], images[val], images[test]


def _reach(curve, target):
    """CPU-seconds at the second of the first two consecutive evaluations below ``target``."""
    for (t0, v0), (t1, v1) in zip(curve, curve[1:]):
        if v0 < target and v1 < target:
            return t1
    return None


def parse_recipe(spec):
    """``"name"`` or ``"name:key=value;key=value"`` (values are Python literals) -> (name, overrides)."""
    import ast
    name, _, rest = spec.partition(":")
    overrides = {}
    for item in filter(None, rest.split(";")):
        key, _, value = item.partition("=")
        try:
            overrides[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            overrides[key.strip()] = value.strip()
    return name, overrides


def train_one(recipe, precision, seed, train, val, test, args, out):
    """One run: returns its curve [[cpu_s, swd_val, swd_test], ...] and final numbers."""
    import numpy as np
    from ganutils import metrics, viz
    from ganutils.compare import train_for
    from ganutils.data import image_dataset
    from ganutils.train import GANTrainer

    name, overrides = parse_recipe(recipe)
    trainer = GANTrainer.from_recipe(name, width=args.width, seed=seed,
                                     mixed_precision=(precision == "bfloat16"), **overrides)
    batch = trainer.recipe["batch_size"]
    ds = image_dataset(train, 64, batch, seed=seed)
    z_eval = trainer.noise(-3, args.eval_images, stream=13)

    def sample():
        return np.concatenate([trainer.sample(z_eval[i:i + 256]) for i in range(0, len(z_eval), 256)])

    def score():
        fake = sample()
        return metrics.swd(val, fake, seed=seed), metrics.swd(test, fake, seed=seed)

    # the budget: training CPU-seconds, or (with --steps) generator steps
    done = train_for(trainer, ds, evals=args.evals, score=score,
                     **({"steps": args.steps} if args.steps else {"cpu_seconds": args.budget}))
    curve, cpu, steps = done["curve"], done["cpu_s"], done["steps"]
    if not curve:   # stopped (a non-finite loss) before the first evaluation
        curve = [[cpu, *(round(float(v), 2) for v in score())]]
    fake = sample()
    sv, st = curve[-1][1], curve[-1][2]
    name = "".join(c if c.isalnum() or c in "_-" else "_" for c in f"{recipe}_{precision}_seed{seed}")
    viz.save_grid(fake[:64], out / f"{name}.png")
    return {"recipe": recipe, "precision": precision, "seed": seed, "steps": steps,
            "cpu_s": round(cpu, 1), "cpu_s_per_step": round(cpu / max(steps, 1), 3),
            "final_swd_val": sv, "final_swd_test": st, "curve": curve, "grid": f"{name}.png"}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default=None, help="folder of real 64x64 anime faces (default: embedded set)")
    p.add_argument("--quick", action="store_true", help="embedded data, width 0.125, 8 CPU-s per run")
    p.add_argument("--budget", type=float, default=300.0, help="training CPU-seconds per run")
    p.add_argument("--steps", type=int, default=0,
                   help="budget in generator steps instead of CPU-seconds (equal steps, not equal time)")
    p.add_argument("--evals", type=int, default=10, help="evaluations per run")
    p.add_argument("--width", type=float, default=0.25)
    p.add_argument("--seeds", type=int, default=2)
    p.add_argument("--eval-images", type=int, default=512)
    p.add_argument("--num-images", type=int, default=10_000, help="embedded data: images to draw")
    p.add_argument("--seed-recipe", default="anime64")
    p.add_argument("--recipes", nargs="+", default=["anime64_modern"],
                   help="modern recipes to try: names, or 'name:key=value;...' with recipe overrides "
                        "(Python literals), e.g. anime64_modern:loss='hinge';d_norm='none'")
    p.add_argument("--precisions", default="float32,bfloat16")
    p.add_argument("--out", default="outputs/bench/time_to_quality")
    args = p.parse_args(argv)
    if args.quick:
        args.budget, args.evals, args.width, args.seeds = 8.0, 3, 0.125, 1
        args.eval_images, args.num_images = 128, 1200
    from ganutils.data import load_images
    from ganutils import metrics

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    source = args.data or "anime"
    images = load_images(source, 64, num_images=None if args.data else args.num_images, seed=0)
    train, val, test = _split(images, args.eval_images, seed=0)
    floor_val = metrics.swd(val, train[:len(val)])
    floor_test = metrics.swd(test, train[:len(test)])
    print(f"data: {'folder of ' if args.data else 'embedded '}{len(images)} images "
          f"({len(train)} train, {len(val)} validation, {len(test)} held out); real-vs-real SWD x1e3: "
          f"validation {floor_val:.1f}, held out {floor_test:.1f}", flush=True)
    recipes = [args.seed_recipe] + list(args.recipes)
    precisions = [x for x in args.precisions.split(",") if x]
    runs = []
    for recipe in recipes:
        for precision in precisions:
            for seed in range(args.seeds):
                t0 = time.perf_counter()
                r = train_one(recipe, precision, seed, train, val, test, args, out)
                r["wall_s"] = round(time.perf_counter() - t0, 1)
                runs.append(r)
                print(f"{recipe:>20} {precision:>8} seed {seed}: {r['steps']:>5} steps in {r['cpu_s']:.0f} "
                      f"CPU-s ({r['cpu_s_per_step']:.3f}/step), final SWD val {r['final_swd_val']:.1f} "
                      f"held-out {r['final_swd_test']:.1f}", flush=True)

    def group(recipe, precision):
        return [r for r in runs if r["recipe"] == recipe and r["precision"] == precision]

    base_precision = "float32" if "float32" in precisions else precisions[0]
    seed_base = group(args.seed_recipe, base_precision)
    target = sum(r["final_swd_val"] for r in seed_base) / len(seed_base)

    def time_to_target(recipe, precision):
        times = []
        for r in group(recipe, precision):
            t = _reach([[c, v] for c, v, _ in r["curve"]], target)
            if t is None and recipe == args.seed_recipe and precision == base_precision:
                t = r["cpu_s"]            # the target is where this recipe ends, by definition
            times.append(t)
        return None if any(t is None for t in times) else sum(times) / len(times)

    summary = {}
    for recipe in recipes:
        for precision in precisions:
            rs = group(recipe, precision)
            summary[f"{recipe}/{precision}"] = {
                "cpu_s_to_target": time_to_target(recipe, precision),
                "final_swd_val": round(sum(r["final_swd_val"] for r in rs) / len(rs), 2),
                "final_swd_test": round(sum(r["final_swd_test"] for r in rs) / len(rs), 2),
                "steps": [r["steps"] for r in rs]}
    print(f"\ntarget: the seed recipe's final validation SWD in {base_precision}, {target:.1f}")
    print(f"{'recipe/precision':>32} {'CPU-s to target':>16} {'final SWD val':>14} {'held out':>9}")
    for key, s in summary.items():
        t = "not reached" if s["cpu_s_to_target"] is None else f"{s['cpu_s_to_target']:.0f}"
        print(f"{key:>32} {t:>16} {s['final_swd_val']:>14.1f} {s['final_swd_test']:>9.1f}")

    base = summary[f"{args.seed_recipe}/{base_precision}"]["cpu_s_to_target"]
    modern = [r for r in recipes if r != args.seed_recipe]

    def best_time(recipe, precs):
        ts = [summary[f"{recipe}/{p}"]["cpu_s_to_target"] for p in precs if f"{recipe}/{p}" in summary]
        ts = [t for t in ts if t is not None]
        return min(ts) if ts else None

    best = min(modern, key=lambda r: (best_time(r, precisions) is None, best_time(r, precisions) or 0,
                                      summary[f"{r}/{precisions[0]}"]["final_swd_val"])) if modern else None
    t_best = best_time(best, precisions) if best else None
    t_best32 = best_time(best, [base_precision]) if best else None
    result = {
        "data": "folder" if args.data else "embedded anime", "images": len(images),
        "budget_cpu_s": None if args.steps else args.budget, "budget_steps": args.steps or None,
        "width": args.width, "seeds": args.seeds,
        "target_swd": round(target, 2), "floor_swd_val": round(floor_val, 2),
        "floor_swd_test": round(floor_test, 2), "best_recipe": best,
        "speedup_to_seed_quality": None if not (base and t_best) else round(base / t_best, 2),
        "speedup_same_precision": None if not (base and t_best32) else round(base / t_best32, 2),
        "summary": summary,
    }
    (out / "results.json").write_text(json.dumps({"result": result, "runs": runs}, indent=1))
    print(f"grids and results.json in {out}")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    from ganutils.run import quiet_tensorflow
    quiet_tensorflow()   # TensorFlow's C++ start-up lines stay off this process's terminal
    main()
