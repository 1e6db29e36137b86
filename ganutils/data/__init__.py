"""Data for the course: embedded procedural face datasets, a tf.data image
pipeline for real photos (folders, globs, zips), named real datasets downloaded
on first use (``"celeba"``, ``"anime-faces"``), and a safe download helper.

- ``synthetic(kind, n, size=None, seed=0) -> (images, factors)``
- ``image_dataset(source, image_size, batch_size, ...) -> tf.data.Dataset``
- ``download(url, sha256=None, ...) -> pathlib.Path``
- ``check_range(images, where=...)``: uint8 0..255 or floats in [-1, 1], checked with a clear message
- ``SOURCES``: the named real datasets (``ganutils.data.sources``: terms, citation, URLs, checksums)
"""

from .procedural import KINDS, DEFAULT_SIZE, FACTORS, synthetic
from .files import image_dataset, load_images, list_images
from .fetch import download, extract
from .sources import SOURCES
from .checks import check_range, ImageRangeWarning

__all__ = [
    "KINDS", "DEFAULT_SIZE", "FACTORS", "synthetic",
    "image_dataset", "load_images", "list_images",
    "download", "extract", "SOURCES", "check_range", "ImageRangeWarning",
]
