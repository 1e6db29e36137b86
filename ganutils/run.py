"""Run chapters with parameters through papermill.

    python -m ganutils.run all --smoke                 # every chapter, tiny step counts
    python -m ganutils.run 3 -p steps 200 -p data ~/celeba.zip
    python -m ganutils.run all --book                  # the book run: commits outputs in place
    python -m ganutils.run all --book --data-root DIR  # ... on real photos: DIR/celeba, DIR/eyes, DIR/anime

Executed notebooks go to ``--out`` (default ``outputs/``) with their artifacts; ``--book``
runs each chapter with ``BOOK_PARAMS`` (sized for a 2-core CPU with bfloat16 units, where each chapter
took at most about 90 minutes; on a 2-core AVX2-only CPU in float32 chapters 3, 5 and 7 took 18-76
minutes, while chapter 4's 12,000-step long run and chapter 6's 64×64 runs, 1.15 s a step at one
thread, need about five hours each) and writes the executed notebook back into ``notebooks/`` once it
has finished: that is how the committed outputs are produced. A book run's checkpoints stay in ``outputs/book/runs/``; if
it is interrupted, ``python -m ganutils.run 5 --book -p resume True`` continues it. Its kernels run
with oneDNN's CPU kernels on (``BOOK_ENV``) unless ``TF_ENABLE_ONEDNN_OPTS`` is set.
``--data-root DIR`` sets the data parameters ``DATA_ROOT`` names to folders under DIR; an
executed chapter records each data source's name and image count, never a path of this machine.
Parameters are checked (``ganutils.params``) before any kernel starts.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from traceback import format_exception

from . import GIVEN_ENV, SMOKE_ENV

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"

#: Parameters of the book run (2 CPU cores, no GPU), per chapter file stem. A chapter's own
#: parameters cell holds the reader's defaults (longer, for a GPU); these override them.
#: ``mixed_precision`` stays the chapters' "auto": bfloat16 only on a CPU where it is measured faster
#: (forcing it on a CPU without bfloat16 units made steps many times slower).
BOOK_PARAMS: dict[str, dict] = {
    "03_faces28": {"steps": 2400, "width": 0.5, "sample_every": 300, "checkpoint_every": 600,
                   "metric_every": 100, "progress": False, "compare_cpu_s": 600},
    "04_eyes128": {"width": 0.25, "steps": 2400, "sample_every": 400, "checkpoint_every": 800,
                   "compare_cpu_s": 300, "export_pretrained": True,
                   "long_steps": 12000, "sitting_steps": 1000},
    "05_anime64": {"width": 0.5, "steps": 2000, "sample_every": 200, "checkpoint_every": 500,
                   "progress": False, "compare_cpu_s": 420},
    "06_tricks": {"width": 0.25, "steps": 800, "metric_every": 200, "eval_samples": 1000,
                  "width128": 0.03125, "steps128": 100, "eval128": 200, "timing_steps": 3,
                  "width64": 0.125, "steps64": 6000, "eval64": 500, "compare_cpu_s": 450,
                  "collapse_steps": 400},
    "07_evaluation": {"width": 0.5, "steps": 3000, "sample_every": 250, "checkpoint_every": 1000,
                      "metric_every": 250},
    "08_objectives": {"width": 0.5, "cpu_s": 120},
}


#: The book run's kernels' environment, unless the caller's own environment sets these names: oneDNN's
#: CPU kernels on. TensorFlow turns them on by itself only on CPUs with AVX-512 VNNI, AVX-512 BF16,
#: AVX-VNNI or AMX (``precision.ONEDNN_DEFAULT_FLAGS``); on a 2-core AVX2-only AMD EPYC a float32
#: training step of anime64 ran 1.6x as fast with them (``bench/run.py --onednn``). Each chapter prints
#: whether oneDNN was on. ``TF_ENABLE_ONEDNN_OPTS=0 python -m ganutils.run ... --book`` keeps it off.
BOOK_ENV: dict[str, str] = {"TF_ENABLE_ONEDNN_OPTS": "1"}


def book_environment(environ=None):
    """The variables a book run adds to its kernels' environment: ``BOOK_ENV`` less the names already
    set in ``environ`` (default ``os.environ``), which win."""
    environ = os.environ if environ is None else environ
    return {k: v for k, v in BOOK_ENV.items() if k not in environ}


#: ``--data-root DIR``: the folder under DIR that each chapter trains on, by parameter (the book run's
#: real photographs). The chapters' own defaults stay the embedded sets, which need nothing.
DATA_ROOT: dict[str, dict[str, str]] = {
    "03_faces28": {"data": "celeba"},
    "04_eyes128": {"data": "eyes"},
    "05_anime64": {"data": "anime"},
    "06_tricks": {"data128": "celeba", "data64": "celeba"},  # Nagendra's sections; the 28x28 tricks
                                                             # stay embedded
    "08_objectives": {"data": "celeba"},
}


def chapters(folder=NOTEBOOKS):
    """The chapter notebooks, in book order (``NN_name.ipynb``)."""
    return sorted(p for p in Path(folder).glob("[0-9][0-9]_*.ipynb"))


def select(names, folder=NOTEBOOKS):
    """Resolve ``all``, chapter numbers (``3``) or stems (``03_faces28``) to notebook paths."""
    available = chapters(folder)
    if not available:
        raise SystemExit(f"no chapters (NN_name.ipynb) found in {folder}")
    if names == ["all"]:
        return available
    picked = []
    for name in names:
        hits = [p for p in available
                if p.stem == name or p.stem.split("_")[0] == name.zfill(2) or p.name == name]
        if not hits:
            raise SystemExit(f"no chapter {name!r} in {folder}: choose from "
                             + ", ".join(p.stem for p in available) + " or 'all'")
        picked.extend(hits)
    return picked


def parameters_cell(nb):
    """The code cell tagged ``parameters`` of a notebook (an ``nbformat`` node); SystemExit if none."""
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            return cell
    raise SystemExit("no code cell tagged 'parameters' in the notebook")


def parse_value(text):
    """``-p`` values are Python literals when they parse as one (5, 0.5, True, [1, 2]),
    otherwise strings (paths)."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _coerce(chapter, name, value, kind):
    """``value`` (a ``-p`` string, or a Python value from ``BOOK_PARAMS``) as ``kind`` wants it."""
    from . import params
    parsed = parse_value(value) if isinstance(value, str) else value
    if kind is None:
        return parsed
    error = None
    for candidate in ([parsed, value] if parsed is not value else [value]):
        try:
            coerced = kind.coerce(candidate)
            break
        except ValueError as e:
            error = error or e
    else:
        raise SystemExit(f"{chapter.stem}: parameter {name} = {parsed!r}: {error}")
    # The kernel runs in another folder: a relative data or cache path means the caller's folder.
    if kind in (params.DataSource, params.CacheFile) and isinstance(coerced, str) \
            and coerced not in params._kinds() and not os.path.isabs(os.path.expanduser(coerced)):
        coerced = os.path.abspath(coerced)
    return coerced


