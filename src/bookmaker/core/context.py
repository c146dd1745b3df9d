"""What every stage after loading is given: the book, the build's time, the reporter, the cache."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import ConfigError, Reporter
from .model import Book

if TYPE_CHECKING:
    from ..cache.build import BuildCache


@dataclass(frozen=True)
class BuildContext:
    book: Book
    timestamp: dt.datetime  # UTC, from SOURCE_DATE_EPOCH when set
    reporter: Reporter
    cache: BuildCache | None = None  # a full build's cache under its output folder (buildcache.py)


def build_timestamp() -> dt.datetime:
    """SOURCE_DATE_EPOCH (reproducible builds) or now, in UTC, to the second."""
    raw = os.environ.get("SOURCE_DATE_EPOCH")
    if raw is None or raw == "":
        return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    try:
        return dt.datetime.fromtimestamp(int(raw), dt.timezone.utc)
    except (ValueError, OverflowError, OSError):
        raise ConfigError.at(os.path.abspath("."), None, f"SOURCE_DATE_EPOCH must be a whole number of seconds, got {raw!r}") from None
