"""ganutils.params: chapter parameters are checked against their declared kinds (issue 13, part 5)."""

import zipfile

import numpy as np
import pytest
from PIL import Image

from ganutils import params
from ganutils.data.files import CROPS
from ganutils.data.procedural import KINDS
from ganutils.params import (CacheFile, Count, Crop, DataSource, Flag, Fraction, OutDir, ParameterError,
                             Positive, Precision, Size, Text)


def checked(kind, value):
    namespace = {"__annotations__": {"x": kind}, "x": value}
    params.check(namespace)
    return namespace["x"]


def refused(kind, value):
    with pytest.raises(ParameterError) as info:
        checked(kind, value)
    return str(info.value)


@pytest.mark.parametrize("value", [6, 6.0, "6", " 6 ", np.int64(6), np.float32(6.0), "6.0", "6e0"])
def test_count_takes_whole_numbers_in_any_spelling(value):
    got = checked(Count, value)
    assert got == 6 and type(got) is int


@pytest.mark.parametrize("value, why", [(6.5, "6.5"), ("abc", "'abc'"), (-3, "-3"), (True, "True"),
                                        (None, "None"), (float("nan"), "nan"), ("6.5", "'6.5'")])
def test_count_refuses_with_one_message_naming_parameter_value_and_kind(value, why):
    message = refused(Count, value)
    first = message.split("\n")[0]
    assert first == f"parameter x = {why}: expected a whole number >= 0"
    assert "Fix the value in the parameters cell" in message


def test_every_wrong_parameter_is_named_in_the_one_message_and_nothing_is_written_back():
    namespace = {"__annotations__": {"steps": Count, "width": Positive, "ok": Flag},
                 "steps": 6.5, "width": -1, "ok": "yes"}
    with pytest.raises(ParameterError) as info:
        params.check(namespace)
    lines = str(info.value).split("\n")
    assert lines[:2] == ["parameter steps = 6.5: expected a whole number >= 0",
                         "parameter width = -1: expected a number > 0"]
    assert namespace["ok"] == "yes", "a failed check must leave every value as it was"


def test_safe_values_are_converted_and_written_back():
    namespace = {"__annotations__": {"steps": Count, "width": Positive, "resume": Flag, "size": Size,
                                     "frac": Fraction, "name": Text, "cache": CacheFile, "crop": Crop},
                 "steps": 6.0, "width": "0.5", "resume": "true", "size": "28", "frac": 1,
                 "name": "x", "cache": "None", "crop": "celeba", "unrelated": 6.0}
    assert params.check(namespace) is None
    assert namespace["steps"] == 6 and type(namespace["steps"]) is int
    assert namespace["width"] == 0.5 and namespace["resume"] is True and namespace["size"] == 28
    assert namespace["cache"] is None and namespace["crop"] == "celeba"
    assert type(namespace["unrelated"]) is float, "names without a kind are left alone"


@pytest.mark.parametrize("kind, value", [(Size, 0), (Positive, 0), (Positive, "abc"), (Fraction, 1.5),
                                         (Flag, "maybe"), (Flag, 2), (Text, 5), (CacheFile, "x.npz"),
                                         (Crop, "centre")])
def test_other_kinds_refuse_what_they_cannot_take(kind, value):
    assert refused(kind, value).startswith(f"parameter x = {value!r}: expected {kind.expected}")


def test_flag_spellings():
    assert [checked(Flag, v) for v in (True, 1, "True", "yes", "on")] == [True] * 5
    assert [checked(Flag, v) for v in (False, 0, "false", "No", "off")] == [False] * 5


def test_precision_takes_auto_or_a_flag():
    assert [checked(Precision, v) for v in ("auto", " AUTO", True, "yes", False, "off")] == [
        "auto", "auto", True, True, False, False]
    assert refused(Precision, "bf16").startswith("parameter x = 'bf16': expected 'auto', True or False")


def test_crop_choices_are_the_loaders():
    assert Crop.expected == "one of " + ", ".join(repr(c) for c in CROPS)


def _jpegs(folder, n=3):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.new("RGB", (12, 10), (i * 40, 20, 30)).save(folder / f"{i}.jpg")
    return folder


def test_data_source_takes_kinds_and_existing_image_sources(tmp_path):
    photos = _jpegs(tmp_path / "photos")
    archive = tmp_path / "photos.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(photos / "0.jpg", "0.jpg")
    array = tmp_path / "faces.npy"
    np.save(array, np.zeros((2, 8, 8, 3), np.uint8))
    for value in list(KINDS) + [str(photos), str(tmp_path / "photos" / "*.jpg"), str(archive), str(array)]:
        assert checked(DataSource, value) == value