def check_parameters(notebooks, given):
    """Check parameters against each chapter's parameters cell before any kernel starts.

    ``given`` maps names to values: strings as typed after ``-p`` (``"6.0"``, ``"abc"``, a path) or
    Python values (``BOOK_PARAMS``). Each value is converted to the kind the cell declares
    (:mod:`ganutils.params`: ``"6.0"`` -> 6 for a ``Count``; data paths must exist and relative ones
    become absolute). Returns ``{notebook: {name: value}}``; a chapter gets only the names its cell
    declares. Raises SystemExit with one message for a name no selected chapter declares (with the
    closest name, by ``difflib``) or a value of the wrong kind.
    """
    import difflib

    import nbformat

    from . import params
    declared = {}
    for nb in notebooks:
        cell = parameters_cell(nbformat.read(str(nb), as_version=4))
        declared[nb] = params.declared(cell.source)
    checked = {nb: {} for nb in notebooks}
    for name, value in given.items():
        owners = [nb for nb in notebooks if name in declared[nb]]
        if not owners:
            known = sorted(set().union(*declared.values()))
            close = difflib.get_close_matches(name, known, n=1)
            where = notebooks[0].stem if len(notebooks) == 1 else "none of the chapters selected"
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise SystemExit(f"{where}: no parameter {name!r} (-p {name}).{hint}\n"
                             f"Parameters: {', '.join(known)}")
        for nb in owners:
            checked[nb][name] = _coerce(nb, name, value, declared[nb][name])
    return checked


