"""One check of an image batch's value range, shared by every entry point that takes images.

The course's models see float images in [-1, 1] (the generator ends in tanh); photos on disk are uint8
in 0..255; other tools hand over floats in 0..255 (``keras.utils.image_dataset_from_directory``) or in
[0, 1] (``tf.image.convert_image_dtype``). A wrong range trains or scores silently on the wrong numbers,
so each entry point (the trainer, the metrics, the pictures, the comparison's held-out images) checks its
images with :func:`check_range` and never guesses: ``ganutils.viz.to_uint8``, the converter of the
metrics and the pictures, calls it too, so there is one rule and one message.
"""

from __future__ import annotations

import os
import sys
import warnings

import numpy as np

#: Floats may overshoot [-1, 1] a little (resampling, augmentation); past this they are refused.
TOLERANCE = 1.05

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the ganutils folder


class ImageRangeWarning(UserWarning):
    """A float batch of the reader's images had no negative value: probably [0, 1], not [-1, 1]."""


def user_stacklevel():
    """The ``stacklevel`` for ``warnings.warn`` that names the first line outside ``ganutils``: the
    reader's line, however deep in the package the warning is raised (2, the caller, when the whole
    stack is inside the package, e.g. in a worker thread)."""
    frame, level = sys._getframe(1), 1   # the frame of the function that calls warnings.warn
    while frame is not None:
        if not os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE + os.sep):
            return level
        frame, level = frame.f_back, level + 1
    return 2


def _as_numpy(images):
    x = images.numpy() if hasattr(images, "numpy") and not isinstance(images, np.ndarray) else images
    x = np.asarray(x)
    if x.dtype.name == "bfloat16" or x.dtype.name.startswith("float8"):  # ml_dtypes: not np.floating
        x = x.astype(np.float32)
    return x


def check_range(images, *, where, allow_uint8=True, warn_positive=True):
    """Check that ``images`` are uint8 (0..255) or floats in [-1, 1]; return ``(low, high)`` seen.

    ``images``: a numpy array or tensor of any shape (``[B, H, W, C]`` usually); uint8, or float16, bfloat16,
    float32 or float64. ``where``: what takes them, named in the messages (e.g. ``"GANTrainer.fit's
    dataset"``); ``allow_uint8=False`` refuses uint8 where only floats make sense; ``warn_positive=False``
    for images a generator drew (a collapsed generator's samples may all be bright: not a wrong range).

    Raises ``ValueError`` for floats outside [-1.05, 1.05] (naming the range seen and the conversion to
    use; a little overshoot from resampling is let through), for uint8 when not allowed, for other integer
    types (int32 pixel values could mean either range: pass uint8), for non-numeric or empty input and
    for NaN or inf. Warns with :class:`ImageRangeWarning` when a float batch has no negative value
    (probably [0, 1] data: use ``x * 2 - 1``), unless ``warn_positive=False``; the warning names the
    reader's line that passed the images. uint8 always means 0..255.
    """
    x = _as_numpy(images)
    if x.dtype == np.uint8:
        if not allow_uint8:
            raise ValueError(f"{where} takes float images in [-1, 1], got uint8 (0..255): convert them "
                             "with images / 127.5 - 1")
        return (int(x.min()), int(x.max())) if x.size else (0, 0)
    if x.dtype.kind in "iub":
        raise ValueError(f"{where} takes images as uint8 (0..255) or floats in [-1, 1], got dtype {x.dtype}, "
                         "whose range is ambiguous: for 0..255 values pass images.astype(np.uint8)")
    if x.dtype.kind != "f":
        raise ValueError(f"{where} takes images as numbers (uint8 0..255 or floats in [-1, 1]), got dtype "
                         f"{x.dtype}")
    if x.size == 0:
        raise ValueError(f"{where} got an empty batch of images (shape {x.shape})")
    low, high = float(np.min(x)), float(np.max(x))
    if not (np.isfinite(low) and np.isfinite(high)):
        raise ValueError(f"{where} got images with NaN or inf values")
    if low < -TOLERANCE or high > TOLERANCE:
        if high > 2 and low >= 0:
            hint = ("they look like 0..255 floats (keras.utils.image_dataset_from_directory gives those): "
                    "use images / 127.5 - 1, or pass uint8 (np.round(images).astype(np.uint8))")
        else:
            hint = "scale them into [-1, 1] (from [lo, hi]: (images - lo) / (hi - lo) * 2 - 1)"
        raise ValueError(f"{where} takes float images in [-1, 1]; this batch ranges over "
                         f"[{low:.4g}, {high:.4g}]: {hint}")
    if warn_positive and low >= 0:
        warnings.warn(f"{where}: this float batch has no negative value (range [{low:.3g}, {high:.3g}]); "
                      "images should be in [-1, 1]. If they are in [0, 1], use images * 2 - 1",
                      ImageRangeWarning, stacklevel=user_stacklevel())
    return low, high
