"""Real photos as training data: list, decode once, and serve them with tf.data.

The seeds read images from disk inside the training loop (seed 004 globs the
folder and opens every file on every batch). Here each image is decoded once,
in parallel, into one uint8 array (optionally cached as a ``.npy`` file), and
``image_dataset`` serves shuffled, optionally flipped batches from that array
with a small, checkpointable ``tf.data`` pipeline.

Sources accepted everywhere: an embedded kind name (``"faces"``, ...), a named
real dataset (``"celeba"``, ``"anime-faces"``: its archive is downloaded into the
cache on first use, see :mod:`ganutils.data.sources`), a folder (searched
recursively), a glob pattern, a ``.zip`` archive (members are read directly, never
extracted), and for ``image_dataset`` a uint8 array.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import math
import os
import threading
import warnings
import zipfile
from concurrent.futures import ThreadPoolExecutor
from io import BytesIO
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, features

from .._atomic import replacing, write_json

__all__ = ["list_images", "load_images", "image_dataset", "SkippedImagesWarning", "SkippedLinksWarning",
           "IMAGE_EXTENSIONS", "CROPS"]

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif") + ((".webp",) if features.check("webp") else ())
CROPS = ("center", "celeba", "none")
ZIP_SEP = "::"  # "archive.zip::member/name.jpg" names one image inside a zip
_PROGRESS_ABOVE = 2000  # show a progress bar when decoding more files than this
_LIST_IN_WARNING = 10
_CACHE_VERSION = 1
_GLOB_CHARS = set("*?[")
_ALIGN = 64  # bytes; TensorFlow's CPU kernels assume this alignment
_EXIF_ORIENTATION = 0x0112
_TRANSPOSE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
              4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270,
              7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_90}  # as PIL.ImageOps.exif_transpose


class SkippedImagesWarning(UserWarning):
    """Some files could not be decoded and were left out; ``.skipped`` lists (path, reason)."""

    def __init__(self, message, skipped=()):
        super().__init__(message)
        self.skipped = list(skipped)


class SkippedLinksWarning(SkippedImagesWarning):
    """Symbolic links that lead back to folders or images listed already (a link to a parent folder makes a
    loop) were not followed, so each image is listed once; ``.skipped`` lists (link, reason)."""


# --------------------------------------------------------------------------- listing

def _kinds():
    from .procedural import KINDS
    return tuple(KINDS)


def _source_names():
    from .sources import NAMES
    return NAMES


def _is_image_name(name):
    return name.lower().endswith(IMAGE_EXTENSIONS)


def _is_junk(parts):
    """Hidden files/folders and macOS resource forks (``__MACOSX``, ``._x.jpg``) are not images."""
    return any(p.startswith(".") or p == "__MACOSX" for p in parts if p not in ("", ".", ".."))


def _ext_text():
    return ", ".join(IMAGE_EXTENSIONS)


def _looks_like_kind(source):
    return isinstance(source, str) and not any(c in source for c in "/\\") and not (_GLOB_CHARS & set(source)) \
        and not Path(source).suffix and not os.path.exists(source)


def _list_zip(path):
    try:
        with zipfile.ZipFile(path) as zf:
            names = [i.filename for i in zf.infolist()
                     if not i.is_dir() and _is_image_name(i.filename) and not _is_junk(i.filename.split("/"))]
    except zipfile.BadZipFile as e:
        raise ValueError(f"{path} is not a readable .zip archive ({e})") from None
    if not names:
        raise ValueError(f"the zip archive {path} contains no images (looked for {_ext_text()})")
    return [f"{path}{ZIP_SEP}{n}" for n in sorted(names)]


def _walk(top, skipped, descend=None):
    """Yield ``(folder, parts, file names)`` (``parts``: the folder's path below ``top`` as a tuple of names)
    for ``top`` and the folders below it, in name order, depth first, each real folder
    and file once: symbolic links to folders are followed unless they lead to a folder visited already or to
    one that holds the folder being listed (a link back to a parent folder, even above ``top``, would
    otherwise be walked again and again, ~40 levels deep, until the system's limit on links in a path, and
    two such links make it 2^40 folders), and a link to a file listed already is left out. Each link left
    out is appended to ``skipped`` as ``(path, reason)``; folders that cannot be read, too. Hidden entries
    and ``__MACOSX`` are not walked; ``descend(parts)``, given a folder's path below ``top`` as a tuple of
    names, says whether to walk it (default: always)."""
    top = os.fspath(top)
    seen_dirs, seen_files = {os.path.realpath(top): top}, {}
    stack = [(top, (), os.path.realpath(top))]
    while stack:
        folder, rel, here = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as e:
            skipped.append((folder, f"could not be read: {e.strerror or e}"))
            continue
        files, below = [], []
        for entry in entries:
            if _is_junk([entry.name]):
                continue
            try:
                is_dir, is_file = entry.is_dir(), entry.is_file()  # both follow a link to its target
            except OSError:
                continue
            if is_dir:
                if descend is not None and not descend(rel + (entry.name,)):
                    continue
                real = os.path.realpath(entry.path)
                if real == here or here.startswith(real.rstrip(os.sep) + os.sep):  # a parent, above top too
                    skipped.append((entry.path, f"a link to {real}, a folder it is in: a loop"))
                elif real in seen_dirs:
                    skipped.append((entry.path, f"a link to {real}, listed already as {seen_dirs[real]}"))
                else:
                    seen_dirs[real] = entry.path
                    below.append((entry.path, rel + (entry.name,), real))
            elif is_file:
                real = os.path.realpath(entry.path)
                if real in seen_files:
                    skipped.append((entry.path, f"a link to {seen_files[real]}, listed already"))
                else:
                    seen_files[real] = entry.path
                    files.append(entry.name)
        yield folder, rel, files
        stack.extend(reversed(below))  # depth first, in name order


def _warn_links(skipped):
    """One :class:`SkippedLinksWarning` naming the links (and unreadable folders) a listing left out,
    attributed to the reader's line."""
    from .checks import user_stacklevel
    if not skipped:
        return
    shown = "; ".join(f"{path} ({why})" for path, why in skipped[:_LIST_IN_WARNING])
    more = f"; and {len(skipped) - _LIST_IN_WARNING} more" if len(skipped) > _LIST_IN_WARNING else ""
    warnings.warn(SkippedLinksWarning(
        f"left out {len(skipped)} symbolic links or folders, so that each image is listed once: "
        f"{shown}{more}", skipped), stacklevel=user_stacklevel())


def _matches(pattern, parts, prefix=False):
    """Does the path ``parts`` (names) match the glob ``pattern`` (names; ``**`` is any number of folders,
    none included)? With ``prefix``: could a file below the folder ``parts`` match it?"""
    if not parts:
        return bool(pattern) if prefix else all(p == "**" for p in pattern)
    if not pattern:
        return False
    if pattern[0] == "**":
        return prefix or any(_matches(pattern[1:], parts[i:]) for i in range(len(parts) + 1))
    return fnmatch.fnmatch(parts[0], pattern[0]) and _matches(pattern[1:], parts[1:], prefix)


def _glob(pattern, skipped):
    """The files the glob ``pattern`` (``**`` recursive) matches, sorted, found with :func:`_walk` below its
    fixed folder (only in folders the pattern can reach), so that a link loop neither repeats files nor runs
    on. Hidden files and folders below the fixed folder never match (list_images would leave them out)."""
    parts = Path(pattern).parts
    fixed = next(i for i, part in enumerate(parts) if _GLOB_CHARS & set(part))
    root, rest = (os.path.join(*parts[:fixed]) if fixed else os.curdir), parts[fixed:]
    if not os.path.isdir(root):
        return []
    found = []
    for folder, rel, names in _walk(root, skipped, descend=lambda rel: _matches(rest, rel, prefix=True)):
        found += [os.path.join(folder, n) if fixed else os.path.join(*rel, n) for n in names
                  if _matches(rest, rel + (n,))]
    return sorted(found)


def list_images(source) -> list:
    """Sorted image paths of a folder (recursive), a glob pattern, or a ``.zip`` (as ``"archive.zip::member"``).

    Files are recognised by extension (case-insensitive); hidden files and ``__MACOSX`` folders are ignored;
    ``~`` is the home folder. Each image is listed once: symbolic links are followed, except a link to a
    folder or image listed already (a link back to a parent folder would loop), which is left out and named
    in one :class:`SkippedLinksWarning`.
    """
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"source must be a path (str or pathlib.Path), got {type(source).__name__}")
    text = os.fspath(source)
    path = Path(text).expanduser()
    if path.is_dir():
        found, skipped = [], []
        for folder, _, names in _walk(path, skipped):
            found += [os.path.join(folder, f) for f in names if _is_image_name(f)]
        _warn_links([(p, why) for p, why in skipped if _is_image_name(p) or os.path.isdir(p)])
        if not found:
            raise ValueError(f"the folder {path} contains no images (searched recursively for {_ext_text()})")
        return sorted(found)
    if path.is_file():
        if zipfile.is_zipfile(path):
            return _list_zip(path)
        raise ValueError(f"{path} is a file but not a .zip archive; expected a folder of images, "
                         f"a glob pattern (e.g. 'photos/*/*.png') or a .zip of images")
    if _GLOB_CHARS & set(text):
        pattern = os.path.expanduser(text)
        fixed = next(i for i, part in enumerate(Path(pattern).parts) if _GLOB_CHARS & set(part))
        skipped = []
        matches = _glob(pattern, skipped)
        _warn_links(skipped)
        # Only the parts the wildcards matched can be junk: "~/.cache/ganbook/*.jpg" is fine.
        images = [p for p in matches if _is_image_name(p) and not _is_junk(Path(p).parts[fixed:])]
        if not matches:
            raise FileNotFoundError(f"the glob pattern {text!r} matches no files")
        if not images:
            raise ValueError(f"the glob pattern {text!r} matches {len(matches)} files but no images "
                             f"(looked for {_ext_text()})")
        return images
    if _looks_like_kind(source):
        kinds, names = _kinds(), _source_names()
        if source in kinds:
            raise ValueError(f"{text!r} is an embedded dataset kind, not image files; "
                             f"use load_images or image_dataset to get its images")
        if source in names:
            raise ValueError(f"{text!r} is a named dataset to download, not image files; use load_images or "
                             f"image_dataset to get its images (or ganutils.data.sources.fetch for its archive)")
        from .sources import suggest
        near = suggest(source)
        hint = f"did you mean {near!r}? " if near else ""
        raise ValueError(f"{text!r} is neither an existing file or folder, nor an embedded dataset kind, nor a "
                         f"named dataset; {hint}the kinds are: {', '.join(kinds)}; the named datasets: "
                         f"{', '.join(names)}")
    raise FileNotFoundError(f"no such file or folder: {text!r}; expected a folder of images, "
                            f"a glob pattern or a .zip of images")


