"""The EPUB's image assets: each image's screen-sized derivative (transform/images/screen.py) in
place of the full-resolution bytes print gets, within the bound of the book's stores."""

from __future__ import annotations

from dataclasses import replace

from ..core.context import BuildContext
from ..core.model import Image
from ..core.stores import screen_bound
from ..render.layout import Asset, Rendered


def screen_assets(rendered: Rendered, ctx: BuildContext) -> Rendered:
    """`rendered` with every image of the book (its own cover image too) as the EPUB carries it."""
    from ..transform.images.screen import cached_for_screen

    book = ctx.book
    images: dict[str, Image] = {img.href: img for img in book.images}
    if book.cover is not None and not book.cover.placeholder:
        images[book.cover.href] = book.cover
    bound = screen_bound(book.config.ebook_stores)
    assets = []
    for asset in rendered.assets:
        image = images.get(asset.href)
        if image is not None and image.data:
            data = cached_for_screen(ctx.cache, image.data, image.media_type, image.epub_media_type, bound)
            asset = Asset(asset.href, image.epub_media_type, data)
        assets.append(asset)
    return replace(rendered, assets=tuple(assets))
