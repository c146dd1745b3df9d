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

import pytest
from PIL import Image as PILImage
from pypdf import PdfWriter

from bookmaker import svg
from bookmaker.buildcache import BuildCache
from bookmaker.config import load_config
from bookmaker.errors import ImageError, Reporter
from bookmaker.images import to_cmyk
from bookmaker.layout import cmyk_profile
from bookmaker.pipeline import load_book
from bookmaker.preflight import RuleResult, preflight
from bookmaker.preflight import _PageContent as PageContent  # the page boxes preflight reads (our own module)
from bookmaker.profiles import PROFILES
from bookmaker.validate import Report, ValidatorMissing, run_epubcheck

from .conftest import SAMPLE, Built, build_book, need, which

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
    both = svg.clean(svg_doc(f'<a href="#c" xlink:href="http://evil.example/"><rect id="c" width="1" height="1"/></a>'))
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
    for kept in ('fill="url(#g)"', 'xlink:href="#arrow"', "stroke:#000;stroke-width:2", "<text", "data:image/png;base64,",
                 'transform="translate(2,2)"', "<linearGradient"):
        assert kept in out
    for gone in ("inkscape", "sodipodi", "rdf", "<!--", "DOCTYPE", "metadata"):
        assert gone not in out


def test_a_doctype_that_points_at_a_file_is_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.dtd"
    secret.write_text('<!ENTITY leak "TOP-SECRET">', encoding="utf-8")
    clean = svg.clean(svg_doc(f'<text x="1" y="5">hello</text>', head=f'<!DOCTYPE svg SYSTEM "{secret.as_uri()}">'))
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
        return run_epubcheck(builds.rgb.epub)
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
    from pypdf import PdfReader

    pdf = builds.rgb.pdf
    n = _page_with(pdf, "The flow.")
    assert _image_xobjects(pdf) == []  # no raster anywhere: the SVGs are drawn, not embedded as pictures
    content = PdfReader(pdf).pages[n].get_contents().get_data().decode("latin-1")
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
    from pypdf import PdfReader

    pdf = builds.cmyk.pdf  # build_book would have raised PreflightError had a rule failed
    content = PdfReader(pdf).pages[_page_with(pdf, "The flow.")].get_contents().get_data().decode("latin-1")
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
    """The build path (layout_from_document) gives an SVG's box 0 x 0 pixels: no dpi, still a box."""
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
