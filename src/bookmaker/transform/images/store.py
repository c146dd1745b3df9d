"""Where an image is stored in the outputs (`images/…`), and the build cache that keeps what
an earlier build made of the same bytes (`code_key("images")`, cache/keys.py)."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, Callable

from ...cache.keys import code_key
from ...core.model import ImageRef
from .normalise import SVG_MEDIA_TYPE

if TYPE_CHECKING:
    from ...cache.build import BuildCache

SUFFIX = {"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "image/webp": ".webp", SVG_MEDIA_TYPE: ".svg"}


def href(src: str, media_type: str) -> str:
    pure = PurePosixPath(src)
    parts = [p for p in pure.parent.parts if p not in (".", "")]
    if not parts or parts[0] != "images":
        parts.insert(0, "images")
    return str(PurePosixPath(*parts, pure.stem + SUFFIX[media_type]))


def stored_src(ref: ImageRef, data: bytes) -> str:
    """Where an inline or remote image is stored inside the outputs."""
    from ...core.digest import content_name

    kind = "inline" if ref.src.startswith("data:") else "remote"
    return f"images/{kind}-{content_name(data, 16)}.img"


def cached(cache: BuildCache | None, parts: tuple[str | bytes, ...], make: Callable[[], tuple[bytes, dict[str, Any]]]) -> tuple[bytes, dict[str, Any]]:
    """`make()` -> (bytes, meta), or what an earlier build made from the same `parts`."""
    if cache is None:
        return make()
    from ...cache.build import digest

    key = digest(code_key("images"), *parts)
    hit = cache.get("images", key)
    if hit is not None:
        return hit[1], hit[0]
    data, meta = make()
    cache.put("images", key, meta, data)
    return data, meta
