"""Text copied out of the PDF reads as written, also in scripts whose glyphs serve many clusters.

WeasyPrint (70.0) gives each glyph of a font one text in the font's ToUnicode map: the text of the
cluster the glyph was first drawn in. In Devanagari, Kannada or Malayalam one glyph (a vowel sign,
half of a conjunct) is drawn in many clusters of different text, so a PDF reader copies अधिकारों as
अधिकोरों although the page shows the right word. Where the glyphs of a cluster would not give back
the cluster's text through that map, this patch wraps them in a marked-content span
`/Span <</ActualText <FEFF...>>> BDC ... EMC` (ISO 32000-1, 14.9.4), which text extraction
(poppler's pdftotext, Acrobat, pdf.js) reads instead of the map. Clusters that map right are
written exactly as WeasyPrint writes them, so a Latin book's PDF is byte for byte the same.

`draw_first_line` below is WeasyPrint 70.0's function of the same name (weasyprint/draw/text.py,
BSD-3-Clause) with the span added; the lines that differ are marked "bookmaker:". It is put in
place by `wp_internals.patched`, for the WeasyPrint version it was copied from.
"""

from __future__ import annotations

import codecs
import re
from io import BytesIO
from typing import Any
from xml.etree import ElementTree


def actual_text(text: str) -> bytes:
    """The property list of a Span whose ActualText is `text`, as UTF-16BE with its BOM."""
    encoded = codecs.BOM_UTF16_BE + text.encode("utf-16-be")
    return b"<</ActualText <" + encoded.hex().encode("ascii") + b">>>"


def copies_right(to_unicode: dict[int, str], glyphs: list[tuple[int, str]], text: str) -> bool:
    """Whether `glyphs` (glyph id, the text WeasyPrint would map it to if it is not mapped yet, in
    drawing order; the first mapping of a glyph is the one that stays) copy out as `text`.

    A glyph mapped to no text does not: a reader sees a gap as wide as the glyph where there are
    no characters, and breaks the word there (a pre-base vowel sign, drawn before its consonant,
    is mapped to nothing and the whole cluster's text goes to the consonant).
    """
    seen = dict(to_unicode)
    for glyph_id, glyph_text in glyphs:
        seen.setdefault(glyph_id, glyph_text)
    mapped = [seen[glyph_id] for glyph_id, _ in glyphs]
    return all(mapped) and "".join(mapped) == text


def _cluster_end(clusters: Any, start: int, num_glyphs: int) -> int:
    """The index after the last glyph of the cluster whose first glyph is `start`."""
    end = start + 1
    while end < num_glyphs and clusters[end] == clusters[start]:
        end += 1
    return end


def _glyph_text(glyph_item: Any, utf8_text: bytes, i: int, num_glyphs: int) -> str:
    """The text WeasyPrint maps glyph `i` of the run to when it is drawn first (its code)."""
    clusters = glyph_item.glyphs.log_clusters
    offset = glyph_item.item.offset
    t1 = clusters[i]
    if glyph_item.item.analysis.level % 2:  # rtl
        t2 = glyph_item.item.length if i == 0 else clusters[i - 1]
    else:
        t2 = glyph_item.item.length if i == num_glyphs - 1 else clusters[i + 1]
    return utf8_text[offset + t1:offset + t2].decode()


def _cluster_text(glyph_item: Any, utf8_text: bytes, start: int, end: int, num_glyphs: int) -> str:
    """The text of the cluster made of glyphs `start` to `end` (excluded) of the run."""
    clusters = glyph_item.glyphs.log_clusters
    offset = glyph_item.item.offset
    t1 = clusters[start]
    if glyph_item.item.analysis.level % 2:  # rtl: glyphs in visual order, clusters decreasing
        t2 = glyph_item.item.length if start == 0 else clusters[start - 1]
    else:
        t2 = glyph_item.item.length if end == num_glyphs else clusters[end]
    return utf8_text[offset + t1:offset + t2].decode()


def _marks_end(glyph_item: Any, end: int) -> int:
    """The index after the zero-advance glyphs (marks drawn over the glyph before them, each a
    cluster of its own in Pango) that follow glyph `end - 1` of a left-to-right run."""
    from weasyprint.text.ffi import pango

    glyph_string = glyph_item.glyphs
    num_glyphs = glyph_string.num_glyphs
    if glyph_item.item.analysis.level % 2:
        return end
    while end < num_glyphs:
        glyph_info = glyph_string.glyphs[end]
        if glyph_info.geometry.width or glyph_info.glyph == pango.PANGO_GLYPH_EMPTY:
            break
        if glyph_info.glyph & pango.PANGO_GLYPH_UNKNOWN_FLAG:
            break
        end = _cluster_end(glyph_string.log_clusters, end, num_glyphs)
    return end


