"""Named real datasets: ``load_images("celeba", ...)`` downloads the archive once, then reads it like a .zip path.

The embedded kinds ("faces", "eyes", "anime") are drawn by ganutils and need no network; the names here are
the real photo sets the book's chapters were written for:

======================  =================================================================  ===========
name                    what                                                               images
======================  =================================================================  ===========
``"celeba"``            aligned CelebA, ``img_align_celeba.zip`` (178×218 JPEGs)            202,599
``"anime-faces"``       the Kaggle "Anime Face Dataset" (getchu.com character art, ~64 px)  63,632
``"eyes-photos"``       web-scraped close-up eye photos: no public archive exists          (none)
======================  =================================================================  ===========

Each :class:`Source` records what the set is, its terms of use, how to cite it, and one or more
:class:`Mirror` URLs tried in order, each with the digests and size its publisher gives (if any) and the
glob of the image members inside the archive. **No URL here was checked from the machine that built
ganbook**: it reaches package registries only, so every mirror carries ``checked=False``. The URLs are the
field's standard public locations (the Drive file torchvision and TensorFlow Datasets download, the Kaggle
dataset's download endpoint); when one fails, the error says what arrived (a quota or login page, an HTTP
error, no network, a wrong digest), lists every mirror tried, and says how to download the archive by hand
and pass its path instead.

- ``get(name) -> Source`` (``KeyError`` with a "did you mean" for a near miss)
- ``fetch(name, dest_dir=None, progress=True) -> Path``: the local archive, downloaded on first use
- ``local_archive(name, dest_dir=None) -> Path | None``: the archive if already downloaded
- ``suggest(text) -> str | None``: the kind or dataset name ``text`` is probably a typo of
"""

from __future__ import annotations

import difflib
import fnmatch
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from . import fetch as _fetch

__all__ = ["Mirror", "Source", "SOURCES", "NAMES", "SourceUnavailableError", "get", "fetch", "local_archive",
           "suggest"]


@dataclass(frozen=True)
class Mirror:
    """One place to download a source's archive.

    ``filename`` is the name it is cached under (Drive's and Kaggle's URLs do not end in one). ``sha256`` /
    ``md5`` / ``size`` are what the publisher states (None where nothing is published); ``members`` is a
    glob of the image members inside the archive; ``origin`` says where the URL and digests come from;
    ``checked`` is False unless someone downloaded from the URL and compared the digests.
    """
    url: str
    filename: str
    members: str
    origin: str
    sha256: str | None = None
    md5: str | None = None
    size: int | None = None
    checked: bool = False


@dataclass(frozen=True)
class Source:
    """A named real dataset: what it is, its terms, its citation, and where to get it (``mirrors``, tried in
    order; empty when there is no public archive, and then ``unavailable`` says what to do instead).
    ``weights_terms``: what the terms mean for a generator trained on the set (its data card says it)."""
    name: str
    title: str
    what: str
    count: int | None
    terms: str
    citation: str
    homepage: str
    crop: str  # the crop its chapter uses ("celeba", "center")
    mirrors: tuple = field(default_factory=tuple)
    unavailable: str | None = None
    weights_terms: str = ""


class SourceUnavailableError(_fetch.DownloadError):
    """A named dataset could not be had: no public archive, or every mirror failed (each failure is named)."""


_UNCHECKED = ("These URLs were not checked from the machine that built the book (it cannot download): a "
              "mirror may have moved, or may answer with a login or quota page.")

