"""The ebook stores' rules (core/stores.py), checked on the EPUB itself: what `bookmaker check`
reports for the EPUB and what a build refuses to write.

Read from the package: the OPF's manifest (each item's media type and properties), every image's
pixel size (its header only), every file's size and the EPUB's. A table of small rule functions, one
result per store and rule, as the print preflight (checks/preflight.py) is.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

from ..core.model import BookConfig
from ..core.stores import MB, StoreRules, rules_of
from .preflight import PreflightReport, RuleResult

_OPF_NS = "http://www.idpf.org/2007/opf"


@dataclass(frozen=True)
class Item:
    href: str  # inside the zip
    media_type: str
    properties: frozenset[str]
    size: int
    pixels: tuple[int, int] | None  # an image's width and height


@dataclass(frozen=True)
class Package:
    size: int
    items: tuple[Item, ...]
    cover: Item | None
    scripted: bool  # a content document has <script> or the `scripted` property

    def images(self) -> list[Item]:
        return [i for i in self.items if i.media_type.startswith("image/")]


def read_package(data: bytes) -> Package:
    """What the store rules look at in an EPUB's bytes."""
    from lxml import etree
    from PIL import Image as PILImage

    with zipfile.ZipFile(io.BytesIO(data)) as z:
        container = etree.fromstring(z.read("META-INF/container.xml"))
        opf_path = container.find(".//{*}rootfile").get("full-path")
        opf = etree.fromstring(z.read(opf_path))
        base = posixpath.dirname(opf_path)
        cover_id = next((m.get("content") for m in opf.iter(f"{{{_OPF_NS}}}meta") if m.get("name") == "cover"), None)
        items, cover, scripted = [], None, False
        names = set(z.namelist())
        for el in opf.iter(f"{{{_OPF_NS}}}item"):
            href = posixpath.normpath(posixpath.join(base, el.get("href", "")))
            if href not in names:
                continue  # a manifest entry with no file: EPUBCheck's to report
            media_type, props = el.get("media-type", ""), frozenset((el.get("properties") or "").split())
            pixels = None
            if media_type.startswith("image/") and media_type != "image/svg+xml":
                try:
                    with z.open(href) as stream, PILImage.open(stream) as img:  # its header only
                        pixels = img.size
                except Exception:  # noqa: BLE001 - an unreadable image is EPUBCheck's to report
                    pixels = None
            if media_type == "application/xhtml+xml" and ("scripted" in props or b"<script" in z.read(href)):
                scripted = True
            item = Item(href, media_type, props, z.getinfo(href).file_size, pixels)
            items.append(item)
            if "cover-image" in props or (cover is None and el.get("id") == cover_id):
                cover = item
    return Package(len(data), tuple(items), cover, scripted)


Rule = Callable[[StoreRules, Package], RuleResult | None]


def _named(rules: StoreRules, rule: str) -> str:
    return f"{rules.store}: {rule}"


def _formats(rules: StoreRules, p: Package) -> RuleResult:
    bad = sorted({f"{i.href} ({i.media_type})" for i in p.images() if i.media_type not in rules.image_types})
    return RuleResult(_named(rules, "image formats"), not bad,
                      "; ".join(bad[:5]) or f"all in {', '.join(sorted(t.split('/')[1] for t in rules.image_types))}")


def _pixels(rules: StoreRules, p: Package) -> RuleResult | None:
    if rules.max_image_pixels is None:
        return None
    sized = [i for i in p.images() if i.pixels]
    over = [i for i in sized if i.pixels[0] * i.pixels[1] > rules.max_image_pixels]  # type: ignore[index]
    most = max((i.pixels[0] * i.pixels[1] for i in sized), default=0)  # type: ignore[index]
    measured = (f"{len(over)} over: " + ", ".join(f"{i.href} {i.pixels[0]} x {i.pixels[1]}" for i in over[:3])  # type: ignore[index]
                if over else f"largest {most / 1e6:.2f} MP")
    return RuleResult(_named(rules, f"images at most {rules.max_image_pixels / 1e6:g} megapixels"), not over, measured)


