"""PNG image data handed to the PDF as it is, instead of decoded and compressed again.

WeasyPrint (70.0) writes every PNG by decoding it with Pillow, saving it again as PNG and copying
the new file's IDAT chunks into a FlateDecode stream with the PNG predictor. For an 8-bit,
non-interlaced greyscale or RGB PNG the IDAT chunks of the original file are already exactly that
stream, so the decode and the compression (about 12 ms for a 1350 x 900 image, 6 s of the 505-photo
book's 22 s) are work for nothing. The pixels in the PDF are the same (tests/test_images.py).

Every image bookmaker hands WeasyPrint went through `transform/images/normalise.py`, which writes
such PNGs. Anything else (palette, 16-bit, low bit depth, interlaced, alpha, an image WeasyPrint
resized) takes WeasyPrint's own path. Installed by `wp_internals.patched`, for the WeasyPrint
version it was written for.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from typing import Any


def idat_stream(image: Any) -> bytes | None:
    """The concatenated IDAT data of an unloaded Pillow PNG image read from memory, or None."""
    if getattr(image, "format", None) != "PNG" or image.mode not in ("L", "RGB"):
        return None
    if image.info.get("interlace") or len(image.tile) != 1:
        return None
    decoder, _box, _offset, rawmode = image.tile[0][:4]
    if decoder != "zip" or rawmode != image.mode:  # "L;4", "RGB;16B"...: not 8 bits a sample
        return None
    fp = getattr(image, "fp", None)
    if not isinstance(fp, io.BytesIO):
        return None
    data = fp.getvalue()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    chunks = []
    pos = 8
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        if kind == b"IDAT":
            chunks.append(data[pos + 8:pos + 8 + length])
        elif kind == b"IEND":
            break
        pos += 12 + length
    return b"".join(chunks) or None


def passthrough(original: Callable[[Any], bytes]) -> Callable[[Any], bytes]:
    """WeasyPrint's PNG writer (`RasterImage._get_png_data`, installed by wp_internals.patched)
    that copies a PNG's own IDAT data where it can and calls `original` where it cannot."""

    def get_png_data(pillow_image: Any) -> bytes:
        return idat_stream(pillow_image) or original(pillow_image)

    get_png_data.__wrapped__ = original  # type: ignore[attr-defined]
    return get_png_data
