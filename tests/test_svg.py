"""SVG images: made safe before either back end sees it, sized, drawn as vectors, and every image
problem of a build reported at once."""

from __future__ import annotations

import base64
import io
import re
import subprocess
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import pytest
from .conftest import SAMPLE, Built, build_book, need, which
from PIL import Image as PILImage
from pypdf import PdfWriter

from bookmaker.cache.build import BuildCache
from bookmaker.checks.preflight import RuleResult, preflight
from bookmaker.checks.validate import Report, ValidatorMissing, resident_epubcheck
from bookmaker.core.errors import ImageError, Reporter
from bookmaker.core.model import PageContent  # the page boxes preflight reads
from bookmaker.core.profiles import PROFILES
from bookmaker.render.printed import cmyk_profile
from bookmaker.source.config import load_config
from bookmaker.transform import svg
from bookmaker.transform.book import load_book
from bookmaker.transform.images import to_cmyk

NS = 'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'
RECT = '<rect x="1" y="1" width="8" height="8" fill="#1a7f37"/>'


def svg_doc(body: str = RECT, attrs: str = 'width="10" height="10"', head: str = "") -> bytes:
    return f'{head}<svg {NS} {attrs}>{body}</svg>'.encode()


def chapter(book: Path, body: str, name: str = "01-one.md", title: str = "One") -> Path:
    path = book / "chapters" / name
    path.write_text(f"---\ntitle: {title}\n---\n\n{body}\n", encoding="utf-8")
    return path


def svg_book(book: Path, data: bytes, filename: str = "x.svg") -> Path:
    """The chapter names the image on line 7."""
    (book / "images").mkdir(exist_ok=True)
    (book / "images" / filename).write_bytes(data)
    return chapter(book, f"Text.\n\n![A drawing](images/{filename} \"Caption.\")\n")


def png(size: tuple[int, int] = (4, 3), colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    PILImage.new("RGB", size, colour).save(out, format="PNG")
    return out.getvalue()


# --- size ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("attrs, size", [
    ('width="300" height="150"', (300, 150)),
    ('width="300px" height="150px"', (300, 150)),
    ('width="72pt" height="36pt"', (96, 48)),
    ('width="4in" height="2in"', (384, 192)),
    ('width="25.4mm" height="12.7mm"', (96, 48)),
    ('width="2.54cm" height="5.08cm"', (96, 192)),
    ('width="2em" height="1em"', (32, 16)),
    ('width="100%" height="100%" viewBox="0 0 640 480"', (640, 480)),
    ('viewBox="-10 -10 400 300"', (400, 300)),
    ('width="200" viewBox="0 0 400 300"', (200, 150)),
    ('height="3in" viewBox="0 0 400 300"', (384, 288)),
    ('width="1in" height="1in" viewBox="0 0 5000 9000"', (96, 96)),  # width and height win
])
def test_intrinsic_size_in_css_pixels(attrs: str, size: tuple[float, float]) -> None:
    clean = svg.clean(svg_doc(attrs=attrs))
    assert (clean.width_px, clean.height_px) == pytest.approx(size)
    assert clean.removed == ()


@pytest.mark.parametrize("attrs, message", [
    ("", "has a size that cannot be known"),
    ('width="100%" height="50%"', "has a size that cannot be known"),
    ('width="300"', "has a size that cannot be known"),
    ('width="wide" height="10"', "has width='wide', which is not a length"),
    ('width="-5" height="10"', "has width='-5', which is not a usable size"),
    ('viewBox="0 0 0 10"', "has viewBox='0 0 0 10', which is not four numbers"),
    ('viewBox="0 0 10"', "is not four numbers"),
])
def test_size_that_cannot_be_known_is_refused(attrs: str, message: str) -> None:
    with pytest.raises(svg.SvgRefused, match=re.escape(message)):
        svg.clean(svg_doc(attrs=attrs))


def test_a_viewbox_is_added_so_the_drawing_scales() -> None:
    out = svg.clean(svg_doc(attrs='width="4in" height="2in"')).data.decode()
    assert 'viewBox="0 0 384 192"' in out
    # Case is kept (lxml's XML serialiser, never an HTML one), and the output is the same every time
    kept = svg.clean(svg_doc(attrs='viewBox="0 0 10 10" preserveAspectRatio="xMidYMid meet"'))
    assert b'viewBox="0 0 10 10"' in kept.data and b"preserveAspectRatio" in kept.data and b"viewbox" not in kept.data
    assert kept == svg.clean(svg_doc(attrs='viewBox="0 0 10 10" preserveAspectRatio="xMidYMid meet"'))
    assert kept.data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n<svg ")


def test_an_svg_image_is_sized_and_placed_like_other_figures(tiny_book: Path) -> None:
    svg_book(tiny_book, svg_doc(attrs='width="80mm" height="40mm"'), "diagram.svg")
    reporter = Reporter()
    img = load_book(tiny_book, reporter).images[0]
    assert reporter.warnings == []
    assert (img.media_type, img.href, img.placeholder) == ("image/svg+xml", "images/diagram.svg", False)
    assert (img.width_px, img.height_px) == (302, 151)  # 80mm x 40mm at 96 px per inch
    assert img.placed_width_in == pytest.approx(4.5)  # the text width, as for a photo of the same shape
    assert img.placed_height_in == pytest.approx(2.25)
    assert img.data.startswith(b"<?xml") and b"<rect" in img.data


# --- hostile SVG: cleaned, with a located warning ----------------------------------------------

CLEANED = [
    ("script", f"<script>alert(1)</script>{RECT}", "<script>", b"alert"),
    ("handler", f'<rect width="5" height="5" onclick="steal()"/>{RECT}', "onclick=", b"steal"),
    ("foreignObject", f'<foreignObject width="5" height="5"><p xmlns="http://www.w3.org/1999/xhtml">hi</p></foreignObject>{RECT}',
     "<foreignObject>", b"xhtml"),
    ("external image", f'<image xlink:href="http://evil.example/track.png" width="5" height="5"/>{RECT}',
     "external href 'http://evil.example/track.png'", b"evil.example"),
    ("external use", f'<use href="https://evil.example/sprites.svg#a"/>{RECT}', "external href 'https://evil.example/sprites.svg#a'", b"evil.example"),
    ("file href", f'<image href="file:///etc/passwd" width="5" height="5"/>{RECT}', "file: href 'file:///etc/passwd'", b"passwd"),
    ("css url", '<rect width="5" height="5" style="fill:url(http://evil.example/x.svg#p);stroke:#000"/>',
     "url(http://evil.example/x.svg#p)", b"evil.example"),
    ("style element", f"<style>@import url(http://evil.example/x.css); rect {{ fill: red; background: url(http://evil.example/y) }}</style>{RECT}",
     "@import, url(http://evil.example/y)", b"evil.example"),
    ("image-set", f'<g style="mask: image-set(\'http://evil.example/m.png\' 1x)">{RECT}</g>', "image-set() in a style", b"evil.example"),
    ("javascript link", '<a href="javascript:alert(1)"><rect width="5" height="5"/></a>', "link <a href='javascript:alert(1)'>", b"javascript"),
    ("animation", f'<a href="#x"><set attributeName="href" to="javascript:alert(1)"/></a>{RECT}', "<set>", b"javascript"),
    ("xml:base", f'<g xml:base="http://evil.example/">{RECT}</g>', "xml:base=", b"evil.example"),
    ("svg in image", f'<image href="data:image/svg+xml;base64,{base64.b64encode(svg_doc()).decode()}" width="5" height="5"/>{RECT}',
     "data: href that is not an embedded PNG or JPEG", b"svg+xml"),
]


@pytest.mark.parametrize("body, removed, gone", [c[1:] for c in CLEANED], ids=[c[0] for c in CLEANED])
def test_hostile_constructs_are_removed_with_a_located_warning(tiny_book: Path, body: str, removed: str, gone: bytes) -> None:
    ch = svg_book(tiny_book, svg_doc(body, attrs='width="10" height="10" onload="alert(2)"'))
    reporter = Reporter()
    img = load_book(tiny_book, reporter).images[0]
    (warning,) = [str(w) for w in reporter.warnings]
    assert warning.startswith(f"{ch}:7: warning: SVG 'images/x.svg': removed onload=, ")
    assert removed in warning
    assert gone not in img.data and b"onload" not in img.data
    assert b"<rect" in img.data  # the drawing itself is kept


