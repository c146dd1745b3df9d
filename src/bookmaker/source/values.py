"""The values book.toml may hold, each parsed and checked: lengths, trim sizes, languages, dates,
ISBNs, counts, choices, the people credited, the series number, the subjects. Each parser returns the value or raises `Invalid` with what is wrong;
config.py attaches the key and line."""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..core.model import Contributor, Subject

_UNITS = {"in": 1.0, "mm": 1 / 25.4, "cm": 1 / 2.54, "pt": 1 / 72}
_LENGTH = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(in|mm|cm|pt)\s*$")
_TRIM = re.compile(
    r"^\s*(\d+(?:\.\d+)?)\s*(in|mm|cm)?\s*[x×]\s*(\d+(?:\.\d+)?)\s*(in|mm|cm)\s*$", re.IGNORECASE
)
_LANG = re.compile(r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{1,8})*$")
_SIDES = ("top", "bottom", "outside", "inside")
_VARIANTS = ("pdf/x-1a", "pdf/x-3", "pdf/x-4", "none")


class Invalid(ValueError):
    pass


def parse_length(value: Any) -> float:
    """'0.75in', '19mm', '10.5pt' -> inches."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0 or isinstance(value, str) and value.strip().startswith("-"):
        raise Invalid(f"must not be negative, got {value!r}")
    if not isinstance(value, str) or not (m := _LENGTH.match(value)):
        raise Invalid(f"expected a length such as '0.75in', '19mm' or '10pt', got {value!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse_trim(value: Any) -> tuple[float, float]:
    """'6in x 9in', '6 x 9 in', '148mm x 210mm' -> (width, height) in inches."""
    if not isinstance(value, str) or not (m := _TRIM.match(value)):
        raise Invalid(f"expected a trim size such as '6in x 9in', got {value!r}")
    w_unit = (m.group(2) or m.group(4)).lower()
    h_unit = m.group(4).lower()
    return float(m.group(1)) * _UNITS[w_unit], float(m.group(3)) * _UNITS[h_unit]


def text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Invalid(f"expected a non-empty string, got {value!r}")
    return value.strip()


def _one_or_list(value: Any, one: tuple[type, ...], expected: str, empty: bool = False) -> list[Any]:
    """`value` as a list: one item of a type in `one` is a list of one; anything else not a list
    (or an empty list, unless `empty`) is Invalid("expected <expected>, got …")."""
    if isinstance(value, one):
        value = [value]
    if not isinstance(value, list) or not (value or empty):
        raise Invalid(f"expected {expected}, got {value!r}")
    return value


def text_list(value: Any) -> tuple[str, ...]:
    value = _one_or_list(value, (str,), "a list of non-empty strings")
    if not all(isinstance(v, str) and v.strip() for v in value):
        raise Invalid(f"expected a list of non-empty strings, got {value!r}")
    return tuple(v.strip() for v in value)


def date(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            pass
    raise Invalid(f"expected a date such as 2026-11-26, got {value!r}")


def language(value: Any) -> str:
    value = text(value)
    if not _LANG.match(value):
        raise Invalid(f"expected a BCP 47 language tag such as 'en' or 'en-GB', got {value!r}")
    return value


def font_size(value: Any) -> float:
    size_in = parse_length(value)
    pt = size_in * 72
    if not 7 <= pt <= 24:
        raise Invalid(f"body font size must be between 7pt and 24pt, got {value!r}")
    return pt


def isbn(value: Any) -> str:
    """ISBN-13 (or ISBN-10) with a valid check digit; returned as 13 digits."""
    digits = re.sub(r"[\s-]", "", str(value)).upper()
    if re.fullmatch(r"\d{9}[\dX]", digits):
        total = sum((10 - i) * (10 if c == "X" else int(c)) for i, c in enumerate(digits))
        if total % 11 == 0:
            core = "978" + digits[:9]
            check = (10 - sum((1 if i % 2 == 0 else 3) * int(c) for i, c in enumerate(core)) % 10) % 10
            return core + str(check)
    elif re.fullmatch(r"\d{13}", digits):
        if sum((1 if i % 2 == 0 else 3) * int(c) for i, c in enumerate(digits)) % 10 == 0:
            return digits
    raise Invalid(f"{value!r} is not a valid ISBN (check the digits and the check digit)")


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise Invalid(f"expected true or false, got {value!r}")
    return value


def count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise Invalid(f"expected a whole number of at least 1, got {value!r}")
    return value


def dpi(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise Invalid(f"expected a whole number of dots per inch, got {value!r}")
    return value


def bleed(value: Any) -> float:
    if value == 0 or value == "0":
        return 0.0
    return parse_length(value)


def sides(value: Any) -> tuple[str, ...]:
    sides = text_list(value)
    bad = [s for s in sides if s not in _SIDES]
    if bad:
        raise Invalid(f"bleed sides are {', '.join(_SIDES)}; got {', '.join(bad)}")
    return sides


def variant(value: Any) -> str | None:
    if value not in _VARIANTS:
        raise Invalid(f"expected one of {', '.join(_VARIANTS)}, got {value!r}")
    return None if value == "none" else value


def colour(value: Any) -> str:
    if value not in ("rgb", "cmyk"):
        raise Invalid(f"expected 'rgb' or 'cmyk', got {value!r}")
    return value


def gutter(value: Any) -> tuple[tuple[int, float], ...]:
    if not isinstance(value, list) or not value:
        raise Invalid('expected a list of [most pages, "inside margin"] pairs, e.g. [[150, "0.375in"], [300, "0.5in"]]')
    bands = []
    for band in value:
        if not (isinstance(band, list) and len(band) == 2):
            raise Invalid(f"each gutter band is [most pages, \"inside margin\"], got {band!r}")
        bands.append((count(band[0]), parse_length(band[1])))
    return tuple(sorted(bands))


def choice(value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise Invalid(f"expected one of {', '.join(repr(a) for a in allowed)}, got {value!r}")
    return value


def stores(value: Any) -> tuple[str, ...]:
    """`[ebook] store`: one store or a list of them, each known (core/stores.py), none twice."""
    from ..core.stores import STORE_NAMES

    names = _one_or_list(value, (str,), f"one of {', '.join(repr(a) for a in STORE_NAMES)}, or a list of them")
    for name in names:
        choice(name, STORE_NAMES)
    if len(set(names)) != len(names):
        raise Invalid(f"a store is named twice in {value!r}")
    return tuple(names)


def profile_name(value: Any) -> str:
    from ..core.profiles import PROFILES

    if value not in PROFILES:
        raise Invalid(f"expected one of {', '.join(sorted(PROFILES))}, got {value!r}")
    return value


def openings(value: Any) -> dict[str, str]:
    """`opening`: one way for every kind of chapter ("right"), or a table by kind
    ({ body = "facing", back = "any" }); the kinds it leaves out keep the design's."""
    from ..core.model import CHAPTER_KINDS as kinds
    from ..core.model import OPENINGS

    if isinstance(value, str):
        return {kind: choice(value, OPENINGS) for kind in kinds}
    if not isinstance(value, dict) or not value:
        raise Invalid(f"expected one of {', '.join(repr(a) for a in OPENINGS)}, or a table by chapter kind "
                      f"such as {{ body = \"facing\" }}, got {value!r}")
    found = {}
    for kind, way in value.items():
        if kind not in kinds:
            raise Invalid(f"unknown chapter kind '{kind}' (kinds: {', '.join(kinds)})")
        try:
            found[kind] = choice(way, OPENINGS)
        except Invalid as exc:
            raise Invalid(f"{kind}: {exc}") from None
    return found


