"""Container resource limits, enforced on plain processes the way cgroups would.

* `limits.cpu`: CFS bandwidth control with a 100 ms period. A container that used more than
  its quota is stopped (SIGSTOP to its process group) until its budget recovers, then
  continued, so its average CPU stays at the limit: what `kubectl top` and the HPA then see,
  and why a CPU-limited app answers slower under load.
* `limits.memory`: a container whose resident memory goes over the limit is killed (SIGKILL),
  and the kubelet reports `OOMKilled` with exit code 137.

No privileges are needed, and nothing is enforced for containers without limits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass, field

import psutil

log = logging.getLogger("rollout_labs.sandbox.node")

PERIOD = 0.1  # cpu.cfs_period_us = 100000
MEMORY_CHECK = 0.5


@dataclass
class Group:
    pid: int
    cpu_quota: float | None  # CPU seconds per PERIOD, None without a limit
    memory_limit: int | None  # bytes
    on_oom: Callable[[], None]
    proc: psutil.Process | None = None
    last_cpu: float = 0.0
    tokens: float = 0.0
    stopped: bool = False
    killed: bool = False
    since_memory: float = 0.0
    throttled_periods: int = field(default=0)


def _cpu(p: psutil.Process) -> float:
    t = p.cpu_times()
    return t.user + t.system + t.children_user + t.children_system


class Cgroups:
    def __init__(self) -> None:
        self._groups: dict[object, Group] = {}
        self._task: asyncio.Task | None = None

    def add(self, key: object, pid: int, cpu_millis: int | None, memory_bytes: int | None,
            on_oom: Callable[[], None]) -> None:
        if not cpu_millis and not memory_bytes:
            return
        quota = cpu_millis / 1000 * PERIOD if cpu_millis else None
        try:
            proc = psutil.Process(pid)
            last = _cpu(proc)
        except psutil.Error:
            return
        self._groups[key] = Group(pid, quota, memory_bytes, on_oom, proc, last, quota or 0.0)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="cgroups")

    def remove(self, key: object) -> None:
        """Stop enforcing (the container exits or is being stopped): never leave it stopped."""
        g = self._groups.pop(key, None)
        if g is not None and g.stopped:
            self._signal(g, signal.SIGCONT)

    @staticmethod
    def _signal(g: Group, sig: int) -> None:
        try:
            os.killpg(g.pid, sig)
        except OSError:
            with contextlib.suppress(OSError):
                os.kill(g.pid, sig)

    async def _loop(self) -> None:
        while self._groups:
            await asyncio.sleep(PERIOD)
            for key, g in list(self._groups.items()):
                try:
                    self._enforce(g)
                except psutil.Error:
                    self._groups.pop(key, None)
                except Exception:
                    log.exception("resource limits for pid %s", g.pid)

    def _enforce(self, g: Group) -> None:
        assert g.proc is not None
        if g.memory_limit is not None:
            g.since_memory += PERIOD
            if g.since_memory >= MEMORY_CHECK and not g.killed:
                g.since_memory = 0.0
                rss = g.proc.memory_info().rss
                for child in g.proc.children(recursive=True) if rss < g.memory_limit else ():
                    with contextlib.suppress(psutil.Error):
                        rss += child.memory_info().rss
                if rss > g.memory_limit:
                    g.killed = True
                    if g.stopped:
                        self._signal(g, signal.SIGCONT)
                    g.on_oom()
                    self._signal(g, signal.SIGKILL)
                    return
        if g.cpu_quota is None:
            return
        now = _cpu(g.proc)
        used, g.last_cpu = now - g.last_cpu, now
        # Budget refills by one quota per period, and never banks more than one period's worth.
        g.tokens = min(g.cpu_quota, g.tokens + g.cpu_quota - used)
        if g.tokens < 0 and not g.stopped:
            g.stopped = True
            g.throttled_periods += 1
            self._signal(g, signal.SIGSTOP)
        elif g.tokens >= 0 and g.stopped:
            g.stopped = False
            self._signal(g, signal.SIGCONT)
        elif g.stopped:
            g.throttled_periods += 1

    async def stop(self) -> None:
        for key in list(self._groups):
            self.remove(key)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
