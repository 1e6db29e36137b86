"""python -m ganutils.run: parameters checked before any kernel starts, failures told in a few lines
(issue 13, parts 5 and 7)."""

import json
from pathlib import Path

import nbformat
import pytest

from ganutils import run

ROOT = Path(__file__).resolve().parents[1]
FACES = ROOT / "notebooks" / "03_faces28.ipynb"


@pytest.fixture
def no_kernel(monkeypatch):
    """Fails the test if the runner gets as far as executing a notebook."""
    def refuse(*args, **kwargs):
        raise AssertionError("a kernel was started although the parameters were wrong")
    monkeypatch.setattr(run, "run", refuse)


@pytest.mark.parametrize("name, value, message", [
    ("steps", "abc", "03_faces28: parameter steps = 'abc': expected a whole number >= 0"),
    ("steps", "6.5", "03_faces28: parameter steps = 6.5: expected a whole number >= 0"),
    ("steps", "-3", "03_faces28: parameter steps = -3: expected a whole number >= 0"),
    ("data", "/nonexistent", "03_faces28: parameter data = '/nonexistent': no such folder or file: "
                             "/nonexistent; expected an embedded kind (faces, eyes, anime)"),
    ("stepz", "5", "03_faces28: no parameter 'stepz' (-p stepz). Did you mean 'steps'?\n"
                   "Parameters: batch_size"),
    ("widht", "0.5", "Did you mean 'width'?"),
])
def test_wrong_parameters_stop_at_once_with_one_message(tmp_path, no_kernel, name, value, message):
    with pytest.raises(SystemExit) as info:   # no_kernel fails the test if a kernel starts
        run.main(["3", "--smoke", "-p", name, value, "--out", str(tmp_path / "out")])
    assert message in str(info.value)
    assert not (tmp_path / "out").exists()


def test_a_name_is_passed_only_to_the_chapters_that_declare_it():
    chapters = run.select(["1", "3"], ROOT / "notebooks")
    checked = run.check_parameters(chapters, {"steps": "6.0", "seed": "2"})
    game, faces = chapters
    assert checked[faces] == {"steps": 6, "seed": 2} and type(checked[faces]["steps"]) is int
    assert checked[game] == {"seed": 2}


def test_relative_data_paths_are_made_absolute_for_the_kernel(tmp_path, monkeypatch):
    from PIL import Image
    (tmp_path / "photos").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "photos" / "a.jpg")
    monkeypatch.chdir(tmp_path)
    checked = run.check_parameters([FACES], {"data": "photos", "cache": "c.npy"})[FACES]
    assert checked == {"data": str(tmp_path / "photos"), "cache": str(tmp_path / "c.npy")}
    assert run.check_parameters([FACES], {"data": "faces"})[FACES] == {"data": "faces"}


def test_book_parameters_are_checked_too(monkeypatch, tmp_path, no_kernel):
    monkeypatch.setitem(run.BOOK_PARAMS, "03_faces28", {"steps": 2400.5})
    with pytest.raises(SystemExit, match=r"parameter steps = 2400.5: expected a whole number"):
        run.main(["3", "--book", "--out", str(tmp_path)])


def _probe(folder, body, params="import ganutils\nfrom ganutils.params import Count\nsteps: Count = 3"):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    cell = nbformat.v4.new_code_cell(params)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# Probe"), cell,
                nbformat.v4.new_code_cell("ganutils.params.check(globals())"),
                nbformat.v4.new_code_cell(body)]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "01_probe.ipynb"
    nbformat.write(nb, path)
    return path


def test_an_integral_float_step_count_runs(tmp_path):
    # The issue's `-p steps 6.0`: papermill used to inject 6.0 and range(steps) died.
    chapters = tmp_path / "notebooks"
    _probe(chapters, "print(sum(1 for _ in range(steps)), type(steps).__name__)")
    run.main(["1", "--smoke", "-p", "steps", "6.0", "--notebooks", str(chapters),
              "--out", str(tmp_path / "o")])
    done = nbformat.read(tmp_path / "o" / "01_probe.ipynb", as_version=4)
    assert done.cells[-1].outputs[0]["text"].strip() == "6 int"
    assert done.metadata["ganbook"]["parameters"] == {"steps": 6}


