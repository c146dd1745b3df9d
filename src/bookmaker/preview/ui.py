"""The preview server's own pages: the index and the chapter page, with the script that reloads them.

These are the server's user interface, not the book's: the book's layouts stay in layouts/.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING
from urllib.parse import quote

from ..core.model import BookConfig

if TYPE_CHECKING:
    from ..core.errors import BookError
    from .workspace import Entry, Snapshot


@dataclass(frozen=True)
class ChapterState:
    """What a chapter's page shows; sent to it as JSON on every change."""

    slug: str
    title: str
    number: int | None
    errors: tuple[str, ...] = ()  # `path:line: error: …` of the chapter or the book: the views are stale
    warnings: tuple[str, ...] = ()
    html_version: int = 0  # 0: not built yet
    print_version: int = 0
    print_pages: tuple[str, ...] = ()  # URLs of the page pictures
    print_errors: tuple[str, ...] = ()
    print_busy: bool = False
    first_folio: int | None = None
    folio_exact: bool = False
    folio_unknown: tuple[str, ...] = ()
    recto: bool = True
    filling: bool = False  # the background layout that learns the page numbers is running

    def as_json(self) -> str:
        data = {k: v for k, v in self.__dict__.items()}
        return json.dumps(data)


def error_lines(exc: BookError) -> tuple[str, ...]:
    """A failure as its page shows it (`ChapterState.errors`, `print_errors`): a line per diagnostic."""
    return tuple(str(d) for d in exc.diagnostics)


_STYLE = """
:root { color-scheme: light; --ink: #1d232b; --muted: #66707c; --line: #d8dde3; --bad: #9b1c1c; --bad-bg: #fdecec; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, sans-serif; color: var(--ink); background: #f3f4f6; }
header { display: flex; gap: 1em; align-items: baseline; flex-wrap: wrap; padding: .6em 1em; background: #fff; border-bottom: 1px solid var(--line); }
header h1 { font-size: 1.05em; margin: 0; flex: 1; }
header nav a { margin-right: .8em; }
.status { color: var(--muted); font-size: .9em; }
.errors { margin: 1em; padding: .8em 1em; background: var(--bad-bg); border: 1px solid var(--bad); color: var(--bad); }
.errors h2 { margin: 0 0 .4em; font-size: 1em; }
.errors pre, .warnings pre { margin: 0; white-space: pre-wrap; font: 13px/1.4 ui-monospace, monospace; }
.warnings { margin: 0 1em; padding: .4em 1em; background: #fff8e6; border: 1px solid #e3c36b; color: #6b5200; }
main.views { display: grid; grid-template-columns: minmax(320px, 1fr) minmax(320px, 1.15fr); gap: 1em; padding: 1em; }
body.broken main.views { opacity: .35; }
section.view { background: #fff; border: 1px solid var(--line); display: flex; flex-direction: column; min-height: 80vh; }
section.view > h2 { font-size: .85em; text-transform: uppercase; letter-spacing: .08em; color: var(--muted); margin: 0; padding: .5em .8em; border-bottom: 1px solid var(--line); display: flex; gap: 1em; }
section.view > h2 span { flex: 1; }
#reflow { flex: 1; width: 100%; border: 0; min-height: 78vh; }
.pages { display: grid; grid-template-columns: 1fr 1fr; gap: 2px; padding: 1em; background: #8a9099; align-content: start; flex: 1; overflow: auto; }
.pages img, .pages .empty { width: 100%; height: auto; background: #fff; display: block; box-shadow: 0 1px 3px rgba(0,0,0,.35); }
.pages .empty { background: transparent; box-shadow: none; }
.pages figure { margin: 0; }
.pages figcaption { color: #fff; font-size: .8em; text-align: center; }
.busy { color: #f3f4f6; font-style: italic; padding: 1em; }
ol.chapters { background: #fff; margin: 1em; padding: .5em 1em .5em 3em; border: 1px solid var(--line); }
ol.chapters li { margin: .2em 0; }
ol.chapters .file { color: var(--muted); font-size: .85em; margin-left: .6em; }
ol.chapters .bad { color: var(--bad); font-weight: bold; margin-left: .6em; }
"""

