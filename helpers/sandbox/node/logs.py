"""Container logs: written in the CRI format, read back for `kubectl logs`.

Each container run gets its own file, `<node>/logs/<ns>_<pod>_<uid>/<container>/<n>.log` where
`n` is the restart count, as the kubelet lays out `/var/log/pods`. Lines are stored as
`<RFC3339Nano> <stream> <F|P> <text>`, so `--timestamps` shows when each line was written
and both stdout and stderr are kept in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import time
from pathlib import Path

from aiohttp import web

# A line longer than this is split into partial (P) records, like containerd does.
MAX_LINE = 16 * 1024
# The kubelet's containerLogMaxSize / containerLogMaxFiles: rotate at 10 MiB, keep 5 files.
MAX_SIZE = 10 * 1024 * 1024
MAX_FILES = 5


def cri_timestamp(t: float | None = None) -> str:
    t = time.time() if t is None else t
    secs = int(t)
    nanos = int((t - secs) * 1e9)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{nanos:09d}Z"


class LogWriter:
    """The sink for one container run: both streams go to one file, line by line."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._size = os.fstat(self._fd).st_size
        self._partial: dict[str, bytes] = {"stdout": b"", "stderr": b""}
        self._open_streams = 0
        self.closed = False
        self._waiters: list[asyncio.Future] = []

    def feed(self, stream: str, data: bytes) -> None:
        buf = self._partial[stream] + data
        out = []
        stamp = cri_timestamp().encode()
        tag = stream.encode()
        while True:
            nl = buf.find(b"\n")
            if nl < 0:
                break
            line, buf = buf[:nl], buf[nl + 1:]
            out.append(b"%s %s F %s\n" % (stamp, tag, line))
        while len(buf) > MAX_LINE:
            out.append(b"%s %s P %s\n" % (stamp, tag, buf[:MAX_LINE]))
            buf = buf[MAX_LINE:]
        self._partial[stream] = buf
        if out:
            self._write(b"".join(out))

    def end_stream(self, stream: str) -> None:
        rest = self._partial[stream]
        if rest:
            self._partial[stream] = b""
            self._write(b"%s %s F %s\n" % (cri_timestamp().encode(), stream.encode(), rest))

    def _write(self, data: bytes) -> None:
        if self._fd < 0:
            return
        try:
            os.write(self._fd, data)
        except OSError:
            return
        self._size += len(data)
        if self._size > MAX_SIZE:
            self._rotate()
        self._wake()

    def _rotate(self) -> None:
        """Like the kubelet's log manager: `kubectl logs` then sees only the new file."""
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        try:
            os.close(self._fd)
            os.replace(self.path, self.path.with_name(f"{self.path.name}.{stamp}"))
            rotated = sorted(self.path.parent.glob(f"{self.path.name}.*"))
            for old in rotated[:max(0, len(rotated) - (MAX_FILES - 1))]:
                old.unlink(missing_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError:
            self._fd = -1
        self._size = 0

    def close(self) -> None:
        """The container run is over: flush partial lines and release followers."""
        if self.closed:
            return
        for stream in ("stdout", "stderr"):
            self.end_stream(stream)
        self.closed = True
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self._wake()

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for w in waiters:
            if not w.done():
                w.set_result(None)

    async def wait_change(self, timeout: float) -> None:
        fut = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(fut, timeout)


class PipeReader(asyncio.Protocol):
    """Feeds one of a process's output pipes into its LogWriter."""

    def __init__(self, writer: LogWriter, stream: str):
        self.writer = writer
        self.stream = stream
        self.done = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        self.writer.feed(self.stream, data)

    def eof_received(self) -> bool:
        self.writer.end_stream(self.stream)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


class PodLogs:
    """Where one node keeps its containers' logs."""

    def __init__(self, root: Path):
        self.root = root

    def pod_dir(self, namespace: str, pod: str, uid: str) -> Path:
        return self.root / f"{namespace}_{pod}_{uid}"

    def path(self, namespace: str, pod: str, uid: str, container: str, run: int) -> Path:
        return self.pod_dir(namespace, pod, uid) / container / f"{run}.log"

    def remove_pod(self, namespace: str, pod: str, uid: str) -> None:
        shutil.rmtree(self.pod_dir(namespace, pod, uid), ignore_errors=True)


def _render(record: bytes, timestamps: bool) -> bytes:
    """One stored record as `kubectl logs` prints it."""
    try:
        stamp, _stream, tag, text = record.split(b" ", 3)
    except ValueError:
        return record + b"\n"
    body = text if tag == b"P" else text + b"\n"
    return stamp + b" " + body if timestamps else body


def render_records(data: bytes, timestamps: bool) -> bytes:
    return b"".join(_render(r, timestamps) for r in data.split(b"\n") if r)


def tail(data: bytes, lines: int | None) -> bytes:
    """The last `lines` complete records of `data` (all of them when lines is None)."""
    if lines is None:
        return data
    if lines <= 0:
        return b""
    records = data.split(b"\n")
    if records and records[-1] == b"":
        records.pop()
    return b"".join(r + b"\n" for r in records[-lines:])


async def stream_file(path: Path, writer: LogWriter | None, response: web.StreamResponse, *,
                      follow: bool, tail_lines: int | None, timestamps: bool) -> None:
    """Send a container's log; with `follow`, keep sending until the run ends or the client goes."""
    try:
        data = path.read_bytes()
    except OSError:
        data = b""
    complete = data.rfind(b"\n") + 1
    offset = complete
    await response.write(render_records(tail(data[:complete], tail_lines), timestamps))
    if not follow or writer is None:
        return
    transport = response._req.transport if getattr(response, "_req", None) else None  # noqa: SLF001
    while True:
        if transport is not None and transport.is_closing():
            return
        try:
            with open(path, "rb") as f:
                if os.fstat(f.fileno()).st_size < offset:
                    offset = 0  # rotated: the file started afresh
                f.seek(offset)
                chunk = f.read()
        except OSError:
            return
        complete = chunk.rfind(b"\n") + 1
        if complete:
            offset += complete
            await response.write(render_records(chunk[:complete], timestamps))
        elif writer.closed:
            return
        else:
            await writer.wait_change(1.0)
