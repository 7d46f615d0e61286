"""Pods as real processes: start, status, logs, restarts, probes, deletion, images."""

from __future__ import annotations

import ipaddress
import json
import os
import signal
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

import psutil

from helpers.sandbox import network

from .conftest import KUBECTL, Cluster, pod, pod_ready, wait_for


def http_get(ip: str, port: int, path: str = "/", timeout: float = 2.0) -> tuple[int, bytes]:
    url = f"http://{ip}:{network.real_port(port)}{path}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def answers(ip: str, port: int = 9898, path: str = "/") -> tuple[int, bytes]:
    """Wait until the app listens (without a readiness probe a pod is Ready before that)."""
    def attempt():
        try:
            return http_get(ip, port, path)
        except (ConnectionError, urllib.error.URLError):
            return None
    return wait_for(attempt, 10, what=f"{ip}:{port} answering")


def ready_pod(cluster: Cluster, ns: str, name: str, timeout: float = 20) -> dict:
    return wait_for(lambda: (p := cluster.get("pods", ns, name)) and pod_ready(p) and p,
                    timeout, what=f"pod {name} Ready")


def test_pod_runs_a_real_process_that_answers_on_its_ip(cluster: Cluster, ns: str):
    started = time.monotonic()
    cluster.create("pods", pod("web"), ns)
    p = ready_pod(cluster, ns, "web")
    latency = time.monotonic() - started
    st = p["status"]
    assert st["phase"] == "Running"
    assert [c["type"] for c in st["conditions"]] == [
        "PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"]
    assert ipaddress.ip_address(st["podIP"]) in network.POD_CIDR
    assert st["podIPs"] == [{"ip": st["podIP"]}]
    assert st["hostIP"] == "127.0.0.1" and st["hostIPs"] == [{"ip": "127.0.0.1"}]
    assert st["qosClass"] == "BestEffort" and st["startTime"]
    cs = st["containerStatuses"][0]
    assert cs["containerID"].startswith("containerd://") and len(cs["containerID"]) == 13 + 64
    assert cs["image"] == "ghcr.io/stefanprodan/podinfo:6.7.0"
    assert cs["imageID"].startswith("ghcr.io/stefanprodan/podinfo@sha256:")
    assert cs["ready"] and cs["started"] and cs["restartCount"] == 0
    assert "startedAt" in cs["state"]["running"]
    code, body = answers(st["podIP"])
    assert code == 200
    info = json.loads(body)
    assert info["hostname"] == "web" and info["version"] == "6.7.0"
    reasons = [r for r, _ in cluster.events(ns, "web")]
    for expected in ("Scheduled", "Pulled", "Created", "Started"):
        assert expected in reasons
    assert latency < 10


def test_env_from_manifest_reaches_the_process(cluster: Cluster, ns: str):
    cluster.create("configmaps", {"metadata": {"name": "cfg"}, "data": {"COLOR": "blue"}}, ns)
    env = [{"name": "PODINFO_UI_MESSAGE", "value": "hi from $(MY_POD)"},
           {"name": "MY_POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
           {"name": "MY_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
           {"name": "COLOR", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "COLOR"}}}]
    # MY_POD comes after the message, so $(MY_POD) stays as written (Kubernetes order rules).
    cluster.create("pods", pod("envy", env=env), ns)
    p = ready_pod(cluster, ns, "envy")
    code, body = answers(p["status"]["podIP"], 9898, "/env")
    assert code == 200
    text = body.decode()
    assert "MY_POD=envy" in text and "COLOR=blue" in text
    assert f"MY_IP={p['status']['podIP']}" in text
    assert "hi from $(MY_POD)" in text
    assert "SANDBOX_" not in text


def test_missing_configmap_is_create_container_config_error(cluster: Cluster, ns: str):
    env = [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "nope", "key": "k"}}}]
    cluster.create("pods", pod("cfgerr", env=env), ns)
    p = wait_for(lambda: (p := cluster.get("pods", ns, "cfgerr")) and
                 p["status"].get("containerStatuses") and
                 p["status"]["containerStatuses"][0]["state"].get("waiting", {}).get("reason")
                 == "CreateContainerConfigError" and p, what="CreateContainerConfigError")
    assert p["status"]["containerStatuses"][0]["state"]["waiting"]["message"] == \
        'configmap "nope" not found'
    cluster.create("configmaps", {"metadata": {"name": "nope"}, "data": {"k": "v"}}, ns)


