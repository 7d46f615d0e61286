"""An in-process cluster for Deployment/ReplicaSet scenarios: store, registry, client, the two
controllers, and a fake kubelet that binds pods and marks them Running/Ready (or never
ready, for images listed in `bad_images`), then finishes graceful deletions.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from helpers.sandbox.apiserver.registry import Registry
from helpers.sandbox.client import Client
from helpers.sandbox.controllers.deployment import DeploymentController
from helpers.sandbox.controllers.replicaset import ReplicaSetController
from helpers.sandbox.objects import controller_ref, is_pod_ready
from helpers.sandbox.storage.store import Store, WatchEvent
from helpers.sandbox.util import rfc3339

NS = "demo"


def deployment(name: str = "web", replicas: int = 3, image: str = "nginx:1.25", **spec) -> dict:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels},
                              "spec": {"containers": [{"name": "app", "image": image}]}},
                 **spec},
    }


class FakeKubelet:
    """Binds each new pod after `start_delay` and reports it Running+Ready (or stuck in
    ErrImagePull); finishes a graceful deletion after `stop_delay`."""

    def __init__(self, client: Client, bad_images: set[str],
                 start_delay: float = 0.02, stop_delay: float = 0.02, node: str = "node-1"):
        self.client, self.bad_images = client, bad_images
        self.start_delay, self.stop_delay, self.node = start_delay, stop_delay, node
        client.on_change({"pods"}, self._on_pod)

    def _on_pod(self, ev: WatchEvent) -> None:
        if ev.type == "DELETED":
            return
        loop = asyncio.get_running_loop()
        md = ev.object["metadata"]
        if ev.type == "ADDED" and not ev.object["spec"].get("nodeName"):
            loop.call_later(self.start_delay, self._start, md["namespace"], md["name"])
        elif md.get("deletionTimestamp") and not (ev.old or {}).get("metadata", {}).get("deletionTimestamp"):
            loop.call_later(self.stop_delay, self._stop, md["namespace"], md["name"])

    def _start(self, ns: str, name: str) -> None:
        pod = self.client.try_get("pods", ns, name)
        if pod is None or pod["metadata"].get("deletionTimestamp"):
            return
        pod["spec"]["nodeName"] = self.node  # the scheduler's binding
        pod = self.client.update("pods", pod)
        image = pod["spec"]["containers"][0]["image"]
        stamp = rfc3339()
        ok = image not in self.bad_images
        flag = "True" if ok else "False"
        pod["status"].update(phase="Running" if ok else "Pending", startTime=stamp,
                             podIP="127.244.0.10", hostIP="127.0.0.1")
        pod["status"]["conditions"] = [
            {"type": "Initialized", "status": "True", "lastProbeTime": None, "lastTransitionTime": stamp},
            {"type": "Ready", "status": flag, "lastProbeTime": None, "lastTransitionTime": stamp},
            {"type": "ContainersReady", "status": flag, "lastProbeTime": None, "lastTransitionTime": stamp},
            {"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": stamp},
        ]
        state = {"running": {"startedAt": stamp}} if ok else {
            "waiting": {"reason": "ErrImagePull", "message": f'pull access denied for {image}'}}
        pod["status"]["containerStatuses"] = [{"name": "app", "image": image, "ready": ok,
                                               "started": ok, "restartCount": 0, "state": state}]
        self.client.update_status("pods", pod)

    def _stop(self, ns: str, name: str) -> None:
        self.client.delete("pods", ns, name, grace_period=0)


class Cluster:
    """`async with Cluster() as c:` runs both controllers and the fake kubelet."""

    def __init__(self, bad_images: set[str] | None = None, *, kubelet: bool = True,
                 controllers: tuple[str, ...] = ("deployment", "replicaset"), **kubelet_opts):
        self.store = Store(None)
        self.client = Client(Registry(self.store))
        for ns in ("default", NS):
            self.client.create("namespaces", {"metadata": {"name": ns}})
        self.events: list[dict] = []
        self.client.on_change({"events"}, self._on_event)
        self.kubelet = (FakeKubelet(self.client, bad_images or set(), **kubelet_opts)
                        if kubelet else None)
        self.controllers = []
        if "deployment" in controllers:
            self.controllers.append(DeploymentController(self.client))
        if "replicaset" in controllers:
            self.controllers.append(ReplicaSetController(self.client))

    def _on_event(self, ev: WatchEvent) -> None:
        if ev.type == "ADDED":
            self.events.append(ev.object)

    async def __aenter__(self) -> Cluster:
        for c in self.controllers:
            c.start()
        return self

    async def __aexit__(self, *exc) -> None:
        for c in self.controllers:
            await c.stop()

    # -- reads -----------------------------------------------------------------------------
    def deploy(self, name: str = "web") -> dict:
        return self.client.get("deployments", NS, name)

    def rss(self, name: str = "web") -> list[dict]:
        """The Deployment's replica sets, lowest revision first."""
        uid = self.deploy(name)["metadata"]["uid"]
        rss = [rs for rs in self.client.list("replicasets", NS)
               if (controller_ref(rs) or {}).get("uid") == uid]
        return sorted(rss, key=lambda rs: int((rs["metadata"].get("annotations") or {}).get(
            "deployment.kubernetes.io/revision", "0")))

    def rs_by_image(self, image: str, name: str = "web") -> dict | None:
        for rs in self.rss(name):
            if rs["spec"]["template"]["spec"]["containers"][0]["image"] == image:
                return rs
        return None

    def pods(self, rs: dict | None = None, *, active: bool = True) -> list[dict]:
        out = []
        for p in self.client.list("pods", NS):
            if active and (p["metadata"].get("deletionTimestamp")
                           or p["status"].get("phase") in ("Succeeded", "Failed")):
                continue
            if rs is not None and (controller_ref(p) or {}).get("uid") != rs["metadata"]["uid"]:
                continue
            out.append(p)
        return out

    def messages(self, component: str, involved: str | None = None) -> list[str]:
        return [e["message"] for e in self.events if e["source"]["component"] == component
                and (involved is None or e["involvedObject"]["name"] == involved)]

    # -- writes ----------------------------------------------------------------------------
    def set_image(self, image: str, name: str = "web") -> dict:
        """What `kubectl set image` sends: a strategic-merge patch of the container."""
        return self.client.patch("deployments", NS, name, {"spec": {"template": {"spec": {
            "containers": [{"name": "app", "image": image}]}}}}, "strategic")

    def scale(self, replicas: int, name: str = "web") -> dict:
        return self.client.patch("deployments", NS, name, {"spec": {"replicas": replicas}})

    async def complete(self, name: str = "web", timeout: float = 10.0) -> dict:
        """Wait for `kubectl rollout status` to say the rollout finished."""
        def done():
            d = self.deploy(name)
            st = d.get("status") or {}
            want = d["spec"]["replicas"]
            return (st.get("observedGeneration", 0) >= d["metadata"]["generation"]
                    and st.get("updatedReplicas", 0) == want and st.get("replicas", 0) == want
                    and st.get("availableReplicas", 0) == want
                    and len(self.pods()) == want and d)
        return await eventually(done, timeout, f"rollout of {name}")


def is_available(pod: dict) -> bool:
    return is_pod_ready(pod) and not pod["metadata"].get("deletionTimestamp")


async def eventually(check: Callable[[], object], timeout: float = 10.0, what: str = "") -> object:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what or check}: last={last!r}")


async def steady(check: Callable[[], object], seconds: float = 0.5) -> None:
    """Assert `check` holds continuously for `seconds` (a stall stays stalled)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert check(), "condition stopped holding"
        await asyncio.sleep(0.02)


def run(coro) -> None:
    asyncio.run(asyncio.wait_for(coro, 60))
