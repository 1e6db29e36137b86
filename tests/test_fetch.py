"""ganutils.data.fetch against a local HTTP server (127.0.0.1 only): caching, resume, restart, checksums,
and safe extraction of good and evil archives."""

import hashlib
import io
import os
import re
import tarfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ganutils.data import fetch
from ganutils.data.fetch import ChecksumError, DownloadError, UnsafeArchiveError, download, extract

PAYLOAD = bytes(range(256)) * 4096 + b"tail"  # 1 MiB + 4 bytes, every offset distinguishable
DIGEST = hashlib.sha256(PAYLOAD).hexdigest()


class _Server:
    """A tiny HTTP server for one file with Range support and failure modes:
    cut (the first response stops after half the bytes), cut_then_ignore_range (that, and Range is never
    honoured: always 200 with the whole file), short (every response stops after half the bytes and Range
    is never honoured), wrong (other bytes of the same length), missing (404). ``headers`` are sent with
    every answer; ``after_first`` replaces ``data`` once the first request has been answered."""

    def __init__(self):
        self.mode = "ok"
        self.data = PAYLOAD
        self.headers = {}
        self.after_first = None
        self.requests = []  # the headers of every request
        self.paths = []  # the path (with query) of every request
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                server.requests.append(dict(self.headers))
                server.paths.append(self.path)
                if len(server.requests) == 2 and server.after_first is not None:
                    server.data = server.after_first
                if server.mode == "missing":
                    self.send_error(404, "Not Found")
                    return
                data = server.data if server.mode != "wrong" else bytes(len(server.data))
                start = 0
                range_header = self.headers.get("Range")
                if range_header and server.mode not in ("ignore_range", "cut_then_ignore_range", "short"):
                    start = int(range_header.split("=")[1].split("-")[0])
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(data)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                for key, value in server.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                cut = (server.mode in ("cut", "cut_then_ignore_range") and len(server.requests) == 1
                       or server.mode == "short")
                if cut:
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/files/data.bin"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def server():
    s = _Server()
    yield s
    s.close()


@pytest.fixture(autouse=True)
def _no_retry_delay(monkeypatch):
    monkeypatch.setattr(fetch, "_RETRY_DELAY", 0.0)


def test_download_then_cache_hit_makes_no_request(server, tmp_path):
    path = download(server.url, DIGEST, dest_dir=tmp_path, progress=False)
    assert path == tmp_path / "data.bin" and path.read_bytes() == PAYLOAD
    assert len(server.requests) == 1 and "Range" not in server.requests[0]
    assert download(server.url, DIGEST, dest_dir=tmp_path, progress=False) == path
    assert download(server.url, dest_dir=tmp_path, progress=False) == path
    assert len(server.requests) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.bin"]  # no .part left


def test_default_folder_comes_from_environment(server, tmp_path, monkeypatch):
    monkeypatch.setenv("GANBOOK_CACHE", str(tmp_path / "cache"))
    path = download(server.url, filename="renamed.bin", progress=False)
    assert path == tmp_path / "cache" / "renamed.bin" and path.read_bytes() == PAYLOAD


def test_broken_connection_is_resumed_with_range(server, tmp_path):
    server.mode = "cut"
    path = download(server.url, DIGEST, dest_dir=tmp_path, progress=False)
    assert path.read_bytes() == PAYLOAD
    assert len(server.requests) == 2
    assert "Range" not in server.requests[0]
    assert server.requests[1]["Range"] == f"bytes={len(PAYLOAD) // 2}-"


def test_server_ignoring_range_restarts_from_zero(server, tmp_path):
    server.mode = "cut_then_ignore_range"
    path = download(server.url, DIGEST, dest_dir=tmp_path, progress=False)
    assert path.read_bytes() == PAYLOAD  # not the first half followed by the whole file
    assert len(server.requests) == 2 and server.requests[1]["Range"] == f"bytes={len(PAYLOAD) // 2}-"


def test_partial_file_bigger_than_resource_restarts(server, tmp_path):
    (tmp_path / "data.bin.part").write_bytes(PAYLOAD + b"stale extra bytes")
    path = download(server.url, DIGEST, dest_dir=tmp_path, progress=False)
    assert path.read_bytes() == PAYLOAD
    assert [("Range" in r) for r in server.requests] == [True, False]