def test_kubectl_logs_tail_previous_and_follow(cluster: Cluster, ns: str):
    cluster.create("pods", pod("logger"), ns)
    p = ready_pod(cluster, ns, "logger")
    answers(p["status"]["podIP"])
    for _ in range(3):
        http_get(p["status"]["podIP"], 9898, "/version")
    out = cluster.kubectl("logs", "logger", "-n", ns).stdout
    assert "Starting podinfo" in out
    lines = cluster.kubectl("logs", "logger", "-n", ns, "--tail=1").stdout.splitlines()
    assert len(lines) == 1
    stamped = cluster.kubectl("logs", "logger", "-n", ns, "--timestamps", "--tail=2").stdout
    assert stamped.split()[0].endswith("Z") and "T" in stamped.split()[0]
    prev = cluster.kubectl("logs", "logger", "-n", ns, "--previous", check=False)
    assert prev.returncode != 0
    assert 'previous terminated container "app" in pod "logger" not found' in prev.stderr
    # -f streams new lines as they are written, and ends when the container does.
    env = {**os.environ, "KUBECONFIG": str(cluster.config.kubeconfig), "HOME": str(cluster.home)}
    follow = subprocess.Popen([KUBECTL, "logs", "-f", "logger", "-n", ns, "--tail=0"],
                              stdout=subprocess.PIPE, text=True, env=env)
    try:
        time.sleep(1.0)
        http_get(p["status"]["podIP"], 9898, "/version?marker=followme")
        line = follow.stdout.readline()
        assert "followme" in line or "/version" in line
        cluster.delete("pods", ns, "logger", grace_period=1)
        follow.wait(15)
    finally:
        follow.kill()


def test_sigkill_restarts_the_container(cluster: Cluster, ns: str):
    cluster.create("pods", pod("victim"), ns)
    p = ready_pod(cluster, ns, "victim")
    answers(p["status"]["podIP"])
    old_id = p["status"]["containerStatuses"][0]["containerID"]
    [pid] = cluster.pids(ns, "victim")
    os.kill(pid, signal.SIGKILL)
    p = wait_for(lambda: (p := cluster.get("pods", ns, "victim")) and
                 p["status"]["containerStatuses"][0]["restartCount"] == 1 and pod_ready(p) and p,
                 what="restartCount 1")
    cs = p["status"]["containerStatuses"][0]
    term = cs["lastState"]["terminated"]
    assert term["exitCode"] == 137 and term["reason"] == "Error"
    assert term["containerID"] == old_id != cs["containerID"]
    assert term["startedAt"] and term["finishedAt"]
    assert answers(p["status"]["podIP"])[0] == 200
    prev = cluster.kubectl("logs", "victim", "-n", ns, "--previous").stdout
    assert "Starting podinfo" in prev
    assert cluster.kubectl("get", "pod", "victim", "-n", ns).stdout.split("\n")[1].split()[3] == "1"


def test_crashing_container_backs_off(cluster: Cluster, ns: str):
    cluster.create("pods", pod("crash", "busybox:1.36", port=None,
                               command=["sh", "-c", "echo bye; exit 3"]), ns)

    def looping():
        p = cluster.get("pods", ns, "crash")
        cs = (p["status"].get("containerStatuses") or [{}])[0]
        w = cs.get("state", {}).get("waiting", {})
        return w.get("reason") == "CrashLoopBackOff" and (p, cs, w)

    p, cs, w = wait_for(looping, 15, what="CrashLoopBackOff")
    assert cs["restartCount"] >= 1
    assert w["message"].startswith("back-off 10s restarting failed container=app pod=crash_")
    assert cs["lastState"]["terminated"]["exitCode"] == 3
    assert p["status"]["phase"] == "Running"
    assert any(r == "BackOff" and m.startswith("Back-off restarting failed container app")
               for r, m in cluster.events(ns, "crash"))
    row = cluster.kubectl("get", "pod", "crash", "-n", ns).stdout.splitlines()[1]
    assert "CrashLoopBackOff" in row
    assert cluster.kubectl("logs", "crash", "-n", ns, "--previous").stdout.strip() == "bye"


def test_liveness_failure_restarts(cluster: Cluster, ns: str):
    probe = {"httpGet": {"path": "/status/500", "port": "http"}, "periodSeconds": 1,
             "initialDelaySeconds": 2,
             "failureThreshold": 2}
    cluster.create("pods", pod("sick", livenessProbe=probe, grace=2), ns)
    p = wait_for(lambda: (p := cluster.get("pods", ns, "sick")) and
                 (p["status"].get("containerStatuses") or [{}])[0].get("restartCount", 0) >= 1
                 and p, 30, what="liveness restart")
    evs = cluster.events(ns, "sick")
    assert ("Unhealthy", "Liveness probe failed: HTTP probe failed with statuscode: 500") in evs
    assert ("Killing", "Container app failed liveness probe, will be restarted") in evs
    assert p["status"]["containerStatuses"][0]["lastState"]["terminated"]


