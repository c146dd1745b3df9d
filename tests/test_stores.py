"""Ebook stores (issue 15): screen-sized EPUB images beside a full-resolution PDF, the stores'
rules applied by the build and checked, both ways, on the EPUB by `bookmaker check`."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from bookmaker.checks.stores import check_stores, read_package
from bookmaker.core.errors import ConfigError, PreflightError, Reporter
from bookmaker.core.stores import cover_pixels, screen_bound
from bookmaker.pipeline import build
from bookmaker.source.config import load_config

from .conftest import EPOCH, SAMPLE

GPS = 0x8825


def photograph(size: tuple[int, int], seed: int = 0) -> Image.Image:
    """A picture with a photograph's millions of colours: noise over colour gradients."""
    w, h = size
    red = Image.linear_gradient("L").resize(size)
    green = Image.linear_gradient("L").rotate(90).resize(size)
    noise = Image.effect_noise(size, 40 + seed)
    return Image.merge("RGB", (red, green, noise))


def sample_copy(root: Path, stores: str | None = '["apple", "kdp"]') -> Path:
    shutil.copytree(SAMPLE, root)
    if stores is not None:
        with (root / "book.toml").open("a", encoding="utf-8") as f:
            f.write(f"\n[ebook]\nstore = {stores}\n")
    return root


def built(root: Path, out: Path, formats: tuple[str, ...] = ("all",)) -> dict[str, Path]:
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    try:
        return {o.format: o.path for o in build(root, out, formats=formats, reporter=Reporter())}
    finally:
        del os.environ["SOURCE_DATE_EPOCH"]


