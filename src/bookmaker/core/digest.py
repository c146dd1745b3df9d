"""The one hash bookmaker keys its caches with, and the content names of the files it writes.

`digest` is SHA-256 over any number of parts, each framed by its length, so `("ab", "c")` and
`("a", "bc")` differ: bytes as they are, text as UTF-8, anything else as its JSON (with `str()`
for what JSON cannot hold, such as paths). Every cache key is one (cache/build.py, cache/pagemap.py,
the ids and glyph caches, the preview server's signatures, the PDF parts and font configurations).

`content_name` names a file by its bytes alone (an image or formula in the EPUB and the print
document). Those names are part of the output, so their form never changes.
"""

from __future__ import annotations

import hashlib
import json


def _bytes(part: object) -> bytes:
    if isinstance(part, bytes):
        return part
    if isinstance(part, str):
        return part.encode("utf-8")
    return json.dumps(part, default=str, ensure_ascii=False).encode("utf-8")


def digest(*parts: object, size: int = 64) -> str:
    """The hex SHA-256 of `parts` (each framed by its length), cut to `size` characters."""
    h = hashlib.sha256()
    for part in parts:
        data = _bytes(part)
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()[:size]


def content_name(data: bytes, size: int) -> str:
    """The first `size` hex characters of the SHA-256 of `data`: a file's name from its bytes."""
    return hashlib.sha256(data).hexdigest()[:size]
