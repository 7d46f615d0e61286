"""Resource limits on plain processes: CPU throttled to the limit, memory over it OOMKilled."""

from __future__ import annotations

import threading
import time
import urllib.request

from helpers.sandbox import network

from .conftest import Cluster, pod, pod_ready, wait_for


def test_cpu_limit_throttles_usage(cluster: Cluster, ns: str):
    cluster.create("pods", pod("capped", "registry.k8s.io/hpa-example", port=80,
                               resources={"limits": {"cpu": "200m"}}), ns)
    p = wait_for(lambda: (p := cluster.get("pods", ns, "capped")) and pod_ready(p) and p)
    url = f"http://{p['status']['podIP']}:{network.real_port(80)}/"
    stop = threading.Event()

    def load():
        while not stop.is_set():
            try:
                urllib.request.urlopen(url, timeout=10).read()
            except OSError:
                time.sleep(0.05)

    threads = [threading.Thread(target=load, daemon=True) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        time.sleep(5)
        m = next(m for m in cluster.call(cluster.sandbox.ctx.metrics.pod_metrics, ns)
                 if m["metadata"]["name"] == "capped")
        millicores = int(m["containers"][0]["usage"]["cpu"].rstrip("n")) / 1e6
        assert 100 < millicores < 300, millicores
    finally:
        stop.set()
        for t in threads:
            t.join(15)


def test_memory_limit_is_oomkilled(cluster: Cluster, ns: str):
    cluster.create("pods", pod("tiny", resources={"limits": {"memory": "4Mi"}}), ns)
    p = wait_for(lambda: (p := cluster.get("pods", ns, "tiny")) and
                 (p["status"].get("containerStatuses") or [{}])[0].get("restartCount", 0) >= 1
                 and p, 20, what="OOM restart")
    term = p["status"]["containerStatuses"][0]["lastState"]["terminated"]
    assert term["reason"] == "OOMKilled" and term["exitCode"] == 137
