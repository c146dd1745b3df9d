"""A book's own layouts (book.toml `layouts`): per-file fallback to the built-in ones, config
errors at their line, and the caches that follow the files each output uses."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bookmaker.cache.pagemap import layout_key
from bookmaker.core.errors import ConfigError, Reporter
from bookmaker.core.model import Book
from bookmaker.core.resources import BOTH, EPUB, PRINT, Layouts, builtin_layouts_dir, feeds, layouts_for
from bookmaker.render.layout import Rendered, render_epub
from bookmaker.render.printed import render_print
from bookmaker.source.config import load_config
from bookmaker.transform.book import load_book

from .conftest import ROOT, SAMPLE

BUILTIN = ROOT / "layouts"
OWN_RULE = "body { color: #1a2b3c; }  /* the book's own print.css */\n"


def own_layouts_book(tmp_path: Path) -> Path:
    """The sample book with `layouts = "my-layouts"`: its own print.css (the built-in one plus a
    rule), its own _figure.j2 (a class added) and one font of its own; everything else built-in."""
    book = tmp_path / "book"
    shutil.copytree(SAMPLE, book)
    own = book / "my-layouts"
    (own / "fonts").mkdir(parents=True)
    (own / "print.css").write_text((BUILTIN / "print.css").read_text(encoding="utf-8") + OWN_RULE, encoding="utf-8")
    figure = (BUILTIN / "_figure.j2").read_text(encoding="utf-8")
    assert 'class="figure' in figure
    (own / "_figure.j2").write_text(figure.replace('class="figure', 'class="figure own-figure', 1), encoding="utf-8")
    shutil.copyfile(BUILTIN / "fonts" / "DejaVuSansMono.ttf", own / "fonts" / "Extra.ttf")
    toml = book / "book.toml"
    toml.write_text('layouts = "my-layouts"\n' + toml.read_text(encoding="utf-8"), encoding="utf-8")
    return book


def first_photo(root: Path) -> Book:
    """The book with only its first photo chapter rendered (its figure is what _figure.j2 draws)."""
    return load_book(root, Reporter(), only=lambda ch: ch.number == 1)


def asset(rendered: Rendered, href: str) -> bytes:
    return next(a.data for a in rendered.assets if a.href == href)


def page_of(rendered: Rendered, chapter_number: int, book: Book) -> str:
    href = next(ch.href for ch in book.chapters if ch.number == chapter_number)
    return next(p.content for p in rendered.pages if p.href == href)


# --- the table of which file feeds which output ------------------------------------------------


def test_every_built_in_file_feeds_what_it_fed_before_the_table() -> None:
    # The two inverse lists the table replaced: pagemap's files only the EPUB uses, serve's
    # files only print uses (by prefix).
    epub_only = {"epub.css", "chapter.xhtml.j2", "page.xhtml.j2", "nav.xhtml.j2", "cover.xhtml.j2",
                 "titlepage.xhtml.j2", "copyright.xhtml.j2", "notes.css"}  # notes.css: added with the notes
    print_only = ("print.css", "print.html.j2", "print-cmyk.css", "fonts/", "note-rule.svg")
    files = Layouts.builtin().files()
    assert "print.css" in files and "fonts/CharisSIL-Regular.ttf" in files
    for name in files:
        assert ("print" in feeds(name)) == (Path(name).name not in epub_only), name
        assert ("epub" in feeds(name)) == (not name.startswith(print_only)), name


def test_a_file_the_table_does_not_know_feeds_both_but_fonts_feed_print() -> None:
    assert feeds("_sidebar.j2") == BOTH and feeds("extra.css") == BOTH
    assert feeds("fonts/Extra.ttf") == PRINT and feeds("fonts/OFL.txt") == PRINT
    assert feeds("epub.css") == EPUB and feeds("print.html.j2") == PRINT and feeds("book.css") == BOTH


# --- per-file fallback ----------------------------------------------------------------------------


def test_layouts_are_the_books_folder_then_the_built_in_one_file_by_file(tmp_path: Path) -> None:
    book = own_layouts_book(tmp_path)
    config = load_config(book)
    assert config.layouts == (book / "my-layouts").resolve()
    layouts = layouts_for(config)
    assert layouts.folders == (config.layouts, builtin_layouts_dir())
    assert layouts.find("print.css") == config.layouts / "print.css"
    assert layouts.find("epub.css") == builtin_layouts_dir() / "epub.css"
    assert layouts.read_bytes("_figure.j2") != (BUILTIN / "_figure.j2").read_bytes()
    files = layouts.files()
    assert files["print.css"].parent == config.layouts and files["book.css"].parent == builtin_layouts_dir()
    assert files["fonts/Extra.ttf"].parent == config.layouts / "fonts"
    assert set(files) == set(Layouts.builtin().files()) | {"fonts/Extra.ttf"}
    assert "epub.css" not in layouts.feeding("print") and "print.css" not in layouts.feeding("epub")
    assert layouts_for(load_config(SAMPLE)) == Layouts.builtin()


def test_the_books_print_css_and_figure_reach_the_print_html(tmp_path: Path) -> None:
    book = first_photo(own_layouts_book(tmp_path))
    rendered = render_print(book)
    assert asset(rendered, "css/print.css").decode("utf-8").endswith(OWN_RULE)
    assert asset(rendered, "css/book.css") == (BUILTIN / "book.css").read_bytes()  # not brought: built-in
    assert asset(rendered, "fonts/CharisSIL-Regular.ttf") == (BUILTIN / "fonts" / "CharisSIL-Regular.ttf").read_bytes()
    assert asset(rendered, "fonts/Extra.ttf") == (BUILTIN / "fonts" / "DejaVuSansMono.ttf").read_bytes()  # the book's font too
    # the built-in print.html.j2 and _chapter.j2 include the book's _figure.j2
    assert 'class="figure own-figure' in rendered.pages[0].content


def test_the_books_figure_partial_reaches_the_epub_page_and_the_rest_is_built_in(tmp_path: Path) -> None:
    root = own_layouts_book(tmp_path)
    book = first_photo(root)
    rendered = render_epub(book)
    assert 'class="figure own-figure' in page_of(rendered, 1, book)
    assert asset(rendered, "css/epub.css") == (BUILTIN / "epub.css").read_bytes()
    assert not any(a.href.startswith("fonts/") for a in rendered.assets)  # the EPUB embeds no fonts, the book's neither
    # without the key, the same book renders exactly as the sample does
    toml = root / "book.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('layouts = "my-layouts"\n', ""), encoding="utf-8")
    plain = first_photo(root)
    assert page_of(render_epub(plain), 1, plain) == page_of(render_epub(first_photo(SAMPLE)), 1, plain)


def test_a_file_added_to_the_books_folder_wins_at_the_next_render(tmp_path: Path) -> None:
    root = own_layouts_book(tmp_path)
    (root / "my-layouts" / "_figure.j2").unlink()
    book = first_photo(root)
    assert "own-figure" not in page_of(render_epub(book), 1, book)  # loaded from the built-in folder
    figure = (BUILTIN / "_figure.j2").read_text(encoding="utf-8").replace('class="figure', 'class="figure added', 1)
    (root / "my-layouts" / "_figure.j2").write_text(figure, encoding="utf-8")
    assert 'class="figure added' in page_of(render_epub(book), 1, book)  # as `bookmaker serve` sees a new file


def test_a_broken_template_of_the_book_is_reported_in_the_books_file(tmp_path: Path) -> None:
    from bookmaker.core.errors import LayoutError

    root = own_layouts_book(tmp_path)
    broken = root / "my-layouts" / "_figure.j2"
    broken.write_text("<figure>\n{{ fig.no_such_field }}\n</figure>\n", encoding="utf-8")
    with pytest.raises(LayoutError) as err:
        render_epub(first_photo(root))
    d = err.value.diagnostics[0]
    assert d.location.path == broken.resolve() and d.location.line == 2 and "no_such_field" in d.message


# --- book.toml ----------------------------------------------------------------------------------


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1764115200"}
    return subprocess.run([sys.executable, "-m", "bookmaker", *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=300)


def with_layouts(book: Path, value: str) -> Path:
    toml = book / "book.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + f'layouts = "{value}"\n', encoding="utf-8")
    return toml


def test_a_missing_layouts_folder_is_one_located_error_and_exit_3(tiny_book: Path, tmp_path: Path) -> None:
    toml = with_layouts(tiny_book, "missing")
    proc = run("build", str(tiny_book), "-o", str(tmp_path / "out"), cwd=tmp_path)
    assert proc.returncode == 3, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if ": error: " in line]
    assert errors == [f"{toml}:5: error: 'layouts': layouts folder 'missing' not found"], proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "out").exists()


def test_a_layouts_path_that_is_a_file_is_refused(tiny_book: Path) -> None:
    (tiny_book / "print.css").write_text("body {}\n", encoding="utf-8")
    toml = with_layouts(tiny_book, "print.css")
    with pytest.raises(ConfigError) as err:
        load_config(tiny_book)
    assert str(err.value).splitlines() == [f"{toml}:5: error: 'layouts': 'print.css' is not a folder (it holds the book's own templates and stylesheets)"]


@pytest.mark.parametrize("value, fragment", [
    ("../outside", "layouts folder '../outside' points outside the book folder"),
    ("/tmp", "must be a path inside the book folder"),
    ("link-out", "layouts folder 'link-out' resolves outside the book folder"),
    (".", "is the book folder itself"),
])
def test_layouts_must_be_a_folder_inside_the_book(tiny_book: Path, value: str, fragment: str) -> None:
    outside = tiny_book.parent / "outside"
    outside.mkdir()
    (outside / "print.css").write_text("body {}\n", encoding="utf-8")
    (tiny_book / "link-out").symlink_to(outside, target_is_directory=True)
    toml = with_layouts(tiny_book, value)
    with pytest.raises(ConfigError) as err:
        load_config(tiny_book)
    (line,) = str(err.value).splitlines()
    assert line.startswith(f"{toml}:5: error: 'layouts': ") and fragment in line


# --- caches -------------------------------------------------------------------------------------


def touch(path: Path, text: str, tick: int) -> None:
    """Write and set a distinct mtime: the key must not hang on the file system's clock grain."""
    path.write_text(text, encoding="utf-8")
    ns = 1_800_000_000_000_000_000 + tick * 1_000_000_000
    os.utime(path, ns=(ns, ns))