def test_readiness_gates_endpoints_and_the_proxy(cluster: Cluster, ns: str):
    probe = {"httpGet": {"path": "/readyz", "port": 9898}, "periodSeconds": 1}
    cluster.create("pods", pod("gate", readinessProbe=probe), ns)
    cluster.create("services", {"metadata": {"name": "gate"},
                                "spec": {"selector": {"app": "gate"},
                                         "ports": [{"port": 80, "targetPort": 9898}]}}, ns)
    p = ready_pod(cluster, ns, "gate")
    ip = p["status"]["podIP"]
    proxy = cluster.sandbox.ctx.kube_proxy
    wait_for(lambda: cluster.call(proxy.backends, ns, "gate") == [(ip, 9898)], 5,
             what="proxy backend")
    req = urllib.request.Request(f"http://{ip}:9898/readyz/disable", method="POST")
    urllib.request.urlopen(req, timeout=2).read()
    p = wait_for(lambda: (p := cluster.get("pods", ns, "gate")) and not pod_ready(p) and p, 10,
                 what="not ready")
    assert p["status"]["phase"] == "Running"
    assert p["status"]["containerStatuses"][0]["restartCount"] == 0
    ready_cond = next(c for c in p["status"]["conditions"] if c["type"] == "Ready")
    assert ready_cond["reason"] == "ContainersNotReady"
    assert ready_cond["message"] == "containers with unready status: [app]"
    wait_for(lambda: cluster.call(proxy.backends, ns, "gate") == [], 5, what="proxy drops it")
    svc = cluster.get("services", ns, "gate")
    cluster_ip = svc["spec"]["clusterIP"]
    try:
        http_get(cluster_ip, 80)
        raise AssertionError("a service without ready endpoints answered")
    except (ConnectionError, urllib.error.URLError):
        pass
    urllib.request.urlopen(urllib.request.Request(f"http://{ip}:9898/readyz/enable",
                                                  method="POST"), timeout=2).read()
    ready_pod(cluster, ns, "gate")
    wait_for(lambda: cluster.call(proxy.backends, ns, "gate") == [(ip, 9898)], 5,
             what="proxy backend back")
    assert http_get(cluster_ip, 80)[0] == 200


def test_deletion_runs_prestop_then_sigterm(cluster: Cluster, ns: str):
    lifecycle = {"preStop": {"sleep": {"seconds": 2}}}
    cluster.create("pods", pod("polite", lifecycle=lifecycle, grace=10), ns)
    p = ready_pod(cluster, ns, "polite")
    ip = p["status"]["podIP"]
    answers(ip, path="/readyz")
    [pid] = cluster.pids(ns, "polite")
    t0 = time.monotonic()
    cluster.kubectl("delete", "pod", "polite", "-n", ns, "--wait=false")
    time.sleep(1.0)
    # During preStop the app has no SIGTERM yet: podinfo still reports ready.
    assert http_get(ip, 9898, "/readyz")[0] == 200
    row = cluster.kubectl("get", "pod", "polite", "-n", ns).stdout.splitlines()[1]
    assert "Terminating" in row
    # After the hook, SIGTERM: podinfo fails readiness at once and drains for 3 s.
    wait_for(lambda: http_get(ip, 9898, "/readyz")[0] == 503, 3, what="SIGTERM after preStop")
    assert time.monotonic() - t0 >= 1.9
    wait_for(lambda: cluster.get("pods", ns, "polite") is None, 15, what="pod gone")
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert ("Killing", "Stopping container app") in cluster.events(ns, "polite")


def test_sigterm_ignored_means_sigkill_after_grace(cluster: Cluster, ns: str):
    cluster.create("pods", pod("stubborn", "gcr.io/google-samples/kubernetes-bootcamp:v1",
                               port=8080, grace=3), ns)
    ready_pod(cluster, ns, "stubborn")
    [pid] = cluster.pids(ns, "stubborn")
    final: list[dict] = []

    def watch(ev):
        if ev.object["metadata"]["name"] == "stubborn":
            final.append(ev.object)

    cluster.call(cluster.client.on_change, {"pods"}, watch)
    t0 = time.monotonic()
    cluster.delete("pods", ns, "stubborn")
    wait_for(lambda: cluster.get("pods", ns, "stubborn") is None, 30, what="pod gone")
    took = time.monotonic() - t0
    # The app ignores SIGTERM, so only the SIGKILL at the end of the 3 s grace period ends it.
    # No tight upper bound: a busy CI machine may be slow to reap and delete.
    assert took >= 2.8, took
    assert not psutil.pid_exists(pid)
    last = [o for o in final if o.get("status", {}).get("containerStatuses")][-1]
    term = last["status"]["containerStatuses"][0]["state"]["terminated"]
    assert term["exitCode"] == 137
    assert last["status"]["phase"] == "Failed"