def parameter_values(notebook, smoke=False):
    """The values a chapter's parameters cell sets by itself, with or without smoke mode, computed
    here without a kernel (the cell only imports ``ganutils``, perhaps calling ``ganutils.smoke``); in
    smoke mode, updated with the tests' values of its ``ganutils.params.for_tests`` call."""
    import builtins
    import types

    import nbformat

    from . import params
    shim = types.SimpleNamespace(smoke=(lambda full, test: test) if smoke else (lambda full, test: full),
                                 params=params)

    def importer(name, globals=None, locals=None, fromlist=(), level=0):
        if name == "ganutils" and not fromlist:   # `import ganutils` gets the shim's smoke()
            return shim
        return builtins.__import__(name, globals, locals, fromlist, level)

    namespace = {"ganutils": shim, "__builtins__": {**vars(builtins), "__import__": importer}}
    nb = nbformat.read(str(notebook), as_version=4)
    source = parameters_cell(nb).source
    exec(source, namespace)
    if smoke:
        for cell in nb.cells:
            if cell.cell_type == "code" and "for_tests(" in cell.source:  # other cells may hold magics
                namespace.update(params.values_for_tests(cell.source))
    return {name: namespace[name] for name in params.declared(source) if name in namespace}


def run_folders(notebook, cwd, smoke=False, parameters=None):
    """The folders a chapter writes its runs into (its ``OutDir`` parameters), resolved in ``cwd``,
    the kernel's working folder; ``parameters`` are the values injected over the cell's own."""
    import nbformat

    from . import params
    kinds = params.declared(parameters_cell(nbformat.read(str(notebook), as_version=4)).source)
    values = {**parameter_values(notebook, smoke), **(parameters or {})}
    return [Path(cwd, os.path.expanduser(values[name])) for name, kind in kinds.items()
            if kind is params.OutDir and name in values]


def new_folders(folders, within):
    """For each folder that does not exist yet, the outermost missing folder on its way inside
    ``within``: what creating it will add, and what a clean-up may remove."""
    within = Path(within).resolve()
    added = []
    for folder in folders:
        folder = Path(folder).resolve()
        if folder.exists() or within not in folder.parents:
            continue
        while folder.parent != within and not folder.parent.exists():
            folder = folder.parent
        if folder not in added:
            added.append(folder)
    return added


def smoke_scratch(notebook, cwd, parameters=None):
    """What a smoke run of a chapter in ``cwd`` may delete when it ends: the run folders that only
    smoke runs use (the tests' values, ``ganutils.params.for_tests``, give them a folder of their
    own, e.g. ``runs/smoke/faces28``), and any other run folder it is about to create. A folder a
    normal run uses and that exists already (a reader's run) is never on the list."""
    smoke = run_folders(notebook, cwd, smoke=True, parameters=parameters)
    full = run_folders(notebook, cwd, smoke=False, parameters=parameters)
    own = [folder for folder in smoke if folder not in full]
    return own + [f for f in new_folders(smoke, cwd) if f not in own]


def remove_scratch(folders, within):
    """Delete ``folders``, then the parents they leave empty, up to (not including) ``within``."""
    within = Path(within).resolve()
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
        parent = Path(folder).resolve().parent
        while within in parent.parents and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent


def describe_data(source):
    """What a committed chapter records about its data: an embedded kind's name as is, else
    ``{"name": ..., "images": N}`` with the folder's or file's name (never its path) and the number
    of images it holds (files listed by ``ganutils.data.list_images``; rows of a ``.npy`` array)."""
    from . import params
    if source in params._kinds():
        return source
    path = Path(os.path.expanduser(source))
    if path.suffix.lower() == ".npy":
        import numpy as np
        return {"name": path.stem, "images": int(np.load(path, mmap_mode="r").shape[0])}
    from .data import list_images
    fixed = next((i for i, part in enumerate(path.parts) if set("*?[") & set(part)), None)
    folder = Path(*path.parts[:fixed]) if fixed else path
    name = folder.stem if folder.is_file() else folder.name
    return {"name": name, "images": len(list_images(source))}