def ornament(value: Any) -> str:
    """`scene_break`: the text a scene break is set as (an ornament, asterisms, a few letters)."""
    text_value = text(value)
    if len(text_value) > 24 or "\n" in text_value:
        raise Invalid(f"expected a short ornament such as '\u2042' or '* * *', got {value!r}")
    return text_value


# --- metadata: the people credited, the series, the subjects -------------------------------------

_BISAC = re.compile(r"^[A-Z]{3}\d{6}$")  # a BISAC subject code: "PHO000000"


def _entry(value: Any, what: str, keys: tuple[str, ...], required: tuple[str, ...]) -> dict[str, Any]:
    """One table of a list (`{ name = "…", role = "…" }`): only `keys`, each a non-empty string
    (a role may be a list), the `required` ones present."""
    if not isinstance(value, dict):
        shape = ", ".join(f'{k} = "…"' for k in required)
        raise Invalid(f"{what}: expected a table such as {{ {shape} }}, got {value!r}")
    for key in value:
        if key not in keys:
            raise Invalid(f"{what}: unknown key '{key}' (keys: {', '.join(keys)})")
    for key in required:
        if key not in value:
            raise Invalid(f"{what}: missing '{key}'")
    return value


def _named(value: Any, what: str) -> str:
    try:
        return text(value)
    except Invalid as exc:
        raise Invalid(f"{what}: {exc}") from None


