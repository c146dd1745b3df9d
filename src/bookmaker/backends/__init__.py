"""Back ends package rendered pages; they never render Markdown or templates.

Only modules under backends/ import ebooklib, WeasyPrint and pypdf.
"""

from __future__ import annotations

from typing import Protocol

from ..core.context import BuildContext
from ..render.layout import Rendered


class Backend(Protocol):
    name: str
    suffix: str

    def write(self, rendered: Rendered, ctx: BuildContext) -> bytes: ...