def test_checksum_mismatch_raises_and_leaves_nothing(server, tmp_path):
    server.mode = "wrong"
    wrong = hashlib.sha256(bytes(len(PAYLOAD))).hexdigest()
    with pytest.raises(ChecksumError, match=f"expected {DIGEST}, got {wrong}"):
        download(server.url, DIGEST, dest_dir=tmp_path, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_cached_file_with_wrong_digest_is_fetched_again(server, tmp_path):
    (tmp_path / "data.bin").write_bytes(b"old version")
    assert download(server.url, DIGEST, dest_dir=tmp_path, progress=False).read_bytes() == PAYLOAD
    assert len(server.requests) == 1


def test_http_errors_and_retries_give_clear_errors(server, tmp_path):
    server.mode = "missing"
    with pytest.raises(DownloadError, match=r"data\.bin failed: HTTP 404"):
        download(server.url, dest_dir=tmp_path, progress=False)
    assert len(server.requests) == 1  # a 404 is not retried
    server.close()
    with pytest.raises(DownloadError, match=r"failed after 2 attempts"):
        download(server.url, dest_dir=tmp_path, retries=1, timeout=5, progress=False)
    with pytest.raises(ValueError, match="sha256 must be a 64-character hex digest"):
        download(server.url, "abc", dest_dir=tmp_path)
    with pytest.raises(ValueError, match="cannot tell a file name"):
        download("http://127.0.0.1:9/", dest_dir=tmp_path)


def test_download_with_extract(server, tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("img_align_celeba/000001.jpg", b"jpeg bytes")
    server.data = buf.getvalue()
    url = server.url.replace("data.bin", "celeba.zip")
    folder = download(url, dest_dir=tmp_path, extract=True, progress=False)
    assert folder == tmp_path / "celeba"
    assert (folder / "img_align_celeba" / "000001.jpg").read_bytes() == b"jpeg bytes"
    assert download(url, dest_dir=tmp_path, extract=True, progress=False) == folder
    assert len(server.requests) == 1 and not (tmp_path / "celeba.extracting").exists()


# ----------------------------------------------------------------------------------------------- extraction

def _tar(path, entries, mode="w:gz"):
    """entries: (name, kind, payload) with kind 'file', 'dir', 'sym', 'hard' or 'dev'."""
    with tarfile.open(path, mode) as tf:
        for name, kind, payload in entries:
            info = tarfile.TarInfo(name)
            if kind == "file":
                info.size = len(payload)
                tf.addfile(info, io.BytesIO(payload))
                continue
            info.type = {"dir": tarfile.DIRTYPE, "sym": tarfile.SYMTYPE, "hard": tarfile.LNKTYPE,
                         "dev": tarfile.CHRTYPE}[kind]
            info.linkname = payload or ""
            tf.addfile(info)
    return path


def _zip(path, entries, symlinks=()):
    with zipfile.ZipFile(path, "w") as zf:
        for name, payload in entries:
            zf.writestr(name, payload)
        for name, target in symlinks:
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o120777 << 16)
            zf.writestr(info, target)
    return path


def test_extract_good_archives(tmp_path):
    z = _zip(tmp_path / "good.zip", [("a/1.txt", b"one"), ("a/b/2.txt", b"two")])
    assert extract(z, tmp_path / "z") == tmp_path / "z"
    assert (tmp_path / "z" / "a" / "b" / "2.txt").read_bytes() == b"two"
    for suffix, mode in ((".tar", "w"), (".tar.gz", "w:gz"), (".tgz", "w:gz")):
        t = _tar(tmp_path / f"good{suffix}", [("d", "dir", None), ("d/x.txt", "file", b"x"),
                                              ("d/link", "sym", "x.txt")], mode)
        out = extract(t, tmp_path / f"t{suffix}")
        assert (out / "d" / "x.txt").read_bytes() == b"x"
        assert os.readlink(out / "d" / "link") == "x.txt"


@pytest.mark.parametrize("entry, reason", [
    (("/etc/evil", "file", b"x"), "absolute path"),
    (("../evil", "file", b"x"), r"'\.\.' component"),
    (("ok/../../evil", "file", b"x"), r"'\.\.' component"),
    (("link", "sym", "/etc/passwd"), "points outside"),
    (("a/link", "sym", "../../outside"), "points outside"),
    (("hard", "hard", "../outside"), "points outside"),
    (("dev", "dev", None), "device or special file"),
])
def test_evil_tar_is_refused_before_writing_anything(tmp_path, entry, reason):
    t = _tar(tmp_path / "evil.tar.gz", [("first.txt", "file", b"harmless"), entry])
    dest = tmp_path / "out"
    with pytest.raises(UnsafeArchiveError, match=f"evil.tar.gz: refusing .*{entry[0].split('/')[-1]}.*{reason}"):
        extract(t, dest)
    assert list(dest.iterdir()) == [] and not (tmp_path / "evil").exists()


@pytest.mark.parametrize("name, reason", [("/abs.txt", "absolute path"), ("../up.txt", r"'\.\.' component"),
                                          ("a\\..\\..\\win.txt", r"'\.\.' component")])
def test_evil_zip_is_refused(tmp_path, name, reason):
    z = _zip(tmp_path / "evil.zip", [("ok.txt", b"x"), (name, b"evil")])
    with pytest.raises(UnsafeArchiveError, match=reason):
        extract(z, tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []


def test_zip_symlink_escaping_target_is_refused(tmp_path):
    z = _zip(tmp_path / "link.zip", [("ok.txt", b"x")], symlinks=[("escape", "../../etc/passwd")])
    with pytest.raises(UnsafeArchiveError, match=r"refusing symlink 'escape' -> '\.\./\.\./etc/passwd'"):
        extract(z, tmp_path / "out")


def test_extract_rejects_non_archives(tmp_path):
    (tmp_path / "notes.txt").write_text("plain text")
    with pytest.raises(ValueError, match="cannot be extracted: it starts with 'plain text': text, not a zip or"):
        extract(tmp_path / "notes.txt", tmp_path / "out")
    with pytest.raises(FileNotFoundError, match="no such archive"):
        extract(tmp_path / "missing.zip", tmp_path / "out")



# ---------------------------------------------------------------- downloads that answer with the wrong thing
# Issue 13, part 6. Each test failed on the code before the content checks.

QUOTA_PAGE = (b"<!DOCTYPE html><html><head><title>Google Drive - Quota exceeded</title></head>"
              b"<body><p>Too many users have viewed or downloaded this file recently.</p></body></html>")


def _zip_bytes(entries=(("img_align_celeba/000001.jpg", b"jpeg bytes"),)):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, payload in entries:
            zf.writestr(name, payload)
    return buf.getvalue()


def _tar_gz_bytes():
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        info = tarfile.TarInfo("a.txt")
        info.size = 1
        tf.addfile(info, io.BytesIO(b"a"))
    return buf.getvalue()


def test_html_page_instead_of_zip_is_refused_and_not_cached_then_retry_succeeds(server, tmp_path):
    server.data = QUOTA_PAGE
    server.headers = {"Content-Type": "text/html; charset=utf-8"}
    url = server.url.replace("data.bin", "img_align_celeba.zip")
    with pytest.raises(fetch.WrongContentError,
                       match=r"starts with <!DOCTYPE html>: an HTML page titled 'Google Drive - Quota "
                             r"exceeded', not the file img_align_celeba\.zip.*Nothing was cached.*"
                             r"open the URL in a browser"):
        download(url, dest_dir=tmp_path, extract=True, progress=False)
    assert list(tmp_path.iterdir()) == []  # neither the page nor a .part
    server.data, server.headers = _zip_bytes(), {"Content-Type": "application/zip"}
    folder = download(url, dest_dir=tmp_path, extract=True, progress=False)
    assert (folder / "img_align_celeba" / "000001.jpg").read_bytes() == b"jpeg bytes"
    assert len(server.requests) == 2


def test_html_page_is_refused_for_any_non_html_name(server, tmp_path):
    server.data = b"\n  <html><body>Sign in to continue</body></html>"  # no doctype, no Content-Type
    with pytest.raises(fetch.WrongContentError,
                       match=r"starts with <html>: an HTML page, not the file data\.bin"):
        download(server.url, dest_dir=tmp_path, progress=False)
    assert list(tmp_path.iterdir()) == []
    page = download(server.url.replace("data.bin", "index.html"), dest_dir=tmp_path, progress=False)
    assert page.read_bytes() == server.data  # asked for a page: a page is fine


def test_cached_html_page_from_an_older_version_is_fetched_again(server, tmp_path):
    (tmp_path / "img_align_celeba.zip").write_bytes(QUOTA_PAGE)  # what the old code left in the cache
    (tmp_path / "data.bin.part").write_bytes(QUOTA_PAGE[:50])  # and an error page it would resume onto
    server.data = _zip_bytes()
    url = server.url.replace("data.bin", "img_align_celeba.zip")
    folder = download(url, dest_dir=tmp_path, extract=True, progress=False)
    assert (folder / "img_align_celeba" / "000001.jpg").read_bytes() == b"jpeg bytes"
    server.data = PAYLOAD
    assert download(server.url, DIGEST, dest_dir=tmp_path, progress=False).read_bytes() == PAYLOAD
    assert "Range" not in server.requests[-1]  # the error page was not resumed onto


@pytest.mark.parametrize("name, data, found", [
    ("celeba.zip", b"\x1f\x8b\x08\x00" + bytes(60), r"starts with 1f 8b: gzip data, not a zip archive"),
    ("celeba.zip", _zip_bytes()[:-30], r"a zip archive whose end \(the zip directory\) is missing: a trunc"),
    ("faces.tar.gz", _zip_bytes(), r"starts with 50 4b 03 04: a zip archive, not a gzip-compressed tar"),
    ("faces.tgz", b"plain words\n", r"starts with 'plain words': text, not a gzip-compressed tar"),
    ("weights.h5", b"", r"is empty \(0 bytes\), not an HDF5 file"),
    ("photo.png", b"\xff\xd8\xff\xe0" + bytes(60), r"starts with ff d8 ff: a JPEG image, not a PNG image"),
], ids=["gzip-as-zip", "truncated-zip", "zip-as-tar.gz", "text-as-tgz", "empty-h5", "jpeg-as-png"])
def test_not_the_type_the_name_says_is_refused(server, tmp_path, name, data, found):
    server.data = data
    url = server.url.replace("data.bin", name)
    with pytest.raises(fetch.WrongContentError, match=found + f".* as the name {re.escape(name)} says"):
        download(url, dest_dir=tmp_path, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_matching_types_are_accepted(server, tmp_path):
    for name, data in (("a.zip", _zip_bytes()), ("b.tar.gz", _tar_gz_bytes()), ("c.bin", PAYLOAD)):
        server.data = data
        assert download(server.url.replace("data.bin", name), dest_dir=tmp_path,
                        progress=False).read_bytes() == data


def test_size_far_from_content_length_is_named_and_not_cached(server, tmp_path):
    server.mode = "short"  # announces the whole file, sends half, never honours Range
    with pytest.raises(DownloadError, match=rf"received {len(PAYLOAD) // 2:,} of the {len(PAYLOAD):,} bytes "
                                            r"the server announced"):
        download(server.url, dest_dir=tmp_path, retries=1, progress=False)
    assert not (tmp_path / "data.bin").exists()


def test_file_that_changed_size_between_attempts_restarts(server, tmp_path):
    server.mode = "cut"
    new = PAYLOAD[::-1] + b"a longer, newer version"
    server.after_first = new
    path = download(server.url, dest_dir=tmp_path, progress=False)
    assert path.read_bytes() == new  # not the old first half followed by the new file's tail
    assert len(server.requests) == 3 and "Range" not in server.requests[2]


@pytest.mark.parametrize("disposition", [
    'attachment; filename="img_align_celeba.zip"',
    "attachment; filename=fallback.zip; filename*=UTF-8''img_align_celeba.zip",
    'attachment; filename="../../img_align_celeba.zip"',  # never outside the cache folder
])
def test_drive_style_url_is_named_by_content_disposition(server, tmp_path, disposition):
    server.data = _zip_bytes()
    server.headers = {"Content-Disposition": disposition}
    url = server.url.replace("files/data.bin", "uc?export=download&id=0B7EVK8r0v71pZjFTYXZWM3FlRnM")
    path = download(url, dest_dir=tmp_path, progress=False)
    assert path == tmp_path / "img_align_celeba.zip" and path.read_bytes() == server.data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["img_align_celeba.zip"]
    folder = download(url, dest_dir=tmp_path, extract=True, progress=False)  # cached: the body is not read
    assert folder == tmp_path / "img_align_celeba" and len(server.requests) == 2


def test_drive_style_url_without_a_name_asks_for_filename(server, tmp_path):
    server.data = _zip_bytes()
    url = server.url.replace("files/data.bin", "uc?export=download&id=abc")
    with pytest.raises(ValueError, match=r"no Content-Disposition; pass filename="):
        download(url, dest_dir=tmp_path, progress=False)
    assert list(tmp_path.iterdir()) == []
    path = download(url, dest_dir=tmp_path, filename="celeba.zip", progress=False)
    assert path == tmp_path / "celeba.zip" and path.read_bytes() == server.data
    assert download(url, dest_dir=tmp_path, filename="celeba.zip", progress=False) == path
    assert len(server.requests) == 2  # the caller's name makes the cache work without a request


@pytest.mark.parametrize("name, data, found", [
    ("celeba.zip", QUOTA_PAGE, r"starts with <!DOCTYPE html>: an HTML page titled 'Google Drive - Quota "
                               r"exceeded', not a zip archive"),
    ("celeba.zip", _zip_bytes()[:-30], r"starts with 50 4b 03 04: a zip archive whose end .* truncated"),
    ("faces.tar.gz", b"\x1f\x8b\x08\x00" + bytes(30),
     r"gzip data without a tar archive inside, or cut short, not a gzip-compressed tar archive"),
    ("data.bin", bytes(range(8)) * 4, r"starts with bytes 00 01 02 03 04 05 06 07: not a file type"),
], ids=["html", "truncated-zip", "bad-tar.gz", "unknown"])
def test_archive_errors_say_what_they_found(tmp_path, name, data, found):
    (tmp_path / name).write_bytes(data)
    with pytest.raises(ValueError, match=found + r".*delete it and download it again"):
        extract(tmp_path / name, tmp_path / "out")