def public_record(notebook, parameters):
    """The run's parameters as a committed chapter may record them: data sources as their name (and
    ``data`` maps each to its name and image count), cache files and absolute folders by name only."""
    import nbformat

    from . import params
    kinds = params.declared(parameters_cell(nbformat.read(str(notebook), as_version=4)).source)
    record, data = {}, {}
    for name, value in parameters.items():
        kind = kinds.get(name)
        if kind is params.DataSource and isinstance(value, str):
            data[name] = describe_data(value)
            value = data[name] if isinstance(data[name], str) else data[name]["name"]
        elif kind in (params.CacheFile, params.OutDir) and isinstance(value, str) and os.path.isabs(value):
            value = Path(value).name
        record[name] = value
    return {"parameters": record, **({"data": data} if data else {})}


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _failure(chapter, error, log):
    """A few lines naming the chapter, the cell (its number in the chapter, and the line that failed
    or else its first line) and the error; the full traceback is appended to ``log``."""
    import nbformat
    source = getattr(error, "source", None)
    cells = nbformat.read(str(chapter), as_version=4).cells
    numbers = [i + 1 for i, c in enumerate(cells) if source is not None and c.source == source]
    traceback = getattr(error, "traceback", None)
    full = _ANSI.sub("", "\n".join(traceback) if traceback else "".join(format_exception(error)))
    if numbers:
        lines = source.split("\n")
        # IPython names the cell's frames "Cell In[7], line 12"; the last one is where it failed.
        frame = rf"Cell In\[{getattr(error, 'exec_count', '')}\], line (\d+)"
        failed = [int(n) for n in re.findall(frame, full)]
        if failed and 0 < failed[-1] <= len(lines):
            at = f"line {failed[-1]}: {lines[failed[-1] - 1].strip()[:70]}"
        else:
            code = [line for line in lines if line.strip() and not line.startswith("#")]
            at = (code or lines)[0].strip()[:70]
        where = f"cell {numbers[0]} of {len(cells)}, {at}"
    else:
        where = "while starting or talking to the kernel"
    ename = getattr(error, "ename", type(error).__name__)
    evalue = str(getattr(error, "evalue", error))
    message = "\n      ".join(evalue.strip().split("\n")[:4])
    with open(log, "a") as f:
        f.write(f"\n[run] {chapter.stem} failed in {where}\n{full}\n")
    return (f"[run] {chapter.stem} failed in {where}\n"
            f"      {ename}: {message}\n"
            f"      full traceback: {log}")


def _kernel_manager(log, env):
    """A Jupyter kernel manager whose kernels get ``env`` on top of this process's environment and
    write their own stdout/stderr (TensorFlow's C++ start-up lines, the kernel's "running over TCP
    without encryption" warning) to the open file ``log`` instead of the terminal. Cell outputs
    still reach the notebook: they travel over the kernel's messages, not these streams."""
    from jupyter_client.manager import KernelManager

    class QuietKernelManager(KernelManager):
        async def _async_launch_kernel(self, kernel_cmd, **kw):
            kw["env"] = {**kw.get("env", os.environ), **env}
            if log is not None:
                kw["stdout"] = kw["stderr"] = log
            return await super()._async_launch_kernel(kernel_cmd, **kw)

    return QuietKernelManager


def run(notebook, output, parameters=None, smoke=False, cwd=None, log_output=False, log=None, tmpdir=None,
        record=None, env=None):
    """Execute one notebook with papermill; returns the seconds it took.

    ``record``: what the executed notebook's metadata keeps of the run (``public_record``; default:
    the parameters as given).
    ``log``: a file that receives the kernel process's own output (TensorFlow's start-up lines);
    None leaves it on the terminal. ``tmpdir``: the kernel's ``TMPDIR`` (its temporary files go
    there). ``env``: more variables for the kernel (the book run's ``book_environment()``). Nothing in
    this process's environment is changed: the kernel gets ``GANBOOK_SMOKE``
    (smoke runs), ``GANBOOK_GIVEN`` (the names of ``parameters``: the tests' values of
    ``ganutils.params.for_tests`` do not override them), ``TF_CPP_MIN_LOG_LEVEL=3`` (unless set) and
    an inline matplotlib backend through its own environment.
    """
    import papermill as pm
    env = {"MPLBACKEND": "module://matplotlib_inline.backend_inline",  # figures go into the notebook
           "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3"),
           GIVEN_ENV: ",".join(parameters or {}), **(env or {})}
    if smoke:
        env[SMOKE_ENV] = "1"
    if tmpdir is not None:
        env["TMPDIR"] = str(tmpdir)
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    handle = open(log, "a") if log is not None else None
    try:
        t0 = time.perf_counter()
        pm.execute_notebook(str(notebook), str(output), parameters=parameters or {},
                            cwd=str(cwd or Path(notebook).parent), kernel_name="python3",
                            log_output=log_output, progress_bar=False,
                            kernel_manager_class=_kernel_manager(handle, env))
        seconds = time.perf_counter() - t0
    finally:
        if handle is not None:
            handle.close()
    _finish(output, smoke=smoke, seconds=seconds, **(record or {"parameters": parameters or {}}))
    return seconds


