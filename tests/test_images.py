"""Pillow: measured sizes, placeholders of the right size, the pure fitting maths."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import pytest
from PIL import Image as PILImage
from PIL import ImageFile

from bookmaker.core.errors import ImageError, Reporter
from bookmaker.transform.book import load_book
from bookmaker.transform.images import fit, placeholder_pixels

from .conftest import ROOT, Built


def test_fit_keeps_aspect_and_stays_in_the_box() -> None:
    assert fit(3, 2, 4.5, 4.07) == pytest.approx((4.5, 3.0))
    w, h = fit(2, 3, 4.5, 4.07)
    assert h == pytest.approx(4.07) and w / h == pytest.approx(2 / 3)
    assert fit(4000, 1000, 4.5, 4.0) == pytest.approx((4.5, 1.125))
    with pytest.raises(ValueError):
        fit(0, 1, 1, 1)


def test_placeholder_pixels_give_300_dpi_at_the_placed_size() -> None:
    assert placeholder_pixels((3, 2), 4.5, 4.07) == (1350, 900)
    assert placeholder_pixels((2, 3), 4.5, 4.07) == (814, 1221)
    assert placeholder_pixels((4, 3), 4.5, 4.07) == (1350, 1013)


def test_sample_placeholders_have_the_expected_pixel_sizes(sample: Built) -> None:
    # 6in x 9in trim, 0.875in + 0.625in side margins: 4.5in text width. The sample's design is
    # "photo": every photograph is its chapter's plate, alone on its page, in the 7.4in text
    # height less 0.9in for its caption (6.5in); a figure in the text would be at most 55% of it.
    expected = {n: (1350, 900) for n in range(1, 29)}
    expected[5] = (1350, 1013)  # aspect 4:3
    expected[14] = expected[21] = (1300, 1950)  # aspect 2:3: 4.333in x 6.5in
    with zipfile.ZipFile(sample.epub) as z:
        for n, size in expected.items():
            with PILImage.open(io.BytesIO(z.read(f"EPUB/images/photo-{n:02d}.png"))) as img:
                assert img.size == size, n
                assert img.info["dpi"] == pytest.approx((300, 300), abs=0.1)


def test_placeholder_warns_with_the_chapter_line(tiny_book: Path) -> None:
    chapter = tiny_book / "chapters" / "01-one.md"
    chapter.write_text("---\ntitle: One\n---\n\nText.\n\n![A dog on a sofa](images/dog.jpg \"Rex.\"){aspect=\"1:1\"}\n", encoding="utf-8")
    reporter = Reporter()
    book = load_book(tiny_book, reporter)
    assert [str(w) for w in reporter.warnings] == [f"{chapter}:7: warning: image 'images/dog.jpg' not found; a placeholder marks its place"]
    img = book.images[0]
    assert img.placeholder and img.width_px == img.height_px == 1221  # square: limited by the 4.07in height


def test_real_images_are_measured(tiny_book: Path) -> None:
    (tiny_book / "images").mkdir()
    PILImage.new("RGB", (2400, 1200), (200, 30, 30)).save(tiny_book / "images" / "wide.jpg", dpi=(300, 300))
    (tiny_book / "chapters" / "01-one.md").write_text("---\ntitle: One\n---\n\n![Red](images/wide.jpg \"A red field.\")\n", encoding="utf-8")
    reporter = Reporter()
    book = load_book(tiny_book, reporter)
    assert reporter.warnings == []
    img = book.images[0]
    assert (img.width_px, img.height_px, img.media_type, img.placeholder) == (2400, 1200, "image/jpeg", False)
    assert (img.placed_width_in, img.placed_height_in) == (4.5, 2.25)
    html = book.chapters[0].blocks
    assert html and img.effective_dpi == pytest.approx(533.3, abs=0.1)


@pytest.mark.parametrize("src", ["../secret.jpg", "/etc/passwd", "https://example.com/a.jpg"])
def test_images_outside_the_book_are_refused(tiny_book: Path, src: str) -> None:
    (tiny_book / "chapters" / "01-one.md").write_text(f"---\ntitle: One\n---\n\n![x]({src})\n", encoding="utf-8")
    with pytest.raises(ImageError) as err:
        load_book(tiny_book, Reporter())
    assert err.value.diagnostics[0].location.line == 5


def test_file_urls_never_become_images(tiny_book: Path) -> None:
    # markdown-it's link validation drops file: URLs; nothing is read from outside the book
    (tiny_book / "chapters" / "01-one.md").write_text("---\ntitle: One\n---\n\n![x](file:///etc/passwd)\n", encoding="utf-8")
    book = load_book(tiny_book, Reporter())
    assert book.images == ()
    assert "<img" not in book.chapters[0].blocks[0].html  # type: ignore[union-attr]


def _png(mode: str, **save: object) -> bytes:
    image = PILImage.new("RGB", (37, 23))
    image.putdata([((x * 7) % 256, (y * 11) % 256, (x * y) % 256) for y in range(23) for x in range(37)])
    if mode == "I;16":
        image = image.convert("L").convert("I;16")
    else:
        image = image.convert(mode)
    out = io.BytesIO()
    image.save(out, format="PNG", **save)
    return out.getvalue()


@pytest.mark.parametrize(("mode", "save", "passed"), [
    ("L", {}, True),
    ("RGB", {}, True),
    ("P", {}, False),
    ("RGBA", {}, False),
    ("I;16", {}, False),
    ("1", {}, False),
])
def test_png_data_reaches_the_pdf_unchanged(mode: str, save: dict[str, object], passed: bool) -> None:
    """WeasyPrint copies our 8-bit PNGs' IDAT data instead of decoding and compressing it again;
    the PDF's pixels are the PNG's pixels either way."""
    import base64

    from pypdf import PdfReader
    from weasyprint import HTML

    from bookmaker.backends.pdf import png_passthrough, wp_internals

    data = _png(mode, **save)
    source = PILImage.open(io.BytesIO(data))
    stream = png_passthrough.idat_stream(PILImage.open(io.BytesIO(data)))
    assert (stream is not None) == passed
    if stream is not None:
        assert stream in data  # one IDAT chunk here: the file's own bytes
    if source.mode.startswith("I"):
        return  # WeasyPrint cannot write 16-bit images at all; images/normalise.py makes them 8-bit first
    html = f'<img src="data:image/png;base64,{base64.b64encode(data).decode()}" style="width:37px">'
    with wp_internals.patched():
        pdf = HTML(string=html).write_pdf()
    (image,) = PdfReader(io.BytesIO(pdf)).pages[0].images
    expected = source.convert("RGB" if source.mode in ("RGB", "RGBA", "P") else "L")
    assert image.image.convert(expected.mode).tobytes() == expected.tobytes()


# --- truncated and damaged images, whatever Pillow's process-wide switch says -------------------
# WeasyPrint sets PIL.ImageFile.LOAD_TRUNCATED_IMAGES for the whole process when it is imported;
# with it on, Pillow's own loader fills in a cut-off image and hides decoder errors. bookmaker
# must still refuse such images, and without touching the switch: the preview server decodes on
# several threads while another lays out with WeasyPrint (transform/decode.py).

SWITCH = pytest.mark.parametrize("switch", [True, False], ids=["switch-on", "switch-off"])


def _noise(fmt: str, **save: object) -> bytes:
    """300 x 200 of noise: incompressible, so every cut lands inside the pixel data."""
    out = io.BytesIO()
    image = PILImage.effect_noise((300, 200), 64).convert("RGB")
    (image.convert("P") if fmt == "GIF" else image).save(out, format=fmt, **save)
    return out.getvalue()


def _chapter_with_images(book: Path, images: dict[str, bytes]) -> Path:
    """One image per paragraph, the first on line 5, the next on 7, 9…"""
    (book / "images").mkdir(exist_ok=True)
    for name, data in images.items():
        (book / name).write_bytes(data)
    chapter = book / "chapters" / "01-one.md"
    body = "\n\n".join(f"![Picture {n}]({name})" for n, name in enumerate(images, 1))
    chapter.write_text(f"---\ntitle: One\n---\n\n{body}\n", encoding="utf-8")
    return chapter


def _image_errors(book: Path) -> list[tuple[Path, int | None, str]]:
    with pytest.raises(ImageError) as err:
        load_book(book, Reporter())
    return [(d.location.path, d.location.line, d.message) for d in err.value.diagnostics]


@SWITCH
@pytest.mark.parametrize(("suffix", "fmt", "save"), [
    ("jpg", "JPEG", {}),
    ("jpg", "JPEG", {"progressive": True}),
    ("png", "PNG", {}),
    ("gif", "GIF", {}),
    ("webp", "WEBP", {}),
    ("webp", "WEBP", {"lossless": True}),
    ("tif", "TIFF", {}),
    ("bmp", "BMP", {}),
], ids=["jpeg", "jpeg-progressive", "png", "gif", "webp", "webp-lossless", "tiff", "bmp"])
def test_truncated_images_are_errors_whatever_pillows_switch_says(
    tiny_book: Path, monkeypatch: pytest.MonkeyPatch, switch: bool, suffix: str, fmt: str, save: dict[str, object],
) -> None:
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", switch)  # as importing WeasyPrint does; put back after
    data = _noise(fmt, **save)
    _chapter_with_images(tiny_book, {f"images/whole.{suffix}": data})
    (image,) = load_book(tiny_book, Reporter()).images
    assert (image.width_px, image.height_px, image.placeholder) == (300, 200, False)
    cuts = {f"images/whole.{suffix}": data, f"images/half.{suffix}": data[:len(data) // 2], f"images/most.{suffix}": data[:-40]}
    chapter = _chapter_with_images(tiny_book, cuts)
    assert _image_errors(tiny_book) == [
        (chapter, 7, f"image 'images/half.{suffix}' cannot be read: it is truncated or damaged"),
        (chapter, 9, f"image 'images/most.{suffix}' cannot be read: it is truncated or damaged"),
    ]
    assert ImageFile.LOAD_TRUNCATED_IMAGES is switch  # left as it was found


def _gif_with_a_bad_code() -> bytes:
    """A 2 x 2 GIF whose LZW data is a clear code and then a code not yet defined: damaged, not short."""
    header = b"GIF89a" + struct.pack("<HHBBB", 2, 2, 0x80, 0, 0) + b"\0\0\0\xff\xff\xff"
    descriptor = b"\x2c" + struct.pack("<HHHHB", 0, 0, 2, 2, 0)
    return header + descriptor + b"\x02" + b"\x01\x3c" + b"\x00" + b"\x3b"  # codes 4 (clear), 7; 3 bits each


def _png_with_a_bad_text_checksum() -> bytes:
    """A whole PNG whose tEXt chunk, before the pixels, fails its CRC; one Pillow skips with the switch on."""
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Comment", "a note")
    out = io.BytesIO()
    PILImage.new("RGB", (30, 20), (5, 5, 5)).save(out, format="PNG", pnginfo=info)
    data = bytearray(out.getvalue())
    data[data.index(b"a note")] ^= 0x20  # the text changes, the CRC stays
    return bytes(data)


@SWITCH
def test_damaged_images_are_errors_whatever_pillows_switch_says(tiny_book: Path, monkeypatch: pytest.MonkeyPatch, switch: bool) -> None:
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", switch)
    chapter = _chapter_with_images(tiny_book, {"images/bad-code.gif": _gif_with_a_bad_code(), "images/bad-crc.png": _png_with_a_bad_text_checksum()})
    assert _image_errors(tiny_book) == [
        (chapter, 5, "image 'images/bad-code.gif' cannot be read: broken data stream when reading image file"),
        (chapter, 7, "image 'images/bad-crc.png' cannot be read: broken PNG file (bad header checksum in b'tEXt')"),
    ]


def test_bookmaker_never_reads_or_writes_pillows_truncated_images_switch() -> None:
    """A process-global switch flipped around a decode races other threads' decodes (see above)."""
    src = ROOT / "src" / "bookmaker"
    found = [f"{path.relative_to(src)}:{n}" for path in sorted(src.rglob("*.py"))
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if "LOAD_TRUNCATED_IMAGES" in line]
    assert found == []
