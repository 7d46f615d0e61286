"""Less common pod shapes: init containers, startup probes, namespace deletion."""

from __future__ import annotations

import time

from .conftest import Cluster, pod, pod_ready, wait_for


def test_init_containers_run_first(cluster: Cluster, ns: str):
    p = pod("inited")
    p["spec"]["initContainers"] = [{"name": "wait", "image": "busybox:1.36",
                                    "command": ["sh", "-c", "echo init; sleep 1"]}]
    cluster.create("pods", p, ns)
    time.sleep(0.5)
    p = cluster.get("pods", ns, "inited")
    init = next(c for c in p["status"]["conditions"] if c["type"] == "Initialized")
    assert init["status"] == "False" and init["reason"] == "ContainersNotInitialized"
    assert "Init:0/1" in cluster.kubectl("get", "pod", "inited", "-n", ns).stdout
    p = wait_for(lambda: (p := cluster.get("pods", ns, "inited")) and pod_ready(p) and p, 15)
    ics = p["status"]["initContainerStatuses"][0]
    assert ics["state"]["terminated"]["reason"] == "Completed"
    assert cluster.kubectl("logs", "inited", "-c", "wait", "-n", ns).stdout == "init\n"


def test_startup_probe_holds_other_probes(cluster: Cluster, ns: str):
    startup = {"httpGet": {"path": "/healthz", "port": 9898}, "periodSeconds": 1,
               "failureThreshold": 10}
    cluster.create("pods", pod("slow", startupProbe=startup), ns)
    time.sleep(0.3)
    cs = cluster.get("pods", ns, "slow")["status"]["containerStatuses"][0]
    assert cs["started"] is False and cs["ready"] is False
    p = wait_for(lambda: (p := cluster.get("pods", ns, "slow")) and pod_ready(p) and p, 15)
    cs = p["status"]["containerStatuses"][0]
    assert cs["started"] and cs["restartCount"] == 0


def test_namespace_deletion_terminates_its_pods(cluster: Cluster):
    ns = cluster.namespace()
    cluster.create("pods", pod("a", lifecycle={"preStop": {"exec": {
        "command": ["sh", "-c", "sleep 1"]}}}), ns)
    cluster.create("pods", pod("b", "busybox:1.36", port=None, command=["sleep", "3600"],
                               grace=2), ns)
    wait_for(lambda: pod_ready(cluster.get("pods", ns, "a")) and
             pod_ready(cluster.get("pods", ns, "b")))
    pids = cluster.pids(ns, "a") + cluster.pids(ns, "b")
    cluster.kubectl("delete", "namespace", ns, "--wait=false")
    wait_for(lambda: cluster.get("namespaces", None, ns) is None, 30, what="namespace gone")
    import psutil
    assert not any(psutil.pid_exists(p) for p in pids)


def test_active_deadline_fails_the_pod(cluster: Cluster, ns: str):
    p = pod("deadline", "busybox:1.36", port=None, restart_policy="Never", grace=1,
            command=["sleep", "60"])
    p["spec"]["activeDeadlineSeconds"] = 2
    cluster.create("pods", p, ns)
    p = wait_for(lambda: (p := cluster.get("pods", ns, "deadline")) and
                 p["status"].get("phase") == "Failed" and p, 15, what="Failed")
    assert p["status"]["reason"] == "DeadlineExceeded"
    assert cluster.pids(ns, "deadline") == []
    cluster.kubectl("delete", "pod", "deadline", "-n", ns)
    assert cluster.get("pods", ns, "deadline") is None