# TensorFlow's C++ start-up lines ("I0000 00:00:17... port.cc:153] oneDNN ...") reach stderr
# whatever TF_CPP_MIN_LOG_LEVEL says when keras is imported before tensorflow.
_TF_LOG = re.compile(r"^(WARNING: All log messages before absl::InitializeLog\(\).*"
                     r"|[IWE]\d{4} [\d:.]+ +\d+ [\w.]+:\d+\] .*)\n?", re.M)


def quiet_tensorflow():
    """Import TensorFlow with its C++ start-up lines kept off the terminal, and return the module.

    For the processes the runner and the benches start themselves; ``import ganutils`` never does
    this to a reader's process. While it loads, TensorFlow writes "All log messages before
    absl::InitializeLog() ..." and ``I0000 ...`` lines from C++ straight to file descriptor 2,
    whatever ``TF_CPP_MIN_LOG_LEVEL`` says. This sets ``TF_CPP_MIN_LOG_LEVEL=3`` unless it is set
    (which keeps the later ``E0000 ... cuInit`` line quiet), points descriptor 2 at a temporary file
    during the import, and writes back to stderr whatever was not such a log line.
    """
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            rest = _TF_LOG.sub("", captured.read().decode(errors="replace"))
            if rest.strip():
                sys.stderr.write(rest)
    return tensorflow


def _final_state(text):
    """What a terminal shows for text written with carriage returns (a progress bar
    redrawn in place): each line keeps only what follows its last ``\\r``."""
    return "\n".join(line.rstrip("\r").rsplit("\r", 1)[-1] for line in text.split("\n"))


def tidy_outputs(outputs):
    """A code cell's outputs as the page should show them: TensorFlow's C++ log lines
    dropped, consecutive stream outputs merged, progress bars reduced to their last state.
    Figures are kept as they are: result grids stay PNG (JPEG blurs a generator's grid
    and its own block artefacts into one another)."""
    kept = []
    for out in outputs:
        if out.get("output_type") == "stream":
            text = out["text"]
            if out.get("name") == "stderr":
                text = _TF_LOG.sub("", text)
                if not text.strip():   # only log lines: gone, so the streams around it merge
                    continue
            if kept and kept[-1].get("output_type") == "stream" and kept[-1]["name"] == out["name"]:
                kept[-1]["text"] += text
                continue
            out["text"] = text
        kept.append(out)
    for out in kept:
        if out.get("output_type") == "stream":
            out["text"] = _final_state(out["text"])
    return [out for out in kept if out.get("output_type") != "stream" or out["text"].strip()]


