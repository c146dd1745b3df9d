"""Print PDF with WeasyPrint. Packaging only: the HTML comes from the layouts.

Resources are served from memory by a URL fetcher that knows only the book's assets, so the PDF
holds exactly the fonts and images the EPUB does and nothing is fetched from anywhere else.
WeasyPrint's warnings are collected and reported as the build's warnings.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ...core.context import BuildContext
from ...core.digest import digest
from ...core.errors import OutputError, Reporter
from ...core.model import Book
from ...core.resources import builtin_layouts_dir
from ...render.layout import Asset, Rendered
from .wp_internals import patched

BASE_URL = "https://book.invalid/"  # .invalid never resolves: nothing can leave the machine


def import_weasyprint() -> None:
    """Import WeasyPrint now (about a second), so that the first layout does not wait for it."""
    import weasyprint  # noqa: F401


# WeasyPrint warns once per document and font when HarfBuzz's subsetting library is missing; a
# build says it once, as a note naming the package (missing_libraries), not as a warning.
_NO_HB_SUBSET = "Using fontTools instead of HarfBuzz-Subset"
HB_SUBSET_NOTE = ("HarfBuzz subsetting is not installed, so WeasyPrint subsets fonts with fontTools (slower, and "
                  "unsupported in later WeasyPrint releases); install it: apt-get install libharfbuzz-subset0")


class _Collect(logging.Handler):
    """WeasyPrint's warnings, to whichever layout on the same thread is collecting them.

    Installed once on WeasyPrint's logger (`collected`), never added and removed per call: the
    preview server lays out on one thread while others run, and a handler per call would catch
    the other threads' messages too.
    """

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.local = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        messages: list[str] | None = getattr(self.local, "messages", None)
        message = record.getMessage()
        if messages is not None and not message.startswith(_NO_HB_SUBSET):
            messages.append(message)


_COLLECT = _Collect()
_COLLECT_LOCK = threading.Lock()


@contextmanager
def collected() -> Iterator[list[str]]:
    """The messages WeasyPrint logs on this thread inside the block (nested blocks each get theirs)."""
    from weasyprint.logger import LOGGER

    with _COLLECT_LOCK:
        if _COLLECT not in LOGGER.handlers:
            LOGGER.addHandler(_COLLECT)
    outer = getattr(_COLLECT.local, "messages", None)
    messages: list[str] = []
    _COLLECT.local.messages = messages
    try:
        yield messages
    finally:
        _COLLECT.local.messages = outer


_ANCHOR = re.compile(r"(?:Anchor defined twice|No anchor)[^:#]*[:#]\s*'?#?([\w.:-]+)")
_NOTDEF = re.compile(r"\.notdef.*\(U\+([0-9A-F]+)\)")
_URL = re.compile(re.escape(BASE_URL) + r"([^\s'\")]+)")


def locate(message: str, book: Book) -> tuple[Path, int | None]:
    """Where a WeasyPrint message comes from in the manuscript: the chapter and line of the id or
    the file it names; else the layouts folder (a stylesheet or template)."""
    from ...transform.links import line_of

    needle = None
    if m := _ANCHOR.search(message):
        needle = f'id="{m.group(1)}"'
    elif m := _URL.search(message):
        href = m.group(1).split("#")[0]
        src = next((img.src for img in book.images if img.href == href), href)
        needle = src
    if needle is not None:
        for ch in book.chapters:
            if needle in ch.source or any(needle in getattr(b, "html", "") for b in ch.blocks):
                return ch.path, line_of(ch, needle)
    return builtin_layouts_dir(), None


def report_messages(messages: list[str], ctx: BuildContext) -> None:
    """WeasyPrint's warnings as the build's, at their chapter line, each distinct one once."""
    for message in dict.fromkeys(messages):
        code = _NOTDEF.search(message)
        if code and any(f"(U+{code.group(1)}" in w.message for w in ctx.reporter.warnings):
            continue  # glyphs.check_glyphs has said it, at the manuscript's line
        path, line = locate(message, ctx.book)
        text = f"WeasyPrint: {message.replace(BASE_URL, '')}"
        if not any(w.message == text and w.location.path == path for w in ctx.reporter.warnings):
            ctx.reporter.warn(path, line, text)


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


_FONT_FACE = re.compile(r"@font-face\s*\{[^}]*\}")


def _font_inputs(rendered: Rendered) -> str:
    """What a WeasyPrint font configuration learns from a print page: its @font-face rules (in its
    stylesheets, or inline in the page) and the files they load (every asset but the images,
    which change with the text: formulas), and the fonts installed on the machine."""
    from ...render.glyphs import fontconfig_state

    fonts = [(asset.href, asset.media_type, asset.data) for asset in sorted(rendered.assets, key=lambda a: a.href)
             if not asset.media_type.startswith("image/")]
    rules = [rule for page in rendered.pages for rule in _FONT_FACE.findall(page.content)]
    return digest(fontconfig_state(), *(part for font in fonts for part in font), *rules)


class PrintFonts:
    """One WeasyPrint font configuration for a process that lays chapters out again and again.

    Why it is kept: every `FontConfiguration` loads the installed fonts into a new fontconfig
    configuration and gives it to a new Pango font map, and Pango 1.50 does not release that
    configuration when the map is freed (`pango_fc_font_map_set_config` takes a reference that
    finalizing the map never drops). That was about 0.25 MB of native memory per layout, out of
    Python's sight: `bookmaker serve`, laying the open chapter out at every save, grew by 0.27 MB
    a save without bound. Kept while the page's font inputs are the same (`_font_inputs`), a
    configuration holds exactly what a fresh one would; when they change it is replaced (once per
    change of the fonts or stylesheets, not per save).

    `hold` lets one layout use it at a time: Pango's objects are not for two threads at once.
    """

    STRUT_LIMIT = 4096  # WeasyPrint's per-configuration cache of line metrics, one per font style seen

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key = ""
        self._config: Any = None

    @contextmanager
    def hold(self, rendered: Rendered) -> Iterator[Any]:
        """The configuration for `rendered`, for the time of one layout and its writing."""
        from weasyprint.text.fonts import FontConfiguration

        with self._lock:
            key = _font_inputs(rendered)
            if self._config is None or key != self._key:
                self._config, self._key = FontConfiguration(), key
            if len(self._config.strut_layouts) > self.STRUT_LIMIT:  # a pure cache: bounded
                self._config.strut_layouts.clear()
            yield self._config


class PdfBackend:
    name = "pdf"
    suffix = ".pdf"

    def lay_out(self, rendered: Rendered, ctx: BuildContext, font_config: Any = None) -> Any:
        """WeasyPrint's Document: pages laid out, not yet written. `font_config`: a kept
        `FontConfiguration` (PrintFonts.hold) for a process that lays out again and again;
        by default a new one."""
        from weasyprint import HTML
        from weasyprint.text.fonts import FontConfiguration

        missing_libraries(ctx.reporter)
        (page,) = rendered.pages
        assets = {a.href: a for a in rendered.assets}
        with collected() as messages:
            html = HTML(string=page.content, base_url=BASE_URL, url_fetcher=_fetcher(assets))
            with patched():
                document = html.render(font_config=font_config if font_config is not None else FontConfiguration())
        report_messages(messages, ctx)
        return document

    def write_document(self, document: Any, ctx: BuildContext) -> bytes:
        """PDF bytes under the book's print profile: metadata, links, bookmarks, PDF/X variant."""
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
        with collected() as messages, patched():
            data: bytes = document.write_pdf(pdf_identifier=identifier, pdf_variant=profile.pdf_variant)
        report_messages(messages, ctx)
        if not data.startswith(b"%PDF-"):
            raise OutputError.at(config.root, None, "WeasyPrint did not produce a PDF")
        return data

    def write(self, rendered: Rendered, ctx: BuildContext) -> bytes:
        return self.write_document(self.lay_out(rendered, ctx), ctx)
