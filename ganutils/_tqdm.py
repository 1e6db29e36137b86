"""One progress bar for the package: ``tqdm.auto`` without its warning, at most 80 columns wide.

Without ipywidgets (papermill kernels, plain Jupyter installs) ``tqdm.auto`` falls back to a text bar
and warns (``TqdmWarning: IProgress not found``) on import; the text bar is fine, and the warning
would land in a chapter's output. The warning filter is changed only while tqdm is imported.

A text bar is given ``ncols`` of at most 80 (the book's column; fewer in a narrower terminal) unless
the caller passes ``ncols``; nothing is set for other bars or process-wide.
"""

from __future__ import annotations

import shutil
import warnings

from ._text import WIDTH   # the widest a text bar is drawn: the book's column


def tqdm(*args, **kwargs):
    """``tqdm.auto.tqdm(*args, **kwargs)``, imported without the IProgress warning; a text bar
    fits in ``WIDTH`` columns."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from tqdm.auto import tqdm as bar
        from tqdm.autonotebook import tqdm as chosen   # the widget or the text bar
        from tqdm.std import tqdm as text_bar
    if chosen is text_bar and not kwargs.get("dynamic_ncols"):
        kwargs.setdefault("ncols", min(WIDTH, shutil.get_terminal_size((WIDTH, 24)).columns))
    return bar(*args, **kwargs)