def test_a_failed_cell_is_told_in_a_few_lines_and_the_traceback_goes_to_the_log(tmp_path, capfd):
    chapters, out = tmp_path / "notebooks", tmp_path / "o"
    _probe(chapters, "def train(n):\n    raise ValueError(f'learning rate too high after {n} steps')\n\n"
                     "train(steps)")
    with pytest.raises(SystemExit) as info:
        run.main(["1", "--smoke", "--notebooks", str(chapters), "--out", str(out)])
    lines = str(info.value).split("\n")
    log = out / "01_probe.log"
    assert lines == ["[run] 01_probe failed in cell 4 of 4, line 2: "
                     "raise ValueError(f'learning rate too high after {n} steps')",
                     "      ValueError: learning rate too high after 3 steps",
                     f"      full traceback: {log}"]
    text = log.read_text()
    assert "Traceback" in text and "train(steps)" in text and "\x1b[" not in text
    # the kernel process's own output (its start-up warnings) went to the log, not the terminal
    terminal = capfd.readouterr()
    assert "without encryption" not in terminal.out + terminal.err
    assert "without encryption" in text


def test_a_parameter_error_inside_the_kernel_is_one_message(tmp_path):
    # papermill used directly (not through the runner): the check cell stops with one message.
    chapters, out = tmp_path / "notebooks", tmp_path / "o"
    _probe(chapters, "print('never')",
           params="import ganutils\nfrom ganutils.params import Count\nsteps: Count = 6.5")
    with pytest.raises(SystemExit) as info:
        run.main(["1", "--notebooks", str(chapters), "--out", str(out)])
    assert str(info.value).split("\n")[:2] == [
        "[run] 01_probe failed in cell 3 of 4, ganutils.params.check(globals())",
        "      ParameterError: parameter steps = 6.5: expected a whole number >= 0"]
    done = nbformat.read(out / "01_probe.ipynb", as_version=4)
    (check,) = [c for c in done.cells if c.source == "ganutils.params.check(globals())"]
    (error,) = check.outputs
    assert error["traceback"][0] == "ParameterError: parameter steps = 6.5: expected a whole number >= 0"
    assert len(error["traceback"]) == 2


def _python(code, **env):
    import os
    import subprocess
    import sys
    environ = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**environ, **env}, cwd=ROOT)


START_UP = ("absl::InitializeLog", "I0000", "cuInit", "oneDNN")


def test_quiet_tensorflow_keeps_the_start_up_lines_off_the_terminal():
    loud = _python("import tensorflow as tf; print(float(tf.reduce_sum(tf.ones(3))))")
    assert any(line in loud.stderr for line in START_UP), "control: plain TensorFlow prints start-up lines"
    quiet = _python("from ganutils.run import quiet_tensorflow\n"
                    "tf = quiet_tensorflow()\nimport keras\n"
                    "print(float(tf.reduce_sum(tf.ones(3))))\n"
                    "import sys; print('error lines still show', file=sys.stderr)")
    assert quiet.returncode == 0 and quiet.stdout.strip() == "3.0"
    assert quiet.stderr.strip() == "error lines still show", quiet.stderr


def test_importing_ganutils_changes_nothing_in_the_readers_process():
    code = ("import os, sys, ganutils, ganutils.params, ganutils.run\n"
            "print(os.environ.get('TF_CPP_MIN_LOG_LEVEL'), 'tensorflow' in sys.modules)")
    assert _python(code).stdout.split() == ["None", "False"]


def test_the_benches_quiet_their_own_processes():
    for bench in ("run.py", "swd_curve.py", "input_pipeline.py"):
        source = (ROOT / "bench" / bench).read_text()
        main = source[source.index('if __name__ == "__main__":'):]
        assert "quiet_tensorflow()" in main and main.index("quiet_tensorflow()") < main.index("main()")


def test_the_package_metadata_uses_an_spdx_licence_and_finds_every_subpackage():
    import tomllib

    from setuptools import find_packages
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert meta["project"]["license"] == "MIT"
    floor = [r for r in meta["build-system"]["requires"] if r.startswith("setuptools")]
    assert floor == ["setuptools>=77"], "SPDX license strings need setuptools 77"
    assert meta["tool"]["setuptools"]["packages"]["find"]["include"] == ["ganutils*"]
    found = find_packages(str(ROOT), include=meta["tool"]["setuptools"]["packages"]["find"]["include"])
    inits = (ROOT / "ganutils").rglob("__init__.py")
    on_disk = sorted(str(p.parent.relative_to(ROOT)).replace("/", ".") for p in inits)
    assert sorted(found) == on_disk and "ganutils.data" in found


SMOKE_BODY = ("import tempfile\nfrom pathlib import Path\n"
              "Path(out_dir, 'ckpt').mkdir(parents=True, exist_ok=True)\n"
              "Path(out_dir, 'ckpt', 'weights').write_bytes(bytes(1000))\n"
              "handle, name = tempfile.mkstemp()\nprint(name)")