# --------------------------------------------------------------------------- decoding

def _check_image_size(image_size):
    if isinstance(image_size, bool) or not isinstance(image_size, (int, np.integer)):
        raise ValueError(f"image_size must be an int between 8 and 1024, got {image_size!r}")
    if not 8 <= image_size <= 1024:
        raise ValueError(f"image_size must be between 8 and 1024 pixels, got {image_size}")
    return int(image_size)


def _check_crop(crop):
    if crop not in CROPS:
        raise ValueError(f"crop must be one of {', '.join(map(repr, CROPS))}, got {crop!r}")


def _check_positive(name, value, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def _crop_box(width, height, crop, upright_width=None):
    """The region (left, top, right, bottom) of a width×height image that ``crop`` keeps.

    Every crop is a centred square, so it is the same region whether or not the image is later turned
    upright; only "celeba" measures its side on the upright width (``upright_width``)."""
    if crop == "none":
        return (0, 0, width, height)
    if crop == "center":
        side = min(width, height)
    else:  # "celeba": seed 002's 108×108 face square of a 178-px-wide aligned CelebA image
        side = max(1, min(round((upright_width or width) * 108 / 178), width, height))
    left, top = (width - side) // 2, (height - side) // 2
    return (left, top, left + side, top + side)


def _to_8bit_gray(im):
    """16/32-bit integer and float grayscale (e.g. 16-bit PNG) → 8-bit ``L``."""
    a = np.asarray(im)
    if a.dtype.kind == "f":
        a = np.clip(a, 0, 255)
    elif im.mode.startswith("I;16") or a.max(initial=0) > 255:
        a = (a.astype(np.float64) * (255.0 / 65535.0)).clip(0, 255)
    return Image.fromarray(np.rint(a).astype(np.uint8))


def _normalise_mode(im):
    """Bring any PIL mode to RGB, L (opaque) or RGBA, LA (with alpha), so that resizing is well defined."""
    mode = im.mode
    if mode in ("RGB", "L", "RGBA", "LA"):
        if "transparency" in im.info and mode in ("RGB", "L"):
            return im.convert("RGBA")
        return im
    if mode == "P":
        return im.convert("RGBA" if "transparency" in im.info else "RGB")
    if mode == "PA":
        return im.convert("RGBA")
    if mode == "1":
        return im.convert("L")
    if mode.startswith("I") or mode == "F":
        return _to_8bit_gray(im)
    if mode in ("RGBa", "La"):
        return im.convert(mode.upper())
    return im.convert("RGB")  # CMYK, YCbCr, LAB, HSV, RGBX, ...


def _decode(fp, image_size, crop, background):
    """Decode one image file (path or file object) to a uint8 [S, S, 3] array."""
    with Image.open(fp) as im:
        width, height = im.size
        orientation = im.getexif().get(_EXIF_ORIENTATION, 1)  # phone photos are often stored sideways
        turn = _TRANSPOSE.get(orientation)
        upright_width = height if orientation in (5, 6, 7, 8) else width
        left, top, right, bottom = _crop_box(width, height, crop, upright_width)
        if im.format == "JPEG":
            # Let libjpeg decode at 1/2, 1/4 or 1/8 scale when the crop stays >= image_size pixels:
            # a 6000-px photo then decodes at 750 px, far faster than decoding in full and shrinking.
            scale = max(image_size / (right - left), image_size / (bottom - top))
            im.draft("RGB", (math.ceil(width * scale), math.ceil(height * scale)))
            sx, sy = im.size[0] / width, im.size[1] / height
            left, top, right, bottom = left * sx, top * sy, right * sx, bottom * sy
        im = _normalise_mode(im)
        box = tuple(round(v) for v in (left, top, right, bottom))
        if box != (0, 0) + im.size:
            im = im.crop(box)  # crop first: resize(box=...) would blend in pixels from outside the box
        # Resizing RGBA/LA premultiplies alpha, so compositing afterwards is exact and cheap.
        im = im.resize((image_size, image_size), Image.Resampling.LANCZOS, reducing_gap=3.0)
        if im.mode in ("RGBA", "LA"):
            base = Image.new("RGB", im.size, tuple(background))
            base.paste(im.convert("RGBA"), mask=im.getchannel("A"))
            im = base
        elif im.mode != "RGB":
            im = im.convert("RGB")
        if turn is not None:
            im = im.transpose(turn)
        return np.asarray(im)


class _Reader:
    """Opens files and zip members; one ZipFile handle per thread (ZipFile is not thread safe)."""

    def __init__(self):
        self._local = threading.local()
        self._handles = []
        self._lock = threading.Lock()

    def open(self, name):
        if ZIP_SEP not in name:
            return name
        archive, member = name.split(ZIP_SEP, 1)
        zips = getattr(self._local, "zips", None)
        if zips is None:
            zips = self._local.zips = {}
        zf = zips.get(archive)
        if zf is None:
            zf = zips[archive] = zipfile.ZipFile(archive)
            with self._lock:
                self._handles.append(zf)
        return BytesIO(zf.read(member))

    def close(self):
        for zf in self._handles:
            zf.close()


def _reason(exc):
    text = str(exc) or type(exc).__name__
    return text if len(text) < 120 else text[:117] + "..."


def _decode_all(names, image_size, crop, background, workers):
    """Decode ``names`` in parallel into one uint8 array; returns (array, [(name, reason), ...])."""
    n = len(names)
    out = _aligned_empty((n, image_size, image_size, 3))
    ok = np.zeros(n, bool)
    errors = {}
    reader = _Reader()
    chunk = 32

    def work(start):
        for i in range(start, min(start + chunk, n)):
            try:
                out[i] = _decode(reader.open(names[i]), image_size, crop, background)
                ok[i] = True
            except Exception as e:  # noqa: BLE001 - any unreadable file is skipped and reported
                errors[i] = _reason(e)
        return min(start + chunk, n) - start

    bar = None
    if n > _PROGRESS_ABOVE:
        from .._tqdm import tqdm
        bar = tqdm(total=n, desc="decoding images", unit="img")
    Image.init()  # register every format plugin now, not concurrently from the worker threads
    saved = ImageFile.LOAD_TRUNCATED_IMAGES, Image.MAX_IMAGE_PIXELS
    ImageFile.LOAD_TRUNCATED_IMAGES = False  # a truncated file must fail, not come back half grey
    Image.MAX_IMAGE_PIXELS = max(Image.MAX_IMAGE_PIXELS or 0, 400_000_000)  # big photos are fine
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for done in pool.map(work, range(0, n, chunk)):
                if bar is not None:
                    bar.update(done)
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES, Image.MAX_IMAGE_PIXELS = saved
        reader.close()
        if bar is not None:
            bar.close()
    skipped = [(names[i], errors[i]) for i in sorted(errors)]
    if skipped:  # compact in place: no second copy of the array
        keep = np.flatnonzero(ok)
        for j, i in enumerate(keep):
            if i != j:
                out[j] = out[i]
        out = out[: len(keep)]
    return out, skipped


def _warn_skipped(skipped, total):
    shown = "; ".join(f"{name} ({why})" for name, why in skipped[:_LIST_IN_WARNING])
    more = f"; and {len(skipped) - _LIST_IN_WARNING} more" if len(skipped) > _LIST_IN_WARNING else ""
    warnings.warn(SkippedImagesWarning(
        f"skipped {len(skipped)} of {total} files that could not be read as images: {shown}{more}", skipped),
        stacklevel=4)  # _warn_skipped < _load < public function < caller


# --------------------------------------------------------------------------- cache

def _fingerprint(names, image_size, crop, background):
    """Identifies the decoded array: file names, sizes and mtimes (zip: member size and CRC) and settings."""
    h = hashlib.sha256()
    h.update(json.dumps([_CACHE_VERSION, image_size, crop, list(background)]).encode())
    zips = {}
    for name in names:
        if ZIP_SEP in name:
            archive, member = name.split(ZIP_SEP, 1)
            if archive not in zips:
                with zipfile.ZipFile(archive) as zf:
                    zips[archive] = {i.filename: (i.file_size, i.CRC) for i in zf.infolist()}
            stamp = zips[archive].get(member)
        else:
            try:
                st = os.stat(name)
                stamp = (st.st_size, st.st_mtime_ns)
            except OSError:
                stamp = None
        h.update(json.dumps([name, stamp]).encode())
    return h.hexdigest()


def _settings(source, image_size, crop, limit, background):
    return {"source": os.path.abspath(os.path.expanduser(os.fspath(source))), "image_size": image_size,
            "crop": crop, "limit": limit, "background": list(background)}


def _read_cache(cache, fingerprint=None, settings=None):
    """The cached array (memory-mapped) if ``cache`` was made from the same files (or, when the source is gone,
    with the same settings); else None."""
    meta_path = Path(str(cache) + ".json")
    if not (cache.is_file() and meta_path.is_file()):
        return None
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError):
        return None
    if fingerprint is not None and meta.get("fingerprint") != fingerprint:
        return None
    if settings is not None and meta.get("settings") != settings:
        return None
    try:
        arr = np.load(cache, mmap_mode="r")
    except (OSError, ValueError):
        return None
    if arr.dtype != np.uint8 or arr.ndim != 4 or len(arr) != meta.get("count"):
        return None
    return arr


