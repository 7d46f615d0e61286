"""The container runtime: one container run = one local process, started without a shell.

Each process gets its own process group (signals reach everything it started, as a cgroup
kill would) and a parent-death signal (Linux `PR_SET_PDEATHSIG`), so no container outlives the
sandbox even when the sandbox is killed with SIGKILL. Exits are noticed through a pidfd on the
event loop, not a thread per child. Output goes through pipes into the CRI-format log.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import secrets
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from ..util import now
from .logs import LogWriter, PipeReader

log = logging.getLogger("rollout_labs.sandbox.node")

PR_SET_PDEATHSIG = 1

try:
    _LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
except OSError:  # pragma: no cover - exotic libc
    _LIBC = None


def _child_setup(parent: int):
    """Runs in the child between fork and exec: die with the sandbox."""
    libc = _LIBC

    def setup() -> None:
        if libc is not None:
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the sandbox died before prctl took effect
            os._exit(137)

    return setup


def new_container_id() -> str:
    return secrets.token_hex(32)


def signal_number(name: str | int | None) -> int:
    if isinstance(name, int):
        return name
    if not name:
        return signal.SIGTERM
    name = name.upper()
    if not name.startswith("SIG"):
        name = "SIG" + name
    return int(getattr(signal, name, signal.SIGTERM))


class ContainerProcess:
    """A started container process; `exited` resolves with its exit code (128+n for signal n)."""

    def __init__(self, popen: subprocess.Popen, writer: LogWriter, container_id: str):
        self.popen = popen
        self.pid = popen.pid
        self.writer = writer
        self.container_id = container_id
        self.started_at: datetime = now()
        self.finished_at: datetime | None = None
        self.exit_code: int | None = None
        self.signaled: int | None = None
        loop = asyncio.get_running_loop()
        self.exited: asyncio.Future[int] = loop.create_future()
        self._readers: list[PipeReader] = []
        self._pidfd = -1

    @classmethod
    async def start(cls, argv: list[str], env: dict[str, str], cwd: Path,
                    log_path: Path) -> ContainerProcess:
        """Start `argv` (raises OSError if it cannot be executed)."""
        writer = LogWriter(log_path)
        try:
            popen = subprocess.Popen(
                argv, env=env, cwd=str(cwd), stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, close_fds=True,
                start_new_session=True, preexec_fn=_child_setup(os.getpid()))
        except OSError:
            writer.close()
            raise
        proc = cls(popen, writer, new_container_id())
        loop = asyncio.get_running_loop()
        for stream, pipe in (("stdout", popen.stdout), ("stderr", popen.stderr)):
            _, reader = await loop.connect_read_pipe(
                lambda s=stream: PipeReader(writer, s), pipe)
            proc._readers.append(reader)
        proc._watch_exit()
        return proc

    # -- exit ---------------------------------------------------------------------------------
    def _watch_exit(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            self._pidfd = os.pidfd_open(self.pid)
        except (AttributeError, OSError):
            self._pidfd = -1
        if self._pidfd >= 0:
            loop.add_reader(self._pidfd, self._reap)
            self._reap()  # it may have exited already
        else:
            loop.create_task(self._poll_exit())

    def _reap(self) -> None:
        if self.exited.done() or self.exit_code is not None:
            return
        try:
            info = os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            info = None
            status = 255 << 8
        else:
            if info is None:
                return  # still running
            # The leader is a zombie, so its group id is still ours: whatever the container
            # left behind goes too, as a cgroup kill would do.
            with contextlib.suppress(OSError):
                os.killpg(self.pid, signal.SIGKILL)
            try:
                _, status = os.waitpid(self.pid, 0)
            except ChildProcessError:
                status = 255 << 8
        self._finish(status)

    async def _poll_exit(self) -> None:
        while not self.exited.done():
            self._reap()
            await asyncio.sleep(0.1)

    def _finish(self, status: int) -> None:
        loop = asyncio.get_running_loop()
        if self._pidfd >= 0:
            loop.remove_reader(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = -1
        if os.WIFSIGNALED(status):
            self.signaled = os.WTERMSIG(status)
            code = 128 + self.signaled
            self.popen.returncode = -self.signaled
        else:
            code = os.WEXITSTATUS(status)
            self.popen.returncode = code
        self.exit_code = code
        self.finished_at = now()
        loop.create_task(self._close_log(code))

    async def _close_log(self, code: int) -> None:
        # Let the pipes drain (they close once every writer in the group is gone).
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(r.done for r in self._readers)), 2.0)
        self.writer.close()
        if not self.exited.done():
            self.exited.set_result(code)

    @property
    def running(self) -> bool:
        return self.exit_code is None

    async def wait(self) -> int:
        return await asyncio.shield(self.exited)

    # -- signals ------------------------------------------------------------------------------
    def send_signal(self, sig: int) -> None:
        """Signal the whole process group (the container)."""
        if not self.running:
            return
        try:
            os.killpg(self.pid, sig)
        except ProcessLookupError:
            pass
        except PermissionError:
            with contextlib.suppress(OSError):
                os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    async def stop(self, grace: float, stop_signal: int = signal.SIGTERM) -> int:
        """The runtime's StopContainer: the stop signal, then SIGKILL after `grace` seconds."""
        if self.running:
            self.send_signal(stop_signal)
            try:
                return await asyncio.wait_for(self.wait(), max(grace, 0))
            except TimeoutError:
                self.kill()
        return await self.wait()
