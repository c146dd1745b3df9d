"""Preflight: the rules of the book's print profile, checked on the PDF itself.

Reads the PDF as a printer's preflight would: boxes, fonts, placed image resolution, where text
and images sit, page count, forbidden objects and colour spaces. pypdf reads the structure;
pdfminer.six gives every character's and image's box on the page.
"""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.errors import Diagnostic, SourceLocation
from ..core.model import BookConfig, PageContent

PT = 72.0
TOLERANCE = 0.75  # points: a hundredth of an inch, and then some, for rounding in the PDF
MIN_TEXT_PT = 7.0


@dataclass(frozen=True)
class RuleResult:
    rule: str
    passed: bool
    measured: str
    pages: tuple[int, ...] = ()  # 1-based pages that fail
    detail: str = ""


@dataclass(frozen=True)
class PreflightReport:
    profile: str
    page_count: int
    results: tuple[RuleResult, ...]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    def diagnostics(self, pdf: Path) -> list[Diagnostic]:
        return [
            Diagnostic(SourceLocation(pdf, None), f"preflight ({self.profile}): {r.rule}: {r.detail or r.measured}" + (f" (pages {_pages(r.pages)})" if r.pages else ""))
            for r in self.results if not r.passed
        ]

    def as_json(self) -> dict[str, Any]:
        return {
            "profile": self.profile, "pages": self.page_count, "passed": self.passed,
            "rules": [{"rule": r.rule, "passed": r.passed, "measured": r.measured, "failing_pages": list(r.pages), "detail": r.detail} for r in self.results],
        }


def _pages(pages: tuple[int, ...], most: int = 12) -> str:
    shown = ", ".join(str(p) for p in pages[:most])
    return shown + (f" … {len(pages) - most} more" if len(pages) > most else "")


def _layout(data: bytes) -> list[PageContent]:
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LTChar, LTImage

    pages = []
    for lt_page in extract_pages(io.BytesIO(data), laparams=None):
        content = PageContent()

        def walk(obj: Any) -> None:
            if isinstance(obj, LTChar):
                if obj.get_text().strip():
                    content.text.append((obj.x0, obj.y0, obj.x1, obj.y1, obj.size))
            elif isinstance(obj, LTImage):
                w, h = obj.srcsize
                content.images.append((obj.x0, obj.y0, obj.x1, obj.y1, int(w or 0), int(h or 0)))
            if hasattr(obj, "__iter__"):
                for child in obj:
                    walk(child)

        walk(lt_page)
        pages.append(content)
    return pages


def _box(page: Any, name: str) -> tuple[float, float, float, float]:
    box = getattr(page, name)
    return (float(box.left), float(box.bottom), float(box.right), float(box.top))


def _fonts(obj: Any, memo: dict[Any, dict[Any, tuple[str, Any]]]) -> dict[Any, tuple[str, Any]]:
    """Every font in an object's resource dictionary, following form XObjects: (name, font) by
    font object. `memo` keeps each resource dictionary's answer (by object number) across the
    pages of one PDF: WeasyPrint gives every page, and every form, the same fonts."""
    resources = obj.get("/Resources")
    if resources is None:
        return {}
    key = getattr(resources, "idnum", None)
    if key is not None and key in memo:
        return memo[key]
    if key is not None:
        memo[key] = {}  # a form that paints itself: no second visit
    found: dict[Any, tuple[str, Any]] = {}
    resources = resources.get_object()
    for ref in (resources.get("/Font") or {}).values():
        font = ref.get_object()
        found[getattr(ref, "idnum", id(font))] = (str(font.get("/BaseFont", "?")), font)
    for ref in (resources.get("/XObject") or {}).values():
        xobj = ref.get_object()
        if xobj.get("/Subtype") == "/Form":
            found.update(_fonts(xobj, memo))
    if key is not None:
        memo[key] = found
    return found


def _embedded(font: Any) -> bool:
    if font.get("/Subtype") == "/Type3":
        return True  # glyphs are drawn by the PDF itself
    target = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
    descriptor = target.get("/FontDescriptor")
    if descriptor is None:
        return False
    descriptor = descriptor.get_object()
    return any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))


_RGB_OPS = re.compile(rb"(?<![\w.])(rg|RG)(?![\w])")


def _colour_model(cs: Any) -> str:
    cs = cs.get_object() if hasattr(cs, "get_object") else cs
    if isinstance(cs, list) or hasattr(cs, "__getitem__") and not isinstance(cs, str):
        try:
            kind = str(cs[0])
        except (IndexError, KeyError, TypeError):
            return str(cs)
        if kind == "/ICCBased":
            n = int(cs[1].get_object().get("/N", 0))
            return {1: "ICC gray", 3: "ICC RGB", 4: "ICC CMYK"}.get(n, "ICC")
        if kind == "/Indexed":
            return _colour_model(cs[1])
        return kind.lstrip("/")
    return str(cs).lstrip("/")


