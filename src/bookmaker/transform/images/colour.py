"""Colour images converted for a CMYK printer (the print profile's ICC profile)."""

from __future__ import annotations

import io

from PIL import Image as PILImage

from .normalise import maybe_svg
from .sizes import PRINT_DPI


def to_cmyk(data: bytes, icc_profile: bytes) -> bytes:
    """Colour images converted to CMYK JPEG for a CMYK printer; grey images are kept as they are.

    An SVG stays SVG (vectors): its colours become ``device-cmyk()`` through the same ICC profile,
    neutral greys black ink only, and its embedded pictures are converted here (see svg.to_cmyk).
    """
    from PIL import ImageCms

    if maybe_svg(data):
        from ..svg import to_cmyk as svg_to_cmyk

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
