"""Image references -> Image values: a file of the book, an inline `data:` URL or (when the book
allows it) a remote one read, normalised through the build cache and sized; a missing file is a
placeholder. Every image of a run is tried before one error names every problem."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

from ...core.errors import Diagnostic, ImageError, Reporter, SourceLocation
from ...core.model import BookConfig, Image, ImageRef
from .normalise import MAX_BYTES, SVG_MEDIA_TYPE, normalise
from .placeholder import placeholder_image
from .sizes import figure_box, fills, fit
from .store import cached, href, stored_src

if TYPE_CHECKING:
    from ...cache.build import BuildCache

MAX_DATA_URL_BYTES = 2 * 1024 * 1024
REMOTE_TIMEOUT = 30


def _is_remote(src: str) -> bool:
    return src.lower().startswith(("http://", "https://"))


def resolve_path(config: BookConfig, ref: ImageRef) -> Path:
    """Image paths are relative to the book folder and must stay inside it (symlinks included)."""
    from ...core.paths import OutsideBook, inside_book

    try:
        return inside_book(config.root, ref.src)
    except OutsideBook as exc:
        raise ImageError.at(ref.path, ref.line, str(exc)) from None


def _data_url(ref: ImageRef) -> bytes:
    import base64
    import binascii

    header, _, payload = ref.src.partition(",")
    if len(payload) > MAX_DATA_URL_BYTES * 4 // 3 + 4:
        raise ImageError.at(ref.path, ref.line, f"inline data: image is over {MAX_DATA_URL_BYTES // 1024} KB; save it in images/ and link it")
    if not header.endswith(";base64"):
        raise ImageError.at(ref.path, ref.line, "inline data: images must be base64-encoded")
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ImageError.at(ref.path, ref.line, "inline data: image is not valid base64") from None


def _fetch(config: BookConfig, ref: ImageRef) -> bytes:
    import urllib.error
    import urllib.request

    if not config.allow_remote_images:
        raise ImageError.at(ref.path, ref.line, f"remote image '{ref.src}' is not fetched; download it into images/, or set allow_remote_images = true in book.toml")
    try:
        with urllib.request.urlopen(ref.src, timeout=REMOTE_TIMEOUT) as response:  # noqa: S310 - http(s) only, checked above
            data = response.read(MAX_BYTES + 1)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise ImageError.at(ref.path, ref.line, f"remote image '{ref.src}' could not be fetched: {getattr(exc, 'reason', exc)}") from None
    if len(data) > MAX_BYTES:
        raise ImageError.at(ref.path, ref.line, f"remote image '{ref.src}' is over {MAX_BYTES // 2**20} MB")
    return data


def load_image(config: BookConfig, ref: ImageRef, reporter: Reporter, cache: BuildCache | None = None) -> Image:
    box = figure_box(config, ref.plate)
    if ref.src.startswith("data:"):
        data, stored = _data_url(ref), None
    elif _is_remote(ref.src):
        data, stored = _fetch(config, ref), None
    else:
        path = resolve_path(config, ref)
        if not path.is_file():
            return placeholder_image(config, ref, reporter, cache)
        data, stored = path.read_bytes(), ref.src
    name = ref.src if len(ref.src) < 80 else ref.src[:77] + "…"

    def make() -> tuple[bytes, dict[str, Any]]:
        out = normalise(data, (ref.path, ref.line), name)
        return out.data, {"media_type": out.media_type, "width": out.width, "height": out.height, "removed": list(out.removed)}

    data, meta = cached(cache, ("normalise", data), make)
    media_type, width, height = meta["media_type"], meta["width"], meta["height"]
    if meta.get("removed"):  # said on every build, from the cache too, until the file is cleaned
        from ..svg import removed_message

        reporter.warn(ref.path, ref.line, removed_message(name, tuple(meta["removed"])))
    if media_type == SVG_MEDIA_TYPE and config.print.profile.colour == "cmyk":
        _warn_cmyk_gradients(config, ref, name, data, reporter)
    placed = box if fills(config, ref.plate) else fit(width, height, *box)  # an SVG's exact proportions, not its rounded pixels
    epub_type = _screen_type(config, data, media_type, cache)
    return Image(
        src=ref.src, href=href(stored or stored_src(ref, data), epub_type), media_type=media_type, data=data,
        width_px=max(1, round(width)), height_px=max(1, round(height)), placed_width_in=round(placed[0], 4),
        placed_height_in=round(placed[1], 4), placeholder=False, screen_type=epub_type if epub_type != media_type else None,
    )


def _screen_type(config: BookConfig, data: bytes, media_type: str, cache: BuildCache | None) -> str:
    """The media type the EPUB carries the image in, for the book's stores (screen.screen_type)."""
    from ...core.stores import screen_bound
    from .screen import KEEP_FORMAT, screen_type

    if media_type in KEEP_FORMAT:
        return media_type  # no pixels to read, nothing to cache
    allowed = screen_bound(config.ebook_stores).image_types
    found, _ = cached(cache, ("screen-type", ",".join(sorted(allowed)), data),
                      lambda: (screen_type(data, media_type, allowed).encode("ascii"), {}))
    return found.decode("ascii")


def _warn_cmyk_gradients(config: BookConfig, ref: ImageRef, name: str, data: bytes, reporter: Reporter) -> None:
    """A CMYK print book paints an SVG's gradients flat (svg.to_cmyk says why): the author is told."""
    from ..svg import gradients

    count = gradients(data)
    if count:
        reporter.warn(ref.path, ref.line, f"SVG '{name}': {count} gradient{'s' if count != 1 else ''} will print as "
                      f"{'their' if count != 1 else 'its'} average flat colour under the CMYK print profile "
                      f"'{config.print.profile.name}' (WeasyPrint 70 draws SVG gradients in RGB only)")


def load_images(config: BookConfig, refs: Iterable[ImageRef], reporter: Reporter, cache: BuildCache | None = None,
                load: Callable[[BookConfig, ImageRef, Reporter], Image] | None = None) -> tuple[Image, ...]:
    """One Image per distinct src, in first-use order; with `cache`, reusing an earlier build's work.

    Every image is tried before any error is raised: one ImageError carries every image's
    problem, one line each, so a book with many broken images is fixed in one round. `load`
    stands in for `load_image` (the preview server's memo of the images it sized).
    """
    seen: dict[str, Image] = {}
    hrefs: dict[str, str] = {}
    tried: set[str] = set()
    errors: list[Diagnostic] = []
    for ref in refs:
        if ref.src in tried:
            continue
        tried.add(ref.src)
        try:
            image = load_image(config, ref, reporter, cache) if load is None else load(config, ref, reporter)
        except ImageError as exc:
            errors.extend(exc.diagnostics)
            continue
        clash = stored_clash(hrefs, ref, image)
        if clash is not None:
            errors.append(clash)
            continue
        hrefs[image.href] = ref.src
        seen[ref.src] = image
    if errors:
        raise ImageError(*errors)
    return tuple(seen.values())


def stored_clash(hrefs: dict[str, str], ref: ImageRef, image: Image) -> Diagnostic | None:
    """Two sources that would be stored under one name (`photo.tif` and `photo.png` both as PNG)."""
    other = hrefs.get(image.href)
    if other is None or other == ref.src:
        return None
    return Diagnostic(SourceLocation(ref.path, ref.line), f"image '{ref.src}' and '{other}' would both be stored as {image.href}; rename one")