_PAINTED = re.compile(rb"/([^\s/\[\]()<>{}%]+)\s+(Do|scn|SCN)(?![\w])")


def _colour_spaces(page: Any, painted: dict[int, frozenset[str]] | None = None) -> set[str]:
    """Colour models a page paints with: from operators, colour space resources and images, in its
    own content and in every form XObject and tiling pattern it paints (`/Name Do`, `/Name scn`;
    SVG drawings and groups are forms: backends/wp_svg.py). `painted` remembers what each form,
    pattern and image (by object number) paints, across the pages of one document."""
    memo: dict[int, frozenset[str]] = {} if painted is None else painted

    def scan(data: bytes, resources: Any, depth: int) -> set[str]:
        found: set[str] = set()
        resources = resources.get_object() if hasattr(resources, "get_object") else (resources or {})
        if _RGB_OPS.search(data):
            found.add("DeviceRGB")
        for name, cs in (resources.get("/ColorSpace") or {}).items():
            if re.search(rf"/{re.escape(str(name)[1:])}\s+(cs|CS)\b".encode(), data):
                found.add(_colour_model(cs))
        for model_name in ("DeviceRGB", "DeviceCMYK", "DeviceGray"):
            if re.search(rb"/" + model_name.encode() + rb"\s+(cs|CS)\b", data):
                found.add(model_name)
        if re.search(rb"(?<![\w.])(k|K)(?![\w])", data):
            found.add("DeviceCMYK")
        x_objects = resources.get("/XObject") or {}
        patterns = resources.get("/Pattern") or {}
        for name, operator in set(_PAINTED.findall(data)):
            ref = (x_objects if operator == b"Do" else patterns).get("/" + name.decode("latin-1"))
            if ref is None:
                continue
            key = getattr(ref, "idnum", None)
            if key is not None and key in memo:
                found |= memo[key]
                continue
            obj = ref.get_object()
            inner: set[str] = set()
            if obj.get("/Subtype") == "/Image":
                if "/ColorSpace" in obj:
                    inner.add(_colour_model(obj["/ColorSpace"]))
            elif (obj.get("/Subtype") == "/Form" or obj.get("/PatternType") == 1) and depth < 32:
                inner = scan(obj.get_data(), obj.get("/Resources") or resources, depth + 1)
            if key is not None:
                memo[key] = frozenset(inner)
            found |= inner
        return found

    contents = page.get_contents()
    return scan(contents.get_data() if contents is not None else b"", page.get("/Resources") or {}, 0)


@dataclass
class _Pdf:
    """One PDF under one print profile, as the rules read it."""

    data: bytes
    settings: Any  # model.PrintSettings
    reader: Any  # pypdf.PdfReader
    given_layout: list[PageContent] | None

    @property
    def profile(self) -> Any:
        return self.settings.profile

    @property
    def pages(self) -> Any:
        return self.reader.pages

    @property
    def n(self) -> int:
        return len(self.reader.pages)

    @functools.cached_property
    def layout(self) -> list[PageContent]:
        """Text and image boxes per page: the build's own (from its layout), or read with pdfminer."""
        return self.given_layout if self.given_layout is not None else _layout(self.data)

    @functools.cached_property
    def root(self) -> Any:
        return self.reader.trailer["/Root"].get_object()


Rule = Callable[[_Pdf], "list[RuleResult]"]


def _boxes_rules(pdf: _Pdf) -> list[RuleResult]:
    settings, profile, n = pdf.settings, pdf.profile, pdf.n
    trim_w, trim_h = settings.trim_width * PT, settings.trim_height * PT
    bad_trim, bad_media = [], []
    bleed = {side: profile.bleeds(side) * PT for side in ("top", "bottom", "outside", "inside")}
    for i, page in enumerate(pdf.pages):
        tx0, ty0, tx1, ty1 = _box(page, "trimbox")
        if abs((tx1 - tx0) - trim_w) > TOLERANCE or abs((ty1 - ty0) - trim_h) > TOLERANCE:
            bad_trim.append(i + 1)
        right = i % 2 == 0
        want = (tx0 - (bleed["inside"] if right else bleed["outside"]), ty0 - bleed["bottom"],
                tx1 + (bleed["outside"] if right else bleed["inside"]), ty1 + bleed["top"])
        media = _box(page, "mediabox")
        if any(abs(a - b) > TOLERANCE for a, b in zip(media, want)):
            bad_media.append(i + 1)
    sides = ", ".join(profile.bleed_sides) or "none"
    return [RuleResult("TrimBox is the trim size", not bad_trim,
                       f'{settings.trim_width:g}in x {settings.trim_height:g}in on {n - len(bad_trim)}/{n} pages', tuple(bad_trim)),
            RuleResult("MediaBox is trim plus bleed", not bad_media,
                       f"bleed {profile.bleed:g}in on {sides} (by page side)", tuple(bad_media),
                       "" if not bad_media else "MediaBox does not match the trim plus the profile's bleed")]


