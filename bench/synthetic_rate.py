"""Images per second of the embedded procedural datasets, per kind and size.

Run ``python bench/synthetic_rate.py``; ``measure(kind, size, n)`` is importable for
the overall benchmark. The target is >= 1,000 images/s at 64 px on 2 cores.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from ganutils.data.procedural import KINDS, synthetic  # noqa: E402


def measure(kind, size, n=1024, repeats=3):
    """Best images/s over ``repeats`` runs of ``synthetic(kind, n, size)`` (after a warm-up)."""
    synthetic(kind, min(n, 64), size, seed=1)
    best = 0.0
    for r in range(repeats):
        t = time.perf_counter()
        synthetic(kind, n, size, seed=r)
        best = max(best, n / (time.perf_counter() - t))
    return best


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1024, help="images per run (default 1024)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[28, 64, 128])
    ap.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    args = ap.parse_args(argv)
    print(f"{'kind':<8}" + "".join(f"{s:>10} px" for s in args.sizes) + "   (images/s, best of 3)")
    for kind in args.kinds:
        row = [measure(kind, s, args.n if s <= 64 else max(64, args.n // 4)) for s in args.sizes]
        print(f"{kind:<8}" + "".join(f"{r:>13,.0f}" for r in row), flush=True)


if __name__ == "__main__":
    main()
