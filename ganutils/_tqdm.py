"""One progress bar for the package: ``tqdm.auto`` without its warning.

Without ipywidgets (papermill kernels, plain Jupyter installs) ``tqdm.auto`` falls back to a text bar
and warns (``TqdmWarning: IProgress not found``) on import; the text bar is fine, and the warning
would land in a chapter's output. The warning filter is changed only while tqdm is imported.
"""

from __future__ import annotations

import warnings


def tqdm(*args, **kwargs):
    """``tqdm.auto.tqdm(*args, **kwargs)``, imported without the IProgress warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from tqdm.auto import tqdm as bar
    return bar(*args, **kwargs)
