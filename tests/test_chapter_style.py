"""The chapters read as a course: code fits the book's column, figures are captioned, the
recipes are named by their authors and cited once per mention, not twice.

The browser test (tests/browser) checks the rendered pages; these checks read the
notebooks themselves, so they run in a second and name the cell to fix.
"""

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
MAX = 80   # characters the content column shows at 1280 px (book/_static/ganbook.css)


def cells(path, kind):
    nb = nbformat.read(path, as_version=4)
    return [c for c in nb.cells if c.cell_type == kind]


def fenced_code(markdown):
    # code blocks of a markdown cell (``` fences whose info string is a language, not a directive)
    for m in re.finditer(r"^```(\w*)\n(.*?)^```", markdown, re.M | re.S):
        yield m.group(2)


def test_there_are_chapters():
    assert len(CHAPTERS) >= 7


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_code_lines_fit_the_column(path):
    long = []
    for cell in cells(path, "code"):
        long += [line for line in cell.source.splitlines() if len(line) > MAX]
    for cell in cells(path, "markdown"):
        for block in fenced_code(cell.source):
            long += [line for line in block.splitlines() if len(line) > MAX]
    assert not long, f"{path.name}: {len(long)} code line(s) over {MAX} characters, e.g. {long[:3]}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_checked_cells_use_the_nbval_tag(path):
    code = cells(path, "code")
    assert not [c for c in code if "NBVAL_CHECK_OUTPUT" in c.source]
    assert any("nbval-check-output" in c.metadata.get("tags", []) for c in code)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_figure_has_a_caption_and_alt_text(path):
    missing = []
    for cell in cells(path, "code"):
        images = [k for o in cell.get("outputs", []) for k in o.get("data", {}) if k.startswith("image/")]
        if not images:
            continue
        meta = cell.metadata.get("mystnb", {})
        caption = meta.get("figure", {}).get("caption", "")
        alt = meta.get("image", {}).get("alt", "")
        if len(caption) < 20 or len(alt) < 10 or re.search(r"\.(png|jpe?g|gif)$", alt):
            missing.append(cell.get("id"))
    assert not missing, f"{path.name}: figure cells without caption or alt text: {missing}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_prose_names_recipes_and_cites_once(path):
    md = "\n".join(c.source for c in cells(path, "markdown"))
    assert not re.search(r"\b[Ss]eeds?\s+0\d\d", md), "name the recipe by its author (book/intro.md)"
    assert not re.search(r"et al\.\s*\{cite", md), "use {cite:t}`key` for 'Author et al. (year)'"
    assert "{cite}`" not in md, "use {cite:p} or {cite:t}"
    assert "factor coverage" not in md.lower(), "the metric is the factor distance"
    # the opening cell says what the reader will do, what they need and how long it takes
    first = cells(path, "markdown")[0].source
    for word in ("You will", "You need", "Time"):
        assert word in first, f"{path.name}: the opening lacks '{word}'"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_exercises_are_labelled_per_chapter(path):
    md = "\n".join(c.source for c in cells(path, "markdown"))
    labels = re.findall(r"^:label: (\S+)", md, re.M)
    number = int(path.stem[:2])
    assert labels and all(label.startswith(f"ch{number}-") for label in labels), labels
