"""The EPUB's typographic cover image, for a book that gives no `cover`: the cover wrap's template
with its front alone (render/cover.render_cover_image), laid out by WeasyPrint on a 5in x 8in page
and drawn by pypdfium2 at 320 dpi, 1600 x 2560 pixels (the 1:1.6 stores ask for), as a PNG.

One design makes both covers, so the EPUB's and the print front cannot drift apart. The picture is
kept in the build cache (kind `covers`) under everything that decides its pixels: the page's HTML,
the bytes of the files it may load (its fonts), fontconfig's state (fallback fonts), the size, and
`code_key("covers")` (this code, WeasyPrint's, pypdfium2's and Pillow's versions): a warm rebuild
lays nothing out, and the same inputs give the same bytes.
"""

from __future__ import annotations

import io

from ...core.context import BuildContext
from ...core.cover import EPUB_COVER_DPI, EPUB_COVER_PX
from ...render.layout import Rendered

KIND = "covers"  # the build cache's entries (cache/build.py)


def cover_image(ctx: BuildContext, size: tuple[int, int] = EPUB_COVER_PX, dpi: float = EPUB_COVER_DPI) -> bytes:
    """The typographic cover of `ctx.book` as PNG bytes of `size` pixels, from the cache when it holds them."""
    from ...render.cover import render_cover_image

    rendered = render_cover_image(ctx.book, (size[0] / dpi, size[1] / dpi))
    if ctx.cache is None:
        return draw(rendered, ctx, size, dpi)
    key = _key(rendered, size)
    hit = ctx.cache.get(KIND, key)
    if hit is not None:
        return hit[1]
    data = draw(rendered, ctx, size, dpi)
    ctx.cache.put(KIND, key, {"size": list(size)}, data)
    return data


def _key(rendered: Rendered, size: tuple[int, int]) -> str:
    from ...cache.build import entry_key
    from ...cache.keys import code_key
    from ...render.glyphs import fontconfig_state

    assets = (part for a in sorted(rendered.assets, key=lambda a: a.href) for part in (a.href, a.media_type, a.data))
    return entry_key(code_key(KIND), f"{size[0]}x{size[1]}", fontconfig_state(), rendered.pages[0].content, *assets)


def draw(rendered: Rendered, ctx: BuildContext, size: tuple[int, int], dpi: float = EPUB_COVER_DPI) -> bytes:
    """The one page of `rendered` laid out (WeasyPrint) and rasterised (pypdfium2) to `size` pixels."""
    import pypdfium2 as pdfium

    from .backend import PdfBackend, collected, report_messages
    from .wp_internals import patched

    document = PdfBackend().lay_out(rendered, ctx)
    with collected() as messages, patched():
        pdf_data = document.write_pdf()
    report_messages(messages, ctx)
    pdf = pdfium.PdfDocument(pdf_data)
    try:
        page = pdf[0]
        bitmap = page.render(scale=size[0] / page.get_width(), may_draw_forms=False, draw_annots=False)
        image = bitmap.to_pil().convert("RGB")
    finally:
        pdf.close()
    if image.size != size:  # pypdfium2 rounds the page's size up: a pixel too many at most
        image = image.crop((0, 0, *size))
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=6, dpi=(round(dpi), round(dpi)))  # 9: 1.5x the time for 2% less
    return out.getvalue()
