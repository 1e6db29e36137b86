"""Train the 64x64 anime DCGAN (seed 004) on the embedded anime set and print how the
sliced Wasserstein distance to real images falls over training.

    python bench/swd_curve.py [--steps 200] [--every 20]

A check that the whole engine learns: data pipeline, train step, metric hook. The
figures are SWD x 1e3 between 512 generated and 512 held-out real images.
"""

import argparse
import json
import time


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--every", type=int, default=20)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--out", default=None, help="keep the run's grids, GIF and curves here")
    args = p.parse_args(argv)

    from ganutils import models
    from ganutils.data import image_dataset, synthetic
    from ganutils.metrics import make_metric
    from ganutils.train import GANTrainer

    recipe = models.RECIPES["anime64"]
    real, _ = synthetic("anime", 512, 64, seed=12345)  # held out: another seed than training
    g, d = models.build("anime64", seed=0)
    trainer = GANTrainer(g, d, labels=recipe["labels"], g_optimizer=recipe["g_optimizer"],
                         d_optimizer=recipe["d_optimizer"], out_dir=args.out, seed=0)
    metric = make_metric("swd", real)
    t0 = time.perf_counter()
    first = metric(trainer.sample(trainer.noise(-2, 512, stream=11)))  # before any training
    history = trainer.fit(image_dataset("anime", 64, args.batch, seed=0), args.steps,
                          metrics={"swd": metric}, metric_every=args.every, metric_samples=512,
                          progress=False)
    curve = [[0, first]] + history["swd"]
    print(f"{'step':>6} {'SWD x1e3':>10}")
    for step, value in curve:
        print(f"{step:>6} {value:>10.2f}")
    print(f"trained {args.steps} steps at batch {args.batch} in {time.perf_counter() - t0:.0f} s")
    print(json.dumps({"swd_curve": [[s, round(v, 3)] for s, v in curve],
                      "falls": curve[-1][1] < curve[0][1]}))


if __name__ == "__main__":
    from ganutils.run import quiet_tensorflow
    quiet_tensorflow()   # TensorFlow's C++ start-up lines stay off this process's terminal
    main()