def _write_cache(cache, images, fingerprint, settings, skipped):
    """Write the array then its sidecar, each to a temporary name first, so an interruption never leaves a
    cache that looks valid but is not."""
    cache.parent.mkdir(parents=True, exist_ok=True)
    meta_path = Path(str(cache) + ".json")
    meta_path.unlink(missing_ok=True)
    with replacing(cache, suffix=".npy") as tmp:  # np.save insists on a .npy name
        np.save(tmp, images)
    write_json(meta_path, {"fingerprint": fingerprint, "settings": settings, "count": int(len(images)),
                           "skipped": [name for name, _ in skipped]})


# --------------------------------------------------------------------------- public: load_images

def load_images(source, image_size, *, crop="center", limit=None, workers=None, cache=None,
                background=(255, 255, 255), num_images=10_000, seed=0) -> np.ndarray:
    """Decode every image of ``source`` once, centre-cropped and resized, into a uint8 [N, S, S, 3] array.

    ``source``: folder, glob, .zip, an embedded kind (then ``synthetic(kind, num_images, image_size, seed)``),
    or a named real dataset (``"celeba"``, ``"anime-faces"``; see :mod:`ganutils.data.sources`): its archive
    is downloaded into the cache on first use, checksum-verified where a digest is published, and read as a
    .zip. With ``cache=`` and no downloaded archive, a cache made from the same dataset and settings is
    returned without downloading. An existing file or folder of the same name wins over a kind or dataset.
    ``crop``: "center" (largest centred square), "celeba" (seed 002's 108/178-width face square) or "none".
    ``limit`` keeps the first files of the sorted list; ``workers`` threads decode (default: all cores);
    ``background`` fills transparent areas. ``cache="x.npy"`` stores the array and reuses it (memory-mapped)
    while the file list, sizes, mtimes and settings are unchanged, even after the source is deleted.
    Unreadable files are skipped and reported by one :class:`SkippedImagesWarning`.
    """
    return _load(source, image_size, crop=crop, limit=limit, workers=workers, cache=cache,
                 background=background, num_images=num_images, seed=seed)


