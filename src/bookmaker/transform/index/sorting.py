"""The order of index entries: a documented simple rule, not the full Unicode collation (PyICU is
not installable here without compiling ICU).

A term is compared by its key: Unicode NFKD with the accents taken off ("Égypte" sorts as
"egypte"), case folded ("ß" as "ss"), leading punctuation and quotes ignored ("“Juche”" as
"juche"), word by word (a space sorts before any letter: "New York" before "Newark"). Terms that
start with a number come first, in the order of their numbers ("2 June" before "10 May"). Two
terms with one key are ordered by their spelling's code points ("Apple" before "apple"), so the
order never depends on the manuscript's. The letter group of a term is the first letter of its key, capitalised; numbers go under
"0–9", anything else under "#".
"""

from __future__ import annotations

import re
import unicodedata

_LEADING = re.compile(r"^[\W_]+")
_NUMBER = re.compile(r"^\d+(?:[.,]\d+)?")


def _folded(term: str) -> str:
    text = unicodedata.normalize("NFKD", term)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    return _LEADING.sub("", text.strip())


def sort_key(term: str) -> tuple[int, float, str, str]:
    folded = _folded(term)
    number = _NUMBER.match(folded)
    if number:
        return 0, float(number.group(0).replace(",", ".")), folded, term
    return 1, 0.0, folded, term


def letter_of(term: str) -> str:
    """The heading of the group the term is listed under."""
    folded = _folded(term)
    if not folded:
        return "#"
    first = folded[0]
    if first.isdigit():
        return "0\u20139"
    return first.upper() if first.isalpha() else "#"
