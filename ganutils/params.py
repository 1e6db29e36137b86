"""Chapter parameters: each knob declares the kind of value it takes, checked before any work starts.

A chapter's parameters cell annotates every knob with its kind and holds the reader's values; the cell
right after it (tagged ``remove-input``: the book hides its code) gives the tests' small values and checks
them all::

    steps: Count = 6000                            # parameters cell (papermill injects after it)

    ganutils.params.for_tests(globals(), steps=6)  # next cell: only when the tests run the chapter
    ganutils.params.check(globals())               # coerce what is safe, or stop with one message

:func:`for_tests` does nothing in Colab or a book run; when the tests run the chapter (``pytest
--nbval-lax notebooks`` or ``python -m ganutils.run --smoke``: ``GANBOOK_SMOKE=1``) it sets the values
it is given, except those the runner injected (``-p``), which win. It refuses a name that is not a
parameter of the chapter in every run. :func:`values_for_tests` reads them from the cell without running it.

``check`` reads the annotations and the *current* values, so values injected by papermill (or typed by
the reader) are the ones checked. Safe coercions are written back (``6.0`` and ``"6"`` -> ``6``,
``"true"`` -> ``True``); anything else (``6.5``, ``"abc"``, ``-3`` steps, a data folder that does not
exist) stops with one :class:`ParameterError` naming the parameter, the value and what is expected.
``python -m ganutils.run`` applies the same kinds to its ``-p NAME VALUE`` options before it starts a
kernel (:func:`declared` reads them from the cell's source without running it).

Kinds: :data:`Count` (whole number >= 0), :data:`Size` (whole number >= 1), :data:`Positive`
(number > 0), :data:`Number`, :data:`Fraction` (number in [0, 1]), :data:`Flag` (bool),
:data:`Precision` (``"auto"`` or a bool),
:data:`Text`, :func:`OneOf`, :data:`Crop`, :data:`DataSource` (an embedded kind name, a named
real dataset such as ``"celeba"``, or an existing folder / glob / .zip / .npy of images),
:data:`CacheFile` (None or a ``.npy`` path) and :data:`OutDir` (a folder path). Paths starting with
``~`` come back with the home folder written out (papermill passes ``-p out_dir ~/runs`` unexpanded).
Papermill itself reads annotated parameters (``papermill --help-notebook``).
"""

from __future__ import annotations

import ast
import math
import numbers
import os
import zipfile
from pathlib import Path

from . import GIVEN_ENV, SMOKE_ENV

__all__ = ["ParameterError", "Kind", "check", "declared", "for_tests", "values_for_tests", "testing", "OneOf", "Count", "Size", "Positive", "Number",
           "Fraction", "Flag", "Precision", "Text", "Crop", "DataSource", "CacheFile", "OutDir"]

_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


class ParameterError(ValueError):
    """A parameter's value is not of its declared kind: the message names it, its value and what is expected.

    In Jupyter the message is shown alone (``_render_traceback_``), without a traceback: the cell that
    raised it is the check cell, and the line to fix is in the parameters cell above it.
    """

    def _render_traceback_(self):
        return [f"ParameterError: {line}" if i == 0 else line for i, line in enumerate(str(self).split("\n"))]


class Kind:
    """A kind of parameter value. ``kind.coerce(value)`` returns the value in its proper type (e.g. ``6``
    for ``6.0``) or raises ``ValueError`` whose message says what is expected and, for paths, what is wrong.
    """

    def __init__(self, name, expected, convert):
        self.name, self.expected, self._convert = name, expected, convert

    def coerce(self, value):
        try:
            result = self._convert(value)
        except (TypeError, ValueError, OverflowError) as e:
            reason = str(e)
            raise ValueError((f"{reason}; " if reason else "") + f"expected {self.expected}") from None
        return result

    def __repr__(self):
        return f"<parameter kind {self.name}: {self.expected}>"


def _bad(reason=""):
    raise ValueError(reason)


def _number(value):
    """int or float from a number or a numeric string; bools, NaN and infinities are refused."""
    if isinstance(value, bool) or (hasattr(value, "dtype") and value.dtype.kind == "b"):
        _bad()
    if isinstance(value, str):
        text = value.strip().replace("_", "")
        try:
            value = int(text)
        except ValueError:
            try:
                value = float(text)
            except ValueError:
                _bad()
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real) and math.isfinite(value):
        return float(value)
    _bad()


def _whole(value):
    number = _number(value)
    if isinstance(number, float):
        if not number.is_integer():
            _bad()
        number = int(number)
    return number


def _at_least(lowest, convert):
    def check(value):
        number = convert(value)
        if number < lowest:
            _bad()
        return number
    return check


def _positive(value):
    number = _number(value)
    if number <= 0:
        _bad()
    return number


def _fraction(value):
    number = _number(value)
    if not 0 <= number <= 1:
        _bad()
    return number


