"""The metadata real books carry (issue 15), from book.toml to the EPUB's OPF: the people credited
with their roles (MARC relators) and sort names, the series and the book's number in it, BISAC
subjects and keywords, and a print ISBN of its own (the cover's barcode, the EPUB's page-break
source) beside the ebook's. One tiny book carries all of it, is built once, read back with lxml
and passed through EPUBCheck once; each mistake book.toml can make is a located error."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from bookmaker.checks.validate import ValidatorMissing, resident_epubcheck
from bookmaker.core.errors import ConfigError
from bookmaker.core.model import CONTRIBUTOR_ROLES, MARC_RELATORS
from bookmaker.source.config import load_config

from .conftest import Built, build_book, need

OPF = "http://www.idpf.org/2007/opf"
DC = "http://purl.org/dc/elements/1.1/"
NS = {"opf": OPF, "dc": DC}
EBOOK_ISBN = "9780306406157"
PRINT_ISBN = "9781402894626"

BOOK_TOML = f"""\
title = "Tiny"
authors = ["A. Writer", {{ name = "Ursula K. Le Guin", file_as = "Le Guin, Ursula K." }}]
language = "en"
date = 2026-01-02
isbn = "978-0-306-40615-7"
contributors = [
  {{ name = "Ed Itor", role = "editor" }},
  {{ name = "Tran Slator", role = "translator", file_as = "Slator, Tran" }},
  {{ name = "Illy Strator", role = ["author", "illustrator"] }},
  {{ name = "Fore Word", role = "foreword" }},
  {{ name = "Intro Ducer", role = "introduction" }},
  {{ name = "Pre Face", role = "preface" }},
  {{ name = "After Word", role = "afterword" }},
  {{ name = "Photo Grapher", role = "photographer" }},
  {{ name = "Cover Designer", role = "cover-designer" }},
  {{ name = "Nar Rator", role = "narrator" }},
]
series = "The Tiny Books"
series_index = 1.5
subjects = ["PHO000000", "North Korea", {{ code = "HIS023000", name = "History / Asia / Korea" }}]

