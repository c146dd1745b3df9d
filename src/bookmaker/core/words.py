"""The few words bookmaker itself prints, by the book's language (book.toml `language`).

Cross-references ("Photo 14 (page 27)"), the titles of the Index and the Notes page, the index's
"see" and "see also". A language
not in the table gets English; a region (`fr-CA`) gets its language's words.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Words:
    page: str  # before a folio: "page 27"
    figure: str  # the k-th figure of a chapter that has several: "Photo 3, figure 2"
    table: str
    index: str  # the index page's title
    notes: str  # the Notes page's title (book.toml notes = "book")
    see: str
    see_also: str
    open_quote: str  # around a heading's title
    close_quote: str


WORDS: dict[str, Words] = {
    "en": Words("page", "figure", "table", "Index", "Notes", "see", "see also", "\u201c", "\u201d"),
    "fr": Words("page", "figure", "tableau", "Index", "Notes", "voir", "voir aussi", "\u00ab\u202f", "\u202f\u00bb"),
    "de": Words("Seite", "Abbildung", "Tabelle", "Register", "Anmerkungen", "siehe", "siehe auch", "\u201e", "\u201c"),
    "es": Words("página", "figura", "tabla", "Índice alfabético", "Notas", "véase", "véase también", "\u00ab", "\u00bb"),
    "it": Words("pagina", "figura", "tabella", "Indice analitico", "Note", "vedi", "vedi anche", "\u00ab", "\u00bb"),
    "pt": Words("página", "figura", "tabela", "Índice remissivo", "Notas", "ver", "ver também", "\u201c", "\u201d"),
    "nl": Words("pagina", "figuur", "tabel", "Register", "Noten", "zie", "zie ook", "\u201c", "\u201d"),
}


def words_for(language: str) -> Words:
    return WORDS.get(language.split("-")[0].lower(), WORDS["en"])