def _fonts_rule(pdf: _Pdf) -> list[RuleResult]:
    fonts: dict[str, bool] = {}
    font_pages: list[int] = []
    font_memo: dict[Any, dict[Any, tuple[str, Any]]] = {}
    for i, page in enumerate(pdf.pages):
        page_ok = True
        for name, font in _fonts(page, font_memo).values():
            ok = _embedded(font)
            fonts[name] = fonts.get(name, True) and ok
            page_ok &= ok
        if not page_ok:
            font_pages.append(i + 1)
    names = sorted({re.sub(r"^/?[A-Z]{6}\+", "", f).lstrip("/") for f in fonts})
    missing = sorted(f for f, ok in fonts.items() if not ok)
    return [RuleResult("fonts embedded", not missing, ", ".join(names) or "no fonts",
                       tuple(font_pages), f"not embedded: {', '.join(missing)}" if missing else "")]


def _image_rule(pdf: _Pdf) -> list[RuleResult]:
    dpis: list[float] = []
    vectors = 0  # SVG images: drawn as vectors, with no resolution to check
    low_dpi: list[int] = []
    for i, content in enumerate(pdf.layout[:pdf.n]):
        for x0, y0, x1, y1, w_px, h_px in content.images:
            width_in = (x1 - x0) / PT
            if not w_px:
                vectors += 1
                continue
            if width_in <= 0:
                continue
            dpi = min(w_px / width_in, h_px / ((y1 - y0) / PT)) if y1 > y0 else w_px / width_in
            dpis.append(dpi)
            if dpi < pdf.profile.min_image_dpi - 0.5:
                low_dpi.append(i + 1)
    measured = f"smallest {min(dpis):.0f} dpi over {len(dpis)} images (minimum {pdf.profile.min_image_dpi})" if dpis else "no images"
    if vectors:
        measured = (measured + "; " if dpis else "") + f"{vectors} vector image{'s' if vectors != 1 else ''} (SVG, no resolution)"
    return [RuleResult("image resolution at placed size", not low_dpi, measured, tuple(sorted(set(low_dpi))))]


def _margins_rule(pdf: _Pdf) -> list[RuleResult]:
    profile, n = pdf.profile, pdf.n
    outside: list[int] = []
    min_in = profile.min_gutter(n) * PT
    min_m = profile.min_margin * PT
    closest = {"top": 1e9, "bottom": 1e9, "outside": 1e9, "inside": 1e9}
    for i, (page, content) in enumerate(zip(pdf.pages, pdf.layout)):
        tx0, ty0, tx1, ty1 = _box(page, "trimbox")
        # pdfminer measures from the MediaBox's lower-left corner; the boxes are in user space
        mx0, my0 = _box(page, "mediabox")[:2]
        tx0, ty0, tx1, ty1 = tx0 - mx0, ty0 - my0, tx1 - mx0, ty1 - my0
        right = i % 2 == 0
        page_outside = False
        mw, mh = _box(page, "mediabox")[2] - mx0, _box(page, "mediabox")[3] - my0
        # A picture that runs to the bleed's edge is meant to bleed (a plate to the bleed, a
        # background): the printer trims it; the margins keep only what must not be trimmed.
        kept = [img[:4] + (0.0,) for img in content.images
                if not (img[0] <= 0.5 or img[1] <= 0.5 or img[2] >= mw - 0.5 or img[3] >= mh - 0.5)]
        for x0, y0, x1, y1, *rest in content.text + kept:
            d = {"top": ty1 - y1, "bottom": y0 - ty0,
                 "outside": (tx1 - x1) if right else (x0 - tx0), "inside": (x0 - tx0) if right else (tx1 - x1)}
            for side, value in d.items():
                closest[side] = min(closest[side], value)
            if d["top"] < min_m - 0.01 or d["bottom"] < min_m - 0.01 or d["outside"] < min_m - 0.01 or d["inside"] < min_in - 0.01:
                page_outside = True
        if page_outside:
            outside.append(i + 1)

    def fmt(v: float) -> str:
        return "n/a" if v > 1e8 else f"{v / PT:.3f}in"

    return [RuleResult(
        "content inside the margins and gutter", not outside,
        f"closest to the trim: top {fmt(closest['top'])}, bottom {fmt(closest['bottom'])}, outside {fmt(closest['outside'])}, "
        f"gutter {fmt(closest['inside'])} (minimum {profile.min_margin:g}in, gutter {profile.min_gutter(n):g}in for {n} pages)",
        tuple(outside))]