[print]
isbn = "978-1-4028-9462-6"
"""
# (name, roles, file-as) of each dc:creator and dc:contributor, in order
CREATORS = [("A. Writer", ["aut"], None), ("Ursula K. Le Guin", ["aut"], "Le Guin, Ursula K."),
            ("Illy Strator", ["aut", "ill"], None)]
CONTRIBUTORS = [("Ed Itor", ["edt"], None), ("Tran Slator", ["trl"], "Slator, Tran"), ("Fore Word", ["wfw"], None),
                ("Intro Ducer", ["win"], None), ("Pre Face", ["wpr"], None), ("After Word", ["aft"], None),
                ("Photo Grapher", ["pht"], None), ("Cover Designer", ["cov"], None), ("Nar Rator", ["nrt"], None)]


def _write(root: Path, text: str) -> Path:
    (root / "book.toml").write_text(text, encoding="utf-8")
    return root / "book.toml"


@pytest.fixture(scope="module")
def credited(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Built]:
    root = tmp_path_factory.mktemp("metadata") / "book"
    (root / "chapters").mkdir(parents=True)
    _write(root, BOOK_TOML)
    (root / "chapters" / "01-one.md").write_text("---\ntitle: One\n---\n\nFirst chapter text.\n", encoding="utf-8")
    (root / "chapters" / "02-two.md").write_text("---\ntitle: Two\n---\n\nSecond chapter text.\n", encoding="utf-8")
    return root, build_book(root, root.parent / "out")


def _opf(epub: Path) -> etree._Element:
    with zipfile.ZipFile(epub) as z:
        return etree.fromstring(z.read("EPUB/content.opf"))


def _refines(metadata: etree._Element, uid: str, prop: str) -> list[etree._Element]:
    return metadata.xpath(f"opf:meta[@refines='#{uid}' and @property='{prop}']", namespaces=NS)


def _people(metadata: etree._Element, element: str) -> list[tuple[str, list[str], str | None]]:
    found = []
    for el in metadata.xpath(f"dc:{element}", namespaces=NS):
        uid = el.get("id")
        roles = _refines(metadata, uid, "role")
        assert all(r.get("scheme") == "marc:relators" for r in roles)
        file_as = [m.text for m in _refines(metadata, uid, "file-as")]
        assert len(file_as) <= 1 and all(m.get("scheme") is None for m in _refines(metadata, uid, "file-as"))
        found.append((el.text, [r.text for r in roles], file_as[0] if file_as else None))
    return found


def test_every_role_has_its_marc_relator_code() -> None:
    """The codes of the Library of Congress list (core/model.py cites it): foreword and
    introduction have their own codes since "aui" was deprecated."""
    assert MARC_RELATORS == {"author": "aut", "editor": "edt", "translator": "trl", "illustrator": "ill",
                             "foreword": "wfw", "introduction": "win", "preface": "wpr", "afterword": "aft",
                             "photographer": "pht", "cover-designer": "cov", "narrator": "nrt"}
    assert {code for _, codes, _ in CREATORS + CONTRIBUTORS for code in codes} == set(MARC_RELATORS.values())


def test_authors_and_contributors_with_roles_and_sort_names(credited: tuple[Path, Built]) -> None:
    metadata = _opf(credited[1].epub).find(f"{{{OPF}}}metadata")
    assert _people(metadata, "creator") == CREATORS
    assert _people(metadata, "contributor") == CONTRIBUTORS
    config = load_config(credited[0])
    assert config.authors == ("A. Writer", "Ursula K. Le Guin", "Illy Strator")  # the title page's names


def test_series_and_its_number(credited: tuple[Path, Built]) -> None:
    metadata = _opf(credited[1].epub).find(f"{{{OPF}}}metadata")
    (collection,) = metadata.xpath("opf:meta[@property='belongs-to-collection']", namespaces=NS)
    assert collection.text == "The Tiny Books"
    uid = collection.get("id")
    assert [m.text for m in _refines(metadata, uid, "collection-type")] == ["series"]
    assert [m.text for m in _refines(metadata, uid, "group-position")] == ["1.5"]
    calibre = {m.get("name"): m.get("content") for m in metadata.xpath("opf:meta[starts-with(@name, 'calibre:')]", namespaces=NS)}
    assert calibre == {"calibre:series": "The Tiny Books", "calibre:series_index": "1.5"}


def test_bisac_subjects_and_keywords(credited: tuple[Path, Built]) -> None:
    metadata = _opf(credited[1].epub).find(f"{{{OPF}}}metadata")
    found = []
    for el in metadata.xpath("dc:subject", namespaces=NS):
        uid = el.get("id")
        if uid is None:
            found.append((el.text, None))
            continue
        assert [m.text for m in _refines(metadata, uid, "authority")] == ["BISAC"]
        (term,) = _refines(metadata, uid, "term")
        found.append((el.text, term.text))
    assert found == [("PHO000000", "PHO000000"), ("North Korea", None), ("History / Asia / Korea", "HIS023000")]


def test_every_refines_names_an_element_that_is_there(credited: tuple[Path, Built]) -> None:
    metadata = _opf(credited[1].epub).find(f"{{{OPF}}}metadata")
    ids = {el.get("id") for el in metadata if el.get("id")}
    refined = {m.get("refines")[1:] for m in metadata.xpath("opf:meta[@refines]", namespaces=NS)}
    assert refined and refined <= ids


def test_the_ebook_and_the_print_edition_have_their_own_isbns(credited: tuple[Path, Built]) -> None:
    root, built = credited
    metadata = _opf(built.epub).find(f"{{{OPF}}}metadata")
    assert metadata.findtext(f"{{{DC}}}identifier") == f"urn:isbn:{EBOOK_ISBN}"
    assert metadata.findtext(f"{{{DC}}}source") == f"urn:isbn:{PRINT_ISBN}"  # the print edition the page-list is of
    assert [m.text for m in metadata.xpath("opf:meta[@property='pageBreakSource']", namespaces=NS)] == [f"urn:isbn:{PRINT_ISBN}"]
    with zipfile.ZipFile(built.epub) as z:
        copyright_page = z.read("EPUB/copyright.xhtml").decode("utf-8")
    assert f"<p>ISBN {PRINT_ISBN} (print)</p>" in copyright_page and f"<p>ISBN {EBOOK_ISBN} (ebook)</p>" in copyright_page
    config = load_config(root)
    assert (config.isbn, config.print.isbn, config.print_isbn) == (EBOOK_ISBN, PRINT_ISBN, PRINT_ISBN)


def test_the_cover_barcode_is_the_print_isbn(credited: tuple[Path, Built], tmp_path: Path) -> None:
    import shutil

    from bookmaker.backends.pdf.cover import print_cover
    from bookmaker.checks.cover import preflight_cover, read_marks
    from bookmaker.core.context import BuildContext, build_timestamp
    from bookmaker.core.errors import Reporter
    from bookmaker.transform.book import load_book

    root = shutil.copytree(credited[0], tmp_path / "book")
    _write(root, BOOK_TOML + 'profile = "kdp"\n')  # in [print]: a printer's cover wrap, with its barcode area
    reporter = Reporter()
    ctx = BuildContext(load_book(root, reporter), build_timestamp(), reporter)
    cover = print_cover(ctx, 100)
    area = cover.geometry.barcode_area
    digits = "".join(m.text for m in sorted(read_marks(cover.data), key=lambda m: m.box[0]) if m.kind == "char"
                     and area[0] <= m.box[0] and m.box[2] <= area[2] and area[1] <= m.box[1] and m.box[3] <= area[3])
    assert digits == PRINT_ISBN
    assert preflight_cover(cover.data, ctx.book.config, cover.geometry).passed


def test_epubcheck_reports_nothing(credited: tuple[Path, Built]) -> None:
    try:
        report = resident_epubcheck().check(credited[1].epub)
    except ValidatorMissing as exc:
        need(str(exc))
        return
    assert report.clean, report.findings


# --- what stays as it was ------------------------------------------------------------------------


def test_authors_alone_keep_their_plain_creators(tiny_book: Path, tmp_path: Path) -> None:
    """A book that credits only its authors, by name, writes what it always wrote: no roles."""
    built = build_book(tiny_book, tmp_path / "out", formats=("epub",))
    metadata = _opf(built.epub).find(f"{{{OPF}}}metadata")
    assert _people(metadata, "creator") == [("A. Writer", [], None)]
    assert metadata.xpath("dc:contributor | dc:subject | opf:meta[@property='belongs-to-collection']", namespaces=NS) == []


def test_one_isbn_is_the_ebooks_and_the_print_editions(tiny_book: Path) -> None:
    toml = tiny_book / "book.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + 'isbn = "978-0-306-40615-7"\n', encoding="utf-8")
    config = load_config(tiny_book)
    assert (config.identifier, config.print.isbn, config.print_isbn) == (f"urn:isbn:{EBOOK_ISBN}", None, EBOOK_ISBN)


def test_a_print_isbn_alone(tiny_book: Path) -> None:
    toml = tiny_book / "book.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + '[print]\nisbn = "978-1-4028-9462-6"\n', encoding="utf-8")
    config = load_config(tiny_book)
    assert config.isbn is None and config.print_isbn == PRINT_ISBN
    assert config.identifier.startswith("urn:uuid:")


# --- the mistakes, each at its line --------------------------------------------------------------


def _errors(root: Path, text: str) -> list[str]:
    toml = _write(root, text)
    with pytest.raises(ConfigError) as err:
        load_config(root)
    return [str(d).replace(str(toml), "book.toml") for d in err.value.diagnostics]


BASE = 'title = "T"\nauthors = ["A"]\nlanguage = "en"\n'


def test_a_bad_role_lists_the_roles(tmp_path: Path) -> None:
    errors = _errors(tmp_path, BASE + 'contributors = [{ name = "B", role = "edtor" }]\n')
    assert errors == [f"book.toml:4: error: 'contributors': contributor 1 (B): unknown role 'edtor'; "
                      f"the roles are: {', '.join(CONTRIBUTOR_ROLES)}"]


def test_contributor_tables_as_an_array_of_tables(tmp_path: Path) -> None:
    """[[contributors]] tables are read, and their mistakes found at the first table's line."""
    text = BASE + '\n[[contributors]]\nname = "B"\nrole = "translator"\n\n[[contributors]]\nname = "C"\nrole = "poet"\n'
    errors = _errors(tmp_path, text)
    assert len(errors) == 1 and errors[0].startswith("book.toml:5: error: 'contributors': contributor 2 (C): unknown role 'poet'")
    _write(tmp_path, text.replace('"poet"', '"illustrator"'))
    assert [(p.name, p.roles) for p in load_config(tmp_path).contributors] == [
        ("A", ("author",)), ("B", ("translator",)), ("C", ("illustrator",))]


