"""A placeholder for a missing image, drawn with Pillow: a grey frame with the figure's label and
alt text, at the size the layout gives it; art still to come (`pending`) is listed, not warned."""

from __future__ import annotations

import io
import textwrap
from typing import TYPE_CHECKING

from PIL import Image as PILImage
from PIL import ImageDraw, ImageFont

from ...core.errors import Reporter
from ...core.model import BookConfig, Image, ImageRef
from .sizes import DEFAULT_ASPECT, PRINT_DPI, figure_box, fills, fit, placeholder_pixels
from .store import cached, href

if TYPE_CHECKING:
    from ...cache.build import BuildCache


def charis(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    from ...core.resources import builtin_layouts_dir as layouts_dir

    name = "CharisSIL-Bold.ttf" if bold else "CharisSIL-Regular.ttf"
    return ImageFont.truetype(str(layouts_dir() / "fonts" / name), size)


def png(img: PILImage.Image, dpi: int) -> bytes:
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
    label_font, body_font, small_font = charis(int(unit * 1.3), bold=True), charis(unit), charis(int(unit * 0.75))
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
    return png(img, PRINT_DPI)


def is_pending(config: BookConfig, ref: ImageRef) -> bool:
    """The book says this art is still to come: by the figure's `art="pending"` or `pending_images`."""
    from fnmatch import fnmatchcase

    return ref.pending or any(fnmatchcase(ref.src, pattern) for pattern in config.pending_images)


def placeholder_image(config: BookConfig, ref: ImageRef, reporter: Reporter, cache: BuildCache | None = None) -> Image:
    box = figure_box(config, ref.plate)
    pending = is_pending(config, ref)
    if pending:
        reporter.pending_art(ref.src, ref.path, ref.line)
    else:
        reporter.warn(ref.path, ref.line, f"image '{ref.src}' not found; a placeholder marks its place")
    aspect = (round(box[0] * 1000), round(box[1] * 1000)) if fills(config, ref.plate) else ref.aspect or DEFAULT_ASPECT
    size = placeholder_pixels(aspect, *box)
    placed = fit(*size, *box)
    data, _ = cached(cache, ("placeholder", ref.src, ref.alt, ref.label, repr(size), repr(placed), repr(pending)),
                     lambda: (draw_placeholder(ref, size, placed, pending), {}))
    return Image(
        src=ref.src, href=href(ref.src, "image/png"), media_type="image/png",
        data=data, width_px=size[0], height_px=size[1],
        placed_width_in=round(placed[0], 4), placed_height_in=round(placed[1], 4), placeholder=True,
    )
