"""book.toml -> BookConfig. Unknown keys are rejected; every error is reported at once."""

from __future__ import annotations

import difflib
import re
import tomllib
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..core.cover import PAPERS, SPINE_DIRECTIONS
from ..core.errors import ConfigError, Diagnostic, SourceLocation
from ..core.design import DEFAULT_DESIGN, DESIGNS
from ..core.model import (
    CHAPTER_KINDS,
    LEAD_INS,
    NOTE_NUMBERINGS,
    NOTE_PLACEMENTS,
    PAGE_LIST_SOURCES,
    PLATES,
    BookConfig,
    Openings,
    PrintSettings,
)
from . import values
from .values import parse_length, parse_trim

CONFIG_NAME = "book.toml"


@dataclass(frozen=True)
class _Key:
    parse: Callable[[Any], Any]
    required: bool = False
    field: str | None = None  # BookConfig field name when it differs from the key


_TOP: dict[str, _Key] = {
    "title": _Key(values.text, required=True),
    "subtitle": _Key(values.text),
    "authors": _Key(values.authors, required=True),  # names, or { name, file_as } tables: _metadata
    "language": _Key(values.language, required=True),
    "identifier": _Key(values.text),
    "publisher": _Key(values.text),
    "date": _Key(values.date),
    "rights": _Key(values.text),
    "description": _Key(values.text),
    "chapter_label": _Key(values.text),
    "chapters": _Key(values.text_list, field="order"),
    "cover": _Key(values.text),
    "credits": _Key(values.text_list),
    "accessibility_summary": _Key(values.text),
    "edition": _Key(values.text),
    "isbn": _Key(values.isbn),
    "allow_remote_images": _Key(values.boolean),
    "pending_images": _Key(values.text_list),
    "layouts": _Key(values.text),  # checked against the book folder in load_config (_check_layouts)
    "notes": _Key(lambda v: values.choice(v, NOTE_PLACEMENTS)),
    "note_numbers": _Key(lambda v: values.choice(v, NOTE_NUMBERINGS)),
    "page_list": _Key(lambda v: values.choice(v, PAGE_LIST_SOURCES)),
    "back_cover": _Key(values.text),
    "design": _Key(lambda v: values.choice(v, tuple(DESIGNS))),
    "opening": _Key(values.openings),
    "lead_in": _Key(lambda v: values.choice(v, LEAD_INS)),
    "scene_break": _Key(values.ornament),
    # metadata for stores and e-readers (the EPUB's OPF), checked together in _metadata
    "contributors": _Key(values.contributors),
    "series": _Key(values.text),
    "series_index": _Key(values.series_index),
    "subjects": _Key(values.subjects),
}

_PRINT: dict[str, _Key] = {
    "trim": _Key(parse_trim),
    "margin_top": _Key(parse_length),
    "margin_bottom": _Key(parse_length),
    "margin_inside": _Key(parse_length),
    "margin_outside": _Key(parse_length),
    "font_size": _Key(values.font_size, field="font_size_pt"),
    "profile": _Key(values.profile_name),
    "interior": _Key(lambda v: values.choice(v, ("black-and-white", "colour"))),
    "paper": _Key(lambda v: values.choice(v, PAPERS)),
    "spine_direction": _Key(lambda v: values.choice(v, SPINE_DIRECTIONS)),
    "plates": _Key(lambda v: values.choice(v, PLATES)),
    "isbn": _Key(values.isbn),  # the print edition's own; the top-level isbn is then the ebook's (_metadata)
}

# [ebook]: what the EPUB is made for (core/stores.py).
_EBOOK: dict[str, _Key] = {
    "store": _Key(values.stores, field="ebook_stores"),
}

# [print.overrides]: any setting of the chosen print profile (see profiles.py).
_OVERRIDES: dict[str, _Key] = {
    "bleed": _Key(values.bleed),
    "bleed_sides": _Key(values.sides),
    "marks": _Key(values.boolean),
    "bookmarks": _Key(values.boolean),
    "annotations": _Key(values.boolean),
    "page_multiple": _Key(values.count),
    "min_pages": _Key(values.count),
    "max_pages": _Key(values.count),
    "last_page_blank": _Key(values.boolean),
    "min_margin": _Key(parse_length),
    "gutter": _Key(values.gutter),
    "min_image_dpi": _Key(values.dpi),
    "pdf_variant": _Key(values.variant),
    "colour": _Key(values.colour),
}


def _key_lines(text: str) -> dict[tuple[str, str], int]:
    """Where each `key =` stands, per table: tomllib gives no positions."""
    lines: dict[tuple[str, str], int] = {}
    table = ""
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if m := re.match(r"^\[\[?\s*([A-Za-z0-9_.\-\" ]+?)\s*\]\]?\s*(#.*)?$", line):  # [table], [[array of tables]]
            table = m.group(1).strip('"')
            lines.setdefault(("", table), n)
        elif m := re.match(r"^(\"[^\"]*\"|[A-Za-z0-9_\-]+)\s*=", line):
            lines.setdefault((table, m.group(1).strip('"')), n)
    return lines


