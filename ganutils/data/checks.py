"""One check of an image batch's value range, shared by every entry point that takes images.

The course's models see float images in [-1, 1] (the generator ends in tanh); photos on disk are uint8
in 0..255; other tools hand over floats in 0..255 (``keras.utils.image_dataset_from_directory``) or in
[0, 1] (``tf.image.convert_image_dtype``). A wrong range trains or scores silently on the wrong numbers,
so each entry point (the trainer, the metrics, the pictures, the pretrained scoring) checks its first
batch with :func:`check_range` and never guesses.
"""

from __future__ import annotations

import warnings

import numpy as np

#: Floats may overshoot [-1, 1] a little (resampling, augmentation); past this they are refused.
TOLERANCE = 1.05


class ImageRangeWarning(UserWarning):
    """A float batch had no negative value: it is probably in [0, 1], not [-1, 1]."""


def check_range(images, *, where, allow_uint8=True):
    """Check that ``images`` are uint8 (0..255) or floats in [-1, 1]; return ``(low, high)`` seen.

    ``images``: a numpy array or tensor of any shape (``[B, H, W, C]`` usually); ``where``: what takes
    them, named in the messages (e.g. ``"GANTrainer.fit's dataset"``); ``allow_uint8=False`` refuses
    uint8 where only floats make sense.

    Raises ``ValueError`` for floats outside [-1.05, 1.05] (naming the range seen and the conversion to
    use), for uint8 when not allowed, for non-numeric or empty input and for NaN or inf. Warns with
    :class:`ImageRangeWarning` when a float batch has no negative value (probably [0, 1] data: use
    ``x * 2 - 1``). uint8 always means 0..255.
    """
    x = images.numpy() if hasattr(images, "numpy") else np.asarray(images)
    if x.dtype == np.uint8:
        if not allow_uint8:
            raise ValueError(f"{where} takes float images in [-1, 1], got uint8 (0..255): convert them "
                             "with images / 127.5 - 1")
        return (int(x.min()), int(x.max())) if x.size else (0, 0)
    if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
        raise ValueError(f"{where} takes images as numbers (uint8 0..255 or floats in [-1, 1]), got dtype "
                         f"{x.dtype}")
    if x.size == 0:
        raise ValueError(f"{where} got an empty batch of images (shape {x.shape})")
    x = x.astype(np.float32, copy=False)
    if not np.isfinite(x).all():
        raise ValueError(f"{where} got images with NaN or inf values")
    low, high = float(x.min()), float(x.max())
    if low < -TOLERANCE or high > TOLERANCE:
        hint = ("they look like 0..255 floats (keras.utils.image_dataset_from_directory gives those): "
                "use images / 127.5 - 1" if high > 2 and low >= 0
                else "scale them into [-1, 1]")
        raise ValueError(f"{where} takes float images in [-1, 1]; this batch ranges over "
                         f"[{low:.4g}, {high:.4g}]: {hint}")
    if low >= 0:
        warnings.warn(f"{where}: this float batch has no negative value (range [{low:.3g}, {high:.3g}]); "
                      "images should be in [-1, 1]. If they are in [0, 1], use images * 2 - 1",
                      ImageRangeWarning, stacklevel=3)
    return low, high
