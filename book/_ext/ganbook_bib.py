"""Author-year citations in the text *and* in the reference list.

sphinxcontrib-bibtex's ``author_year`` style cites as "Goodfellow et al. [2014]" but labels
the list with pybtex's alpha labels ("[GPAM+14]"). This extension registers

- ``ganbook`` (``bibtex_default_style``): pybtex's ``plain`` formatting, sorted by author,
  year and title, labelled "Goodfellow et al., 2014";
- ``author_year_round`` (``bibtex_reference_style``): author-year citations in round
  brackets, ``{cite:p}`` -> "(Goodfellow et al., 2014)", ``{cite:t}`` -> "Goodfellow et
  al. (2014)".
"""

import codecs
from dataclasses import dataclass, field

import latexcodec  # noqa: F401  (registers the 'ulatex' codec; a pybtex dependency)

import sphinxcontrib.bibtex.plugin
from pybtex.plugin import register_plugin
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle
from sphinxcontrib.bibtex.style.referencing import BracketStyle
from sphinxcontrib.bibtex.style.referencing.author_year import AuthorYearReferenceStyle


class AuthorYearLabelStyle(BaseLabelStyle):
    """'Chen, 2021', 'Radford et al., 2016', 'Odena and Dumoulin, 2016'."""

    def format_labels(self, sorted_entries):
        for entry in sorted_entries:
            people = entry.persons.get("author") or entry.persons.get("editor") or []
            names = ["".join(p.last_names) or "".join(p.first_names) for p in people]
            names = [codecs.decode(n, "ulatex").replace("{", "").replace("}", "") for n in names]
            if not names:
                who = entry.fields.get("howpublished", "Anonymous")
            elif len(names) == 1:
                who = names[0]
            elif len(names) == 2:
                who = f"{names[0]} and {names[1]}"
            else:
                who = f"{names[0]} et al."
            yield f"{who}, {entry.fields.get('year', 'n.d.')}"


class GanbookStyle(PlainStyle):
    default_label_style = "ganbook_author_year"
    default_sorting_style = "author_year_title"


def _round():
    return BracketStyle(left="(", right=")")


@dataclass
class RoundAuthorYearReferenceStyle(AuthorYearReferenceStyle):
    bracket_parenthetical: BracketStyle = field(default_factory=_round)
    bracket_textual: BracketStyle = field(default_factory=_round)
    bracket_author: BracketStyle = field(default_factory=_round)
    bracket_label: BracketStyle = field(default_factory=_round)
    bracket_year: BracketStyle = field(default_factory=_round)


register_plugin("pybtex.style.labels", "ganbook_author_year", AuthorYearLabelStyle)
register_plugin("pybtex.style.formatting", "ganbook", GanbookStyle)
sphinxcontrib.bibtex.plugin.register_plugin(
    "sphinxcontrib.bibtex.style.referencing", "author_year_round", RoundAuthorYearReferenceStyle
)


def setup(app):
    return {"parallel_read_safe": True, "parallel_write_safe": True}
