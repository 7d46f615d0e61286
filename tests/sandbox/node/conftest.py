"""A whole sandbox (API server, controllers, node) in this process, on a background loop.

In-process so tests can reach the node's insides (process ids, the proxy's backends) while
talking to the cluster through the official Python client and real kubectl like a learner.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from helpers.sandbox.config import SandboxConfig
from helpers.sandbox.server import Sandbox

KUBECTL = str(Path(sys.executable).parent / "kubectl")


class Cluster:
    def __init__(self, state_dir: Path, **settings):
        settings.setdefault("pull_seconds", 0.1)
        settings.setdefault("metrics_window", 3.0)
        settings.setdefault("proxy_min_sync", 1.0)
        self.config = SandboxConfig(state_dir=state_dir, **settings)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.sandbox = Sandbox(self.config)
        self.run(self.sandbox.start())
        self.home = state_dir / "home"
        self.home.mkdir(exist_ok=True)

    # -- in-process access -----------------------------------------------------------------------
    def run(self, coro, timeout: float = 60):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, fn: Callable, *args, **kwargs):
        """Run `fn` on the sandbox's loop (the in-process client is not thread-safe)."""
        async def wrapper():
            return fn(*args, **kwargs)
        return self.run(wrapper())

    @property
    def client(self):
        return self.sandbox.client

    def get(self, kind: str, ns: str | None, name: str) -> dict | None:
        return self.call(self.client.try_get, kind, ns, name)

    def create(self, kind: str, obj: dict, ns: str) -> dict:
        return self.call(self.client.create, kind, obj, ns)

    def delete(self, kind: str, ns: str, name: str, **kw):
        return self.call(self.client.delete, kind, ns, name, **kw)

    def events(self, ns: str, name: str | None = None) -> list[tuple[str, str]]:
        evs = self.call(self.client.list, "events", ns)
        return [(e["reason"], e["message"]) for e in evs
                if name is None or e["involvedObject"].get("name") == name]

    def kubelet(self, node: str = "rollout-labs"):
        return self.sandbox.ctx.nodes[node]

    def pids(self, ns: str, pod: str) -> list[int]:
        def find():
            for k in self.sandbox.ctx.nodes.values():
                for w in k.workers.values():
                    if w.namespace == ns and w.name == pod:
                        return [r.proc.pid for r in w.all_runners
                                if r.proc is not None and r.proc.running]
            return []
        return self.call(find)

    # -- as a learner ---------------------------------------------------------------------------
    def kubectl(self, *args: str, check: bool = True, timeout: float = 60,
                input: str | None = None) -> subprocess.CompletedProcess:
        env = {**os.environ, "KUBECONFIG": str(self.config.kubeconfig), "HOME": str(self.home)}
        proc = subprocess.run([KUBECTL, *args], capture_output=True, text=True, env=env,
                              timeout=timeout, input=input)
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({proc.returncode}):\n"
                                 f"{proc.stdout}\n{proc.stderr}")
        return proc

    def api_client(self):
        from kubernetes import client, config

        cfg = client.Configuration()
        config.load_kube_config(config_file=str(self.config.kubeconfig), client_configuration=cfg)
        return client.ApiClient(cfg)

    def namespace(self) -> str:
        name = f"n-{uuid.uuid4().hex[:6]}"
        self.create("namespaces", {"metadata": {"name": name}}, None)
        return name

    def stop(self) -> None:
        try:
            self.run(self.sandbox.stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)


def wait_for(pred: Callable[[], object], timeout: float = 20, interval: float = 0.1,
             what: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def pod_ready(pod: dict | None) -> bool:
    return bool(pod) and any(c["type"] == "Ready" and c["status"] == "True"
                             for c in pod.get("status", {}).get("conditions") or [])


def pod(name: str, image: str = "ghcr.io/stefanprodan/podinfo:6.7.0", *, labels=None,
        port: int | None = 9898, restart_policy: str | None = None, grace: int | None = None,
        **container) -> dict:
    c = {"name": container.pop("cname", "app"), "image": image, **container}
    if port:
        c.setdefault("ports", [{"containerPort": port, "name": "http"}])
    spec: dict = {"containers": [c]}
    if restart_policy:
        spec["restartPolicy"] = restart_policy
    if grace is not None:
        spec["terminationGracePeriodSeconds"] = grace
    return {"metadata": {"name": name, "labels": labels or {"app": name}}, "spec": spec}


@pytest.fixture(scope="session")
def cluster(tmp_path_factory) -> Iterator[Cluster]:
    c = Cluster(tmp_path_factory.mktemp("node-sandbox"))
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture
def ns(cluster: Cluster) -> str:
    return cluster.namespace()
