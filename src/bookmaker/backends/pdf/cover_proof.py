"""A picture of the cover wrap to look at before uploading it: the PDF rendered (pypdfium2), with
the trim (red), the spine folds (blue), the safe lines (green) and the barcode area (magenta) drawn
over it. The lines are the geometry the cover's preflight measures against (core/cover.py)."""

from __future__ import annotations

import io

from ...core.cover import Box, CoverGeometry

DPI = 100
TRIM, FOLD, SAFE, BARCODE = (220, 30, 30), (40, 110, 255), (40, 200, 90), (230, 40, 200)


def cover_proof(data: bytes, g: CoverGeometry, dpi: int = DPI) -> bytes:
    """The cover PDF `data` as a PNG at `dpi`, its guide lines drawn on it."""
    import pypdfium2 as pdfium
    from PIL import ImageDraw

    pdf = pdfium.PdfDocument(data)
    try:
        image = pdf[0].render(scale=dpi / 72, may_draw_forms=False).to_pil().convert("RGB")
    finally:
        pdf.close()
    draw = ImageDraw.Draw(image)
    scale = image.width / g.sheet_width  # pixels per inch of the sheet (MediaBox)

    def rect(box: Box, colour: tuple[int, int, int], width: int = 2) -> None:
        draw.rectangle(tuple(round(v * scale) for v in box), outline=colour, width=width)  # type: ignore[arg-type]

    rect(g.trim, TRIM)
    for x in (g.spine_x0, g.spine_x1):
        draw.line((round(x * scale), 0, round(x * scale), image.height), fill=FOLD, width=2)
    for area in g.safe_areas().values():
        rect(area, SAFE, 1)
    rect(g.barcode_area, BARCODE, 1)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=False)
    return out.getvalue()
