"""The node's image store: which images it has "pulled", and pulls one at a time.

Pulls are simulated (the apps ship with the sandbox) but keep what learners see on a real node:
the first use of an image on a node takes a moment, later ones find it present, pulls are
serialized per node like the kubelet's default `serializeImagePulls`, and a failed pull backs
off per (pod, image), 10 s doubling to 300 s.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from .images import ImageInfo

BACKOFF_START = 10.0
BACKOFF_MAX = 300.0


def go_duration(seconds: float) -> str:
    """Go's time.Duration String() after Truncate(time.Millisecond): `523ms`, `1.234s`, `2m3.5s`."""
    ms = int(seconds * 1000)
    if ms < 1000:
        return f"{ms}ms"
    if ms < 60_000:
        return f"{ms / 1000:.3f}".rstrip("0").rstrip(".") + "s"
    minutes, rest = divmod(ms, 60_000)
    secs = f"{rest / 1000:.3f}".rstrip("0").rstrip(".")
    if minutes < 60:
        return f"{minutes}m{secs}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes}m{secs}s"


class ImageStore:
    def __init__(self, path: Path, pull_seconds: float):
        self.path = path
        self.pull_seconds = pull_seconds
        self._present: dict[str, dict] = {}  # runtime image reference -> {id, size}
        self._lock = asyncio.Lock()
        # (pod uid, image) -> (monotonic time the back-off ends, current delay)
        self._backoff: dict[tuple[str, str], tuple[float, float]] = {}
        try:
            self._present = json.loads(path.read_text())
        except (OSError, ValueError):
            self._present = {}

    def present(self, info: ImageInfo) -> bool:
        return info.runtime_image in self._present

    def images(self) -> list[dict]:
        """node.status.images: one entry per image id with all its names."""
        by_id: dict[str, dict] = {}
        for ref, rec in self._present.items():
            entry = by_id.setdefault(rec["id"], {"names": [rec["id"]], "sizeBytes": rec["size"]})
            entry["names"].insert(len(entry["names"]) - 1, ref)
        return sorted(by_id.values(), key=lambda e: -e["sizeBytes"])

    def _save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(self._present))
            tmp.replace(self.path)
        except OSError:
            pass

    async def pull(self, info: ImageInfo | None, quick: bool = False) -> tuple[float, float]:
        """Pull (one at a time per node); returns (pull seconds, seconds including waiting).
        `info` None is an image that does not exist: the pull takes its time, then fails."""
        queued = time.monotonic()
        async with self._lock:
            started = time.monotonic()
            await asyncio.sleep(self.pull_seconds * (0.3 if quick else 1.0))
            if info is not None:
                self._present[info.runtime_image] = {"id": info.image_id, "size": info.size_bytes}
                self._save()
        done = time.monotonic()
        return done - started, done - queued

    # -- back-off -------------------------------------------------------------------------------
    def backoff_remaining(self, uid: str, image: str) -> float:
        entry = self._backoff.get((uid, image))
        if entry is None:
            return 0.0
        return max(0.0, entry[0] - time.monotonic())

    def failed(self, uid: str, image: str) -> float:
        """Record a failed pull; returns the back-off before the next attempt."""
        prev = self._backoff.get((uid, image))
        delay = BACKOFF_START if prev is None else min(prev[1] * 2, BACKOFF_MAX)
        self._backoff[(uid, image)] = (time.monotonic() + delay, delay)
        return delay

    def succeeded(self, uid: str, image: str) -> None:
        self._backoff.pop((uid, image), None)

    def forget_pod(self, uid: str) -> None:
        for key in [k for k in self._backoff if k[0] == uid]:
            del self._backoff[key]
