"""Generated manuscripts: the build succeeds with well-formed output or fails with a clear error."""

from __future__ import annotations

import io
import random
import zipfile
from pathlib import Path

import pytest
from .conftest import need
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from bookmaker.backends.epub import EpubBackend
from bookmaker.checks.validate import ValidatorMissing, resident_epubcheck
from bookmaker.core.context import BuildContext, build_timestamp
from bookmaker.core.errors import BookError, Reporter
from bookmaker.render.layout import render_epub
from bookmaker.render.printed import render_print
from bookmaker.transform.book import load_book

SCRIPTS = ["Hello", "Ça va ? « oui »", "Здравствуйте", "Γειά σου", "שלום", "مرحبا", "नमस्ते", "你好，世界", "こんにちは",
           "안녕하세요", "สวัสดี", "ሰላም", "Ꭳ", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "👩🏽‍🚀 🇰🇷", "e\u0301\u0302", "\u200b\u200d\u2060", "a\u00adb", "＜＞＆"]
TAGS = ["b", "i", "em", "span", "div", "p", "script", "style", "iframe", "form", "input", "table", "tr", "td", "svg", "math",
        "a", "img", "sup", "sub", "br", "hr", "ul", "li", "object", "video", "audio", "custom-el", "blink", "h1", "section"]
ATTRS = ['class="x"', 'onclick="alert(1)"', 'href="javascript:alert(1)"', 'href="02-b.md#x"', 'src="http://evil.invalid/x.png"',
         'style="color:red"', 'id="dup"', 'id="dup"', 'epub:type="noteref"', 'xmlns="http://www.w3.org/2000/svg"', 'lang="ar"', 'dir="rtl"']


def text(rng: random.Random) -> str:
    pieces = [rng.choice(SCRIPTS) for _ in range(rng.randint(0, 6))]
    if rng.random() < 0.2:
        pieces.append("x" * rng.randint(50, 600))  # a long unbreakable word
    if rng.random() < 0.3:
        pieces.append("".join(c for c in (chr(rng.randint(0x20, 0x2FFFF)) for _ in range(rng.randint(1, 30)))
                              if not 0xD800 <= ord(c) <= 0xDFFF and c not in "\ufffe\uffff"))
    if rng.random() < 0.3:
        pieces.append(rng.choice(["*", "_", "**", "`", "[", "]", "(", ")", "<", ">", "&", "&amp;", "&#0;", "&bogus;", "\\", "|", "~~"]))
    return " ".join(pieces)


def raw_html(rng: random.Random, depth: int = 0) -> str:
    tag = rng.choice(TAGS)
    attrs = " ".join(rng.sample(ATTRS, rng.randint(0, 3)))
    inner = text(rng) if depth > 2 or rng.random() < 0.5 else raw_html(rng, depth + 1)
    close = f"</{tag}>" if rng.random() < 0.7 else ""
    return f"<{tag} {attrs}>{inner}{close}"


def block(rng: random.Random, depth: int = 0) -> str:
    kind = rng.randrange(11)
    if kind == 0:
        return "#" * rng.randint(1, 6) + " " + (text(rng) if rng.random() < 0.8 else "")
    if kind == 1 and depth < 6:
        return "\n".join("> " + line for line in block(rng, depth + 1).split("\n"))
    if kind == 2 and depth < 6:
        return "\n".join(("  " * depth) + rng.choice(["- ", "1. ", "* "]) + text(rng) for _ in range(rng.randint(1, 4)))
    if kind == 3:
        return raw_html(rng)
    if kind == 4:
        return "| a | b |\n|---|:-:|\n| " + text(rng).replace("|", "/") + " | " + text(rng).replace("|", "/") + " |"
    if kind == 5:
        return f"Note[^n{depth}] here.\n\n[^n{depth}]: {text(rng)}"
    if kind == 6:
        return "```\n" + text(rng) + "\n<script>x</script>\n```"
    if kind == 7:
        return f"![{text(rng).replace(']', '')}](images/missing-{rng.randint(0, 3)}.png \"{text(rng).replace(chr(34), '')}\")"
    if kind == 8:
        return f"[link](02-b.md) [{text(rng)}](https://example.com/?q=<x>&y) <https://auto.link> [bad](javascript:alert(1))"
    if kind == 9:
        return "---"
    return text(rng)


def manuscript(rng: random.Random) -> str:
    return "\n\n".join(block(rng) for _ in range(rng.randint(0, 8)))


def make_book(root: Path, bodies: list[str]) -> Path:
    (root / "chapters").mkdir(parents=True, exist_ok=True)
    for old in (root / "chapters").glob("*.md"):
        old.unlink()
    (root / "book.toml").write_text('title = "Fuzz"\nauthors = ["H. Ypothesis"]\nlanguage = "en"\n', encoding="utf-8")
    for n, body in enumerate(bodies):
        name = "02-b.md" if n == 1 else f"{n:02d}-c.md"
        (root / "chapters" / name).write_bytes(f"---\ntitle: 'Chapter {n} <b>'\n---\n\n{body}\n".encode("utf-8", "surrogatepass"))  # lone surrogates: invalid UTF-8
    return root


def epub_bytes(root: Path) -> bytes:
    reporter = Reporter()
    book = load_book(root, reporter, with_cover=False)
    ctx = BuildContext(book, build_timestamp(), reporter)
    render_print(book)  # the print document is checked well-formed too
    from dataclasses import replace

    from bookmaker.transform.images import load_cover

    book = replace(book, cover=load_cover(book.config))
    return EpubBackend().write(render_epub(book), replace(ctx, book=book))


PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.randoms(use_true_random=False), st.integers(min_value=1, max_value=3))
def test_generated_manuscripts_build_or_fail_clearly(tmp_path: Path, rng: random.Random, chapters: int) -> None:
    root = make_book(tmp_path / "fuzz", [manuscript(rng) for _ in range(chapters)])
    try:
        data = epub_bytes(root)
    except BookError as exc:
        assert exc.diagnostics and all(str(d).count(": error: ") == 1 for d in exc.diagnostics)
        return
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for name in z.namelist():
            if name.endswith((".xhtml", ".opf", ".ncx")):
                etree.fromstring(z.read(name), PARSER)
                assert b"<script" not in z.read(name) and b'href="javascript:' not in z.read(name)


@settings(max_examples=8, deadline=None)
@given(st.text(min_size=0, max_size=300))
def test_any_text_at_all(tmp_path_factory: pytest.TempPathFactory, body: str) -> None:
    root = make_book(tmp_path_factory.mktemp("anytext"), [body + "\n\nend"])
    try:
        epub_bytes(root)
    except BookError as exc:
        assert exc.diagnostics[0].location.path.name == "00-c.md"


def test_a_sample_of_generated_chapters_passes_epubcheck(tmp_path: Path) -> None:
    rng = random.Random(20261126)
    root = make_book(tmp_path / "sampled", [manuscript(rng) + "\n\nEnd of chapter." for _ in range(60)])
    epub = tmp_path / "sampled.epub"
    epub.write_bytes(epub_bytes(root))
    try:
        report = resident_epubcheck().check(epub)
    except ValidatorMissing as exc:
        need(str(exc))
        raise
    assert report.clean, [f"{f.severity} {f.code} {f.message} @ {f.location}" for f in report.findings]
