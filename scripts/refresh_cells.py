"""Re-execute a few cells of a chapter and store their new outputs, leaving every other cell as it is.

    python scripts/refresh_cells.py notebooks/03_faces28.ipynb 165839bc 7b1c... --setup 963ffa78 dc9c73fd

For what changes without the chapter's training: a shipped generator's opening grid, its data card, the
figures drawn from it. A whole chapter is re-run with ``python -m ganutils.run N --book``; this is for
when only the package changed. The ``--setup`` cells (the imports, the parameters cell) run first, in
the order given, and keep their outputs; then the named cells run in the order given, and each one's
outputs replace the stored ones (tidied as the book run tidies them, ``ganutils.run.tidy_outputs``).
Cells are named by their notebook ids (``jq '.cells[].id'``) or by their index. A cell that raises stops
the script before anything is written (exit status 1, the traceback printed).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def find(nb, key):
    """The index of the cell whose id is ``key``, or ``key`` itself when it is a whole number."""
    for i, cell in enumerate(nb.cells):
        if cell.get("id") == key:
            return i
    if key.isdigit() and int(key) < len(nb.cells):
        return int(key)
    raise SystemExit(f"no cell with id or index {key!r} (the notebook has {len(nb.cells)} cells)")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("notebook", type=Path)
    p.add_argument("cells", nargs="+", help="ids (or indices) of the cells whose outputs are replaced")
    p.add_argument("--setup", nargs="*", default=[], help="cells run first, outputs kept")
    p.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    args = p.parse_args(argv)

    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    from ganutils.run import tidy_outputs

    nb = nbformat.read(args.notebook, as_version=4)
    setup = [find(nb, k) for k in args.setup]
    targets = [find(nb, k) for k in args.cells]
    for i in setup + targets:
        if nb.cells[i].cell_type != "code":
            raise SystemExit(f"cell {i} ({nb.cells[i].get('id')}) is {nb.cells[i].cell_type}, not code")
    scratch = nbformat.v4.new_notebook(metadata=nb.metadata)
    scratch.cells = [nbformat.v4.new_code_cell(nb.cells[i].source) for i in setup + targets]
    client = NotebookClient(scratch, timeout=args.timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(args.notebook.parent)}})
    try:
        client.execute()
    except CellExecutionError as error:
        print(error, file=sys.stderr)
        return 1
    for i, ran in zip(targets, scratch.cells[len(setup):]):
        nb.cells[i].outputs = tidy_outputs(ran.outputs)
        # nbval refuses a cell with outputs and no execution count ("Unrun reference cell"): keep the
        # book run's count, or take the scratch kernel's
        nb.cells[i].execution_count = nb.cells[i].get("execution_count") or ran.execution_count
        print(f"cell {i} ({nb.cells[i].get('id')}): {len(nb.cells[i].outputs)} outputs")
    nbformat.write(nb, args.notebook)
    return 0


if __name__ == "__main__":
    sys.exit(main())