def test_a_link_to_elsewhere_is_unwrapped_and_its_drawing_kept() -> None:
    clean = svg.clean(svg_doc('<a xlink:href="https://example.com/"><circle r="4"/>x</a><a href="#c"><rect id="c" width="1" height="1"/></a>'))
    assert clean.removed == ("link <a href='https://example.com/'>",)
    out = clean.data.decode()
    assert "<circle" in out and "example.com" not in out and '<a href="#c">' in out  # a local link stays
    both = svg.clean(svg_doc('<a href="#c" xlink:href="http://evil.example/"><rect id="c" width="1" height="1"/></a>'))
    assert both.removed == ("link <a href='http://evil.example/'>",) and b"evil" not in both.data and b"<a" not in both.data


def test_safe_svg_keeps_what_draws_and_editors_metadata_goes_quietly() -> None:
    data = (b'<?xml version="1.0" standalone="no"?>\n<!-- Inkscape -->\n'
            b'<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n'
            b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
            b'xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape" xmlns:sodipodi="http://sodipodi.sourceforge.net/DTD/sodipodi-0.dtd" '
            b'width="120" height="60" version="1.1" inkscape:version="1.3">'
            b'<sodipodi:namedview id="base" pagecolor="#fff"/><metadata><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/></metadata>'
            b'<defs><linearGradient id="g"><stop offset="0" stop-color="#f00"/><stop offset="1" stop-color="#00f"/></linearGradient>'
            b'<path id="arrow" d="M0 0 L10 5 L0 10z"/></defs>'
            b'<g inkscape:label="Layer 1" inkscape:groupmode="layer" transform="translate(2,2)">'
            b'<rect width="50" height="20" fill="url(#g)" style="stroke:#000;stroke-width:2;-inkscape-stroke:none"/>'
            b'<use xlink:href="#arrow" x="60"/><text x="5" y="40" font-family="Charis SIL">Label</text>'
            b'<image width="4" height="3" href="data:image/png;base64,' + base64.b64encode(png()) + b'"/></g></svg>')
    clean = svg.clean(data)
    assert clean.removed == ()
    out = clean.data.decode()
    for kept in ('fill="url(#g-bm1)"', '<linearGradient id="g">', 'xlink:href="#arrow"', "stroke:#000;stroke-width:2", "<text", "data:image/png;base64,",
                 'transform="translate(2,2)"', "<linearGradient"):
        assert kept in out
    for gone in ("inkscape", "sodipodi", "rdf", "<!--", "DOCTYPE", "metadata"):
        assert gone not in out


def test_a_doctype_that_points_at_a_file_is_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.dtd"
    secret.write_text('<!ENTITY leak "TOP-SECRET">', encoding="utf-8")
    clean = svg.clean(svg_doc('<text x="1" y="5">hello</text>', head=f'<!DOCTYPE svg SYSTEM "{secret.as_uri()}">'))
    (removed,) = clean.removed
    assert removed.startswith("DOCTYPE 'file:///")
    assert b"TOP-SECRET" not in clean.data and b"DOCTYPE" not in clean.data
    # were the DTD read, &leak; would be defined: it is not
    with pytest.raises(svg.SvgRefused, match="not well-formed XML .undefined entity"):
        svg.clean(svg_doc('<text x="1" y="5">&leak;</text>', head=f'<!DOCTYPE svg SYSTEM "{secret.as_uri()}">'))


def test_embedded_pictures_are_checked() -> None:
    good = svg.clean(svg_doc(f'<image width="4" height="3" href="data:image/png;base64,{base64.b64encode(png()).decode()}"/>'))
    assert good.removed == () and b"data:image/png;base64," in good.data
    not_png = base64.b64encode(b"GIF89a not really").decode()
    with pytest.raises(svg.SvgRefused, match="nothing left to draw once data: href"):
        svg.clean(svg_doc(f'<image width="4" height="3" href="data:image/png;base64,{not_png}"/>'))


# --- hostile SVG: refused, with the chapter's line -----------------------------------------------

BILLION_LAUGHS = (b'<?xml version="1.0"?>\n<!DOCTYPE svg [\n<!ENTITY lol "lol">\n'
                  + b"".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1 if i > 1 else "") + ";") * 10}">\n'.encode() for i in range(1, 10))
                  + b']>\n' + svg_doc('<text x="0" y="5">&lol9;</text>'))


def _use_bomb(levels: int = 6) -> bytes:
    groups = ['<g id="u0"><rect width="1" height="1"/></g>']
    groups += [f'<g id="u{i}">' + f'<use href="#u{i - 1}"/>' * 10 + "</g>" for i in range(1, levels + 1)]
    return svg_doc(f"<defs>{''.join(groups)}</defs><use href=\"#u{levels}\"/>")


REFUSED = [
    ("billion laughs", BILLION_LAUGHS, "declares the entity 'lol' (<!ENTITY>); entity expansion (a 'billion laughs' bomb) is refused"),
    ("xxe", b'<!DOCTYPE svg [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>' + svg_doc('<text y="5">&xxe;</text>'),
     "declares an external entity 'xxe' (file:///etc/passwd); SVG files may not read other files (XXE)"),
    ("parameter entity", b'<!DOCTYPE svg [<!ENTITY % remote SYSTEM "http://evil.example/x.dtd"> %remote;]>' + svg_doc(),
     "declares an external entity 'remote' (http://evil.example/x.dtd)"),
    ("not well-formed", svg_doc("<g><rect width='1' height='1'></g>"), "is not well-formed XML (mismatched tag: line 1"),
    ("nothing left", svg_doc('<script>alert(1)</script><foreignObject width="5" height="5"/>'),
     "has nothing left to draw once <script>, <foreignObject> are removed"),
    ("nothing at all", svg_doc("<defs><rect id='r' width='1' height='1'/></defs><title>Empty</title>"), "has nothing to draw"),
    ("not svg", b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body><svg/></body></html>',
     "is XML but not SVG (its root element is <html>)"),
    ("use loop", svg_doc('<g id="a"><use href="#b"/></g><g id="b"><use href="#a"/></g>'), "has <use> elements that refer to themselves in a loop"),
    ("use bomb", _use_bomb(), "expands to more than 100,000 elements through its <use> references"),
    ("no size", svg_doc(attrs=""), "has a size that cannot be known: give the <svg> element width and height"),
]


