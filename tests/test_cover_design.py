"""The EPUB cover and the print front cover come from one design (issue 14): the cover wrap's
template (layouts/_cover_front.j2 and its CSS) with its front alone, drawn 1600 x 2560 for the EPUB
(backends/pdf/cover_image.py); deterministic, kept in the build cache, and a book's own `cover`
image still wins."""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from bookmaker.backends.pdf import cover_image as cover_module
from bookmaker.backends.pdf.cover import print_cover
from bookmaker.core.context import BuildContext, build_timestamp
from bookmaker.core.errors import Reporter
from bookmaker.pipeline import build
from bookmaker.transform.book import load_book

from .conftest import EPOCH, ROOT

GROUND, ACCENT, TITLE = (28, 36, 48), (196, 164, 98), (245, 240, 228)
RED = (200, 30, 30)
BOOK_TOML = '''title = "One Design"
subtitle = "Both Covers From One Template"
authors = ["A. Writer", "B. Writer"]
language = "en"
date = 2026-01-02
page_list = "none"
{extra}
[print]
trim = "6in x 9in"
profile = "kdp"
'''


def tiny(root: Path, extra: str = "") -> Path:
    (root / "chapters").mkdir(parents=True)
    (root / "book.toml").write_text(BOOK_TOML.format(extra=extra), encoding="utf-8")
    (root / "chapters" / "01-one.md").write_text("---\ntitle: One\n---\n\nThe text.\n", encoding="utf-8")
    return root


def epub_of(root: Path, out: Path) -> Path:
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    try:
        (output,) = build(root, out, formats=("epub",), reporter=Reporter())
    finally:
        del os.environ["SOURCE_DATE_EPOCH"]
    return output.path


def cover_of(epub: Path) -> tuple[str, bytes]:
    """The EPUB's cover image: its name and bytes, found by its `cover-image` property."""
    from lxml import etree

    with zipfile.ZipFile(epub) as z:
        opf = etree.fromstring(z.read("EPUB/content.opf"))
        (item,) = opf.xpath("//opf:item[contains(@properties, 'cover-image')]", namespaces={"opf": "http://www.idpf.org/2007/opf"})
        return item.get("href"), z.read("EPUB/" + item.get("href"))


def print_front(root: Path, dpi: int = 100) -> Image.Image:
    """The print cover wrap's front panel (trimmed), drawn by pypdfium2 at `dpi`."""
    import pypdfium2 as pdfium

    reporter = Reporter()
    cover = print_cover(BuildContext(load_book(root, reporter), build_timestamp(), reporter), 100)
    pdf = pdfium.PdfDocument(cover.data)
    try:
        sheet = pdf[0].render(scale=dpi / 72).to_pil().convert("RGB")
    finally:
        pdf.close()
    g = cover.geometry
    return sheet.crop(tuple(round(v * dpi) for v in (g.spine_x1, g.bleed, g.sheet_width - g.bleed, g.sheet_height - g.bleed)))


def share(image: Image.Image, colour: tuple[int, int, int]) -> tuple[float, float, float, float] | None:
    """The box of the pixels of exactly `colour`, as shares of the image's width and height."""
    from PIL import ImageChops

    r, g, b = ImageChops.difference(image, Image.new("RGB", image.size, colour)).split()
    box = ImageChops.lighter(ImageChops.lighter(r, g), b).point(lambda v: 255 if v == 0 else 0).getbbox()
    return None if box is None else (box[0] / image.width, box[1] / image.height, box[2] / image.width, box[3] / image.height)


def own_layouts(root: Path, edit: Callable[[str], str]) -> None:
    """A copy of the built-in `_cover_front.css.j2`, edited, as the book's own layouts."""
    (root / "layouts").mkdir()
    css = (ROOT / "layouts" / "_cover_front.css.j2").read_text(encoding="utf-8")
    (root / "layouts" / "_cover_front.css.j2").write_text(edit(css), encoding="utf-8")
    text = (root / "book.toml").read_text(encoding="utf-8")
    (root / "book.toml").write_text('layouts = "layouts"\n' + text, encoding="utf-8")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("design")
    return epub_of(tiny(base / "book"), base / "out")


def test_the_epub_cover_is_the_template_front_at_1600_by_2560(built: Path) -> None:
    href, data = cover_of(built)
    image = Image.open(io.BytesIO(data))
    assert href == "images/cover.png" and image.format == "PNG"
    assert image.size == (1600, 2560) and image.mode == "RGB"
    rgb = image.convert("RGB")
    assert rgb.getpixel((20, 20)) == GROUND and rgb.getpixel((800, 1800)) == GROUND  # the RGB palette's ground
    assert rgb.getpixel((82, 1280)) == ACCENT  # the frame, 5% in from the side
    frame = share(rgb, ACCENT)
    assert frame == pytest.approx((0.05, 0.032, 0.95, 0.968), abs=0.004)
    title = share(rgb, TITLE)  # title and authors
    assert title is not None and 0.155 < title[1] < 0.18 and title[3] > 0.8


def test_text_is_sharp_not_scaled_up(built: Path) -> None:
    """Drawn at 320 dpi, not a small picture enlarged: a glyph's edge goes from ground to ink in a few pixels."""
    image = Image.open(io.BytesIO(cover_of(built)[1])).convert("RGB")
    assert sharp(image)
    assert not sharp(image.resize((400, 640), Image.Resampling.LANCZOS).resize(image.size, Image.Resampling.BICUBIC))


