"""ganutils._atomic: the one atomic write behind history files, image caches, classifier weights and
download markers (issue 11: four hand-written copies merged)."""

import json

import numpy as np
import pytest

from ganutils import _atomic


def test_atomic_write_files_create_folders_and_leave_no_temporaries(tmp_path):
    p = _atomic.write_json(tmp_path / "a" / "b" / "history.json", {"d_loss": [0.5, 0.25]})
    assert json.loads(p.read_text()) == {"d_loss": [0.5, 0.25]}
    _atomic.write_text(tmp_path / "note.txt", "héllo")
    assert (tmp_path / "note.txt").read_bytes() == "héllo".encode()
    _atomic.write_bytes(tmp_path / "note.txt", b"new")
    assert (tmp_path / "note.txt").read_bytes() == b"new"
    with _atomic.replacing(tmp_path / "cache.npy", suffix=".npy") as tmp:
        assert tmp.name.endswith(".npy") and tmp.parent == tmp_path
        np.save(tmp, np.arange(3))  # np.save keeps a name that ends in .npy
    np.testing.assert_array_equal(np.load(tmp_path / "cache.npy"), np.arange(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "cache.npy", "note.txt"]


def test_atomic_write_files_keep_the_old_file_on_error(tmp_path):
    path = tmp_path / "history.json"
    _atomic.write_json(path, [1, 2])
    with pytest.raises(TypeError):
        _atomic.write_json(path, {"x": object()})  # not JSON: fails before anything is written
    with pytest.raises(RuntimeError, match="writer died"):
        with _atomic.replacing(path) as tmp:
            tmp.write_text("[1, 2, 3")  # half a file...
            raise RuntimeError("writer died")  # ...then the writer fails
    assert json.loads(path.read_text()) == [1, 2]
    assert [p.name for p in tmp_path.iterdir()] == ["history.json"]

