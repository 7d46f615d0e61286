"""In-process control plane for controller scenarios: no HTTP, no node.

`Store(None)` + `Registry` + `Client` as the daemon wires them; a controller under test runs
in the test's event loop and a fake kubelet marks pods Running/Ready on demand.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta

from helpers.sandbox.apiserver.registry import Registry
from helpers.sandbox.client import Client
from helpers.sandbox.config import SandboxConfig
from helpers.sandbox.storage.store import Store
from helpers.sandbox.util import now, rfc3339


def control_plane(namespace: str = "demo") -> Client:
    client = Client(Registry(Store(None)))
    for ns in ("default", namespace):
        client.create("namespaces", {"metadata": {"name": ns}})
    return client


def fast_config(**overrides) -> SandboxConfig:
    cfg = SandboxConfig(state_dir=__import__("pathlib").Path("/nonexistent"))
    cfg.hpa_sync_period = 3600  # tests call sync() themselves
    cfg.hpa_downscale_stabilization = 300
    for k, v in overrides.items():
        setattr(cfg, k, v)
    return cfg


def mark_ready(client: Client, ns: str, name: str, *, ready: bool = True,
               started_ago: float = 600.0) -> dict:
    """What the kubelet reports for a running pod (Ready since `started_ago` seconds)."""
    pod = client.get("pods", ns, name)
    started = rfc3339(now() - timedelta(seconds=started_ago))
    status = pod.setdefault("status", {})
    status.update(phase="Running", startTime=started, podIP="127.244.0.9", hostIP="127.0.0.1")
    flag = "True" if ready else "False"
    status["conditions"] = [
        {"type": "Initialized", "status": "True", "lastTransitionTime": started},
        {"type": "Ready", "status": flag, "lastTransitionTime": started},
        {"type": "ContainersReady", "status": flag, "lastTransitionTime": started},
        {"type": "PodScheduled", "status": "True", "lastTransitionTime": started},
    ]
    return client.update_status("pods", pod)


class FakeKubelet:
    """Marks new pods Running and Ready (when `auto`), like a node that starts them at once."""

    def __init__(self, client: Client, ns: str, auto: bool = True):
        self.client, self.ns, self.auto = client, ns, auto
        self._task: asyncio.Task | None = None

    def pending(self) -> list[str]:
        return sorted(p["metadata"]["name"] for p in self.client.list("pods", self.ns)
                      if p.get("status", {}).get("phase") == "Pending"
                      and not p["metadata"].get("deletionTimestamp"))

    async def _run(self) -> None:
        while True:
            if self.auto:
                for name in self.pending():
                    mark_ready(self.client, self.ns, name, started_ago=0)
            await asyncio.sleep(0.01)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass


async def eventually(check: Callable[[], object], timeout: float = 5.0, what: str = "") -> object:
    """Poll `check` until it returns a truthy value (returned) or fail after `timeout`."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except AssertionError as e:
            last = e
        else:
            if last:
                return last
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what or check}: last={last!r}")


async def settle(seconds: float = 0.1) -> None:
    await asyncio.sleep(seconds)