def sharp(rgb: Image.Image) -> bool:
    """Whether the edges met along a row through the title's first line (the row that meets most)
    reach the ink within five pixels."""
    top = next(y for y in range(300, 1200) if TITLE in (rgb.getpixel((x, y)) for x in range(200, 1400)))

    def edges(y: int) -> tuple[list[int], list[tuple[int, int, int]]]:
        pixels = [rgb.getpixel((x, y)) for x in range(200, 1400)]
        return [i for i in range(1, len(pixels)) if pixels[i - 1] == GROUND and pixels[i] != GROUND], pixels

    ramps, pixels = max((edges(y) for y in range(top + 10, top + 70, 6)), key=lambda e: len(e[0]))
    return len(ramps) >= 5 and all(TITLE in pixels[start:start + 5] for start in ramps)


def test_epub_and_print_fronts_read_the_same(built: Path) -> None:
    """The 6in x 9in print front and the 5in x 8in EPUB cover: frame, title, rule and authors at
    the same shares of their box, the type the same share of the width."""
    root = built.parent.parent / "book"
    epub = Image.open(io.BytesIO(cover_of(built)[1])).convert("RGB")
    front = print_front(root)
    for colour in (ACCENT, TITLE):
        e, p = share(epub, colour), share(front, colour)
        assert e is not None and p is not None
        assert e[0] == pytest.approx(p[0], abs=0.01) and e[2] == pytest.approx(p[2], abs=0.01), colour
        assert e[1] == pytest.approx(p[1], abs=0.01), colour  # the frame's top; the title's top (16% down)


def test_a_book_s_own_template_changes_both_covers(tmp_path: Path) -> None:
    root = tiny(tmp_path / "book")
    own_layouts(root, lambda css: css.replace("color: {{ colour.title }}; hyphens", f"color: rgb{RED}; hyphens")
                .replace("border-top: 0.102em solid {{ colour.accent }}", f"border-top: 0.5em solid rgb{RED}"))
    epub = Image.open(io.BytesIO(cover_of(epub_of(root, tmp_path / "out"))[1])).convert("RGB")
    front = print_front(root)
    for image in (epub, front):
        red = share(image, RED)
        assert red is not None and red[1] == pytest.approx(0.16, abs=0.02)  # the title, now red
        assert share(image, TITLE) is not None  # the authors keep the palette's colour
    plain = Image.open(io.BytesIO(cover_of(epub_of(tiny(tmp_path / "plain"), tmp_path / "plain-out"))[1])).convert("RGB")
    assert share(plain, RED) is None


def test_same_manuscript_same_bytes(built: Path, tmp_path: Path) -> None:
    root = built.parent.parent / "book"
    again = epub_of(root, tmp_path / "again")  # a fresh output folder: drawn again, not from the cache
    assert again.read_bytes() == built.read_bytes()


def test_a_rebuild_takes_the_cover_from_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tiny(tmp_path / "book")
    calls: list[str] = []
    draw = cover_module.draw

    def counted(*args: object, **kwargs: object) -> bytes:
        calls.append("draw")
        return draw(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(cover_module, "draw", counted)
    first = epub_of(root, tmp_path / "out").read_bytes()
    assert calls == ["draw"]
    assert len(list((tmp_path / "out" / ".bookmaker-cache" / "covers").glob("*.bin"))) == 1
    assert epub_of(root, tmp_path / "out").read_bytes() == first
    assert calls == ["draw"]  # not laid out again
    text = (root / "book.toml").read_text(encoding="utf-8")
    (root / "book.toml").write_text(text.replace('title = "One Design"', 'title = "Another Design"'), encoding="utf-8")
    epub_of(root, tmp_path / "out")
    assert calls == ["draw", "draw"]  # keyed by content: a new title is drawn
    assert len(list((tmp_path / "out" / ".bookmaker-cache" / "covers").glob("*.bin"))) == 1  # the old entry pruned


def test_a_book_s_own_cover_image_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tiny(tmp_path / "book", extra='cover = "images/cover.png"')
    (root / "images").mkdir()
    Image.new("RGB", (1000, 1600), (10, 120, 60)).save(root / "images" / "cover.png")
    monkeypatch.setattr(cover_module, "draw", lambda *a, **k: pytest.fail("the book's own cover is not drawn"))
    href, data = cover_of(epub_of(root, tmp_path / "out"))
    image = Image.open(io.BytesIO(data)).convert("RGB")
    assert href == "images/cover.png" and image.size == (1000, 1600) and image.getpixel((500, 800)) == (10, 120, 60)


def test_the_epub_cover_stays_rgb_under_a_cmyk_printer(tmp_path: Path) -> None:
    root = tiny(tmp_path / "book")
    toml = root / "book.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('profile = "kdp"', 'profile = "ingramspark"'), encoding="utf-8")
    image = Image.open(io.BytesIO(cover_of(epub_of(root, tmp_path / "out"))[1]))
    assert image.mode == "RGB" and image.getpixel((20, 20)) == GROUND and image.getpixel((82, 1280)) == ACCENT
