"""Input pipeline benchmark: seed 004's per-batch loader vs ``ganutils.data.image_dataset``.

    python bench/input_pipeline.py [--quick] [--folder DIR]

Writes a folder of CelebA-like JPEGs (178×218, quality 90, upscaled procedural faces) unless ``--folder`` is
given, then measures images/s of
  1. seed 004's ``sample_from_dataset`` (copied as published: it globs the folder on every call, opens each
     file with PIL, resizes the full image, converts to RGB and normalises with numpy);
  2. ``image_dataset(folder, 64, 64)`` in steady state (batches after the first pass; also with
     ``flip=True``), and
  3. the one-off decoding pass of ``load_images`` (all files, in parallel).
The key figure is ``input_speedup_vs_seed`` = (2) ÷ (1), measured in the same run.
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


# ---- seed 004, verbatim (norm_img inlined as in the seed's helper) -----------------------------------------
def norm_img(img):
    img = (img / 127.5) - 1
    return img


def sample_from_dataset(batch_size, image_shape, data_dir=None):
    sample_dim = (batch_size,) + image_shape
    sample = np.empty(sample_dim, dtype=np.float32)
    all_data_dirlist = list(glob.glob(data_dir))
    sample_imgs_paths = np.random.choice(all_data_dirlist, batch_size)
    for index, img_filename in enumerate(sample_imgs_paths):
        image = Image.open(img_filename)
        image = image.resize(image_shape[:-1])
        image = image.convert('RGB')
        image = np.asarray(image)
        image = norm_img(image)
        sample[index, ...] = image
    return sample
# -------------------------------------------------------------------------------------------------------------


def write_celeba_like(folder, n_files, seed=0):
    """Write ``n_files`` 178×218 JPEGs (quality 90): procedural faces upscaled, like aligned CelebA crops."""
    from ganutils.data import synthetic

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    done = 0
    while done < n_files:
        k = min(500, n_files - done)
        faces, _ = synthetic("faces", k, 64, seed + done)
        for i, face in enumerate(faces):
            canvas = Image.new("RGB", (178, 218), tuple(int(v) for v in face[0, 0]))
            canvas.paste(Image.fromarray(face).resize((178, 178), Image.Resampling.BICUBIC), (0, 20))
            canvas.save(folder / f"{done + i + 1:06d}.jpg", quality=90)
        done += k
    return folder


def _rate(fn, images_per_call, min_calls, min_seconds):
    calls, start = 0, time.perf_counter()
    while calls < min_calls or time.perf_counter() - start < min_seconds:
        fn()
        calls += 1
    return calls * images_per_call / (time.perf_counter() - start)


def measure(folder=None, n_files=3000, image_size=64, batch_size=64, batches=200, seed_batches=20,
            verbose=True) -> dict:
    """Images/s of the seed's loader, of ``image_dataset`` in steady state and of the decoding pass."""
    import tensorflow as tf  # noqa: F401 - imported before timing: its start-up is not the pipeline's cost

    from ganutils.data import image_dataset, load_images

    tmp = None
    if folder is None:
        tmp = tempfile.TemporaryDirectory(prefix="ganbook-bench-")
        folder = write_celeba_like(Path(tmp.name) / "celeba_like", n_files)
    folder = Path(folder)
    try:
        n = len(list(folder.glob("*.jpg")))
        shape = (image_size, image_size, 3)
        pattern = str(folder / "*.jpg")
        sample_from_dataset(batch_size, shape, pattern)  # warm the page cache as the others will be
        seed_rate = _rate(lambda: sample_from_dataset(batch_size, shape, pattern), batch_size, seed_batches, 2.0)

        start = time.perf_counter()
        load_images(folder, image_size)
        decode_rate = n / (time.perf_counter() - start)

        def steady(flip):
            start = time.perf_counter()
            it = iter(image_dataset(folder, image_size, batch_size, flip=flip))
            next(it)
            first = time.perf_counter() - start
            for _ in range(max(1, n // batch_size)):  # finish the first pass
                next(it)
            return _rate(lambda: next(it), batch_size, batches, 2.0), first

        steady_rate, first_batch_s = steady(False)
        flip_rate, _ = steady(True)
    finally:
        if tmp is not None:
            tmp.cleanup()

    result = {
        "files": n, "image_size": image_size, "batch_size": batch_size, "cpu_count": os.cpu_count(),
        "seed_images_per_s": seed_rate,
        "image_dataset_images_per_s": steady_rate,
        "image_dataset_flip_images_per_s": flip_rate,
        "load_images_decode_images_per_s": decode_rate,
        "image_dataset_first_batch_s": first_batch_s,
        "input_speedup_vs_seed": steady_rate / seed_rate,
        "decode_pass_speedup_vs_seed": decode_rate / seed_rate,
    }
    if verbose:
        print(f"{n} CelebA-like JPEGs (178x218) -> {image_size}x{image_size}, batch {batch_size}, "
              f"{os.cpu_count()} CPU cores")
        print(f"{'pipeline':<44}{'images/s':>12}{'vs seed':>10}")
        rows = [("seed 004 sample_from_dataset (per batch)", seed_rate),
                ("load_images, decoding pass (once)", decode_rate),
                ("image_dataset, steady state", steady_rate),
                ("image_dataset(flip=True), steady state", flip_rate)]
        for label, rate in rows:
            print(f"{label:<44}{rate:>12,.0f}{rate / seed_rate:>9.1f}x")
        print(f"image_dataset: first batch after {first_batch_s:.2f} s (includes decoding every file)")
        print(f"input_speedup_vs_seed = {result['input_speedup_vs_seed']:.1f}")
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer files and batches (about half a minute)")
    parser.add_argument("--folder", help="a folder of .jpg files to use instead of generated ones")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args(argv)
    kwargs = dict(n_files=800, batches=50, seed_batches=8) if args.quick else {}
    measure(args.folder, image_size=args.image_size, batch_size=args.batch_size, **kwargs)


if __name__ == "__main__":
    from ganutils.run import quiet_tensorflow
    quiet_tensorflow()   # TensorFlow's C++ start-up lines stay off this process's terminal
    main()
