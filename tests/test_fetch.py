"""ganutils.data.fetch against a local HTTP server (127.0.0.1 only): caching, resume, restart, checksums,
and safe extraction of good and evil archives."""

import hashlib
import io
import os
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
    honoured: always 200 with the whole file), wrong (other bytes of the same length), missing (404)."""

    def __init__(self):
        self.mode = "ok"
        self.data = PAYLOAD
        self.requests = []  # the headers of every request
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                server.requests.append(dict(self.headers))
                if server.mode == "missing":
                    self.send_error(404, "Not Found")
                    return
                data = server.data if server.mode != "wrong" else bytes(len(server.data))
                start = 0
                range_header = self.headers.get("Range")
                if range_header and server.mode not in ("ignore_range", "cut_then_ignore_range"):
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
                self.end_headers()
                cut = server.mode in ("cut", "cut_then_ignore_range") and len(server.requests) == 1
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
    with pytest.raises(ValueError, match="neither a zip nor a tar archive"):
        extract(tmp_path / "notes.txt", tmp_path / "out")
    with pytest.raises(FileNotFoundError, match="no such archive"):
        extract(tmp_path / "missing.zip", tmp_path / "out")
