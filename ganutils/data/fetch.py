"""Download a data set once (resumable, checksummed) and extract archives safely.

For readers running the course on their own machine or in Colab: ``download`` caches files under
``~/.cache/ganbook`` (or ``$GANBOOK_CACHE``), resumes a broken transfer with an HTTP ``Range`` request,
checks what arrived (an HTML login or quota page instead of the file, another type than the name says,
a size other than announced) and a SHA-256 digest, and only then moves the file into place. ``extract``
refuses archive entries that would write outside the target folder, and says what it found when a file
is no archive.
Standard library only (urllib, zipfile, tarfile).
"""

from __future__ import annotations

import email.message
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

from .._atomic import write_text

__all__ = ["download", "extract", "cache_dir", "DownloadError", "WrongContentError", "ChecksumError",
           "UnsafeArchiveError"]

_CHUNK = 1 << 20
_RETRY_DELAY = 1.0  # seconds times (attempt - 1): the first retry is immediate
_USER_AGENT = "ganbook-download/1.0 (+urllib)"


class DownloadError(OSError):
    """The resource could not be fetched (HTTP error, or the connection kept failing)."""


class WrongContentError(DownloadError):
    """The server answered, but not with the file: an HTML page (a login, quota or virus-scan page), data of
    another type than the file name says, or a size far from the one announced. Nothing is cached."""


class ChecksumError(ValueError):
    """The downloaded bytes do not have the expected SHA-256 digest."""


class UnsafeArchiveError(ValueError):
    """An archive entry would be written outside the target folder, or is a device file."""


def cache_dir() -> Path:
    """Where downloads go by default: ``$GANBOOK_CACHE`` or ``~/.cache/ganbook``.

    The one cache root of ganutils: ``ganutils.metrics`` keeps its classifiers and weights under it too.
    """
    return Path(os.environ.get("GANBOOK_CACHE") or Path.home() / ".cache" / "ganbook").expanduser()


def _hash_file(path, algorithm="sha256"):
    h = hashlib.new(algorithm)
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


# --------------------------------------------------------------------------- file names

# Script names say nothing about the file they serve (``get.php?id=3``); Drive's ``/uc`` has no suffix at all.
_SCRIPT_SUFFIXES = (".php", ".asp", ".aspx", ".cgi", ".jsp", ".pl", ".py")


def _name_in_url(url):
    """The URL path's last component if it names the file, else None: empty, a script (``get.php?id=3``) or
    a name without a suffix before a query (Google Drive's ``/uc?id=...``, ``/download?id=...``). Then the
    server's Content-Disposition, or the caller's ``filename=``, must name the file."""
    parts = urllib.parse.urlsplit(url)
    name = _plain_name(urllib.parse.unquote(PurePosixPath(parts.path).name) or "")
    if name is None or name.lower().endswith(_SCRIPT_SUFFIXES):
        return None
    stem, dot, suffix = name.rpartition(".")
    if parts.query and not (stem and dot and suffix):
        return None
    return name