# Scripts whose glyphs each copy out as one text however they are clustered, and that combine no
# marks: Latin (to U+02FF, and precomposed in U+1E00-1EFF), Greek (polytonic too), Cyrillic, Hebrew and Arabic letters without their points,
# general punctuation, currency, letterlike symbols, arrows, mathematical operators.
_SIMPLE = re.compile("[\x00-\u02ff\u0370-\u0482\u048a-\u0590\u05d0-\u05ff\u0600-\u060f\u061b-\u064a"
                     "\u0660-\u066f\u0671-\u06d5\u06ee-\u06ff\u1e00-\u1fff\u2000-\u206f\u20a0-\u20cf\u2100-\u22ff]*")


def simple_text(utf8: bytes) -> bool:
    """True when a run's text cannot copy out wrong through the ToUnicode map (see _SIMPLE)."""
    return _SIMPLE.fullmatch(utf8.decode("utf-8", "replace")) is not None


def span_text(font: Any, glyph_item: Any, utf8_text: bytes, start: int) -> tuple[int, str | None]:
    """(end, text): the span that would start at glyph `start` of the run ends before glyph `end`;
    `text` is its text if it is needed, else None.

    A span holds the cluster starting at `start` and the zero-advance marks after it. It is needed
    when its glyphs would not copy out as its text through the font's map, and whenever it holds
    such a mark: a reader takes a character that starts (almost) where the one before it started
    for a duplicate and breaks the word there (देन copied as दे न), and a span is one character
    as wide as all its glyphs.
    """
    from weasyprint.text.ffi import pango

    glyph_string = glyph_item.glyphs
    num_glyphs = glyph_string.num_glyphs
    cluster_end = _cluster_end(glyph_string.log_clusters, start, num_glyphs)
    end = _marks_end(glyph_item, cluster_end)
    glyphs = []
    for i in range(start, end):
        glyph_id = glyph_string.glyphs[i].glyph
        if glyph_id & pango.PANGO_GLYPH_UNKNOWN_FLAG:
            return end, None  # .notdef: WeasyPrint gives it a glyph id of its own
        if glyph_id != pango.PANGO_GLYPH_EMPTY:
            glyphs.append((glyph_id, _glyph_text(glyph_item, utf8_text, i, num_glyphs)))
    text = _cluster_text(glyph_item, utf8_text, start, end, num_glyphs)
    if not glyphs or (end == cluster_end and copies_right(font.to_unicode, glyphs, text)):
        return end, None
    return end, text


def _flush(stream: Any, string: str) -> None:
    """Show the glyphs gathered in `string` (an open "<..." TJ array body), if any."""
    if string[-1] == "<":
        string = string[:-1]
    else:
        string += ">"
    if string:
        stream.show_text(string)


def _end_span(stream: Any, string: str) -> str:
    """Show the span's glyphs, close the span and start a new TJ array body."""
    _flush(stream, string)
    stream.end_marked_content()
    return "<"