def _flag(value):
    if isinstance(value, bool):
        return value
    if hasattr(value, "dtype") and value.dtype.kind == "b":
        return bool(value)
    if isinstance(value, numbers.Integral) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    _bad()


def _text(value):
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        _bad()
    return value


def OneOf(*choices):
    """The kind of a parameter that takes one of ``choices`` (e.g. ``OneOf("center", "celeba", "none")``)."""
    def convert(value):
        if value not in choices:
            _bad()
        return value
    return Kind("OneOf", "one of " + ", ".join(repr(c) for c in choices), convert)


def _kinds():
    from .data.procedural import KINDS
    return tuple(KINDS)


def _source_names():
    from .data.sources import NAMES
    return NAMES


def _has_image(folder):
    """True when a folder holds at least one image file (searched recursively as ``list_images`` searches,
    link loops not followed; stops at the first)."""
    from .data.files import _is_image_name, _walk
    return any(any(_is_image_name(f) for f in names) for _, _, names in _walk(folder, []))


def _home(text):
    """``text`` with a leading ``~`` (or ``~user``) expanded to the home folder, as every path ganutils takes:
    papermill hands ``-p out_dir ~/runs`` to the kernel as the string "~/runs", which no shell expanded."""
    return os.path.expanduser(text) if text.startswith("~") else text


def _data_source(value):
    text = _text(value)
    if text in _kinds():
        return text
    path = Path(_home(text))
    if text in _source_names() and not path.exists():  # as load_images: an existing path of that name wins
        from .data.sources import SOURCES
        if not SOURCES[text].mirrors:  # no public archive: say so now, not after the chapter's first cells
            _bad(f"{text} cannot be downloaded: {SOURCES[text].unavailable.rstrip('.')}")
        return text
    if path.is_dir():
        if not _has_image(path):
            _bad(f"the folder {text} holds no image files")
        return _home(text)
    if path.is_file():
        if path.suffix.lower() == ".npy" or zipfile.is_zipfile(path):
            return _home(text)
        _bad(f"{text} is a file but neither a .zip archive nor a .npy array")
    if set("*?[") & set(text):
        from .data.files import _glob
        if not _glob(_home(text), []):
            _bad(f"the glob pattern {text} matches no files")
        return _home(text)
    near = None
    if not any(c in text for c in "/\\") and not Path(text).suffix:  # a name, not a path: maybe a typo
        from .data.sources import suggest
        near = suggest(text)
    _bad(f"no such folder or file: {text}" + (f"; did you mean {near!r}?" if near else ""))


def _cache_file(value):
    if value is None or (isinstance(value, str) and value.strip() in ("", "None")):
        return None
    text = _text(value)
    if not text.endswith(".npy"):
        _bad()
    return _home(text)


def _out_dir(value):
    text = _text(value)
    if not text.strip():
        _bad("an empty path")
    if Path(_home(text)).is_file():
        _bad(f"{text} is a file")
    return _home(text)


#: A whole number >= 0 (step counts, epochs, seeds). Accepts 6, 6.0 and "6"; refuses 6.5, "abc", -3.
Count = Kind("Count", "a whole number >= 0", _at_least(0, _whole))
#: A whole number >= 1 (image sizes, batch sizes, numbers of images, steps between two events).
Size = Kind("Size", "a whole number >= 1", _at_least(1, _whole))
#: Any finite number (an int stays an int).
Number = Kind("Number", "a number", _number)
#: A finite number > 0 (widths, learning rates).
Positive = Kind("Positive", "a number > 0", _positive)
#: A number in [0, 1].
Fraction = Kind("Fraction", "a number from 0 to 1", _fraction)
#: True or False; also accepts 1/0 and the strings "true"/"false", "yes"/"no", "on"/"off".
Flag = Kind("Flag", "True or False", _flag)


def _precision(value):
    if isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    return _flag(value)


#: Mixed precision: ``"auto"`` (16-bit compute where this machine runs it faster: ``ganutils.precision``),
#: ``True`` (always) or ``False`` (never).
Precision = Kind("Precision", "'auto', True or False", _precision)
#: Any string.
Text = Kind("Text", "a string", _text)
#: Where images come from: an embedded kind ("faces", "eyes", "anime"), a named real dataset downloaded on
#: first use ("celeba", "anime-faces"; see ganutils.data.sources), or an existing folder of images, glob
#: pattern, .zip of images or .npy array (``~`` expanded). Checked at once, so a wrong path (or a misspelt
#: name, with a "did you mean") stops before any work.
DataSource = Kind("DataSource", "an embedded kind (faces, eyes, anime), a named dataset to download "
                  "(celeba, anime-faces), or an existing folder of images, a glob pattern, a .zip or a .npy "
                  "file", _data_source)