def _image_bytes(rules: StoreRules, p: Package) -> RuleResult | None:
    if rules.max_image_bytes is None:
        return None
    over = [i for i in p.images() if i.size > rules.max_image_bytes]
    most = max((i.size for i in p.images()), default=0)
    measured = ", ".join(f"{i.href} {i.size / MB:.1f} MB" for i in over[:3]) if over else f"largest {most / MB:.2f} MB"
    return RuleResult(_named(rules, f"images at most {rules.max_image_bytes // MB} MB"), not over, measured)


def _page_bytes(rules: StoreRules, p: Package) -> RuleResult | None:
    if rules.max_page_bytes is None:
        return None
    pages = [i for i in p.items if i.media_type == "application/xhtml+xml"]
    over = [i for i in pages if i.size > rules.max_page_bytes]
    most = max((i.size for i in pages), default=0)
    return RuleResult(_named(rules, f"content documents at most {rules.max_page_bytes // MB} MB"), not over,
                      ", ".join(i.href for i in over[:3]) if over else f"largest {most / MB:.2f} MB")


def _epub_bytes(rules: StoreRules, p: Package) -> RuleResult | None:
    if rules.max_epub_bytes is None:
        return None
    return RuleResult(_named(rules, f"EPUB at most {rules.max_epub_bytes // MB} MB"), p.size <= rules.max_epub_bytes,
                      f"{p.size / MB:.2f} MB")


def _fonts(rules: StoreRules, p: Package) -> RuleResult:
    fonts = [i for i in p.items if i.media_type.startswith(("font/", "application/font", "application/vnd.ms-opentype"))]
    bad = [i for i in fonts if i.media_type not in rules.font_types]
    return RuleResult(_named(rules, "embedded fonts it reads"), not bad,
                      ", ".join(f"{i.href} ({i.media_type})" for i in bad[:3]) if bad else f"{len(fonts)} fonts")


def _scripts(rules: StoreRules, p: Package) -> RuleResult | None:
    if rules.scripts:
        return None
    return RuleResult(_named(rules, "no JavaScript"), not p.scripted, "scripted content" if p.scripted else "none")


def _cover(rules: StoreRules, p: Package) -> RuleResult | None:
    if rules.cover_min is None and rules.cover_max is None:
        return None
    if p.cover is None or p.cover.pixels is None:
        return RuleResult(_named(rules, "cover image"), False, "no raster cover image in the manifest")
    w, h = p.cover.pixels
    low = rules.cover_min is not None and (w < rules.cover_min[0] or h < rules.cover_min[1])
    high = rules.cover_max is not None and (w > rules.cover_max[0] or h > rules.cover_max[1])
    bounds = " to ".join(f"{a} x {b}" for a, b in (rules.cover_min, rules.cover_max) if (a, b) != (None, None))
    return RuleResult(_named(rules, f"cover image {bounds} pixels"), not (low or high), f"{w} x {h}")


RULES: tuple[Rule, ...] = (_formats, _pixels, _image_bytes, _page_bytes, _epub_bytes, _fonts, _scripts, _cover)


def check_stores(data: bytes, config: BookConfig) -> PreflightReport:
    """Every rule of every store the book is made for, on the EPUB `data`."""
    package = read_package(data)
    results = [r for rules in rules_of(config.ebook_stores) for rule in RULES if (r := rule(rules, package)) is not None]
    return PreflightReport("ebook stores " + "+".join(config.ebook_stores), 0, tuple(results))


def cover_advice(config: BookConfig, width: int, height: int) -> list[str]:
    """What the chosen stores recommend of a cover that their rules still take (build warnings)."""
    advice = []
    for rules in rules_of(config.ebook_stores):
        if rules.cover_ratio and abs((height / width) / rules.cover_ratio - 1) > 0.05:
            advice.append(f"{rules.store} recommends a cover {rules.cover_ratio:g} times as tall as it is wide; "
                          f"this one is {width} x {height} ({height / width:.2f})")
        if rules.cover_ideal and (width < rules.cover_ideal[0] or height < rules.cover_ideal[1]):
            advice.append(f"{rules.store} recommends a cover of {rules.cover_ideal[0]} x {rules.cover_ideal[1]} pixels "
                          f"for sharp display; this one is {width} x {height}")
    return advice
