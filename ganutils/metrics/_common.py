"""What every metric shares: the image converter and the checks on a pair of image sets."""

from __future__ import annotations

from ..viz import to_uint8  # the one converter, shared with the pictures

__all__ = ["to_uint8"]


def _pair(real, fake, min_images, what):
    real, fake = to_uint8(real), to_uint8(fake)
    if real.shape[1:] != fake.shape[1:]:
        raise ValueError(f"{what}: real and fake images must have the same size, "
                         f"got {real.shape[1:3]} and {fake.shape[1:3]}")
    for name, a in (("real", real), ("fake", fake)):
        if len(a) < min_images:
            raise ValueError(f"{what}: needs at least {min_images} {name} images, got {len(a)}")
    return real, fake