SMOKE_PARAMS = ("import ganutils\nfrom ganutils.params import OutDir\n"
                "out_dir: OutDir = ganutils.smoke('runs/probe', 'runs/probe_smoke')")


def test_a_smoke_run_leaves_only_its_notebook_and_log(tmp_path):
    chapters, out = tmp_path / "notebooks", tmp_path / "o"
    _probe(chapters, SMOKE_BODY, params=SMOKE_PARAMS)
    (out / "runs" / "reader_run").mkdir(parents=True)   # an earlier run of the reader's: kept
    run.main(["1", "--smoke", "--notebooks", str(chapters), "--out", str(out)])
    done = nbformat.read(out / "01_probe.ipynb", as_version=4)
    temp_file = Path(done.cells[-1].outputs[0]["text"].strip())
    assert "ganbook-01_probe-" in str(temp_file) and not temp_file.parent.exists()
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == [
        "01_probe.ipynb", "01_probe.log", "run_summary.json", "runs", "runs/reader_run"]


def test_a_normal_run_keeps_its_run_folder(tmp_path):
    chapters, out = tmp_path / "notebooks", tmp_path / "o"
    _probe(chapters, SMOKE_BODY, params=SMOKE_PARAMS)
    run.main(["1", "--notebooks", str(chapters), "--out", str(out)])
    assert (out / "runs" / "probe" / "ckpt" / "weights").stat().st_size == 1000


