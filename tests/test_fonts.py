"""The print fonts: a manuscript's scripts print in real, embedded fonts, and a letter no print font
has is one located warning (render/glyphs/), never a silent empty box."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bookmaker.core.errors import Reporter
from bookmaker.render import glyphs
from bookmaker.render.glyphs import coverage as glyph_coverage
from bookmaker.render.glyphs import fonts as glyph_fonts
from bookmaker.transform.book import load_book

from .conftest import ROOT, build_book, need, which

CHARIS = ROOT / "layouts" / "fonts" / "CharisSIL-Regular.ttf"
NOTO_MONO = Path("/usr/share/fonts/truetype/noto/NotoSansMono-Regular.ttf")
WORDS = {
    "Malayalam": "മലയാളം", "Kannada": "ಕನ್ನಡ", "Devanagari": "हिन्दी", "Greek": "ελληνικά",
    "Cyrillic": "русский", "Arabic": "العربية", "Hebrew": "עברית",
}
# The fallbacks those words must come from: the chain of layouts/print.css, not any font Pango finds.
FALLBACKS = ("Noto-Serif-Malayalam", "Noto-Serif-Kannada", "Noto-Serif-Devanagari", "Noto-Naskh-Arabic", "Noto-Serif-Hebrew")
BIDI_CONTROLS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")  # pdftotext marks right-to-left runs


@pytest.fixture(scope="module")
def chains() -> glyphs.PrintChains:
    """The print chain as this machine resolves it; the tests that build PDFs need all of it."""
    if shutil.which("fc-match") is None:
        need("fc-match not found (Debian: apt-get install fontconfig)")
    found = glyphs.print_chains()
    if found.missing:
        need(f"print fonts not installed: {', '.join(found.missing)} (make system-deps installs BOOK_PACKAGES)")
    return found


def write_chapter(book: Path, body: str, name: str = "01-one.md", title: str = "One") -> Path:
    """A chapter whose body starts on line 4 (front matter on lines 1-3)."""
    path = book / "chapters" / name
    path.write_text(f"---\ntitle: {title}\n---\n{body}", encoding="utf-8")
    return path


def check(book: Path, chains: glyphs.PrintChains) -> list[str]:
    reporter = Reporter()
    loaded = load_book(book, reporter)
    assert not reporter.warnings, reporter.warnings
    glyphs.check_glyphs(loaded, reporter, chains)
    return [str(w) for w in reporter.warnings]


def charis_and_mono() -> glyphs.PrintChains:
    if not NOTO_MONO.exists():
        need(f"{NOTO_MONO} not found (Debian: apt-get install fonts-noto-mono)")
    return glyphs.chains_of_files([CHARIS], [NOTO_MONO])


# --- what the PDF shows -----------------------------------------------------------------------


def _font_glyphs(font: object) -> tuple[int, dict[int, int] | None]:
    """The embedded program's glyph count, and the font's code -> glyph map (None: identity)."""
    from fontTools.ttLib import TTFont

    descendant = font["/DescendantFonts"][0].get_object()  # type: ignore[index]
    program = descendant["/FontDescriptor"].get_object()["/FontFile2"].get_object().get_data()
    count = TTFont(io.BytesIO(program), lazy=True)["maxp"].numGlyphs
    encoding = font["/Encoding"]  # type: ignore[index]
    if isinstance(encoding, str):  # /Identity-H
        return count, None
    cmap = encoding.get_object().get_data().decode("latin-1").split("begincidchar", 1)[-1]
    return count, {int(code, 16): int(cid) for code, cid in re.findall(r"<([0-9a-fA-F]+)>\s+(\d+)", cmap)}


def _scan(content: object, resources: object, reader: object, page: int, found: list[tuple[int, str, int]]) -> None:
    from pypdf.generic import ContentStream

    fonts = {name: _font_glyphs(ref.get_object()) for name, ref in (resources.get("/Font") or {}).items()}  # type: ignore[attr-defined]
    current = None
    for operands, operator in ContentStream(content, reader).operations:
        if operator == b"Tf":
            current = operands[0]
        elif operator in (b"Tj", b"TJ", b"'", b'"'):
            count, codes = fonts[current]
            for item in operands[0] if operator == b"TJ" else [operands[-1]]:
                if isinstance(item, (int, float)):
                    continue
                data = item.original_bytes if hasattr(item, "original_bytes") else bytes(item)
                for i in range(0, len(data) - 1, 2):
                    code = int.from_bytes(data[i:i + 2], "big")
                    glyph = codes.get(code, code) if codes is not None else code
                    if glyph == 0 or glyph >= count:
                        found.append((page, str(current), glyph))
        elif operator == b"Do":
            xobject = resources["/XObject"][operands[0]].get_object()  # type: ignore[index]
            if xobject.get("/Subtype") == "/Form":
                _scan(xobject, xobject.get("/Resources") or resources, reader, page, found)


def notdef_glyphs(pdf: Path) -> list[tuple[int, str, int]]:
    """(page, font, glyph) of every glyph drawn that its font does not have: glyph 0 (.notdef), or
    one past the font's last, which is what WeasyPrint 70 writes where Pango found no font; a PDF
    viewer draws both as the empty box."""
    from pypdf import PdfReader

    reader = PdfReader(pdf)
    found: list[tuple[int, str, int]] = []
    for number, page in enumerate(reader.pages, 1):
        if page.get_contents() is not None:
            _scan(page.get_contents(), page["/Resources"], reader, number, found)
    return found


def pdffonts(pdf: Path) -> list[tuple[str, str]]:
    """(font name without its subset tag, embedded yes/no) per font of the PDF."""
    out = subprocess.run([which("pdffonts"), str(pdf)], capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines()[2:]:
        fields = line.split()
        # name type... encoding emb sub uni object ID: the last five columns are fixed
        rows.append((fields[0].split("+", 1)[-1], fields[-5]))
    return rows


def pdftext(pdf: Path) -> str:
    out = subprocess.run([which("pdftotext"), str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return BIDI_CONTROLS.sub("", out)


def test_every_script_prints_in_an_embedded_fallback_font(tiny_book: Path, tmp_path: Path, chains: glyphs.PrintChains) -> None:
    lines = [f"{script}: {word}." for script, word in WORDS.items()]
    write_chapter(tiny_book, "\n" + "\n\n".join(lines) + "\n\n**" + " ".join(WORDS.values()) + "**\n")
    built = build_book(tiny_book, tmp_path / "out", formats=("pdf",))
    assert built.warnings == ()  # neither ours nor WeasyPrint's ".notdef glyph rendered"
    fonts = pdffonts(built.pdf)
    assert fonts and all(embedded == "yes" for _, embedded in fonts), fonts
    names = {name for name, _ in fonts}
    assert set(FALLBACKS) <= names and "Charis-SIL" in names, names
    assert {n for n in names if n.endswith("-Bold")} >= {"Noto-Serif-Malayalam-Bold", "Charis-SIL-Bold"}
    assert notdef_glyphs(built.pdf) == []
    text = pdftext(built.pdf)
    for script, word in WORDS.items():
        assert f"{script}: {word}." in text, (script, word)


def test_a_letter_no_font_has_is_one_located_warning_and_is_really_a_box(tiny_book: Path, tmp_path: Path,
                                                                          chains: glyphs.PrintChains) -> None:
    assert not chains.text.has("\ue000") and not chains.code.has("\ue000")
    write_chapter(tiny_book, "\nFine text.\n\nA private \ue000 letter.\n\nAgain \ue000 here.\n")
    built = build_book(tiny_book, tmp_path / "out", formats=("pdf",))
    mentions = [w for w in built.warnings if "U+E000" in w]
    located = [w for w in mentions if re.search(r"chapters/01-one\.md:\d+: warning: ", w)]
    assert len(located) == 1, built.warnings
    assert "chapters/01-one.md:7: warning: '\ue000' (U+E000, a private-use character) is in none of the print fonts " \
           "(Charis SIL, Noto Serif and " in located[0] and located[0].endswith("; it would print as an empty box")
    # WeasyPrint's own word for it, if any, carries no line: ours is the one to act on.
    assert all("WeasyPrint: .notdef" in w for w in mentions if w not in located)
    assert notdef_glyphs(built.pdf), "the warned-about letter is drawn as .notdef"
    # The other chapter of the book has no such letter and no warning.
    assert not [w for w in built.warnings if "02-two.md" in w]


# --- the check on the manuscript ----------------------------------------------------------------


def test_a_character_warns_once_per_chapter_at_its_first_line(tiny_book: Path) -> None:
    chains = glyphs.chains_of_files([CHARIS])
    write_chapter(tiny_book, "\nNo box here.\n\nKa ക once,\n\nka ക twice, ക.\n")
    write_chapter(tiny_book, "\nಕ and ക.\n", name="02-two.md", title="Two")
    warnings = check(tiny_book, chains)
    assert len(warnings) == 3, warnings
    one = [w for w in warnings if "01-one.md" in w]
    assert one == [f"{tiny_book / 'chapters' / '01-one.md'}:7: warning: 'ക' (U+0D15 MALAYALAM LETTER KA) is in none of "
                   "the print fonts (CharisSIL-Regular); it would print as an empty box"]
    two = sorted(w for w in warnings if "02-two.md" in w)
    assert len(two) == 2 and all(":5: warning: " in w for w in two)
    assert "U+0C95 KANNADA LETTER KA" in two[0] + two[1] and "U+0D15" in two[0] + two[1]


def test_code_is_checked_against_the_monospace_font_then_the_text_fonts(tiny_book: Path) -> None:
    chains = charis_and_mono()
    assert not chains.text.has("─") and chains.code.has("─")  # box drawing: in the code font only
    assert chains.code.has("é")  # a letter the monospace font lacked would come from the text fonts
    write_chapter(tiny_book, "\nIn code `a─b` and\n\n```\n──── é\n```\n\n    ─ indented\n\nIn prose ─ it is missing.\n\n`\ue000`\n")
    warnings = check(tiny_book, chains)
    assert len(warnings) == 2, warnings
    assert ":13: warning: '─' (U+2500 BOX DRAWINGS LIGHT HORIZONTAL) is in none of the print fonts" in warnings[0]
    assert ":15: warning: '\ue000' (U+E000, a private-use character) is in none of the fonts for code " \
           "(NotoSansMono-Regular, CharisSIL-Regular)" in warnings[1]


def test_nothing_is_said_of_what_prints_nothing(tiny_book: Path) -> None:
    chains = glyphs.chains_of_files([CHARIS])
    invisible = "\u00a0\u00ad\u200b\u200c\u200d\u2060\ufeff\ufe0f\u180e\t"
    assert any(not chains.text.has(c) for c in invisible)  # the font lacks some: the check must skip them
    write_chapter(tiny_book, f"\nSpaces{invisible}and joiners.\n")
    assert check(tiny_book, chains) == []


def test_entities_are_read_as_the_letters_they_print(tiny_book: Path) -> None:
    chains = glyphs.chains_of_files([CHARIS])
    write_chapter(tiny_book, "\nIn code `&#xE000;` is eight letters.\n\nIn prose &#xE000; is one.\n")
    warnings = check(tiny_book, chains)
    assert len(warnings) == 1 and ":7: warning: '\ue000' (U+E000" in warnings[0], warnings


def test_titles_and_book_toml_are_checked_where_they_are_written(tiny_book: Path) -> None:
    chains = glyphs.chains_of_files([CHARIS])
    write_chapter(tiny_book, "\nBody ക.\n", title="Title ക")
    toml = tiny_book / "book.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('title = "Tiny"', 'title = "Tiny \u0378"'), encoding="utf-8")
    warnings = check(tiny_book, chains)
    assert len(warnings) == 2, warnings
    assert f"{tiny_book / 'chapters' / '01-one.md'}:2: warning: 'ക' (U+0D15" in warnings[0]  # once: its first line is the title's
    assert f"{toml}:1: warning: '\u0378' (U+0378, an unassigned code point) is in none of the print fonts" in warnings[1]


def test_a_family_that_is_not_installed_is_noted_when_a_letter_is_missing(tiny_book: Path) -> None:
    if shutil.which("fc-match") is None:
        need("fc-match not found (Debian: apt-get install fontconfig)")
    css = ('@font-face { font-family: "Charis SIL"; src: url("../fonts/CharisSIL-Regular.ttf"); }\n'
           'html { font-family: "Charis SIL", "Noto Serif Nowhere", serif; }\n')
    chains = glyphs.chains_for(css, ROOT / "layouts")
    assert [f.family for f in chains.text.fonts] == ["Charis SIL"] and chains.missing == ("Noto Serif Nowhere",)
    write_chapter(tiny_book, "\nAll Latin.\n")
    reporter = Reporter()
    glyphs.check_glyphs(load_book(tiny_book, reporter), reporter, chains)
    assert not reporter.warnings and not reporter.notes  # nothing missing: nothing to install
    write_chapter(tiny_book, "\nMalayalam ക.\n")
    glyphs.check_glyphs(load_book(tiny_book, reporter), reporter, chains)
    assert len(reporter.warnings) == 1
    assert [n.message for n in reporter.notes] == [
        "print fonts not installed: Noto Serif Nowhere; the PDF falls back to other fonts or empty boxes "
        "(install them: apt-get install fonts-noto-core)"]


# --- the chain ----------------------------------------------------------------------------------


def test_the_print_chain_is_the_stylesheets_and_covers_the_scripts(chains: glyphs.PrintChains) -> None:
    families = [f.family for f in chains.text.fonts]
    assert families[0] == "Charis SIL" and chains.text.fonts[0].file == CHARIS
    assert {"Noto Serif Malayalam", "Noto Serif Kannada", "Noto Serif Devanagari", "Noto Naskh Arabic", "Noto Serif Hebrew",
            "Noto Serif Thai", "WenQuanYi Micro Hei", "Symbola"} <= set(families)
    for word in (*WORDS.values(), "ภาษาไทย", "中文日本語かな한국어", "★☃♞→∑∫😀"):
        assert all(chains.text.has(c) for c in word), word
    assert not chains.text.has("\ue000") and not chains.text.has("\u0378")
    # print.css sets code in DejaVu Sans Mono, shipped in layouts/fonts/ (it has obliques and the marks)
    assert chains.code.fonts[0].family == "DejaVu Sans Mono"
    assert chains.code.fonts[0].file.parent.name == "fonts" and chains.code.fonts[0].file.name == "DejaVuSansMono.ttf"
    assert glyphs.print_font_files() == chains.files() and CHARIS in chains.files()


def test_every_print_font_comes_from_layouts_or_a_package_the_makefile_installs(chains: glyphs.PrintChains) -> None:
    if shutil.which("dpkg") is None:
        need("dpkg not found: the font packages are Debian's")
    line = next(l for l in (ROOT / "Makefile").read_text(encoding="utf-8").splitlines() if l.startswith("BOOK_PACKAGES"))
    packages = set(line.split(":=", 1)[1].split())
    system = [str(p) for p in chains.files() if (ROOT / "layouts") not in p.parents]
    out = subprocess.run(["dpkg", "-S", *system], capture_output=True, text=True, check=True).stdout
    owners = {path: owner for owner, path in (row.split(": ", 1) for row in out.splitlines())}
    assert set(owners) == set(system)
    assert {p: o for p, o in owners.items() if o not in packages} == {}


def test_stylesheet_fonts_reads_the_html_rule_and_the_regular_faces() -> None:
    css = ('/* a comment, "Not A Font" */\n'
           '@font-face { font-family: "Charis SIL"; src: url("../fonts/CharisSIL-Regular.ttf"); font-weight: normal; }\n'
           '@font-face { font-family: "Charis SIL"; src: url(../fonts/CharisSIL-Bold.ttf); font-weight: bold; }\n'
           '@font-face { font-family: Other; src: url(../fonts/Other.ttf); }\n'
           'body { font-family: "Body Only"; }\n'
           'html { font-family: "Charis SIL", Noto  Serif, serif; color: #000; }\n')
    families, faces = glyphs.stylesheet_fonts(css, ROOT / "layouts")
    assert families == ("Charis SIL", "Noto Serif", "serif")
    assert faces == {"Charis SIL": CHARIS, "Other": ROOT / "layouts" / "fonts" / "Other.ttf"}


def test_coverage_ranges() -> None:
    coverage = glyphs.Coverage.of_code_points([65, 66, 67, 70, 0x10000])
    assert coverage.ranges() == ((65, 67), (70, 70), (0x10000, 0x10000))
    assert all(cp in coverage for cp in (65, 66, 67, 70, 0x10000))
    assert not any(cp in coverage for cp in (0, 64, 68, 69, 71, 0xFFFF, 0x10001))
    assert coverage.union(glyphs.Coverage.of_ranges([(68, 69)])).ranges() == ((65, 70), (0x10000, 0x10000))


def test_coverage_is_cached_per_font_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOOKMAKER_CACHE_DIR", str(tmp_path / "cache"))
    font = glyphs.PrintFont("Charis SIL", tmp_path / "Charis.ttf")
    shutil.copyfile(CHARIS, font.file)
    first = glyphs.coverages([font])[0]
    assert ord("a") in first and ord("ക") not in first
    assert (tmp_path / "cache" / "font-coverage.json").exists()

    def unread(_: glyphs.PrintFont) -> tuple[tuple[int, int], ...]:
        raise AssertionError("read the font again")

    monkeypatch.setattr(glyph_coverage, "_cmap_ranges", unread)
    assert glyphs.coverages([font]) == (first,)  # a later build reads the cache, not the font
    stat = font.file.stat()
    os.utime(font.file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    with pytest.raises(AssertionError, match="read the font again"):
        glyphs.coverages([font])  # a changed file is read again


def test_the_resolved_chain_is_reused_until_fontconfig_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               chains: glyphs.PrintChains) -> None:
    monkeypatch.setenv("BOOKMAKER_CACHE_DIR", str(tmp_path / "cache"))
    css = (ROOT / "layouts" / "print.css").read_text(encoding="utf-8")
    calls = []
    resolve_now = glyph_fonts._resolve_now

    def counted(*args: object) -> object:
        calls.append(args)
        return resolve_now(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(glyph_fonts, "_resolve_now", counted)
    first = glyphs.chains_for(css, ROOT / "layouts")
    again = glyphs.chains_for(css, ROOT / "layouts")
    assert len(calls) == 1 and again == first == chains  # the second build asked fontconfig nothing
    monkeypatch.setattr(glyph_fonts, "fontconfig_state", lambda: "a font was installed")
    assert glyphs.chains_for(css, ROOT / "layouts") == first and len(calls) == 2
    assert glyphs.chains_for(css + "\n/* edited */", ROOT / "layouts") == first and len(calls) == 3


def test_fontconfig_state_moves_when_a_font_folder_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    before = glyphs.fontconfig_state()
    assert glyphs.fontconfig_state() == before
    (tmp_path / ".local" / "share" / "fonts" / "truetype").mkdir(parents=True)
    with_folder = glyphs.fontconfig_state()
    assert with_folder != before
    (tmp_path / ".local" / "share" / "fonts" / "truetype" / "New.ttf").write_bytes(b"")
    os.utime(tmp_path / ".local" / "share" / "fonts" / "truetype", ns=(0, 1))  # a new file: its folder's mtime moves
    assert glyphs.fontconfig_state() != with_folder