def _finish(path, **info):
    """Tidy an executed notebook (papermill's injected cell dropped, outputs through
    ``tidy_outputs``) and record how it was executed in its metadata (``ganbook``), so a
    test can refuse committed chapters whose outputs come from a smoke run."""
    import nbformat
    nb = nbformat.read(str(path), as_version=4)
    # papermill's "injected-parameters" cell holds the run's values, which are recorded in
    # metadata["ganbook"]["parameters"]. Drop it: the committed chapter must run with its own
    # defaults (smoke values under nbval, the reader's defaults in Colab).
    nb.cells = [c for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell["outputs"] = tidy_outputs(cell.get("outputs", []))
    nb.metadata["ganbook"] = {k: (round(v, 1) if isinstance(v, float) else v) for k, v in info.items()}
    # papermill's own record names the machine's paths: keep file names and the public parameters.
    papermill = nb.metadata.get("papermill", {})
    for key in ("input_path", "output_path"):
        if papermill.get(key):
            papermill[key] = Path(papermill[key]).name
    if "parameters" in papermill:
        papermill["parameters"] = info.get("parameters", {})
    nbformat.write(nb, str(path))


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m ganutils.run", description=__doc__.split("\n")[0])
    p.add_argument("chapters", nargs="+", help="'all', chapter numbers or notebook stems")
    p.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                   help="override a parameter of the chapters' parameters cell")
    p.add_argument("--out", default="outputs", help="folder for executed notebooks (default: outputs)")
    p.add_argument("--smoke", action="store_true", help="tiny step counts (what the tests run)")
    p.add_argument("--book", action="store_true", help="book parameters; write outputs into notebooks/")
    p.add_argument("--notebooks", default=str(NOTEBOOKS), help="folder holding the chapters")
    p.add_argument("--log", action="store_true", help="echo the cells' output while running")
    p.add_argument("--data-root", metavar="DIR",
                   help="chapters 3-5 (and chapter 6's seed-003 section) train on DIR/celeba, DIR/eyes, "
                        "DIR/anime")
    args = p.parse_args(argv)
    if args.book and args.smoke:
        p.error("--book and --smoke exclude each other: smoke-run outputs are never committed")

    notebooks = select(args.chapters, args.notebooks)
    # Before any kernel starts: the book's settings, then --data-root's folders, then the -p values.
    checked = check_parameters(notebooks, dict(args.parameter))
    for nb in notebooks:
        folders = DATA_ROOT.get(nb.stem, {}) if args.data_root else {}
        base = {}
        for layer in (BOOK_PARAMS.get(nb.stem, {}) if args.book else {},
                      {name: str(Path(args.data_root, folder)) for name, folder in folders.items()}):
            base.update(check_parameters([nb], layer)[nb])
        checked[nb] = {**base, **checked[nb]}
    out = Path(args.out)
    summary = []
    for nb in notebooks:
        params = checked[nb]
        target = nb if args.book else out / nb.name
        print(f"[run] {nb.stem} {json.dumps(params)}{' (smoke)' if args.smoke else ''}", flush=True)
        # Papermill writes its output cell by cell. A book run goes to outputs/ first and
        # replaces the chapter only when it finished, so an interrupted or failed run never
        # leaves a half-executed chapter behind.
        # The kernel's working folder holds the run's artifacts (runs/...: checkpoints, grids).
        # It is never notebooks/, where nbval's smoke runs write theirs: a test run must not
        # wipe the checkpoints a book run continues from (`-p resume True`).
        work = (out / "book" / nb.name) if args.book else target
        cwd = work.resolve().parent
        cwd.mkdir(parents=True, exist_ok=True)
        log = work.with_suffix(".log")   # the kernel's own output and, on failure, the traceback
        log.unlink(missing_ok=True)
        # A smoke run leaves nothing but its executed notebook and log: the run folders it creates
        # (checkpoints, grids) and the kernel's temporary files are removed when it ends.
        scratch = smoke_scratch(nb, cwd, parameters=params) if args.smoke else []
        tmpdir = tempfile.mkdtemp(prefix=f"ganbook-{nb.stem}-") if args.smoke else None
        record = public_record(nb, params)   # what the executed chapter keeps: no machine paths
        try:
            seconds = run(nb, work.resolve(), params, smoke=args.smoke, cwd=cwd, log_output=args.log,
                          log=log, tmpdir=tmpdir, record=record,
                          env=book_environment() if args.book else None)
        except Exception as error:   # papermill's PapermillExecutionError, or a dead kernel
            raise SystemExit(_failure(nb, error, log)) from None
        finally:
            remove_scratch(scratch, cwd)
            if tmpdir:
                shutil.rmtree(tmpdir, ignore_errors=True)
        if args.book:
            shutil.move(str(work), str(target))
        print(f"[run] {nb.stem} done in {seconds:.1f} s -> {target}", flush=True)
        summary.append({"chapter": nb.stem, "seconds": round(seconds, 1), **record})
    out.mkdir(parents=True, exist_ok=True)
    (out / "run_summary.json").write_text(json.dumps(summary, indent=1))
    total = sum(s["seconds"] for s in summary)
    print(f"[run] {len(summary)} chapter(s) in {total:.1f} s; summary in {out / 'run_summary.json'}")
    return summary


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
