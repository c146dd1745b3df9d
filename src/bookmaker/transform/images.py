"""Pillow: probe real images, draw placeholders for missing ones, compute placed sizes.

``fit()`` and ``placeholder_pixels()`` are pure; the rest is thin I/O around Pillow. SVG takes
the same path (`normalise`, the build cache), cleaned by svg.py instead of decoded by Pillow: its
size is its CSS pixel size (96 per inch), and both back ends draw it as vectors.
"""

from __future__ import annotations

import io
import math
import textwrap
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Callable, Iterable

from PIL import Image as PILImage
from PIL import ImageDraw, ImageFont

from ..core.errors import Diagnostic, ImageError, Reporter, SourceLocation
from ..core.model import BookConfig, Image, ImageRef

SVG_MEDIA_TYPE = "image/svg+xml"  # svg.MEDIA_TYPE; svg.py (32 ms to import) is loaded only for an SVG


def _maybe_svg(data: bytes) -> bool:
    """Text that may be SVG (svg.looks_like_svg decides): a PNG, JPEG, GIF or WebP never starts with '<'."""
    head = data[:4].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not (head.startswith(b"<") or data[:2] in (b"\xff\xfe", b"\xfe\xff") or data[:1].isspace() or data[:3] == b"\xef\xbb\xbf"):
        return False
    from .svg import looks_like_svg

    return looks_like_svg(data)

from ..cache.keys import code_key

if TYPE_CHECKING:
    from ..cache.build import BuildCache

