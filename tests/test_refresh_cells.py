"""scripts/refresh_cells.py: re-execute a few cells of a chapter, keep every other cell as it is."""

import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import refresh_cells  # noqa: E402


def chapter(path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# A page"),
                nbformat.v4.new_code_cell("x = 20"),
                nbformat.v4.new_code_cell("print(x + 1)"),
                nbformat.v4.new_code_cell("print('kept')")]
    for cell, text in zip(nb.cells[2:], ("old\n", "kept\n")):
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
    nb.cells[2].id, nb.cells[1].id = "target", "setup"
    nbformat.write(nb, path)


def test_only_the_named_cells_get_new_outputs(tmp_path):
    path = tmp_path / "ch.ipynb"
    chapter(path)
    assert refresh_cells.main([str(path), "target", "--setup", "setup"]) == 0
    nb = nbformat.read(path, as_version=4)
    assert nb.cells[2].outputs[0]["text"] == "21\n"          # ran after its setup cell
    assert nb.cells[2].execution_count                       # nbval refuses outputs of an "unrun" cell
    assert nb.cells[3].outputs[0]["text"] == "kept\n"        # not named: untouched
    assert nb.cells[1].outputs == []                         # setup ran, its outputs are not stored


def test_a_failing_cell_writes_nothing_and_a_wrong_name_says_so(tmp_path):
    path = tmp_path / "ch.ipynb"
    chapter(path)
    before = path.read_text()
    assert refresh_cells.main([str(path), "target"]) == 1    # x is undefined without the setup cell
    assert path.read_text() == before
    with pytest.raises(SystemExit, match="no cell with id or index 'nope'"):
        refresh_cells.main([str(path), "nope"])
    with pytest.raises(SystemExit, match="is markdown, not code"):
        refresh_cells.main([str(path), "0"])
