"""Every chapter follows the book's conventions (CONTRIBUTING.md), and the runner works."""

import json
import re
from pathlib import Path

import nbformat
import pytest
import yaml

from ganutils import params, run

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = run.chapters(ROOT / "notebooks")
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def test_there_are_chapters_and_all_are_in_the_toc():
    assert CHAPTERS, "no chapters found"
    toc = (ROOT / "_toc.yml").read_text()
    for nb in CHAPTERS:
        assert f"notebooks/{nb.stem}" in toc, f"{nb.name} is not in _toc.yml"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_install_cell_points_at_the_configured_repository(path):
    nb = nbformat.read(path, as_version=4)
    first = code_cells(nb)[0].source
    url = CONFIG["repository"]["url"]
    assert 'find_spec("ganutils") is None' in first
    assert f'"git+{url}"' in first, f"{path.name}: install cell must install git+{url}"
    # machinery, not a lesson: the book folds it away (it still runs in Colab)
    tags = code_cells(nb)[0].metadata.get("tags", [])
    assert {"hide-input", "remove-input"} & set(tags), f"{path.name}: install cell not hidden: {tags}"


def values_cell(nb):
    """The cell right after the parameters cell: the tests' values and the parameter check."""
    return nb.cells[nb.cells.index(run.parameters_cell(nb)) + 1]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_one_parameters_cell_of_plain_values(path):
    """The reader sees knobs: `steps: Count = 6000`, no test machinery such as ganutils.smoke()."""
    import ast
    nb = nbformat.read(path, as_version=4)
    tagged = [c for c in code_cells(nb) if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: expected one cell tagged 'parameters', found {len(tagged)}"
    source = tagged[0].source
    assert "ganutils.smoke(" not in source, f"{path.name}: the tests' values go in the next cell"
    assert "seed" in source
    for node in ast.parse(source).body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        assert isinstance(node, ast.AnnAssign), f"{path.name}: not a parameter: {ast.unparse(node)}"
        try:
            ast.literal_eval(node.value)
        except ValueError:
            pytest.fail(f"{path.name}: {ast.unparse(node)} is not a plain value")


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_parameter_has_a_kind_and_the_next_cell_gives_test_values_and_checks(path):
    import ast
    nb = nbformat.read(path, as_version=4)
    cell = run.parameters_cell(nb)
    kinds = params.declared(cell.source)
    untyped = [name for name, kind in kinds.items() if kind is None]
    assert kinds and not untyped, f"{path.name}: parameters without a kind annotation: {untyped}"
    after = values_cell(nb)
    assert after.cell_type == "code"
    tags = after.metadata.get("tags", [])
    # hidden in the book; its output (precision.choose's line) depends on the machine
    assert "remove-input" in tags and "nbval-check-output" not in tags, f"{path.name}: {tags}"
    statements = [ast.unparse(node) for node in ast.parse(after.source).body]
    # the tests' values first, then the check: whatever the cell does next (e.g. precision.choose)
    # sees checked values, the tests' included
    assert statements[0].startswith("ganutils.params.for_tests(globals(), "), statements
    assert statements[1] == "ganutils.params.check(globals())", statements
    tests = params.values_for_tests(after.source)
    assert tests, f"{path.name}: no values for the tests"
    assert set(tests) <= set(kinds), f"{path.name}: not parameters: {set(tests) - set(kinds)}"
    long = [line for c in (cell, after) for line in c.source.split("\n") if len(line) > 80]
    assert not long, f"{path.name}: lines over 80 characters: {long}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_the_defaults_the_tests_and_the_book_parameters_pass_their_own_check(path, monkeypatch):
    import ganutils
    nb = nbformat.read(path, as_version=4)
    source = run.parameters_cell(nb).source
    tests = params.values_for_tests(values_cell(nb).source)
    for smoke in ("", "1"):
        monkeypatch.setenv(ganutils.SMOKE_ENV, smoke)
        monkeypatch.delenv(ganutils.GIVEN_ENV, raising=False)
        namespace = {"ganutils": ganutils}
        exec(source, namespace)
        defaults = dict(namespace)
        params.for_tests(namespace, **tests)     # as the test-values cell calls it
        if smoke:
            # a smoke run gets the small values; each one differs from the reader's default
            assert {name: namespace[name] for name in tests} == tests
            same = [name for name in tests if tests[name] == defaults[name]]
            assert not same, f"{path.name}: test values equal to the defaults: {same}"
            assert run.parameter_values(path, smoke=True) == {
                name: namespace[name] for name in params.declared(source)}
        else:
            assert namespace == defaults
            namespace.update(run.BOOK_PARAMS.get(path.stem, {}))
        params.check(namespace)
    unknown = set(run.BOOK_PARAMS.get(path.stem, {})) - set(params.declared(source))
    assert not unknown, f"BOOK_PARAMS names that {path.name} does not declare: {unknown}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_committed_outputs_are_real_and_small(path):
    nb = nbformat.read(path, as_version=4)
    assert path.stat().st_size < 5_000_000
    info = nb.metadata.get("ganbook")
    assert info is not None, f"{path.name} was not executed by `python -m ganutils.run --book`"
    assert info["smoke"] is False, f"{path.name} holds smoke-run outputs"
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert not injected, f"{path.name}: papermill's injected parameters would override the defaults"
    unrun = [c for c in code_cells(nb) if c.get("outputs") and c.get("execution_count") is None]
    assert not unrun
    checked = [c for c in code_cells(nb) if "nbval-check-output" in c.metadata.get("tags", [])]
    assert checked, "no cell tagged nbval-check-output"
    assert not any("NBVAL_CHECK_OUTPUT" in c.source for c in code_cells(nb)), "use the cell tag"
    # outputs must not leak TensorFlow's C++ start-up log
    text = json.dumps([c.get("outputs", []) for c in code_cells(nb)])
    assert "absl::InitializeLog" not in text and "oneDNN custom operations" not in text
    # tidied as the runner tidies: no progress-bar redraws, streams merged, no huge PNGs
    for cell in code_cells(nb):
        outputs = json.loads(json.dumps(cell.get("outputs", [])))
        assert run.tidy_outputs(outputs) == cell.get("outputs", []), cell.source[:80]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_has_exercises_and_a_summary(path):
    nb = nbformat.read(path, as_version=4)
    md = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert md.lstrip().startswith("# ")
    assert len(re.findall(r"```\{exercise\}", md)) >= 2
    assert len(re.findall(r"```\{solution\}", md)) >= 2
    assert re.search(r"^#+ .*summary", md, re.I | re.M)


def test_runner_resolves_chapters_and_values(tmp_path):
    assert run.parse_value("5") == 5 and run.parse_value("0.5") == 0.5
    assert run.parse_value("True") is True and run.parse_value("/data/celeba.zip") == "/data/celeba.zip"
    with pytest.raises(SystemExit, match="no chapter '99'"):
        run.select(["99"], ROOT / "notebooks")
    assert run.select(["all"], ROOT / "notebooks") == CHAPTERS
    first = CHAPTERS[0]
    assert run.select([first.stem.split("_")[0].lstrip("0")], ROOT / "notebooks") == [first]


def test_runner_injects_parameters_and_stamps_smoke_runs(tmp_path):
    """A smoke run gets the tests' values, except where -p gave one: papermill injects its values
    after the parameters cell, before for_tests, which leaves the injected names alone."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell("import ganutils\nfrom ganutils.params import Count, Text\n"
                                       "steps: Count = 1000\nname: Text = 'x'")
    params.metadata["tags"] = ["parameters"]
    tests = nbformat.v4.new_code_cell("ganutils.params.for_tests(globals(), steps=3, name='t')\n"
                                      "ganutils.params.check(globals())")
    nb.cells = [params, tests, nbformat.v4.new_code_cell("print(steps, name)")]
    src = tmp_path / "01_probe.ipynb"
    nbformat.write(nb, src)
    out = tmp_path / "out" / "01_probe.ipynb"
    run.run(src, out, {"name": "y"}, smoke=True)
    done = nbformat.read(out, as_version=4)
    printed = done.cells[-1].outputs[0]["text"]
    assert printed.strip() == "3 y"
    assert done.metadata["ganbook"]["smoke"] is True
    assert done.metadata["ganbook"]["parameters"] == {"name": "y"}
    # papermill's injected cell is dropped: the executed chapter keeps its own defaults
    assert len(done.cells) == 3 and done.cells[0].source == params.source
    # not a smoke run: the tests' values are not applied
    run.run(src, out, {"name": "y"}, smoke=False)
    assert nbformat.read(out, as_version=4).cells[-1].outputs[0]["text"].strip() == "1000 y"


def test_smoke_is_kept_for_code_that_uses_it(monkeypatch):
    import ganutils
    monkeypatch.delenv(ganutils.SMOKE_ENV, raising=False)
    assert ganutils.smoke(6000, 6) == 6000
    monkeypatch.setenv(ganutils.SMOKE_ENV, "1")
    assert ganutils.smoke(6000, 6) == 6


def _probe_chapter(folder, body):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell("fail = False")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(body)]
    path = folder / "01_probe.ipynb"
    nbformat.write(nb, path)
    return path


def test_book_run_replaces_a_chapter_only_when_it_finishes(tmp_path):
    chapters, out = tmp_path / "notebooks", tmp_path / "outputs"
    chapters.mkdir()
    body = ("from pathlib import Path\n"
            "Path('runs').mkdir(exist_ok=True); Path('runs/artifact').write_text('x')\n"
            "assert not fail, 'stopped on purpose'\nprint('trained')")
    chapter = _probe_chapter(chapters, body)
    before = chapter.read_bytes()
    with pytest.raises(SystemExit, match="AssertionError: stopped on purpose"):
        run.main(["1", "--book", "--notebooks", str(chapters), "--out", str(out), "-p", "fail", "True"])
    assert chapter.read_bytes() == before, "a failed book run must leave the chapter as it was"
    # artifacts go to outputs/book, never next to the chapters (where nbval's runs write)
    assert (out / "book" / "runs" / "artifact").exists() and not (chapters / "runs").exists()

    run.main(["1", "--book", "--notebooks", str(chapters), "--out", str(out)])
    done = nbformat.read(chapter, as_version=4)
    assert done.metadata["ganbook"]["smoke"] is False
    assert done.cells[-1].outputs[0]["text"].strip() == "trained"
    assert not (out / "book" / chapter.name).exists()


def test_tidy_outputs_keeps_what_a_terminal_shows():
    out = nbformat.v4.new_output
    outputs = [out("stream", name="stderr", text="I0000 00:00:1795531618.571560   13338 port.cc:153] oneDNN\n"),
               out("stream", name="stderr", text="\r  0%|   | 0/3"),
               out("stream", name="stderr", text="\r 33%|#  | 1/3\r100%|###| 3/3\n"),
               out("stream", name="stdout", text="a\n"), out("stream", name="stdout", text="b\n")]
    tidy = run.tidy_outputs(outputs)
    assert [(o["name"], o["text"]) for o in tidy] == [("stderr", "100%|###| 3/3\n"), ("stdout", "a\nb\n")]


def test_tidy_outputs_merges_the_prints_around_a_log_line():
    """TensorFlow's log lines on stderr between two prints vanish, and the prints become one output
    (the committed-outputs check refuses two stdout outputs in a row)."""
    out = nbformat.v4.new_output
    outputs = [out("stream", name="stdout", text="width 1.0\n"),
               out("stream", name="stderr", text="I0000 00:00:1795531618.571560   13338 port.cc:153] oneDNN\n"),
               out("stream", name="stdout", text="width 0.5\n")]
    tidy = run.tidy_outputs(outputs)
    assert [(o["name"], o["text"]) for o in tidy] == [("stdout", "width 1.0\nwidth 0.5\n")]


def test_tidy_outputs_keeps_large_png_figures_png():
    """Result grids stay PNG, however large: no JPEG blur over a generator's checkerboard."""
    import base64
    import io

    import numpy as np
    from PIL import Image
    noise = np.random.default_rng(0).integers(0, 256, (500, 500, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, "PNG")
    png = base64.b64encode(buffer.getvalue()).decode()
    assert len(png) * 3 // 4 > 400_000      # larger than the old rule's 400 KB limit
    figure = nbformat.v4.new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"})
    (kept,) = run.tidy_outputs([figure])
    assert kept["data"]["image/png"] == png and "image/jpeg" not in kept["data"]


def test_committed_chapters_stay_under_5_mb():
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        assert path.stat().st_size < 5 * 2**20, f"{path.name}: {path.stat().st_size / 2**20:.1f} MB"
