"""A content-addressed cache under the output folder (`build/.bookmaker-cache/`): a rebuild reuses
what did not change.

Three kinds of entries, each a small JSON file and a blob named by the SHA-256 of everything that
decides the result:

- `images`: an image as the book stores it (a placeholder drawn, or a file decoded, checked and
  normalised), keyed by the source file's bytes or the placeholder's text and size;
- `covers`: the EPUB's typographic cover image (backends/pdf/cover_image.py), keyed by its page's
  HTML, its fonts and its size;
- `parts`: one part of a PDF laid out in parts (parallel.py), keyed by the part's HTML, the bytes
  of every asset, the profile and the WeasyPrint version. Its first folio is stored beside it: a
  part whose folio moved is laid out again.

Entries are written only after a build has written its outputs, and the entries the build did not
use are then removed, so the cache holds one build's worth. A cache that cannot be read or written
is ignored: it can make a build slower, never wrong. Delete the folder at any time.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.digest import content_name, digest

FOLDER = ".bookmaker-cache"
FORMAT = 1  # bump when an entry's meaning changes


def entry_key(*parts: bytes | str) -> str:
    """An entry's key: everything that decides its result, and the cache's format."""
    return digest(f"bookmaker-cache-{FORMAT}", *parts)


@dataclass
class BuildCache:
    folder: Path
    used: set[tuple[str, str]] = field(default_factory=set)
    pending: dict[tuple[str, str], tuple[dict[str, Any], bytes]] = field(default_factory=dict)

    @classmethod
    def under(cls, out_dir: Path) -> "BuildCache":
        return cls(out_dir / FOLDER)

    def get(self, kind: str, key: str) -> tuple[dict[str, Any], bytes] | None:
        self.used.add((kind, key))
        if (kind, key) in self.pending:
            return self.pending[(kind, key)]
        base = self.folder / kind / key
        try:
            meta = json.loads(base.with_suffix(".json").read_text(encoding="utf-8"))
            blob = base.with_suffix(".bin").read_bytes()
        except (OSError, ValueError):
            return None
        if not isinstance(meta, dict) or meta.get("sha256") != content_name(blob, 64):
            return None  # half-written or altered: not trusted
        return meta, blob

    def put(self, kind: str, key: str, meta: dict[str, Any], blob: bytes) -> None:
        """Kept in memory until `flush`, which runs only after a build succeeded."""
        self.used.add((kind, key))
        self.pending[(kind, key)] = ({**meta, "sha256": content_name(blob, 64)}, blob)

    def flush(self) -> None:
        """Write the new entries and remove those of the same kinds this build did not use."""
        from ..core.paths import write_atomic

        try:
            for (kind, key), (meta, blob) in self.pending.items():
                base = self.folder / kind / key
                write_atomic(base.with_suffix(".bin"), blob)
                write_atomic(base.with_suffix(".json"), json.dumps(meta).encode("utf-8"))
            self.pending.clear()
            for kind in {kind for kind, _ in self.used}:
                keep = {key for k, key in self.used if k == kind}
                folder = self.folder / kind
                for path in folder.iterdir():
                    if path.stem not in keep:
                        os.unlink(path)
        except OSError:
            pass  # a cache that cannot be written only makes the next build slower