_CHAPTER_SCRIPT = """
(() => {
  const $ = (id) => document.getElementById(id);
  let shownHtml = 0, shownPrint = -1;
  const slug = STATE.slug;
  const frame = $("reflow");
  frame.addEventListener("load", () => {
    // A link to another chapter inside the reflowable view opens that chapter's page.
    try {
      const loc = frame.contentWindow.location;
      const m = loc.pathname.match(/^\\/preview\\/([^\\/]+)\\.xhtml$/);
      if (m && decodeURIComponent(m[1]) !== slug) { window.location.href = "/chapter/" + m[1] + loc.hash; }
    } catch (e) {}
  });
  function reloadFrame(version) {
    let y = 0;
    try { y = frame.contentWindow.scrollY; } catch (e) {}
    frame.addEventListener("load", () => { try { frame.contentWindow.scrollTo(0, y); } catch (e) {} }, { once: true });
    frame.src = "/preview/" + encodeURIComponent(slug) + ".xhtml?v=" + version;
  }
  function showPages(s) {
    const box = $("pages");
    box.replaceChildren();
    if (s.print_errors.length) {
      const pre = document.createElement("pre"); pre.className = "errors"; pre.textContent = s.print_errors.join("\\n");
      box.append(pre); return;
    }
    if (!s.print_pages.length) {
      const p = document.createElement("p"); p.className = "busy"; p.textContent = "laying out for print…"; box.append(p); return;
    }
    if (s.recto) { const e = document.createElement("div"); e.className = "empty"; box.append(e); }
    s.print_pages.forEach((url, i) => {
      const fig = document.createElement("figure");
      const img = document.createElement("img");
      img.src = url + "?v=" + s.print_version; img.alt = "print page " + (s.first_folio + i);
      const cap = document.createElement("figcaption"); cap.textContent = String(s.first_folio + i);
      fig.append(img, cap); box.append(fig);
    });
  }
  function render(s) {
    const broken = s.errors.length > 0;
    $("errors").hidden = !broken;
    $("errors-text").textContent = s.errors.join("\\n");
    document.body.classList.toggle("broken", broken);
    $("warnings").hidden = !s.warnings.length;
    $("warnings-text").textContent = s.warnings.join("\\n");
    if (s.html_version && s.html_version !== shownHtml) { shownHtml = s.html_version; reloadFrame(s.html_version); }
    if (s.print_version !== shownPrint) { shownPrint = s.print_version; showPages(s); }
    let folio = "";
    if (s.first_folio !== null) {
      folio = "opens on page " + s.first_folio + (s.folio_exact ? "" : " (provisional" + (s.filling ? ": learning the book's page numbers…" : "") + ")");
    }
    $("folio").textContent = (s.print_busy ? "laying out… " : "") + folio;
    document.body.dataset.htmlVersion = s.html_version;
    document.body.dataset.printVersion = s.print_version;
    document.body.dataset.state = broken ? "error" : "ok";
  }
  const events = new EventSource("/events?chapter=" + encodeURIComponent(slug));
  events.addEventListener("chapter", (e) => { render(JSON.parse(e.data)); $("status").textContent = "live"; });
  events.addEventListener("open", () => { $("status").textContent = "live"; });
  events.addEventListener("error", () => { $("status").textContent = "reconnecting…"; });
  render(STATE);
})();
"""

_INDEX_SCRIPT = """
(() => {
  const shown = VERSION;
  const events = new EventSource("/events");
  events.addEventListener("book", (e) => { if (JSON.parse(e.data).version !== shown) window.location.reload(); });
})();
"""


def _json_for_script(data: object) -> str:
    return json.dumps(data).replace("</", "<\\/")


def _label(entry: Entry, label: str) -> str:
    return f"{label} {entry.number} · {entry.title}" if entry.number else entry.title


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\" />"
        f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\" /><title>{escape(title)}</title>"
        f"<style>{_STYLE}</style></head>\n<body>\n{body}\n</body></html>\n"
    )


def _chapter_label(snapshot: Snapshot) -> str:
    """The book's word for a chapter; while book.toml is broken, the one a book gets by default."""
    return snapshot.book.config.chapter_label if snapshot.book is not None else BookConfig.chapter_label


def index_page(snapshot: Snapshot) -> str:
    book_title = snapshot.book.config.title if snapshot.book is not None else "bookmaker preview"
    label = _chapter_label(snapshot)
    items = []
    for e in snapshot.entries:
        bad = '<span class="bad">error</span>' if e.errors else ""
        items.append(f'<li><a href="/chapter/{quote(e.slug)}">{escape(_label(e, label))}</a>'
                     f'<span class="file">{escape(e.path.name)}</span>{bad}</li>')
    errors = ""
    if snapshot.errors:
        errors = f'<div class="errors" role="alert"><h2>The book cannot be built</h2><pre>{escape(chr(10).join(map(str, snapshot.errors)))}</pre></div>'
    body = (
        f'<header><h1>{escape(book_title)}</h1><span class="status">preview · {len(snapshot.entries)} chapters</span></header>'
        f'{errors}<ol class="chapters">{"".join(items)}</ol>'
        f"<script>const VERSION = {snapshot.version};{_INDEX_SCRIPT}</script>"
    )
    return _page(f"{book_title} · preview", body)


def chapter_page(snapshot: Snapshot, state: ChapterState) -> str:
    entries = snapshot.entries
    index = next((i for i, e in enumerate(entries) if e.slug == state.slug), 0)
    label = _chapter_label(snapshot)
    nav = ['<a href="/">Contents</a>']
    if index > 0:
        nav.append(f'<a href="/chapter/{quote(entries[index - 1].slug)}" rel="prev">← {escape(_label(entries[index - 1], label))}</a>')
    if index + 1 < len(entries):
        nav.append(f'<a href="/chapter/{quote(entries[index + 1].slug)}" rel="next">{escape(_label(entries[index + 1], label))} →</a>')
    heading = _label(entries[index], label) if entries else state.title
    slug = quote(state.slug)
    body = f"""<header><h1>{escape(heading)}</h1><nav>{"".join(nav)}</nav><span class="status" id="status">connecting…</span></header>
<div class="errors" id="errors" role="alert" hidden><h2>This chapter cannot be built</h2><pre id="errors-text"></pre></div>
<div class="warnings" id="warnings" hidden><pre id="warnings-text"></pre></div>
<main class="views">
<section class="view"><h2><span>EPUB · reflowable</span><a href="/preview/{slug}.xhtml" target="_blank">open</a></h2>
<iframe id="reflow" title="The chapter as an e-reader shows it"></iframe></section>
<section class="view"><h2><span>Print</span><span id="folio"></span><a href="/preview/{slug}.pdf" target="_blank">PDF</a></h2>
<div class="pages" id="pages"></div></section>
</main>
<script>const STATE = {_json_for_script(json.loads(state.as_json()))};{_CHAPTER_SCRIPT}</script>"""
    return _page(f"{heading} · preview", body)


def not_found_page(snapshot: Snapshot, slug: str) -> str:
    body = (f'<header><h1>No chapter “{escape(slug)}”</h1><nav><a href="/">Contents</a></nav></header>'
            f"<script>const VERSION = {snapshot.version};{_INDEX_SCRIPT}</script>")
    return _page("No such chapter", body)