def draw_first_line(stream, textbox, text_overflow, block_ellipsis, matrix):  # noqa: C901, PLR0912, PLR0915 - WeasyPrint's code
    """Draw the given ``textbox`` line to the document ``stream``."""
    from PIL import Image
    from weasyprint.images import RasterImage, SVGImage
    from weasyprint.logger import LOGGER
    from weasyprint.text.ffi import FROM_UNITS, TO_UNITS, ffi, pango
    from weasyprint.text.fonts import get_hb_object_data
    from weasyprint.text.line_break import get_last_word_end

    # Don’t draw lines with only invisible characters.
    if not textbox.text.strip():
        return []

    if textbox.style['font_size'] < 1e-6:  # default float precision used by pydyf
        return []

    pango.pango_layout_set_single_paragraph_mode(textbox.pango_layout.layout, True)

    if text_overflow == 'ellipsis' or block_ellipsis != 'none':
        assert textbox.pango_layout.max_width is not None
        max_width = textbox.pango_layout.max_width
        pango.pango_layout_set_width(
            textbox.pango_layout.layout, int(max_width * TO_UNITS))
        if text_overflow == 'ellipsis':
            pango.pango_layout_set_ellipsize(
                textbox.pango_layout.layout, pango.PANGO_ELLIPSIZE_END)
        else:
            if block_ellipsis == 'auto':
                ellipsis = '…'
            else:
                assert block_ellipsis[0] == 'string'
                ellipsis = block_ellipsis[1]

            # Remove last word if hyphenated.
            new_text = textbox.pango_layout.text
            if new_text.endswith(textbox.style['hyphenate_character']):
                last_word_end = get_last_word_end(
                    new_text[:-len(textbox.style['hyphenate_character'])],
                    textbox.style['lang'])
                if last_word_end:
                    new_text = new_text[:last_word_end]

            textbox.pango_layout.set_text(new_text + ellipsis)

    first_line, index = textbox.pango_layout.get_first_line()

    if block_ellipsis != 'none':
        while index:
            last_word_end = get_last_word_end(
                textbox.pango_layout.text[:-len(ellipsis)],
                textbox.style['lang'])
            if last_word_end is None:
                break
            new_text = textbox.pango_layout.text[:last_word_end]
            textbox.pango_layout.set_text(new_text + ellipsis)
            first_line, index = textbox.pango_layout.get_first_line()

    stream.set_text_matrix(*matrix.values)
    previous_pango_font = None
    string = ''
    x_advance = 0
    emojis = []
    spanned = False  # bookmaker: whether a span was written (then no empty "[] TJ" at the end)
    run = first_line.runs[0]
    while run != ffi.NULL:
        # Get Pango objects.
        glyph_item = run.data
        run = run.next
        glyph_string = glyph_item.glyphs
        glyphs_info = glyph_string.glyphs
        num_glyphs = glyph_string.num_glyphs
        clusters = glyph_string.log_clusters
        utf8_text = None
        span_end = None  # bookmaker: index after the last glyph of the open ActualText span

        pango_font = glyph_item.item.analysis.font
        if pango_font != previous_pango_font:
            # Add font file content and get font size.
            previous_pango_font = pango_font
            font, font_size = stream.add_font(pango_font)

            # Workaround for https://gitlab.gnome.org/GNOME/pango/-/issues/530.
            # This is also needed by raster emoji fonts, see #2800.
            if pango.pango_version() < 14802 or font.png:
                font_size = textbox.style['font_size']

            # Go through the run glyphs.
            if string:
                stream.show_text(string)
            string = ''
            stream.set_font_size(font.hash, 1 if font.bitmap else font_size)
        string += '<'
        for i, glyph_info in enumerate(glyphs_info[0:num_glyphs]):
            glyph_id = glyph_info.glyph
            width = glyph_info.geometry.width

            # bookmaker: open an ActualText span before a cluster that would copy out wrong.
            if i == 0:  # bookmaker: a run of simple text (Latin, Greek, Cyrillic, unpointed Hebrew and
                # Arabic, punctuation: one text per glyph whatever the cluster) needs no span at all
                utf8_text = utf8_text or textbox.pango_layout.text.encode()
                offset = glyph_item.item.offset
                run_spans = not simple_text(utf8_text[offset:offset + glyph_item.item.length])
            if run_spans and span_end is None and not font.bitmap and (i == 0 or clusters[i] != clusters[i-1]):
                utf8_text = utf8_text or textbox.pango_layout.text.encode()
                end, text = span_text(font, glyph_item, utf8_text, i)
                if text is not None:
                    _flush(stream, string)
                    stream.begin_marked_content('Span', actual_text(text))
                    string, span_end, spanned = '<', end, True

            # Display zero-width empty glyph.
            if glyph_id == pango.PANGO_GLYPH_EMPTY:
                string += f'>{-width / font_size}<'
                if span_end == i + 1:  # bookmaker: the span's last glyph
                    string, span_end = _end_span(stream, string), None
                continue

            # Display .notdef and log warning for missing glyphs.
            if glyph_id & pango.PANGO_GLYPH_UNKNOWN_FLAG:
                codepoint = glyph_id - pango.PANGO_GLYPH_UNKNOWN_FLAG
                LOGGER.warning(
                    '.notdef glyph rendered for Unicode string unsupported by fonts: '
                    '"%s" (U+%04X)', chr(codepoint), codepoint)
                glyph_id = font.get_unused_glyph_id(codepoint)
                font.widths[glyph_id] = round(width * 1000 * FROM_UNITS / font_size)
                if 0 not in font.widths:
                    # "width" is actually Pango’s get_approximate_char_width. Force
                    # .notdef’s to use this width, even if it’s not the right, as we
                    # want to keep Pango’s layout for next glyphs.
                    font.widths[0] = font.widths[glyph_id]

            # Create mapping between glyphs and Unicode codepoints.
            if glyph_id not in font.to_unicode:
                # Get positions of the glyph in the UTF-8 string.
                offset = glyph_item.item.offset
                t1 = clusters[i]
                if glyph_item.item.analysis.level % 2:  # rtl
                    t2 = glyph_item.item.length if i == 0 else clusters[i-1]
                else:
                    t2 = glyph_item.item.length if i == num_glyphs-1 else clusters[i+1]
                utf8_text = utf8_text or textbox.pango_layout.text.encode()
                font.to_unicode[glyph_id] = utf8_text[offset+t1:offset+t2].decode()

            # Set horizontal and vertical offsets.
            offset = glyph_info.geometry.x_offset / font_size
            rise = glyph_info.geometry.y_offset / 1000
            if rise:
                if string[-1] == '<':
                    string = string[:-1]
                else:
                    string += '>'
                if string:
                    stream.show_text(string)
                stream.set_text_rise(-rise)
                string = ''
                if offset:
                    string = f'{-offset}'
                string += f'<{glyph_id:02x}>' if font.bitmap else f'<{glyph_id:04x}>'
                stream.show_text(string)
                stream.set_text_rise(0)
                string = '<'
            else:
                if offset:
                    string += f'>{-offset}<'
                string += f'{glyph_id:02x}' if font.bitmap else f'{glyph_id:04x}'

            # Get glyph logical widths.
            if glyph_id in font.widths:
                logical_width = font.widths[glyph_id]
            else:
                pango.pango_font_get_glyph_extents(
                    pango_font, glyph_id, stream.ink_rect, stream.logical_rect)
                logical_width = font.widths[glyph_id] = round(
                    stream.logical_rect.width * 1000 * FROM_UNITS / font_size)

            # Set kerning, word spacing, letter spacing.
            kerning = logical_width + offset - width * 1000 * FROM_UNITS / font_size
            if kerning:
                string += f'>{int(kerning)}<'

            # Create list of emojis.
            if font.svg:
                svg_data = get_hb_object_data(font.hb_face, 'svg', glyph_id)
                if svg_data:
                    # Do as explained in specification
                    # https://learn.microsoft.com/typography/opentype/spec/svg
                    tree = ElementTree.fromstring(svg_data)
                    if tree.get('id') != f'glyph{glyph_id}':
                        defs = ElementTree.Element('defs')
                        for child in list(tree):
                            defs.append(child)
                            tree.remove(child)
                        tree.append(defs)
                        ElementTree.SubElement(
                            tree, 'use', attrib={'href': f'#glyph{glyph_id}'})
                    if 'viewBox' not in tree.attrib:
                        tree.attrib['viewBox'] = f'0 0 {font.upem} {font.upem}'
                    image = SVGImage(tree, None, None, None)
                    a = d = 1
                    emojis.append([image, font, a, d, x_advance, 0])
            elif font.png:
                png_data = get_hb_object_data(font.hb_font, 'png', glyph_id)
                if png_data:
                    pillow_image = Image.open(BytesIO(png_data))
                    image_id = f'{font.hash}{glyph_id}'
                    image = RasterImage(pillow_image, image_id, png_data)
                    d = logical_width / 1000
                    a = pillow_image.width / pillow_image.height * d
                    pango.pango_font_get_glyph_extents(
                        pango_font, glyph_id, stream.ink_rect,
                        stream.logical_rect)
                    f = -stream.logical_rect.y
                    f = f * FROM_UNITS / font_size - font_size
                    emojis.append([image, font, a, d, x_advance, f])
            elif font.colr:
                svg_data = get_hb_object_data(font.hb_font, 'colr', glyph_id)
                if svg_data:
                    tree = ElementTree.fromstring(svg_data)
                    image = SVGImage(tree, None, None, None)
                    a = d = 1
                    e = x_advance - kerning
                    emojis.append([image, font, a, d, e, -textbox.baseline])

            x_advance += (logical_width + offset - kerning) / 1000

            # bookmaker: close the ActualText span after the cluster's last glyph.
            if span_end == i + 1:
                string, span_end = _end_span(stream, string), None

        # Close the last glyphs list, remove if empty.
        if string[-1] == '<':
            string = string[:-1]
        else:
            string += '>'

    # Draw text.
    if string or not spanned:  # bookmaker
        stream.show_text(string)

    return emojis
