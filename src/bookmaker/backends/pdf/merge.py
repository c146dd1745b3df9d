"""One PDF from the laid-out parts (pypdf): pages in order, links between parts put back, bookmarks
merged, identical objects stored once."""

from __future__ import annotations

import io
from typing import Any, Sequence

from .parts import CrossLink
from .pypdf_internals import set_info_and_id


def merge(pieces: Sequence[bytes], cross_links: Sequence[tuple[int, CrossLink]], bookmarks: bool, annotations: bool) -> bytes:
    """One PDF from the parts, in order: catalog, information and /ID from the first part.

    Named destinations and (when `bookmarks`) outlines of every part are kept; `cross_links` (page
    in the merged file, link) become link annotations to the named destinations.
    """
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import DictionaryObject, NameObject

    readers = [PdfReader(io.BytesIO(data)) for data in pieces]
    writer = PdfWriter()
    for reader in readers:
        writer.append(reader, import_outline=bookmarks)
    first = readers[0]
    writer.pdf_header = first.pdf_header
    root = first.trailer["/Root"].get_object()
    assert isinstance(root, DictionaryObject)
    for key in ("/Lang", "/OutputIntents", "/Metadata", "/MarkInfo", "/ViewerPreferences", "/PageMode"):
        if key in root:
            writer.root_object[NameObject(key)] = root[key].clone(writer)
    if not bookmarks and "/Outlines" in writer.root_object:
        del writer.root_object["/Outlines"]
    set_info_and_id(writer, first.trailer["/Info"].get_object(), first.trailer["/ID"])  # the book's own, as one document has
    if annotations:
        _put_back(writer, cross_links)
    # Each part embeds its own copy of every image it shows (and of the ICC profile, the
    # metadata...): written once. Font subsets differ from part to part and stay apart.
    writer.compress_identical_objects(remove_duplicates=True, remove_unreferenced=True)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _put_back(writer: Any, cross_links: Sequence[tuple[int, CrossLink]]) -> None:
    """The links to other parts as link annotations to their named destinations, each at its place
    among its page's links (the order a reader tabs through them), as one document has them."""
    from pypdf.generic import ArrayObject, DictionaryObject, FloatObject, NameObject, NumberObject, TextStringObject

    by_page: dict[int, list[CrossLink]] = {}
    for page_index, link in cross_links:
        by_page.setdefault(page_index, []).append(link)
    for page_index, links in by_page.items():
        links.sort(key=lambda link: link.position)
        page = writer.pages[page_index]
        before = len(page["/Annots"].get_object()) if "/Annots" in page else 0
        for link in links:
            writer.add_annotation(page_index, DictionaryObject({
                NameObject("/Type"): NameObject("/Annot"),
                NameObject("/Subtype"): NameObject("/Link"),
                NameObject("/Rect"): ArrayObject(FloatObject(v) for v in link.rect),
                NameObject("/BS"): DictionaryObject({NameObject("/W"): NumberObject(0)}),
                NameObject("/Dest"): TextStringObject(link.anchor),
            }))
        annots = page["/Annots"].get_object()
        kept, added = list(annots[:before]), list(annots[before:])
        for link, ref in zip(links, added):  # ascending positions: each goes back where it was
            kept.insert(min(link.position, len(kept)), ref)
        annots[:] = kept
