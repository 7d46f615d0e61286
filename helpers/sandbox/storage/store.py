"""Versioned object storage with watch fan-out, persisted to SQLite.

Plays etcd's role: every write gets the next cluster-wide resourceVersion, watchers get the
events in order, and a recent window of events is kept so a watch can resume from an older
resourceVersion (older than the window → 410 Expired, and clients re-list, as with etcd
compaction). All objects are also held in memory, so reads never touch the disk.

The store knows nothing about API semantics; the registry above it does.
"""

from __future__ import annotations

import asyncio
import copy
import json
import sqlite3
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

Key = tuple[str, str, str]  # (resource, namespace or "", name)

EVENT_WINDOW = 20_000


@dataclass
class WatchEvent:
    type: str  # ADDED | MODIFIED | DELETED
    resource: str
    object: dict
    rv: int
    # The object before this change (None for ADDED): lets a filtered watch turn an update
    # that leaves its selector into DELETED, as the real watch cache does.
    old: dict | None = None


class TooOldResourceVersion(Exception):
    def __init__(self, requested: int, oldest: int):
        super().__init__(f"too old resource version: {requested} ({oldest})")
        self.requested = requested
        self.oldest = oldest


@dataclass
class Watcher:
    resources: frozenset[str]
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)
    closed: bool = False

    def close(self) -> None:
        self.closed = True


class Store:
    """In-memory objects by resource, mirrored to SQLite; one global resourceVersion."""

    def __init__(self, path: Path | None):
        self._objects: dict[str, dict[tuple[str, str], dict]] = {}
        self._events: deque[WatchEvent] = deque(maxlen=EVENT_WINDOW)
        self._watchers: list[Watcher] = []
        self._listeners: list[Callable[[WatchEvent], None]] = []
        self.rv = 0
        # Events up to this RV are not in the window (history before a restart).
        self._window_start = 0
        self._db: sqlite3.Connection | None = None
        if path is not None:
            self._open(path)

    # -- persistence -----------------------------------------------------------------------
    def _open(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute(
            "CREATE TABLE IF NOT EXISTS objects (resource TEXT, namespace TEXT, name TEXT, "
            "rv INTEGER, data TEXT, PRIMARY KEY (resource, namespace, name))")
        db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        for resource, ns, name, _rv, data in db.execute("SELECT * FROM objects"):
            self._objects.setdefault(resource, {})[(ns, name)] = json.loads(data)
        row = db.execute("SELECT value FROM meta WHERE key='rv'").fetchone()
        max_obj = db.execute("SELECT MAX(rv) FROM objects").fetchone()[0] or 0
        self.rv = max(int(row[0]) if row else 0, max_obj)
        self._window_start = self.rv
        self._db = db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        for w in list(self._watchers):
            w.close()
            w.queue.put_nowait(None)

    def _persist(self, event: WatchEvent, key: Key) -> None:
        if self._db is None:
            return
        resource, ns, name = key
        if event.type == "DELETED":
            self._db.execute("DELETE FROM objects WHERE resource=? AND namespace=? AND name=?",
                             (resource, ns, name))
        else:
            self._db.execute(
                "INSERT OR REPLACE INTO objects VALUES (?, ?, ?, ?, ?)",
                (resource, ns, name, event.rv, json.dumps(event.object, separators=(",", ":"))))
        self._db.execute("INSERT OR REPLACE INTO meta VALUES ('rv', ?)", (str(self.rv),))

    # -- reads -----------------------------------------------------------------------------
    def get(self, resource: str, namespace: str, name: str) -> dict | None:
        """The stored object itself: callers must not mutate it (copy first)."""
        return self._objects.get(resource, {}).get((namespace, name))

    def items(self, resource: str, namespace: str | None = None) -> Iterable[dict]:
        objs = self._objects.get(resource, {})
        if namespace is None:
            return list(objs.values())
        return [o for (ns, _), o in objs.items() if ns == namespace]

    def count(self, resource: str) -> int:
        return len(self._objects.get(resource, {}))

    # -- writes ----------------------------------------------------------------------------
    def next_rv(self) -> int:
        return self.rv + 1

    def put(self, resource: str, obj: dict, *, created: bool) -> dict:
        """Store `obj` (which the caller hands over) with a new resourceVersion."""
        meta = obj["metadata"]
        key = (resource, meta.get("namespace", ""), meta["name"])
        old = self._objects.get(resource, {}).get(key[1:])
        self.rv += 1
        meta["resourceVersion"] = str(self.rv)
        self._objects.setdefault(resource, {})[key[1:]] = obj
        self._emit(WatchEvent("ADDED" if created else "MODIFIED", resource, obj, self.rv, old), key)
        return obj

    def remove(self, resource: str, namespace: str, name: str) -> dict | None:
        objs = self._objects.get(resource, {})
        old = objs.pop((namespace, name), None)
        if old is None:
            return None
        self.rv += 1
        final = copy.deepcopy(old)
        final["metadata"]["resourceVersion"] = str(self.rv)
        self._emit(WatchEvent("DELETED", resource, final, self.rv, old), (resource, namespace, name))
        return final

    def _emit(self, event: WatchEvent, key: Key) -> None:
        self._persist(event, key)
        self._events.append(event)
        if len(self._events) == self._events.maxlen:
            self._window_start = self._events[0].rv - 1
        for w in self._watchers:
            if not w.closed and event.resource in w.resources:
                w.queue.put_nowait(event)
        for listener in self._listeners:
            listener(event)

    # -- watch -----------------------------------------------------------------------------
    def watch(self, resources: Iterable[str], since_rv: int | None) -> tuple[Watcher, list[WatchEvent]]:
        """Subscribe; returns the watcher and the backlog of events after `since_rv`.

        With `since_rv=None` there is no backlog (the caller sends the current state itself).
        """
        res = frozenset(resources)
        backlog: list[WatchEvent] = []
        if since_rv is not None:
            if since_rv < self._window_start:
                raise TooOldResourceVersion(since_rv, self._window_start + 1)
            backlog = [e for e in self._events if e.rv > since_rv and e.resource in res]
        w = Watcher(res)
        self._watchers.append(w)
        return w, backlog

    def unwatch(self, w: Watcher) -> None:
        w.close()
        if w in self._watchers:
            self._watchers.remove(w)

    def add_listener(self, fn: Callable[[WatchEvent], None]) -> None:
        """Synchronous callback on every event: how in-process informers stay current."""
        self._listeners.append(fn)
