"""Raw HTML in a manuscript becomes safe, well-formed XHTML that EPUB allows.

nh3 (the Ammonia sanitizer) keeps an allowlist of tags and attributes: scripts, event handlers,
iframes, forms, styles, objects and anything not listed are dropped. lxml then re-serialises the
result as XML, so unclosed or misnested tags come out well-formed. Images may only be the book's
own (the Markdown image syntax sizes them); any other `<img>` is removed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Collection, Mapping

if TYPE_CHECKING:
    from ..core.model import Image

_TAGS = {
    "a", "abbr", "aside", "b", "bdi", "bdo", "blockquote", "br", "caption", "cite", "code", "col",
    "colgroup", "dd", "del", "details", "dfn", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2",
    "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q",
    "s", "samp", "section", "small", "span", "strong", "sub", "summary", "sup", "table",
    "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul", "var", "wbr",
}
_GLOBAL = {"id", "class", "title", "lang", "dir", "role", "epub:type", "aria-label", "aria-hidden"}
_ATTRS = {
    "*": _GLOBAL,
    "a": {"href"},
    "ol": {"start", "reversed"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "col": {"span"},
    "colgroup": {"span"},
}
# Attribute values EPUBCheck validates: anything else is dropped rather than risk an invalid book.
_ROLES = {"doc-noteref", "doc-endnotes", "doc-backlink", "doc-footnote", "doc-pullquote", "doc-epigraph", "note", "presentation", "none"}
_EPUB_TYPES = {"noteref", "endnotes", "footnote", "footnotes", "pagebreak", "epigraph", "pullquote"}
_ID = re.compile(r"^[A-Za-z_][\w.-]*$")
_LANG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
_NUMBER = re.compile(r"^[1-9]\d{0,3}$")


def _attribute(element: str, attribute: str, value: str) -> str | None:
    if attribute == "role":
        return value if value in _ROLES else None
    if attribute == "epub:type":
        kept = [v for v in value.split() if v in _EPUB_TYPES]
        return " ".join(kept) or None
    if attribute == "id":
        return value if _ID.match(value) else None
    if attribute == "lang":
        return value if _LANG.match(value) else None
    if attribute == "dir":
        return value if value in ("ltr", "rtl", "auto") else None
    if attribute == "aria-hidden":
        return value if value in ("true", "false") else None
    if attribute in ("colspan", "rowspan", "span", "width", "height", "start"):
        return value if _NUMBER.match(value) or (attribute == "start" and value == "0") else None
    if attribute == "reversed":
        return "reversed"
    return value
_SCHEMES = {"http", "https", "mailto"}
_DROP_CONTENT = {"script", "style", "iframe", "object", "embed", "template", "noscript", "form", "textarea", "select", "svg", "math"}


@dataclass(frozen=True)
class Cleaned:
    xhtml: str
    removed: tuple[str, ...]  # what was taken out, for the warning


def _removed(before: str, after: str) -> tuple[str, ...]:
    import re

    tags = lambda s: {t.lower() for t in re.findall(r"<\s*([a-zA-Z][\w:-]*)", s)}  # noqa: E731
    attrs = lambda s: {a.lower() for a in re.findall(r"\s([a-zA-Z_:][\w:.-]*)\s*=", s)}  # noqa: E731
    lost = sorted(f"<{t}>" for t in tags(before) - tags(after))
    lost += sorted(f"{a}=" for a in attrs(before) - attrs(after) if a not in ("rel",))
    return tuple(lost)


def clean(html: str, image_hrefs: Collection[str], images: Mapping[str, Image] | None = None, keep: str | None = None) -> Cleaned:
    """Safe XHTML from the author's HTML. `<img>` is kept when it names an image the book loaded
    (`images`, by the src as written: it went through the same pipeline and checks as Markdown
    images) and is pointed at that image's stored file, sized; any other `<img>` is removed."""
    from html import escape

    import nh3
    from lxml import etree
    from lxml import html as lhtml

    images = images or {}
    safe = nh3.clean(html, tags=_TAGS, attributes=_ATTRS, url_schemes=_SCHEMES | {"data"}, link_rel=None,
                     clean_content_tags=_DROP_CONTENT, strip_comments=True, attribute_filter=_attribute)
    removed = list(_removed(html, safe))
    wrapper = lhtml.fragment_fromstring(safe or "", create_parent="div")
    for img in list(wrapper.iter("img")):
        src = img.get("src") or ""
        image = images.get(src)
        if image is not None:
            _place(img, image)
        elif src not in image_hrefs:
            removed.append(f"<img src={src!r}> (not an image of the book)")
            img.drop_tree()
    for a in wrapper.iter("a"):
        href = a.get("href", "")
        if href.lower().startswith(("javascript:", "data:", "file:", "vbscript:")):
            del a.attrib["href"]
    fix_content_model(wrapper)
    from ..core.text import WIDE_TABLE

    for table in wrapper.iter("table"):  # as Markdown tables: many columns are set across the measure
        if max((len(row.findall("td")) + len(row.findall("th")) for row in table.iter("tr")), default=0) >= WIDE_TABLE:
            table.set("class", " ".join(filter(None, [table.get("class"), "wide"])))
    if keep:  # markers of the renderer's own HTML (markdown/rules.py `_trusted`): say which stand in phrasing content
        for span in wrapper.iter("span"):
            if (span.get("class") or "").startswith(keep) and any(a.tag in PHRASING_ONLY for a in span.iterancestors()):
                span.set("class", span.get("class") + " inline")
    parts = [escape(wrapper.text, quote=False)] if wrapper.text else []
    parts += [etree.tostring(child, method="xml", encoding="unicode", with_tail=True) for child in wrapper]
    return Cleaned("".join(parts), tuple(dict.fromkeys(removed)))


