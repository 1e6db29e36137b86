"""What every metric shares: the image converter and the checks on a pair of image sets.

The metrics take the reader's images (real, training, held-out) and a generator's samples. Both are
converted by ``to_uint8`` (uint8 0..255 as is; floats in [-1, 1], refused outside [-1.05, 1.05] naming the
range seen), but only the reader's images warn when a float set has no negative value (probably [0, 1]
data): a collapsed generator's samples may all be bright, and that is what the metric should measure.
"""

from __future__ import annotations

from ..viz import to_uint8  # the one converter, shared with the pictures

__all__ = ["to_uint8"]


def _real(images, where):
    """The reader's images (real, training, held-out) as uint8, warning for a float set with no negative
    value."""
    return to_uint8(images, warn_positive=True, where=where)


def _fake(images, where):
    """A generator's samples as uint8 (no warning for all-bright samples)."""
    return to_uint8(images, warn_positive=False, where=where)


def _pair(real, fake, min_images, what):
    real, fake = _real(real, f"{what}'s real images"), _fake(fake, f"{what}'s fake images")
    if real.shape[1:] != fake.shape[1:]:
        raise ValueError(f"{what}: real and fake images must have the same size, "
                         f"got {real.shape[1:3]} and {fake.shape[1:3]}")
    for name, a in (("real", real), ("fake", fake)):
        if len(a) < min_images:
            raise ValueError(f"{what}: needs at least {min_images} {name} images, got {len(a)}")
    return real, fake
