"""The book's cover: its own image (book.toml `cover`), or a typographic one drawn from the
title and authors."""

from __future__ import annotations

import textwrap
from dataclasses import replace
from typing import TYPE_CHECKING

from PIL import Image as PILImage
from PIL import ImageDraw

from ...core.errors import ImageError, Reporter
from ...core.model import BookConfig, Image, ImageRef
from .load import load_image, resolve_path
from .placeholder import charis, png
from .store import SUFFIX, cached

if TYPE_CHECKING:
    from ...cache.build import BuildCache

COVER_SIZE = (1600, 2560)  # the 1:1.6 ebook cover most stores ask for


def draw_cover(config: BookConfig) -> bytes:
    """A typographic cover from the title and authors, for books that give no cover image."""
    w, h = COVER_SIZE
    img = PILImage.new("RGB", (w, h), (28, 36, 48))
    draw = ImageDraw.Draw(img)
    draw.rectangle((80, 80, w - 81, h - 81), outline=(196, 164, 98), width=6)
    title_font = charis(124, bold=True)
    lines = textwrap.wrap(config.title, width=16)
    y = 420
    for line in lines:
        box = draw.textbbox((0, 0), line, font=title_font)
        draw.text(((w - (box[2] - box[0])) // 2, y), line, font=title_font, fill=(245, 240, 228))
        y += 168
    if config.subtitle:
        sub_font = charis(64)
        y += 40
        for line in textwrap.wrap(config.subtitle, width=32):
            box = draw.textbbox((0, 0), line, font=sub_font)
            draw.text(((w - (box[2] - box[0])) // 2, y), line, font=sub_font, fill=(210, 200, 180))
            y += 90
    draw.line((w // 2 - 160, y + 60, w // 2 + 160, y + 60), fill=(196, 164, 98), width=5)
    author_font = charis(84)
    authors = ", ".join(config.authors)
    box = draw.textbbox((0, 0), authors, font=author_font)
    draw.text(((w - (box[2] - box[0])) // 2, h - 420), authors, font=author_font, fill=(245, 240, 228))
    return png(img, 300)


def load_cover(config: BookConfig, cache: BuildCache | None = None) -> Image:
    """The book's cover image, or a typographic one drawn from the title and authors."""
    if config.cover:
        ref = ImageRef(src=config.cover, path=config.root / "book.toml", line=config.cover_line or 1, alt="Cover", label="Cover")
        if not resolve_path(config, ref).is_file():  # load_config checked it; the file may have gone since
            raise ImageError.at(ref.path, ref.line, f"'cover': image '{config.cover}' not found")
        image = load_image(config, ref, Reporter(), cache)
        return replace(image, href="images/cover" + SUFFIX[image.media_type],
                       placed_width_in=config.print.trim_width, placed_height_in=config.print.trim_height)
    data, _ = cached(cache, ("cover", config.title, config.subtitle or "", *config.authors), lambda: (draw_cover(config), {}))
    return Image(src="", href="images/cover.png", media_type="image/png", data=data,
                 width_px=COVER_SIZE[0], height_px=COVER_SIZE[1],
                 placed_width_in=config.print.trim_width, placed_height_in=config.print.trim_height, placeholder=True)