def _load(source, image_size, *, crop, limit, workers, cache, background, num_images, seed):
    """load_images' work; called directly by the public functions so warnings point at the user's line."""
    image_size = _check_image_size(image_size)
    _check_crop(crop)
    limit = _check_positive("limit", limit, allow_none=True)
    workers = _check_positive("workers", workers, allow_none=True) or os.cpu_count() or 1
    background = _check_background(background)
    cache = None if cache is None else Path(os.path.expanduser(os.fspath(cache)))
    if cache is not None and cache.suffix != ".npy":
        raise ValueError(f"cache must be a path ending in .npy, got {os.fspath(cache)!r}")
    if _looks_like_kind(source) and source in _kinds():  # embedded data is made, not read: no cache
        from .procedural import synthetic
        images, _ = synthetic(source, _check_positive("num_images", num_images), image_size, seed)
        images = np.asarray(images, np.uint8)
        return images[:limit] if limit else images
    settings = _settings(source, image_size, crop, limit, background) if isinstance(source, (str, os.PathLike)) \
        else None
    if _looks_like_kind(source) and source in _source_names():  # a named real dataset: its archive
        from . import sources
        settings["source"] = f"ganbook dataset {source}"  # the same in every folder and session
        if cache is not None and sources.local_archive(source) is None:
            cached = _read_cache(cache, settings=settings)
            if cached is not None:
                return cached  # decoded in an earlier session (e.g. a .npy kept on Google Drive)
        source = sources.fetch(source)
    try:
        names = list_images(source)
    except FileNotFoundError:
        cached = None if cache is None else _read_cache(cache, settings=settings)
        if cached is None:
            raise
        return cached  # the source is gone (e.g. a new Colab session) but was decoded before
    if limit:
        names = names[:limit]
    fingerprint = None
    if cache is not None:
        fingerprint = _fingerprint(names, image_size, crop, background)
        cached = _read_cache(cache, fingerprint=fingerprint)
        if cached is not None:
            return cached
    images, skipped = _decode_all(names, image_size, crop, background, workers)
    if not len(images):
        shown = "; ".join(f"{n} ({why})" for n, why in skipped[:3])
        raise ValueError(f"none of the {len(names)} files of {os.fspath(source)!r} could be read as an image "
                         f"(e.g. {shown})")
    if skipped:
        _warn_skipped(skipped, len(names))
    if cache is not None:
        _write_cache(cache, images, fingerprint, settings, skipped)
    return images


