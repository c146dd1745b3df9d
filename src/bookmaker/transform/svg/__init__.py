"""SVG from a manuscript, made safe before either back end sees it.

An SVG is a program as much as a picture: it can run scripts, load other files and URLs, embed
HTML, and blow up into billions of nodes. EPUB reading systems render it in a browser engine and
WeasyPrint fetches what it refers to, so a book's SVG is cleaned with an **allowlist** here:

- parsing: defusedxml (the stdlib's expat) refuses every ``<!ENTITY`` (billion laughs, XXE) and
  never loads a DTD; lxml then reads the same bytes with entities, DTDs and the network off, for
  the tree work and its XML serialiser (never an HTML one: ``viewBox`` keeps its case);
- elements: SVG 1.1's static drawing elements (structure, shapes, text, paint servers, clipping,
  masking, filters, ``<style>``); no script, animation, ``foreignObject``, fonts, ``feImage``;
- attributes: geometry, presentation and accessibility ones; no ``on*`` handler, no ``xml:base``;
  ``href``/``xlink:href`` only to a local ``#id``, or on ``<image>`` to an embedded PNG or JPEG
  (``data:image/png|jpeg;base64``), checked with Pillow; ``<a>`` to anything else is unwrapped;
- CSS (``style`` attributes and ``<style>``): presentation properties only, ``url()`` only to a
  local ``#id``, no at-rule (``@import``, ``@font-face``);
- ``<use>``: references that loop or expand past `MAX_DRAWN` elements (a "use bomb") are refused.

A gradient in its element's bounding box (``gradientUnits="objectBoundingBox"``, the default) is
rewritten into user space for the element's exact box (`user_space_gradients`): WeasyPrint draws
the other kind as a pattern that poppler-based PDF viewers leave blank.

What is removed is returned, so the build can warn where the manuscript names the file. Editor
metadata (Inkscape, Sodipodi, Illustrator, RDF) is dropped without a word: it is inert and every
editor writes it. `to_cmyk` turns a clean SVG's colours into ``device-cmyk()`` for CMYK printers.

The package, by job: `allowlist` (what may stay, the limits), `parse` (sniffing, hardened parsing,
sizes, `serialise`), `css` (styles), `sanitise` (references, the cleaning walk, `clean`), `checks`
(use bombs, something to draw), `geometry` and `paint` (boxes, transforms and the paint cascade the
gradients need), `user_space` (gradients rewritten for their box), `cmyk` (`to_cmyk`).
"""

from __future__ import annotations

from .allowlist import (
    ATTRIBUTES,
    COLOUR_PROPERTIES,
    CSS_PROPERTIES,
    CSS_PX,
    DRAWING,
    ELEMENTS,
    MAX_BYTES,
    MAX_DEPTH,
    MAX_DRAWN,
    MAX_EMBEDDED_BYTES,
    MAX_EMBEDDED_PIXELS,
    MAX_SIDE_PX,
    MEDIA_TYPE,
    NOT_DRAWN,
    PRESENTATION,
    QUIET_ATTRIBUTES,
    QUIET_ELEMENTS,
    QUIET_NAMESPACES,
    STANDARD_DTDS,
    SVG_NS,
    TEXT,
    XLINK_NS,
    XML_NS,
    Element,
)
from .checks import (
    check_expansion,
    has_drawing,
)
from .cmyk import (
    Cmyk,
    ValueMap,
    gradients,
    to_cmyk,
)
from .css import (
    Declaration,
    clean_style_attribute,
    clean_stylesheet,
    parse_declarations,
)
from .geometry import (
    IDENTITY,
    Affine,
    Box,
    Viewport,
    parse_transform,
    path_box,
    shape_box,
)
from .paint import Paint
from .parse import (
    SvgRefused,
    intrinsic_size,
    looks_like_svg,
    serialise,
)
from .sanitise import (
    CleanSvg,
    clean,
    clean_svg,
    is_note,
    removed_message,
)
from .user_space import (
    GRADIENT_NOTE,
    GRADIENTS,
    SHAPES,
    GradientTemplate,
    derived_from,
    user_space_gradients,
)

__all__ = [
    "ATTRIBUTES",
    "Affine",
    "Box",
    "COLOUR_PROPERTIES",
    "CSS_PROPERTIES",
    "CSS_PX",
    "CleanSvg",
    "Cmyk",
    "DRAWING",
    "Declaration",
    "ELEMENTS",
    "Element",
    "GRADIENTS",
    "GRADIENT_NOTE",
    "GradientTemplate",
    "IDENTITY",
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_DRAWN",
    "MAX_EMBEDDED_BYTES",
    "MAX_EMBEDDED_PIXELS",
    "MAX_SIDE_PX",
    "MEDIA_TYPE",
    "NOT_DRAWN",
    "PRESENTATION",
    "Paint",
    "QUIET_ATTRIBUTES",
    "QUIET_ELEMENTS",
    "QUIET_NAMESPACES",
    "SHAPES",
    "STANDARD_DTDS",
    "SVG_NS",
    "SvgRefused",
    "TEXT",
    "ValueMap",
    "Viewport",
    "XLINK_NS",
    "XML_NS",
    "check_expansion",
    "clean",
    "clean_style_attribute",
    "clean_stylesheet",
    "clean_svg",
    "derived_from",
    "gradients",
    "has_drawing",
    "intrinsic_size",
    "is_note",
    "looks_like_svg",
    "parse_declarations",
    "parse_transform",
    "path_box",
    "removed_message",
    "serialise",
    "shape_box",
    "to_cmyk",
    "user_space_gradients",
]