def test_force_delete_kills_at_once(cluster: Cluster, ns: str):
    cluster.create("pods", pod("forced", "gcr.io/google-samples/kubernetes-bootcamp:v1",
                               port=8080), ns)
    ready_pod(cluster, ns, "forced")
    [pid] = cluster.pids(ns, "forced")
    cluster.kubectl("delete", "pod", "forced", "-n", ns, "--grace-period=0", "--force")
    assert cluster.get("pods", ns, "forced") is None
    wait_for(lambda: not psutil.pid_exists(pid), 5, what="process gone")


def test_unknown_image_pull_back_off(cluster: Cluster, ns: str):
    cluster.create("pods", pod("ghost", "nginx:does-not-exist", port=80), ns)

    def reason():
        p = cluster.get("pods", ns, "ghost")
        cs = (p["status"].get("containerStatuses") or [{}])[0]
        return cs.get("state", {}).get("waiting", {}).get("reason")

    wait_for(lambda: reason() == "ErrImagePull", 10, what="ErrImagePull")
    wait_for(lambda: reason() == "ImagePullBackOff", 10, what="ImagePullBackOff")
    p = cluster.get("pods", ns, "ghost")
    assert p["status"]["phase"] == "Pending"
    msg = p["status"]["containerStatuses"][0]["state"]["waiting"]["message"]
    assert msg.startswith('Back-off pulling image "nginx:does-not-exist"')
    evs = cluster.events(ns, "ghost")
    assert ("Pulling", 'Pulling image "nginx:does-not-exist"') in evs
    assert any(r == "Failed" and m.startswith('Failed to pull image "nginx:does-not-exist": ')
               and "not found" in m for r, m in evs)
    assert ("Failed", "Error: ErrImagePull") in evs
    assert ("BackOff", 'Back-off pulling image "nginx:does-not-exist"') in evs
    assert ("Failed", "Error: ImagePullBackOff") in evs
    row = cluster.kubectl("get", "pod", "ghost", "-n", ns).stdout.splitlines()[1]
    assert "ImagePullBackOff" in row or "ErrImagePull" in row
    # Fixing the image (pods allow image updates) starts it.
    cluster.kubectl("set", "image", "pod/ghost", "app=nginx:1.27", "-n", ns)
    p = ready_pod(cluster, ns, "ghost", timeout=25)
    assert p["status"]["containerStatuses"][0]["image"] == "docker.io/library/nginx:1.27"


def test_busybox_never_runs_manifest_commands(cluster: Cluster, ns: str):
    target = Path(f"/tmp/rollout-labs-x-{uuid.uuid4().hex}")
    cluster.create("pods", pod("toucher", "busybox:1.28", port=None, restart_policy="Never",
                               command=["sh", "-c", f"touch {target}"]), ns)
    p = wait_for(lambda: (p := cluster.get("pods", ns, "toucher")) and
                 p["status"].get("phase") in ("Succeeded", "Failed") and p, 15,
                 what="terminal phase")
    assert p["status"]["phase"] == "Failed"
    term = p["status"]["containerStatuses"][0]["state"]["terminated"]
    assert term["exitCode"] == 127 and term["reason"] == "Error"
    assert not target.exists()
    out = cluster.kubectl("logs", "toucher", "-n", ns).stdout
    assert "not supported" in out
    row = cluster.kubectl("get", "pod", "toucher", "-n", ns).stdout.splitlines()[1]
    assert "Error" in row


def test_one_shot_pod_succeeds(cluster: Cluster, ns: str):
    cluster.create("pods", pod("once", "busybox:1.36", port=None, restart_policy="Never",
                               command=["sh", "-c", "echo done; sleep 0.2"]), ns)
    p = wait_for(lambda: (p := cluster.get("pods", ns, "once")) and
                 p["status"].get("phase") == "Succeeded" and p, 15, what="Succeeded")
    term = p["status"]["containerStatuses"][0]["state"]["terminated"]
    assert term["exitCode"] == 0 and term["reason"] == "Completed"
    ready = next(c for c in p["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "False" and ready["reason"] == "PodCompleted"
    assert cluster.kubectl("logs", "once", "-n", ns).stdout == "done\n"
    assert "Completed" in cluster.kubectl("get", "pod", "once", "-n", ns).stdout


def test_termination_message_falls_back_to_logs(cluster: Cluster, ns: str):
    cluster.create("pods", pod("msg", "busybox:1.36", port=None, restart_policy="Never",
                               terminationMessagePolicy="FallbackToLogsOnError",
                               command=["sh", "-c", "echo oops; exit 2"]), ns)
    p = wait_for(lambda: (p := cluster.get("pods", ns, "msg")) and
                 p["status"].get("phase") == "Failed" and p, 15, what="Failed")
    term = p["status"]["containerStatuses"][0]["state"]["terminated"]
    assert term["exitCode"] == 2 and term["message"] == "oops\n"
