"""ganutils.data.files: listing, decoding real image formats, crops, the tf.data pipeline, cache, errors."""

import os
import shutil
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from ganutils.data import files
from ganutils.data.files import SkippedImagesWarning, image_dataset, list_images, load_images

RED, GREEN, BLUE = (220, 20, 20), (20, 200, 20), (20, 20, 220)


def _solid(size, colour, mode="RGB"):
    return Image.new(mode, size, colour)


def _close(pixel, colour, tol=12):
    return np.abs(np.asarray(pixel, int) - np.asarray(colour, int)).max() <= tol


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    """A folder of readable images in many formats and modes; returns (folder, {name: expected centre colour})."""
    root = tmp_path_factory.mktemp("good")
    (root / "sub" / "deeper").mkdir(parents=True)
    expected = {}

    _solid((100, 80), RED).save(root / "rgb.jpg", quality=95)
    expected["rgb.jpg"] = RED
    _solid((90, 90), 128, "L").save(root / "gray.jpg", quality=95)
    expected["gray.jpg"] = (128, 128, 128)

    # RGBA: left half opaque green, right half fully transparent with black RGB underneath.
    rgba = np.zeros((64, 64, 4), np.uint8)
    rgba[:, :32] = (*GREEN, 255)
    Image.fromarray(rgba, "RGBA").save(root / "sub" / "rgba.png")
    expected["sub/rgba.png"] = None  # checked separately

    # Palette image with a transparent index: index 0 transparent, index 1 blue.
    pal = Image.new("P", (40, 40), 1)
    pal.putpalette([0, 0, 0, *BLUE] + [0] * 762)
    pal.paste(0, (0, 0, 40, 10))  # a transparent band at the top
    pal.save(root / "sub" / "deeper" / "palette.png", transparency=0)
    expected["sub/deeper/palette.png"] = BLUE

    g16 = np.full((50, 50), 32896, np.uint16)  # 32896 / 257 = 128
    Image.fromarray(g16).save(root / "gray16.png")
    expected["gray16.png"] = (128, 128, 128)

    _solid((70, 50), BLUE).save(root / "image.bmp")
    expected["image.bmp"] = BLUE

    frames = [_solid((48, 48), c).convert("P") for c in (RED, BLUE, GREEN)]
    frames[0].save(root / "anim.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
    expected["anim.gif"] = RED

    _solid((32, 32), GREEN).save(root / "small.png")
    expected["small.png"] = GREEN
    _solid((6000, 400), BLUE).save(root / "wide.jpg", quality=90)
    expected["wide.jpg"] = BLUE
    _solid((400, 6000), GREEN).save(root / "tall.jpg", quality=90)
    expected["tall.jpg"] = GREEN
    if ".webp" in files.IMAGE_EXTENSIONS:
        _solid((60, 60), RED).save(root / "pic.webp", lossless=True)
        expected["pic.webp"] = RED
    (root / "notes.txt").write_text("not an image, and not named like one")
    _solid((20, 20), RED).save(root / ".hidden.png")
    return root, expected


@pytest.fixture()
def bad_folder(tmp_path):
    """Two good images plus a truncated JPEG, a truncated PNG, a text file named .jpg and a zero-byte .png."""
    root = tmp_path / "mixed"
    root.mkdir()
    _solid((50, 50), RED).save(root / "a_good.jpg", quality=95)
    _solid((50, 50), BLUE).save(root / "z_good.png")
    big = np.random.default_rng(0).integers(0, 256, (200, 200, 3), np.uint8)
    Image.fromarray(big).save(root / "trunc.jpg", quality=95)
    Image.fromarray(big).save(root / "trunc.png")
    for name in ("trunc.jpg", "trunc.png"):
        data = (root / name).read_bytes()
        (root / name).write_bytes(data[: len(data) // 2])
    (root / "text.jpg").write_text("this is not a JPEG")
    (root / "empty.png").write_bytes(b"")
    return root


def _rel(paths, root):
    return [os.path.relpath(p, root).replace(os.sep, "/") for p in paths]


# ----------------------------------------------------------------------------------------------- listing

def test_list_images_folder_is_recursive_sorted_and_ignores_non_images(good):
    root, expected = good
    names = _rel(list_images(root), root)
    assert names == sorted(names)
    assert set(names) == set(expected)  # nested files found; notes.txt and .hidden.png left out
    assert list_images(str(root)) == list_images(root)  # str and Path alike


def test_list_images_glob_and_zip(good, tmp_path):
    root, _ = good
    assert _rel(list_images(str(root / "sub" / "*" / "*.png")), root) == ["sub/deeper/palette.png"]
    assert _rel(list_images(str(root / "**" / "*.png")), root) == sorted(
        ["gray16.png", "small.png", "sub/rgba.png", "sub/deeper/palette.png"])

    archive = tmp_path / "imgs.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(root / "rgb.jpg", "img_align_celeba/000002.jpg")
        zf.write(root / "small.png", "img_align_celeba/000001.png")
        zf.writestr("img_align_celeba/readme.txt", "hi")
        zf.writestr("__MACOSX/img_align_celeba/._000001.png", "junk")
    assert list_images(archive) == [f"{archive}::img_align_celeba/000001.png",
                                    f"{archive}::img_align_celeba/000002.jpg"]


# ----------------------------------------------------------------------------------------------- decoding

def test_every_format_decodes_to_the_right_colours(good):
    root, expected = good
    names = _rel(list_images(root), root)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning at all for good files
        images = load_images(root, 32)
    assert images.shape == (len(names), 32, 32, 3) and images.dtype == np.uint8
    for name, img in zip(names, images):
        if expected[name] is not None:
            assert _close(img[16, 16], expected[name]), (name, img[16, 16])
    rgba = images[names.index("sub/rgba.png")]
    assert _close(rgba[16, 4], GREEN)
    assert (rgba[:, 20:] >= 250).all(), "transparent pixels must become the white background, not black"
    palette = images[names.index("sub/deeper/palette.png")]
    assert (palette[:6] >= 250).all() and _close(palette[20, 20], BLUE)


def test_background_colour_fills_transparency(good):
    root, _ = good
    img = load_images(root / "sub", 16, background=(0, 0, 255), crop="none")
    rgba = img[list(_rel(list_images(root / "sub"), root / "sub")).index("rgba.png")]
    assert _close(rgba[8, 14], (0, 0, 255), tol=2) and _close(rgba[8, 1], GREEN)


def test_huge_photos_decode_despite_pixel_limit(tmp_path, monkeypatch):
    # A 6000×6000 photo: PIL's decompression-bomb limit must not reject it (here set far below its size).
    _solid((6000, 6000), RED).save(tmp_path / "huge.jpg", quality=85)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000_000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        img = load_images(tmp_path, 64)
    assert img.shape == (1, 64, 64, 3) and _close(img[0, 32, 32], RED)
    assert Image.MAX_IMAGE_PIXELS == 1_000_000  # restored afterwards


def test_exif_orientation_is_applied(tmp_path):
    # Stored 80×40 with the top half red and the bottom half blue, tagged "rotate 90° clockwise to view":
    # upright it is 40×80 with red on the right. Compare with PIL's own exif_transpose.
    from PIL import ImageOps

    a = np.zeros((40, 80, 3), np.uint8)
    a[:20], a[20:] = RED, BLUE
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(a).save(tmp_path / "phone.jpg", quality=95, exif=exif)
    img = load_images(tmp_path, 16, crop="none")[0]
    assert _close(img[8, 14], RED) and _close(img[8, 1], BLUE)
    upright = ImageOps.exif_transpose(Image.open(tmp_path / "phone.jpg")).resize((16, 16), Image.LANCZOS)
    assert np.abs(np.asarray(upright, int) - img).mean() < 2


def test_unreadable_files_are_skipped_with_one_warning(bad_folder):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        images = load_images(bad_folder, 16)
    assert images.shape == (2, 16, 16, 3)
    assert _close(images[0, 8, 8], RED) and _close(images[1, 8, 8], BLUE)
    skipped = [w for w in caught if issubclass(w.category, SkippedImagesWarning)]
    assert len(caught) == 1 and len(skipped) == 1
    message = str(skipped[0].message)
    assert "skipped 4 of 6" in message
    for name in ("trunc.jpg", "trunc.png", "text.jpg", "empty.png"):
        assert name in message
    assert skipped[0].filename == __file__  # points at the caller's line
    assert sorted(Path(p).name for p, _ in skipped[0].message.skipped) == \
        ["empty.png", "text.jpg", "trunc.jpg", "trunc.png"]


def test_warning_lists_ten_then_counts_the_rest(tmp_path):
    _solid((20, 20), RED).save(tmp_path / "ok.png")
    for i in range(13):
        (tmp_path / f"bad{i:02d}.jpg").write_text("nope")
    with pytest.warns(SkippedImagesWarning, match=r"skipped 13 of 14 .*and 3 more") as record:
        load_images(tmp_path, 8)
    message = str(record[0].message)
    assert "bad09.jpg" in message and "bad10.jpg" not in message


def test_all_unreadable_is_an_error(tmp_path):
    (tmp_path / "a.jpg").write_text("x")
    (tmp_path / "b.png").write_bytes(b"")
    with pytest.raises(ValueError, match=r"none of the 2 files .* could be read"):
        load_images(tmp_path, 16)
    with pytest.raises(ValueError, match=r"none of the 2 files"):
        image_dataset(tmp_path, 16, 1)


def test_crop_modes(tmp_path):
    # 300×200: the centred 200×200 square is red, the 50-px margins left and right are blue.
    a = np.zeros((200, 300, 3), np.uint8)
    a[:] = BLUE
    a[:, 50:250] = RED
    Image.fromarray(a).save(tmp_path / "wide.png")
    center = load_images(tmp_path, 32, crop="center")[0]
    assert all(_close(p, RED, tol=3) for p in center.reshape(-1, 3))
    whole = load_images(tmp_path, 32, crop="none")[0]
    assert _close(whole[16, 0], BLUE, tol=3) and _close(whole[16, 31], BLUE, tol=3) and _close(whole[16, 16], RED)

    # Aligned-CelebA geometry 178×218: "center" keeps rows 20..197 exactly (seed 003); "celeba" keeps the
    # centred 108×108 square at (35, 55) (seed 002).
    c = np.zeros((218, 178, 3), np.uint8)
    c[:] = BLUE
    c[20:198] = RED
    c[55:163, 35:143] = GREEN
    Image.fromarray(c).save(tmp_path / "wide.png")
    center = load_images(tmp_path, 89, crop="center")[0]  # 178 -> 89: each output pixel is 2×2 input pixels
    assert not any(_close(p, BLUE, tol=60) for p in center.reshape(-1, 3))
    assert _close(center[0, 0], RED, tol=3) and _close(center[88, 88], RED, tol=3)
    celeba = load_images(tmp_path, 54, crop="celeba")[0]
    assert all(_close(p, GREEN, tol=3) for p in celeba.reshape(-1, 3))


def test_zip_source_equals_folder_source(good, tmp_path):
    root, _ = good
    archive = tmp_path / "same.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in list_images(root):
            zf.write(path, os.path.relpath(path, root))
    from_folder = load_images(root, 24, workers=2)
    from_zip = load_images(archive, 24, workers=2)
    np.testing.assert_array_equal(from_zip, from_folder)


def test_limit_keeps_the_first_sorted_files(tmp_path):
    for i, colour in enumerate((RED, GREEN, BLUE)):
        _solid((20, 20), colour).save(tmp_path / f"{2 - i}.png")  # 2=red, 1=green, 0=blue
    two = load_images(tmp_path, 8, limit=2)
    assert len(two) == 2 and _close(two[0, 4, 4], BLUE) and _close(two[1, 4, 4], GREEN)


# ----------------------------------------------------------------------------------------------- cache

def test_cache_round_trip_reuse_and_invalidation(tmp_path, monkeypatch):
    src = tmp_path / "src"
    src.mkdir()
    for i in range(5):
        _solid((30, 30), (40 * i, 10, 10)).save(src / f"{i}.png")
    cache = tmp_path / "cache" / "faces64.npy"
    first = load_images(src, 16, cache=cache)
    assert cache.is_file() and Path(str(cache) + ".json").is_file()
    assert not [p for p in cache.parent.iterdir() if "tmp" in p.name]

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded although the cache is valid")

    monkeypatch.setattr(files, "_decode", no_decoding)
    again = load_images(src, 16, cache=cache)
    assert isinstance(again, np.memmap)
    np.testing.assert_array_equal(again, first)
    shutil.rmtree(src)  # the source is gone (a new Colab session): the cache still serves
    np.testing.assert_array_equal(load_images(src, 16, cache=cache), first)
    with pytest.raises(FileNotFoundError):
        load_images(src, 32, cache=cache)  # other settings: the cache does not apply
    monkeypatch.undo()

    src.mkdir()
    for i in range(6):  # a changed file list invalidates the cache
        _solid((30, 30), (40 * i, 10, 10)).save(src / f"{i}.png")
    assert len(load_images(src, 16, cache=cache)) == 6
    assert len(np.load(cache, mmap_mode="r")) == 6
    assert len(load_images(src, 16, cache=cache, crop="none")) == 6  # other crop: decoded again


def test_interrupted_cache_write_leaves_no_cache(tmp_path, monkeypatch):
    _solid((20, 20), RED).save(tmp_path / "a.png")
    cache = tmp_path / "c.npy"

    def broken_save(path, arr):
        Path(path).write_bytes(b"half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "save", broken_save)
    with pytest.raises(KeyboardInterrupt):
        load_images(tmp_path, 8, cache=cache)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png"]


# ----------------------------------------------------------------------------------------------- tf.data

def _numbered(n, size=8):
    """n images whose pixel (0, 0, 0) holds the image's index, left half bright and right half dark."""
    images = np.zeros((n, size, size, 3), np.uint8)
    images[:, :, : size // 2] = 200
    images[:, 0, 0, 0] = np.arange(n)
    return images


def _ids(batch):
    return np.rint((batch[:, 0, 0, 0] + 1.0) * 127.5).astype(int)


def test_dataset_batches_values_and_epochs(tmp_path):
    images = _numbered(40)
    ds = image_dataset(images, 8, 8, seed=3)
    assert ds.element_spec.shape.as_list() == [8, 8, 8, 3] and ds.element_spec.dtype == tf.float32
    batches = [b.numpy() for b in ds.take(15)]  # 120 images = 3 epochs
    assert all(b.min() >= -1.0 and b.max() <= 1.0 for b in batches)
    np.testing.assert_allclose(batches[0][:, 4, 0], 200 / 127.5 - 1, atol=1e-6)
    ids = np.concatenate([_ids(b) for b in batches])
    epochs = ids.reshape(3, 40)
    for epoch in epochs:
        assert sorted(epoch) == list(range(40))  # every image once per epoch
    assert not np.array_equal(epochs[0], epochs[1]) and not np.array_equal(epochs[0], np.arange(40))

    ordered = np.concatenate([_ids(b.numpy()) for b in image_dataset(images, 8, 8, shuffle=False).take(6)])
    np.testing.assert_array_equal(ordered, np.arange(48) % 40)


def test_single_pass_and_remainder():
    images = _numbered(10)
    sizes = [len(b) for b in image_dataset(images, 8, 4, repeat=False, drop_remainder=True)]
    assert sizes == [4, 4]
    batches = list(image_dataset(images, 8, 4, repeat=False, drop_remainder=False))
    assert [len(b) for b in batches] == [4, 4, 2]
    assert sorted(np.concatenate([_ids(b.numpy()) for b in batches])) == list(range(10))


def test_dataset_is_deterministic():
    images = _numbered(30)
    a = [b.numpy() for b in image_dataset(images, 8, 6, flip=True, seed=5).take(8)]
    b = [b.numpy() for b in image_dataset(images, 8, 6, flip=True, seed=5).take(8)]
    c = [b.numpy() for b in image_dataset(images, 8, 6, flip=True, seed=6).take(8)]
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))


def test_flip_mirrors_some_images_and_only_when_asked():
    images = _numbered(16)
    images[:, 0, 0, 0] = 100  # same content everywhere: orientation is the only difference
    original = images[0].astype(np.float32) / 127.5 - 1
    mirrored = original[:, ::-1]

    def orientations(flip):
        seen = []
        for batch in image_dataset(images, 8, 8, flip=flip).take(10).as_numpy_iterator():
            for img in batch:
                if np.array_equal(img, original):
                    seen.append("same")
                elif np.array_equal(img, mirrored):
                    seen.append("mirrored")
                else:
                    seen.append("other")
        return seen

    flipped = orientations(True)
    assert "other" not in flipped and 20 <= flipped.count("mirrored") <= 60
    assert set(orientations(False)) == {"same"}


def test_iterator_checkpoint_resumes_exactly_and_is_small(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (10_000, 64, 64, 3), np.uint8)
    ds = image_dataset(images, 64, 64, flip=True, seed=1)
    it = iter(ds)
    for _ in range(7):
        next(it)
    path = tf.train.Checkpoint(data=it).save(str(tmp_path / "ckpt" / "data"))
    expected = [next(it).numpy() for _ in range(4)]
    size = sum(p.stat().st_size for p in (tmp_path / "ckpt").iterdir())
    assert size < 64 * 1024, f"iterator checkpoint is {size} bytes: buffered data must not be saved"

    fresh = iter(image_dataset(images, 64, 64, flip=True, seed=1))
    tf.train.Checkpoint(data=fresh).restore(path).assert_consumed()
    for want in expected:
        np.testing.assert_array_equal(next(fresh).numpy(), want)


def test_folder_source_dataset_equals_array_source(good):
    root, _ = good
    images = load_images(root, 16)
    from_folder = [b.numpy() for b in image_dataset(root, 16, 4, seed=2).take(3)]
    from_array = [b.numpy() for b in image_dataset(images, 16, 4, seed=2).take(3)]
    np.testing.assert_array_equal(np.stack(from_folder), np.stack(from_array))


def test_embedded_kinds():
    from ganutils.data import KINDS, synthetic

    assert set(KINDS) == {"faces", "eyes", "anime"}
    for kind in KINDS:
        want, _ = synthetic(kind, 12, 32, 4)
        got = load_images(kind, 32, num_images=12, seed=4)
        np.testing.assert_array_equal(got, want)
    want, _ = synthetic("faces", 12, 32, 4)
    batches = np.concatenate([b.numpy() for b in image_dataset("faces", 32, 4, num_images=12, seed=4,
                                                               repeat=False)])
    got = np.rint((batches + 1) * 127.5).astype(np.uint8)
    assert sorted(map(bytes, got)) == sorted(map(bytes, want))  # the same 12 images, shuffled


# ----------------------------------------------------------------------------------------------- errors

def test_source_errors(tmp_path, good):
    root, _ = good
    missing = tmp_path / "nowhere" / "img_align_celeba"
    with pytest.raises(FileNotFoundError, match=r"no such file or folder: .*nowhere"):
        load_images(missing, 64)
    with pytest.raises(FileNotFoundError, match="no such file or folder"):
        list_images(tmp_path / "celeba.zip")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("no pictures here")
    with pytest.raises(ValueError, match=r"folder .*empty contains no images .*\.jpg, \.jpeg, \.png"):
        list_images(empty)
    nozip = tmp_path / "docs.zip"
    with zipfile.ZipFile(nozip, "w") as zf:
        zf.writestr("a.txt", "x")
    with pytest.raises(ValueError, match=r"zip archive .*docs\.zip contains no images"):
        image_dataset(nozip, 64, 8)
    with pytest.raises(ValueError, match=r"readme\.txt is a file but not a \.zip archive"):
        load_images(empty / "readme.txt", 64)
    with pytest.raises(FileNotFoundError, match=r"glob pattern .*\*\.webp.* matches no files"):
        list_images(str(tmp_path / "*.webp"))
    with pytest.raises(ValueError, match=r"matches 1 files but no images"):
        list_images(str(empty / "*"))
    with pytest.raises(ValueError, match=r"'celebrity' is neither .* kind.*faces, eyes, anime"):
        image_dataset("celebrity", 64, 8)
    with pytest.raises(ValueError, match=r"'faces' is an embedded dataset kind"):
        list_images("faces")
    with pytest.raises(TypeError, match="source must be a path"):
        list_images(42)


@pytest.mark.parametrize("size", [0, 7, 1025, 64.0, "64", True, None])
def test_bad_image_size(size, good):
    with pytest.raises(ValueError, match=r"image_size must be"):
        load_images(good[0], size)
    with pytest.raises(ValueError, match=r"image_size must be"):
        image_dataset(_numbered(4), size, 2)


@pytest.mark.parametrize("batch", [0, -3, 2.5, "8", None])
def test_bad_batch_size(batch):
    with pytest.raises(ValueError, match=rf"batch_size must be a positive int, got {batch!r}"):
        image_dataset(_numbered(4), 8, batch)


def test_other_argument_errors(good, tmp_path):
    root, _ = good
    n = len(list_images(root))
    with pytest.raises(ValueError, match=rf"batch_size=64 is larger than the {n} images .*drop_remainder=True"):
        image_dataset(root, 16, 64)
    assert len(next(iter(image_dataset(_numbered(5), 8, 8, drop_remainder=False, repeat=False)))) == 5
    with pytest.raises(ValueError, match=r"crop must be one of 'center', 'celeba', 'none', got 'square'"):
        load_images(root, 16, crop="square")
    with pytest.raises(ValueError, match=r"crop must be one of"):
        image_dataset(_numbered(4), 8, 2, crop="middle")
    with pytest.raises(ValueError, match=r"uint8 with shape \[N, S, S, 3\], got float32 \[4, 8, 8, 3\]"):
        image_dataset(_numbered(4).astype(np.float32), 8, 2)
    with pytest.raises(ValueError, match=r"holds 8×8 images but image_size=16"):
        image_dataset(_numbered(4), 16, 2)
    with pytest.raises(ValueError, match=r"cache must be a path ending in \.npy"):
        load_images(root, 16, cache=tmp_path / "cache.npz")
    with pytest.raises(ValueError, match=r"limit must be a positive int, got 0"):
        load_images(root, 16, limit=0)
    with pytest.raises(ValueError, match=r"background must be an \(r, g, b\) triple"):
        load_images(root, 16, background=(0, 0))


# ----------------------------------------------------------------------------------------------- links

@pytest.fixture()
def looped(tmp_path):
    """photos/ with 3 images and photos/loop, a symbolic link back to photos' parent folder."""
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(3):
        _solid((12, 12), (i * 60, 20, 20)).save(photos / f"{i}.png")
    (photos / "loop").symlink_to("..")
    return photos


def test_a_link_back_to_a_parent_folder_lists_each_image_once_and_says_so(looped):
    with pytest.warns(files.SkippedLinksWarning, match=r"loop.*a folder it is in") as record:
        names = list_images(looped)
    assert _rel(names, looped) == ["0.png", "1.png", "2.png"]
    (warning,) = [w.message for w in record if w.category is files.SkippedLinksWarning]
    assert [os.path.basename(p) for p, _ in warning.skipped] == ["loop"]
    assert record[0].filename == __file__                     # points at the reader's line
    with pytest.warns(files.SkippedLinksWarning):
        assert len(load_images(looped, 8)) == 3
    with pytest.warns(files.SkippedLinksWarning):
        assert _rel(list_images(str(looped / "**" / "*.png")), looped) == ["0.png", "1.png", "2.png"]


def test_links_that_branch_back_into_the_tree_end_and_list_each_image_once(looped):
    (looped / "self").symlink_to(".")                         # two links per folder: 2^40 paths to walk
    (looped / "again.png").symlink_to(looped / "0.png")       # a second name for one image
    with pytest.warns(files.SkippedLinksWarning, match="3 symbolic links") as record:
        names = list_images(looped)
    assert _rel(names, looped) == ["0.png", "1.png", "2.png"]
    (warning,) = [w.message for w in record if w.category is files.SkippedLinksWarning]
    assert sorted(os.path.basename(p) for p, _ in warning.skipped) == ["again.png", "loop", "self"]


def test_a_link_to_a_folder_elsewhere_is_followed_without_a_warning(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    _solid((12, 12), RED).save(tmp_path / "elsewhere" / "far.png")
    (tmp_path / "photos").mkdir()
    _solid((12, 12), RED).save(tmp_path / "photos" / "near.png")
    (tmp_path / "photos" / "more").symlink_to(tmp_path / "elsewhere")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _rel(list_images(tmp_path / "photos"), tmp_path / "photos") == ["more/far.png", "near.png"]


def test_sources_under_home_are_read_with_tilde(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "photos").mkdir()
    for i in range(2):
        _solid((12, 12), RED).save(tmp_path / "photos" / f"{i}.png")
    assert len(list_images("~/photos")) == 2 and len(list_images("~/photos/*.png")) == 2
    assert load_images("~/photos", 8, cache="~/cache/photos.npy").shape == (2, 8, 8, 3)
    assert (tmp_path / "cache" / "photos.npy").exists()
    assert len(next(iter(image_dataset("~/photos", 8, 2, repeat=False)))) == 2
