"""Bad input: one clear line with file and line, nothing lost, nothing reached outside the book."""

from __future__ import annotations

import hashlib
import http.server
import io
import os
import signal
import struct
import subprocess
import sys
import threading
import time
import zipfile
import zlib
from pathlib import Path

import pytest
from PIL import Image as PILImage

from bookmaker.core import resources
from bookmaker.core.errors import (
    ConfigError,
    ImageError,
    LayoutError,
    ManuscriptError,
    Reporter,
)
from bookmaker.pipeline import build
from bookmaker.render import layout
from bookmaker.transform.book import load_book

from .conftest import ROOT, SAMPLE


def chapter(book: Path, body: str, name: str = "01-one.md", title: str = "One") -> Path:
    path = book / "chapters" / name
    path.write_text(f"---\ntitle: {title}\n---\n\n{body}\n", encoding="utf-8")
    return path


def image_book(book: Path, filename: str, data: bytes) -> Path:
    (book / "images").mkdir(exist_ok=True)
    (book / "images" / filename).write_bytes(data)
    return chapter(book, f"Text.\n\n![A picture](images/{filename} \"Caption.\")\n")


def encoded(img: PILImage.Image, fmt: str, **kw: object) -> bytes:
    out = io.BytesIO()
    img.save(out, format=fmt, **kw)
    return out.getvalue()


# --- images an author brings ---------------------------------------------------------------

def test_cmyk_jpeg_becomes_rgb(tiny_book: Path) -> None:
    image_book(tiny_book, "cmyk.jpg", encoded(PILImage.new("CMYK", (400, 300), (0, 200, 200, 0)), "JPEG"))
    img = load_book(tiny_book, Reporter()).images[0]
    with PILImage.open(io.BytesIO(img.data)) as out:
        assert out.mode == "RGB" and out.format == "JPEG" and out.size == (400, 300)
        r, g, b = out.getpixel((10, 10))
        assert r > 200 and g < 120 and b < 120  # cyan-free, magenta+yellow: red


def test_sixteen_bit_png_becomes_eight_bit(tiny_book: Path) -> None:
    img16 = PILImage.new("I;16", (64, 32))
    img16.putdata([40000] * (64 * 32))
    image_book(tiny_book, "deep.png", encoded(img16, "PNG"))
    img = load_book(tiny_book, Reporter()).images[0]
    with PILImage.open(io.BytesIO(img.data)) as out:
        assert out.mode == "L" and out.getpixel((0, 0)) == 40000 // 256


def test_palette_png_with_transparency_is_kept(tiny_book: Path) -> None:
    pal = PILImage.new("P", (50, 40), 1)
    pal.putpalette([255, 255, 255, 200, 0, 0] + [0] * 762)
    data = encoded(pal, "PNG", transparency=0)
    image_book(tiny_book, "pal.png", data)
    img = load_book(tiny_book, Reporter()).images[0]
    assert img.data == data and img.media_type == "image/png"


def test_exif_rotation_is_applied(tiny_book: Path) -> None:
    exif = PILImage.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    image_book(tiny_book, "turned.jpg", encoded(PILImage.new("RGB", (300, 100), (10, 120, 10)), "JPEG", exif=exif))
    img = load_book(tiny_book, Reporter()).images[0]
    assert (img.width_px, img.height_px) == (100, 300)
    with PILImage.open(io.BytesIO(img.data)) as out:
        assert out.size == (100, 300) and out.getexif().get(0x0112, 1) == 1


def test_tiff_is_converted_for_epub(tiny_book: Path) -> None:
    image_book(tiny_book, "scan.tif", encoded(PILImage.new("RGB", (120, 80), (0, 0, 255)), "TIFF"))
    img = load_book(tiny_book, Reporter()).images[0]
    assert img.media_type == "image/png" and img.href == "images/scan.png"


@pytest.mark.parametrize("data, message", [
    (b"this is not a picture at all", "cannot be read"),
    (encoded(PILImage.new("RGB", (800, 600), (1, 2, 3)), "JPEG")[:700], "truncated"),
    (encoded(PILImage.effect_noise((300, 200), 64), "PNG")[:20000], "truncated"),
])
def test_unreadable_images_are_errors_with_the_line(tiny_book: Path, data: bytes, message: str) -> None:
    ch = image_book(tiny_book, "bad.jpg", data)
    with pytest.raises(ImageError) as err:
        load_book(tiny_book, Reporter())
    d = err.value.diagnostics[0]
    assert (d.location.path, d.location.line) == (ch, 7) and message in d.message


