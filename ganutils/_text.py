"""Text the package prints, fitted to the book's column.

The rendered book shows about 80 characters of a printed line; a longer one scrolls sideways and its
end is lost. Everything ``ganutils`` prints (the trainer's and the comparison's messages, the text
progress bar) fits ``WIDTH``.
"""

from __future__ import annotations

import textwrap

#: The book's column, in characters.
WIDTH = 80


def say(*lines, width=WIDTH):
    """Print each of ``lines`` wrapped at ``width`` columns (default 80, the book's), continued lines
    indented by two more spaces than the line's own indent; a path or a word longer than ``width``
    stays whole on its own line (``break_long_words=False``), so it can still be copied."""
    for line in lines:
        text = line.lstrip(" ")
        indent = " " * (len(line) - len(text))
        print(textwrap.fill(text, width, initial_indent=indent, subsequent_indent=indent + "  ",
                            break_long_words=False, break_on_hyphens=False))
