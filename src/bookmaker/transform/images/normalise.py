"""An image's bytes as both back ends get them: told apart (SVG or raster), fully decoded and
checked, and re-encoded where e-readers or printers need it."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image as PILImage

from ...core.errors import ImageError

SVG_MEDIA_TYPE = "image/svg+xml"  # svg.MEDIA_TYPE; svg.py (32 ms to import) is loaded only for an SVG
MAX_PIXELS = 89_478_485  # Pillow's own decompression-bomb threshold (about 89 megapixels)
MAX_BYTES = 200 * 1024 * 1024
_MEDIA_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}
_UNKNOWN = "not an image Pillow knows (JPEG, PNG, GIF, WebP, TIFF, BMP) and not SVG"


def maybe_svg(data: bytes) -> bool:
    """Text that may be SVG (svg.looks_like_svg decides): a PNG, JPEG, GIF or WebP never starts with '<'."""
    head = data[:4].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not (head.startswith(b"<") or data[:2] in (b"\xff\xfe", b"\xfe\xff") or data[:1].isspace() or data[:3] == b"\xef\xbb\xbf"):
        return False
    from ..svg import looks_like_svg

    return looks_like_svg(data)


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
    if maybe_svg(data):
        from ..svg import clean_svg

        clean = clean_svg(data, where, name)
        return Normalised(clean.data, SVG_MEDIA_TYPE, clean.width_px, clean.height_px, clean.removed)
    return _normalise_raster(data, where, name)


def _open_checked(data: bytes) -> tuple[PILImage.Image, tuple[int, int]]:
    """The opened image and its size, once every byte of its pixels is known to be there and sound.

    Strict whatever Pillow's process-wide truncated-images switch is set to (decode.py says why);
    the errors are Pillow's. A PNG is checked chunk by chunk, not decoded; a JPEG is decoded at
    1/8 scale, which still reads every byte but skips most of the maths.
    """
    from .. import decode

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
