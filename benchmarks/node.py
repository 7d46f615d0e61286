"""Benchmark the sandbox node: pods as real processes.

Prints figures; asserts nothing. Targets from the node issue: ≤ 20 MB per pod process,
20 pods + sandbox ≤ 600 MB, 100 replicas Ready ≤ 30 s.

    .venv/bin/python benchmarks/node.py [--replicas 100] [--seconds 10]
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers import sandbox  # noqa: E402

IMAGE = "ghcr.io/stefanprodan/podinfo:6.7.0"
NGINX = "nginx:1.27"


def deployment(name: str, replicas: int, image: str, port: int, probe: bool) -> dict:
    container = {"name": "app", "image": image, "ports": [{"containerPort": port}]}
    if probe:
        container["readinessProbe"] = {"httpGet": {"path": "/readyz", "port": port},
                                       "periodSeconds": 1}
    return {"metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [container]}}}}


def wait_ready(apps, ns: str, name: str, replicas: int, timeout: float) -> float:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        d = apps.read_namespaced_deployment(name, ns)
        if (d.status.ready_replicas or 0) >= replicas:
            return time.perf_counter() - t0
        time.sleep(0.1)
    raise TimeoutError(f"{name}: not ready after {timeout} s")


def pod_processes(sandbox_pid: int) -> list[psutil.Process]:
    return psutil.Process(sandbox_pid).children(recursive=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--replicas", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=10.0, help="duration of the NodePort load")
    args = ap.parse_args()

    from kubernetes import client, config

    with tempfile.TemporaryDirectory() as state:
        info = sandbox.start(state_dir=state, env={"ROLLOUT_LABS_PULL_SECONDS": "0"})
        try:
            cfg = client.Configuration()
            config.load_kube_config(config_file=str(info.kubeconfig), client_configuration=cfg)
            api = client.ApiClient(cfg)
            core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
            core.create_namespace({"metadata": {"name": "bench"}})

            # 1. single pod create → Ready (nginx starts fast; podinfo waits ~1.2 s by design)
            for image in (NGINX, IMAGE):
                lat = []
                for i in range(5):
                    name = f"p{i}-{image.split('/')[-1].split(':')[0]}"
                    t0 = time.perf_counter()
                    core.create_namespaced_pod("bench", {
                        "metadata": {"name": name},
                        "spec": {"containers": [{"name": "app", "image": image}]}})
                    while True:
                        p = core.read_namespaced_pod(name, "bench")
                        if any(c.type == "Ready" and c.status == "True"
                               for c in p.status.conditions or []):
                            break
                        time.sleep(0.02)
                    lat.append(time.perf_counter() - t0)
                    core.delete_namespaced_pod(name, "bench", grace_period_seconds=0)
                print(f"pod create→Ready ({image}): median {statistics.median(lat):.2f} s, "
                      f"min {min(lat):.2f} s, max {max(lat):.2f} s")

            # 2. memory: 20 podinfo pods
            apps.create_namespaced_deployment("bench", deployment("web", 20, IMAGE, 9898, True))
            wait_ready(apps, "bench", "web", 20, 60)
            time.sleep(1)
            procs = pod_processes(info.pid)
            rss = [p.memory_info().rss for p in procs]
            own = psutil.Process(info.pid).memory_info().rss
            print(f"20 podinfo pods: RSS per pod process median {statistics.median(rss) / 2**20:.1f} MB, "
                  f"max {max(rss) / 2**20:.1f} MB; pods total {sum(rss) / 2**20:.0f} MB; "
                  f"sandbox itself {own / 2**20:.0f} MB; all {(sum(rss) + own) / 2**20:.0f} MB")

            # 3. NodePort request rate with 4 keep-alive-free clients
            core.create_namespaced_service("bench", {
                "metadata": {"name": "web"},
                "spec": {"type": "NodePort", "selector": {"app": "web"},
                         "ports": [{"port": 80, "targetPort": 9898}]}})
            time.sleep(1.5)
            port = core.read_namespaced_service("web", "bench").spec.ports[0].node_port
            counts = {"ok": 0, "fail": 0}
            lock = threading.Lock()
            stop = time.perf_counter() + args.seconds

            def worker() -> None:
                while time.perf_counter() < stop:
                    try:
                        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                        c.request("GET", "/")
                        ok = c.getresponse().status == 200
                        c.close()
                    except OSError:
                        ok = False
                    with lock:
                        counts["ok" if ok else "fail"] += 1

            threads = [threading.Thread(target=worker) for _ in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            print(f"NodePort: {counts['ok'] / args.seconds:.0f} requests/s sustained "
                  f"({counts['fail']} failed) with 8 clients, a new connection per request")
            apps.delete_namespaced_deployment("web", "bench")

            # 4. a big Deployment to Ready
            time.sleep(3)
            t0 = time.perf_counter()
            apps.create_namespaced_deployment(
                "bench", deployment("big", args.replicas, NGINX, 80, False))
            took = wait_ready(apps, "bench", "big", args.replicas, 180)
            procs = pod_processes(info.pid)
            total = sum(p.memory_info().rss for p in procs)
            print(f"{args.replicas}-replica nginx Deployment Ready in {took:.1f} s "
                  f"(create→all Ready, {time.perf_counter() - t0:.1f} s wall); "
                  f"{len(procs)} processes, {total / 2**20:.0f} MB RSS")
        finally:
            sandbox.stop(state)


if __name__ == "__main__":
    main()
