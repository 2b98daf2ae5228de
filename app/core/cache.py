"""A small in-process cache of rendered answers, for reads that are costly to build and
asked far more often than the data behind them changes (the catalogue buyers browse).

Entries are keyed by a *stamp* of the data they were built from, read in the same
transaction before the data: when the data changes the stamp changes, so a stale entry is
never served, on one worker or many. Bounded, least recently used goes first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from threading import Lock


class RenderCache:
    def __init__(self, max_entries: int = 256) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, tuple[bytes, str]] = OrderedDict()
        self._lock = Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> tuple[bytes, str] | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return found

    def put(self, key: Hashable, body: bytes, etag: str) -> None:
        with self._lock:
            self._entries[key] = (body, etag)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