def authors(value: Any) -> tuple[Contributor, ...]:
    """`authors`: names, or tables with the name as a catalogue sorts it
    ({ name = "Ursula K. Le Guin", file_as = "Le Guin, Ursula K." }); one name alone is a list of one."""
    from ..core.model import Contributor

    value = _one_or_list(value, (str, dict), 'a list of names, or of tables such as { name = "…", file_as = "Surname, Name" }')
    found = []
    for n, item in enumerate(value, start=1):
        what = f"author {n}"
        if isinstance(item, str):
            found.append(Contributor(_named(item, what)))
            continue
        entry = _entry(item, what, ("name", "file_as"), ("name",))
        name = _named(entry["name"], what)
        file_as = _named(entry["file_as"], f"{what} ({name}): file_as") if "file_as" in entry else None
        found.append(Contributor(name, ("author",), file_as))
    return tuple(found)


def contributors(value: Any) -> tuple[Contributor, ...]:
    """`contributors`: tables of a name, a role (or a list of roles: "author" among them makes the
    person one of the authors) and optionally the name as sorted, in the order the book credits them."""
    from ..core.model import CONTRIBUTOR_ROLES, Contributor

    value = _one_or_list(value, (dict,), 'a list of tables such as { name = "…", role = "editor" }', empty=True)
    found = []
    for n, item in enumerate(value, start=1):
        what = f"contributor {n}"
        entry = _entry(item, what, ("name", "role", "file_as"), ("name", "role"))
        name = _named(entry["name"], what)
        what = f"{what} ({name})"
        roles = entry["role"] if isinstance(entry["role"], list) else [entry["role"]]
        if not roles:
            raise Invalid(f"{what}: 'role' names no role; the roles are: {', '.join(CONTRIBUTOR_ROLES)}")
        for role in roles:
            if role not in CONTRIBUTOR_ROLES:
                raise Invalid(f"{what}: unknown role {role!r}; the roles are: {', '.join(CONTRIBUTOR_ROLES)}")
        file_as = _named(entry["file_as"], f"{what}: file_as") if "file_as" in entry else None
        found.append(Contributor(name, tuple(dict.fromkeys(roles)), file_as))
    return tuple(found)


def series_index(value: Any) -> int | float:
    """`series_index`: the book's number in its series, a number of at least 0 (1.5 between 1 and 2)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise Invalid(f"expected the book's number in its series, such as 2 or 1.5 (a number, not a string), got {value!r}")
    return int(value) if isinstance(value, float) and value.is_integer() else value


def subjects(value: Any) -> tuple[Subject, ...]:
    """`subjects`: BISAC codes ("PHO000000": 3 capital letters, 6 digits), free keywords, or a
    code with its heading's name ({ code = "PHO000000", name = "Photography / General" })."""
    from ..core.model import Subject

    value = _one_or_list(value, (str, dict), 'a list of BISAC codes and keywords, such as ["PHO000000", "North Korea"]')
    found = []
    for n, item in enumerate(value, start=1):
        what = f"subject {n}"
        if isinstance(item, str):
            subject = _named(item, what)
            found.append(Subject(subject, subject if _BISAC.match(subject) else None))
            continue
        entry = _entry(item, what, ("code", "name"), ("code",))
        code = _named(entry["code"], f"{what}: code")
        if not _BISAC.match(code):
            raise Invalid(f"{what}: {code!r} is not a BISAC subject code (3 capital letters and 6 digits, such as 'PHO000000')")
        found.append(Subject(_named(entry["name"], f"{what}: name") if "name" in entry else code, code))
    return tuple(found)
