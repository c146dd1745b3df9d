"""The preview server end to end in a real browser: headless Debian Chromium driven by Playwright.

Playwright never downloads a browser here: it launches /usr/bin/chromium (`make system-deps`).
Without either, the test is skipped on a user's machine and fails under CI=true.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any, Iterator

import pytest
from .conftest import need

CHROMIUM = "/usr/bin/chromium"
WAIT_MS = 30_000  # a bound, not a pause: every wait returns as soon as its condition holds


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOOKMAKER_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        need("playwright is not installed (pip install -e '.[test]')")
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        need(f"{CHROMIUM} not found (Debian: apt-get install chromium, or make system-deps)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium"),
                              args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def server(tiny_book: Path, tmp_path: Path) -> Iterator[Any]:
    from bookmaker.preview.serve import PreviewServer

    (tiny_book / "chapters" / "01-one.md").write_text(
        "---\ntitle: One\n---\n\nFirst chapter text, see [the second](02-two.md).\n", encoding="utf-8")
    srv = PreviewServer(tiny_book, tmp_path / "out", port=0).start_http()
    try:
        yield srv
    finally:
        srv.stop()


def test_edit_break_and_fix_a_chapter_while_its_page_is_open(browser: Any, server: Any, tiny_book: Path) -> None:
    from playwright.sync_api import expect

    chapter = tiny_book / "chapters" / "01-one.md"
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    page.set_default_timeout(WAIT_MS)
    try:
        page.goto(server.url)
        page.get_by_role("link", name="Chapter 1 · One").click()
        expect(page).to_have_url(server.url + "chapter/01-one")
        reflow = page.frame_locator("#reflow")
        expect(reflow.locator("h1")).to_contain_text("One", timeout=WAIT_MS)
        expect(reflow.locator("body")).to_contain_text("First chapter text", timeout=WAIT_MS)
        expect(page.locator("#pages img")).to_have_count(1, timeout=WAIT_MS)  # the print view: one page
        expect(page.locator("#folio")).to_contain_text("opens on page 1", timeout=WAIT_MS)
        page.evaluate("window.__untouched = true")  # gone if the page were reloaded or navigated

        chapter.write_text("---\ntitle: One\n---\n\nThe chapter, rewritten while open.\n", encoding="utf-8")
        expect(reflow.locator("body")).to_contain_text("rewritten while open", timeout=WAIT_MS)
        expect(page.locator("#pages img")).to_have_attribute("src", re.compile(r"\?v=[2-9]"), timeout=WAIT_MS)

        chapter.write_text("---\ntitle: One\nkind: [body\n---\n\nText.\n", encoding="utf-8")
        errors = page.locator("#errors")
        expect(errors).to_be_visible(timeout=WAIT_MS)
        expect(errors).to_contain_text(f"{chapter}:3: error: front matter", timeout=WAIT_MS)
        expect(page.locator("body")).to_have_attribute("data-state", "error")

        chapter.write_text("---\ntitle: One, Fixed\n---\n\nBack again, see [the second](02-two.md).\n", encoding="utf-8")
        expect(errors).to_be_hidden(timeout=WAIT_MS)
        expect(reflow.locator("h1")).to_contain_text("One, Fixed", timeout=WAIT_MS)
        expect(reflow.locator("body")).to_contain_text("Back again", timeout=WAIT_MS)
        assert page.evaluate("window.__untouched") is True

        # A link to another chapter in the reflowable view opens that chapter's page.
        reflow.get_by_role("link", name="the second").click()
        expect(page).to_have_url(server.url + "chapter/02-two", timeout=WAIT_MS)
        expect(page.frame_locator("#reflow").locator("body")).to_contain_text("Second chapter text", timeout=WAIT_MS)
    finally:
        page.close()