SOURCES = {s.name: s for s in (
    Source(
        name="celeba",
        title="CelebA, aligned and cropped (img_align_celeba.zip)",
        what="202,599 face photos of 10,177 celebrities, aligned on the eyes, 178×218 JPEGs",
        count=202_599,
        terms=("CelebA is available for non-commercial research and teaching purposes only; the images are "
               "not owned by its authors, and neither they nor derived images may be redistributed or used "
               "commercially (see the agreement on the homepage)."),
        citation=("Ziwei Liu, Ping Luo, Xiaogang Wang and Xiaoou Tang. Deep Learning Face Attributes in the "
                  "Wild. ICCV 2015."),
        homepage="https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html",
        crop="celeba",
        weights_terms=("The weights were trained on CelebA photographs and inherit CelebA's terms: "
                       "non-commercial research and teaching use only."),
        mirrors=(
            Mirror(
                # The authors' Google Drive file. The usercontent host with confirm=t skips the virus-scan
                # page Drive shows for files too big to scan; its daily quota still sends an HTML page.
                url=("https://drive.usercontent.google.com/download?id=0B7EVK8r0v71pZjFTYXZWM3FlRnM"
                     "&export=download&confirm=t"),
                filename="img_align_celeba.zip",
                members="img_align_celeba/*.jpg",
                sha256="46fb89443c578308acf364d7d379fe1b9efb793042c0af734b6112e4fd3a8c74",
                md5="00d2c5bc6d35e252742224ab0c1e8fcb",
                size=1_443_490_838,
                origin=("Drive file id from torchvision.datasets.CelebA (which also gives the md5); size and "
                        "sha256 from TensorFlow Datasets' url_checksums/celeb_a.txt for the same file id"),
            ),
            Mirror(
                # A Kaggle copy of the same images, in another zip: img_align_celeba/img_align_celeba/*.jpg
                # beside CSV versions of the annotations. No digest is published for it.
                url="https://www.kaggle.com/api/v1/datasets/download/jessicali9530/celeba-dataset",
                filename="celeba-dataset-kaggle.zip",
                members="img_align_celeba/img_align_celeba/*.jpg",
                origin="Kaggle dataset jessicali9530/celeba-dataset (public datasets download without login)",
            ),
        ),
    ),
    Source(
        name="anime-faces",
        title='Anime Face Dataset (Kaggle "splcher/animefacedataset")',
        what=("63,632 anime character faces cropped from pictures on getchu.com with nagadomi's "
              "lbpcascade_animeface detector; JPEGs of about 64×64 to 100×100 pixels"),
        count=63_632,
        terms=("Scraped from getchu.com: the pictures are third-party artwork whose copyright stays with "
               "their owners; no licence is granted for them. Use them for study and research, cite the "
               "dataset, and do not redistribute the images."),
        citation=("Brian Chao and Spencer Churchill. Anime Face Dataset. "
                  "https://github.com/bchao1/Anime-Face-Dataset, https://www.kaggle.com/datasets/splcher/"
                  "animefacedataset"),
        homepage="https://www.kaggle.com/datasets/splcher/animefacedataset",
        crop="center",
        mirrors=(
            Mirror(
                url="https://www.kaggle.com/api/v1/datasets/download/splcher/animefacedataset",
                filename="animefacedataset.zip",
                members="images/*.jpg",
                origin="Kaggle's download endpoint for splcher/animefacedataset; no digest is published",
            ),
        ),
    ),
    Source(
        name="eyes-photos",
        title="Close-up eye photos (web-scraped)",
        what=("about 1,000 close-up photos of single eyes that the eye chapter's recipe collected from the "
              "web (128×128, plus a mirrored copy of each)"),
        count=None,
        terms="Web-scraped photos of people: the copyright and the subjects' rights stay with their owners.",
        citation=("William Chen. Creating New Humans With Generative Adversarial Networks and Deep Learning. "
                  "Geek Culture (Medium), 2021: the recipe; its photos were never published as a dataset."),
        homepage="",
        crop="center",
        unavailable=("the eye photos the book was trained on were scraped from the web and were never "
                     "published: there is no public archive to download. Collect close-up eye photos "
                     "yourself (crop each square around one eye), put them in a folder, and pass its path, "
                     "e.g. data = '/content/eyes/'; or keep data = 'eyes' for the embedded eyes."),
    ),
)}
NAMES = tuple(SOURCES)


def suggest(text, extra=()):
    """The embedded kind or dataset name that ``text`` is closest to (a typo such as "celeb" or
    "anime_faces"), or None when nothing is close."""
    from .procedural import KINDS
    if not isinstance(text, str) or not text.strip():
        return None
    choices = list(KINDS) + list(NAMES) + list(extra)
    lowered = {c.lower(): c for c in choices}
    key = text.strip().lower().replace("_", "-").replace(" ", "-")
    if key in lowered:
        return lowered[key]
    close = difflib.get_close_matches(key, list(lowered), n=1, cutoff=0.6)
    return lowered[close[0]] if close else None


