"""One-chapter preview: the same page as the full build, the same folios as the full PDF, and the
preview server's files, events and path checks (the browser test is test_serve_browser.py)."""

from __future__ import annotations

import http.client
import json
import queue
import shutil
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path
from typing import Any, Iterator

import pytest
from .conftest import EPOCH, SAMPLE, SESSION_CACHE, Built, build_book
from pypdf import PdfReader

from bookmaker.cache import pagemap
from bookmaker.core.errors import Reporter
from bookmaker.core.model import Chapter
from bookmaker.pipeline import build
from bookmaker.preview import fill as pagemap_fill
from bookmaker.preview.chapter import NoSuchChapter, chapter_matcher, load_one, preview


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test has its own page-map folder (the build records one there too)."""
    monkeypatch.setenv("BOOKMAKER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def _notes_book(root: Path) -> Path:
    """The tiny book with what numbering touches: a figure, footnotes, links across chapters."""
    _write(root / "chapters" / "01-one.md", (
        "---\ntitle: One\nkind: front\n---\n\nFirst chapter text.\n"
    ))
    _write(root / "chapters" / "02-two.md", (
        "---\ntitle: Two\nsubtitle: The second\n---\n\n"
        '![A red square.](images/square.png "The square."){#square aspect="1:1"}\n\n'
        "Second chapter text with a note[^a] and another[^b], see [the first](01-one.md) "
        "and [its end](03-three.md#the-end), [nowhere](03-three.md#nowhere) and [a lost file](04-gone.md)."
        "\n\n## A heading\n\nMore.\n\n## Shared {#shared}\n\n[^a]: Note A.\n[^b]: Note B.\n"
    ))
    _write(root / "chapters" / "03-three.md", (
        "---\ntitle: Three\n---\n\nThird chapter text[^c].\n\n## The end {#the-end}\n\nDone.\n\n"
        "## Shared too {#shared}\n\n[^c]: Note C.\n"
    ))
    return root


# --- the EPUB page ----------------------------------------------------------------------------


def test_preview_page_is_the_epub_page_byte_for_byte(sample: Built, tmp_path: Path) -> None:
    # the page breaks the sample's build recorded (cache/pagebreaks.py), which the preview marks as the EPUB does
    shutil.copytree(SESSION_CACHE, tmp_path / "cache", dirs_exist_ok=True)
    page, printed = preview(SAMPLE, "5", tmp_path / "out")
    assert printed is None
    assert page.path == tmp_path / "out" / "preview" / "05-the-forbidden-subway-tunnel.xhtml"
    with zipfile.ZipFile(sample.epub) as z:
        assert page.path.read_bytes() == z.read("EPUB/05-the-forbidden-subway-tunnel.xhtml")
        for name in ("css/book.css", "css/epub.css", "images/photo-05.png"):
            assert (page.path.parent / name).read_bytes() == z.read(f"EPUB/{name}"), name


def test_notes_figures_and_links_are_numbered_as_in_the_full_build(tiny_book: Path, tmp_path: Path) -> None:
    root = _notes_book(tiny_book)
    built = build_book(root, tmp_path / "full", formats=("epub",))
    warnings = {}
    with zipfile.ZipFile(built.epub) as z:
        for query in ("01-one", "1", "2"):  # "One" is front matter: "Two" is chapter 1, "Three" chapter 2
            reporter = Reporter()
            page, _ = preview(root, query, tmp_path / "out", reporter=reporter)
            assert page.path.read_bytes() == z.read(f"EPUB/{page.path.name}"), query
            warnings[page.path.stem] = {str(w) for w in reporter.warnings}
    # The book-wide fixes of the full build, made from the other chapters' ids alone:
    two = (tmp_path / "out" / "preview" / "02-two.xhtml").read_text(encoding="utf-8")
    assert 'href="01-one.xhtml"' in two and 'href="03-three.xhtml#the-end"' in two  # links resolve as in the EPUB
    assert 'href="03-three.xhtml">nowhere' in two  # a missing fragment leads to the chapter's start
    assert "04-gone" not in two  # a link to nothing is removed
    assert "Chapter 1" in two  # "Two" is body chapter 1: "One" is front matter
    three = (tmp_path / "out" / "preview" / "03-three.xhtml").read_text(encoding="utf-8")
    assert 'id="shared"' not in three  # chapter 2 has it first
    build_warnings = set(built.warnings)
    for stem, found in warnings.items():
        assert found == {w for w in build_warnings if f"/{stem}.md:" in w}, stem


def test_chapter_by_file_slug_path_or_number(tiny_book: Path) -> None:
    one = tiny_book / "chapters" / "01-one.md"
    for query in ("01-one.md", "01-one", str(one), "1"):
        book, chapter = load_one(tiny_book, query, Reporter())
        assert chapter.path == one, query
        assert chapter.blocks and not next(ch for ch in book.chapters if ch.id != chapter.id).blocks  # only it is rendered
    with pytest.raises(NoSuchChapter) as info:
        chapter_matcher(tiny_book, "01-onw")
    assert "did you mean 01-one" in str(info.value)
    with pytest.raises(NoSuchChapter):
        load_one(tiny_book, "7", Reporter())


def _cli(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bookmaker", *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=300)


def test_cli_prints_what_it_wrote_and_names_a_wrong_chapter(tiny_book: Path, tmp_path: Path) -> None:
    import os

    env = {**os.environ}
    proc = _cli("preview", "2", str(tiny_book), "-o", str(tmp_path / "out"), "--pdf", "--no-fill", cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    preview_dir = tmp_path / "out" / "preview"
    assert proc.stdout.splitlines() == [str(preview_dir / "02-two.xhtml"), str(preview_dir / "02-two.pdf")]
    assert (preview_dir / "02-two.pdf").read_bytes().startswith(b"%PDF-")
    # No page map yet: the first folio of chapter 2 depends on chapter 1's length, so it is provisional.
    assert "warning: provisional page numbers" in proc.stderr
    bad = _cli("preview", "nope", str(tiny_book), cwd=tmp_path, env=env)
    assert bad.returncode == 2
    assert bad.stderr.startswith(f"{tiny_book / 'chapters'}: error: no chapter 'nope'"), bad.stderr
    assert "Traceback" not in bad.stderr


# --- the print preview ------------------------------------------------------------------------


def _starts(pdf: Path) -> dict[str, int]:
    reader = PdfReader(pdf)
    return {str(name): reader.get_destination_page_number(d) for name, d in reader.named_destinations.items()}


def _same_pages(preview_pdf: Path, full_pdf: Path, start: int, plate: bool = False) -> list[bool]:
    """Page by page, the preview's text equals the full book's: folios, running heads, notes. A
    facing chapter's preview (`plate`) opens with a blank right-hand page and its plate, the full
    book's page before the chapter's section (core/design.py)."""
    full = PdfReader(full_pdf)
    pages = PdfReader(preview_pdf).pages
    if plate:
        return [not (pages[0].extract_text() or "").strip()] + \
               [page.extract_text() == full.pages[start - 2 + i].extract_text() for i, page in enumerate(pages) if i]
    return [page.extract_text() == full.pages[start + i].extract_text() for i, page in enumerate(pages)]


def _facing(root: Path, chapter: Chapter) -> bool:
    from bookmaker.core.design import plate_of
    from bookmaker.source.config import load_config

    return plate_of(load_config(root), chapter) is not None


def test_pdf_preview_has_the_pages_of_the_full_book_and_follows_edits(tmp_path: Path) -> None:
    root = tmp_path / "book"
    shutil.copytree(SAMPLE, root)
    out = tmp_path / "out"
    [full] = build(root, out, formats=("pdf",))  # records the page map
    starts = _starts(full.path)
    for query in ("00-introduction", "1", "4", "17", "28"):
        _, printed = preview(root, query, out, pdf=True, fill=False)
        assert printed is not None and printed.folio.exact, (query, printed and printed.folio)
        assert all(_same_pages(printed.path, full.path, starts[printed.chapter.id], _facing(root, printed.chapter))), query
    # Chapter 3 grows by two pages: previewing it records its new length, so chapter 5 moves on
    # at once, without a full layout; the next full build agrees.
    three = root / "chapters" / "03-pushing-a-broken-bus.md"
    _write(three, three.read_text(encoding="utf-8") + "\n" + "\n\n".join(["A longer account of the bus. " * 30] * 6) + "\n")
    _, before = preview(root, "5", out, pdf=True, fill=False)
    assert before is not None and not before.folio.exact and before.folio.unknown == ("ch-03-pushing-a-broken-bus",)
    _, grown = preview(root, "3", out, pdf=True, fill=False)
    assert grown is not None and grown.pages >= 2
    _, after = preview(root, "5", out, pdf=True, fill=False)
    assert after is not None and after.folio.exact
    # it took 2 pages before (its text, photograph 4's plate); now its text, the plate, and a blank
    # page before the plate when the text ends on a left-hand page (the sample's design is photo)
    text = grown.pages - 2  # the preview: a blank page, chapter 3's own plate, its text
    assert after.folio.first == before.folio.first - 2 + text + 1 + (text + 1) % 2
    [again] = build(root, out / "again", formats=("pdf",))
    assert all(_same_pages(after.path, again.path, _starts(again.path)[after.chapter.id], True))


def test_without_a_page_map_the_folio_is_provisional_until_a_fill(tiny_book: Path, tmp_path: Path) -> None:
    root = _notes_book(tiny_book)
    _, printed = preview(root, "03-three", tmp_path / "out", pdf=True, fill=False)
    assert printed is not None and not printed.folio.exact
    assert pagemap.missing(pagemap.load(root), load_one(root, "03-three", Reporter())[0])
    pagemap_fill.fill(root)  # what the background process runs
    _, exact = preview(root, "03-three", tmp_path / "out", pdf=True, fill=False)
    assert exact is not None and exact.folio.exact
    [full] = build(root, tmp_path / "full", formats=("pdf",))
    assert all(_same_pages(exact.path, full.path, _starts(full.path)["ch-03-three"]))


def test_a_gutter_that_grows_with_the_page_count_is_the_full_books(tiny_book: Path, tmp_path: Path) -> None:
    root = _notes_book(tiny_book)
    toml = root / "book.toml"
    _write(toml, toml.read_text(encoding="utf-8") + '\n[print]\nprofile = "kdp"\nmargin_inside = "0.3in"\n')
    _, guess = preview(root, "2", tmp_path / "out", pdf=True, fill=False)
    assert guess is not None and "gutter" in guess.folio.unknown  # KDP: 0.375in up to 150 pages, more above
    pagemap_fill.fill(root)
    _, printed = preview(root, "2", tmp_path / "out", pdf=True, fill=False)
    assert printed is not None and printed.folio.exact and printed.folio.gutter == 0.375
    [full] = build(root, tmp_path / "full", formats=("pdf",), check=False)  # 24 pages at least for KDP: not a real book
    assert all(_same_pages(printed.path, full.path, _starts(full.path)["ch-03-three"]))
    # Any chapter that changes unseen could move the page count across a band: provisional again.
    _write(root / "chapters" / "01-one.md", "---\ntitle: One\nkind: front\n---\n\nFirst chapter, longer.\n")
    _, stale = preview(root, "2", tmp_path / "out", pdf=True, fill=False)
    assert stale is not None and stale.folio.unknown == ("gutter",)


def test_links_to_other_chapters_leave_the_one_chapter_pdf(tiny_book: Path, tmp_path: Path) -> None:
    root = _notes_book(tiny_book)
    _, printed = preview(root, "02-two", tmp_path / "out", pdf=True, fill=False)
    assert printed is not None
    uris = []
    local = []
    for page in PdfReader(printed.path).pages:
        for annot in page.get("/Annots") or []:
            action = annot.get_object().get("/A") or {}
            if "/URI" in action:
                uris.append(str(action["/URI"]))
            elif "/D" in action or "/Dest" in annot.get_object():
                local.append(annot)
    folder = (tmp_path / "out" / "preview").resolve().as_uri()
    assert f"{folder}/01-one.pdf#ch-01-one" in uris
    assert f"{folder}/03-three.pdf#the-end" in uris
    assert not local and "Note A." in " ".join(p.extract_text() for p in PdfReader(printed.path).pages)  # at the foot of the page: no link needed
    toml = root / "book.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + 'notes = "chapter"\n', encoding="utf-8")
    _, printed = preview(root, "02-two", tmp_path / "out", pdf=True, fill=False)
    assert printed is not None
    local = [a for page in PdfReader(printed.path).pages for a in page.get("/Annots") or []
             if "/Dest" in a.get_object() or "/D" in (a.get_object().get("/A") or {})]
    assert local  # the notes at the chapter's end: the calls still link to them, inside the chapter


# --- the preview's errors are the build's (one rule each, in source/ and transform/) -------------


def _build_errors(root: Path) -> list[str]:
    from bookmaker.core.errors import BookError
    from bookmaker.transform.book import load_book

    with pytest.raises(BookError) as info:
        load_book(root, Reporter())
    return [str(d) for d in info.value.diagnostics]


def _preview_errors(workspace: Any, slug: str) -> list[str]:
    from bookmaker.core.errors import BookError

    with pytest.raises(BookError) as info:
        workspace.render(workspace.refresh(), slug, Reporter())
    return [str(d) for d in info.value.diagnostics]


def test_the_server_reports_a_duplicate_chapter_slug_as_the_build_does(tiny_book: Path) -> None:
    from bookmaker.preview.workspace import Workspace

    _write(tiny_book / "chapters" / "01-one!.md", "---\ntitle: One again\n---\n\nText.\n")  # slug 01-one, listed first
    built = _build_errors(tiny_book)
    assert built == [f"{tiny_book / 'chapters' / '01-one.md'}:1: error: chapter id '01-one' is also the id of 01-one!.md; rename one file"]
    workspace = Workspace(tiny_book)
    snapshot = workspace.refresh()
    assert [str(d) for e in snapshot.entries for d in e.errors] == built
    assert [ch.path.name for ch in snapshot.book.chapters] == ["01-one!.md", "02-two.md"]  # the later file leaves the book
    (tiny_book / "chapters" / "01-one!.md").rename(tiny_book / "chapters" / "00-zero.md")
    assert not any(e.errors for e in workspace.refresh().entries)


def test_a_figure_id_taken_elsewhere_is_the_builds_error_in_each_chapters_preview(tiny_book: Path) -> None:
    from bookmaker.core.errors import BookError
    from bookmaker.preview.workspace import Workspace

    _write(tiny_book / "chapters" / "01-one.md", "---\ntitle: One\n---\n\n![A.](images/a.png){#ch-02-two}\n\n![B.](images/b.png){#fig}\n")
    _write(tiny_book / "chapters" / "02-two.md", "---\ntitle: Two\n---\n\nText.\n\n![C.](images/c.png){#fig}\n")
    built = _build_errors(tiny_book)
    assert len(built) == 2 and all("is already used in" in line for line in built)
    workspace = Workspace(tiny_book)
    for name in ("01-one", "02-two"):
        path = str(tiny_book / "chapters" / f"{name}.md")
        assert _preview_errors(workspace, name) == [line for line in built if line.startswith(f"{path}:")], name
        with pytest.raises(BookError) as info:
            load_one(tiny_book, name, Reporter())
        assert [str(d) for d in info.value.diagnostics] == [line for line in built if line.startswith(f"{path}:")], name


def test_the_server_loads_images_by_the_builds_rule(tiny_book: Path) -> None:
    from bookmaker.preview.workspace import Workspace

    (tiny_book / "images").mkdir()
    (tiny_book / "images" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    _write(tiny_book / "chapters" / "01-one.md", "---\ntitle: One\n---\n\n![x](images/broken.png)\n\nAgain: ![x](images/broken.png)\n")
    built = _build_errors(tiny_book)
    assert len(built) == 1  # one line for the image, not one a use
    assert _preview_errors(Workspace(tiny_book), "01-one") == built


def test_a_remembered_image_does_not_outlive_allow_remote_images(tiny_book: Path) -> None:
    import http.server
    import io

    from PIL import Image as PILImage

    from bookmaker.preview.workspace import Workspace

    workspace = Workspace(tiny_book)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            out = io.BytesIO()
            PILImage.new("RGB", (30, 20)).save(out, format="PNG")
            self.send_response(200)
            self.end_headers()
            self.wfile.write(out.getvalue())

        def log_message(self, *args: object) -> None:
            pass

    remote = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=remote.serve_forever, daemon=True).start()
    toml = tiny_book / "book.toml"
    plain = toml.read_text(encoding="utf-8")
    try:
        _write(tiny_book / "chapters" / "01-one.md", f"---\ntitle: One\n---\n\n![r](http://127.0.0.1:{remote.server_port}/p.png)\n")
        _write(toml, plain + "allow_remote_images = true\n")
        book, _ = workspace.render(workspace.refresh(), "01-one", Reporter())
        assert book.images[0].width_px == 30
        _write(toml, plain + "allow_remote_images = false\n")
        assert _preview_errors(workspace, "01-one") == _build_errors(tiny_book)
        assert "not fetched" in _build_errors(tiny_book)[0]
    finally:
        remote.shutdown()


# --- the server, without a browser ----------------------------------------------------------


class Events:
    """A `/events` stream read in a thread: chapter states as they come."""

    def __init__(self, port: int, chapter: str) -> None:
        self.states: queue.Queue[dict[str, Any]] = queue.Queue()
        self._conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self._conn.request("GET", f"/events?chapter={chapter}")
        self._resp = self._conn.getresponse()
        assert self._resp.status == 200
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        event = ""
        try:
            for raw in self._resp:
                line = raw.decode("utf-8").rstrip("\n")
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event == "chapter":
                    self.states.put(json.loads(line[6:]))
        except (OSError, ValueError):
            pass

    def wait(self, predicate: Any, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no such state in time")
            try:
                state = self.states.get(timeout=left)
            except queue.Empty:
                raise AssertionError("no such state in time") from None
            if predicate(state):
                return state

    def close(self) -> None:
        self._conn.close()


@pytest.fixture
def server(tiny_book: Path, tmp_path: Path) -> Iterator[Any]:
    from bookmaker.preview.serve import PreviewServer

    srv = PreviewServer(tiny_book, tmp_path / "out", port=0).start_http()
    try:
        yield srv
    finally:
        srv.stop()


def _get(port: int, path: str, host: str | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.putrequest("GET", path, skip_host=True)
        conn.putheader("Host", host or f"127.0.0.1:{port}")
        conn.endheaders()
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def test_server_listens_on_loopback_and_serves_only_the_preview(server: Any, tiny_book: Path) -> None:
    assert server._httpd.server_address[0] == "127.0.0.1"
    status, body = _get(server.port, "/chapter/01-one")
    assert status == 200 and b"One" in body
    assert _get(server.port, "/preview/css/book.css")[0] == 200
    assert _get(server.port, "/preview/01-one.xhtml")[0] == 200
    secret = b"title = \"Tiny\""
    for path in (
        "/preview/../book.toml", "/preview/../../etc/passwd", "/preview/%2e%2e/%2e%2e/etc/passwd",
        "/preview/css/%2e%2e/%2e%2e/%2e%2e/tiny/book.toml", "/preview/css/..%2f..%2f..%2ftiny%2fbook.toml",
        "/preview/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd", "/preview/.%2e/x", "/preview//etc/passwd",
        "/chapter/..%2f..%2fetc%2fpasswd", "/chapter/%2e%2e", "/book.toml", "/chapters/01-one.md",
    ):
        status, body = _get(server.port, path)
        assert status == 404, path
        assert secret not in body and b"root:" not in body, path
    assert _get(server.port, "/", host="evil.example:80")[0] == 421  # DNS rebinding: only our own Host


def test_a_save_rebuilds_only_what_depends_on_it(server: Any, tiny_book: Path) -> None:
    one, two = Events(server.port, "01-one"), Events(server.port, "02-two")
    try:
        settled = lambda s: s["html_version"] and s["print_version"] and s["folio_exact"] and not s["filling"]  # noqa: E731
        s1, s2 = one.wait(settled), two.wait(settled)
        assert s1["first_folio"] == 1 and s2["first_folio"] == 3 and s2["folio_exact"]
        _write(tiny_book / "chapters" / "01-one.md", "---\ntitle: One\n---\n\nFirst chapter, edited.\n")
        edited = one.wait(lambda s: s["html_version"] > s1["html_version"])
        assert not edited["errors"]
        assert "First chapter, edited." in (server.out / "01-one.xhtml").read_text(encoding="utf-8")
        one.wait(lambda s: s["print_version"] > s1["print_version"])
        server.builder.ensure("02-two")  # one more full pass of the builder
        later = server.builder.state("02-two")
        assert (later.html_version, later.print_version) == (s2["html_version"], s2["print_version"])
        # book.toml is read by every chapter: both rebuild.
        toml = tiny_book / "book.toml"
        _write(toml, toml.read_text(encoding="utf-8").replace('"Tiny"', '"Tiny, Revised"'))
        one.wait(lambda s: s["html_version"] > edited["html_version"])
        two.wait(lambda s: s["html_version"] > s2["html_version"])
    finally:
        one.close()
        two.close()


def test_an_image_rebuilds_only_the_chapters_that_show_it(tiny_book: Path, tmp_path: Path) -> None:
    from PIL import Image as PILImage

    from bookmaker.preview.serve import PreviewServer

    (tiny_book / "images").mkdir()
    PILImage.new("RGB", (300, 200), "red").save(tiny_book / "images" / "cat.png")
    _write(tiny_book / "chapters" / "01-one.md", "---\ntitle: One\n---\n\n![A red cat.](images/cat.png \"The cat.\")\n\nText.\n")
    srv = PreviewServer(tiny_book, tmp_path / "out", port=0).start_http()
    one, two = Events(srv.port, "01-one"), Events(srv.port, "02-two")
    try:
        settled = lambda s: s["html_version"] and s["print_version"] and s["folio_exact"] and not s["filling"]  # noqa: E731
        s1, s2 = one.wait(settled), two.wait(settled)
        assert 'width="300" height="200"' in (srv.out / "01-one.xhtml").read_text(encoding="utf-8")
        PILImage.new("RGB", (200, 300), "blue").save(tiny_book / "images" / "cat.png")
        one.wait(lambda s: s["html_version"] > s1["html_version"])
        assert 'width="200" height="300"' in (srv.out / "01-one.xhtml").read_text(encoding="utf-8")
        srv.builder.ensure("02-two")
        assert srv.builder.state("02-two").html_version == s2["html_version"]
    finally:
        one.close()
        two.close()
        srv.stop()


def test_a_broken_chapter_shows_its_error_and_comes_back(server: Any, tiny_book: Path) -> None:
    events = Events(server.port, "02-two")
    path = tiny_book / "chapters" / "02-two.md"
    try:
        first = events.wait(lambda s: s["html_version"])
        _write(path, "---\ntitle: Two\nkind: [body\n---\n\nText.\n")
        # An editor that truncates then writes may show a passing "empty chapter" first: wait for this one.
        broken = events.wait(lambda s: any(e.startswith(f"{path}:3: error: front matter") for e in s["errors"]))
        assert broken["html_version"] == first["html_version"]
        assert _get(server.port, "/")[0] == 200  # the server goes on
        _write(path, "---\ntitle: Two\n---\n\nSecond chapter, fixed.\n")
        fixed = events.wait(lambda s: not s["errors"] and s["html_version"] > first["html_version"])
        assert fixed["title"] == "Two"
        assert "Second chapter, fixed." in (server.out / "02-two.xhtml").read_text(encoding="utf-8")
    finally:
        events.close()


@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_serve_command_stops_cleanly(tiny_book: Path, tmp_path: Path, signame: str) -> None:
    import os
    import signal

    def default_signals() -> None:  # a parent (a CI runner, nohup) that ignores SIGINT must not pass that on
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)

    proc = subprocess.Popen([sys.executable, "-m", "bookmaker", "serve", str(tiny_book), "-o", str(tmp_path / "out"), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ},
                            preexec_fn=default_signals)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # "serving … at http://127.0.0.1:PORT/ (Ctrl-C stops)"
        port = int(line.split("http://127.0.0.1:")[1].split("/")[0])
        events = Events(port, "01-one")
        events.wait(lambda s: s["html_version"])
        proc.send_signal(getattr(signal, signame))
        assert proc.wait(timeout=30) == 0, proc.stderr.read() if proc.stderr else ""
        events.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_provisional_preview_fills_the_page_map_in_the_background(tiny_book: Path, tmp_path: Path) -> None:
    import os

    root = _notes_book(tiny_book)
    _, printed = preview(root, "03-three", tmp_path / "out", pdf=True)  # fill=True: returns at once
    assert printed is not None and not printed.folio.exact
    lock = pagemap.cache_path(root).with_suffix(".filling")
    pid = int(lock.read_text())
    deadline = time.monotonic() + 120
    try:
        while pagemap_fill.filling(root):  # wait for the detached layout to end (it removes its lock)
            assert time.monotonic() < deadline, "the background layout did not end"
            time.sleep(0.1)
    finally:
        if pagemap_fill.filling(root):
            os.kill(pid, 9)
    assert not lock.exists()
    _, exact = preview(root, "03-three", tmp_path / "out", pdf=True, fill=False)
    assert exact is not None and exact.folio.exact and exact.folio.first == printed.folio.first
