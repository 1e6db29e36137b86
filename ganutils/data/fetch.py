"""Download a data set once (resumable, checksummed) and extract archives safely.

For readers running the course on their own machine or in Colab: ``download`` caches files under
``~/.cache/ganbook`` (or ``$GANBOOK_CACHE``), resumes a broken transfer with an HTTP ``Range`` request,
checks a SHA-256 digest, and only then moves the file into place. ``extract`` refuses archive entries that
would write outside the target folder. Standard library only (urllib, zipfile, tarfile).
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import shutil
import stat
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path, PurePosixPath

__all__ = ["download", "extract", "cache_dir", "DownloadError", "ChecksumError", "UnsafeArchiveError"]

_CHUNK = 1 << 20
_RETRY_DELAY = 1.0  # seconds times (attempt - 1): the first retry is immediate
_USER_AGENT = "ganbook-download/1.0 (+urllib)"


class DownloadError(OSError):
    """The resource could not be fetched (HTTP error, or the connection kept failing)."""


class ChecksumError(ValueError):
    """The downloaded bytes do not have the expected SHA-256 digest."""


class UnsafeArchiveError(ValueError):
    """An archive entry would be written outside the target folder, or is a device file."""


def cache_dir() -> Path:
    """Where downloads go by default: ``$GANBOOK_CACHE`` or ``~/.cache/ganbook``."""
    return Path(os.environ.get("GANBOOK_CACHE") or Path.home() / ".cache" / "ganbook").expanduser()


def _sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _check_sha256(sha256):
    if sha256 is None:
        return None
    if not isinstance(sha256, str) or not re.fullmatch(r"[0-9a-fA-F]{64}", sha256.strip()):
        raise ValueError(f"sha256 must be a 64-character hex digest, got {sha256!r}")
    return sha256.strip().lower()


def _filename_from(url):
    name = urllib.parse.unquote(PurePosixPath(urllib.parse.urlsplit(url).path).name)
    if not name:
        raise ValueError(f"cannot tell a file name from the URL {url!r}; pass filename=")
    return name


def _archive_stem(name):
    for suffix in (".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".zip", ".tar"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name + ".d"


def _total_from_content_range(value):
    m = re.match(r"bytes\s+(\d+|\*)-?(\d*)/(\d+|\*)", value or "")
    if not m:
        return None, None
    start = None if m.group(1) == "*" else int(m.group(1))
    total = None if m.group(3) == "*" else int(m.group(3))
    return start, total


def _fetch_once(url, part, timeout, progress):
    """One HTTP request that appends to (or restarts) ``part``; returns True once the file is complete."""
    offset = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": _USER_AGENT, "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code == 416 and offset:
            _, total = _total_from_content_range(e.headers.get("Content-Range"))
            e.close()
            if total is not None and total == offset:
                return True  # the partial file already holds every byte
            part.unlink()  # the partial file is bigger than the resource (it changed): start over
            return False
        raise
    with response:
        status = response.status
        length = response.headers.get("Content-Length")
        length = int(length) if length and length.isdigit() else None
        if status == 206:
            start, total = _total_from_content_range(response.headers.get("Content-Range"))
            if start != offset:  # not the range we asked for: start over on the next attempt
                part.unlink()
                return False
            if total is None and length is not None:
                total = offset + length
            mode = "ab"
        else:  # 200: the server ignored Range (or none was sent), the body is the whole file
            offset, total, mode = 0, length, "wb"
        bar = None
        if progress:
            from tqdm.auto import tqdm
            bar = tqdm(total=total, initial=offset, unit="B", unit_scale=True, unit_divisor=1024,
                       desc=part.name[: -len(".part")])
        written = offset
        try:
            with open(part, mode) as f:
                while True:
                    block = response.read(_CHUNK)
                    if not block:
                        break
                    f.write(block)
                    written += len(block)
                    if bar is not None:
                        bar.update(len(block))
        finally:
            if bar is not None:
                bar.close()
    if total is not None and written > total:
        part.unlink()
        return False
    return total is None or written == total


def download(url, sha256=None, *, dest_dir=None, filename=None, extract=False, retries=3, timeout=60,
             progress=True) -> Path:
    """Download ``url`` into ``dest_dir`` (default :func:`cache_dir`) once and return its path.

    An existing file is returned without touching the network (if it matches ``sha256`` when given).
    The bytes go to ``name.part``; a broken connection is resumed with an HTTP Range request, up to
    ``retries`` times; a server that ignores Range restarts from zero. With ``sha256`` the digest is checked
    (a mismatch deletes the file and raises :class:`ChecksumError`), then the file is renamed into place.
    ``extract=True`` unpacks a .zip/.tar(.gz) archive into a folder beside it and returns that folder.
    """
    sha256 = _check_sha256(sha256)
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValueError(f"retries must be an int >= 0, got {retries!r}")
    name = filename or _filename_from(url)
    if os.sep in name or "/" in name or name in (".", ".."):
        raise ValueError(f"filename must be a plain file name, got {name!r}")
    folder = Path(dest_dir).expanduser() if dest_dir is not None else cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name

    if not (target.is_file() and (sha256 is None or _sha256_file(target) == sha256)):
        part = folder / (name + ".part")
        errors = []
        for attempt in range(retries + 1):
            if attempt:
                time.sleep(_RETRY_DELAY * (attempt - 1))
            try:
                if _fetch_once(url, part, timeout, progress):
                    break
                errors.append("incomplete transfer")
            except urllib.error.HTTPError as e:
                if e.code < 500 and e.code not in (408, 429):
                    raise DownloadError(f"downloading {url} failed: HTTP {e.code} {e.reason}") from None
                errors.append(f"HTTP {e.code}")
            except (urllib.error.URLError, http.client.HTTPException, OSError) as e:  # incl. timeouts, resets
                errors.append(f"{type(e).__name__}: {e}")
        else:
            raise DownloadError(f"downloading {url} failed after {retries + 1} attempts "
                                f"({'; '.join(errors[-3:])}); the partial file {part} is kept for resuming")
        if sha256 is not None:
            actual = _sha256_file(part)
            if actual != sha256:
                part.unlink()
                raise ChecksumError(f"sha256 mismatch for {url}: expected {sha256}, got {actual}; "
                                    f"the download was deleted")
        os.replace(part, target)

    if not extract:
        return target
    out = folder / _archive_stem(name)
    marker = out / ".ganbook-extracted"
    stamp = f"{target.name} {target.stat().st_size} {target.stat().st_mtime_ns}"
    if marker.is_file() and marker.read_text() == stamp:
        return out
    tmp = folder / (out.name + ".extracting")
    shutil.rmtree(tmp, ignore_errors=True)
    _extract(target, tmp)
    (tmp / marker.name).write_text(stamp)
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)
    return out


# --------------------------------------------------------------------------- safe extraction

def _inside(root, path):
    root, path = os.path.realpath(root), os.path.realpath(path)
    return path == root or path.startswith(root + os.sep)


def _check_name(archive, name, root):
    """Refuse absolute names, drive letters and ``..`` components; return the resolved destination."""
    clean = name.replace("\\", "/")
    parts = [p for p in clean.split("/") if p not in ("", ".")]
    if clean.startswith("/") or re.match(r"^[A-Za-z]:", clean):
        raise UnsafeArchiveError(f"{archive}: refusing entry {name!r} with an absolute path")
    if ".." in parts:
        raise UnsafeArchiveError(f"{archive}: refusing entry {name!r} with a '..' component")
    dest = os.path.join(root, *parts) if parts else root
    if not _inside(root, dest):
        raise UnsafeArchiveError(f"{archive}: refusing entry {name!r}: it resolves outside {root}")
    return dest, parts


def _check_link(archive, name, link, base_dir, root, kind):
    if link.startswith("/") or re.match(r"^[A-Za-z]:", link) or \
            not _inside(root, os.path.join(base_dir, *link.replace("\\", "/").split("/"))):
        raise UnsafeArchiveError(f"{archive}: refusing {kind} {name!r} -> {link!r}: it points outside {root}")


def extract(archive, dest_dir) -> Path:
    """Extract a .zip, .tar, .tar.gz/.tgz (or .tar.bz2/.tar.xz) into ``dest_dir`` and return it.

    Every entry is checked before anything is written: absolute paths, ``..`` components, links pointing
    outside ``dest_dir`` and device files raise :class:`UnsafeArchiveError` naming the entry.
    """
    archive = Path(archive).expanduser()
    if not archive.is_file():
        raise FileNotFoundError(f"no such archive: {archive}")
    root = Path(dest_dir).expanduser()
    root.mkdir(parents=True, exist_ok=True)
    root_s = os.path.realpath(root)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                dest, _ = _check_name(archive, info.filename, root_s)
                if stat.S_ISLNK(info.external_attr >> 16):
                    link = zf.read(info).decode("utf-8", "replace")
                    _check_link(archive, info.filename, link, os.path.dirname(dest), root_s, "symlink")
            zf.extractall(root)  # zipfile writes links as small regular files, never as links
        return root
    if tarfile.is_tarfile(archive):
        with tarfile.open(archive, "r:*") as tf:
            members = tf.getmembers()
            for m in members:
                dest, _ = _check_name(archive, m.name, root_s)
                if m.issym():
                    _check_link(archive, m.name, m.linkname, os.path.dirname(dest), root_s, "symlink")
                elif m.islnk():
                    _check_link(archive, m.name, m.linkname, root_s, root_s, "hardlink")
                elif m.ischr() or m.isblk() or m.isfifo() or not (m.isfile() or m.isdir()):
                    raise UnsafeArchiveError(f"{archive}: refusing entry {m.name!r}: device or special file")
            if hasattr(tarfile, "data_filter"):
                tf.extractall(root, members=members, filter="data")
            else:  # Python without extraction filters: the checks above are the guard
                tf.extractall(root, members=members)
        return root
    raise ValueError(f"{archive} is neither a zip nor a tar archive (expected .zip, .tar, .tar.gz or .tgz)")


_extract = extract  # download() has a parameter named "extract"