def get(name) -> Source:
    """The :class:`Source` named ``name``; ``KeyError`` naming the choices (and a near miss) otherwise."""
    try:
        return SOURCES[name]
    except (KeyError, TypeError):
        near = suggest(name)
        hint = f"; did you mean {near!r}?" if near in SOURCES else ""
        raise KeyError(f"no named dataset {name!r}{hint} The named datasets are: {', '.join(NAMES)}") from None


def _folder(source, dest_dir):
    return Path(dest_dir).expanduser() if dest_dir is not None else _fetch.cache_dir() / "datasets" / source.name


def local_archive(name, dest_dir=None):
    """The archive of ``name`` if a mirror's file is already downloaded, else None (no network is used)."""
    source = get(name)
    folder = _folder(source, dest_dir)
    for mirror in source.mirrors:
        path = folder / mirror.filename
        if path.is_file():
            return path
    return None


def _check_layout(path, mirror):
    """The archive must hold images where the mirror says (else it is not the archive we expect)."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except zipfile.BadZipFile as e:
        raise ValueError(f"{path} is not a readable zip archive ({e})") from None
    if not any(fnmatch.fnmatchcase(n, mirror.members) for n in names):
        shown = ", ".join(names[:3]) or "nothing"
        raise ValueError(f"{path} holds no members matching {mirror.members!r} (it starts with {shown}): "
                         f"not the archive {mirror.url} served before. If its images are what you want, "
                         f"pass its path as data; otherwise delete it to download it again.")


def _manual(source):
    first = source.mirrors[0]
    where = source.homepage or first.url
    return (f"To go on without this download, get {first.filename} yourself from {where} (in Colab: upload "
            f"it, or copy it from your Google Drive to /content), and pass its path as data, e.g. "
            f"data = '/content/{first.filename}'; a folder of the images works too.")


def fetch(name, dest_dir=None, progress=True) -> Path:
    """The local archive of the named dataset: downloaded on first use into ``dest_dir`` (default
    ``cache_dir()/datasets/NAME``), checked against the published sha256/md5 where there is one, then
    returned from the cache without touching the network.

    Mirrors are tried in order. A mirror that answers with an HTML page (Drive's quota page, Kaggle's login
    page), an HTTP error, no network, a short transfer or a wrong digest is skipped (nothing of it is kept),
    and when every mirror fails :class:`SourceUnavailableError` lists what each one did, says that the URLs
    were not checked from the build machine, and how to pass a hand-downloaded archive instead. A source
    with no public archive raises it at once with what to do instead.
    """
    source = get(name)
    if not source.mirrors:
        raise SourceUnavailableError(f"{source.name!r} ({source.title}) cannot be downloaded: "
                                     f"{source.unavailable}")
    existing = local_archive(name, dest_dir)
    if existing is not None:
        mirror = next(m for m in source.mirrors if m.filename == existing.name)
        _check_layout(existing, mirror)
        return existing
    folder = _folder(source, dest_dir)
    failures = []
    for mirror in source.mirrors:
        if progress:
            size = f" ({mirror.size / 1e9:.2f} GB)" if mirror.size else ""
            print(f"Downloading {source.name!r}: {mirror.filename}{size} from {mirror.url}\n"
                  f"Terms: {source.terms}", flush=True)
        try:
            path = _fetch.download(mirror.url, mirror.sha256, md5=mirror.md5, dest_dir=folder,
                                   filename=mirror.filename, progress=progress)
        except (_fetch.DownloadError, _fetch.ChecksumError, OSError) as e:
            failures.append(f"- {mirror.url}: {e}")
            continue
        _check_layout(path, mirror)
        return path
    raise SourceUnavailableError(
        f"could not download {source.name!r} ({source.title}) from any of its {len(source.mirrors)} "
        f"URL(s):\n" + "\n".join(failures) + f"\n{_UNCHECKED} Without a network connection no named dataset "
        f"can be fetched. {_manual(source)}")
