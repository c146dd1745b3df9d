"""The book's cover: its own image (book.toml `cover`), or the place of a typographic one, which
the EPUB back end draws from the layouts' cover template (backends/pdf/cover_image.py)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from ...core.stores import cover_pixels
from ...core.errors import ImageError, Reporter
from ...core.model import BookConfig, Image, ImageRef
from .load import load_image, resolve_path
from .store import SUFFIX

if TYPE_CHECKING:
    from ...cache.build import BuildCache


def load_cover(config: BookConfig, cache: BuildCache | None = None) -> Image:
    """The book's cover image; without one, the typographic cover (`placeholder`): its size and
    name in the EPUB, with no bytes yet (the EPUB back end draws them; print sets the same design
    in the cover wrap's front)."""
    if config.cover:
        ref = ImageRef(src=config.cover, path=config.root / "book.toml", line=config.cover_line or 1, alt="Cover", label="Cover")
        if not resolve_path(config, ref).is_file():  # load_config checked it; the file may have gone since
            raise ImageError.at(ref.path, ref.line, f"'cover': image '{config.cover}' not found")
        image = load_image(config, ref, Reporter(), cache)
        return replace(image, href="images/cover" + SUFFIX[image.media_type],
                       placed_width_in=config.print.trim_width, placed_height_in=config.print.trim_height)
    width, height = cover_pixels(config.ebook_stores)  # 1600 x 2560 unless a store's pixel bound is less
    return Image(src="", href="images/cover.png", media_type="image/png", data=b"",
                 width_px=width, height_px=height,
                 placed_width_in=config.print.trim_width, placed_height_in=config.print.trim_height, placeholder=True)