@pytest.mark.parametrize(("entry", "message"), [
    ('contributors = [{ name = "B" }]', "contributor 1: missing 'role'"),
    ('contributors = [{ name = "B", role = "editor", sort = "B" }]', "contributor 1: unknown key 'sort' (keys: name, role, file_as)"),
    ('contributors = ["B"]', "contributor 1: expected a table such as { name = \"…\", role = \"…\" }"),
    ('contributors = [{ name = "B", role = [] }]', "contributor 1 (B): 'role' names no role"),
])
def test_contributor_mistakes(tmp_path: Path, entry: str, message: str) -> None:
    (error,) = _errors(tmp_path, BASE + entry + "\n")
    assert error.startswith(f"book.toml:4: error: 'contributors': {message}"), error


def test_author_tables_take_a_name_and_a_sort_name(tmp_path: Path) -> None:
    (error,) = _errors(tmp_path, 'title = "T"\nlanguage = "en"\nauthors = [{ name = "A", role = "editor" }]\n')
    assert error == "book.toml:3: error: 'authors': author 1: unknown key 'role' (keys: name, file_as)"
    (error,) = _errors(tmp_path, 'title = "T"\nlanguage = "en"\nauthors = [{ file_as = "A, B" }]\n')
    assert error == "book.toml:3: error: 'authors': author 1: missing 'name'"


