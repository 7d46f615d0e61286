"""Resource metrics of the real pod processes, served like metrics-server does.

Every few seconds each container's process group (its process and descendants) is sampled
with psutil: cumulative CPU seconds and resident memory. Usage is the CPU rate over the last
`metrics_window` seconds (metrics-server's window, 15 s by default) and the latest memory; the
timestamp is the end of that window. The same object answers the metrics API
(`kubectl top`) and the HPA controller in-process (`pod_metrics`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime

import psutil

from ..client import Client
from ..config import SandboxConfig
from ..util import rfc3339

log = logging.getLogger("rollout_labs.sandbox.node.metrics")


@dataclass
class Sample:
    mono: float
    wall: float
    cpu: float  # cumulative CPU seconds of the container's processes
    rss: int  # bytes


@dataclass
class Track:
    node: str
    namespace: str
    pod: str
    uid: str
    container: str
    pid: int
    samples: deque[Sample] = field(default_factory=lambda: deque(maxlen=64))
    # psutil handles by pid (a reaped child's CPU moves into its parent's children_* times).
    procs: dict[int, psutil.Process] = field(default_factory=dict)


def _cpu_of(p: psutil.Process) -> float:
    t = p.cpu_times()
    return t.user + t.system + t.children_user + t.children_system


def go_seconds(seconds: float) -> str:
    """A window as metrics-server prints it (`15.012s`), which parses back as float + 's'."""
    text = f"{seconds:.3f}".rstrip("0").rstrip(".")
    return f"{text}s"


class MetricsCollector:
    def __init__(self, client: Client, config: SandboxConfig):
        self.client = client
        self.window = max(1.0, float(config.metrics_window))
        self.interval = max(0.5, min(5.0, self.window / 3))
        self._tracks: dict[tuple[str, str], Track] = {}
        self._own = psutil.Process(os.getpid())
        self._own_samples: deque[Sample] = deque(maxlen=64)
        self._node_names: list[str] = []
        self._task: asyncio.Task | None = None

    # -- registration (from the kubelet) -------------------------------------------------------
    def track(self, node: str, namespace: str, pod: str, uid: str, container: str, proc) -> None:
        t = Track(node, namespace, pod, uid, container, proc.pid)
        self._tracks[(uid, container)] = t
        # The run starts from zero CPU at its start time, as a fresh cgroup does.
        start = proc.started_at.timestamp()
        t.samples.append(Sample(time.monotonic() - max(0.0, time.time() - start), start, 0.0, 0))

    def untrack(self, uid: str, container: str) -> None:
        self._tracks.pop((uid, container), None)

    # -- sampling -------------------------------------------------------------------------------
    def start(self, node_names: list[str]) -> None:
        self._node_names = node_names
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="metrics")

    async def _loop(self) -> None:
        while True:
            try:
                self.sample()
            except Exception:
                log.exception("metrics sampling failed")
            await asyncio.sleep(self.interval)

    def _children(self) -> dict[int, list[int]]:
        kids: dict[int, list[int]] = {}
        for p in psutil.process_iter(["ppid"]):
            ppid = p.info.get("ppid")
            if ppid:
                kids.setdefault(ppid, []).append(p.pid)
        return kids

    def sample(self) -> None:
        mono, wall = time.monotonic(), time.time()
        with contextlib.suppress(psutil.Error):
            self._own_samples.append(Sample(mono, wall, _cpu_of(self._own),
                                            self._own.memory_info().rss))
        if not self._tracks:
            return
        kids = self._children()
        for t in list(self._tracks.values()):
            pids = [t.pid]
            i = 0
            while i < len(pids):
                pids.extend(kids.get(pids[i], ()))
                i += 1
            cpu, rss = 0.0, 0
            seen: set[int] = set()
            for pid in pids:
                p = t.procs.get(pid)
                try:
                    if p is None:
                        p = t.procs[pid] = psutil.Process(pid)
                    c = _cpu_of(p)
                    rss += p.memory_info().rss
                except psutil.Error:
                    t.procs.pop(pid, None)
                    continue
                seen.add(pid)
                cpu += c
            for pid in [p for p in t.procs if p not in seen]:
                t.procs.pop(pid, None)
            if t.pid not in seen:
                continue  # the process is gone; the kubelet untracks it
            t.samples.append(Sample(mono, wall, cpu, rss))

    # -- usage ----------------------------------------------------------------------------------
    def _usage(self, samples: deque[Sample]) -> tuple[float, int, float, float] | None:
        """(cores, rss bytes, window seconds, end wall time) or None without two samples."""
        if len(samples) < 2:
            return None
        last = samples[-1]
        if last.rss == 0:
            return None
        first = samples[0]
        for s in samples:
            if last.mono - s.mono <= self.window + self.interval / 2:
                first = s
                break
        dt = last.mono - first.mono
        if dt <= 0:
            return None
        return max(0.0, (last.cpu - first.cpu) / dt), last.rss, dt, last.wall

    def pod_metrics(self, namespace: str | None = None) -> list[dict]:
        by_pod: dict[str, list[tuple[Track, tuple]]] = {}
        for t in self._tracks.values():
            if namespace is not None and t.namespace != namespace:
                continue
            by_pod.setdefault(t.uid, []).append((t, self._usage(t.samples)))
        out = []
        created = rfc3339()
        for entries in by_pod.values():
            if any(u is None for _, u in entries):
                continue  # metrics-server skips a pod until every container has a rate
            t0 = entries[0][0]
            pod = self.client.peek("pods", t0.namespace, t0.pod)
            if pod is None or pod["metadata"]["uid"] != t0.uid:
                continue
            order = {c["name"]: i for i, c in enumerate(pod["spec"].get("containers") or [])}
            entries.sort(key=lambda e: order.get(e[0].container, 99))
            end = max(u[3] for _, u in entries)
            window = max(u[2] for _, u in entries)
            md: dict = {"name": t0.pod, "namespace": t0.namespace, "creationTimestamp": created}
            labels = pod["metadata"].get("labels")
            if labels:
                md["labels"] = dict(labels)
            out.append({
                "kind": "PodMetrics", "apiVersion": "metrics.k8s.io/v1beta1",
                "metadata": md,
                "timestamp": rfc3339(datetime.fromtimestamp(end, UTC)),
                "window": go_seconds(window),
                "containers": [{"name": t.container,
                                "usage": {"cpu": f"{int(u[0] * 1e9)}n",
                                          "memory": f"{u[1] // 1024}Ki"}}
                               for t, u in entries],
            })
        out.sort(key=lambda m: (m["metadata"]["namespace"], m["metadata"]["name"]))
        return out

    def node_metrics(self) -> list[dict]:
        own = self._usage(self._own_samples)
        out = []
        created = rfc3339()
        for i, name in enumerate(self._node_names):
            cores, rss, window, end = (own if own and i == 0 else (0.0, 0, self.window,
                                                                   time.time()))
            for t in self._tracks.values():
                if t.node != name:
                    continue
                u = self._usage(t.samples)
                if u is not None:
                    cores += u[0]
                    rss += u[1]
            node = self.client.peek("nodes", None, name)
            md: dict = {"name": name, "creationTimestamp": created}
            if node is not None and node["metadata"].get("labels"):
                md["labels"] = dict(node["metadata"]["labels"])
            out.append({"kind": "NodeMetrics", "apiVersion": "metrics.k8s.io/v1beta1",
                        "metadata": md,
                        "timestamp": rfc3339(datetime.fromtimestamp(end, UTC)),
                        "window": go_seconds(window),
                        "usage": {"cpu": f"{int(cores * 1e9)}n", "memory": f"{rss // 1024}Ki"}})
        return out

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