def _suggest(key: str, known: dict[str, _Key]) -> str:
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else f"; known keys: {', '.join(sorted(known))}"


def _stable_identifier(title: str, authors: tuple[str, ...]) -> str:
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'bookmaker:' + title + '|' + '|'.join(authors))}"


def load_config(root: Path) -> BookConfig:
    path = root / CONFIG_NAME
    text, data = _read(path, root)
    problems = _Problems(path, _key_lines(text))
    values, print_values, overrides = _tables(data, problems)
    _metadata(values, print_values, problems)
    _check_paths(root, values, problems)
    settings = PrintSettings()
    _design(values, print_values)
    if not problems.found:
        settings = _print_settings(print_values, overrides, lambda k, m: problems.report("print", k, m))
    if problems.found:
        raise ConfigError(*problems.found)
    _complete(values)
    return BookConfig(root=root, print=settings, **values)


def _read(path: Path, root: Path) -> tuple[str, dict[str, Any]]:
    """book.toml's text and what it holds; no file, bad UTF-8 or bad TOML is one error at once."""
    if not path.is_file():
        raise ConfigError.at(path, None, f"no {CONFIG_NAME} found; is '{root}' a book folder?")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError.at(path, line, f"not valid UTF-8 (byte offset {exc.start})") from None
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
        line = int(m.group(1)) if m else None
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", msg) or "invalid TOML"
        raise ConfigError.at(path, line, f"TOML syntax error: {msg}") from None


@dataclass
class _Problems:
    """Every problem of one book.toml, each at the line of its key (else of its table)."""

    path: Path
    where: dict[tuple[str, str], int]  # _key_lines
    found: list[Diagnostic] = field(default_factory=list)

    def report(self, table: str, key: str, message: str) -> None:
        where = self.where
        line = where.get((table, key)) or where.get(("", table)) if table else where.get((table, key))
        self.found.append(Diagnostic(SourceLocation(self.path, line), message))

    def take(self, table: str, schema: dict[str, _Key], data: dict[str, Any], into: dict[str, Any]) -> None:
        """Each key of `data` parsed by `schema` into `into`; unknown, invalid and missing keys reported."""
        prefix = f"{table}." if table else ""
        for key, value in data.items():
            if (table, key) in (("", "print"), ("", "ebook"), ("print", "overrides")):
                continue
            spec = schema.get(key)
            if spec is None:
                self.report(table, key, f"unknown key '{prefix}{key}'{_suggest(key, schema)}")
                continue
            try:
                into[spec.field or key] = spec.parse(value)
            except values.Invalid as exc:
                self.report(table, key, f"'{prefix}{key}': {exc}")
        for key, spec in schema.items():
            if spec.required and key not in data:
                line = self.where.get(("", table)) if table else 1
                self.found.append(Diagnostic(SourceLocation(self.path, line), f"missing required key '{prefix}{key}'"))


def _tables(data: dict[str, Any], problems: _Problems) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The top-level keys, [print] and [print.overrides], each parsed by its schema."""
    values: dict[str, Any] = {}
    print_values: dict[str, Any] = {}
    overrides: dict[str, Any] = {}
    problems.take("", _TOP, data, values)
    print_table = data.get("print", {})
    if not isinstance(print_table, dict):
        problems.report("", "print", "'print' must be a table: [print]")
        print_table = {}
    problems.take("print", _PRINT, print_table, print_values)
    overrides_table = print_table.get("overrides", {})
    if not isinstance(overrides_table, dict):
        problems.report("print", "overrides", "'print.overrides' must be a table: [print.overrides]")
        overrides_table = {}
    problems.take("print.overrides", _OVERRIDES, overrides_table, overrides)
    ebook_table = data.get("ebook", {})
    if not isinstance(ebook_table, dict):
        problems.report("", "ebook", "'ebook' must be a table: [ebook]")
        ebook_table = {}
    problems.take("ebook", _EBOOK, ebook_table, values)
    if "ebook_stores" in values:
        values["ebook_store_line"] = problems.where.get(("ebook", "store"))
    return values, print_values, overrides


def _check_paths(root: Path, values: dict[str, Any], problems: _Problems) -> None:
    """The cover (its line kept, for later errors about it) and the layouts folder book.toml names."""
    if "cover" in values:
        values["cover_line"] = problems.where.get(("", "cover"))
        _check_cover(root, values["cover"], lambda m: problems.report("", "cover", m))
    if "page_list" in values:  # its warning (pipeline.page_list_for) points at the setting
        values["page_list_line"] = problems.where.get(("", "page_list"))
    if "layouts" in values:
        values["layouts"] = _check_layouts(root, values["layouts"], lambda m: problems.report("", "layouts", m))


def _metadata(values: dict[str, Any], print_values: dict[str, Any], problems: _Problems) -> None:
    """The people credited, the series and the two ISBNs, checked together: `authors` becomes the
    authors' names and `contributors` everyone credited, the authors first (a contributor whose
    roles include "author" is one of the authors); a series number needs its series; the ebook
    and the print edition each have their own ISBN."""
    people = values.pop("authors", ()) + values.get("contributors", ())
    if people:
        values["contributors"] = people
        values["authors"] = tuple(p.name for p in people if p.is_author)
    if "series_index" in values and "series" not in values:
        problems.report("", "series_index", "'series_index' is the book's number in a series, but book.toml names no "
                                            "'series': add series = \"…\" or leave series_index out")
    ebook, printed = values.get("isbn"), print_values.get("isbn")
    if ebook is not None and ebook == printed:
        problems.report("print", "isbn", f"'print.isbn': {printed} is also the top-level 'isbn'; the ebook and the print "
                                         "edition need their own ISBNs (the top-level isbn is the ebook's, [print] isbn "
                                         "the print edition's; with one ISBN for both, give only the top-level isbn)")


def _design(values: dict[str, Any], print_values: dict[str, Any]) -> None:
    """The design's defaults for the settings book.toml leaves out (core/design.py)."""
    design = DESIGNS[values.setdefault("design", DEFAULT_DESIGN)]
    given = values.get("opening", {})
    values["opening"] = Openings(**{kind: given.get(kind, design.opening.of(kind)) for kind in CHAPTER_KINDS})
    values.setdefault("lead_in", design.lead_in)
    values.setdefault("scene_break", design.scene_break)
    print_values.setdefault("plates", design.plates)


