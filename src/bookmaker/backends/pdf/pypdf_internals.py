"""Every use of pypdf's internals, in one place, checked against the version it was written for.

Merging the parts of a book (parallel.merge) must give the merged file the first part's document
information dictionary and file identifier as they are, so the PDF is what one WeasyPrint
document would have been. pypdf's writer has no public setter for either (`add_metadata` only
adds keys, and the /ID is generated), so this module sets `PdfWriter._info` and `_ID`, for the
major version of pypdf they were written for; on another one bookmaker stops with a clear error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...core.errors import OutputError

TESTED_MAJOR = 7  # pypdf 7.x (pyproject.toml: pypdf>=7.1,<8)


class PypdfVersionError(OutputError):
    """The installed pypdf is not the major version bookmaker's use of its internals was tested with."""


def check_version() -> None:
    import pypdf

    major = int(pypdf.__version__.split(".")[0])
    if major != TESTED_MAJOR or not hasattr(pypdf.PdfWriter(), "_info"):
        raise PypdfVersionError.at(
            Path(pypdf.__file__).parent, None,
            f"bookmaker needs pypdf {TESTED_MAJOR}.x (it sets the merged PDF's /Info and /ID: "
            f"backends/pypdf_internals.py), but pypdf {pypdf.__version__} is installed here: "
            f"pip install 'pypdf>={TESTED_MAJOR}.1,<{TESTED_MAJOR + 1}'")


def set_info_and_id(writer: Any, info: Any, file_id: Any) -> None:
    """The writer's document information dictionary becomes a copy of `info` (every key as it
    is), and its file identifier `file_id` (the first part's /ID array)."""
    from pypdf.generic import NameObject

    check_version()
    target = writer._info.get_object()  # noqa: SLF001 - checked above
    for key in list(target.keys()):
        del target[key]
    for key, value in info.items():
        target[NameObject(key)] = value.clone(writer)
    writer._ID = file_id.clone(writer)  # noqa: SLF001 - checked above
