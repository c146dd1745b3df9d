"""The EPUB's images: screen-sized derivatives of what print gets at full resolution.

Print keeps every image as normalise.py left it (full resolution; CMYK where the print profile
says, backends/pdf/paginate.cmyk_assets). The EPUB gets, for each raster image:

- its format chosen by content (`screen_type`, decided when the image is loaded, since its name
  in the book follows it): transparency keeps PNG; a photograph (more than 256 colours) is JPEG;
  drawings, screenshots and placeholders with few colours are PNG; a format a chosen store does not
  take becomes one of those (an animated GIF stays GIF where the stores take GIF);
- its size within every chosen store's bound (core/stores.screen_bound), proportions kept;
- no metadata: EXIF (a camera's GPS position among it), XMP, IPTC, comments and PNG text chunks
  are dropped; the colour profile stays.

An image that already fits, in its format, with nothing to drop keeps its bytes. Derivatives are
kept in the build cache under the source bytes, the bound and the format.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from PIL import Image as PILImage

from ...core.stores import GIF, JPEG, PNG, SVG, WEBP, ScreenBound

if TYPE_CHECKING:
    from ...cache.build import BuildCache

_JPEG_QUALITY = 85  # a resized photograph; one that only loses its metadata keeps its own tables
_FEW_COLOURS = 256
_PNG_KEEP = {b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"pHYs", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT", b"bKGD"}
_JPEG_META = ("exif", "xmp", "comment", "photoshop", "XML:com.adobe.xmp")
# Carried in their own format whatever their pixels: vectors, and photographs already in JPEG
KEEP_FORMAT = frozenset({SVG, JPEG})


def _has_alpha(img: PILImage.Image) -> bool:
    return img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info) or "transparency" in img.info


def _few_colours(img: PILImage.Image) -> bool:
    """At most 256 colours, counted on a nearest-neighbour thumbnail (which makes no new colours)."""
    sample = img if img.width * img.height <= 512 * 512 else img.resize((min(img.width, 512), min(img.height, 512)), PILImage.Resampling.NEAREST)
    if sample.mode == "P":
        return True
    return sample.convert("RGB").getcolors(_FEW_COLOURS) is not None


def screen_type(data: bytes, media_type: str, allowed: frozenset[str]) -> str:
    """The media type the EPUB carries this image in (see the module's docstring)."""
    if media_type in KEEP_FORMAT:
        return media_type
    with PILImage.open(io.BytesIO(data)) as img:
        if media_type == GIF and getattr(img, "is_animated", False) and GIF in allowed:
            return GIF
        if media_type == WEBP and WEBP in allowed:
            return WEBP
        if _has_alpha(img) or _few_colours(img):
            return PNG
        return JPEG


def _png_has_metadata(data: bytes) -> bool:
    pos = 8
    while pos + 8 <= len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        if data[pos + 4:pos + 8] not in _PNG_KEEP:
            return True
        pos += 12 + length
    return False


def _needs_work(img: PILImage.Image, data: bytes, media_type: str, target: str, bound: ScreenBound) -> bool:
    if media_type != target or not bound.fits(*img.size):
        return True
    if target == PNG:
        return _png_has_metadata(data)
    if target == JPEG:
        return any(key in img.info for key in _JPEG_META) or img.getexif() != {}
    return False


def _encode(img: PILImage.Image, target: str, keep_tables: bool) -> bytes:
    out = io.BytesIO()
    icc = img.info.get("icc_profile")
    extra = {"icc_profile": icc} if icc else {}
    if target == JPEG:
        if img.mode not in ("L", "RGB"):
            img = img.convert("RGB")
        if keep_tables and img.format == "JPEG":
            img.save(out, format="JPEG", quality="keep", **extra)  # the source's own tables: no new loss
        else:
            img.save(out, format="JPEG", quality=_JPEG_QUALITY, optimize=True, **extra)
    else:
        if img.mode not in ("1", "L", "LA", "P", "RGB", "RGBA"):
            img = img.convert("RGBA" if _has_alpha(img) else "RGB")
        img.save(out, format="PNG", **extra)
    return out.getvalue()


def for_screen(data: bytes, media_type: str, target: str, bound: ScreenBound) -> bytes:
    """The EPUB's bytes for an image of `media_type` carried as `target` (screen_type)."""
    if media_type == SVG or target in (SVG, GIF, WEBP) and media_type == target:
        return data  # vectors, and animations or WebP a store takes, as they are
    with PILImage.open(io.BytesIO(data)) as img:
        if not _needs_work(img, data, media_type, target, bound):
            return data
        size = bound.scaled(*img.size)
        resized = size != img.size
        img.load()
        if resized:
            if img.mode == "P":
                img = img.convert("RGBA" if _has_alpha(img) else "RGB")
            img = img.resize(size, PILImage.Resampling.LANCZOS)
        return _encode(img, target, keep_tables=media_type == JPEG and not resized)


def cached_for_screen(cache: BuildCache | None, data: bytes, media_type: str, target: str, bound: ScreenBound) -> bytes:
    """`for_screen`, or what an earlier build made of the same bytes for the same bound."""
    from .store import cached

    key = f"{','.join(sorted(bound.image_types))}|{bound.max_pixels}|{bound.max_side}|{bound.max_bytes}"
    parts = ("screen", target, key, data)
    out, _ = cached(cache, parts, lambda: (for_screen(data, media_type, target, bound), {}))
    return out