#: None, or the path of a .npy file that keeps decoded images for next time (it need not exist yet; ``~`` is
#: expanded).
CacheFile = Kind("CacheFile", "None or a path ending in .npy", _cache_file)
#: How a photo is cropped to a square (as ``ganutils.data.load_images``' ``crop``).
Crop = OneOf("center", "celeba", "none")
#: A folder path for a run's files (created when needed; it must not be an existing file; ``~`` is expanded).
OutDir = Kind("OutDir", "a folder path", _out_dir)


def check(namespace):
    """Check every annotated parameter in ``namespace`` (a notebook's ``globals()``) against its kind.

    Values that only differ in type (``6.0`` or ``"6"`` for a :data:`Count`) are converted and written
    back into ``namespace``; returns None, so the check cell shows nothing when all is well. Raises
    :class:`ParameterError` with one line per wrong parameter, naming it, its value and what is expected.
    Names without a :class:`Kind` annotation are left alone.
    """
    annotations = namespace.get("__annotations__", {})
    kinds = {name: kind for name, kind in annotations.items() if isinstance(kind, Kind)}
    problems, checked = [], {}
    for name, kind in kinds.items():
        if name not in namespace:
            continue
        try:
            checked[name] = kind.coerce(namespace[name])
        except ValueError as e:
            problems.append(f"parameter {name} = {namespace[name]!r}: {e}")
    if problems:
        raise ParameterError("\n".join(problems) + "\nFix the value in the parameters cell (or the -p "
                             "option) and run again.")
    namespace.update(checked)


def declared(source):
    """The parameters a parameters cell declares, read from its source without running it.

    Returns ``{name: kind}`` in the cell's order; ``kind`` is a :class:`Kind`, or None for a name
    assigned without an annotation. Annotations are evaluated with this module's names only
    (``Count``, ``OneOf("a", "b")``, ``params.Count``, ``ganutils.params.Count``). Raises
    ``SyntaxError`` for a cell that is not Python.
    """
    import ganutils
    names = {k: v for k, v in globals().items() if not k.startswith("_")}
    names["ganutils"], names["params"] = ganutils, ganutils.params
    found = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            try:
                kind = eval(compile(ast.Expression(node.annotation), "<parameters>", "eval"),
                            {"__builtins__": {}}, names)
            except Exception:
                kind = None
            found[node.target.id] = kind if isinstance(kind, Kind) else None
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found[target.id] = None
    return found


def testing():
    """True when the tests run the chapter: ``GANBOOK_SMOKE`` is set (to anything but ``0``) by
    ``pytest --nbval-lax notebooks`` (notebooks/conftest.py) and ``python -m ganutils.run --smoke``."""
    return os.environ.get(SMOKE_ENV, "") not in ("", "0")


def for_tests(namespace, **values):
    """Give the chapter's parameters in ``namespace`` (its ``globals()``) small ``values`` when the tests
    run it, so that every cell runs in seconds: ``for_tests(globals(), steps=6, out_dir="runs/smoke/x")``.

    It goes in the cell right after the parameters cell, before :func:`check`. In Colab, in a reader's
    run and in the book run it changes nothing. When the tests run the chapter (:func:`testing`) it sets
    each value, except for the parameters the runner injected (``python -m ganutils.run --smoke -p steps
    200``; their names are in ``GANBOOK_GIVEN``), whose values win. Returns None.

    Raises :class:`ParameterError` in every run, tests or not, for a name that is not a parameter of the
    chapter (one annotated with a :class:`Kind` in the parameters cell), naming the closest one.
    """
    import difflib

    annotations = namespace.get("__annotations__", {})
    known = [name for name, kind in annotations.items() if isinstance(kind, Kind) and name in namespace]
    unknown = [name for name in values if name not in known]
    if unknown:
        lines = []
        for name in unknown:
            close = difflib.get_close_matches(name, known, n=1)
            lines.append(f"for_tests: {name!r} is not a parameter of this chapter"
                         + (f"; did you mean {close[0]!r}?" if close else ""))
        raise ParameterError("\n".join(lines) + "\nParameters: " + (", ".join(known) or "none"))
    if not testing():
        return
    given = {name.strip() for name in os.environ.get(GIVEN_ENV, "").split(",")}
    namespace.update({name: value for name, value in values.items() if name not in given})


def values_for_tests(source):
    """The values a cell gives the tests with :func:`for_tests`, read from its source without running it.

    Returns ``{name: value}`` (empty when the cell has no ``for_tests`` call). Raises ``ValueError`` for
    a value that is not a Python literal (the tests' values are plain numbers and strings) and
    ``SyntaxError`` for a cell that is not Python.
    """
    found = {}
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name != "for_tests":
            continue
        for keyword in node.keywords:
            try:
                found[keyword.arg] = ast.literal_eval(keyword.value)
            except ValueError:
                raise ValueError(f"for_tests: the value of {keyword.arg} is not a literal: "
                                 f"{ast.unparse(keyword.value)}") from None
    return found
