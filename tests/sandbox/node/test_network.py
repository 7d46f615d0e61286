"""Services you can reach: kube-proxy (ClusterIP, NodePort), service names, the API's proxy."""

from __future__ import annotations

import json
import socket
import time
import urllib.request
from collections import Counter

import pytest

from helpers.sandbox import network

from .conftest import Cluster, pod, pod_ready, wait_for

READINESS = {"httpGet": {"path": "/readyz", "port": 9898}, "periodSeconds": 1}


def _get(host: str, port: int, path: str = "/", timeout: float = 3.0) -> tuple[int, bytes]:
    with urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=timeout) as r:
        return r.status, r.read()


def _web(cluster: Cluster, ns: str, replicas: int, svc_type: str = "NodePort") -> dict:
    for i in range(replicas):
        cluster.create("pods", pod(f"web-{i}", labels={"app": "web"},
                                   readinessProbe=READINESS), ns)
    cluster.create("services", {"metadata": {"name": "web"}, "spec": {
        "type": svc_type, "selector": {"app": "web"},
        "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}}, ns)
    for i in range(replicas):
        wait_for(lambda i=i: pod_ready(cluster.get("pods", ns, f"web-{i}")), 20,
                 what=f"web-{i} ready")
    proxy = cluster.sandbox.ctx.kube_proxy
    wait_for(lambda: len(cluster.call(proxy.backends, ns, "web")) == replicas, 5,
             what="proxy has every backend")
    return cluster.get("services", ns, "web")


def test_nodeport_answers_and_spreads_over_pods(cluster: Cluster, ns: str):
    svc = _web(cluster, ns, 3)
    node_port = svc["spec"]["ports"][0]["nodePort"]
    hosts = Counter()
    for _ in range(60):
        code, body = _get("127.0.0.1", node_port)
        assert code == 200
        hosts[json.loads(body)["hostname"]] += 1
    assert set(hosts) == {"web-0", "web-1", "web-2"}, hosts
    # The ClusterIP answers too, on the service port (shifted if privileged).
    code, _ = _get(svc["spec"]["clusterIP"], network.real_port(80))
    assert code == 200


def test_nodeport_request_rate(cluster: Cluster, ns: str):
    """The proxy sustains well over 100 requests/s (new connection per request)."""
    svc = _web(cluster, ns, 2)
    node_port = svc["spec"]["ports"][0]["nodePort"]
    n, started = 0, time.monotonic()
    while time.monotonic() - started < 2.0:
        with socket.create_connection(("127.0.0.1", node_port), timeout=3) as s:
            s.sendall(b"GET /version HTTP/1.0\r\nHost: x\r\n\r\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        assert data.startswith(b"HTTP/1.1 200"), data[:100]
        n += 1
    rate = n / (time.monotonic() - started)
    print(f"NodePort: {rate:.0f} requests/s, sequential, one connection each")
    assert rate > 100


def test_no_ready_endpoint_resets_the_connection(cluster: Cluster, ns: str):
    cluster.create("services", {"metadata": {"name": "empty"}, "spec": {
        "type": "NodePort", "selector": {"app": "nobody"}, "ports": [{"port": 8080}]}}, ns)
    svc = cluster.get("services", ns, "empty")
    node_port = svc["spec"]["ports"][0]["nodePort"]
    time.sleep(1.2)
    with pytest.raises((ConnectionError, urllib.error.URLError)):
        _get("127.0.0.1", node_port)


def test_pods_resolve_service_names(cluster: Cluster, ns: str):
    _web(cluster, ns, 1, svc_type="ClusterIP")
    cluster.create("pods", pod("client", "busybox:1.28", port=None, restart_policy="Never",
                               command=["sh", "-c", "wget -q -O- http://web/version && "
                                        f"wget -q -O- http://web.{ns}.svc.cluster.local/version"]),
                   ns)
    p = wait_for(lambda: (p := cluster.get("pods", ns, "client")) and
                 p["status"].get("phase") in ("Succeeded", "Failed") and p, 20, what="client done")
    logs = cluster.kubectl("logs", "client", "-n", ns).stdout
    assert p["status"]["phase"] == "Succeeded", logs
    assert logs.count('"version"') == 2
    hosts = (cluster.config.state_dir / "node" / "hosts").read_text()
    svc = cluster.get("services", ns, "web")
    assert f"{svc['spec']['clusterIP']} web.{ns}.svc.cluster.local web.{ns}.svc web.{ns}" in hosts


def test_service_proxy_through_the_official_client(cluster: Cluster, ns: str):
    from kubernetes import client as k8s
    from kubernetes.client.rest import ApiException

    _web(cluster, ns, 2, svc_type="ClusterIP")
    api = k8s.CoreV1Api(cluster.api_client())
    body = api.connect_get_namespaced_service_proxy_with_path("web:80", ns, "version")
    assert "6.7.0" in body
    body = api.connect_get_namespaced_service_proxy_with_path("web:http", ns, "version")
    assert "6.7.0" in body
    out = cluster.kubectl("get", "--raw", f"/api/v1/namespaces/{ns}/services/http:web:80/proxy/"
                          "headers?x=1").stdout
    assert "X-Forwarded-For" in out or "x-forwarded-for" in out.lower()
    # A pod's proxy goes to its IP.
    assert "6.7.0" in api.connect_get_namespaced_pod_proxy_with_path("web-0:9898", ns, "version")
    cluster.create("services", {"metadata": {"name": "nobody"}, "spec": {
        "selector": {"app": "nobody"}, "ports": [{"port": 80}]}}, ns)
    with pytest.raises(ApiException) as err:
        api.connect_get_namespaced_service_proxy_with_path("nobody:80", ns, "")
    assert err.value.status == 503
    assert json.loads(err.value.body)["message"] == 'no endpoints available for service "nobody"'


def test_proxy_waits_for_its_sync_period(cluster: Cluster, ns: str):
    """Endpoint changes reach kube-proxy no faster than minSyncPeriod (1 s)."""
    _web(cluster, ns, 2, svc_type="ClusterIP")
    proxy = cluster.sandbox.ctx.kube_proxy
    changed: list[float] = []

    def on_slice(ev):
        if ev.object["metadata"].get("namespace") == ns and not changed and any(
                not e["conditions"]["ready"] for e in ev.object.get("endpoints") or []):
            changed.append(time.monotonic())

    cluster.call(cluster.client.on_change, {"endpointslices"}, on_slice)
    cluster.call(proxy._request_sync)  # a sync now makes the next one wait a full period
    time.sleep(0.1)
    cluster.delete("pods", ns, "web-1", grace_period=5)
    applied = wait_for(lambda: len(cluster.call(proxy.backends, ns, "web")) == 1 and
                       time.monotonic(), 5, interval=0.01, what="proxy drops the pod")
    assert changed, "the endpointslice never marked the pod not ready"
    lag = applied - changed[0]
    assert 0.6 <= lag <= 1.5, lag


def test_headless_service_lists_pod_addresses(cluster: Cluster, ns: str):
    p = pod("db-0", labels={"app": "db"}, readinessProbe=READINESS)
    p["spec"].update(hostname="db-0", subdomain="db")
    cluster.create("pods", p, ns)
    cluster.create("services", {"metadata": {"name": "db"}, "spec": {
        "clusterIP": "None", "selector": {"app": "db"}, "ports": [{"port": 9898}]}}, ns)
    p = wait_for(lambda: (p := cluster.get("pods", ns, "db-0")) and pod_ready(p) and p, 20)
    ip = p["status"]["podIP"]
    hosts = cluster.config.state_dir / "node" / "hosts"
    wait_for(lambda: f"{ip} db.{ns}.svc.cluster.local" in hosts.read_text(), 5,
             what="headless entry")
    assert f"{ip} db-0.db.{ns}.svc.cluster.local" in hosts.read_text()


def test_client_ip_session_affinity_sticks(cluster: Cluster, ns: str):
    for i in range(3):
        cluster.create("pods", pod(f"s-{i}", labels={"app": "sticky"},
                                   readinessProbe=READINESS), ns)
    cluster.create("services", {"metadata": {"name": "sticky"}, "spec": {
        "type": "NodePort", "selector": {"app": "sticky"}, "sessionAffinity": "ClientIP",
        "ports": [{"port": 80, "targetPort": 9898}]}}, ns)
    for i in range(3):
        wait_for(lambda i=i: pod_ready(cluster.get("pods", ns, f"s-{i}")), 20)
    proxy = cluster.sandbox.ctx.kube_proxy
    wait_for(lambda: len(cluster.call(proxy.backends, ns, "sticky")) == 3, 5)
    port = cluster.get("services", ns, "sticky")["spec"]["ports"][0]["nodePort"]
    seen = {json.loads(_get("127.0.0.1", port)[1])["hostname"] for _ in range(20)}
    assert len(seen) == 1
