"""Print PDF with WeasyPrint. Packaging only: the HTML comes from the layouts.

Resources are served from memory by a URL fetcher that knows only the book's assets, so the PDF
holds exactly the fonts and images the EPUB does and nothing is fetched from anywhere else.
WeasyPrint's warnings are collected and reported as the build's warnings.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from ..errors import OutputError, Reporter
from ..layout import Asset, Rendered, layouts_dir
from . import BuildContext

BASE_URL = "https://book.invalid/"  # .invalid never resolves: nothing can leave the machine


# WeasyPrint warns once per document and font when HarfBuzz's subsetting library is missing; a
# build says it once, as a note naming the package (missing_libraries), not as a warning.
_NO_HB_SUBSET = "Using fontTools instead of HarfBuzz-Subset"
HB_SUBSET_NOTE = ("HarfBuzz subsetting is not installed, so WeasyPrint subsets fonts with fontTools (slower, and "
                  "unsupported in later WeasyPrint releases); install it: apt-get install libharfbuzz-subset0")


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if not message.startswith(_NO_HB_SUBSET):
            self.messages.append(message)


def missing_libraries(reporter: Reporter) -> None:
    """Note, once per run, an optional system library WeasyPrint would use and cannot find."""
    from weasyprint.text.ffi import harfbuzz_subset

    if harfbuzz_subset is None:
        reporter.note(None, HB_SUBSET_NOTE)


def _fetcher(assets: dict[str, Asset]) -> Any:
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class BookFetcher(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
            if not url.startswith(BASE_URL):
                raise ValueError(f"not part of the book: {url}")
            href = url[len(BASE_URL):].split("#")[0].split("?")[0]
            asset = assets.get(href)
            if asset is None:
                raise ValueError(f"no such file in the book: {href}")
            return URLFetcherResponse(url, asset.data, {"Content-Type": asset.media_type})

    return BookFetcher()


class PdfBackend:
    name = "pdf"
    suffix = ".pdf"

    def lay_out(self, rendered: Rendered, ctx: BuildContext) -> Any:
        """WeasyPrint's Document: pages laid out, not yet written."""
        from weasyprint import HTML
        from weasyprint.logger import LOGGER
        from weasyprint.text.fonts import FontConfiguration

        from . import png_passthrough

        png_passthrough.apply()
        missing_libraries(ctx.reporter)
        (page,) = rendered.pages
        assets = {a.href: a for a in rendered.assets}
        collect = _Collect()
        LOGGER.addHandler(collect)
        try:
            html = HTML(string=page.content, base_url=BASE_URL, url_fetcher=_fetcher(assets))
            document = html.render(font_config=FontConfiguration())
        finally:
            LOGGER.removeHandler(collect)
        for message in collect.messages:
            ctx.reporter.warn(layouts_dir(), None, f"WeasyPrint: {message}")
        return document

    def write_document(self, document: Any, ctx: BuildContext) -> bytes:
        """PDF bytes under the book's print profile: metadata, links, bookmarks, PDF/X variant."""
        from weasyprint.logger import LOGGER

        config = ctx.book.config
        profile = config.print.profile
        stamp = ctx.timestamp.strftime("%Y-%m-%dT%H:%M:%SZ")
        document.metadata.created = stamp
        document.metadata.modified = stamp
        document.metadata.title = config.title
        document.metadata.authors = list(config.authors)
        document.metadata.lang = config.language
        for page in document.pages:
            if not profile.annotations:
                page.links = []  # every <a href> would become a link annotation
            if not profile.bookmarks:
                page.bookmarks = []
        identifier = hashlib.md5(config.identifier.encode("utf-8")).hexdigest().encode("ascii")
        collect = _Collect()
        LOGGER.addHandler(collect)
        try:
            data: bytes = document.write_pdf(pdf_identifier=identifier, pdf_variant=profile.pdf_variant)
        finally:
            LOGGER.removeHandler(collect)
        for message in collect.messages:
            ctx.reporter.warn(layouts_dir(), None, f"WeasyPrint: {message}")
        if not data.startswith(b"%PDF-"):
            raise OutputError.at(config.root, None, "WeasyPrint did not produce a PDF")
        return data

    def write(self, rendered: Rendered, ctx: BuildContext) -> bytes:
        return self.write_document(self.lay_out(rendered, ctx), ctx)