@pytest.mark.parametrize("data, message", [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_unusable_svg_is_refused_with_the_chapter_line(tiny_book: Path, data: bytes, message: str) -> None:
    ch = svg_book(tiny_book, data)
    with pytest.raises(ImageError) as err:
        load_book(tiny_book, Reporter())
    assert str(err.value).startswith(f"{ch}:7: error: SVG 'images/x.svg' {message}")
    assert "\n" not in str(err.value) and "0x" not in str(err.value)


def test_a_billion_laughs_is_refused_before_it_expands() -> None:
    import time

    started = time.perf_counter()
    with pytest.raises(svg.SvgRefused):
        svg.clean(BILLION_LAUGHS)
    assert time.perf_counter() - started < 1


def test_an_image_neither_pillow_nor_svg_names_what_it_is_without_a_repr(tiny_book: Path) -> None:
    ch = svg_book(tiny_book, b"GIF87 is what this is not", "x.png")
    with pytest.raises(ImageError) as err:
        load_book(tiny_book, Reporter())
    assert str(err.value) == (f"{ch}:7: error: image 'images/x.png' cannot be read: not an image Pillow knows "
                              "(JPEG, PNG, GIF, WebP, TIFF, BMP) and not SVG")


def test_svg_is_told_by_its_bytes_not_its_name(tiny_book: Path) -> None:
    svg_book(tiny_book, svg_doc(), "drawn.png")
    img = load_book(tiny_book, Reporter()).images[0]
    assert (img.media_type, img.href) == ("image/svg+xml", "images/drawn.svg")
    assert not svg.looks_like_svg(png()) and not svg.looks_like_svg(b"<html><body>hi</body></html>")


def test_the_warning_comes_back_from_the_build_cache(tiny_book: Path, tmp_path: Path) -> None:
    ch = svg_book(tiny_book, svg_doc(f"<script>x()</script>{RECT}"))
    cache = BuildCache.under(tmp_path / "out")
    for _ in range(2):  # the second load takes the cleaned SVG from the cache
        reporter = Reporter()
        load_book(tiny_book, reporter, cache=cache)
        assert [str(w) for w in reporter.warnings] == [
            f"{ch}:7: warning: SVG 'images/x.svg': removed <script> (not allowed in a book's SVG)"]
    assert any(kind == "images" for kind, _ in cache.used)


# --- every image problem at once ------------------------------------------------------------------

def test_every_broken_image_of_every_chapter_is_reported_in_one_error(tiny_book: Path) -> None:
    images = tiny_book / "images"
    images.mkdir()
    (images / "noise.png").write_bytes(b"not a picture")
    (images / "bomb.svg").write_bytes(BILLION_LAUGHS)
    (images / "fine.svg").write_bytes(svg_doc())
    (images / "fine.png").write_bytes(png())
    tiff = io.BytesIO()
    PILImage.new("RGB", (4, 3)).save(tiff, format="TIFF")
    (images / "fine.tif").write_bytes(tiff.getvalue())  # stored as PNG: images/fine.png, taken
    one = chapter(tiny_book, "![a](images/noise.png)\n\n![b](images/fine.png)\n\n![c](images/bomb.svg)\n")
    two = chapter(tiny_book, "Text.\n\n![d](../outside.png)\n\n![e](images/fine.svg)\n\n![a again](images/noise.png)\n\n"
                  "![f](images/fine.tif)\n", name="02-two.md", title="Two")
    with pytest.raises(ImageError) as err:
        load_book(tiny_book, Reporter())
    lines = str(err.value).splitlines()
    assert [(d.location.path, d.location.line) for d in err.value.diagnostics] == [(one, 5), (one, 9), (two, 7), (two, 13)]
    assert lines[0] == f"{one}:5: error: image 'images/noise.png' cannot be read: not an image Pillow knows (JPEG, PNG, GIF, WebP, TIFF, BMP) and not SVG"
    assert lines[1].startswith(f"{one}:9: error: SVG 'images/bomb.svg' declares the entity 'lol'")
    assert lines[2] == f"{two}:7: error: image '../outside.png' points outside the book folder"
    assert lines[3] == f"{two}:13: error: image 'images/fine.tif' and 'images/fine.png' would both be stored as images/fine.png; rename one"
    assert len(lines) == 4 and err.value.exit_code == 5


def test_one_good_book_raises_nothing(tiny_book: Path) -> None:
    (tiny_book / "images").mkdir()
    (tiny_book / "images" / "fine.svg").write_bytes(svg_doc())
    chapter(tiny_book, "![e](images/fine.svg)\n")
    assert [img.src for img in load_book(tiny_book, Reporter()).images] == ["images/fine.svg"]


# --- CMYK -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def icc() -> bytes:
    return cmyk_profile(load_config(SAMPLE)).read_bytes()


def test_cmyk_svg_colours_become_device_cmyk(icc: bytes) -> None:
    clean = svg.clean(svg_doc(
        '<style>.a { fill: #ff0000; stroke: rgb(128, 128, 128) }</style>'
        '<defs><linearGradient id="g"><stop offset="0" stop-color="#000"/><stop offset="1" stop-color="#fff"/></linearGradient></defs>'
        f'<rect class="a" width="5" height="5"/><rect width="5" height="5" style="fill:#0000ff;stroke:url(#g)"/>'
        f'<circle r="3" fill="url(#g)"/><text y="5">black by default</text>'
        f'<image width="4" height="3" href="data:image/png;base64,{base64.b64encode(png()).decode()}"/>'))
    out = to_cmyk(clean.data, icc).decode()
    assert out.startswith("<?xml") and not re.search(r"#[0-9a-f]{3,6}\b|rgb\(", out)
    assert 'fill="device-cmyk(0 0 0 1)"' in out  # SVG's default black, in black ink
    assert "stroke:device-cmyk(0 0 0 0.498)" in out  # a neutral grey: black ink only
    red = re.search(r"\.a\{fill:device-cmyk\(([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+)\)", out)
    assert red and float(red.group(1)) < 0.1 and float(red.group(2)) > 0.8 and float(red.group(3)) > 0.8
    # gradients print flat, at their average (WeasyPrint 70 builds SVG gradient shadings in RGB only)
    assert 'fill="device-cmyk(0 0 0 0.5)"' in out and "stroke:device-cmyk(0 0 0 0.5)" in out
    embedded = re.search(r'href="data:image/jpeg;base64,([^"]+)"', out)
    assert embedded
    with PILImage.open(io.BytesIO(base64.b64decode(embedded.group(1)))) as pic:
        assert pic.mode == "CMYK"


# --- a book with SVG, built: EPUB and PDF -----------------------------------------------------------

FIGURE = svg_doc(
    '<title>Flow</title><script>alert("x")</script>'
    '<rect x="10" y="10" width="180" height="80" fill="#1a7f37" stroke="#000000" stroke-width="4"/>'
    '<circle cx="300" cy="50" r="40" fill="#c0306a"/><text x="20" y="60" font-size="24" fill="#ffffff">Start</text>',
    attrs='width="4in" height="1in" viewBox="0 0 400 100" onload="alert(1)"')
DOT = svg_doc('<circle cx="5" cy="5" r="4" fill="#c0306a"/>', attrs='width="1em" height="1em" viewBox="0 0 10 10"')


@dataclass(frozen=True)
class SvgBuilds:
    root: Path
    rgb: Built  # the default (proof) profile
    cmyk: Built  # ingramspark: CMYK interior, 300 dpi images


def _tiny(root: Path, extra_toml: str = "") -> Path:
    """conftest's `tiny_book` (a function fixture), written here for the module's one build."""
    (root / "chapters").mkdir(parents=True)
    (root / "images").mkdir()
    (root / "book.toml").write_text('title = "Tiny"\nauthors = ["A. Writer"]\nlanguage = "en"\ndate = 2026-01-02\n' + extra_toml, encoding="utf-8")
    (root / "images" / "flow.svg").write_bytes(FIGURE)
    (root / "images" / "dot.svg").write_bytes(DOT)
    (root / "chapters" / "01-one.md").write_text(
        "---\ntitle: One\n---\n\nFirst chapter text.\n\n![A flow from start to end.](images/flow.svg \"The flow.\")\n\n"
        "A sentence with a dot ![a dot](images/dot.svg) inside it.\n", encoding="utf-8")
    (root / "chapters" / "02-two.md").write_text("---\ntitle: Two\n---\n\nSecond chapter text.\n", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> SvgBuilds:
    base = tmp_path_factory.mktemp("svg-book")
    rgb = build_book(_tiny(base / "rgb"), base / "rgb-out")
    cmyk = build_book(_tiny(base / "cmyk", '[print]\nprofile = "ingramspark"\n'), base / "cmyk-out")
    return SvgBuilds(base / "rgb", rgb, cmyk)


@pytest.fixture(scope="module")
def epubcheck(builds: SvgBuilds) -> Report:
    try:
        return resident_epubcheck().check(builds.rgb.epub)
    except ValidatorMissing as exc:
        need(str(exc))
        raise


def test_the_build_warns_where_the_manuscript_names_the_svg(builds: SvgBuilds) -> None:
    ch = builds.root / "chapters" / "01-one.md"
    assert builds.rgb.warnings == (f"{ch}:7: warning: SVG 'images/flow.svg': removed onload=, <script> (not allowed in a book's SVG)",)


def test_epub_carries_the_cleaned_svg_and_passes_epubcheck(builds: SvgBuilds, epubcheck: Report) -> None:
    with zipfile.ZipFile(builds.rgb.epub) as z:
        opf = z.read("EPUB/content.opf").decode()
        flow = z.read("EPUB/images/flow.svg")
        page = z.read("EPUB/01-one.xhtml").decode()
    for href in ("images/flow.svg", "images/dot.svg"):
        assert re.search(rf'<item href="{href}" id="[^"]+" media-type="image/svg\+xml"/>', opf)
    assert b"script" not in flow and b"onload" not in flow and b'viewBox="0 0 400 100"' in flow
    assert re.search(r'<img [^>]*src="images/flow.svg" alt="A flow from start to end." width="384" height="96"', page)
    assert re.search(r'<img [^>]*src="images/dot.svg" alt="a dot" width="16" height="16" />', page)  # 1em: 16 CSS px
    chapter_item = re.search(r'<item href="01-one.xhtml"[^>]*/>', opf)
    assert chapter_item and "properties" not in chapter_item.group(0)  # <img> SVG needs no svg property
    assert epubcheck.clean, [f"{f.code} {f.message} {f.location}" for f in epubcheck.findings]


def _page_with(pdf: Path, text: str) -> int:
    from pypdf import PdfReader

    pages = [i for i, page in enumerate(PdfReader(pdf).pages) if text in page.extract_text()]
    assert pages, f"no page has {text!r}"
    return pages[0]


def _painted(pdf: Path, n: int) -> str:
    """What page `n` paints: its content and that of every form XObject it paints, in order of
    first use (SVG images are forms: backends/wp_svg.py)."""
    from pypdf import PdfReader

    page = PdfReader(pdf).pages[n]
    seen: set[str] = set()

    def expand(data: bytes, resources: object) -> str:
        resources = resources.get_object() if hasattr(resources, "get_object") else resources
        x_objects = (resources.get("/XObject") if hasattr(resources, "get") else None) or {}
        out = [data.decode("latin-1")]
        for name in re.findall(rb"/([\w.]+)\s+Do\b", data):
            key = "/" + name.decode()
            ref = x_objects.get(key)
            if ref is None or key in seen:
                continue
            seen.add(key)
            obj = ref.get_object()
            if obj.get("/Subtype") == "/Form":
                out.append(expand(obj.get_data(), obj.get("/Resources") or resources))
        return "\n".join(out)

    return expand(page.get_contents().get_data(), page["/Resources"])


def _image_xobjects(pdf: Path) -> list[str]:
    """Every raster image in the PDF, through forms, patterns and their resources."""
    from pypdf import PdfReader

    found: list[str] = []
    seen: set[int] = set()

    def walk(resources: object) -> None:
        resources = resources.get_object() if hasattr(resources, "get_object") else resources
        if not hasattr(resources, "get"):
            return
        for kind in ("/XObject", "/Pattern"):
            for name, ref in (resources.get(kind) or {}).items():
                if getattr(ref, "idnum", None) in seen:
                    continue
                seen.add(getattr(ref, "idnum", -1))
                obj = ref.get_object()
                if obj.get("/Subtype") == "/Image":
                    found.append(str(name))
                if "/Resources" in obj:
                    walk(obj["/Resources"])

    for page in PdfReader(pdf).pages:
        walk(page.get("/Resources"))
    return found


def test_pdf_draws_the_svg_as_vectors(builds: SvgBuilds) -> None:

    pdf = builds.rgb.pdf
    n = _page_with(pdf, "The flow.")
    assert _image_xobjects(pdf) == []  # no raster anywhere: the SVGs are drawn, not embedded as pictures
    content = _painted(pdf, n)
    assert re.search(r"0\.101961 0\.498039 0\.215686 rg\n(?:.*\n){0,12}?.* re\n[fB]\*?\n", content)  # the green rect, filled
    assert re.search(r"0\.752941 0\.188235 0\.415686 rg", content)  # the circle (and the dot in the sentence)
    # and a reader sees it: the page, rendered, has the rectangle's green and the circle's pink
    which("pdftoppm")
    png_path = pdf.parent / "figure-page"
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", str(n + 1), "-l", str(n + 1), "-singlefile", str(pdf), str(png_path)], check=True)
    with PILImage.open(png_path.with_suffix(".png")) as shot:
        colours = shot.convert("RGB").getcolors(1 << 20) or []
    green = sum(count for count, (r, g, b) in colours if abs(r - 26) < 12 and abs(g - 127) < 12 and abs(b - 55) < 12)
    pink = sum(count for count, (r, g, b) in colours if abs(r - 192) < 12 and abs(g - 48) < 12 and abs(b - 106) < 12)
    assert green > 1000 and pink > 500  # 4.5in x 1.1in figure at 50 dpi: the rect alone is ~2,000 px


def test_cmyk_pdf_paints_the_svg_in_cmyk_and_passes_preflight(builds: SvgBuilds) -> None:

    pdf = builds.cmyk.pdf  # build_book would have raised PreflightError had a rule failed
    content = _painted(pdf, _page_with(pdf, "The flow."))
    assert "/DeviceCMYK cs" in content and not re.search(r"(?<![\w.])rg\n", content)
    inks = [tuple(map(float, m)) for m in re.findall(r"([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+) scn", content)]
    assert any(c > 0.5 and y > 0.5 and m < 0.5 for c, m, y, k in inks)  # the green rectangle, in CMYK inks
    assert any(m > 0.5 and c < 0.5 for c, m, y, k in inks)  # the pink circle
    assert _image_xobjects(pdf) == []
    report = preflight(pdf.read_bytes(), load_config(pdf.parent.parent / "cmyk"))
    results = {r.rule: r for r in report.results}
    assert report.passed and results["CMYK or grey only"].passed
    assert results["image resolution at placed size"].passed  # 300 dpi minimum: a vector image has no dpi to fail


def test_preflight_counts_a_vector_image_but_finds_no_resolution_to_fail() -> None:
    """The build path (wp_internals.layout_summary) gives an SVG's box 0 x 0 pixels: no dpi, still a box."""
    out = io.BytesIO()
    writer = PdfWriter()
    writer.add_blank_page(432, 648)
    writer.write(out)
    sample = load_config(SAMPLE)
    config = replace(sample, print=replace(sample.print, profile=PROFILES["kdp"]))  # 300 dpi minimum

    def resolution(images: list[tuple[float, float, float, float, int, int]]) -> RuleResult:
        results = preflight(out.getvalue(), config, [PageContent(images=images)]).results
        return next(r for r in results if r.rule == "image resolution at placed size")

    vector = resolution([(100.0, 100.0, 424.0, 172.0, 0, 0)])
    assert vector.passed and vector.measured == "1 vector image (SVG, no resolution)"
    raster = resolution([(100.0, 100.0, 424.0, 172.0, 300, 100)])  # 300 px over 4.5in: 67 dpi
    assert not raster.passed and raster.pages == (1,)
    both = resolution([(100.0, 100.0, 424.0, 172.0, 0, 0), (100.0, 300.0, 172.0, 372.0, 600, 600)])
    assert both.passed and both.measured == "smallest 600 dpi over 1 images (minimum 300); 1 vector image (SVG, no resolution)"


# --- gradients in a box, drawn by every PDF viewer --------------------------------------------------
#
# WeasyPrint draws an objectBoundingBox gradient as a unit-square pattern scaled up to the element,
# which poppler (pdftoppm, evince) leaves white; `clean` rewrites it in user space for the element's
# box. The rewritten SVG, drawn by poppler, must look like the original drawn by PDFium (where
# WeasyPrint draws the original right), and like SVG's own definition everywhere.

STOPS = '<stop offset="0" stop-color="#1d3b72"/><stop offset="0.5" stop-color="#30c040"/><stop offset="1" stop-color="#e04030"/>'
STOP_COLOURS = ((0.0, (0x1D, 0x3B, 0x72)), (0.5, (0x30, 0xC0, 0x40)), (1.0, (0xE0, 0x40, 0x30)))
DIAGRAM = Path(__file__).parent / "corpus" / "svg" / "images" / "diagram.svg"
Point = tuple[float, float]
Rgb = tuple[int, int, int]


def picture(body: str, size: tuple[int, int] = (200, 120)) -> bytes:
    """An SVG whose user unit is one CSS px: drawn at 96 dpi, user point (x, y) is pixel (x, y)."""
    return svg_doc(body, attrs=f'width="{size[0]}" height="{size[1]}" viewBox="0 0 {size[0]} {size[1]}"')


def _pdf(data: bytes, size: tuple[int, int]) -> bytes:
    """The SVG as WeasyPrint prints an <img> of it: alone on a page of its size."""
    import weasyprint

    src = "data:image/svg+xml;base64," + base64.b64encode(data).decode()
    html = (f"<html><head><style>@page {{ size: {size[0]}px {size[1]}px; margin: 0 }} body {{ margin: 0 }} "
            f"img {{ display: block; width: {size[0]}px; height: {size[1]}px }}</style></head><body><img src=\"{src}\"></body></html>")
    return weasyprint.HTML(string=html).write_pdf()


def by_poppler(data: bytes, size: tuple[int, int], tmp: Path) -> PILImage.Image:
    pdf = tmp / "poppler.pdf"
    pdf.write_bytes(_pdf(data, size))
    subprocess.run([which("pdftoppm"), "-png", "-r", "96", "-singlefile", str(pdf), str(tmp / "poppler")], check=True, timeout=120)
    with PILImage.open(tmp / "poppler.png") as shot:
        return shot.convert("RGB")


def by_pdfium(data: bytes, size: tuple[int, int]) -> PILImage.Image:
    import pypdfium2

    document = pypdfium2.PdfDocument(_pdf(data, size))
    try:
        return document[0].render(scale=96 / 72).to_pil().convert("RGB")
    finally:
        document.close()


def colour_at(image: PILImage.Image, point: Point) -> Rgb:
    """The mean colour of the 3 x 3 pixels around a user-space point (one user unit, one pixel)."""
    x, y = int(point[0]), int(point[1])
    pixels = [image.getpixel((x + dx, y + dy)) for dx in (-1, 0, 1) for dy in (-1, 0, 1)]
    return tuple(round(sum(p[i] for p in pixels) / 9) for i in range(3))  # type: ignore[return-value]


def distance(a: Rgb, b: Rgb) -> int:
    return max(abs(p - q) for p, q in zip(a, b))


def grid(x0: float, y0: float, x1: float, y1: float, step: float = 15) -> list[Point]:
    xs = [x0 + i * step for i in range(int((x1 - x0) / step) + 1)]
    ys = [y0 + i * step for i in range(int((y1 - y0) / step) + 1)]
    return [(x, y) for x in xs for y in ys]


def inside_ellipse(cx: float, cy: float, rx: float, ry: float, margin: float = 4) -> list[Point]:
    return [(x, y) for x, y in grid(cx - rx, cy - ry, cx + rx, cy + ry, 10)
            if ((x - cx) / (rx - margin)) ** 2 + ((y - cy) / (ry - margin)) ** 2 <= 1]


def gradient_of(data: bytes, gid: str) -> dict[str, str]:
    from lxml import etree

    (el,) = etree.fromstring(data).xpath("//*[@id=$gid]", gid=gid)
    return {etree.QName(k).localname if etree.QName(k).namespace != svg.XLINK_NS else "xlink:href": v for k, v in el.attrib.items()}


def element(data: bytes, xpath: str) -> dict[str, str]:
    from lxml import etree

    (el,) = etree.fromstring(data).xpath(xpath, namespaces={"s": svg.SVG_NS})
    return dict(el.attrib)


# Cases WeasyPrint itself draws right in objectBoundingBox units (pad spread, numeric radius, fill,
# transforms without rotation), so PDFium's picture of the original is the reference.
AS_PDFIUM_DRAWS = [
    ("linear diagonal, wide rect", f'<defs><linearGradient id="g" x2="1" y2="1">{STOPS}</linearGradient></defs>'
     '<rect x="10" y="10" width="180" height="100" fill="url(#g)"/>', grid(15, 15, 185, 105)),
    ("radial with focus, wide rect", f'<defs><radialGradient id="g" cx="0.3" cy="0.6" r="0.5" fx="0.2" fy="0.5">{STOPS}'
     '</radialGradient></defs><rect x="10" y="10" width="180" height="100" fill="url(#g)"/>', grid(15, 15, 185, 105)),
    ("radial, gradientTransform, ellipse", f'<defs><radialGradient id="g" r="0.5" gradientTransform="translate(0.5 0.5) '
     f'scale(0.6 1.2) translate(-0.5 -0.5)">{STOPS}</radialGradient></defs><ellipse cx="100" cy="60" rx="90" ry="50" fill="url(#g)"/>',
     inside_ellipse(100, 60, 90, 50)),
    ("linear, gradientTransform, matrix", f'<defs><linearGradient id="g" x1="0.1" x2="0.9" y2="0.3" '
     f'gradientTransform="matrix(0.8 0 0 1.5 0.1 -0.2)">{STOPS}</linearGradient></defs>'
     '<rect x="20" y="5" width="160" height="110" fill="url(#g)"/>', grid(25, 10, 175, 110)),
    ("percent units", f'<defs><linearGradient id="g" x1="10%" y1="0%" x2="90%" y2="50%">{STOPS}</linearGradient>'
     f'<radialGradient id="h" cx="30%" cy="60%" r="0.4" fx="35%">{STOPS}</radialGradient></defs>'
     '<polygon points="10,10 100,20 90,110 20,90" fill="url(#g)"/><circle cx="150" cy="60" r="40" fill="url(#h)"/>',
     [(40, 40), (60, 60), (80, 30), (50, 90), (85, 100)] + inside_ellipse(150, 60, 40, 40)),
    ("href inheritance", f'<defs><linearGradient id="base">{STOPS}</linearGradient><linearGradient id="mid" xlink:href="#base" '
     'x2="0" y2="1"/><linearGradient id="top" href="#mid" y1="0.2"/></defs>'
     '<rect x="10" y="10" width="85" height="100" fill="url(#top)"/><rect x="105" y="10" width="85" height="100" fill="url(#mid)"/>',
     grid(15, 15, 90, 105) + grid(110, 15, 185, 105)),
    ("the element's own transform", f'<defs><linearGradient id="g" x2="1" y2="1">{STOPS}</linearGradient></defs>'
     '<rect x="40" y="30" width="120" height="60" fill="url(#g)" transform="rotate(10 100 60)"/>', grid(50, 45, 150, 75, 10)),
    ("polyline, line and path without curves", f'<defs><linearGradient id="g" x2="0" y2="1">{STOPS}</linearGradient></defs>'
     '<polyline points="10,10 60,10 60,110 10,110" fill="url(#g)"/><path d="M70 10 h50 v100 h-50 z" fill="url(#g)"/>'
     '<line x1="130" y1="10" x2="190" y2="110" stroke="url(#g)" stroke-width="1"/>',
     grid(15, 15, 55, 105, 10) + grid(75, 15, 115, 105, 10)),
]


@pytest.mark.parametrize("body, points", [c[1:] for c in AS_PDFIUM_DRAWS], ids=[c[0] for c in AS_PDFIUM_DRAWS])
def test_a_box_gradient_rewritten_is_drawn_by_poppler_as_pdfium_draws_the_original(body: str, points: list[Point], tmp_path: Path) -> None:
    original = picture(body)
    clean = svg.clean(original)
    assert clean.removed == () and b"url(#g)" not in clean.data and b"url(#h)" not in clean.data
    reference, rewritten = by_pdfium(original, (200, 120)), by_poppler(clean.data, (200, 120), tmp_path)
    far = [(p, colour_at(reference, p), colour_at(rewritten, p)) for p in points
           if distance(colour_at(reference, p), colour_at(rewritten, p)) > 16]
    assert not far, far
    drawn = [colour_at(rewritten, p) for p in points]
    assert max(distance(a, b) for a in drawn for b in drawn) > 100  # a gradient, not one flat colour


def test_the_corpus_diagram_was_white_in_poppler_and_now_shows_its_sky_and_sun(tmp_path: Path) -> None:
    original = DIAGRAM.read_bytes()
    clean = svg.clean(original)
    assert gradient_of(clean.data, "sky-bm1") == {"id": "sky-bm1", "xlink:href": "#sky", "gradientUnits": "userSpaceOnUse",
                                                  "x1": "0", "y1": "0", "x2": "0", "y2": "240"}
    assert gradient_of(clean.data, "sun-bm1") == {"id": "sun-bm1", "xlink:href": "#sun", "gradientUnits": "userSpaceOnUse",
                                                  "cx": "300", "cy": "70", "r": "40"}  # a circle's box is square: no transform
    assert element(clean.data, "(//s:rect)[1]")["fill"] == "url(#sky-bm1)"
    assert element(clean.data, "//s:circle")["fill"] == "url(#sun-bm1)"
    sky = [(20, 20), (200, 40), (390, 130), (20, 230), (200, 225)]
    sun = [(300, 70), (285, 60), (320, 85), (300, 100)]
    before, after = by_poppler(original, (400, 240), tmp_path), by_poppler(clean.data, (400, 240), tmp_path)
    assert all(colour_at(before, p) == (255, 255, 255) for p in sky + sun)  # the bug: poppler drew nothing
    reference = by_pdfium(original, (400, 240))
    assert all(distance(colour_at(reference, p), colour_at(after, p)) <= 12 for p in sky + sun)
    assert distance(colour_at(after, (200, 2)), (0x1D, 0x3B, 0x72)) <= 12  # the sky's top stop, at the top
    assert distance(colour_at(after, (200, 237)), (0xA9, 0xC8, 0xEF)) <= 12  # and its bottom one
    assert distance(colour_at(after, (300, 70)), (0xFF, 0xF7, 0xC2)) <= 12  # the sun's centre


# SVG's own definition (SVG 1.1, 13.2), for what WeasyPrint does not draw right in box units itself:
# a rotated gradientTransform, reflect, a stroke, a curved path (it takes the control points for the box).

Affine = tuple[float, float, float, float, float, float]


def _then(m: Affine, n: Affine) -> Affine:
    a, b, c, d, e, f = m
    p, q, r, s, t, u = n
    return (a * p + c * q, b * p + d * q, a * r + c * s, b * r + d * s, a * t + c * u + e, b * t + d * u + f)


def _inverse_at(m: Affine, x: float, y: float) -> Point:
    a, b, c, d, e, f = m
    det = a * d - b * c
    x, y = x - e, y - f
    return (d * x - c * y) / det, (-b * x + a * y) / det


def _rotate(degrees: float, cx: float, cy: float) -> Affine:
    import math

    t = math.radians(degrees)
    turn = (math.cos(t), math.sin(t), -math.sin(t), math.cos(t), 0.0, 0.0)
    return _then(_then((1, 0, 0, 1, cx, cy), turn), (1, 0, 0, 1, -cx, -cy))


def stop_colour(t: float, spread: str = "pad") -> Rgb:
    if spread == "reflect":
        t = abs(t) % 2
        t = 2 - t if t > 1 else t
    elif spread == "repeat":
        t = t % 1
    t = min(1.0, max(0.0, t))
    for (o0, c0), (o1, c1) in zip(STOP_COLOURS, STOP_COLOURS[1:]):
        if t <= o1:
            u = (t - o0) / (o1 - o0)
            return tuple(round(a + (b - a) * u) for a, b in zip(c0, c1))  # type: ignore[return-value]
    return STOP_COLOURS[-1][1]


def spec_linear(q: Point, box: tuple[float, float, float, float], transform: Affine, p1: Point, p2: Point, spread: str = "pad") -> Rgb:
    m = _then((box[2], 0, 0, box[3], box[0], box[1]), transform)
    x, y = _inverse_at(m, *q)
    vx, vy = p2[0] - p1[0], p2[1] - p1[1]
    return stop_colour(((x - p1[0]) * vx + (y - p1[1]) * vy) / (vx * vx + vy * vy), spread)


def spec_radial(q: Point, box: tuple[float, float, float, float], transform: Affine, c: Point, r: float) -> Rgb:
    m = _then((box[2], 0, 0, box[3], box[0], box[1]), transform)
    x, y = _inverse_at(m, *q)
    return stop_colour(((x - c[0]) ** 2 + (y - c[1]) ** 2) ** 0.5 / r)


IDENTITY = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
AS_SVG_DEFINES = [
    ("linear, rotated gradientTransform, reflect",
     f'<defs><linearGradient id="g" x2="0.5" spreadMethod="reflect" gradientTransform="rotate(30 0.5 0.5)">{STOPS}</linearGradient></defs>'
     '<rect x="10" y="10" width="180" height="100" fill="url(#g)"/>', grid(15, 15, 185, 105),
     lambda q: spec_linear(q, (10, 10, 180, 100), _rotate(30, 0.5, 0.5), (0, 0), (0.5, 0), "reflect")),
    ("linear, skewed, reflect",
     f'<defs><linearGradient id="g" x1="0.2" x2="0.5" spreadMethod="reflect" gradientTransform="skewX(20)">{STOPS}</linearGradient></defs>'
     '<rect x="20" y="20" width="160" height="80" fill="url(#g)"/>', grid(25, 25, 175, 95, 10),
     lambda q: spec_linear(q, (20, 20, 160, 80), (1, 0, 0.36397023426620234, 1, 0, 0), (0.2, 0), (0.5, 0), "reflect")),
    ("radial on a curved path", f'<defs><radialGradient id="g" cx="0.5" cy="0.5" r="0.5">{STOPS}</radialGradient></defs>'
     '<path d="M20 110 C 20 -23.333 180 -23.333 180 110 Z" fill="url(#g)"/>',  # its top is at y = 10, its control points at -23
     grid(40, 50, 160, 105, 10),
     lambda q: spec_radial(q, (20, 10, 160, 100), IDENTITY, (0.5, 0.5), 0.5)),
    ("radial, rotated into an ellipse",
     f'<defs><radialGradient id="g" cx="0.5" cy="0.5" r="0.4" gradientTransform="rotate(30 0.5 0.5)">{STOPS}</radialGradient></defs>'
     '<circle cx="100" cy="60" r="55" fill="url(#g)"/>', inside_ellipse(100, 60, 55, 55),
     lambda q: spec_radial(q, (45, 5, 110, 110), _rotate(30, 0.5, 0.5), (0.5, 0.5), 0.4)),
]


@pytest.mark.parametrize("body, points, expected", [c[1:] for c in AS_SVG_DEFINES], ids=[c[0] for c in AS_SVG_DEFINES])
def test_a_box_gradient_rewritten_is_drawn_by_poppler_as_svg_defines_it(body: str, points: list[Point], expected: Callable[[Point], Rgb],
                                                                        tmp_path: Path) -> None:
    clean = svg.clean(picture(body))
    assert clean.removed == () and b"url(#g)" not in clean.data
    drawn = by_poppler(clean.data, (200, 120), tmp_path)
    # pixel centres: the 3 x 3 mean at integer (x, y) is the colour at (x + 0.5, y + 0.5)
    far = [(p, expected((p[0] + 0.5, p[1] + 0.5)), colour_at(drawn, p)) for p in points
           if distance(expected((p[0] + 0.5, p[1] + 0.5)), colour_at(drawn, p)) > 14]
    assert not far, far


def test_the_box_is_folded_into_the_coordinates_and_a_radial_one_keeps_the_box_s_proportions() -> None:
    clean = svg.clean(picture(f'<defs><linearGradient id="g" x2="1" y2="1">{STOPS}</linearGradient>'
                              f'<radialGradient id="r">{STOPS}</radialGradient></defs>'
                              '<rect x="10" y="20" width="200" height="100" fill="url(#g)"/>'
                              '<rect width="200" height="100" fill="url(#r)"/><circle cx="50" cy="40" r="30" fill="url(#r)"/>'))
    # t = 1 along the diagonal's normal in the box: the far corner (210, 120) is still t = 1
    assert gradient_of(clean.data, "g-bm1") == {"id": "g-bm1", "xlink:href": "#g", "gradientUnits": "userSpaceOnUse",
                                                "x1": "10", "y1": "20", "x2": "90", "y2": "180"}
    # SVG's default radius 50% is half the box (WeasyPrint 70 takes 50% of the box's diagonal, 0.707)
    assert gradient_of(clean.data, "r-bm1") == {"id": "r-bm1", "xlink:href": "#r", "gradientUnits": "userSpaceOnUse",
                                                "gradientTransform": "matrix(1 0 0 0.5 0 0)", "cx": "100", "cy": "100", "r": "100"}
    assert gradient_of(clean.data, "r-bm2") == {"id": "r-bm2", "xlink:href": "#r", "gradientUnits": "userSpaceOnUse",
                                                "cx": "50", "cy": "40", "r": "30"}
    # the author's gradients are kept as they were, for what else may use them
    assert gradient_of(clean.data, "g") == {"id": "g", "x2": "1", "y2": "1"}


def test_an_existing_gradient_transform_is_composed_after_the_box() -> None:
    clean = svg.clean(picture(f'<defs><radialGradient id="g" cx="0.5" cy="0.5" r="0.5" fx="0.25" '
                              f'gradientTransform="translate(0.5 0.5) scale(2 0.5) translate(-0.5 -0.5)">{STOPS}</radialGradient>'
                              f'<linearGradient id="s" gradientTransform="rotate(90)">{STOPS}</linearGradient>'
                              f'<radialGradient id="t" r="0.5" gradientTransform="rotate(30 0.5 0.5)">{STOPS}</radialGradient></defs>'
                              '<rect x="10" y="10" width="100" height="100" fill="url(#g)"/>'
                              '<rect x="10" y="10" width="100" height="50" fill="url(#s)"/><rect width="100" height="50" fill="url(#t)"/>'))
    # user = box · transform: x = 10 + 100 (2 (u - 0.5) + 0.5) = 200 u - 40, y = 10 + 100 (0.5 (v - 0.5) + 0.5) = 50 v + 35;
    # the largest stretch (200) goes to the coordinates, the matrix keeps the rest: no axis scaled up
    assert gradient_of(clean.data, "g-bm1") == {"id": "g-bm1", "xlink:href": "#g", "gradientUnits": "userSpaceOnUse",
                                                "gradientTransform": "matrix(1 0 0 0.25 -40 35)",
                                                "cx": "100", "cy": "100", "r": "100", "fx": "50", "fy": "100"}
    # a linear gradient under any matrix is a linear gradient: along y, down the box's height; the
    # inherited rotation is undone for the new gradient, which refers to the old one (href)
    assert gradient_of(clean.data, "s-bm1") == {"id": "s-bm1", "xlink:href": "#s", "gradientUnits": "userSpaceOnUse",
                                                "gradientTransform": "matrix(1 0 0 1 0 0)", "x1": "10", "y1": "10", "x2": "10", "y2": "60"}
    # a rotation of a non-square box: ellipses turned by 30 degrees, the matrix at most 1 on any axis
    turned = gradient_of(clean.data, "t-bm1")
    matrix = [float(v) for v in re.findall(r"-?[\d.]+", turned["gradientTransform"])]
    a, b, c, d = matrix[:4]
    stretch = ((a * a + b * b + c * c + d * d + ((a * a + b * b + c * c + d * d) ** 2 - 4 * (a * d - b * c) ** 2) ** 0.5) / 2) ** 0.5
    assert stretch == pytest.approx(1, abs=1e-5) and b != 0  # turned, and not scaled up
    k = float(turned["r"]) / 0.5
    centre = (a * float(turned["cx"]) + c * float(turned["cy"]) + matrix[4], b * float(turned["cx"]) + d * float(turned["cy"]) + matrix[5])
    assert centre == pytest.approx((50, 25), abs=1e-3) and k > 50


def test_stops_and_attributes_come_through_href_as_svg_inherits_them() -> None:
    clean = svg.clean(picture(f'<defs><linearGradient id="base" spreadMethod="reflect" x2="0.5">{STOPS}</linearGradient>'
                              '<linearGradient id="tilted" xlink:href="#base" gradientTransform="scale(2 1)"/>'
                              '<linearGradient id="leaf" href="#tilted" y2="0.5"/>'
                              f'<linearGradient id="user" gradientUnits="userSpaceOnUse" x2="50">{STOPS}</linearGradient>'
                              '<linearGradient id="user-child" xlink:href="#user"/>'
                              '<linearGradient id="empty"/><linearGradient id="one"><stop stop-color="#f00"/></linearGradient>'
                              '<linearGradient id="loop1" href="#loop2"/><linearGradient id="loop2" href="#loop1"/></defs>'
                              '<rect width="100" height="100" fill="url(#leaf)"/><rect width="10" height="10" fill="url(#user-child)"/>'
                              '<rect width="10" height="20" fill="url(#empty)"/><rect width="10" height="30" fill="url(#one)"/>'
                              '<rect width="10" height="40" fill="url(#loop1)"/>'))
    # leaf: x1 0, x2 0.5 (base), y2 0.5 (its own), scale(2 1) (tilted): in user space x2 = 100, y2 = 50 … along the
    # normal of the scaled vector: w = L⁻ᵀ v = (0.5 / 200, 0.5 / 100), so (0, 0) + w |v|² / |w|² = (40, 80)
    assert gradient_of(clean.data, "leaf-bm1") == {"id": "leaf-bm1", "xlink:href": "#leaf", "gradientUnits": "userSpaceOnUse",
                                                   "gradientTransform": "matrix(1 0 0 1 0 0)", "x1": "0", "y1": "0", "x2": "40", "y2": "80"}
    out = clean.data.decode()
    assert 'fill="url(#user-child)"' in out  # userSpaceOnUse through href: nothing to do
    assert 'fill="url(#empty)"' in out and 'fill="url(#one)"' in out  # no stops, one stop: painted flat, no pattern
    assert 'fill="url(#loop1)"' in out  # a loop of hrefs has no stops either
    assert not re.search(r'id="(user-child|empty|one|loop1|base|tilted)-bm', out)


def test_under_cmyk_a_rewritten_gradient_prints_flat_and_only_the_author_s_are_counted(icc: bytes) -> None:
    clean = svg.clean(picture('<defs><linearGradient id="base"><stop offset="0" stop-color="#000"/><stop offset="1" stop-color="#fff"/>'
                              '</linearGradient><linearGradient id="g" xlink:href="#base" x2="0" y2="1"/></defs>'
                              '<rect width="100" height="50" fill="url(#g)"/><rect y="60" width="100" height="50" fill="url(#g)"/>'
                              '<circle cx="150" cy="60" r="30" stroke="url(#g)" fill="url(#base)"/>'))
    assert len(re.findall(r"<linearGradient", clean.data.decode())) == 6  # base, g, g-bm1 to g-bm3 (a box each), base-bm1
    assert svg.gradients(clean.data) == 2  # the author's two: the warning under CMYK names those
    assert svg.gradients(picture(f'<defs><linearGradient id="g-bm1">{STOPS}</linearGradient></defs>{RECT}')) == 1  # an author's own -bm id
    out = to_cmyk(clean.data, icc).decode()
    # each new gradient's stops are the base's, through two hrefs: painted at their average, 50% black
    assert out.count('fill="device-cmyk(0 0 0 0.5)"') == 3 and 'stroke="device-cmyk(0 0 0 0.5)"' in out


def test_one_new_gradient_per_distinct_box_with_ids_that_are_free_and_the_same_every_time() -> None:
    body = (f'<defs><linearGradient id="g">{STOPS}</linearGradient><linearGradient id="g-bm1">{STOPS}</linearGradient></defs>'
            '<rect width="50" height="40" fill="url(#g)" stroke="url(#g)"/>'  # fill and stroke: one box, one gradient
            '<rect width="50" height="40" fill="url(#g)" transform="translate(60 0)"/>'  # moved: its box in its own space is the same
            '<rect x="120" width="50" height="40" fill="url(#g)"/><ellipse cx="25" cy="20" rx="25" ry="20" fill="url(#g)"/>')
    clean = svg.clean(picture(body))
    out = clean.data.decode()
    paints = re.findall(r'(fill|stroke)="url\(#([^)]+)\)"', out)
    assert paints == [("fill", "g-bm2"), ("stroke", "g-bm2"), ("fill", "g-bm2"), ("fill", "g-bm3"), ("fill", "g-bm2")]
    assert out.count("<linearGradient") == 4  # g, the author's g-bm1, g-bm2 (0 0 50 40), g-bm3 (120 0 50 40)
    assert gradient_of(clean.data, "g-bm1") == {"id": "g-bm1"}  # the author's own, untouched
    assert clean == svg.clean(picture(body))


def test_the_paint_is_pointed_at_the_new_gradient_where_it_wins() -> None:
    clean = svg.clean(picture(
        f'<style>.ruled {{ fill: url(#g) }} .loud {{ stroke: url(#g) !important }} .red {{ fill: #f00 }}</style>'
        f'<defs><linearGradient id="g">{STOPS}</linearGradient></defs>'
        '<rect id="attr" width="10" height="10" fill="url(#g) #000"/>'
        '<rect id="style" width="10" height="20" fill="#00f" style="stroke:#000;fill:url(&quot;#g&quot;)"/>'
        '<rect id="rule" class="ruled" width="10" height="30" fill="#00f"/>'
        '<rect id="loud" class="loud" width="10" height="40" style="stroke:#0f0"/>'
        '<g fill="url(#g)"><rect id="inherited" width="10" height="50"/><circle id="inherit" r="5" fill="inherit"/></g>'
        '<rect id="overruled" class="red" width="10" height="60" fill="url(#g)"/>'))
    out = clean.data
    assert element(out, "//*[@id='attr']")["fill"] == "url(#g-bm1) #000"  # its fallback colour kept
    assert element(out, "//*[@id='style']")["style"] == "stroke:#000;fill:url(#g-bm2)"
    assert element(out, "//*[@id='style']")["fill"] == "#00f"
    assert element(out, "//*[@id='rule']")["style"] == "fill:url(#g-bm3)"  # the style attribute beats the rule
    assert element(out, "//*[@id='loud']")["style"] == "stroke:url(#g-bm4) !important"  # !important beats !important rule
    assert element(out, "//*[@id='inherited']")["fill"] == "url(#g-bm5)"  # each child its own box
    assert element(out, "//*[@id='inherit']")["fill"] == "url(#g-bm6)"
    assert element(out, "//s:g")["fill"] == "url(#g)"
    assert element(out, "//*[@id='overruled']") == {"id": "overruled", "class": "red", "width": "10", "height": "60", "fill": "url(#g)"}
    assert gradient_of(out, "g-bm6") == {"id": "g-bm6", "xlink:href": "#g", "gradientUnits": "userSpaceOnUse",
                                         "x1": "-5", "y1": "-5", "x2": "5", "y2": "-5"}
    assert b"g-bm7" not in out


@pytest.mark.parametrize("body, where", [
    ('<text x="5" y="20" fill="url(#g)">Sky</text>', "text"),
    ('<text x="5" y="20"><tspan fill="url(#g)">Sky</tspan></text>', "text"),
    ('<g fill="url(#g)"><text x="5" y="20">Sky</text></g>', "text"),
    ('<defs><rect id="r" width="10" height="10"/></defs><use href="#r" fill="url(#g)"/>', "use"),
    ('<rect width="2em" height="10" fill="url(#g)"/>', "rect"),  # its box depends on the font size
    ('<symbol id="s"><rect width="50%" height="10" fill="url(#g)"/></symbol><use href="#s"/>', "rect"),
    ('<path d="M 0 0 L 10 oops" fill="url(#g)"/>', "path"),
    ('<rect width="10" height="10" fill="url(#t)"/>', "rect"),  # a transform that cannot be read
])
def test_a_gradient_whose_box_cannot_be_known_is_left_with_a_note(body: str, where: str) -> None:
    gid = "t" if "url(#t)" in body else "g"
    clean = svg.clean(picture(f'<defs><linearGradient id="g" x2="0" y2="1">{STOPS}</linearGradient>'
                              f'<linearGradient id="t" gradientTransform="rotate(1turn)">{STOPS}</linearGradient></defs>{body}'))
    assert clean.removed == (f"gradient '{gid}' on <{where}> may not show in some PDF viewers",)
    assert svg.is_note(clean.removed[0])
    assert f"url(#{gid})".encode() in clean.data and b"-bm" not in clean.data


@pytest.mark.parametrize("body", [
    f'<defs><linearGradient id="u" gradientUnits="userSpaceOnUse" x2="100">{STOPS}</linearGradient></defs>'
    '<text x="5" y="20" fill="url(#u)">Sky</text><use href="#x" fill="url(#u)"/><rect id="x" width="1em" height="1" fill="url(#u)"/>',
    f'<defs><linearGradient id="g">{STOPS}</linearGradient></defs><line x1="0" y1="5" x2="100" y2="5" stroke="url(#g)"/>'
    '<rect width="0" height="10" fill="url(#g)"/>',  # no area: SVG draws such a gradient nowhere
    f'<defs><linearGradient id="g">{STOPS}</linearGradient></defs><text x="5" y="20" fill="#000">Sky</text>',
])
def test_what_needs_no_rewriting_gets_no_note(body: str) -> None:
    clean = svg.clean(picture(body))
    assert clean.removed == () and b"-bm" not in clean.data


def test_percentages_of_an_element_are_of_the_nearest_svg_viewport() -> None:
    clean = svg.clean(picture(f'<defs><linearGradient id="g" x2="0" y2="1">{STOPS}</linearGradient></defs>'
                              '<rect x="10%" width="50%" height="100%" fill="url(#g)"/>'
                              '<svg x="100" width="100" height="50" viewBox="0 0 40 20"><rect y="25%" width="100%" height="50%" fill="url(#g)"/></svg>'))
    assert clean.removed == ()
    assert gradient_of(clean.data, "g-bm1") == {"id": "g-bm1", "xlink:href": "#g", "gradientUnits": "userSpaceOnUse",
                                                "x1": "20", "y1": "0", "x2": "20", "y2": "120"}  # 200 x 120 viewBox
    assert gradient_of(clean.data, "g-bm2")["y1"] == "5" and gradient_of(clean.data, "g-bm2")["y2"] == "15"  # the inner 40 x 20


@pytest.mark.parametrize("d, box", [
    ("M20 110 C 20 -23.333 180 -23.333 180 110 Z", (20, 10, 160, 100)),  # a curve's top, not its control points'
    ("M 10 50 A 40 40 0 0 1 90 50", (10, 10, 80, 40)),  # the upper half of a circle
    ("M10,50a40,40 0 1,0 80,0", (10, 50, 80, 40)),  # its lower half, relative and packed
    ("M0 0 h10 v10 z m 20 20 l 5 5", (0, 0, 25, 25)),
    ("M 0 0 Q 50 100 100 0", (0, 0, 100, 50)),
    ("M 0 0 L 10 oops", None),
])
def test_a_path_s_box_is_exact(d: str, box: tuple[float, float, float, float] | None) -> None:
    found = svg.path_box(d)
    if box is None:
        assert found is None
    else:
        assert found is not None and (found.x, found.y, found.width, found.height) == pytest.approx(box, abs=1e-3)


def test_the_author_reads_the_note_in_the_image_s_one_warning(tiny_book: Path) -> None:
    ch = svg_book(tiny_book, picture(f'<script>x()</script><defs><linearGradient id="sky">{STOPS}</linearGradient></defs>'
                                     '<rect width="100" height="60" fill="url(#sky)"/><text x="5" y="80" fill="url(#sky)">Sky</text>'))
    reporter = Reporter()
    img = load_book(tiny_book, reporter).images[0]
    assert [str(w) for w in reporter.warnings] == [
        f"{ch}:7: warning: SVG 'images/x.svg': removed <script> (not allowed in a book's SVG); gradient 'sky' on <text> may "
        "not show in some PDF viewers (poppler-based ones such as evince draw a gradient in objectBoundingBox units as nothing: "
        "give it gradientUnits=\"userSpaceOnUse\")"]
    assert b'fill="url(#sky-bm1)"' in img.data and b'<text x="5" y="80" fill="url(#sky)">' in img.data
    assert svg.removed_message("a.svg", ("gradient 'g' on <use> may not show in some PDF viewers",)).startswith(
        "SVG 'a.svg': gradient 'g' on <use> may not show in some PDF viewers (poppler-based")
    assert svg.removed_message("a.svg", ("<script>",)) == "SVG 'a.svg': removed <script> (not allowed in a book's SVG)"


def test_a_shape_a_use_draws_keeps_what_it_inherits_there_and_clip_paths_are_left_alone() -> None:
    clean = svg.clean(picture(f'<defs><linearGradient id="g">{STOPS}</linearGradient>'
                              '<g id="reused" fill="url(#g)"><rect id="inheriting" width="10" height="10"/>'
                              '<rect id="own" width="10" height="20" fill="url(#g)"/></g>'
                              '<clipPath id="c"><rect id="clip" width="1em" height="10" fill="url(#g)"/></clipPath></defs>'
                              '<use href="#reused" fill="#f00"/><rect width="30" height="30" clip-path="url(#c)"/>'))
    # drawn by the <use>, the first rect inherits the <use>'s red there: it keeps inheriting, with a note
    assert clean.removed == ("gradient 'g' on <rect> may not show in some PDF viewers",)
    assert "fill" not in element(clean.data, "//*[@id='inheriting']")
    assert element(clean.data, "//*[@id='own']")["fill"] == "url(#g-bm1)"  # its own paint: the same in every <use>
    assert element(clean.data, "//*[@id='clip']")["fill"] == "url(#g)"  # a clip path's paint is never drawn


def test_the_new_gradient_refers_to_the_old_one_with_xlink_href_even_where_xlink_was_not_declared(tmp_path: Path) -> None:
    data = (b'<svg xmlns="http://www.w3.org/2000/svg" width="200" height="120" viewBox="0 0 200 120"><defs>'
            + f'<linearGradient id="g" x2="0" y2="1">{STOPS}</linearGradient></defs>'.encode()
            + b'<rect x="10" y="10" width="180" height="100" fill="url(#g)"/></svg>')
    clean = svg.clean(data)
    assert b'<linearGradient xmlns:xlink="http://www.w3.org/1999/xlink" id="g-bm1" xlink:href="#g" ' in clean.data
    drawn = by_poppler(clean.data, (200, 120), tmp_path)
    assert distance(colour_at(drawn, (100, 12)), STOP_COLOURS[0][1]) <= 12
    assert distance(colour_at(drawn, (100, 60)), STOP_COLOURS[1][1]) <= 12
    assert distance(colour_at(drawn, (100, 107)), STOP_COLOURS[2][1]) <= 12