def test_data_source_refuses_missing_and_wrong_paths_before_any_work(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.txt").write_text("x")
    cases = {"/nonexistent": "no such folder or file: /nonexistent",
             str(tmp_path / "empty"): "holds no image files",
             str(tmp_path / "notes.txt"): "neither a .zip archive nor a .npy array",
             str(tmp_path / "*.png"): "matches no files",
             "celeb": "no such folder or file: celeb"}
    for value, reason in cases.items():
        message = refused(DataSource, value)
        assert message.startswith(f"parameter x = {value!r}: ") and reason in message, message
        assert "an embedded kind (faces, eyes, anime)" in message


def test_out_dir_must_not_be_a_file(tmp_path):
    (tmp_path / "f").write_text("x")
    assert checked(OutDir, str(tmp_path / "new" / "runs")) == str(tmp_path / "new" / "runs")
    assert "is a file" in refused(OutDir, str(tmp_path / "f"))


def test_declared_reads_kinds_from_a_cell_without_running_it():
    source = ("# ganutils.smoke(full, test): ...\n"
              "from ganutils.params import Count, OneOf\n\n"
              "steps: Count = ganutils.smoke(10_000, 6)  # comment\n"
              "crop: OneOf('a', 'b') = 'a'\n"
              "width: params.Positive = 1.0\n"
              "plain = 3\n"
              "other: int = open('/should/not/run').read()\n")
    found = params.declared(source)
    assert list(found) == ["steps", "crop", "width", "plain", "other"]
    assert found["steps"] is Count and found["crop"].expected == "one of 'a', 'b'"
    assert found["width"] is Positive
    assert found["plain"] is None and found["other"] is None


def test_parameter_error_shows_alone_in_jupyter():
    error = ParameterError("parameter steps = 6.5: expected a whole number >= 0\nFix it.")
    assert error._render_traceback_() == [
        "ParameterError: parameter steps = 6.5: expected a whole number >= 0", "Fix it."]


def test_paths_with_tilde_are_expanded_to_the_home_folder(tmp_path, monkeypatch):
    """``-p out_dir ~/runs`` reaches the kernel as the home folder's runs, not a folder named ``~``."""
    monkeypatch.setenv("HOME", str(tmp_path))
    _jpegs(tmp_path / "photos")
    assert checked(OutDir, "~/runs") == str(tmp_path / "runs")
    assert checked(DataSource, "~/photos") == str(tmp_path / "photos")
    assert checked(DataSource, "~/photos/*.jpg") == str(tmp_path / "photos" / "*.jpg")
    assert checked(CacheFile, "~/faces.npy") == str(tmp_path / "faces.npy")
    assert checked(DataSource, "faces") == "faces" and checked(CacheFile, None) is None
    (tmp_path / "taken").write_text("x")
    assert "is a file" in refused(OutDir, "~/taken")


def test_a_folder_whose_only_content_is_a_link_loop_holds_no_images(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "loop").symlink_to("..")
    (tmp_path / "empty" / "self").symlink_to(".")
    assert "holds no image files" in refused(DataSource, str(tmp_path / "empty"))


def _chapter_namespace():
    """What a parameters cell leaves in a kernel: its values and their kinds."""
    namespace = {}
    exec("from ganutils.params import Count, OutDir\n"
         "steps: Count = 6000\nout_dir: OutDir = 'runs/x'\nplain = 3", namespace)
    return namespace


def test_for_tests_changes_nothing_outside_the_tests(monkeypatch):
    monkeypatch.delenv("GANBOOK_SMOKE", raising=False)
    for switch in (None, "", "0"):
        if switch is not None:
            monkeypatch.setenv("GANBOOK_SMOKE", switch)
        namespace = _chapter_namespace()
        before = dict(namespace)
        assert params.for_tests(namespace, steps=6, out_dir="runs/smoke/x") is None
        assert namespace == before and not params.testing()


def test_for_tests_gives_the_tests_their_values_but_not_over_injected_ones(monkeypatch):
    monkeypatch.setenv("GANBOOK_SMOKE", "1")
    monkeypatch.delenv("GANBOOK_GIVEN", raising=False)
    namespace = _chapter_namespace()
    assert params.for_tests(namespace, steps=6, out_dir="runs/smoke/x") is None  # the cell shows nothing
    assert (namespace["steps"], namespace["out_dir"]) == (6, "runs/smoke/x")
    # `python -m ganutils.run 3 --smoke -p steps 200`: papermill injected steps; it wins
    monkeypatch.setenv("GANBOOK_GIVEN", "steps,data")
    namespace = _chapter_namespace()
    namespace["steps"] = 200
    params.for_tests(namespace, steps=6, out_dir="runs/smoke/x")
    assert (namespace["steps"], namespace["out_dir"]) == (200, "runs/smoke/x")


@pytest.mark.parametrize("smoke", ["", "1"])
def test_for_tests_refuses_a_name_that_is_not_a_parameter_in_every_run(smoke, monkeypatch):
    monkeypatch.setenv("GANBOOK_SMOKE", smoke)
    namespace = _chapter_namespace()
    before = dict(namespace)
    with pytest.raises(ParameterError) as info:
        params.for_tests(namespace, step=6, plain=1, batch_size=8)
    message = str(info.value)
    assert "'step' is not a parameter of this chapter; did you mean 'steps'?" in message
    assert "'plain' is not a parameter" in message        # assigned, but without a kind
    assert "'batch_size' is not a parameter" in message
    assert message.endswith("Parameters: steps, out_dir")
    assert namespace == before


def test_values_for_tests_are_read_from_the_cell_without_running_it():
    source = ("# the tests' values\n"
              "ganutils.params.for_tests(\n    globals(), steps=6, width=0.125,\n"
              "    out_dir='runs/smoke/x')\n"
              "ganutils.params.check(globals())\n"
              "mixed_precision = ganutils.precision.choose(mixed_precision)\n")
    assert params.values_for_tests(source) == {"steps": 6, "width": 0.125, "out_dir": "runs/smoke/x"}
    assert params.values_for_tests("ganutils.params.check(globals())") == {}
    with pytest.raises(ValueError, match="the value of steps is not a literal: open"):
        params.values_for_tests("params.for_tests(globals(), steps=open('x').read())")
