"""Reading an SVG: told by its bytes (`looks_like_svg`), parsed hardened (defusedxml, then lxml with
entities, DTDs and the network off), the tree's names, the intrinsic size in CSS px, and the one
XML serialiser everything is written back with (`serialise`)."""

from __future__ import annotations

import io
import re

from lxml import etree

from .allowlist import (
    _LENGTH,
    CSS_PX,
    MAX_BYTES,
    MAX_SIDE_PX,
    QUIET_NAMESPACES,
    STANDARD_DTDS,
    SVG_NS,
    Element,
)


class SvgRefused(ValueError):
    """The SVG cannot be used at all; the message says why (no location: the caller adds it)."""


# --- sniffing and parsing -----------------------------------------------------------------------

_SVG_TAG = re.compile(rb"<([\w.-]+:)?svg[\s>/]|<!ENTITY|<!DOCTYPE\s+svg", re.I)


def looks_like_svg(data: bytes) -> bool:
    """XML whose first 64 KB hold an <svg> tag (or a DOCTYPE svg or an <!ENTITY>): the SVG path.

    Decided by the bytes, not the file name: a `.png` that is really SVG is cleaned as SVG; other
    files go to Pillow, whose refusal names what it reads.
    """
    head = data[:65536]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with its byte order mark
        head = head.decode("utf-16", "ignore").encode("utf-8", "ignore")
    head = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"<") and _SVG_TAG.search(head) is not None


def _short(value: str, most: int = 48) -> str:
    value = " ".join(value.split())
    return value if len(value) <= most else value[: most - 1] + "…"


def _check_declarations(data: bytes) -> None:
    """defusedxml over expat: refuses any <!ENTITY> before it can expand, never fetches a DTD."""
    import xml.etree.ElementTree as StdET

    import defusedxml.ElementTree as SafeET
    from defusedxml import DefusedXmlException, EntitiesForbidden

    try:
        SafeET.fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except EntitiesForbidden as exc:
        if exc.sysid or exc.pubid:
            raise SvgRefused(f"declares an external entity '{exc.name}' ({_short(str(exc.sysid or exc.pubid))}); "
                             "SVG files may not read other files (XXE)") from None
        raise SvgRefused(f"declares the entity '{exc.name}' (<!ENTITY>); entity expansion (a 'billion laughs' "
                         "bomb) is refused: re-export the SVG without a DOCTYPE") from None
    except DefusedXmlException as exc:
        raise SvgRefused(f"uses a forbidden XML feature ({exc})") from None
    except StdET.ParseError as exc:
        raise SvgRefused(f"is not well-formed XML ({exc})") from None


def _parse(data: bytes) -> tuple[Element, list[str]]:
    """The root element (lxml), hardened; and what the DOCTYPE said, if it was not a standard one."""
    if len(data) > MAX_BYTES:
        raise SvgRefused(f"is over {MAX_BYTES // 2**20} MB")
    _check_declarations(data)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                             huge_tree=False, remove_comments=True, remove_pis=True)  # collect_ids=False would load the DTD
    try:
        tree = etree.parse(io.BytesIO(data), parser)
    except etree.XMLSyntaxError as exc:
        raise SvgRefused(f"is not well-formed XML ({exc})") from None
    root = tree.getroot()
    removed = []
    doctype_url = tree.docinfo.system_url
    if doctype_url and not doctype_url.startswith(STANDARD_DTDS):
        removed.append(f"DOCTYPE '{_short(doctype_url)}'")
    return root, removed


def _local(el: Element) -> tuple[str | None, str]:
    q = etree.QName(el)
    return q.namespace, q.localname


def _display(el: Element) -> str:
    ns, name = _local(el)
    return f"<{el.prefix}:{name}>" if ns != SVG_NS and el.prefix else f"<{name}>"


def _quiet_ns(ns: str | None) -> bool:
    return bool(ns) and ns.startswith(QUIET_NAMESPACES)  # type: ignore[union-attr]


# --- size -----------------------------------------------------------------------------------------

def _length(value: str | None, name: str) -> float | None:
    """CSS px of an absolute length; None when absent or a percentage (no intrinsic size)."""
    if value is None or not value.strip():
        return None
    m = _LENGTH.match(value)
    if not m:
        raise SvgRefused(f"has {name}='{_short(value)}', which is not a length (such as 300, 4in, 80mm)")
    unit = (m.group(2) or "").lower()
    if unit == "%":
        return None
    px = float(m.group(1)) * CSS_PX[unit]
    if not 0 < px <= MAX_SIDE_PX:
        raise SvgRefused(f"has {name}='{_short(value)}', which is not a usable size (over 0 and at most {MAX_SIDE_PX} px)")
    return px


def _viewbox(value: str | None) -> tuple[float, float, float, float] | None:
    if value is None or not value.strip():
        return None
    try:
        box = tuple(float(v) for v in re.split(r"[\s,]+", value.strip()))
    except ValueError:
        box = ()
    if len(box) != 4 or box[2] <= 0 or box[3] <= 0 or any(v != v or abs(v) == float("inf") for v in box):
        raise SvgRefused(f"has viewBox='{_short(value)}', which is not four numbers with a positive width and height")
    return box  # type: ignore[return-value]


def intrinsic_size(root: Element) -> tuple[float, float]:
    """The <svg> element's size in CSS px: width and height, else the viewBox's proportions."""
    width, height = _length(root.get("width"), "width"), _length(root.get("height"), "height")
    box = _viewbox(root.get("viewBox"))
    if width and height:
        return width, height
    if box:
        ratio = box[2] / box[3]
        if width:
            return width, width / ratio
        if height:
            return height * ratio, height
        if box[2] <= MAX_SIDE_PX and box[3] <= MAX_SIDE_PX:
            return box[2], box[3]
        raise SvgRefused(f"has a viewBox over {MAX_SIDE_PX} px wide or high and no width and height")
    raise SvgRefused("has a size that cannot be known: give the <svg> element width and height (such as 4in, 300), "
                     "or a viewBox")


def _number(value: float) -> str:
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return text or "0"


def serialise(root: Element) -> bytes:
    """UTF-8 XML by lxml's XML serialiser: deterministic, case kept (`viewBox`), no DOCTYPE."""
    etree.cleanup_namespaces(root)
    return etree.tostring(root, encoding="UTF-8", xml_declaration=True) + b"\n"
