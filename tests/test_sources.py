"""ganutils.data.sources: named real datasets ("celeba", "anime-faces", "eyes-photos") downloaded on first use.

Every download here is from a local HTTP server on 127.0.0.1 (test_fetch's): a tiny zip of CelebA-shaped
JPEGs stands in for img_align_celeba.zip, and the registry's URL and digests are patched to point at it.
"""

import dataclasses
import hashlib
import io
import socket
import zipfile

import numpy as np
import pytest
from PIL import Image

from ganutils import params
from ganutils.data import fetch, image_dataset, list_images, load_images, sources
from ganutils.data.sources import Mirror, SourceUnavailableError
from ganutils.params import DataSource, ParameterError
from test_fetch import _Server

FACE, BACKGROUND = (200, 30, 40), (20, 40, 220)  # the 108×108 face square, and the rest of the photo
N = 5


def _celeba_zip(n=N, folder="img_align_celeba"):
    """A zip like img_align_celeba.zip: n 178×218 JPEGs whose centred 108×108 square is FACE."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for i in range(n):
            im = Image.new("RGB", (178, 218), BACKGROUND)
            im.paste(FACE, ((178 - 108) // 2, (218 - 108) // 2, (178 - 108) // 2 + 108, (218 - 108) // 2 + 108))
            out = io.BytesIO()
            im.save(out, "JPEG", quality=95)
            zf.writestr(f"{folder}/{i + 1:06d}.jpg", out.getvalue())
    return buffer.getvalue()


ARCHIVE = _celeba_zip()


@pytest.fixture()
def server():
    s = _Server()
    s.data = ARCHIVE
    yield s
    s.close()


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    """Every test downloads into its own cache folder, without waiting between retries."""
    monkeypatch.setenv("GANBOOK_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(fetch, "_RETRY_DELAY", 0.0)
    return tmp_path / "cache"


def _mirror(url, data=ARCHIVE, **changes):
    fields = dict(url=url, filename="img_align_celeba.zip", members="img_align_celeba/*.jpg", origin="test",
                  sha256=hashlib.sha256(data).hexdigest(), md5=hashlib.md5(data).hexdigest(), size=len(data))
    fields.update(changes)
    return Mirror(**fields)


def _serve_as(monkeypatch, name, *mirrors):
    monkeypatch.setitem(sources.SOURCES, name, dataclasses.replace(sources.SOURCES[name], mirrors=mirrors))


def _closed_port_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/uc?id=gone"


def _archive_files(cache):
    folder = cache / "datasets" / "celeba"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_celeba_by_name_is_downloaded_once_verified_and_cropped(server, monkeypatch, _cache):
    _serve_as(monkeypatch, "celeba", _mirror(server.url + "?id=celeba&export=download"))
    images = load_images("celeba", 28, crop="celeba")
    assert images.shape == (N, 28, 28, 3) and images.dtype == np.uint8
    # "celeba" keeps the 108×108 face square only: no background inside (JPEG blurs the outermost pixels)
    assert np.abs(images[:, 2:-2, 2:-2].astype(int) - FACE).max() < 40
    assert np.abs(images.astype(int) - FACE).mean() < 10
    # the largest centred square ("center") has background above and below the face
    assert np.abs(load_images("celeba", 28, crop="center").astype(int)[:, 0, 14] - BACKGROUND).max() < 40
    assert len(server.requests) == 1 and _archive_files(_cache) == ["img_align_celeba.zip"]
    assert (_cache / "datasets" / "celeba" / "img_align_celeba.zip").read_bytes() == ARCHIVE
    # the image files it reads are the archive's members
    assert len(list_images(_cache / "datasets" / "celeba" / "img_align_celeba.zip")) == N


def test_image_dataset_takes_the_name_too(server, monkeypatch):
    _serve_as(monkeypatch, "celeba", _mirror(server.url))
    batch = next(iter(image_dataset("celeba", 28, 4, crop="celeba", cache=None)))
    assert tuple(batch.shape) == (4, 28, 28, 3)
    assert len(server.requests) == 1


def test_wrong_checksum_is_refused_and_not_cached(server, monkeypatch, _cache):
    _serve_as(monkeypatch, "celeba", _mirror(server.url, sha256=hashlib.sha256(b"another file").hexdigest()))
    for attempt in (1, 2):  # nothing was kept: the second call downloads again, and is refused again
        with pytest.raises(SourceUnavailableError) as info:
            load_images("celeba", 28, crop="celeba")
        message = str(info.value)
        assert "sha256 mismatch" in message and "the download was deleted" in message
        assert "not checked from the machine that built the book" in message
        assert "pass its path as data" in message
        assert _archive_files(_cache) == []
        assert len(server.requests) == attempt


def test_wrong_md5_is_refused_too(server, monkeypatch, _cache):
    _serve_as(monkeypatch, "celeba", _mirror(server.url, sha256=None, md5=hashlib.md5(b"x").hexdigest()))
    with pytest.raises(SourceUnavailableError, match="md5 mismatch"):
        load_images("celeba", 28, crop="celeba")
    assert _archive_files(_cache) == []


def test_quota_page_says_what_arrived_and_what_to_do(server, monkeypatch, _cache):
    server.data = (b"<!DOCTYPE html><html><head><title>Google Drive - Quota exceeded</title></head>"
                   b"<body>Too many users have viewed or downloaded this file recently.</body></html>")
    _serve_as(monkeypatch, "celeba", _mirror(server.url, data=ARCHIVE))
    with pytest.raises(SourceUnavailableError) as info:
        load_images("celeba", 28, crop="celeba")
    message = str(info.value)
    assert "an HTML page titled 'Google Drive - Quota exceeded'" in message
    assert "data = '/content/img_align_celeba.zip'" in message
    assert _archive_files(_cache) == []


def test_no_network_names_every_mirror_then_the_next_mirror_is_used(server, monkeypatch):
    gone = _closed_port_url()
    _serve_as(monkeypatch, "celeba", _mirror(gone))
    with pytest.raises(SourceUnavailableError) as info:
        load_images("celeba", 28, crop="celeba")
    message = str(info.value)
    assert gone in message and "failed after 4 attempts" in message and "Without a network connection" in message
    # a dead first mirror is skipped for the next one
    _serve_as(monkeypatch, "celeba", _mirror(gone), _mirror(server.url, filename="copy.zip"))
    assert load_images("celeba", 28, crop="celeba").shape == (N, 28, 28, 3)
    assert len(server.requests) == 1


def test_archive_without_the_expected_members_is_named(server, monkeypatch):
    server.data = _celeba_zip(folder="somewhere_else")
    _serve_as(monkeypatch, "celeba", _mirror(server.url, data=server.data))
    with pytest.raises(ValueError, match=r"no members matching 'img_align_celeba/\*\.jpg'"):
        load_images("celeba", 28, crop="celeba")


def test_decoded_cache_is_used_without_downloading_again(server, monkeypatch, _cache, tmp_path):
    _serve_as(monkeypatch, "celeba", _mirror(server.url))
    first = load_images("celeba", 28, crop="celeba", cache=tmp_path / "celeba28.npy")
    (_cache / "datasets" / "celeba" / "img_align_celeba.zip").unlink()  # a new Colab session: no archive
    server.mode = "missing"
    again = load_images("celeba", 28, crop="celeba", cache=tmp_path / "celeba28.npy")
    assert np.array_equal(first, again) and len(server.requests) == 1
    # other settings are not in the cache: they need the archive, and the error says so
    with pytest.raises(SourceUnavailableError, match="HTTP 404"):
        load_images("celeba", 32, crop="celeba", cache=tmp_path / "celeba28.npy")


def test_a_source_without_public_archive_says_what_to_do_instead(tmp_path):
    with pytest.raises(SourceUnavailableError) as info:
        load_images("eyes-photos", 64)
    assert "no public archive" in str(info.value) and "pass its path" in str(info.value)
    with pytest.raises(ParameterError, match="no public archive"):
        params.check({"__annotations__": {"data": DataSource}, "data": "eyes-photos"})


def test_an_existing_folder_of_that_name_wins(tmp_path, monkeypatch):
    folder = tmp_path / "celeba"
    folder.mkdir()
    Image.new("RGB", (40, 40), FACE).save(folder / "a.png")
    monkeypatch.chdir(tmp_path)
    assert load_images("celeba", 16).shape == (1, 16, 16, 3)  # no server: nothing was downloaded


def _checked(value):
    namespace = {"__annotations__": {"data": DataSource}, "data": value}
    params.check(namespace)
    return namespace["data"]


def test_params_take_the_names_and_suggest_one_for_a_typo():
    for name in ("celeba", "anime-faces", "faces", "eyes", "anime"):
        assert _checked(name) == name
    for typo, meant in {"celeb": "celeba", "CelebA": "celeba", "anime_faces": "anime-faces",
                        "animefaces": "anime-faces", "face": "faces"}.items():
        with pytest.raises(ParameterError) as info:
            _checked(typo)
        assert f"no such folder or file: {typo}; did you mean {meant!r}?" in str(info.value)
    with pytest.raises(ParameterError) as info:  # a path is not a misspelt name
        _checked("/data/celeb")
    assert "did you mean" not in str(info.value)
    with pytest.raises(ValueError, match="did you mean 'anime-faces'"):
        load_images("anime_faces", 16)


def test_registry_is_complete_and_honest():
    assert set(sources.NAMES) == {"celeba", "anime-faces", "eyes-photos"}
    assert not set(sources.NAMES) & {"faces", "eyes", "anime"}  # the embedded kinds keep their names
    for source in sources.SOURCES.values():
        assert source.terms and source.citation and source.what
        assert bool(source.mirrors) != bool(source.unavailable)
        if source.mirrors:
            assert source.name in DataSource.expected  # the parameter's help names every downloadable set
        for mirror in source.mirrors:
            assert mirror.checked is False  # nothing could be downloaded from the build machine
            assert mirror.url.startswith("https://") and "/" not in mirror.filename
            assert mirror.filename.endswith(".zip") and mirror.members and mirror.origin
            assert mirror.sha256 is None or len(mirror.sha256) == 64
            assert mirror.md5 is None or len(mirror.md5) == 32
    celeba = sources.get("celeba").mirrors[0]
    assert "0B7EVK8r0v71pZjFTYXZWM3FlRnM" in celeba.url and celeba.filename == "img_align_celeba.zip"
    assert celeba.md5 == "00d2c5bc6d35e252742224ab0c1e8fcb" and celeba.size == 1_443_490_838
    assert sources.get("celeba").count == 202_599
    with pytest.raises(KeyError, match="did you mean 'celeba'"):
        sources.get("celeb")