def _check_background(background):
    try:
        bg = tuple(int(v) for v in background)
    except (TypeError, ValueError):
        bg = ()
    if len(bg) != 3 or not all(0 <= v <= 255 for v in bg):
        raise ValueError(f"background must be an (r, g, b) triple of ints in 0..255, got {background!r}")
    return bg


# --------------------------------------------------------------------------- public: image_dataset

def _check_array(images, image_size):
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3 or images.shape[1] != images.shape[2]:
        hint = ""
        if images.dtype.kind == "f" and images.size:  # say which conversion these floats need
            low, high = float(np.nanmin(images)), float(np.nanmax(images))
            fix = ("np.round(images).astype(np.uint8)" if high > 2 else          # 0..255
                   "ganutils.metrics.to_uint8(images)" if low < 0 else          # [-1, 1]
                   "np.round(images * 255).astype(np.uint8)")                   # [0, 1]
            hint = f"; these floats range over [{low:.4g}, {high:.4g}]: pass {fix}"
        raise ValueError(f"an image array source must be uint8 with shape [N, S, S, 3], "
                         f"got {images.dtype} {list(images.shape)}{hint}")
    if images.shape[1] != image_size:
        raise ValueError(f"the image array holds {images.shape[1]}×{images.shape[2]} images but "
                         f"image_size={image_size}; resize them or pass image_size={images.shape[1]}")
    if not len(images):
        raise ValueError("the image array source is empty")