def _complete(values: dict[str, Any]) -> None:
    """What book.toml may leave out: the identifier (from the ISBN, else the title and authors), the optional texts."""
    if "identifier" not in values:
        isbn = values.get("isbn")
        values["identifier"] = f"urn:isbn:{isbn}" if isbn else _stable_identifier(values["title"], values["authors"])
    for optional in ("publisher", "date", "rights", "description"):
        values.setdefault(optional, "")


def _check_cover(root: Path, src: str, report: Callable[[str], None]) -> None:
    from ..core.paths import OutsideBook, inside_book

    try:
        path = inside_book(root, src, what="cover image")
    except OutsideBook as exc:
        report(f"'cover': {exc}")
        return
    if not path.is_file():
        report(f"'cover': cover image '{src}' not found")


def _check_layouts(root: Path, src: str, report: Callable[[str], None]) -> Path | None:
    """The book's own layouts folder, resolved: inside the book (as every path it names), a
    folder, and not the book folder itself (whose chapters would all count as layout files)."""
    from ..core.paths import OutsideBook, inside_book

    try:
        path = inside_book(root, src, what="layouts folder")
    except OutsideBook as exc:
        report(f"'layouts': {exc}")
        return None
    if not path.exists():
        report(f"'layouts': layouts folder '{src}' not found")
    elif not path.is_dir():
        report(f"'layouts': '{src}' is not a folder (it holds the book's own templates and stylesheets)")
    elif path == root.resolve():
        report(f"'layouts': '{src}' is the book folder itself; name a folder inside it, such as 'my-layouts'")
    else:
        return path
    return None


def _print_settings(values: dict[str, Any], overrides: dict[str, Any], report: Callable[[str, str], None]) -> PrintSettings:
    from ..core.profiles import resolve

    defaults = PrintSettings()
    trim = values.pop("trim", (defaults.trim_width, defaults.trim_height))
    profile = resolve(values.pop("profile", "proof"), trim, overrides)
    values["paper"] = _paper(values.get("paper"), values.get("interior", defaults.interior), profile.name, report)
    s = PrintSettings(trim_width=trim[0], trim_height=trim[1], profile=profile, **values)
    if profile.bleed < 0 or profile.bleed > 0.5:
        report("overrides", f"bleed must be between 0 and 0.5in, got {profile.bleed:g}in")
    for name in ("margin_top", "margin_bottom", "margin_inside", "margin_outside"):
        if getattr(s, name) <= 0:
            report(name, f"'print.{name}' must be greater than zero")
    if not (2 <= s.trim_width <= 20 and 2 <= s.trim_height <= 30):
        report("trim", f"trim size {s.trim_width:g}in x {s.trim_height:g}in is not a book page size")
    elif s.text_width < 1.5:
        report("margin_inside", f"the margins leave a text block {s.text_width:.2f}in wide; at least 1.5in is needed")
    elif s.text_height < 2:
        report("margin_top", f"the margins leave a text block {s.text_height:.2f}in tall; at least 2in is needed")
    return s


def _paper(paper: str | None, interior: str, profile: str, report: Callable[[str, str], None]) -> str:
    """The interior's paper (the cover's spine width): one the printer offers for the interior."""
    from ..core.cover import PAPER_INTERIOR, default_paper, rules_for

    if paper is None:
        return default_paper(interior)
    if rules_for(profile) is not None and PAPER_INTERIOR[paper] != interior:  # type: ignore[index]
        offered = ", ".join(repr(p) for p, i in PAPER_INTERIOR.items() if i == interior)
        report("paper", f"'print.paper': profile '{profile}' prints a {interior} interior on {offered}, not on '{paper}'")
    return paper