PRINT_DPI = 300
DEFAULT_ASPECT = (3, 2)
COVER_SIZE = (1600, 2560)  # the 1:1.6 ebook cover most stores ask for
_MEDIA_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}
_SUFFIX = {"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "image/webp": ".webp", SVG_MEDIA_TYPE: ".svg"}
_UNKNOWN = "not an image Pillow knows (JPEG, PNG, GIF, WebP, TIFF, BMP) and not SVG"


def fit(width: float, height: float, box_width: float, box_height: float) -> tuple[float, float]:
    """Scale (width, height) to the largest size with the same aspect ratio inside the box."""
    if width <= 0 or height <= 0:
        raise ValueError("image sides must be positive")
    scale = min(box_width / width, box_height / height)
    return width * scale, height * scale


def placeholder_pixels(aspect: tuple[int, int], box_width: float, box_height: float, dpi: int = PRINT_DPI) -> tuple[int, int]:
    """Pixels a placeholder needs to print at `dpi` where the layout places it."""
    w_in, h_in = fit(aspect[0], aspect[1], box_width, box_height)
    return math.ceil(round(w_in * dpi, 6)), math.ceil(round(h_in * dpi, 6))


def figure_box(config: BookConfig) -> tuple[float, float]:
    """The largest area, in inches, the print layout gives a figure."""
    p = config.print
    return p.text_width, p.text_height * p.figure_max_height


def _font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    from ..core.resources import builtin_layouts_dir as layouts_dir

    name = "CharisSIL-Bold.ttf" if bold else "CharisSIL-Regular.ttf"
    return ImageFont.truetype(str(layouts_dir() / "fonts" / name), size)


def _png(img: PILImage.Image, dpi: int) -> bytes:
    out = io.BytesIO()
    img.save(out, format="PNG", compress_level=6, dpi=(dpi, dpi))  # optimize=True costs 5x the time for ~30% size
    return out.getvalue()


def _draw_lines(draw: ImageDraw.ImageDraw, lines: list[tuple[str, ImageFont.FreeTypeFont]], centre_x: int, top: int, fill: int | tuple[int, ...]) -> None:
    y = top
    for text, font in lines:
        box = draw.textbbox((0, 0), text, font=font)
        draw.text((centre_x - (box[2] - box[0]) // 2, y), text, font=font, fill=fill)
        y += int((box[3] - box[1]) * 1.45) if text else font.size // 2


def draw_placeholder(ref: ImageRef, size: tuple[int, int], placed: tuple[float, float], pending: bool = False) -> bytes:
    """A grey frame with the figure's label and alt text, so a proofreader sees what goes there."""
    w, h = size
    img = PILImage.new("L", size, 232)
    draw = ImageDraw.Draw(img)
    edge = max(3, w // 150)
    draw.rectangle((0, 0, w - 1, h - 1), outline=90, width=edge)
    draw.line((edge, edge, w - edge, h - edge), fill=205, width=max(1, edge // 2))
    draw.line((edge, h - edge, w - edge, edge), fill=205, width=max(1, edge // 2))
    unit = max(12, min(w, h) // 22)
    label_font, body_font, small_font = _font(int(unit * 1.3), bold=True), _font(unit), _font(int(unit * 0.75))
    chars = max(16, int(w * 0.8 / (unit * 0.5)))
    alt_lines = textwrap.wrap(ref.alt or "(no description)", width=chars)[:6]
    lines = [(f"{ref.label}: placeholder".strip(": "), label_font), ("", body_font)]
    lines += [(line, body_font) for line in alt_lines]
    lines += [("", body_font), (f"{w} × {h} px · {placed[0]:.2f} × {placed[1]:.2f} in at {PRINT_DPI} dpi", small_font)]
    lines += [(f"{'art to come' if pending else 'missing'}: {ref.src}", small_font)]
    heights = sum(int(f.size * 1.45) if t else f.size // 2 for t, f in lines)
    pad = unit
    box_w = min(w - 4 * edge, int(w * 0.86))
    top = max(2 * edge, (h - heights) // 2)
    draw.rectangle(((w - box_w) // 2, top - pad, (w + box_w) // 2, min(h - 2 * edge, top + heights + pad // 2)), fill=250, outline=150, width=max(1, edge // 2))
    _draw_lines(draw, lines, w // 2, top, 40)
    return _png(img, PRINT_DPI)


def draw_cover(config: BookConfig) -> bytes:
    """A typographic cover from the title and authors, for books that give no cover image."""
    w, h = COVER_SIZE
    img = PILImage.new("RGB", (w, h), (28, 36, 48))
    draw = ImageDraw.Draw(img)
    draw.rectangle((80, 80, w - 81, h - 81), outline=(196, 164, 98), width=6)
    title_font = _font(124, bold=True)
    lines = textwrap.wrap(config.title, width=16)
    y = 420
    for line in lines:
        box = draw.textbbox((0, 0), line, font=title_font)
        draw.text(((w - (box[2] - box[0])) // 2, y), line, font=title_font, fill=(245, 240, 228))
        y += 168
    if config.subtitle:
        sub_font = _font(64)
        y += 40
        for line in textwrap.wrap(config.subtitle, width=32):
            box = draw.textbbox((0, 0), line, font=sub_font)
            draw.text(((w - (box[2] - box[0])) // 2, y), line, font=sub_font, fill=(210, 200, 180))
            y += 90
    draw.line((w // 2 - 160, y + 60, w // 2 + 160, y + 60), fill=(196, 164, 98), width=5)
    author_font = _font(84)
    authors = ", ".join(config.authors)
    box = draw.textbbox((0, 0), authors, font=author_font)
    draw.text(((w - (box[2] - box[0])) // 2, h - 420), authors, font=author_font, fill=(245, 240, 228))
    return _png(img, 300)


MAX_PIXELS = 89_478_485  # Pillow's own decompression-bomb threshold (about 89 megapixels)
MAX_BYTES = 200 * 1024 * 1024
MAX_DATA_URL_BYTES = 2 * 1024 * 1024
REMOTE_TIMEOUT = 30


def _is_remote(src: str) -> bool:
    return src.lower().startswith(("http://", "https://"))


def _resolve_path(config: BookConfig, ref: ImageRef) -> Path:
    """Image paths are relative to the book folder and must stay inside it (symlinks included)."""
    from ..core.paths import OutsideBook, inside_book

    try:
        return inside_book(config.root, ref.src)
    except OutsideBook as exc:
        raise ImageError.at(ref.path, ref.line, str(exc)) from None


def _href(src: str, media_type: str) -> str:
    pure = PurePosixPath(src)
    parts = [p for p in pure.parent.parts if p not in (".", "")]
    if not parts or parts[0] != "images":
        parts.insert(0, "images")
    return str(PurePosixPath(*parts, pure.stem + _SUFFIX[media_type]))


def _data_url(ref: ImageRef) -> bytes:
    import base64
    import binascii

    header, _, payload = ref.src.partition(",")
    if len(payload) > MAX_DATA_URL_BYTES * 4 // 3 + 4:
        raise ImageError.at(ref.path, ref.line, f"inline data: image is over {MAX_DATA_URL_BYTES // 1024} KB; save it in images/ and link it")
    if not header.endswith(";base64"):
        raise ImageError.at(ref.path, ref.line, "inline data: images must be base64-encoded")
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ImageError.at(ref.path, ref.line, "inline data: image is not valid base64") from None


def _fetch(config: BookConfig, ref: ImageRef) -> bytes:
    import urllib.error
    import urllib.request

    if not config.allow_remote_images:
        raise ImageError.at(ref.path, ref.line, f"remote image '{ref.src}' is not fetched; download it into images/, or set allow_remote_images = true in book.toml")
    try:
        with urllib.request.urlopen(ref.src, timeout=REMOTE_TIMEOUT) as response:  # noqa: S310 - http(s) only, checked above
            data = response.read(MAX_BYTES + 1)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise ImageError.at(ref.path, ref.line, f"remote image '{ref.src}' could not be fetched: {getattr(exc, 'reason', exc)}") from None
    if len(data) > MAX_BYTES:
        raise ImageError.at(ref.path, ref.line, f"remote image '{ref.src}' is over {MAX_BYTES // 2**20} MB")
    return data


def _stored_src(ref: ImageRef, data: bytes) -> str:
    """Where an inline or remote image is stored inside the outputs."""
    from ..core.digest import content_name

    kind = "inline" if ref.src.startswith("data:") else "remote"
    return f"images/{kind}-{content_name(data, 16)}.img"


def _code_key() -> str:
    return code_key("images")  # the drawing, decoding and SVG-cleaning code and Pillow (cache/keys.py)


def _cached(cache: BuildCache | None, parts: tuple[str | bytes, ...], make: Callable[[], tuple[bytes, dict[str, Any]]]) -> tuple[bytes, dict[str, Any]]:
    """`make()` -> (bytes, meta), or what an earlier build made from the same `parts`."""
    if cache is None:
        return make()
    from ..cache.build import digest

    key = digest(_code_key(), *parts)
    hit = cache.get("images", key)
    if hit is not None:
        return hit[1], hit[0]
    data, meta = make()
    cache.put("images", key, meta, data)
    return data, meta


def is_pending(config: BookConfig, ref: ImageRef) -> bool:
    """The book says this art is still to come: by the figure's `art="pending"` or `pending_images`."""
    from fnmatch import fnmatchcase

    return ref.pending or any(fnmatchcase(ref.src, pattern) for pattern in config.pending_images)


def _placeholder(config: BookConfig, ref: ImageRef, reporter: Reporter, cache: BuildCache | None = None) -> Image:
    box = figure_box(config)
    pending = is_pending(config, ref)
    if pending:
        reporter.pending_art(ref.src, ref.path, ref.line)
    else:
        reporter.warn(ref.path, ref.line, f"image '{ref.src}' not found; a placeholder marks its place")
    size = placeholder_pixels(ref.aspect or DEFAULT_ASPECT, *box)
    placed = fit(*size, *box)
    data, _ = _cached(cache, ("placeholder", ref.src, ref.alt, ref.label, repr(size), repr(placed), repr(pending)),
                      lambda: (draw_placeholder(ref, size, placed, pending), {}))
    return Image(
        src=ref.src, href=_href(ref.src, "image/png"), media_type="image/png",
        data=data, width_px=size[0], height_px=size[1],
        placed_width_in=round(placed[0], 4), placed_height_in=round(placed[1], 4), placeholder=True,
    )


@dataclass(frozen=True)
class Normalised:
    """An image as both back ends get it."""

    data: bytes
    media_type: str
    width: float  # pixels; for SVG, CSS px (96 per inch), not necessarily whole
    height: float
    removed: tuple[str, ...] = ()  # SVG only: what cleaning took out, for the build's warning


def normalise(data: bytes, where: tuple[Path, int | None], name: str) -> Normalised:
    """Open, fully decode and, where e-readers or printers need it, re-encode an image.

    Errors name the chapter line: unreadable, truncated, a decompression bomb, a hostile SVG.
    Re-encoded: EXIF rotation applied, CMYK JPEG to RGB, 16-bit and float images to 8-bit,
    formats EPUB cannot carry (TIFF, BMP…) to PNG. SVG (told by its bytes) is cleaned by svg.py.
    """
    path, line = where
    if len(data) > MAX_BYTES:
        raise ImageError.at(path, line, f"image '{name}' is over {MAX_BYTES // 2**20} MB")
    if _maybe_svg(data):
        from .svg import clean_svg

        clean = clean_svg(data, where, name)
        return Normalised(clean.data, SVG_MEDIA_TYPE, clean.width_px, clean.height_px, clean.removed)
    return _normalise_raster(data, where, name)


def _open_checked(data: bytes) -> tuple[PILImage.Image, tuple[int, int]]:
    """The opened image and its size, once every byte of its pixels is known to be there and sound.

    Strict whatever Pillow's process-wide truncated-images switch is set to (decode.py says why);
    the errors are Pillow's. A PNG is checked chunk by chunk, not decoded; a JPEG is decoded at
    1/8 scale, which still reads every byte but skips most of the maths.
    """
    from . import decode

    if data.startswith(decode.PNG_SIGNATURE):
        decode.check_png(data)  # before opening: with the switch on, Pillow's open skips some checks
    elif decode.is_webp(data):
        decode.check_webp(data)
    img = PILImage.open(io.BytesIO(data))
    width, height = img.size
    if width * height > MAX_PIXELS:
        raise PILImage.DecompressionBombError(f"{width} x {height} pixels")
    if img.format == "JPEG":
        img.draft(img.mode, (max(1, width // 8), max(1, height // 8)))
    if img.format != "PNG":  # a PNG is not decoded: its CRCs, checked above, find what verify() found
        decode.load(img)
    return img, (width, height)


def _normalise_raster(data: bytes, where: tuple[Path, int | None], name: str) -> Normalised:
    import warnings

    from PIL import ImageOps

    path, line = where
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            img, (width, height) = _open_checked(data)
            fmt = img.format or ""
    except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning) as exc:
        raise ImageError.at(path, line, f"image '{name}' declares too many pixels ({exc}); the limit is {MAX_PIXELS // 1_000_000} megapixels") from None
    except PILImage.UnidentifiedImageError:  # its message is a repr of our BytesIO: say what we know instead
        raise ImageError.at(path, line, f"image '{name}' cannot be read: {_UNKNOWN}") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        reason = "it is truncated or damaged" if "truncated" in str(exc).lower() or isinstance(exc, EOFError) else str(exc)
        raise ImageError.at(path, line, f"image '{name}' cannot be read: {reason}") from None
    media_type = _MEDIA_TYPES.get(fmt)
    # A PNG's getexif() decodes the whole image to look past its pixels: ask only if it has eXIf
    has_exif = fmt != "PNG" or b"eXIf" in data
    orientation = img.getexif().get(0x0112, 1) if has_exif else 1
    needs = media_type is None or orientation not in (0, 1) or img.mode not in ("1", "L", "LA", "P", "RGB", "RGBA")
    if not needs:
        return Normalised(data, media_type, width, height)  # type: ignore[arg-type]
    img = PILImage.open(io.BytesIO(data))  # full resolution this time
    img = ImageOps.exif_transpose(img) or img
    if img.mode == "CMYK":
        img = _cmyk_to_rgb(img)
    elif img.mode in ("I;16", "I;16B", "I;16L", "I"):
        img = img.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    elif img.mode == "F":
        img = img.convert("L")
    elif img.mode not in ("1", "L", "LA", "P", "RGB", "RGBA"):
        img = img.convert("RGBA" if "A" in img.mode else "RGB")
    out = io.BytesIO()
    dpi = img.info.get("dpi")
    extra = {"dpi": dpi} if dpi else {}
    if fmt == "JPEG" and img.mode in ("L", "RGB"):
        img.save(out, format="JPEG", quality=92, **extra)
        media_type = "image/jpeg"
    else:
        img.save(out, format="PNG", **extra)
        media_type = "image/png"
    return Normalised(out.getvalue(), media_type, img.width, img.height)


def _cmyk_to_rgb(img: PILImage.Image) -> PILImage.Image:
    from PIL import ImageCms

    icc = img.info.get("icc_profile")
    if icc:
        try:
            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            return ImageCms.profileToProfile(img, src, ImageCms.createProfile("sRGB"), outputMode="RGB")
        except (ImageCms.PyCMSError, OSError):
            pass
    return img.convert("RGB")


def load_image(config: BookConfig, ref: ImageRef, reporter: Reporter, cache: BuildCache | None = None) -> Image:
    box = figure_box(config)
    if ref.src.startswith("data:"):
        data, stored = _data_url(ref), None
    elif _is_remote(ref.src):
        data, stored = _fetch(config, ref), None
    else:
        path = _resolve_path(config, ref)
        if not path.is_file():
            return _placeholder(config, ref, reporter, cache)
        data, stored = path.read_bytes(), ref.src
    name = ref.src if len(ref.src) < 80 else ref.src[:77] + "…"

    def make() -> tuple[bytes, dict[str, Any]]:
        out = normalise(data, (ref.path, ref.line), name)
        return out.data, {"media_type": out.media_type, "width": out.width, "height": out.height, "removed": list(out.removed)}

    data, meta = _cached(cache, ("normalise", data), make)
    media_type, width, height = meta["media_type"], meta["width"], meta["height"]
    if meta.get("removed"):  # said on every build, from the cache too, until the file is cleaned
        from .svg import removed_message

        reporter.warn(ref.path, ref.line, removed_message(name, tuple(meta["removed"])))
    if media_type == SVG_MEDIA_TYPE and config.print.profile.colour == "cmyk":
        _warn_cmyk_gradients(config, ref, name, data, reporter)
    placed = fit(width, height, *box)  # an SVG's exact proportions, not its rounded pixels
    return Image(
        src=ref.src, href=_href(stored or _stored_src(ref, data), media_type), media_type=media_type, data=data,
        width_px=max(1, round(width)), height_px=max(1, round(height)), placed_width_in=round(placed[0], 4),
        placed_height_in=round(placed[1], 4), placeholder=False,
    )


def _warn_cmyk_gradients(config: BookConfig, ref: ImageRef, name: str, data: bytes, reporter: Reporter) -> None:
    """A CMYK print book paints an SVG's gradients flat (svg.to_cmyk says why): the author is told."""
    from .svg import gradients

    count = gradients(data)
    if count:
        reporter.warn(ref.path, ref.line, f"SVG '{name}': {count} gradient{'s' if count != 1 else ''} will print as "
                      f"{'their' if count != 1 else 'its'} average flat colour under the CMYK print profile "
                      f"'{config.print.profile.name}' (WeasyPrint 70 draws SVG gradients in RGB only)")


def load_images(config: BookConfig, refs: Iterable[ImageRef], reporter: Reporter, cache: BuildCache | None = None,
                load: Callable[[BookConfig, ImageRef, Reporter], Image] | None = None) -> tuple[Image, ...]:
    """One Image per distinct src, in first-use order; with `cache`, reusing an earlier build's work.

    Every image is tried before any error is raised: one ImageError carries every image's
    problem, one line each, so a book with many broken images is fixed in one round. `load`
    stands in for `load_image` (the preview server's memo of the images it sized).
    """
    seen: dict[str, Image] = {}
    hrefs: dict[str, str] = {}
    tried: set[str] = set()
    errors: list[Diagnostic] = []
    for ref in refs:
        if ref.src in tried:
            continue
        tried.add(ref.src)
        try:
            image = load_image(config, ref, reporter, cache) if load is None else load(config, ref, reporter)
        except ImageError as exc:
            errors.extend(exc.diagnostics)
            continue
        clash = stored_clash(hrefs, ref, image)
        if clash is not None:
            errors.append(clash)
            continue
        hrefs[image.href] = ref.src
        seen[ref.src] = image
    if errors:
        raise ImageError(*errors)
    return tuple(seen.values())


def stored_clash(hrefs: dict[str, str], ref: ImageRef, image: Image) -> Diagnostic | None:
    """Two sources that would be stored under one name (`photo.tif` and `photo.png` both as PNG)."""
    other = hrefs.get(image.href)
    if other is None or other == ref.src:
        return None
    return Diagnostic(SourceLocation(ref.path, ref.line), f"image '{ref.src}' and '{other}' would both be stored as {image.href}; rename one")


def load_cover(config: BookConfig, cache: BuildCache | None = None) -> Image:
    """The book's cover image, or a typographic one drawn from the title and authors."""
    if config.cover:
        ref = ImageRef(src=config.cover, path=config.root / "book.toml", line=config.cover_line or 1, alt="Cover", label="Cover")
        if not _resolve_path(config, ref).is_file():  # load_config checked it; the file may have gone since
            raise ImageError.at(ref.path, ref.line, f"'cover': image '{config.cover}' not found")
        image = load_image(config, ref, Reporter(), cache)
        return replace(image, href="images/cover" + _SUFFIX[image.media_type],
                       placed_width_in=config.print.trim_width, placed_height_in=config.print.trim_height)
    data, _ = _cached(cache, ("cover", config.title, config.subtitle or "", *config.authors), lambda: (draw_cover(config), {}))
    return Image(src="", href="images/cover.png", media_type="image/png", data=data,
                 width_px=COVER_SIZE[0], height_px=COVER_SIZE[1],
                 placed_width_in=config.print.trim_width, placed_height_in=config.print.trim_height, placeholder=True)


def to_cmyk(data: bytes, icc_profile: bytes) -> bytes:
    """Colour images converted to CMYK JPEG for a CMYK printer; grey images are kept as they are.

    An SVG stays SVG (vectors): its colours become ``device-cmyk()`` through the same ICC profile,
    neutral greys black ink only, and its embedded pictures are converted here (see svg.to_cmyk).
    """
    from PIL import ImageCms

    if _maybe_svg(data):
        from .svg import to_cmyk as svg_to_cmyk

        return svg_to_cmyk(data, icc_profile, to_cmyk)

    with PILImage.open(io.BytesIO(data)) as img:
        if img.mode in ("L", "1", "CMYK"):
            return data
        if img.mode in ("LA", "PA") or (img.mode == "P" and "transparency" in img.info):
            img = img.convert("RGBA")
        if img.mode == "RGBA":
            flat = PILImage.new("RGB", img.size, (255, 255, 255))
            flat.paste(img, mask=img.split()[-1])
            img = flat
        rgb = img.convert("RGB")
        dpi = img.info.get("dpi", (PRINT_DPI, PRINT_DPI))
        srgb = ImageCms.createProfile("sRGB")
        cmyk = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        converted = ImageCms.profileToProfile(rgb, srgb, cmyk, outputMode="CMYK")
        out = io.BytesIO()
        converted.save(out, format="JPEG", quality=92, dpi=dpi)
        return out.getvalue()
