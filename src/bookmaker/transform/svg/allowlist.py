"""What a book's SVG may hold, and how big it may be: the namespaces, the limits past which an SVG
is refused, the elements, attributes and CSS properties kept, what is dropped without a word (an
editor's metadata), and the patterns of a length, a local reference and an embedded picture."""

from __future__ import annotations

import re
from typing import Any

Element = Any  # an lxml element: its class (etree._Element) is private to lxml
MEDIA_TYPE = "image/svg+xml"
SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
XML_NS = "http://www.w3.org/XML/1998/namespace"

MAX_BYTES = 20 * 1024 * 1024  # an SVG is text: past this it is not a figure a book needs
MAX_EMBEDDED_BYTES = 10 * 1024 * 1024  # one embedded PNG or JPEG
MAX_EMBEDDED_PIXELS = 89_478_485  # Pillow's decompression-bomb threshold, as for other images
MAX_DRAWN = 100_000  # elements drawn once every <use> is expanded
MAX_DEPTH = 200  # nesting of elements and <use> references
MAX_SIDE_PX = 100_000  # an intrinsic side longer than this (over 1,000 inches) is a mistake
CSS_PX = {"": 1.0, "px": 1.0, "pt": 96 / 72, "pc": 16.0, "in": 96.0, "mm": 96 / 25.4, "cm": 96 / 2.54,
          "q": 96 / 101.6, "em": 16.0, "ex": 8.0}  # 96 px per inch; em and ex at the default 16px font


# --- the allowlist ------------------------------------------------------------------------------

ELEMENTS = frozenset("""
svg g defs desc title symbol use switch a style
path rect circle ellipse line polyline polygon
text tspan textPath
linearGradient radialGradient stop pattern clipPath mask marker image
filter feBlend feColorMatrix feComponentTransfer feComposite feConvolveMatrix feDiffuseLighting
feDisplacementMap feDistantLight feDropShadow feFlood feFuncA feFuncB feFuncG feFuncR feGaussianBlur
feMerge feMergeNode feMorphology feOffset fePointLight feSpecularLighting feSpotLight feTile feTurbulence
""".split())

PRESENTATION = frozenset("""
alignment-baseline baseline-shift clip clip-path clip-rule color color-interpolation
color-interpolation-filters color-rendering direction display dominant-baseline fill fill-opacity
fill-rule filter flood-color flood-opacity font font-family font-size font-size-adjust font-stretch
font-style font-variant font-weight glyph-orientation-horizontal glyph-orientation-vertical
image-rendering kerning letter-spacing lighting-color marker marker-end marker-mid marker-start mask
opacity overflow pointer-events shape-rendering stop-color stop-opacity stroke stroke-dasharray
stroke-dashoffset stroke-linecap stroke-linejoin stroke-miterlimit stroke-opacity stroke-width
text-anchor text-decoration text-rendering unicode-bidi visibility word-spacing writing-mode
paint-order vector-effect mix-blend-mode isolation transform-origin transform-box
""".split())

# CSS properties a style may set: the presentation ones and a few of CSS's own that draw nothing else
CSS_PROPERTIES = PRESENTATION | frozenset("transform line-height text-transform white-space font-kerning "
                                          "font-variant-ligatures font-variant-caps font-variant-numeric "
                                          "font-feature-settings text-decoration-line text-decoration-color "
                                          "text-decoration-style".split())

ATTRIBUTES = PRESENTATION | frozenset("""
id class style lang tabindex role aria-label aria-labelledby aria-describedby aria-hidden aria-roledescription
transform viewBox preserveAspectRatio x y width height rx ry cx cy r fx fy fr x1 y1 x2 y2 points d
pathLength offset gradientUnits gradientTransform spreadMethod patternUnits patternContentUnits
patternTransform clipPathUnits maskUnits maskContentUnits markerUnits markerWidth markerHeight refX refY
orient dx dy rotate textLength lengthAdjust startOffset method spacing side filterUnits primitiveUnits
in in2 result stdDeviation mode type values operator k1 k2 k3 k4 scale xChannelSelector yChannelSelector
tableValues slope intercept amplitude exponent order kernelMatrix divisor bias targetX targetY edgeMode
kernelUnitLength preserveAlpha surfaceScale diffuseConstant specularConstant specularExponent azimuth
elevation z pointsAtX pointsAtY pointsAtZ limitingConeAngle radius baseFrequency numOctaves seed stitchTiles
media href
""".split())

# Inert, and written by every editor: dropped without a word
QUIET_ATTRIBUTES = frozenset("version baseProfile contentScriptType contentStyleType zoomAndPan "
                             "externalResourcesRequired requiredFeatures requiredExtensions systemLanguage "
                             "focusable enable-background".split())
QUIET_NAMESPACES = ("http://www.inkscape.org/", "http://sodipodi.sourceforge.net/", "http://ns.adobe.com/",
                    "http://www.w3.org/1999/02/22-rdf-syntax-ns#", "http://creativecommons.org/ns#",
                    "http://web.resource.org/cc/", "http://purl.org/dc/", "http://www.bohemiancoding.com/sketch/",
                    "http://www.serif.com/", "https://boxy-svg.com", "http://www.figma.com/", "http://krita.org/")
QUIET_ELEMENTS = frozenset({"metadata"})
STANDARD_DTDS = ("http://www.w3.org/Graphics/SVG/1.1/DTD/", "http://www.w3.org/TR/2001/REC-SVG-20010904/DTD/",
                 "http://www.w3.org/TR/SVG11/DTD/")

DRAWING = frozenset("path rect circle ellipse line polyline polygon image use".split())
TEXT = frozenset("text tspan textPath".split())
NOT_DRAWN = frozenset("defs clipPath mask pattern marker symbol linearGradient radialGradient filter title desc style".split())
COLOUR_PROPERTIES = frozenset("fill stroke color stop-color flood-color lighting-color".split())

_LENGTH = re.compile(r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(px|pt|pc|in|mm|cm|q|em|ex|%)?\s*$", re.I)
_LOCAL_REF = re.compile(r"^#[A-Za-z_][\w.:\-]*$")
_DATA_IMAGE = re.compile(r"^data:image/(png|jpeg|jpg)\s*;\s*base64\s*,(.*)$", re.I | re.S)