def _aligned_empty(shape):
    """An uninitialised uint8 array whose data starts on a 64-byte boundary (what TensorFlow requires to
    use the memory in place)."""
    nbytes = int(np.prod(shape))
    buf = np.empty(nbytes + _ALIGN, np.uint8)
    offset = (-buf.ctypes.data) % _ALIGN
    return buf[offset: offset + nbytes].reshape(shape)


def _as_tensor(images, share):
    """A CPU ``tf.Tensor`` holding ``images``. With ``share`` (arrays this module made and no one else
    holds) the numpy memory is handed over through DLPack, without a copy; otherwise, or when the array is
    not 64-byte aligned, it is copied once (``tf.constant`` would take seconds and transiently 3 copies)."""
    import tensorflow as tf

    if not (share and type(images) is np.ndarray and images.flags.c_contiguous
            and images.ctypes.data % _ALIGN == 0):
        aligned = _aligned_empty(images.shape)
        np.copyto(aligned, images)
        images = aligned
    with tf.device("/cpu:0"):
        try:
            return tf.experimental.dlpack.from_dlpack(images.__dlpack__())
        except Exception:  # noqa: BLE001 - an older or different TF build: fall back to a plain copy
            return tf.identity(images)


def image_dataset(source, image_size, batch_size, *, crop="center", flip=False, shuffle=True, seed=0,
                  limit=None, num_images=10_000, cache=None, repeat=True, drop_remainder=True):
    """A ``tf.data.Dataset`` of float32 batches [B, S, S, 3] in [-1, 1] (x / 127.5 - 1) from ``source``.

    Images are decoded once (see :func:`load_images`; ``source`` may also be a uint8 [N, S, S, 3] array,
    0..255; a float array is refused with the conversion its range needs).
    Each epoch visits every image once in a new order drawn from ``seed`` (a stateless permutation of the
    indices, ``tf.random.experimental.index_shuffle``, instead of a ``shuffle`` buffer: the pipeline then has
    no buffered state, so ``tf.train.Checkpoint(data=iterator)`` stays about 1 KB and restores the exact
    position). ``flip`` mirrors each image with probability 1/2 (seed 000's augmentation), keyed on
    (seed, batch number). ``repeat`` makes it endless (the trainer counts steps). Same arguments, same batches.
    """
    import tensorflow as tf

    image_size = _check_image_size(image_size)
    batch_size = _check_positive("batch_size", batch_size)
    _check_crop(crop)
    limit = _check_positive("limit", limit, allow_none=True)
    if isinstance(source, np.ndarray):
        _check_array(source, image_size)
        images = source[:limit] if limit else source
    else:
        images = _load(source, image_size, crop=crop, limit=limit, workers=None, cache=cache,
                       background=(255, 255, 255), num_images=num_images, seed=seed)
    n = len(images)
    if drop_remainder and batch_size > n:
        raise ValueError(f"batch_size={batch_size} is larger than the {n} images available, and "
                         f"drop_remainder=True would drop them all; use a batch_size <= {n} "
                         f"(or drop_remainder=False)")
    # The pipeline captures this tensor by reference: it is neither re-serialised nor checkpointed.
    table = _as_tensor(images, share=not isinstance(source, np.ndarray))
    del images

    seed64 = tf.constant(int(seed) % (2**63), tf.int64)
    count = tf.constant(n, tf.int64)
    steps = None if repeat else (n // batch_size if drop_remainder else -(-n // batch_size))
    full = repeat or drop_remainder or n % batch_size == 0

    def make_batch(step):
        first = step * batch_size
        if full:
            position = first + tf.range(batch_size, dtype=tf.int64)
        else:  # the last batch of a single pass may be short
            position = tf.range(first, tf.minimum(first + batch_size, count))
        epoch, index = position // count, position % count
        if shuffle:  # a fresh permutation of [0, n) for every epoch, keyed on (seed, epoch)
            # The op behind tf.random.experimental.index_shuffle, called directly: in TF 2.21 that wrapper
            # mis-pads per-element [n, 2] seeds, and a batch may straddle two epochs.
            keys = tf.stack([tf.fill(tf.shape(index), seed64), epoch, tf.zeros_like(index)], axis=1)
            index = tf.raw_ops.RandomIndexShuffle(index=index, seed=keys, max_index=count - 1, rounds=4)
        batch = tf.gather(table, index)
        if flip:
            batch = tf.image.stateless_random_flip_left_right(batch, seed=tf.stack([seed64, step]))
        return tf.cast(batch, tf.float32) / 127.5 - 1.0

    steps_ds = tf.data.Dataset.counter() if repeat else tf.data.Dataset.range(steps)
    ds = steps_ds.map(make_batch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    ds = ds.prefetch(tf.data.AUTOTUNE)
    options = tf.data.Options()
    options.deterministic = True
    # Checkpoint positions, not buffered batches (a prefetch buffer would be megabytes).
    options.experimental_symbolic_checkpoint = True
    # Graph rewrites would serialise the captured image tensor into a GraphDef (slow, 2 GB limit).
    options.experimental_optimization.apply_default_optimizations = False
    return ds.with_options(options)