def test_the_page_maps_layout_key_follows_the_books_print_files_only(tmp_path: Path) -> None:
    root = own_layouts_book(tmp_path)
    config = load_config(root)
    key = layout_key(config)
    assert key != layout_key(load_config(SAMPLE))
    own = root / "my-layouts"
    touch(own / "epub.css", "body { margin: 0; }\n", 1)  # a new EPUB-only file: the print pages stay
    assert layout_key(config) == key
    touch(own / "epub.css", "body { margin: 0 1em; }\n", 2)
    assert layout_key(config) == key
    touch(own / "chapter.xhtml.j2", (BUILTIN / "chapter.xhtml.j2").read_text(encoding="utf-8"), 3)
    assert layout_key(config) == key
    touch(own / "print.css", (own / "print.css").read_text(encoding="utf-8") + "p { orphans: 3; }\n", 4)
    changed = layout_key(config)
    assert changed != key
    touch(own / "_head.j2", (BUILTIN / "_head.j2").read_text(encoding="utf-8"), 5)  # a partial feeds print too
    assert layout_key(config) != changed


def test_the_preview_server_signs_the_books_layouts_by_the_same_table(tmp_path: Path) -> None:
    from bookmaker.preview.serve import Builder, Hub

    root = own_layouts_book(tmp_path)
    builder = Builder(root, tmp_path / "out" / "preview", Hub(), lambda chapter, fragment: "")

    def signatures() -> tuple[str, str]:  # (what EPUB pages are made of, what only print uses)
        builder.snapshot = builder.workspace.refresh()
        return builder._layouts_signatures()

    epub, print_only = signatures()
    own = root / "my-layouts"
    touch(own / "print.css", (own / "print.css").read_text(encoding="utf-8") + "p { orphans: 3; }\n", 1)
    epub_now, print_now = signatures()
    assert epub_now == epub and print_now != print_only  # only the print pages are laid out again
    touch(own / "epub.css", "body { margin: 0; }\n", 2)
    epub_then, print_then = signatures()
    assert epub_then != epub_now and print_then == print_now  # the EPUB page (and so its print key) again


