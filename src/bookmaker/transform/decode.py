"""Decode a raster image strictly: a truncated or damaged file fails, whatever the process says.

Pillow has a process-wide "load truncated images" switch in `PIL.ImageFile`, and WeasyPrint turns
it on when imported. With it on, Pillow's generic loader fills in what a cut-off file lacks and
ignores decoder errors, and its PNG reader skips ancillary chunks' checksums. Turning it off
around a decode is a race: the preview server decodes on several threads while another lays out
with WeasyPrint. So bookmaker never reads or writes that switch (tests/test_images.py checks);
this module does the strict checks itself:

* PNG: `check_png` walks every chunk, signature to IEND, checking type, length and CRC, as
  Pillow's strict open and `verify()` do, without decoding a pixel. (What a chunk says is still
  Pillow's to judge: a pHYs with a valid CRC but too short for a pHYs fails only with the switch
  off. Only a hand-made file does that.)
* WebP: `check_webp` compares the RIFF header's declared size with the data's length.
* JPEG, GIF, BMP, uncompressed TIFF, JPEG 2000, PPM, TGA and the other formats Pillow decodes
  with its generic tile loop: `load` runs that loop itself, the way Pillow runs it with the switch
  off (the same reads and decoder calls, so no slower).
* The rest have loaders of their own. WebP's, AVIF's and compressed TIFF's (libtiff) call their
  codec directly and never look at the switch. ICO, ICNS and IPTC load an embedded image with
  Pillow's lenient loader: still lenient with the switch on (rare in a book; not worth copying
  their loaders).

The errors are Pillow's own (OSError naming truncation, SyntaxError for a broken PNG chunk, the
decoder's status), so callers report them as they report Pillow's. Driving Pillow's decoders
takes three of its private names (`Image._getdecoder`, `ImageFile._get_oserror`,
`ImageFile._Tile`); they are read here only (tests/test_internals.py), on the Pillow major version
they were tested with (`check_version`: another one stops with one error naming it), and the build
cache's key has Pillow's version.
"""

from __future__ import annotations

import itertools
import re
import struct
import zlib
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import PIL
from PIL import Image as PILImage
from PIL import ImageFile, JpegImagePlugin

from ..core.errors import OutputError

TESTED_MAJOR = 13  # Pillow 13.x: the private decoder names below were read from its source


class PillowVersionError(OutputError):
    """The installed Pillow is not the major version bookmaker's strict decoding was tested with."""


@lru_cache(maxsize=1)
def check_version() -> None:
    """Refuse, with one clear error, a Pillow whose private decoder names were not tested."""
    major = PIL.__version__.split(".", 1)[0]
    if major != str(TESTED_MAJOR):
        raise PillowVersionError.at(
            Path(PIL.__file__).parent, None,
            f"bookmaker needs Pillow {TESTED_MAJOR}.x (its strict image decoding uses Pillow's decoders directly: "
            f"transform/decode.py), but Pillow {PIL.__version__} is installed here: pip install 'pillow>={TESTED_MAJOR},<{TESTED_MAJOR + 1}'")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_CHUNK_TYPE = re.compile(rb"\w{4}")  # what Pillow's PngImagePlugin.is_cid accepts


def check_png(data: bytes) -> None:
    """Every chunk from the signature to IEND is whole, of a well-formed type, with a matching CRC.

    The checks and messages of Pillow's strict PNG open (chunks before the image data) and
    `PngImageFile.verify()` (from the image data on); crc32 runs at memory speed, so this costs
    less than the open-then-verify it replaces.
    """
    view = memoryview(data)
    pos = len(PNG_SIGNATURE)
    while True:
        if len(view) - pos < 4:
            raise OSError("truncated PNG file")
        length = int.from_bytes(view[pos:pos + 4], "big")
        kind = bytes(view[pos + 4:pos + 8])
        if not _PNG_CHUNK_TYPE.fullmatch(kind):  # a short read lands here too, as in Pillow
            raise SyntaxError(f"broken PNG file (chunk {kind!r})")
        if kind == b"IEND":  # Pillow reads no further either: IEND is empty, its CRC unchecked
            return
        body = view[pos + 8:pos + 8 + length]
        if len(body) < length:
            raise OSError("truncated PNG file")
        crc = view[pos + 8 + length:pos + 12 + length]
        if len(crc) < 4:
            raise SyntaxError(f"broken PNG file (incomplete checksum in {kind!r})")
        if zlib.crc32(body, zlib.crc32(kind)) != int.from_bytes(crc, "big"):
            raise SyntaxError(f"broken PNG file (bad header checksum in {kind!r})")
        pos += 12 + length


