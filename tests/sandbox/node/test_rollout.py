"""The workshop's claim, end to end: a rolling update with a readiness probe drops nothing
under steady load through the NodePort; without one, requests fail."""

from __future__ import annotations

import importlib.util
import json
import socket
import threading
import time
from collections import Counter

import pytest

from .conftest import Cluster, wait_for

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("helpers.sandbox.controllers.deployment") is None,
    reason="the Deployment controller is not there yet")


def deployment(image: str, readiness: bool) -> dict:
    container = {"name": "app", "image": image, "ports": [{"containerPort": 9898}]}
    if readiness:
        container["readinessProbe"] = {"httpGet": {"path": "/readyz", "port": 9898},
                                       "periodSeconds": 1}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": 4, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [container]}}}}


class Load:
    """Steady requests (a new connection each), recording version or failure per request."""

    def __init__(self, port: int, rate: float = 150, threads: int = 3):
        self.port = port
        self.interval = threads / rate
        self.results: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _one(self) -> str:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
                s.sendall(b"GET / HTTP/1.0\r\nHost: web\r\n\r\n")
                data = b""
                while chunk := s.recv(65536):
                    data += chunk
        except OSError as e:
            return f"error: {type(e).__name__}"
        head, _, body = data.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            return f"error: {head[:40]!r}"
        return json.loads(body)["version"]

    def _run(self) -> None:
        next_at = time.monotonic()
        while not self._stop.is_set():
            self.results.append((time.monotonic(), self._one()))
            next_at += self.interval
            time.sleep(max(0.0, next_at - time.monotonic()))

    def __enter__(self) -> Load:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(10)

    def summary(self) -> Counter:
        return Counter("error" if r.startswith("error") else r for _, r in self.results)


def rollout(cluster: Cluster, ns: str, readiness: bool) -> Load:
    cluster.kubectl("apply", "-n", ns, "-f", "-",
                    input=json.dumps(deployment("ghcr.io/stefanprodan/podinfo:6.6.0", readiness)))
    cluster.kubectl("expose", "deployment", "web", "-n", ns, "--type=NodePort", "--port=80",
                    "--target-port=9898")
    cluster.kubectl("rollout", "status", "deployment/web", "-n", ns, "--timeout=60s")
    port = cluster.get("services", ns, "web")["spec"]["ports"][0]["nodePort"]
    proxy = cluster.sandbox.ctx.kube_proxy
    wait_for(lambda: len(cluster.call(proxy.backends, ns, "web")) == 4, 10, what="4 backends")
    time.sleep(1.5)  # every pod listening, whatever its probe
    with Load(port) as load:
        time.sleep(2)
        cluster.kubectl("set", "image", "deployment/web", "app=ghcr.io/stefanprodan/podinfo:6.7.0",
                        "-n", ns)
        cluster.kubectl("rollout", "status", "deployment/web", "-n", ns, "--timeout=90s")
        time.sleep(4)
    return load


def test_rolling_update_with_readiness_probe_drops_nothing(cluster: Cluster, ns: str):
    load = rollout(cluster, ns, readiness=True)
    summary = load.summary()
    duration = load.results[-1][0] - load.results[0][0]
    print(f"with readiness probe: {summary} over {duration:.1f}s "
          f"({len(load.results) / duration:.0f} req/s)")
    assert len(load.results) / duration >= 100
    assert summary["error"] == 0, [r for r in load.results if r[1].startswith("error")][:5]
    versions = [v for _, v in load.results]
    assert versions[0] == "6.6.0" and versions[-1] == "6.7.0"


def test_rolling_update_without_readiness_probe_fails_requests(cluster: Cluster, ns: str):
    load = rollout(cluster, ns, readiness=False)
    summary = load.summary()
    print(f"without readiness probe: {summary}")
    assert summary["error"] > 0
    assert load.results[-1][1] == "6.7.0"


def nginx(prestop: bool) -> dict:
    container = {"name": "app", "image": "nginx:1.27", "ports": [{"containerPort": 80}],
                 "readinessProbe": {"httpGet": {"path": "/", "port": 80}, "periodSeconds": 1}}
    if prestop:
        container["lifecycle"] = {"preStop": {"sleep": {"seconds": 5}}}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": 4, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [container]}}}}


class StatusLoad(Load):
    """nginx answers HTML: count 200s, not versions."""

    def _one(self) -> str:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
                s.sendall(b"GET / HTTP/1.0\r\nHost: web\r\n\r\n")
                data = b""
                while chunk := s.recv(65536):
                    data += chunk
        except OSError as e:
            return f"error: {type(e).__name__}"
        return "ok" if data.startswith(b"HTTP/1.1 200") else f"error: {data[:40]!r}"


@pytest.mark.parametrize("prestop", [False, True], ids=["no-preStop", "preStop"])
def test_prestop_covers_the_endpoint_race(cluster: Cluster, ns: str, prestop: bool):
    """nginx stops accepting at once on its stop signal; kube-proxy learns of the endpoint
    change up to a second later. A preStop pause is what closes that gap."""
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=json.dumps(nginx(prestop)))
    cluster.kubectl("expose", "deployment", "web", "-n", ns, "--type=NodePort", "--port=80")
    cluster.kubectl("rollout", "status", "deployment/web", "-n", ns, "--timeout=60s")
    port = cluster.get("services", ns, "web")["spec"]["ports"][0]["nodePort"]
    proxy = cluster.sandbox.ctx.kube_proxy
    wait_for(lambda: len(cluster.call(proxy.backends, ns, "web")) == 4, 10, what="4 backends")
    with StatusLoad(port) as load:
        time.sleep(1)
        cluster.kubectl("set", "image", "deployment/web", "app=nginx:1.28", "-n", ns)
        cluster.kubectl("rollout", "status", "deployment/web", "-n", ns, "--timeout=90s")
        time.sleep(6 if prestop else 2)
    summary = load.summary()
    print(f"nginx rollout, {'with' if prestop else 'without'} preStop: {summary}")
    if prestop:
        assert summary["error"] == 0
    else:
        assert summary["error"] > 0
