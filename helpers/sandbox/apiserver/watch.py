"""Serving watches: JSON lines of ADDED/MODIFIED/DELETED/BOOKMARK events over a kept-open response.

Semantics follow the watch cache: no resourceVersion (or "0") replays the current state as
ADDED; a resourceVersion resumes after it, or answers 410 Expired when it is too old;
`sendInitialEvents=true` (WatchList, kubectl ≥ 1.35) always replays and then sends the bookmark
annotated `k8s.io/initial-events-end`. With a selector, an object that stops matching is
reported DELETED and one that starts matching ADDED.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

from aiohttp import web

from ..storage.store import Store, TooOldResourceVersion, WatchEvent
from .errors import bad_request, gone

BOOKMARK_INTERVAL = 30.0


class WatchSpec:
    def __init__(self, *, key: str, namespace: str | None, matches: Callable[[dict], bool],
                 encode: Callable[[dict], dict], bookmark_kind: tuple[str, str],
                 resource_version: str | None, send_initial: bool, allow_bookmarks: bool,
                 timeout: float | None, content_type: str, initial: Callable[[], list[dict]]):
        self.key = key
        self.namespace = namespace
        self.matches = matches
        self.encode = encode
        self.bookmark_kind = bookmark_kind
        self.resource_version = resource_version
        self.send_initial = send_initial
        self.allow_bookmarks = allow_bookmarks
        self.timeout = timeout
        self.content_type = content_type
        self.initial = initial


def _in_scope(spec: WatchSpec, obj: dict | None) -> bool:
    if obj is None:
        return False
    if spec.namespace and obj.get("metadata", {}).get("namespace") != spec.namespace:
        return False
    return spec.matches(obj)


def translate(spec: WatchSpec, ev: WatchEvent) -> tuple[str, dict] | None:
    """The event this watcher should see for a store event, if any."""
    new_in = _in_scope(spec, ev.object) if ev.type != "DELETED" else False
    old_in = _in_scope(spec, ev.old) if ev.old is not None else False
    if ev.type == "DELETED":
        return ("DELETED", ev.object) if old_in else None
    if new_in and old_in:
        return "MODIFIED", ev.object
    if new_in:
        return "ADDED", ev.object
    if old_in:
        # Left the selection: the real watch cache reports the new state as DELETED.
        return "DELETED", ev.object
    return None


async def serve(request: web.Request, store: Store, spec: WatchSpec) -> web.StreamResponse:
    since: int | None = None
    replay = spec.send_initial
    rv = spec.resource_version
    if not replay:
        if rv in (None, "", "0"):
            replay = True
        else:
            try:
                since = int(rv)
            except ValueError:
                raise bad_request(f'resourceVersion: Invalid value: "{rv}": strconv.ParseUint: '
                                  f'parsing "{rv}": invalid syntax') from None
    try:
        watcher, backlog = store.watch({spec.key}, since)
    except TooOldResourceVersion as e:
        return await _expired(request, spec, str(gone(
            f"too old resource version: {e.requested} ({e.oldest})").message))
    # Snapshot and subscription happen with no await between them, so nothing is missed.
    initial = spec.initial() if replay else []
    snapshot_rv = store.rv

    resp = web.StreamResponse(status=200, headers={"Content-Type": spec.content_type,
                                                   "Cache-Control": "no-cache, private"})
    resp.enable_chunked_encoding()
    try:
        await resp.prepare(request)
        lines = [_line("ADDED", spec.encode(o)) for o in initial]
        if spec.send_initial:
            lines.append(_line("BOOKMARK", _bookmark(spec, snapshot_rv, initial_end=True)))
        for ev in backlog:
            t = translate(spec, ev)
            if t:
                lines.append(_line(t[0], spec.encode(t[1])))
        if lines:
            await resp.write(b"".join(lines))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + spec.timeout if spec.timeout else None
        last_rv = max([snapshot_rv] + [e.rv for e in backlog])
        while True:
            wait = BOOKMARK_INTERVAL
            if deadline is not None:
                wait = min(wait, deadline - loop.time())
                if wait <= 0:
                    break
            try:
                ev = await asyncio.wait_for(watcher.queue.get(), timeout=wait)
            except TimeoutError:
                if spec.allow_bookmarks and (deadline is None or loop.time() < deadline):
                    await resp.write(_line("BOOKMARK", _bookmark(spec, store.rv)))
                continue
            if ev is None:  # the store is closing
                break
            if ev.rv <= last_rv:
                continue
            last_rv = ev.rv
            t = translate(spec, ev)
            if t:
                buf = [_line(t[0], spec.encode(t[1]))]
                # Drain what is already queued into one write.
                while not watcher.queue.empty():
                    nxt = watcher.queue.get_nowait()
                    if nxt is None:
                        break
                    if nxt.rv <= last_rv:
                        continue
                    last_rv = nxt.rv
                    tt = translate(spec, nxt)
                    if tt:
                        buf.append(_line(tt[0], spec.encode(tt[1])))
                await resp.write(b"".join(buf))
    except (ConnectionResetError, asyncio.CancelledError, RuntimeError):
        pass
    finally:
        store.unwatch(watcher)
    try:
        await resp.write_eof()
    except (ConnectionResetError, RuntimeError):
        pass
    return resp


def _line(etype: str, obj: dict) -> bytes:
    return json.dumps({"type": etype, "object": obj}, separators=(",", ":")).encode() + b"\n"


def _bookmark(spec: WatchSpec, rv: int, initial_end: bool = False) -> dict:
    api_version, kind = spec.bookmark_kind
    md: dict = {"resourceVersion": str(rv)}
    if initial_end:
        md["annotations"] = {"k8s.io/initial-events-end": "true"}
    return {"kind": kind, "apiVersion": api_version, "metadata": md}


async def _expired(request: web.Request, spec: WatchSpec, message: str) -> web.StreamResponse:
    resp = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    status = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
              "message": message, "reason": "Expired", "code": 410}
    await resp.write(_line("ERROR", status))
    await resp.write_eof()
    return resp
