"""Benchmark the sandbox API server: start-to-ready, GET/LIST/WATCH latency, memory.

Prints figures; asserts nothing (targets: ready ≤ 1 s, GET p99 ≤ 10 ms, LIST of 500 pods
≤ 100 ms). The 500 pods are bound to a node no kubelet serves, so they stay API objects and
the figures measure the API server alone.

    .venv/bin/python benchmarks/apiserver.py [--pods 500] [--rounds 200]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers import sandbox  # noqa: E402


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def fmt(values: list[float]) -> str:
    return (f"p50 {pct(values, 50) * 1000:7.2f} ms   p99 {pct(values, 99) * 1000:7.2f} ms   "
            f"max {max(values) * 1000:7.2f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--pods", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=200)
    args = ap.parse_args()

    from kubernetes import client, config, watch

    with tempfile.TemporaryDirectory() as state:
        starts = []
        for i in range(3):
            t0 = time.perf_counter()
            info = sandbox.start(state_dir=state)
            starts.append(time.perf_counter() - t0)
            if i < 2:
                sandbox.stop(state)
        print("start-to-ready (3 cold starts, first creates TLS material): "
              + ", ".join(f"{s:.2f} s" for s in starts))
        try:
            cfg = client.Configuration()
            config.load_kube_config(config_file=str(info.kubeconfig), client_configuration=cfg)
            api = client.ApiClient(cfg)
            core = client.CoreV1Api(api)
            core.create_namespace({"metadata": {"name": "bench"}})
            t0 = time.perf_counter()
            for i in range(args.pods):
                core.create_namespaced_pod("bench", {
                    "metadata": {"name": f"pod-{i:04d}", "labels": {"app": "bench", "i": str(i % 10)}},
                    "spec": {"nodeName": "bench-node-without-kubelet",
                             "containers": [{"name": "c", "image": "nginx:1.27",
                                             "resources": {"requests": {"cpu": "10m"}}}]}})
            create = time.perf_counter() - t0
            print(f"create {args.pods} pods: {create:.2f} s ({create / args.pods * 1000:.2f} ms each)")

            gets = []
            for i in range(args.rounds):
                t0 = time.perf_counter()
                core.read_namespaced_pod(f"pod-{i % args.pods:04d}", "bench",
                                         _preload_content=False).read()
                gets.append(time.perf_counter() - t0)
            print(f"GET pod                 {fmt(gets)}")

            lists = []
            for _ in range(max(10, args.rounds // 10)):
                t0 = time.perf_counter()
                core.list_namespaced_pod("bench", _preload_content=False).read()
                lists.append(time.perf_counter() - t0)
            print(f"LIST {args.pods} pods (JSON)   {fmt(lists)}")

            tables = []
            headers = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io",
                       "Authorization": cfg.get_api_key_with_prefix("BearerToken")}
            for _ in range(max(10, args.rounds // 10)):
                t0 = time.perf_counter()
                _ = api.rest_client.pool_manager.request(
                    "GET", f"{cfg.host}/api/v1/namespaces/bench/pods", headers=headers).data
                tables.append(time.perf_counter() - t0)
            print(f"LIST {args.pods} pods (Table)  {fmt(tables)}")

            # WATCH latency: time from a write to the event arriving at a watcher.
            got: dict[str, float] = {}
            ready = threading.Event()

            def watcher() -> None:
                w = watch.Watch()
                rv = core.list_namespaced_pod("bench", limit=1).metadata.resource_version
                ready.set()
                for ev in w.stream(core.list_namespaced_pod, "bench", resource_version=rv,
                                   label_selector="watched=yes", timeout_seconds=60):
                    name = ev["object"].metadata.name
                    got.setdefault(name, time.perf_counter())
                    if len(got) >= 50:
                        w.stop()

            th = threading.Thread(target=watcher, daemon=True)
            th.start()
            ready.wait(10)
            time.sleep(0.3)
            sent: dict[str, float] = {}
            for i in range(50):
                name = f"pod-{i:04d}"
                sent[name] = time.perf_counter()
                core.patch_namespaced_pod(name, "bench", {"metadata": {"labels": {"watched": "yes"}}})
                time.sleep(0.02)
            th.join(30)
            lat = [got[n] - sent[n] for n in sent if n in got]
            print(f"WATCH write→event (n={len(lat)}) {fmt(lat) if lat else 'no events'}")

            proc = psutil.Process(info.pid)
            rss = proc.memory_info().rss
            print(f"sandbox memory with {args.pods} pods stored: {rss / 2**20:.0f} MiB RSS")
        finally:
            sandbox.stop(state)


if __name__ == "__main__":
    main()
