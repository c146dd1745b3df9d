"""Raw HTML in a manuscript becomes safe, well-formed XHTML that EPUB allows.

nh3 (the Ammonia sanitizer) keeps an allowlist of tags and attributes: scripts, event handlers,
iframes, forms, styles, objects and anything not listed are dropped. lxml then re-serialises the
result as XML, so unclosed or misnested tags come out well-formed. Images may only be the book's
own (the Markdown image syntax sizes them); any other `<img>` is removed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Collection

_TAGS = {
    "a", "abbr", "aside", "b", "bdi", "bdo", "blockquote", "br", "caption", "cite", "code", "col",
    "colgroup", "dd", "del", "dfn", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2",
    "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q",
    "rp", "rt", "ruby", "s", "samp", "section", "small", "span", "strong", "sub", "sup", "table",
    "tbody", "td", "tfoot", "th", "thead", "time", "tr", "u", "ul", "var", "wbr",
}
_GLOBAL = {"id", "class", "title", "lang", "dir", "role", "epub:type", "aria-label", "aria-labelledby",
           "aria-describedby", "aria-hidden"}
_ATTRS = {
    "*": _GLOBAL,
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan", "headers"},
    "th": {"colspan", "rowspan", "headers", "scope"},
    "ol": {"start", "reversed", "type"},
    "time": {"datetime"},
    "q": {"cite"},
    "blockquote": {"cite"},
    "del": {"datetime"},
    "ins": {"datetime"},
    "col": {"span"},
    "colgroup": {"span"},
}
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


def clean(html: str, image_hrefs: Collection[str], warn: Callable[[str], None] | None = None) -> Cleaned:
    import nh3
    from lxml import etree
    from lxml import html as lhtml

    safe = nh3.clean(html, tags=_TAGS, attributes=_ATTRS, url_schemes=_SCHEMES, link_rel=None,
                     clean_content_tags=_DROP_CONTENT, strip_comments=True)
    removed = list(_removed(html, safe))
    wrapper = lhtml.fragment_fromstring(safe or "", create_parent="div")
    for img in list(wrapper.iter("img")):
        if img.get("src") not in image_hrefs:
            removed.append(f"<img src={img.get('src')!r}> (use Markdown image syntax for the book's own images)")
            img.drop_tree()
    for a in wrapper.iter("a"):
        href = a.get("href", "")
        if href.lower().startswith(("javascript:", "data:", "file:", "vbscript:")):
            del a.attrib["href"]
    parts = [wrapper.text or ""] if wrapper.text else []
    for child in wrapper:
        parts.append(etree.tostring(child, method="xml", encoding="unicode", with_tail=True))
    from html import escape

    if parts and wrapper.text:
        parts[0] = escape(wrapper.text, quote=False)
    return Cleaned("".join(parts), tuple(dict.fromkeys(removed)))
