"""The preview server's open pages: one queue of events per `/events` stream.

Shared by threads: the HTTP threads subscribe and unsubscribe their streams and drain their
queues; the builder thread asks which chapters are open and publishes to them. One lock guards
the subscribers and the last state sent for each chapter.
"""

from __future__ import annotations

import json
import queue
import threading


class Hub:
    """The open pages: one queue per `/events` stream, by chapter slug ("" for the index)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: dict[int, tuple[str, queue.Queue[tuple[str, str]]]] = {}
        self._next = 0
        self._last: dict[str, str] = {}  # slug -> last chapter state JSON

    def subscribe(self, slug: str) -> tuple[int, queue.Queue[tuple[str, str]]]:
        q: queue.Queue[tuple[str, str]] = queue.Queue()
        with self._lock:
            self._next += 1
            self._subscribers[self._next] = (slug, q)
            if slug and slug in self._last:
                q.put(("chapter", self._last[slug]))
            return self._next, q

    def unsubscribe(self, token: int) -> None:
        with self._lock:
            self._subscribers.pop(token, None)

    def open_slugs(self) -> set[str]:
        with self._lock:
            return {slug for slug, _ in self._subscribers.values() if slug}

    def publish_chapter(self, slug: str, data: str) -> None:
        with self._lock:
            if self._last.get(slug) == data:
                return
            self._last[slug] = data
            for s, q in self._subscribers.values():
                if s == slug:
                    q.put(("chapter", data))

    def publish_book(self, version: int) -> None:
        with self._lock:
            for _, q in self._subscribers.values():
                q.put(("book", json.dumps({"version": version})))