def test_nbval_runs_clean_up_their_run_folders_and_temporary_files(tmp_path):
    import shutil
    import subprocess
    import sys
    chapters = tmp_path / "notebooks"
    _probe(chapters, SMOKE_BODY + "\nPath('tmp_used.txt').write_text(name)", params=SMOKE_PARAMS)
    shutil.copy(ROOT / "notebooks" / "conftest.py", chapters / "conftest.py")
    (chapters / "runs" / "probe").mkdir(parents=True)   # the reader's own (non-smoke) run: kept
    done = subprocess.run([sys.executable, "-m", "pytest", "--nbval-lax", "-q", "-p", "no:cacheprovider",
                           "01_probe.ipynb"], cwd=chapters, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    temp_file = Path((chapters / "tmp_used.txt").read_text())
    assert "ganbook-nbval-" in str(temp_file) and not temp_file.parent.exists()
    assert (chapters / "runs" / "probe").is_dir() and not (chapters / "runs" / "probe_smoke").exists()


def _photo_root(root, counts):
    from PIL import Image
    for sub, n in counts.items():
        (root / sub).mkdir(parents=True)
        for i in range(n):
            Image.new("RGB", (20, 24), (10 * i, 80, 120)).save(root / sub / f"{i:03d}.jpg")
    return root


def test_data_root_names_data_parameters_of_the_chapters():
    from ganutils import params
    for stem, names in run.DATA_ROOT.items():
        (nb,) = run.select([stem], ROOT / "notebooks")
        kinds = params.declared(run.parameters_cell(nbformat.read(nb, as_version=4)).source)
        assert all(kinds[name] is params.DataSource for name in names), stem
    assert run.DATA_ROOT["06_tricks"] == {"data128": "celeba", "data64": "celeba"}, \
        "chapter 6: Nagendra's sections on photographs, the 28x28 tricks stay embedded"


def test_data_root_trains_on_its_folders_and_records_names_and_counts_not_paths(tmp_path):
    root = _photo_root(tmp_path / "realdata", {"celeba": 3, "eyes": 2, "anime": 4})
    chapters, out = tmp_path / "notebooks", tmp_path / "o"
    body = ("from ganutils.data import list_images\n"
            "print(len(list_images(data)), data.endswith('/celeba'))")
    chapter = _probe(chapters, body, params="import ganutils\nfrom ganutils.params import DataSource\n"
                                            "data: DataSource = 'faces'")
    chapter.rename(chapters / "03_faces28.ipynb")
    run.main(["3", "--smoke", "--data-root", str(root), "--notebooks", str(chapters), "--out", str(out)])
    done = nbformat.read(out / "03_faces28.ipynb", as_version=4)
    assert done.cells[-1].outputs[0]["text"].split() == ["3", "True"], "the kernel trains on DIR/celeba"
    info = done.metadata["ganbook"]
    assert info["parameters"] == {"data": "celeba"}
    assert info["data"] == {"data": {"name": "celeba", "images": 3}}
    assert str(tmp_path) not in json.dumps(dict(done.metadata)), "a machine path leaked into the metadata"
    assert done.metadata["papermill"]["input_path"] == "03_faces28.ipynb"


def test_data_root_missing_a_folder_stops_before_any_kernel(tmp_path, no_kernel):
    root = _photo_root(tmp_path / "realdata", {"celeba": 1, "anime": 1})   # no eyes/
    with pytest.raises(SystemExit, match=r"04_eyes128: parameter data = '.*/realdata/eyes': no such folder"):
        run.main(["3", "4", "5", "--smoke", "--data-root", str(root), "--out", str(tmp_path / "o")])
    assert not (tmp_path / "o").exists()


def test_describe_data_counts_images_of_folders_globs_zips_and_arrays(tmp_path):
    import zipfile

    import numpy as np
    root = _photo_root(tmp_path, {"celeba": 3})
    with zipfile.ZipFile(tmp_path / "eyes.zip", "w") as zf:
        zf.write(root / "celeba" / "000.jpg", "a/000.jpg")
    np.save(tmp_path / "anime64.npy", np.zeros((5, 4, 4, 3), np.uint8))
    assert run.describe_data(str(root / "celeba")) == {"name": "celeba", "images": 3}
    assert run.describe_data(str(root / "celeba" / "*.jpg")) == {"name": "celeba", "images": 3}
    assert run.describe_data(str(tmp_path / "eyes.zip")) == {"name": "eyes", "images": 1}
    assert run.describe_data(str(tmp_path / "anime64.npy")) == {"name": "anime64", "images": 5}
    assert run.describe_data("faces") == "faces"


def test_smoke_scratch_is_the_smoke_runs_own_folder_and_what_they_create(tmp_path):
    chapters, cwd = tmp_path / "notebooks", tmp_path / "o"
    chapter = _probe(chapters, SMOKE_BODY, params=SMOKE_PARAMS)
    (cwd / "runs" / "probe_smoke").mkdir(parents=True)    # left by a smoke run that crashed: removed
    (cwd / "runs" / "probe").mkdir(parents=True)          # a reader's run: kept
    assert run.smoke_scratch(chapter, cwd) == [(cwd / "runs" / "probe_smoke").resolve()]
    # a folder given with -p is a smoke run's only if it is new
    assert run.smoke_scratch(chapter, cwd, {"out_dir": "runs/probe"}) == []
    assert run.smoke_scratch(chapter, cwd, {"out_dir": "new/x"}) == [(cwd / "new").resolve()]


def test_every_chapter_gives_its_smoke_runs_their_own_folders():
    for nb in CHAPTERS_WITH_RUNS:
        smoke = run.run_folders(nb, ROOT / "notebooks", smoke=True)
        assert smoke and all("runs/smoke/" in f.as_posix() for f in smoke), nb.stem
        assert not set(smoke) & set(run.run_folders(nb, ROOT / "notebooks")), nb.stem


CHAPTERS_WITH_RUNS = [nb for nb in run.chapters(ROOT / "notebooks") if run.run_folders(nb, ROOT)]


def test_unit_tests_collected_with_the_chapters_do_not_inherit_the_smoke_switch():
    # notebooks/conftest.py sets GANBOOK_SMOKE=1 at import; in one session with the chapters, a unit test
    # that trains "normally" got the smoke settings (its run folder went under runs/smoke): found when
    # `pytest --nbval-lax notebooks/04_eyes128.ipynb tests/test_run.py` failed this very test
    import subprocess
    import sys
    name = "test_a_normal_run_keeps_its_run_folder"
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax",
                           f"tests/test_run.py::{name}", "notebooks/01_the_game.ipynb", "-k", name],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert "1 passed" in done.stdout, done.stdout[-2000:] + done.stderr[-2000:]


def test_a_book_run_turns_onednn_on_unless_the_caller_said_otherwise():
    assert run.book_environment({}) == {"TF_ENABLE_ONEDNN_OPTS": "1"}
    # the caller's own setting wins, whatever it is
    assert run.book_environment({"TF_ENABLE_ONEDNN_OPTS": "0"}) == {}


def test_the_book_environment_reaches_the_kernel_and_only_a_book_run(tmp_path, monkeypatch):
    seen = []
    monkeypatch.setattr(run, "run", lambda *a, **kw: seen.append(kw.get("env")) or 0.0)
    monkeypatch.setattr(run, "_finish", lambda *a, **kw: None)
    monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS", raising=False)
    monkeypatch.setattr(run.shutil, "move", lambda *a, **kw: None)   # keep notebooks/ as it is
    run.main(["1", "--book", "--out", str(tmp_path)])
    run.main(["1", "--out", str(tmp_path)])
    assert seen == [{"TF_ENABLE_ONEDNN_OPTS": "1"}, None]
    assert "TF_ENABLE_ONEDNN_OPTS" not in __import__("os").environ   # this process is left alone