def _place(img: Any, image: Image) -> None:
    """An author's `<img>`: the stored file, and a size. Width/height the author gave are kept
    (the other side follows the aspect); in a figure without them, the figure's placed size;
    elsewhere the image is set in the line (class "inline", as Markdown's inline images)."""
    img.set("src", image.href)
    width, height = img.get("width"), img.get("height")
    if width or height:
        w = int(width) if width else round(int(height or 0) * image.width_px / image.height_px)
        h = int(height) if height else round(int(width or 0) * image.height_px / image.width_px)
        img.set("class", "sized")
    elif any(a.tag == "figure" for a in img.iterancestors()):
        w, h = round(image.placed_width_in * 96), round(image.placed_height_in * 96)
        img.set("class", "sized")
    else:
        w, h = image.width_px, image.height_px
        img.set("class", "inline")
    img.set("width", str(max(1, w)))
    img.set("height", str(max(1, h)))
    if img.get("alt") is None:
        img.set("alt", "")


# --- HTML content models, as EPUBCheck's schema enforces them --------------------------------------

PHRASING = {
    "a", "abbr", "b", "bdi", "bdo", "br", "cite", "code", "del", "dfn", "em", "i", "img", "ins", "kbd",
    "mark", "q", "s", "samp", "small", "span", "strong", "sub", "sup", "u", "var", "wbr",
}
# Elements whose content must be phrasing content only.
PHRASING_ONLY = PHRASING - {"a", "del", "ins"} | {"p", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "dt"}
_TABLE = {"table", "caption", "colgroup", "col", "thead", "tbody", "tfoot", "tr", "td", "th"}
_TABLE_CHILDREN = {
    "table": {"caption", "colgroup", "thead", "tbody", "tfoot", "tr"},
    "thead": {"tr"}, "tbody": {"tr"}, "tfoot": {"tr"}, "tr": {"td", "th"}, "colgroup": {"col"},
}


