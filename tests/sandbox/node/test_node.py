"""Nodes and metrics as kubectl shows them; sandbox restarts; no process outlives the sandbox."""

from __future__ import annotations

import os
import signal
import threading
import time
import urllib.request

import psutil

from helpers.sandbox import network

from .conftest import Cluster, pod, pod_ready, wait_for


def test_kubectl_get_nodes_wide_looks_real(cluster: Cluster):
    out = cluster.kubectl("get", "nodes", "-o", "wide").stdout.splitlines()
    assert out[0].split()[:6] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION", "INTERNAL-IP"]
    row = out[1].split()
    assert row[0] == "rollout-labs" and row[1] == "Ready" and row[2] == "control-plane"
    assert row[4] == "v1.37.1" and row[5] == "127.0.0.1"
    assert "containerd://" in out[1]
    node = cluster.get("nodes", None, "rollout-labs")
    labels = node["metadata"]["labels"]
    assert labels["kubernetes.io/hostname"] == "rollout-labs"
    assert labels["kubernetes.io/os"] == "linux"
    assert labels["topology.kubernetes.io/zone"] == "zone-a"
    st = node["status"]
    assert st["capacity"]["cpu"] == str(os.cpu_count())
    assert st["capacity"]["pods"] == "110"
    ready = next(c for c in st["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "True" and ready["reason"] == "KubeletReady"
    assert ready["message"] == "kubelet is posting ready status"
    assert st["nodeInfo"]["kernelVersion"] == os.uname().release
    assert cluster.get("leases", "kube-node-lease", "rollout-labs")["spec"]["renewTime"]


def test_get_pods_wide_shows_ip_and_node(cluster: Cluster, ns: str):
    cluster.create("pods", pod("wide"), ns)
    p = wait_for(lambda: (p := cluster.get("pods", ns, "wide")) and pod_ready(p) and p)
    out = cluster.kubectl("get", "pods", "-o", "wide", "-n", ns).stdout.splitlines()
    row = out[1].split()
    assert row[:3] == ["wide", "1/1", "Running"]
    assert p["status"]["podIP"] in row and "rollout-labs" in row


def test_busy_pod_shows_cpu_in_metrics_and_top(cluster: Cluster, ns: str):
    cluster.create("pods", pod("php", "registry.k8s.io/hpa-example", port=80,
                               resources={"requests": {"cpu": "200m"}}), ns)
    p = wait_for(lambda: (p := cluster.get("pods", ns, "php")) and pod_ready(p) and p)
    ip = p["status"]["podIP"]
    stop = threading.Event()

    def load():
        while not stop.is_set():
            try:
                with urllib.request.urlopen(f"http://{ip}:{network.real_port(80)}/",
                                            timeout=5) as r:
                    r.read()
            except OSError:
                time.sleep(0.05)

    workers = [threading.Thread(target=load, daemon=True) for _ in range(2)]
    for w in workers:
        w.start()
    try:
        def busy():
            ms = cluster.call(cluster.sandbox.ctx.metrics.pod_metrics, ns)
            m = next((m for m in ms if m["metadata"]["name"] == "php"), None)
            if m is None:
                return None
            cpu = int(m["containers"][0]["usage"]["cpu"].rstrip("n")) / 1e6  # millicores
            return cpu > 150 and m

        m = wait_for(busy, 20, interval=0.5, what="CPU above 150m")
        assert m["metadata"]["labels"] == {"app": "php"}
        assert m["window"].endswith("s") and float(m["window"][:-1]) > 0
        assert m["containers"][0]["usage"]["memory"].endswith("Ki")
        top = cluster.kubectl("top", "pods", "-n", ns).stdout.splitlines()
        assert top[0].split() == ["NAME", "CPU(cores)", "MEMORY(bytes)"]
        name, cpu, mem = top[1].split()
        assert name == "php" and cpu.endswith("m") and int(cpu[:-1]) > 50 and mem.endswith("Mi")
        nodes = cluster.kubectl("top", "nodes").stdout.splitlines()
        assert nodes[1].split()[0] == "rollout-labs"
    finally:
        stop.set()
        for w in workers:
            w.join(5)


def test_rss_per_pod_process(cluster: Cluster, ns: str):
    cluster.create("pods", pod("small"), ns)
    wait_for(lambda: pod_ready(cluster.get("pods", ns, "small")))
    time.sleep(1.5)
    [pid] = cluster.pids(ns, "small")
    rss = psutil.Process(pid).memory_info().rss / 2**20
    print(f"podinfo pod process RSS: {rss:.1f} MiB")
    assert rss < 20


def test_sandbox_restart_restarts_stored_pods(tmp_path):
    c = Cluster(tmp_path / "state")
    try:
        ns = c.namespace()
        c.create("pods", pod("survivor"), ns)
        wait_for(lambda: pod_ready(c.get("pods", ns, "survivor")))
        [pid] = c.pids(ns, "survivor")
    finally:
        c.stop()
    assert not psutil.pid_exists(pid)
    c = Cluster(tmp_path / "state")
    try:
        p = wait_for(lambda: (p := c.get("pods", ns, "survivor")) and pod_ready(p) and
                     p["status"]["containerStatuses"][0]["restartCount"] == 1 and p, 20,
                     what="restarted after the node came back")
        cs = p["status"]["containerStatuses"][0]
        assert cs["lastState"]["terminated"]["reason"] == "Unknown"
        assert c.pids(ns, "survivor")
    finally:
        c.stop()


def test_two_nodes_have_zones(tmp_path):
    c = Cluster(tmp_path / "state", nodes=2)
    try:
        names = [n["metadata"]["name"] for n in c.call(c.client.list, "nodes")]
        assert names == ["rollout-labs", "rollout-labs-m02"]
        m02 = c.get("nodes", None, "rollout-labs-m02")
        assert m02["metadata"]["labels"]["topology.kubernetes.io/zone"] == "zone-b"
        assert "node-role.kubernetes.io/control-plane" not in m02["metadata"]["labels"]
    finally:
        c.stop()


def test_no_process_outlives_a_killed_daemon(tmp_path):
    """Even SIGKILL on the sandbox takes its pods with it (parent-death signal)."""
    from helpers import sandbox as sb

    state = tmp_path / "daemon"
    info = sb.start(state_dir=state, env={"ROLLOUT_LABS_PULL_SECONDS": "0.05"})
    try:
        env = {**os.environ, "KUBECONFIG": str(info.kubeconfig), "HOME": str(tmp_path)}
        import subprocess
        import sys
        kubectl = os.path.join(os.path.dirname(sys.executable), "kubectl")
        subprocess.run([kubectl, "run", "a", "--image=ghcr.io/stefanprodan/podinfo:6.7.0"],
                       env=env, check=True, capture_output=True)
        subprocess.run([kubectl, "run", "b", "--image=busybox:1.36", "--", "sleep", "3600"],
                       env=env, check=True, capture_output=True)
        daemon = psutil.Process(info.pid)
        kids = wait_for(lambda: len(k := daemon.children()) >= 2 and k, 20,
                        what="two pod processes")
        os.kill(info.pid, signal.SIGKILL)
        wait_for(lambda: not any(k.is_running() and k.status() != psutil.STATUS_ZOMBIE
                                 for k in kids), 5, what="pod processes gone")
    finally:
        sb.stop(state)
