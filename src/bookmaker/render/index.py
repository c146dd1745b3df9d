"""What the Index page's entries show (layouts/_index.j2): in the EPUB, a link to each chapter an
entry is marked in (the chapter's name: "Photo 3"; a chapter is the EPUB's page), its first mark
there; in print, the pages, each page once and consecutive pages merged into a range ("12–14").

Print needs every mark's folio before the index is set: a book laid out in parts learns them from
its parts, one laid out as one document from a first layout (backends/pdf/paginate.py). Until
they are known, each mark is its own `target-counter` (layouts/print.css) so the first layout's
index has about the right length.
"""

from __future__ import annotations

from typing import Mapping

from ..core.model import IndexEntry, IndexLocator

RANGE_DASH = "\u2013"


def epub_locators(entry: IndexEntry) -> list[IndexLocator]:
    """One locator a chapter: the first mark of the entry in it."""
    seen: set[str] = set()
    out = []
    for loc in entry.locators:
        if loc.href not in seen:
            seen.add(loc.href)
            out.append(loc)
    return out


def print_pages(entry: IndexEntry, folios: Mapping[str, str]) -> list[tuple[str, str]]:
    """(text, anchor of the first mark) for each page or range of pages, in book order; text ""
    (a `target-counter` in print.css) for every mark when some mark's folio is not known."""
    if any(loc.anchor not in folios for loc in entry.locators):
        return [("", loc.anchor) for loc in entry.locators]
    runs: list[list[str]] = []  # [first folio, last folio, anchor]
    for loc in entry.locators:
        folio = folios[loc.anchor]
        if runs and folio == runs[-1][1]:
            continue  # the same page once
        last = runs[-1][1] if runs else ""
        if runs and folio.isdigit() and last.isdigit() and int(folio) == int(last) + 1:
            runs[-1][1] = folio
        else:
            runs.append([folio, folio, loc.anchor])
    return [(first if first == last else f"{first}{RANGE_DASH}{last}", anchor) for first, last, anchor in runs]