def test_pdf_part_keys_follow_the_books_templates_stylesheets_and_fonts(tmp_path: Path) -> None:
    """A long book's parts are cached by their HTML and assets (backends/pdf/parts.py): the book's own
    template, print stylesheet or font lays them out again; an EPUB-only file does not."""
    from bookmaker.backends.pdf.parts import part_keys
    from bookmaker.cache.build import BuildCache
    from bookmaker.core.context import BuildContext, build_timestamp

    root = own_layouts_book(tmp_path)
    own = root / "my-layouts"

    def key() -> str | None:
        book = first_photo(root)
        ctx = BuildContext(book, build_timestamp(), Reporter(), BuildCache.under(tmp_path / "out"))
        return part_keys(ctx, [render_print(book)])[0]

    first = key()
    touch(own / "epub.css", "body { margin: 0; }\n", 1)
    assert key() == first
    touch(own / "_figure.j2", (BUILTIN / "_figure.j2").read_text(encoding="utf-8"), 2)  # back to the built-in text
    second = key()
    assert second != first
    touch(own / "print.css", (own / "print.css").read_text(encoding="utf-8") + "p { orphans: 3; }\n", 3)
    third = key()
    assert third != second
    shutil.copyfile(BUILTIN / "fonts" / "CharisSIL-Bold.ttf", own / "fonts" / "Extra.ttf")
    assert key() != third


def test_the_glyph_check_reads_the_books_print_css_and_its_fonts(tmp_path: Path) -> None:
    from bookmaker.render.glyphs import stylesheet_fonts

    config = load_config(own_layouts_book(tmp_path))
    css = ('@font-face { font-family: "Extra"; src: url("../fonts/Extra.ttf"); }\n'
           '@font-face { font-family: "Charis SIL"; src: url("../fonts/CharisSIL-Regular.ttf"); }\n'
           'html { font-family: "Extra", "Charis SIL", serif; }\n')
    families, faces = stylesheet_fonts(css, layouts_for(config))
    assert families == ("Extra", "Charis SIL", "serif")
    assert faces == {"Extra": config.layouts / "fonts" / "Extra.ttf", "Charis SIL": BUILTIN.resolve() / "fonts" / "CharisSIL-Regular.ttf"}