def _text_size_rule(pdf: _Pdf) -> list[RuleResult]:
    small_text: list[int] = []
    smallest_text = 99.0
    for i, content in enumerate(pdf.layout[:pdf.n]):
        for x0, y0, x1, y1, size in content.text:
            smallest_text = min(smallest_text, size)
            if size < MIN_TEXT_PT - 0.05:
                small_text.append(i + 1)
                break
    return [RuleResult("no text under 7pt", not small_text,
                       f"smallest text {smallest_text:.1f}pt" if smallest_text < 99 else "no text", tuple(small_text))]


def _page_count_rules(pdf: _Pdf) -> list[RuleResult]:
    profile, n = pdf.profile, pdf.n
    count_ok = n >= profile.min_pages and (profile.max_pages is None or n <= profile.max_pages)
    bounds = f"{profile.min_pages}..{profile.max_pages}" if profile.max_pages else f">= {profile.min_pages}"
    results = [RuleResult("page count", count_ok, f"{n} pages (allowed {bounds})"),
               RuleResult("page count multiple", n % profile.page_multiple == 0, f"{n} pages, multiple of {profile.page_multiple}")]
    if profile.last_page_blank:
        last = pdf.layout[-1] if pdf.layout else PageContent()
        blank = not last.text and not last.images
        results.append(RuleResult("last page blank without folio", blank, "blank" if blank else "has content", () if blank else (n,)))
    return results


def _forbidden_rule(pdf: _Pdf) -> list[RuleResult]:
    profile, root = pdf.profile, pdf.root
    annots = tuple(i + 1 for i, p in enumerate(pdf.pages) if p.get("/Annots"))
    outlines = "/Outlines" in root and bool(root["/Outlines"].get_object().get("/First"))
    problems = []
    if annots and not profile.annotations:
        problems.append(f"annotations on {len(annots)} pages")
    if outlines and not profile.bookmarks:
        problems.append("bookmarks (outline)")
    if "/AcroForm" in root:
        problems.append("form fields")
    if pdf.reader.is_encrypted:
        problems.append("encryption")
    return [RuleResult("no forbidden objects", not problems, "none" if not problems else "; ".join(problems),
                       annots if annots and not profile.annotations else (), "; ".join(problems))]


def _colour_rules(pdf: _Pdf) -> list[RuleResult]:
    if pdf.profile.colour != "cmyk":
        return []
    rgb_pages = []
    models: set[str] = set()
    painted: dict[int, frozenset[str]] = {}
    for i, page in enumerate(pdf.pages):
        found = _colour_spaces(page, painted)
        models |= found
        if found & {"DeviceRGB", "ICC RGB", "CalRGB", "Lab"}:
            rgb_pages.append(i + 1)
    intents = pdf.root.get("/OutputIntents")
    intent_n = 0
    if intents:
        dest = intents[0].get_object().get("/DestOutputProfile")
        intent_n = int(dest.get_object().get("/N", 0)) if dest is not None else 0
    return [RuleResult("CMYK or grey only", not rgb_pages, "colour spaces: " + (", ".join(sorted(models)) or "none"), tuple(rgb_pages)),
            RuleResult("CMYK output intent", intent_n == 4, "CMYK ICC output intent" if intent_n == 4 else "no CMYK output intent")]


RULES: tuple[Rule, ...] = (_boxes_rules, _fonts_rule, _image_rule, _margins_rule, _text_size_rule,
                           _page_count_rules, _forbidden_rule, _colour_rules)
"""The print profile's rules, in the order the report lists them; each reads the PDF (and the
build's layout of it, when given) and gives its results."""


def preflight(data: bytes, config: BookConfig, layout: list[PageContent] | None = None) -> PreflightReport:
    """Every rule of `config`'s print profile checked on the PDF `data`. `layout` is the build's own
    text and image boxes of it (backends/wp_internals.layout_summary); without, they are read
    from the PDF."""
    from pypdf import PdfReader

    pdf = _Pdf(data, config.print, PdfReader(io.BytesIO(data)), layout)
    results = tuple(result for rule in RULES for result in rule(pdf))
    return PreflightReport(pdf.profile.name, pdf.n, results)


# Read by the cover wrap's preflight (checks/cover.py) as well.
page_fonts = _fonts
embedded = _embedded
colour_spaces = _colour_spaces


def page_count(data: bytes) -> int:
    """The number of pages of a PDF's bytes."""
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(data)).pages)
