"""What every controller shares: a de-duplicating work queue fed by watches, and a sync loop.

Follows client-go's workqueue: a key queued while it is being processed is processed again
afterwards, never twice at once; failures are retried with exponential back-off; a sync can
ask to be called again after a delay (e.g. a progress deadline or minReadySeconds).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable

from ..apiserver.errors import ApiError
from ..client import Client
from ..config import SandboxConfig
from ..storage.store import WatchEvent

log = logging.getLogger("rollout_labs.sandbox.controllers")


class WorkQueue:
    def __init__(self) -> None:
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._queued: set[str] = set()
        self._processing: set[str] = set()
        self._dirty: set[str] = set()
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._failures: dict[str, int] = {}

    def add(self, key: str) -> None:
        if key in self._processing:
            self._dirty.add(key)
            return
        if key not in self._queued:
            self._queued.add(key)
            self._queue.put_nowait(key)

    def add_after(self, key: str, delay: float) -> None:
        if delay <= 0:
            self.add(key)
            return
        loop = asyncio.get_running_loop()
        due = loop.time() + delay
        existing = self._timers.get(key)
        if existing is not None and existing.when() <= due:
            return
        if existing is not None:
            existing.cancel()
        self._timers[key] = loop.call_at(due, self._fire, key)

    def _fire(self, key: str) -> None:
        self._timers.pop(key, None)
        self.add(key)

    async def get(self) -> str:
        key = await self._queue.get()
        self._queued.discard(key)
        self._processing.add(key)
        return key

    def done(self, key: str) -> None:
        self._processing.discard(key)
        if key in self._dirty:
            self._dirty.discard(key)
            self.add(key)

    def retry_delay(self, key: str) -> float:
        n = self._failures.get(key, 0)
        self._failures[key] = n + 1
        return min(0.005 * (2 ** n), 30.0)

    def forget(self, key: str) -> None:
        self._failures.pop(key, None)

    def __len__(self) -> int:
        return len(self._queued)


class Controller:
    """Subclasses set `name`, implement `watches()` and `sync(key)`."""

    name = "controller"
    # Periodic full resync in seconds (None: only on changes).
    resync_period: float | None = None

    def __init__(self, client: Client, config: SandboxConfig | None = None):
        self.client = client
        self.config = config or SandboxConfig()
        self.queue = WorkQueue()
        self._task: asyncio.Task | None = None
        self._resync_task: asyncio.Task | None = None

    # -- wiring ----------------------------------------------------------------------------
    def watches(self) -> dict[str, object]:
        """Map resource key → function(event) returning queue keys to sync."""
        raise NotImplementedError

    def initial_keys(self) -> Iterable[str]:
        """Keys to sync at start (e.g. every object of the primary kind)."""
        return []

    async def sync(self, key: str) -> float | None:
        """Reconcile one key; return seconds after which to sync it again, or None."""
        raise NotImplementedError

    def enqueue(self, key: str, after: float = 0) -> None:
        self.queue.add_after(key, after)

    def start(self) -> None:
        for resource, mapper in self.watches().items():
            self.client.on_change({resource}, self._make_handler(mapper))
        for key in self.initial_keys():
            self.queue.add(key)
        self._task = asyncio.create_task(self._run(), name=f"controller:{self.name}")
        if self.resync_period:
            self._resync_task = asyncio.create_task(self._resync(), name=f"resync:{self.name}")

    async def stop(self) -> None:
        for t in (self._task, self._resync_task):
            if t is not None:
                t.cancel()
        for t in (self._task, self._resync_task):
            if t is not None:
                try:
                    await t
                except (asyncio.CancelledError, Exception):
                    pass

    def _make_handler(self, mapper):
        def handler(event: WatchEvent) -> None:
            try:
                for key in mapper(event) or ():
                    self.queue.add(key)
            except Exception:  # a mapper bug must not break the writer
                log.exception("%s: mapping %s event failed", self.name, event.resource)
        return handler

    async def _resync(self) -> None:
        while True:
            await asyncio.sleep(self.resync_period or 60)
            for key in self.initial_keys():
                self.queue.add(key)

    async def _run(self) -> None:
        while True:
            key = await self.queue.get()
            started = time.monotonic()
            try:
                again = await self.sync(key)
            except asyncio.CancelledError:
                raise
            except ApiError as e:
                # Conflicts are normal under concurrency: retry soon with fresh state.
                level = logging.DEBUG if e.code in (404, 409) else logging.WARNING
                log.log(level, "%s: sync %s: %s", self.name, key, e.message)
                self.queue.add_after(key, self.queue.retry_delay(key))
            except Exception:
                log.exception("%s: sync %s failed", self.name, key)
                self.queue.add_after(key, self.queue.retry_delay(key))
            else:
                self.queue.forget(key)
                if again is not None:
                    self.queue.add_after(key, again)
            finally:
                self.queue.done(key)
            elapsed = time.monotonic() - started
            if elapsed > 0.5:
                log.info("%s: sync %s took %.2fs", self.name, key, elapsed)
            # Let the HTTP server and other controllers breathe between syncs.
            await asyncio.sleep(0)


def ns_name_key(obj: dict) -> str:
    md = obj["metadata"]
    return f"{md.get('namespace', '')}/{md['name']}"


def split_key(key: str) -> tuple[str, str]:
    ns, _, name = key.partition("/")
    return ns, name