def _rename(el: Any, tag: str) -> None:
    el.tag = tag
    for name in list(el.attrib):
        if name not in _GLOBAL:
            del el.attrib[name]


def _table_ok(table: Any) -> bool:
    if (table.text or "").strip():
        return False
    for el in table.iter():
        allowed = _TABLE_CHILDREN.get(el.tag)
        if allowed is not None:
            if (el.text or "").strip():
                return False
            for child in el:
                if child.tag not in allowed or (child.tail or "").strip():
                    return False
    return True


def _wrap_loose(parent: Any, wrapper_tag: str, allowed: set[str]) -> None:
    """Put text and elements a list may not hold directly into `wrapper_tag` items."""
    from lxml import etree

    def new_item() -> Any:
        return etree.Element(wrapper_tag)

    items: list[Any] = []
    current = None
    if (parent.text or "").strip():
        current = new_item()
        current.text = parent.text
        items.append(current)
    parent.text = None
    for child in list(parent):
        tail = child.tail
        child.tail = None
        parent.remove(child)
        if child.tag in allowed:
            items.append(child)
            current = None
        else:
            if current is None:
                current = new_item()
                items.append(current)
            current.append(child)
        if (tail or "").strip():
            if current is None:
                current = new_item()
                items.append(current)
            if len(current):
                current[-1].tail = (current[-1].tail or "") + tail
            else:
                current.text = (current.text or "") + tail
    for item in items:
        parent.append(item)


def fix_content_model(root: Any) -> None:
    """Make parsed HTML fit HTML's content models, keeping all text.

    Tables with a broken structure become divs; loose items in lists are wrapped, stray list
    items become divs; a block inside phrasing content (a div in a span, a p in a p) becomes a
    span; nested links are unlinked.
    """
    for table in [t for t in root.iter("table")]:
        if table.getparent() is not None and not _table_ok(table):
            for el in table.iter():
                if el.tag in _TABLE:
                    _rename(el, "div")
    for el in list(root.iter()):
        if el.tag in _TABLE - {"table"}:
            parent = el.getparent()
            ok = parent is not None and el.tag in _TABLE_CHILDREN.get(parent.tag, set()) | ({"td", "th"} if parent.tag == "tr" else set())
            if not ok and not any(a.tag == "table" for a in el.iterancestors()):
                _rename(el, "div")
    for lst in list(root.iter("ul", "ol")):
        _wrap_loose(lst, "li", {"li"})
    for dl in list(root.iter("dl")):
        _wrap_loose(dl, "dd", {"dt", "dd"})
    for el in list(root.iter("summary")):
        parent = el.getparent()
        if parent is None or parent.tag != "details" or el is not parent[0]:
            _rename(el, "div")
    for el in list(root.iter("li", "dt", "dd", "figcaption")):
        parent = el.getparent()
        if el.tag == "li" and (parent is None or parent.tag not in ("ul", "ol")):
            _rename(el, "div")
        elif el.tag in ("dt", "dd") and (parent is None or parent.tag != "dl"):
            _rename(el, "div")
        elif el.tag == "figcaption" and (parent is None or parent.tag != "figure" or el not in (parent[0], parent[-1])):
            _rename(el, "div")

    def walk(el: Any, phrasing: bool, in_link: bool) -> None:
        for child in list(el):
            if not isinstance(child.tag, str):
                continue
            if phrasing and child.tag not in PHRASING:
                if child.tag == "hr":
                    parent = child.getparent()
                    if child.tail:
                        prev = child.getprevious()
                        if prev is not None:
                            prev.tail = (prev.tail or "") + child.tail
                        else:
                            parent.text = (parent.text or "") + child.tail
                    parent.remove(child)
                    continue
                _rename(child, "span")
            if in_link and child.tag == "a":
                _rename(child, "span")
            walk(child, phrasing or child.tag in PHRASING_ONLY, in_link or child.tag == "a")

    walk(root, root.tag in PHRASING_ONLY, False)