def _plain_name(name):
    """``name`` without any folder part; None if nothing usable is left."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip().strip("\x00")
    return None if name in ("", ".", "..") else name


def _name_from_headers(headers):
    """The file name of a Content-Disposition header (RFC 6266: ``filename*`` wins over ``filename``)."""
    value = headers.get("Content-Disposition") or ""
    m = re.search(r"filename\*\s*=\s*([\w!#$%&+^`{}~-]*)'[^']*'([^;\s]+)", value, re.IGNORECASE)
    if m:
        try:
            name = urllib.parse.unquote(m.group(2), encoding=m.group(1) or "utf-8", errors="strict")
            return _plain_name(name)
        except (LookupError, UnicodeDecodeError):
            pass
    msg = email.message.Message()
    msg["Content-Disposition"] = value
    name = msg.get_filename()
    return _plain_name(name) if name else None


def _archive_stem(name):
    for suffix in (".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".zip", ".tar"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name + ".d"


# --------------------------------------------------------------------------- what arrived

_HTML_SUFFIXES = (".html", ".htm", ".xhtml", ".shtml")
_MAGIC = [  # (leading bytes, what they are)
    (b"PK\x03\x04", "a zip archive"), (b"PK\x05\x06", "an empty zip archive"), (b"\x1f\x8b", "gzip data"),
    (b"BZh", "bzip2 data"), (b"\xfd7zXZ\x00", "xz data"), (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"), (b"%PDF", "a PDF document"), (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"), (b"\x89HDF\r\n\x1a\n", "an HDF5 file"),
    (b"\x93NUMPY", "a NumPy array"),
]


def _is_gzip(path, head):
    return head.startswith(b"\x1f\x8b")


def _is_tar(path, head):
    try:
        return tarfile.is_tarfile(path)
    except (OSError, EOFError, tarfile.TarError):  # e.g. a gzip stream that is cut short
        return False


def _is_compressed_tar(magic):
    return lambda path, head: head.startswith(magic) and _is_tar(path, head)


# name suffix -> (what the name promises, check(path, head) -> bool); longest suffixes first
_EXPECTED = [
    ((".tar.gz", ".tgz"), "a gzip-compressed tar archive", _is_compressed_tar(b"\x1f\x8b")),
    ((".tar.bz2", ".tbz2"), "a bzip2-compressed tar archive", _is_compressed_tar(b"BZh")),
    ((".tar.xz", ".txz"), "an xz-compressed tar archive", _is_compressed_tar(b"\xfd7zXZ\x00")),
    ((".tar",), "a tar archive", _is_tar),
    ((".zip", ".npz", ".whl", ".jar"), "a zip archive", lambda path, head: zipfile.is_zipfile(path)),
    ((".gz",), "gzip data", _is_gzip),
    ((".bz2",), "bzip2 data", lambda path, head: head.startswith(b"BZh")),
    ((".xz",), "xz data", lambda path, head: head.startswith(b"\xfd7zXZ\x00")),
    ((".png",), "a PNG image", lambda path, head: head.startswith(b"\x89PNG\r\n\x1a\n")),
    ((".jpg", ".jpeg"), "a JPEG image", lambda path, head: head.startswith(b"\xff\xd8\xff")),
    ((".gif",), "a GIF image", lambda path, head: head.startswith(b"GIF8")),
    ((".h5", ".hdf5"), "an HDF5 file", lambda path, head: head.startswith(b"\x89HDF\r\n\x1a\n")),
    ((".npy",), "a NumPy array", lambda path, head: head.startswith(b"\x93NUMPY")),
    ((".pdf",), "a PDF document", lambda path, head: head.startswith(b"%PDF")),
]


def _head(path, n=4096):
    with open(path, "rb") as f:
        return f.read(n)


def _looks_like_html(head, content_type=None):
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<script", b"<meta", b"<title")):
        return True
    if text.startswith(b"<!--") and b"<html" in text:
        return True
    return bool(content_type) and "html" in content_type.lower() and text.startswith(b"<")


def _describe(head, size):
    """What a file is, from its first bytes: 'starts with <!DOCTYPE html>: an HTML page (title ...)'."""
    if size == 0:
        return "is empty (0 bytes)"
    if _looks_like_html(head):
        text = head.lstrip(b"\xef\xbb\xbf \t\r\n").decode("utf-8", "replace")
        first = re.match(r"<[^>\n]{0,60}>?", text).group(0)
        title = re.search(r"<title[^>]*>(.*?)</title", text, re.IGNORECASE | re.DOTALL)
        title = " ".join(title.group(1).split())[:80] if title else ""
        return f"starts with {first}: an HTML page" + (f" titled {title!r}" if title else "")
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return f"starts with {head[:len(magic)].hex(' ')}: {what}"
    if head[257:262] == b"ustar":
        return "has a tar header: a tar archive"
    sample = head[:200]
    if sample and all(32 <= b < 127 or b in b"\t\r\n" for b in sample.rstrip(b"\x00")):
        line = sample.decode("ascii").strip().splitlines()[0][:60] if sample.strip() else ""
        return f"starts with {line!r}: text"
    return f"starts with bytes {head[:8].hex(' ')}: not a file type this recognises"


def _content_problem(path, name, content_type=None):
    """None if ``path`` holds what ``name`` promises, else what it holds instead ('starts with ...: an HTML
    page, not a zip archive'). Anything not named .html/.htm must not be an HTML page."""
    size = path.stat().st_size
    head = _head(path)
    lower = name.lower()
    if not lower.endswith(_HTML_SUFFIXES) and _looks_like_html(head, content_type):
        return f"it {_describe(head, size)}, not the file {name}"
    for suffixes, what, check in _EXPECTED:
        if lower.endswith(suffixes):
            if check(path, head):
                return None
            found = _describe(head, size)
            if what == "a zip archive" and head.startswith(b"PK\x03\x04"):
                found += " whose end (the zip directory) is missing: a truncated download"
            return f"it {found}, not {what} as the name {name} says"
    return None


def _check_file(path, name, url, content_type=None):
    """Raise WrongContentError (after deleting ``path``) if it does not hold what ``name`` promises."""
    problem = _content_problem(path, name, content_type)
    if problem is None:
        return
    path.unlink(missing_ok=True)
    hint = ("This is what a login, quota or virus-scan page looks like (Google Drive sends one for popular "
            "files such as CelebA): open the URL in a browser, save the file yourself and pass its path "
            "instead, or use another mirror." if "HTML page" in problem else
            "The server sent something else than the file: check the URL, or download the file yourself.")
    raise WrongContentError(f"{url} did not answer with {name}: {problem}. Nothing was cached; the next call "
                            f"downloads it again. {hint}")


# --------------------------------------------------------------------------- one request

def _total_from_content_range(value):
    m = re.match(r"bytes\s+(\d+|\*)-?(\d*)/(\d+|\*)", value or "")
    if not m:
        return None, None
    start = None if m.group(1) == "*" else int(m.group(1))
    total = None if m.group(3) == "*" else int(m.group(3))
    return start, total


class _State:
    """What one ``download`` call has learnt so far: the file name, the size the server announced, the
    bytes received, and the response's Content-Type (for the content check)."""

    def __init__(self, name):
        self.name = name
        self.total = None
        self.received = 0
        self.content_type = None
        self.cached = False  # a named-by-the-server file was already in the cache


def _name_from_response(response, url):
    name = _name_from_headers(response.headers) or _name_in_url(response.geturl() or url)
    if name is None:
        raise ValueError(f"cannot tell a file name for {url!r}: the URL does not end in one (as Google "
                         f"Drive's /uc links do) and the server sent no Content-Disposition; pass filename=, "
                         f"e.g. download(url, filename='img_align_celeba.zip')")
    return name


def _fetch_once(url, folder, state, timeout, progress, usable):
    """One HTTP request that appends to (or restarts) the ``.part`` file; returns True once it is complete.

    ``usable(path, name)`` tells whether a file already in the cache can be returned (used when only the
    server's answer names the file)."""
    part = folder / (state.name + ".part") if state.name else None
    if part is not None and part.exists() and part.stat().st_size and \
            _looks_like_html(_head(part)) and not state.name.lower().endswith(_HTML_SUFFIXES):
        part.unlink()  # an earlier attempt's error page: never resume onto it
    offset = part.stat().st_size if part is not None and part.exists() else 0
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
            if total is not None and total == offset and state.total in (None, total):
                state.total = state.received = total
                return True  # the partial file already holds every byte
            part.unlink()  # the partial file is bigger than the resource (it changed): start over
            return False
        raise
    with response:
        if state.name is None:
            state.name = _name_from_response(response, url)
            part = folder / (state.name + ".part")
            if usable(folder / state.name, state.name):
                state.cached = True
                return True
        status = response.status
        state.content_type = response.headers.get("Content-Type")
        length = response.headers.get("Content-Length")
        length = int(length) if length and length.isdigit() else None
        if status == 206:
            start, total = _total_from_content_range(response.headers.get("Content-Range"))
            if total is None and length is not None:
                total = offset + length
            if start != offset or (state.total is not None and total is not None and total != state.total):
                part.unlink()  # not the range we asked for, or the file changed size: start over
                state.total = None
                return False
            mode = "ab"
        else:  # 200: the server ignored Range (or none was sent), the body is the whole file
            offset, total, mode = 0, length, "wb"
        if total is not None:
            state.total = total
        bar = None
        if progress:
            from .._tqdm import tqdm
            bar = tqdm(total=total, initial=offset, unit="B", unit_scale=True, unit_divisor=1024,
                       desc=state.name)
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
            state.received = written
            if bar is not None:
                bar.close()
    if total is not None and written > total:
        part.unlink()
        return False
    return total is None or written == total


def download(url, sha256=None, *, dest_dir=None, filename=None, extract=False, retries=3, timeout=60,
             progress=True, md5=None) -> Path:
    """Download ``url`` into ``dest_dir`` (default :func:`cache_dir`) once and return its path.

    The file is named ``filename`` if given, else by the URL when it ends in a file name (``.../celeba.zip``),
    else by the server's ``Content-Disposition`` (Google Drive's ``.../uc?id=...`` links; such a URL costs
    one request per call even when cached: pass ``filename=`` to use the cache offline).
    An existing file is returned without touching the network if it matches ``sha256`` when given, or,
    without a digest, if it holds what its name promises (a cached HTML page named ``.zip`` by an older
    version is deleted and fetched again).

    The bytes go to ``name.part``; a broken connection is resumed with an HTTP Range request, up to
    ``retries`` times; a server that ignores Range, or whose file changed size in between, restarts from zero.
    Then what arrived is checked before it is cached: an HTML page where a file was expected (Drive's quota,
    login and virus-scan pages), data of another type than the name says (``.zip``, ``.tar.gz``, ``.png``,
    ...), a size other than the announced Content-Length: each raises :class:`WrongContentError` (or
    :class:`DownloadError` for a transfer that stays incomplete) saying what arrived, and nothing bad is
    kept. With ``sha256`` the digest is checked too (:class:`ChecksumError`, the file is deleted); then the
    file is renamed into place. ``md5`` does the same with an MD5 digest, for files whose publishers give
    only that (Keras' pretrained weights); prefer ``sha256``. ``extract=True`` unpacks a .zip/.tar(.gz)
    archive into a folder beside it and returns that folder. Raises ``ValueError`` for bad arguments or a URL that names no file.
    """
    sha256 = _check_sha256(sha256)
    if md5 is not None and not (isinstance(md5, str) and re.fullmatch(r"[0-9a-fA-F]{32}", md5.strip())):
        raise ValueError(f"md5 must be a 32-character hex digest, got {md5!r}")
    md5 = md5.strip().lower() if md5 is not None else None
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValueError(f"retries must be an int >= 0, got {retries!r}")
    if filename is not None and (not isinstance(filename, str) or _plain_name(filename) != filename):
        raise ValueError(f"filename must be a plain file name, got {filename!r}")
    if filename is None and _name_in_url(url) is None and not urllib.parse.urlsplit(url).query:
        raise ValueError(f"cannot tell a file name from the URL {url!r}; pass filename=")
    folder = Path(dest_dir).expanduser() if dest_dir is not None else cache_dir()
    folder.mkdir(parents=True, exist_ok=True)

    def usable(path, name):
        if not path.is_file():
            return False
        if sha256 is not None or md5 is not None:
            return (sha256 is None or _hash_file(path, "sha256") == sha256) and \
                (md5 is None or _hash_file(path, "md5") == md5)
        if _content_problem(path, name) is None:
            return True
        path.unlink()  # e.g. an HTML page cached under the archive's name by an older version
        return False

    state = _State(filename or _name_in_url(url))
    if state.name is None or not usable(folder / state.name, state.name):
        errors = []
        for attempt in range(retries + 1):
            if attempt:
                time.sleep(_RETRY_DELAY * (attempt - 1))
            try:
                if _fetch_once(url, folder, state, timeout, progress, usable):
                    break
                errors.append("incomplete transfer" if state.total is None else
                              f"incomplete transfer: received {state.received:,} of the {state.total:,} "
                              f"bytes the server announced")
            except urllib.error.HTTPError as e:
                if e.code < 500 and e.code not in (408, 429):
                    raise DownloadError(f"downloading {url} failed: HTTP {e.code} {e.reason}") from None
                errors.append(f"HTTP {e.code}")
            except (urllib.error.URLError, http.client.HTTPException, OSError) as e:  # incl. timeouts, resets
                errors.append(f"{type(e).__name__}: {e}")
        else:
            where = f"; the partial file {folder / (state.name + '.part')} is kept for resuming" \
                if state.name and (folder / (state.name + ".part")).exists() else ""
            raise DownloadError(f"downloading {url} failed after {retries + 1} attempts "
                                f"({'; '.join(errors[-3:])}){where}")
        if not state.cached:
            part = folder / (state.name + ".part")
            _check_file(part, state.name, url, state.content_type)
            for algorithm, expected in (("sha256", sha256), ("md5", md5)):
                if expected is not None:
                    actual = _hash_file(part, algorithm)
                    if actual != expected:
                        part.unlink()
                        raise ChecksumError(f"{algorithm} mismatch for {url}: expected {expected}, "
                                            f"got {actual}; the download was deleted")
            os.replace(part, folder / state.name)
    target = folder / state.name

    if not extract:
        return target
    out = folder / _archive_stem(state.name)
    marker = out / ".ganbook-extracted"
    stamp = f"{target.name} {target.stat().st_size} {target.stat().st_mtime_ns}"
    if marker.is_file() and marker.read_text() == stamp:
        return out
    tmp = folder / (out.name + ".extracting")
    shutil.rmtree(tmp, ignore_errors=True)
    _extract(target, tmp)
    write_text(tmp / marker.name, stamp)
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
    head, size = _head(archive), archive.stat().st_size
    lower = archive.name.lower()
    expected = next((what for suffixes, what, _ in _EXPECTED[:5] if lower.endswith(suffixes)),
                    "a zip or tar archive")
    found = _describe(head, size)
    if head.startswith(b"PK\x03\x04"):
        found += " whose end (the zip directory) is missing: a truncated or interrupted download"
    elif expected != "a zip or tar archive" and head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")):
        found += " without a tar archive inside, or cut short"
    raise ValueError(f"{archive} cannot be extracted: it {found}, not {expected} (extract() takes .zip, "
                     f".tar, .tar.gz/.tgz, .tar.bz2 and .tar.xz). If it was downloaded, delete it and download it "
                     f"again; open the URL in a browser to see what the server sends.")


_extract = extract  # download() has a parameter named "extract"