@pytest.fixture(scope="module")
def photo_book(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sample for Apple and KDP with real art for three entries: a 6000 x 4000 camera JPEG
    (with EXIF and a GPS position), a photograph saved as PNG, and a drawing with transparency."""
    root = sample_copy(tmp_path_factory.mktemp("stores") / "book")
    (root / "images").mkdir(exist_ok=True)
    exif = Image.Exif()
    exif[0x010F] = "Camera maker"
    exif.get_ifd(GPS)[2] = (48.0, 51.0, 24.0)  # latitude
    photograph((6000, 4000)).save(root / "images" / "photo-01.jpg", format="JPEG", quality=92, exif=exif, dpi=(300, 300))
    photograph((3000, 2000), 1).save(root / "images" / "photo-02.jpg", format="PNG")  # a PNG under a .jpg name
    drawing = Image.new("RGBA", (1500, 1000), (0, 0, 0, 0))
    drawing.paste((200, 30, 30, 255), (100, 100, 1400, 900))
    drawing.save(root / "images" / "photo-03.jpg", format="PNG")
    return built(root, root.parent / "out")


def epub_images(epub: Path) -> dict[str, tuple[str, bytes]]:
    with zipfile.ZipFile(epub) as z:
        package = read_package(epub.read_bytes())
        return {i.href: (i.media_type, z.read(i.href)) for i in package.images()}


def test_a_6000_by_4000_photo_is_screen_sized_in_the_epub_and_full_size_in_the_pdf(photo_book: dict[str, Path]) -> None:
    images = epub_images(photo_book["epub"])
    assert images, "no images in the EPUB"
    for href, (media_type, data) in images.items():
        if media_type == "image/svg+xml":
            continue
        with Image.open(io.BytesIO(data)) as img:
            assert img.width * img.height <= 4_000_000 and max(img.size) <= 2560, (href, img.size)
    media_type, data = images["EPUB/images/photo-01.jpg"]
    with Image.open(io.BytesIO(data)) as img:
        assert media_type == "image/jpeg" and img.format == "JPEG"
        assert img.size == screen_bound(("apple", "kdp")).scaled(6000, 4000) == (2449, 1632)
        assert not img.getexif() and "exif" not in img.info  # the camera's metadata, GPS included, dropped
    from pypdf import PdfReader

    sizes = {(int(x["/Width"]), int(x["/Height"])) for page in PdfReader(photo_book["pdf"]).pages
             for x in (page["/Resources"].get("/XObject") or {}).values() if x.get_object().get("/Subtype") == "/Image"
             for x in [x.get_object()]}
    assert (6000, 4000) in sizes  # print keeps the photograph's every pixel (and the build passed kdp's preflight)
    assert photo_book["epub"].stat().st_size < 8_000_000, photo_book["epub"].stat().st_size


def test_formats_are_chosen_by_content(photo_book: dict[str, Path]) -> None:
    images = epub_images(photo_book["epub"])
    assert images["EPUB/images/photo-02.jpg"][0] == "image/jpeg"  # a photograph saved as PNG travels as JPEG
    media_type, data = images["EPUB/images/photo-03.png"]  # transparency keeps PNG
    assert media_type == "image/png" and Image.open(io.BytesIO(data)).mode == "RGBA"
    assert images["EPUB/images/photo-04.png"][0] == "image/png"  # a placeholder: few colours, PNG
    with zipfile.ZipFile(photo_book["epub"]) as z:
        pages = "".join(z.read(n).decode() for n in z.namelist() if n.endswith(".xhtml"))
    assert 'src="images/photo-03.png"' in pages and 'src="images/photo-02.jpg"' in pages


def test_the_typographic_cover_is_within_apple_s_pixel_bound_at_kdp_s_ratio(photo_book: dict[str, Path]) -> None:
    package = read_package(photo_book["epub"].read_bytes())
    assert package.cover is not None and package.cover.pixels == cover_pixels(("apple", "kdp")) == (1581, 2529)
    assert cover_pixels(("generic",)) == cover_pixels(("kdp",)) == (1600, 2560)


def test_the_built_epub_passes_its_stores_and_epubcheck(photo_book: dict[str, Path]) -> None:
    config = load_config(photo_book["epub"].parent.parent / "book")
    report = check_stores(photo_book["epub"].read_bytes(), config)
    assert report.passed, report.results
    assert {r.rule.split(":")[0] for r in report.results} == {"apple", "kdp"}
    from bookmaker.checks.validate import ValidatorMissing, resident_epubcheck

    from .conftest import need

    try:
        epubcheck = resident_epubcheck().check(photo_book["epub"])
    except ValidatorMissing as exc:
        need(str(exc))
        return
    assert epubcheck.clean, epubcheck.findings


def test_a_rebuild_takes_the_derivatives_from_the_cache_and_gives_the_same_bytes(photo_book: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    from bookmaker.transform.images import screen

    def refuse(*args: object) -> bytes:
        raise AssertionError("a derivative made again")

    root, out = photo_book["epub"].parent.parent / "book", photo_book["epub"].parent
    before = photo_book["epub"].read_bytes()
    monkeypatch.setattr(screen, "for_screen", refuse)
    again = built(root, out, ("epub",))
    assert again["epub"].read_bytes() == before


def _swap(epub: Path, out: Path, href: str, data: bytes, media_type: str | None = None) -> Path:
    """A copy of `epub` with the file `href` replaced by `data` (and its manifest media type)."""
    with zipfile.ZipFile(epub) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = data if info.filename == href else src.read(info.filename)
            if media_type and info.filename.endswith(".opf"):
                name = href.split("/", 1)[1]
                body = re.sub(rf'(href="{re.escape(name)}"[^>]*media-type=")[^"]+"', rf'\g<1>{media_type}"', body.decode()).encode()
            dst.writestr(info, body, compress_type=zipfile.ZIP_STORED if info.filename == "mimetype" else zipfile.ZIP_DEFLATED)
    return out


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src"), "SOURCE_DATE_EPOCH": EPOCH}
    return subprocess.run([sys.executable, "-m", "bookmaker", *args], check=False, capture_output=True, text=True, env=env, timeout=300)


def test_check_fails_an_epub_that_breaks_a_store_s_rules_and_names_them(photo_book: dict[str, Path], tmp_path: Path) -> None:
    root = photo_book["epub"].parent.parent / "book"
    big = io.BytesIO()
    photograph((2600, 2000), 2).save(big, format="PNG")  # 5.2 megapixels, over 5 MB as PNG
    bad = _swap(photo_book["epub"], tmp_path / "bad.epub", "EPUB/images/photo-03.png", big.getvalue())
    proc = run_cli("check", str(root), "--pdf", str(photo_book["pdf"]), "--cover", str(photo_book["cover"]),
                   "--epub", str(bad), "--no-epubcheck", "--json")
    assert proc.returncode == PreflightError.exit_code, proc.stdout + proc.stderr
    lines = proc.stderr.splitlines()
    assert any(line.startswith(f"{bad}: error: preflight (ebook stores apple+kdp): apple: images at most 4 megapixels: 1 over: "
                               "EPUB/images/photo-03.png 2600 x 2000") for line in lines), proc.stderr
    assert any(f"{bad}: error: preflight (ebook stores apple+kdp): kdp: images at most 5 MB: EPUB/images/photo-03.png" in line
               for line in lines), proc.stderr
    good = run_cli("check", str(root), "--pdf", str(photo_book["pdf"]), "--cover", str(photo_book["cover"]),
                   "--epub", str(photo_book["epub"]), "--no-epubcheck", "--json")
    assert good.returncode == 0, good.stdout + good.stderr
    assert '"stores"' in good.stdout and '"apple: images at most 4 megapixels"' in good.stdout


def test_formats_and_covers_a_store_does_not_take(photo_book: dict[str, Path], tmp_path: Path) -> None:
    config = load_config(photo_book["epub"].parent.parent / "book")
    webp = io.BytesIO()
    photograph((400, 300)).save(webp, format="WEBP")
    bad = _swap(photo_book["epub"], tmp_path / "webp.epub", "EPUB/images/photo-02.jpg", webp.getvalue(), "image/webp")
    failed = {r.rule for r in check_stores(bad.read_bytes(), config).results if not r.passed}
    assert failed == {"apple: image formats", "kdp: image formats"}
    generic = load_config(sample_copy(tmp_path / "generic", stores=None))
    assert check_stores(bad.read_bytes(), generic).passed  # EPUB 3.3 takes WebP
    small = io.BytesIO()
    Image.new("RGB", (500, 800), "navy").save(small, format="PNG")
    tiny_cover = _swap(photo_book["epub"], tmp_path / "cover.epub", "EPUB/images/cover.png", small.getvalue())
    failed = {r.rule for r in check_stores(tiny_cover.read_bytes(), config).results if not r.passed}
    assert failed == {"kdp: cover image 625 x 1000 to 10000 x 10000 pixels"}


def test_a_build_refuses_an_epub_its_stores_refuse_and_still_writes_the_pdf(tmp_path: Path) -> None:
    """A book's own chapter template with a script: KDP takes no JavaScript."""
    root = sample_copy(tmp_path / "book", '"kdp"')
    (root / "layouts").mkdir()
    template = (Path(__file__).resolve().parents[1] / "layouts" / "chapter.xhtml.j2").read_text(encoding="utf-8")
    assert '{% include "_chapter.j2" %}' in template
    scripted = template.replace('{% include "_chapter.j2" %}', '{% include "_chapter.j2" %}\n<script>void 0;</script>', 1)
    (root / "layouts" / "chapter.xhtml.j2").write_text(scripted, encoding="utf-8")
    text = (root / "book.toml").read_text(encoding="utf-8")
    (root / "book.toml").write_text('layouts = "layouts"\n' + text, encoding="utf-8")
    with pytest.raises(PreflightError) as caught:
        built(root, tmp_path / "out", ("epub", "pdf"))
    messages = [str(d) for d in caught.value.diagnostics]
    assert any("kdp: no JavaScript: scripted content" in m for m in messages), messages
    assert list((tmp_path / "out").glob("*.pdf")) and not list((tmp_path / "out").glob("*.epub"))


@pytest.mark.parametrize(("value", "message"), [('"nook"', "expected one of 'generic', 'kdp', 'apple', 'kobo', got 'nook'"),
                                                 ('["kdp", "kdp"]', "a store is named twice"), ("[]", "or a list of them")])
def test_a_bad_store_is_a_located_error(tmp_path: Path, value: str, message: str) -> None:
    root = sample_copy(tmp_path / "book", value)
    with pytest.raises(ConfigError) as caught:
        load_config(root)
    (d,) = caught.value.diagnostics
    line = next(i for i, t in enumerate((root / "book.toml").read_text().splitlines(), 1) if t.startswith("store ="))
    assert d.location.line == line and "'ebook.store'" in d.message and message in d.message, d.message