def _png_bomb(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def test_decompression_bomb_is_refused_before_decoding(tiny_book: Path) -> None:
    image_book(tiny_book, "bomb.png", _png_bomb(50_000, 50_000))
    started = time.perf_counter()
    with pytest.raises(ImageError) as err:
        load_book(tiny_book, Reporter())
    assert "too many pixels" in str(err.value) and time.perf_counter() - started < 5


def test_inline_data_images_small_yes_large_no(tiny_book: Path) -> None:
    import base64

    small = base64.b64encode(encoded(PILImage.new("RGB", (20, 10), (9, 9, 9)), "PNG")).decode()
    chapter(tiny_book, f"![dot](data:image/png;base64,{small})")
    img = load_book(tiny_book, Reporter()).images[0]
    assert img.href.startswith("images/inline-") and img.href.endswith(".png") and (img.width_px, img.height_px) == (20, 10)
    big = base64.b64encode(os.urandom(3 * 1024 * 1024)).decode()
    chapter(tiny_book, f"![noise](data:image/png;base64,{big})")
    with pytest.raises(ImageError) as err:
        load_book(tiny_book, Reporter())
    assert "over 2048 KB" in str(err.value)


def test_remote_images_only_when_the_book_allows(tiny_book: Path) -> None:
    png = encoded(PILImage.new("RGB", (30, 20), (5, 5, 5)), "PNG")
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            self.wfile.write(png)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/pic.png"
        chapter(tiny_book, f"![remote]({url})")
        with pytest.raises(ImageError) as err:
            load_book(tiny_book, Reporter())
        assert "not fetched" in str(err.value) and hits == []
        toml = tiny_book / "book.toml"
        toml.write_text(toml.read_text() + "allow_remote_images = true\n", encoding="utf-8")
        img = load_book(tiny_book, Reporter()).images[0]
        assert hits == ["/pic.png"] and img.href.startswith("images/remote-") and img.data == png
    finally:
        server.shutdown()


def test_symlink_out_of_the_book_is_refused(tiny_book: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.png"
    secret.write_bytes(encoded(PILImage.new("RGB", (10, 10)), "PNG"))
    (tiny_book / "images").mkdir()
    (tiny_book / "images" / "link.png").symlink_to(secret)
    chapter(tiny_book, "![x](images/link.png)")
    with pytest.raises(ImageError) as err:
        load_book(tiny_book, Reporter())
    assert "outside the book folder" in str(err.value)


# --- config and chapters ---------------------------------------------------------------------

def test_negative_bleed_and_missing_keys(tiny_book: Path) -> None:
    toml = tiny_book / "book.toml"
    toml.write_text('title = "T"\n[print]\nprofile = "kdp"\n[print.overrides]\nbleed = "-0.1in"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_book(tiny_book, Reporter())
    text = str(err.value)
    assert f"{toml}:5: error: 'print.overrides.bleed': must not be negative" in text
    assert f"{toml}:1: error: missing required key 'authors'" in text and "missing required key 'language'" in text


def test_duplicate_chapter_slugs(tiny_book: Path) -> None:
    chapter(tiny_book, "x", name="01 One.md")
    chapter(tiny_book, "y", name="01-one!.md")
    with pytest.raises(ManuscriptError) as err:
        load_book(tiny_book, Reporter())
    assert "chapter id '01-one' is also the id of" in str(err.value)


def test_empty_chapter_and_non_mapping_front_matter(tiny_book: Path) -> None:
    empty = chapter(tiny_book, "   ")
    listy = tiny_book / "chapters" / "02-two.md"
    listy.write_text("---\n- a\n- b\n---\n\nText\n", encoding="utf-8")
    with pytest.raises(ManuscriptError) as err:
        load_book(tiny_book, Reporter())
    text = str(err.value)
    assert f"{empty}:4: error: the chapter has no text" in text and f"{listy}:2: error: front matter must be a mapping" in text


# --- layouts -----------------------------------------------------------------------------------

@pytest.fixture
def broken_layouts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    import shutil

    folder = tmp_path / "layouts"
    shutil.copytree(ROOT / "layouts", folder)
    monkeypatch.setattr(resources, "builtin_layouts_dir", lambda: folder)
    layout.environment.cache_clear()
    yield folder
    layout.environment.cache_clear()


def test_template_syntax_error_names_file_and_line(tiny_book: Path, broken_layouts: Path) -> None:
    (broken_layouts / "_titlepage.j2").write_text("<section>\n<h1>x</h1>\n{% if %}\n</section>\n", encoding="utf-8")
    with pytest.raises(LayoutError) as err:
        layout.render_epub(load_book(tiny_book, Reporter()))
    d = err.value.diagnostics[0]
    assert d.location.path.name == "_titlepage.j2" and d.location.line == 3


def test_template_runtime_error_names_file_and_line(tiny_book: Path, broken_layouts: Path) -> None:
    (broken_layouts / "_titlepage.j2").write_text("<section>\n<h1>{{ config.no_such_field }}</h1>\n</section>\n", encoding="utf-8")
    with pytest.raises(LayoutError) as err:
        layout.render_epub(load_book(tiny_book, Reporter()))
    d = err.value.diagnostics[0]
    assert d.location.line == 2 and "no_such_field" in d.message


def test_missing_template_says_what_was_looked_for(tiny_book: Path, broken_layouts: Path) -> None:
    (broken_layouts / "nav.xhtml.j2").unlink()
    with pytest.raises(LayoutError) as err:
        layout.render_epub(load_book(tiny_book, Reporter()))
    assert "template 'nav.xhtml.j2' not found" in str(err.value)


# --- nothing reached outside, nothing injected ---------------------------------------------------

def test_titles_are_text_in_every_output(tiny_book: Path, tmp_path: Path) -> None:
    toml = tiny_book / "book.toml"
    toml.write_text(toml.read_text().replace('title = "Tiny"', 'title = "<script>alert(1)</script> & Co"'), encoding="utf-8")
    chapter(tiny_book, "Body.", title="'<b onclick=x>Bold</b>'")
    outputs = {o.format: o.path for o in build(tiny_book, tmp_path / "out")}
    with zipfile.ZipFile(outputs["epub"]) as z:
        for name in z.namelist():
            if name.endswith((".xhtml", ".opf", ".ncx")):
                text = z.read(name).decode("utf-8")
                assert "<script>" not in text and "<b onclick" not in text, name
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in z.read("EPUB/titlepage.xhtml").decode()
    from pypdf import PdfReader

    pdf_text = "".join(p.extract_text() for p in PdfReader(outputs["pdf"]).pages)
    assert "<script>alert(1)</script> & Co" in pdf_text and "<b onclick=x>Bold</b>" in pdf_text


def test_no_external_entities_and_no_scripts(tiny_book: Path, tmp_path: Path) -> None:
    chapter(tiny_book, '<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n\n&xxe; <iframe src="file:///etc/passwd"></iframe>'
                       '<a href="javascript:alert(1)" onmouseover="x()">link</a><form><input></form>')
    reporter = Reporter()
    outputs = {o.format: o.path for o in build(tiny_book, tmp_path / "out", reporter=reporter)}
    blob = outputs["epub"].read_bytes()
    with zipfile.ZipFile(outputs["epub"]) as z:
        text = "".join(z.read(n).decode("utf-8", "replace") for n in z.namelist() if n.endswith(".xhtml"))
    for bad in ("root:x:0:0", "<iframe", "javascript:", "onmouseover", "<form", "<input"):
        assert bad not in text, bad
    assert b"root:x:0:0" not in outputs["pdf"].read_bytes() and blob
    assert any("raw HTML not allowed" in str(w) for w in reporter.warnings)


# --- nothing lost ---------------------------------------------------------------------------------

def _hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_manuscript_is_never_written(tmp_path: Path) -> None:
    import shutil

    book = tmp_path / "book"
    shutil.copytree(SAMPLE, book)
    before = _hashes(book)
    mtimes = {p: p.stat().st_mtime_ns for p in book.rglob("*")}
    build(book, tmp_path / "out", ("epub",))
    assert _hashes(book) == before
    assert {p: p.stat().st_mtime_ns for p in book.rglob("*")} == mtimes


def test_a_failed_build_leaves_the_previous_outputs(tiny_book: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    build(tiny_book, out)
    before = _hashes(out)
    chapter(tiny_book, "x", name="02-two.md", title="")  # now broken
    with pytest.raises(ManuscriptError):
        build(tiny_book, out)
    assert _hashes(out) == before


KILL_CMD = [sys.executable, "-m", "bookmaker", "build", str(SAMPLE), "-q", "-o"]
KILL_ENV = {**os.environ, "SOURCE_DATE_EPOCH": "1"}  # a different build would write different bytes


@pytest.fixture(scope="module")
def full_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[float, dict[str, str]]:
    """How long a rebuild takes in its own process, under the test's own conditions (a folder that
    already holds a build and its cache, so the rebuild is the fast one), and the outputs it writes."""
    out = tmp_path_factory.mktemp("complete")
    build(SAMPLE, out)
    started = time.perf_counter()
    subprocess.run([*KILL_CMD, str(out)], check=True, capture_output=True, env=KILL_ENV, timeout=300)
    return time.perf_counter() - started, _hashes(out)


@pytest.mark.parametrize("fraction", [0.2, 0.5, 0.85])
def test_a_killed_build_leaves_the_previous_outputs_byte_identical(tmp_path: Path, fraction: float,
                                                                    full_build: tuple[float, dict[str, str]]) -> None:
    """Killed at a share of a rebuild's time: every output is the previous one, byte for byte, or
    the complete new one; never a torn file. A build that ended before the signal left the new ones."""
    seconds, complete = full_build
    out = tmp_path / "out"
    build(SAMPLE, out)
    before = _hashes(out)
    proc = subprocess.Popen([*KILL_CMD, str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=KILL_ENV)
    time.sleep(seconds * fraction)
    running = proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    killed = proc.wait(timeout=30) == -signal.SIGKILL
    after = {k: v for k, v in _hashes(out).items() if not k.endswith(".part")}
    if fraction <= 0.5:
        assert running and killed, f"the build ended within {fraction:.0%} of its usual {seconds:.1f} s"
    if not killed:
        assert after == complete
        return
    # Between poll() and the signal the build may have renamed some outputs into place (or all of
    # them, and be leaving the interpreter): each file is then whole, the old bytes or the new.
    removed = {k for k in before.keys() - after.keys() if not k.startswith(".bookmaker-cache/")}
    assert not removed, f"outputs removed: {sorted(removed)}"  # the cache may drop entries it no longer uses
    torn = {k for k in after if after[k] not in (before.get(k), complete.get(k))}
    assert not torn, f"outputs that are neither the previous nor the new bytes: {sorted(torn)}"
    if fraction <= 0.2:
        assert after == before, "killed at a fifth of the build, yet outputs were replaced"


# --- ids and links across the book ------------------------------------------------------------------

def test_duplicate_ids_and_dangling_links_are_mended_with_warnings(tiny_book: Path, tmp_path: Path) -> None:
    one = chapter(tiny_book, 'A <span id="here">target</span> and [to two](02-two.md#there) and [nowhere](#missing).\n\n'
                             '<a href="notes.html">a file that is not in the book</a>')
    two = chapter(tiny_book, 'Another <span id="here">same id</span> and <a href="01-one.md#here">raw link back</a>.',
                  name="02-two.md", title="Two")
    reporter = Reporter()
    book = load_book(tiny_book, reporter)
    warnings = [str(w) for w in reporter.warnings]
    assert f"{two}:5: warning: id 'here' is used more than once in the book; this one was removed" in warnings
    assert any(w.startswith(f"{one}:5: warning: link to '02-two.xhtml#there': no '#there'") for w in warnings)
    assert any(w.startswith(f"{one}:5: warning: link to '#missing'") for w in warnings)
    assert any(w.startswith(f"{one}:7: warning: link to 'notes.html' leads to nothing") for w in warnings)
    html_one = "".join(b.html for b in book.chapters[0].blocks)
    html_two = "".join(b.html for b in book.chapters[1].blocks)
    assert 'href="02-two.xhtml"' in html_one and 'href="01-one.xhtml"' in html_one and "notes.html" not in html_one
    assert 'href="01-one.xhtml#here"' in html_two and 'id="here"' not in html_two
    out = build(tiny_book, tmp_path / "out", ("epub",))
    assert out[0].path.is_file()


def test_unknown_front_matter_key_names_its_line(tiny_book: Path) -> None:
    path = tiny_book / "chapters" / "01-one.md"
    path.write_text("---\ntitle: One\nsubtitel: typo\n---\n\nText.\n", encoding="utf-8")
    with pytest.raises(ManuscriptError) as err:
        load_book(tiny_book, Reporter())
    assert f"{path}:3: error: unknown front matter key 'subtitel'" in str(err.value)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "https://example.com/x.css", "https://book.invalid/../../etc/passwd",
                                 "https://book.invalid/fonts/not-there.ttf", "data:text/css,body{}"])
def test_weasyprint_fetches_only_the_books_own_files(url: str) -> None:
    from bookmaker.backends.pdf.backend import _fetcher
    from bookmaker.render.layout import Asset

    fetcher = _fetcher({"css/print.css": Asset("css/print.css", "text/css", b"body {}")})
    assert fetcher.fetch("https://book.invalid/css/print.css").read() == b"body {}"
    with pytest.raises(ValueError):
        fetcher.fetch(url)