def is_webp(data: bytes) -> bool:
    return data[:4] == b"RIFF" and data[8:12] == b"WEBP"


def check_webp(data: bytes) -> None:
    """The RIFF container's declared size (which counts everything after its first 8 bytes) is there.

    Pillow's WebP loader calls libwebp directly and never consults the switch, but libwebp
    rejects a cut-off file with "could not create decoder object": this names the truncation.
    Bytes past the declared size are left alone, as libwebp leaves them.
    """
    if len(data) < 12 or len(data) - 8 < int.from_bytes(data[4:8], "little"):
        raise OSError("truncated WebP file")


def load(img: ImageFile.ImageFile) -> None:
    """`img.load()`, failing where Pillow's generic loader fails with the switch off."""
    check_version()
    if not img.tile or not _loads_by_tiles(img):
        img.load()
        return
    img.load_prepare()
    tiles = _tiles(img)
    status = 0
    for i, tile in enumerate(tiles):
        next_offset = tiles[i + 1].offset if i + 1 < len(tiles) else None
        status = _decode_tile(img, tile, next_offset)
    img.tile = []
    img.load_end()
    img.fp = None  # as Pillow's loader leaves it: the pixels are in memory
    if status < 0:  # as Pillow: the last tile's decoder status decides
        raise ImageFile._get_oserror(status, encoder=False)
    PILImage.Image.load(img)  # how Pillow's loader ends: a palette read from the file goes into the pixels


def _loads_by_tiles(img: ImageFile.ImageFile) -> bool:
    """Whether `img.load()`, for an image just opened, is Pillow's generic tile loop (which consults the switch)."""
    if type(img).load is ImageFile.ImageFile.load:
        return True
    if img.format == "JPEG2000":  # its load() applies a `reduce` (never set here), then the generic loop
        return True
    # TiffImageFile.load hands compressed files to libtiff, the rest to the generic loop
    return img.format == "TIFF" and getattr(img, "use_load_libtiff", True) is False


def _tiles(img: ImageFile.ImageFile) -> list[ImageFile._Tile]:
    """The tiles in file order, consecutive ones differing only by offset kept once (the last), as Pillow does."""
    ordered = sorted(img.tile, key=lambda tile: tile.offset)
    return [list(group)[-1] for _, group in itertools.groupby(ordered, lambda t: (t.codec_name, t.extents, t.args))]


def _reader(img: ImageFile.ImageFile) -> Callable[[int], bytes]:
    assert img.fp is not None
    if isinstance(img, JpegImagePlugin.JpegImageFile):
        # its load_read differs from a plain read only with the switch on: it invents an end marker
        return img.fp.read
    return getattr(img, "load_read", img.fp.read)  # other plugins' load_read unwrap their framing


def _decode_tile(img: ImageFile.ImageFile, tile: ImageFile._Tile, next_offset: int | None) -> int:
    """Feed one tile's bytes to its decoder until it is done; the decoder's status (< 0: an error).

    A decoder that still wants bytes when the file has none left means a truncated file: Pillow
    raises this OSError with the switch off and stops silently with it on.
    """
    assert img.fp is not None
    getattr(img, "load_seek", img.fp.seek)(tile.offset)
    read = _reader(img)
    decoder = PILImage._getdecoder(img.mode, tile.codec_name, tile.args, img.decoderconfig)
    try:
        decoder.setimage(img.im, tile.extents)
        if decoder.pulls_fd:
            decoder.setfd(img.fp)
            return decoder.decode(b"")[1]
        block = next_offset - tile.offset if next_offset is not None and next_offset > tile.offset else img.decodermaxblock
        pending: bytes = getattr(img, "tile_prefix", b"")  # JPEG tables a plugin shares between tiles
        while True:
            try:
                chunk = read(block)
            except (IndexError, struct.error) as exc:  # a plugin's framing cut short
                raise OSError("image file is truncated") from exc
            if not chunk:
                raise OSError(f"image file is truncated ({len(pending)} bytes not processed)")
            pending += chunk
            consumed, status = decoder.decode(pending)
            if consumed < 0:
                return status
            pending = pending[consumed:]
    finally:
        decoder.cleanup()
