"""Draws the PNGs of the `images` corpus book. They are committed; run this from the repository
root (`.venv/bin/python tests/corpus/draw_images.py`) to draw them again. Flat shapes only, so
each file stays a few kilobytes while the photographs have 300 dpi at the printed width."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parent / "images" / "images"
Draw = Callable[[ImageDraw.ImageDraw, int], None]


def icon(name: str, draw: Draw, size: int = 48) -> None:
    """A square icon on a transparent ground, set in a line of text."""
    im = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw(ImageDraw.Draw(im), size)
    im.save(OUT / f"{name}.png", optimize=True)


def star(d: ImageDraw.ImageDraw, s: int) -> None:
    points = []
    for i in range(10):
        r = s * (0.48 if i % 2 == 0 else 0.2)
        a = math.pi / 2 + i * math.pi / 5
        points.append((s / 2 + r * math.cos(a), s / 2 - r * math.sin(a)))
    d.polygon(points, fill=(230, 170, 20, 255), outline=(120, 80, 0, 255))


def heart(d: ImageDraw.ImageDraw, s: int) -> None:
    d.ellipse((4, 8, s / 2 + 2, s / 2 + 6), fill=(200, 30, 50, 255))
    d.ellipse((s / 2 - 2, 8, s - 4, s / 2 + 6), fill=(200, 30, 50, 255))
    d.polygon([(5, s / 2), (s - 5, s / 2), (s / 2, s - 4)], fill=(200, 30, 50, 255))


def leaf(d: ImageDraw.ImageDraw, s: int) -> None:
    d.ellipse((6, 10, s - 6, s - 10), fill=(40, 140, 60, 255))
    d.line((8, s - 8, s - 8, 8), fill=(20, 70, 30, 255), width=3)


def landscape(name: str, w: int, h: int, sky: tuple[int, int, int], ground: tuple[int, int, int]) -> None:
    """Two peaks, a valley and a sun: a stand-in photograph."""
    im = Image.new("RGB", (w, h), sky)
    d = ImageDraw.Draw(im)
    d.rectangle((0, int(h * 0.62), w, h), fill=ground)
    d.polygon([(0, int(h * 0.62)), (int(w * 0.3), int(h * 0.25)), (int(w * 0.6), int(h * 0.62))], fill=(110, 110, 130))
    d.polygon([(int(w * 0.4), int(h * 0.62)), (int(w * 0.72), int(h * 0.18)), (w, int(h * 0.62))], fill=(90, 90, 110))
    d.ellipse((int(w * 0.78), int(h * 0.08), int(w * 0.9), int(h * 0.26)), fill=(250, 220, 90))
    im.save(OUT / f"{name}.png", optimize=True)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    icon("star", star)
    icon("heart", heart)
    icon("leaf", leaf)
    landscape("mountains", 1350, 900, (150, 190, 235), (70, 130, 60))
    landscape("dusk", 1200, 900, (60, 50, 110), (40, 60, 40))
    landscape("noon", 900, 600, (170, 210, 250), (90, 150, 70))


if __name__ == "__main__":
    main()