def test_series_index_needs_a_series(tmp_path: Path) -> None:
    (error,) = _errors(tmp_path, BASE + "series_index = 2\n")
    assert error.startswith("book.toml:4: error: 'series_index' is the book's number in a series, but book.toml names no 'series'")


@pytest.mark.parametrize("value", ['"2"', "-1", "true", "nan"])
def test_series_index_is_a_number(tmp_path: Path, value: str) -> None:
    (error,) = _errors(tmp_path, BASE + f'series = "S"\nseries_index = {value}\n')
    assert error.startswith("book.toml:5: error: 'series_index': expected the book's number in its series, such as 2 or 1.5")


def test_series_numbers_as_written(tmp_path: Path) -> None:
    for value, expected in (("2", 2), ("2.0", 2), ("1.5", 1.5), ("0", 0)):
        _write(tmp_path, BASE + f'series = "S"\nseries_index = {value}\n')
        index = load_config(tmp_path).series_index
        assert index == expected and type(index) is type(expected)


def test_a_bisac_table_needs_a_bisac_code(tmp_path: Path) -> None:
    (error,) = _errors(tmp_path, BASE + 'subjects = [{ code = "pho000000", name = "Photography" }]\n')
    assert error == ("book.toml:4: error: 'subjects': subject 1: 'pho000000' is not a BISAC subject code "
                     "(3 capital letters and 6 digits, such as 'PHO000000')")
    _write(tmp_path, BASE + 'subjects = ["pho000000", "PHO0000001"]\n')  # not codes: keywords
    assert [s.code for s in load_config(tmp_path).subjects] == [None, None]


def test_the_same_isbn_twice(tmp_path: Path) -> None:
    errors = _errors(tmp_path, BASE + 'isbn = "978-0-306-40615-7"\n\n[print]\nisbn = "9780306406157"\n')
    assert len(errors) == 1
    assert re.match(r"book\.toml:7: error: 'print\.isbn': 9780306406157 is also the top-level 'isbn'; "
                    r"the ebook and the print edition need their own ISBNs", errors[0]), errors


def test_a_print_isbn_is_checked(tmp_path: Path) -> None:
    (error,) = _errors(tmp_path, BASE + '[print]\nisbn = "978-0-306-40615-8"\n')
    assert error == "book.toml:5: error: 'print.isbn': '978-0-306-40615-8' is not a valid ISBN (check the digits and the check digit)"


def test_the_starter_books_print_isbn_loads(tmp_path: Path) -> None:
    """`bookmaker new` shows [print] isbn with a valid example (the top-level isbn's "978-…" is a
    placeholder, which test_first_run's check of every shown key lets pass by its name)."""
    from bookmaker.source.scaffold import create

    create(tmp_path / "b")
    toml = tmp_path / "b" / "book.toml"
    text = toml.read_text(encoding="utf-8")
    shown = re.search(r"^# (isbn = \"978-0-306-40615-7\".*)$", text.split("\n[print]\n")[1], re.M)
    assert shown is not None
    toml.write_text(text.replace(shown[0], shown[1]), encoding="utf-8")
    config = load_config(tmp_path / "b")
    assert (config.isbn, config.print.isbn) == (None, "9780306406157")
