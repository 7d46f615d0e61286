"""Server-side Table printing matches kube-apiserver's printers cell for cell.

Objects are shaped as a 1.30-1.33 cluster stores them; expected cells follow
pkg/printers/internalversion/printers.go (always wide, as the apiserver renders).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from helpers.sandbox.apiserver import printers
from helpers.sandbox.apiserver.errors import ApiError
from helpers.sandbox.apiserver.printers import (
    column_definitions,
    human_duration,
    row_cells,
    short_human_duration,
    table,
)
from helpers.sandbox.apiserver.resources import RESOURCES, key_of

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def ago(**kw: float) -> str:
    return (NOW - timedelta(**kw)).strftime("%Y-%m-%dT%H:%M:%SZ")


def names(key: str) -> list[str]:
    return [c["name"] for c in column_definitions(key)]


def normal(key: str) -> list[str]:
    return [c["name"] for c in column_definitions(key) if c["priority"] == 0]


# --------------------------------------------------------------------------------------------
# durations
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("delta", "want"), [
    (timedelta(seconds=-5), "<invalid>"),
    (timedelta(seconds=-1), "0s"),
    (timedelta(milliseconds=-500), "0s"),
    (timedelta(0), "0s"),
    (timedelta(seconds=1), "1s"),
    (timedelta(seconds=45), "45s"),
    (timedelta(seconds=70), "70s"),
    (timedelta(seconds=119), "119s"),
    (timedelta(seconds=120), "2m"),
    (timedelta(seconds=150), "2m30s"),
    (timedelta(seconds=190), "3m10s"),
    (timedelta(minutes=5), "5m"),
    (timedelta(minutes=12, seconds=30), "12m"),
    (timedelta(minutes=70), "70m"),
    (timedelta(minutes=179), "179m"),
    (timedelta(hours=3), "3h"),
    (timedelta(hours=3, minutes=5), "3h5m"),
    (timedelta(hours=23), "23h"),
    (timedelta(hours=47), "47h"),
    (timedelta(hours=49), "2d1h"),
    (timedelta(days=2, hours=3), "2d3h"),
    (timedelta(days=8, hours=2), "8d"),
    (timedelta(days=12), "12d"),
    (timedelta(days=367), "367d"),
    (timedelta(hours=365 * 2 * 24 + 25), "2y1d"),
    (timedelta(days=3 * 365 + 45), "3y45d"),
    (timedelta(hours=365 * 8 * 24 + 2), "8y"),
])
def test_human_duration(delta: timedelta, want: str) -> None:
    assert human_duration(delta) == want


@pytest.mark.parametrize(("delta", "want"), [
    (timedelta(seconds=-3), "<invalid>"),
    (timedelta(seconds=59), "59s"),
    (timedelta(seconds=61), "1m"),
    (timedelta(hours=5, minutes=59), "5h"),
    (timedelta(days=3, hours=4), "3d"),
    (timedelta(days=800), "2y"),
])
def test_short_human_duration(delta: timedelta, want: str) -> None:
    assert short_human_duration(delta) == want


# --------------------------------------------------------------------------------------------
# pods
# --------------------------------------------------------------------------------------------


def pod(*, containers: list[dict] | None = None, statuses: list[dict] | None = None,
        phase: str = "Running", conditions: list[dict] | None = None, node: str = "sandbox",
        ip: str | None = "127.244.0.7", **extra: object) -> dict:
    containers = containers or [{"name": "nginx", "image": "nginx:1.25"}]
    status: dict = {"phase": phase, "conditions": conditions or [], "qosClass": "BestEffort"}
    if node:
        status["hostIP"] = "127.0.0.1"
        status["hostIPs"] = [{"ip": "127.0.0.1"}]
    if ip:
        status["podIP"] = ip
        status["podIPs"] = [{"ip": ip}]
    if statuses is not None:
        status["containerStatuses"] = statuses
    obj = {
        "metadata": {"name": "web-7d4b9c8f5d-x2xkq", "namespace": "default",
                     "uid": "0b7f6c1e-3c4a-4d0e-9a51-2f1f0f7f8a10", "resourceVersion": "812",
                     "creationTimestamp": ago(minutes=5), "labels": {"app": "web"}},
        "spec": {"containers": containers, "restartPolicy": "Always",
                 "terminationGracePeriodSeconds": 30, "nodeName": node or None},
        "status": status,
    }
    if not node:
        del obj["spec"]["nodeName"]
    for k, v in extra.items():
        section, _, field = k.partition("__")
        obj[section][field] = v
    return obj


def cstatus(state: dict, *, ready: bool = False, restarts: int = 0, started: bool = False,
            last: dict | None = None, name: str = "nginx") -> dict:
    return {"name": name, "image": "docker.io/library/nginx:1.25", "imageID": "",
            "ready": ready, "started": started, "restartCount": restarts, "state": state,
            "lastState": last or {}}


def conds(ready: bool, *, initialized: bool = True) -> list[dict]:
    t = {True: "True", False: "False"}
    return [
        {"type": "PodReadyToStartContainers", "status": "True"},
        {"type": "Initialized", "status": t[initialized]},
        {"type": "Ready", "status": t[ready]},
        {"type": "ContainersReady", "status": t[ready]},
        {"type": "PodScheduled", "status": "True"},
    ]


RUNNING = {"running": {"startedAt": ago(minutes=4)}}


def status_cells(obj: dict) -> list:
    return row_cells("pods", obj, NOW)[:4]


def test_pod_columns() -> None:
    assert names("pods") == ["Name", "Ready", "Status", "Restarts", "Age", "IP", "Node",
                             "Nominated Node", "Readiness Gates"]
    assert normal("pods") == ["Name", "Ready", "Status", "Restarts", "Age"]
    restarts = column_definitions("pods")[3]
    assert restarts["type"] == "string" and restarts["format"] == ""
    assert column_definitions("pods")[0]["format"] == "name"


def test_pod_pending_unscheduled() -> None:
    p = pod(phase="Pending", node="", ip=None, conditions=[{
        "type": "PodScheduled", "status": "False", "reason": "Unschedulable"}])
    assert row_cells("pods", p, NOW) == [
        "web-7d4b9c8f5d-x2xkq", "0/1", "Pending", "0", "5m", "<none>", "<none>", "<none>",
        "<none>"]


def test_pod_scheduling_gated() -> None:
    p = pod(phase="Pending", node="", ip=None, conditions=[{
        "type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}])
    assert status_cells(p)[2] == "SchedulingGated"


@pytest.mark.parametrize("reason", ["ContainerCreating", "ErrImagePull", "ImagePullBackOff",
                                    "InvalidImageName", "CreateContainerConfigError"])
def test_pod_waiting_reasons(reason: str) -> None:
    p = pod(phase="Pending", ip=None, conditions=conds(False),
            statuses=[cstatus({"waiting": {"reason": reason}})])
    assert status_cells(p) == ["web-7d4b9c8f5d-x2xkq", "0/1", reason, "0"]


def test_pod_running_ready_and_not_ready() -> None:
    ready = pod(conditions=conds(True), statuses=[cstatus(RUNNING, ready=True, started=True)])
    assert row_cells("pods", ready, NOW) == [
        "web-7d4b9c8f5d-x2xkq", "1/1", "Running", "0", "5m", "127.244.0.7", "sandbox", "<none>",
        "<none>"]
    unready = pod(conditions=conds(False), statuses=[cstatus(RUNNING, started=True)])
    assert status_cells(unready)[1:3] == ["0/1", "Running"]


def test_pod_crash_loop_with_last_restart() -> None:
    last = {"terminated": {"exitCode": 1, "reason": "Error", "startedAt": ago(seconds=50),
                           "finishedAt": ago(seconds=40)}}
    p = pod(conditions=conds(False), statuses=[cstatus(
        {"waiting": {"reason": "CrashLoopBackOff",
                     "message": "back-off 40s restarting failed container=nginx"}},
        restarts=3, last=last)])
    assert status_cells(p) == ["web-7d4b9c8f5d-x2xkq", "0/1", "CrashLoopBackOff", "3 (40s ago)"]


def test_pod_restarts_without_last_state_are_plain() -> None:
    p = pod(conditions=conds(True), statuses=[cstatus(RUNNING, ready=True, restarts=2)])
    assert status_cells(p)[3] == "2"


def test_pod_restarts_latest_termination_across_containers() -> None:
    a = cstatus(RUNNING, ready=True, restarts=1, name="app", last={"terminated": {
        "exitCode": 137, "reason": "OOMKilled", "finishedAt": ago(minutes=3)}})
    b = cstatus(RUNNING, ready=True, restarts=2, name="sidecar", last={"terminated": {
        "exitCode": 1, "reason": "Error", "finishedAt": ago(hours=2, minutes=30)}})
    p = pod(containers=[{"name": "app", "image": "a"}, {"name": "sidecar", "image": "b"}],
            conditions=conds(True), statuses=[a, b])
    assert status_cells(p)[1:] == ["2/2", "Running", "3 (3m ago)"]


def test_pod_first_container_reason_wins() -> None:
    # Scanned last to first; the last assignment (the first container) wins.
    p = pod(containers=[{"name": "a", "image": "a"}, {"name": "b", "image": "b"}],
            conditions=conds(False), statuses=[
                cstatus({"waiting": {"reason": "ImagePullBackOff"}}, name="a"),
                cstatus({"waiting": {"reason": "ErrImagePull"}}, name="b")])
    assert status_cells(p)[2] == "ImagePullBackOff"


def test_pod_completed_and_errors() -> None:
    done = pod(phase="Succeeded", conditions=conds(False), statuses=[cstatus(
        {"terminated": {"exitCode": 0, "reason": "Completed", "finishedAt": ago(minutes=1)}})])
    assert status_cells(done)[1:] == ["0/1", "Completed", "0"]
    failed = pod(phase="Failed", conditions=conds(False), statuses=[cstatus(
        {"terminated": {"exitCode": 2, "reason": "Error"}})])
    assert status_cells(failed)[2] == "Error"
    no_reason = pod(phase="Failed", statuses=[cstatus({"terminated": {"exitCode": 3}})])
    assert status_cells(no_reason)[2] == "ExitCode:3"
    signal = pod(phase="Failed", statuses=[cstatus({"terminated": {"exitCode": 0,
                                                                  "signal": 9}})])
    assert status_cells(signal)[2] == "Signal:9"


def test_pod_completed_with_running_container() -> None:
    containers = [{"name": "a", "image": "a"}, {"name": "b", "image": "b"}]
    statuses = [cstatus({"terminated": {"exitCode": 0, "reason": "Completed"}}, name="a"),
                cstatus(RUNNING, ready=True, name="b")]
    assert status_cells(pod(containers=containers, conditions=conds(True),
                            statuses=statuses))[1:3] == ["1/2", "Running"]
    assert status_cells(pod(containers=containers, conditions=conds(False),
                            statuses=statuses))[1:3] == ["1/2", "NotReady"]


def test_pod_terminating_overrides_everything() -> None:
    p = pod(conditions=conds(True), statuses=[cstatus(RUNNING, ready=True)])
    p["metadata"]["deletionTimestamp"] = ago(seconds=-30)
    p["metadata"]["deletionGracePeriodSeconds"] = 30
    assert status_cells(p)[1:3] == ["1/1", "Terminating"]
    p["status"]["phase"] = "Succeeded"
    p["status"]["containerStatuses"] = [cstatus({"terminated": {"exitCode": 0,
                                                                "reason": "Completed"}})]
    assert status_cells(p)[2] == "Completed"
    lost = pod(statuses=[cstatus(RUNNING, ready=True)])
    lost["status"]["reason"] = "NodeLost"
    lost["metadata"]["deletionTimestamp"] = ago(seconds=1)
    assert status_cells(lost)[2] == "Unknown"


def test_pod_status_reason_evicted() -> None:
    p = pod(phase="Failed", ip=None, statuses=[])
    p["status"]["reason"] = "Evicted"
    assert status_cells(p)[2] == "Evicted"


def test_pod_init_containers() -> None:
    init = [{"name": "migrate", "image": "busybox"}, {"name": "wait", "image": "busybox"}]
    base = {"containers": [{"name": "app", "image": "app"}]}
    app = [cstatus({"waiting": {"reason": "PodInitializing"}}, name="app")]

    def with_init(states: list[dict], ready: bool = False) -> dict:
        p = pod(containers=base["containers"], phase="Pending",
                conditions=conds(False, initialized=ready), statuses=app)
        p["spec"]["initContainers"] = init
        p["status"]["initContainerStatuses"] = [
            cstatus(s, name=c["name"]) for s, c in zip(states, init, strict=True)]
        return p

    done = {"terminated": {"exitCode": 0, "reason": "Completed"}}
    running = {"running": {"startedAt": ago(seconds=10)}}
    waiting = {"waiting": {"reason": "PodInitializing"}}
    assert status_cells(with_init([running, waiting]))[2] == "Init:0/2"
    assert status_cells(with_init([done, running]))[2] == "Init:1/2"
    assert status_cells(with_init([{"waiting": {"reason": "ImagePullBackOff"}},
                                   waiting]))[2] == "Init:ImagePullBackOff"
    assert status_cells(with_init([{"terminated": {"exitCode": 1, "reason": "Error"}},
                                   waiting]))[2] == "Init:Error"
    assert status_cells(with_init([{"terminated": {"exitCode": 2}}, waiting]))[2] == \
        "Init:ExitCode:2"
    # exit 0 counts as done; a PodInitializing wait is no reason, so the index shows
    assert status_cells(with_init([{"terminated": {"exitCode": 0, "signal": 15,
                                                   "reason": ""}}, waiting]))[2] == "Init:1/2"
    crashing = with_init([{"waiting": {"reason": "CrashLoopBackOff"}}, waiting])
    crashing["status"]["initContainerStatuses"][0].update(restartCount=4, lastState={
        "terminated": {"exitCode": 1, "finishedAt": ago(seconds=20)}})
    assert status_cells(crashing)[2:] == ["Init:CrashLoopBackOff", "4 (20s ago)"]
    finished = with_init([done, done])
    assert status_cells(finished)[1:3] == ["0/1", "PodInitializing"]


def test_pod_sidecar_counts_in_ready_and_restarts() -> None:
    p = pod(containers=[{"name": "app", "image": "app"}], conditions=conds(True),
            statuses=[cstatus(RUNNING, ready=True, name="app")])
    p["spec"]["initContainers"] = [{"name": "proxy", "image": "envoy", "restartPolicy": "Always"}]
    p["status"]["initContainerStatuses"] = [cstatus(
        RUNNING, ready=True, started=True, name="proxy", restarts=1,
        last={"terminated": {"exitCode": 1, "finishedAt": ago(minutes=2)}})]
    assert status_cells(p)[1:] == ["2/2", "Running", "1 (2m ago)"]


def test_pod_wide_cells_and_readiness_gates() -> None:
    p = pod(conditions=[*conds(True), {"type": "example.com/lb-ready", "status": "False"}],
            statuses=[cstatus(RUNNING, ready=True)])
    p["spec"]["readinessGates"] = [{"conditionType": "example.com/lb-ready"},
                                   {"conditionType": "example.com/other"}]
    p["status"]["nominatedNodeName"] = "node-2"
    assert row_cells("pods", p, NOW)[5:] == ["127.244.0.7", "sandbox", "node-2", "0/2"]
    p["status"]["conditions"][-1]["status"] = "True"
    assert row_cells("pods", p, NOW)[8] == "1/2"


def test_pod_ip_from_pod_ip_when_pod_ips_missing() -> None:
    p = pod(statuses=[cstatus(RUNNING, ready=True)])
    del p["status"]["podIPs"]
    assert row_cells("pods", p, NOW)[5] == "127.244.0.7"


# --------------------------------------------------------------------------------------------
# services, endpoints, endpointslices
# --------------------------------------------------------------------------------------------


def service(svc_type: str = "ClusterIP", *, ports: list[dict] | None = None,
            cluster_ip: str | None = "127.96.0.10", **spec: object) -> dict:
    s: dict = {"type": svc_type, "ports": ports if ports is not None else [
        {"name": "http", "protocol": "TCP", "port": 80, "targetPort": 8080}],
        "selector": {"app": "web", "tier": "front"}, "sessionAffinity": "None",
        "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
        "internalTrafficPolicy": "Cluster"}
    if cluster_ip:
        s["clusterIP"] = cluster_ip
        s["clusterIPs"] = [cluster_ip]
    s.update(spec)
    return {"metadata": {"name": "web", "namespace": "default",
                         "creationTimestamp": ago(hours=3, minutes=5)},
            "spec": s, "status": {"loadBalancer": {}}}


def test_service_columns() -> None:
    assert names("services") == ["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age",
                                 "Selector"]
    assert [c["priority"] for c in column_definitions("services")] == [0, 0, 0, 0, 0, 0, 1]


def test_service_cluster_ip() -> None:
    assert row_cells("services", service(), NOW) == [
        "web", "ClusterIP", "127.96.0.10", "<none>", "80/TCP", "3h5m", "app=web,tier=front"]


def test_service_node_port_multi_port() -> None:
    s = service("NodePort", ports=[
        {"name": "http", "protocol": "TCP", "port": 80, "targetPort": 8080, "nodePort": 30123},
        {"name": "dns", "protocol": "UDP", "port": 53, "targetPort": 53, "nodePort": 31000}],
        externalTrafficPolicy="Cluster")
    assert row_cells("services", s, NOW)[1:5] == [
        "NodePort", "127.96.0.10", "<none>", "80:30123/TCP,53:31000/UDP"]
    s["spec"]["externalIPs"] = ["10.0.0.5", "10.0.0.6"]
    assert row_cells("services", s, NOW)[3] == "10.0.0.5,10.0.0.6"


def test_service_load_balancer() -> None:
    s = service("LoadBalancer", ports=[
        {"protocol": "TCP", "port": 443, "targetPort": 8443, "nodePort": 32443}])
    assert row_cells("services", s, NOW)[3:5] == ["<pending>", "443:32443/TCP"]
    s["status"]["loadBalancer"] = {"ingress": [{"ip": "203.0.113.9"}, {"ip": "203.0.113.2"},
                                               {"hostname": "lb.example.com"}]}
    assert row_cells("services", s, NOW)[3] == "203.0.113.2,203.0.113.9,lb.example.com"
    s["spec"]["externalIPs"] = ["10.0.0.1"]
    assert row_cells("services", s, NOW)[3] == "203.0.113.2,203.0.113.9,lb.example.com,10.0.0.1"


def test_service_headless_external_name_and_no_ports() -> None:
    headless = service(cluster_ip="None")
    assert row_cells("services", headless, NOW)[2] == "None"
    ext = service("ExternalName", ports=[], cluster_ip=None, externalName="db.example.com")
    del ext["spec"]["selector"]
    assert row_cells("services", ext, NOW) == [
        "web", "ExternalName", "<none>", "db.example.com", "<none>", "3h5m", "<none>"]


def endpoints(*subsets: dict) -> dict:
    return {"metadata": {"name": "web", "namespace": "default",
                         "creationTimestamp": ago(days=2, hours=3)},
            "subsets": list(subsets)}


def addr(ip: str) -> dict:
    return {"ip": ip, "nodeName": "sandbox",
            "targetRef": {"kind": "Pod", "name": f"web-{ip[-1]}", "namespace": "default"}}


def test_endpoints() -> None:
    assert row_cells("endpoints", endpoints(), NOW) == ["web", "<none>", "2d3h"]
    two = endpoints({"addresses": [addr("127.244.0.3"), addr("127.244.0.4")],
                     "notReadyAddresses": [addr("127.244.0.5")],
                     "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]})
    assert row_cells("endpoints", two, NOW)[1] == "127.244.0.3:8080,127.244.0.4:8080"
    five = endpoints({"addresses": [addr(f"127.244.0.{i}") for i in range(1, 6)],
                      "ports": [{"port": 8080, "protocol": "TCP"}]})
    assert row_cells("endpoints", five, NOW)[1] == (
        "127.244.0.1:8080,127.244.0.2:8080,127.244.0.3:8080 + 2 more...")
    not_ready_only = endpoints({"notReadyAddresses": [addr("127.244.0.9")],
                                "ports": [{"port": 80, "protocol": "TCP"}]})
    assert row_cells("endpoints", not_ready_only, NOW)[1] == ""
    headless = endpoints({"addresses": [addr("127.244.0.1")]})
    assert row_cells("endpoints", headless, NOW)[1] == "127.244.0.1"
    v6 = endpoints({"addresses": [{"ip": "fd00::1"}], "ports": [{"port": 80}]})
    assert row_cells("endpoints", v6, NOW)[1] == "[fd00::1]:80"


def test_endpointslice() -> None:
    es = {"metadata": {"name": "web-7x9kq", "namespace": "default",
                       "creationTimestamp": ago(seconds=30)},
          "addressType": "IPv4",
          "endpoints": [{"addresses": [f"127.244.0.{i}"],
                         "conditions": {"ready": True, "serving": True, "terminating": False}}
                        for i in range(1, 5)],
          "ports": [{"name": "", "port": 8080, "protocol": "TCP"}]}
    assert names("endpointslices") == ["Name", "AddressType", "Ports", "Endpoints", "Age"]
    assert row_cells("endpointslices", es, NOW) == [
        "web-7x9kq", "IPv4", "8080", "127.244.0.1,127.244.0.2,127.244.0.3 + 1 more...", "30s"]
    es["endpoints"], es["ports"] = [], [{"name": "http"}, {}]
    assert row_cells("endpointslices", es, NOW)[2:4] == ["http,*", "<unset>"]


# --------------------------------------------------------------------------------------------
# namespaces, nodes, events, config
# --------------------------------------------------------------------------------------------


def test_namespace() -> None:
    ns = {"metadata": {"name": "rollout", "creationTimestamp": ago(days=12)},
          "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}
    assert names("namespaces") == ["Name", "Status", "Age"]
    assert row_cells("namespaces", ns, NOW) == ["rollout", "Active", "12d"]
    ns["status"]["phase"] = "Terminating"
    assert row_cells("namespaces", ns, NOW)[1] == "Terminating"


def node(ready: str = "True", **labels: str) -> dict:
    return {
        "metadata": {"name": "sandbox", "creationTimestamp": ago(hours=2),
                     "labels": {"kubernetes.io/hostname": "sandbox", "kubernetes.io/os": "linux",
                                **labels}},
        "spec": {"podCIDR": "127.244.0.0/16"},
        "status": {
            "conditions": [{"type": "MemoryPressure", "status": "False"},
                           {"type": "DiskPressure", "status": "False"},
                           {"type": "PIDPressure", "status": "False"},
                           {"type": "Ready", "status": ready, "reason": "KubeletReady"}],
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"},
                          {"type": "Hostname", "address": "sandbox"}],
            "nodeInfo": {"kubeletVersion": "v1.32.0", "osImage": "Debian GNU/Linux 12 (bookworm)",
                         "kernelVersion": "6.1.0-18-amd64",
                         "containerRuntimeVersion": "containerd://1.7.13",
                         "operatingSystem": "linux", "architecture": "amd64"},
        },
    }


def test_node() -> None:
    assert names("nodes") == ["Name", "Status", "Roles", "Age", "Version", "Internal-IP",
                              "External-IP", "OS-Image", "Kernel-Version", "Container-Runtime"]
    n = node(**{"node-role.kubernetes.io/control-plane": ""})
    assert row_cells("nodes", n, NOW) == [
        "sandbox", "Ready", "control-plane", "120m", "v1.32.0", "127.0.0.1", "<none>",
        "Debian GNU/Linux 12 (bookworm)", "6.1.0-18-amd64", "containerd://1.7.13"]
    n["spec"]["unschedulable"] = True
    assert row_cells("nodes", n, NOW)[1] == "Ready,SchedulingDisabled"
    worker = node("Unknown")
    worker["status"]["nodeInfo"] = {"kubeletVersion": "v1.32.0"}
    assert row_cells("nodes", worker, NOW)[1:3] == ["NotReady", "<none>"]
    assert row_cells("nodes", worker, NOW)[7:] == ["<unknown>"] * 3
    worker["status"]["conditions"] = []
    assert row_cells("nodes", worker, NOW)[1] == "Unknown"
    multi = node(**{"node-role.kubernetes.io/worker": "", "node-role.kubernetes.io/infra": "",
                    "kubernetes.io/role": "edge"})
    assert row_cells("nodes", multi, NOW)[2] == "edge,infra,worker"


def event(**over: object) -> dict:
    ev = {
        "metadata": {"name": "web-7d4b9c8f5d-x2xkq.17c8a3e1f0b2c3d4", "namespace": "default",
                     "creationTimestamp": ago(minutes=3)},
        "involvedObject": {"kind": "Pod", "namespace": "default",
                           "name": "web-7d4b9c8f5d-x2xkq", "apiVersion": "v1",
                           "fieldPath": "spec.containers{nginx}"},
        "reason": "Pulled",
        "message": 'Container image "nginx:1.25" already present on machine\n',
        "source": {"component": "kubelet", "host": "sandbox"},
        "firstTimestamp": ago(minutes=3), "lastTimestamp": ago(seconds=45), "count": 4,
        "type": "Normal", "eventTime": None, "reportingComponent": "kubelet",
        "reportingInstance": "sandbox",
    }
    ev.update(over)
    return ev


def test_event_columns_in_real_order() -> None:
    assert names("events") == ["Last Seen", "Type", "Reason", "Object", "Subobject", "Source",
                               "Message", "First Seen", "Count", "Name"]
    assert normal("events") == ["Last Seen", "Type", "Reason", "Object", "Message"]


def test_event_cells() -> None:
    assert row_cells("events", event(), NOW) == [
        "45s", "Normal", "Pulled", "pod/web-7d4b9c8f5d-x2xkq", "spec.containers{nginx}",
        "kubelet, sandbox", 'Container image "nginx:1.25" already present on machine', "3m",
        4, "web-7d4b9c8f5d-x2xkq.17c8a3e1f0b2c3d4"]


def test_event_fallbacks() -> None:
    ev = event(lastTimestamp=None, count=None, source={},
               reportingComponent="deployment-controller", reportingInstance="",
               involvedObject={"kind": "Deployment", "name": "web"})
    cells = row_cells("events", ev, NOW)
    assert cells[0] == cells[7] == "3m"
    assert cells[3:6] == ["deployment/web", "", "deployment-controller"]
    assert cells[8] == 1
    micro = event(firstTimestamp=None, lastTimestamp=None,
                  eventTime=(NOW - timedelta(seconds=8)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                  series={"count": 7, "lastObservedTime": (NOW - timedelta(seconds=2)).strftime(
                      "%Y-%m-%dT%H:%M:%S.%fZ")})
    cells = row_cells("events", micro, NOW)
    assert (cells[0], cells[7], cells[8]) == ("2s", "8s", 7)
    nothing = event(firstTimestamp=None, lastTimestamp=None)
    assert row_cells("events", nothing, NOW)[0] == "<unknown>"


def test_configmap_secret_serviceaccount() -> None:
    meta = {"name": "kube-root-ca.crt", "namespace": "default",
            "creationTimestamp": ago(minutes=70)}
    cm = {"metadata": meta, "data": {"ca.crt": "..."}, "binaryData": {"blob": "AAE="}}
    assert names("configmaps") == ["Name", "Data", "Age"]
    assert row_cells("configmaps", cm, NOW) == ["kube-root-ca.crt", 2, "70m"]
    secret = {"metadata": {**meta, "name": "tls"}, "type": "kubernetes.io/tls",
              "data": {"tls.crt": "Zm9v", "tls.key": "YmFy"}}
    assert names("secrets") == ["Name", "Type", "Data", "Age"]
    assert row_cells("secrets", secret, NOW) == ["tls", "kubernetes.io/tls", 2, "70m"]
    assert row_cells("secrets", {"metadata": meta, "type": "Opaque"}, NOW)[1:3] == ["Opaque", 0]
    sa = {"metadata": {**meta, "name": "default"}}
    assert names("serviceaccounts") == ["Name", "Secrets", "Age"]
    assert row_cells("serviceaccounts", sa, NOW) == ["default", 0, "70m"]


# --------------------------------------------------------------------------------------------
# storage
# --------------------------------------------------------------------------------------------


def test_storageclass_default_suffix() -> None:
    sc = {"metadata": {"name": "standard", "creationTimestamp": ago(days=1),
                       "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
          "provisioner": "rancher.io/local-path", "reclaimPolicy": "Delete",
          "volumeBindingMode": "WaitForFirstConsumer"}
    assert names("storageclasses") == ["Name", "Provisioner", "ReclaimPolicy",
                                       "VolumeBindingMode", "AllowVolumeExpansion", "Age"]
    assert row_cells("storageclasses", sc, NOW) == [
        "standard (default)", "rancher.io/local-path", "Delete", "WaitForFirstConsumer", False,
        "24h"]
    sc["metadata"]["annotations"] = {}
    sc["allowVolumeExpansion"] = True
    del sc["volumeBindingMode"]
    assert row_cells("storageclasses", sc, NOW)[:5] == [
        "standard", "rancher.io/local-path", "Delete", "Immediate", True]


def test_persistentvolume() -> None:
    pv = {"metadata": {"name": "pvc-3f1c", "creationTimestamp": ago(minutes=9)},
          "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                   "persistentVolumeReclaimPolicy": "Delete", "storageClassName": "standard",
                   "volumeMode": "Filesystem",
                   "claimRef": {"kind": "PersistentVolumeClaim", "namespace": "default",
                                "name": "data-web-0"}},
          "status": {"phase": "Bound"}}
    assert names("persistentvolumes") == [
        "Name", "Capacity", "Access Modes", "Reclaim Policy", "Status", "Claim", "StorageClass",
        "VolumeAttributesClass", "Reason", "Age", "VolumeMode"]
    assert row_cells("persistentvolumes", pv, NOW) == [
        "pvc-3f1c", "1Gi", "RWO", "Delete", "Bound", "default/data-web-0", "standard",
        "<unset>", "", "9m", "Filesystem"]
    pv["spec"]["accessModes"] = ["ReadWriteMany", "ReadOnlyMany", "ReadWriteOnce"]
    pv["spec"]["capacity"]["storage"] = "1024Mi"
    pv["metadata"]["deletionTimestamp"] = ago(seconds=1)
    cells = row_cells("persistentvolumes", pv, NOW)
    assert cells[1:5] == ["1Gi", "RWO,ROX,RWX", "Delete", "Terminating"]


def test_persistentvolumeclaim() -> None:
    pvc = {"metadata": {"name": "data-web-0", "namespace": "default",
                        "creationTimestamp": ago(seconds=20)},
           "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "standard",
                    "resources": {"requests": {"storage": "500Mi"}},
                    "volumeMode": "Filesystem"},
           "status": {"phase": "Pending"}}
    assert row_cells("persistentvolumeclaims", pvc, NOW) == [
        "data-web-0", "Pending", "", "", "", "standard", "<unset>", "20s", "Filesystem"]
    pvc["spec"]["volumeName"] = "pvc-3f1c"
    pvc["status"] = {"phase": "Bound", "accessModes": ["ReadWriteOnce"],
                     "capacity": {"storage": "500Mi"}}
    assert row_cells("persistentvolumeclaims", pvc, NOW)[1:5] == [
        "Bound", "pvc-3f1c", "500Mi", "RWO"]


# --------------------------------------------------------------------------------------------
# workloads
# --------------------------------------------------------------------------------------------

TEMPLATE = {"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25"},
                                    {"name": "probe", "image": "busybox:1.36"}]}}


def test_deployment() -> None:
    d = {"metadata": {"name": "web", "namespace": "default", "generation": 2,
                      "creationTimestamp": ago(minutes=12)},
         "spec": {"replicas": 4, "selector": {"matchLabels": {"app": "web"}},
                  "template": TEMPLATE},
         "status": {"replicas": 5, "updatedReplicas": 2, "readyReplicas": 3,
                    "availableReplicas": 3}}
    assert names("deployments") == ["Name", "Ready", "Up-to-date", "Available", "Age",
                                    "Containers", "Images", "Selector"]
    assert row_cells("deployments", d, NOW) == [
        "web", "3/4", 2, 3, "12m", "nginx,probe", "nginx:1.25,busybox:1.36", "app=web"]
    d["status"] = {}
    d["spec"]["selector"] = {"matchLabels": {"tier": "front", "app": "web"},
                             "matchExpressions": [{"key": "env", "operator": "In",
                                                   "values": ["prod", "canary"]},
                                                  {"key": "legacy", "operator": "DoesNotExist"}]}
    assert row_cells("deployments", d, NOW)[1:4] == ["0/4", 0, 0]
    assert row_cells("deployments", d, NOW)[7] == "app=web,env in (canary,prod),!legacy,tier=front"


def test_replicaset_and_statefulset() -> None:
    rs = {"metadata": {"name": "web-7d4b9c8f5d", "namespace": "default",
                       "creationTimestamp": ago(minutes=12)},
          "spec": {"replicas": 3, "selector": {"matchLabels": {
              "app": "web", "pod-template-hash": "7d4b9c8f5d"}}, "template": TEMPLATE},
          "status": {"replicas": 3, "readyReplicas": 1, "availableReplicas": 1}}
    assert names("replicasets") == ["Name", "Desired", "Current", "Ready", "Age", "Containers",
                                    "Images", "Selector"]
    assert row_cells("replicasets", rs, NOW) == [
        "web-7d4b9c8f5d", 3, 3, 1, "12m", "nginx,probe", "nginx:1.25,busybox:1.36",
        "app=web,pod-template-hash=7d4b9c8f5d"]
    rs["spec"]["replicas"] = 0
    rs["status"] = {"replicas": 0, "observedGeneration": 3}
    assert row_cells("replicasets", rs, NOW)[1:4] == [0, 0, 0]
    sts = {"metadata": {"name": "db", "namespace": "default",
                        "creationTimestamp": ago(hours=5)},
           "spec": {"replicas": 3, "serviceName": "db", "template": TEMPLATE,
                    "selector": {"matchLabels": {"app": "db"}}},
           "status": {"replicas": 3, "readyReplicas": 2}}
    assert names("statefulsets") == ["Name", "Ready", "Age", "Containers", "Images"]
    assert row_cells("statefulsets", sts, NOW) == [
        "db", "2/3", "5h", "nginx,probe", "nginx:1.25,busybox:1.36"]


def test_controllerrevision() -> None:
    cr = {"metadata": {"name": "web-6b9f8d7c54", "namespace": "default",
                       "creationTimestamp": ago(minutes=2),
                       "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet",
                                            "name": "web", "uid": "u", "controller": True,
                                            "blockOwnerDeletion": True}]},
          "data": {}, "revision": 2}
    assert names("controllerrevisions") == ["Name", "Controller", "Revision", "Age"]
    assert row_cells("controllerrevisions", cr, NOW) == [
        "web-6b9f8d7c54", "statefulset.apps/web", 2, "2m"]
    cr["metadata"]["ownerReferences"][0].update(apiVersion="v1", kind="Pod")
    assert row_cells("controllerrevisions", cr, NOW)[1] == "pod/web"
    cr["metadata"]["ownerReferences"] = []
    assert row_cells("controllerrevisions", cr, NOW)[1] == "<none>"


def job(**status: object) -> dict:
    return {"metadata": {"name": "pi", "namespace": "default",
                         "creationTimestamp": ago(minutes=3)},
            "spec": {"completions": 1, "parallelism": 1, "backoffLimit": 6,
                     "selector": {"matchLabels": {
                         "batch.kubernetes.io/controller-uid": "4f2b"}},
                     "template": {"spec": {"containers": [{"name": "pi", "image": "busybox"}],
                                           "restartPolicy": "Never"}}},
            "status": status}


def test_job() -> None:
    assert names("jobs") == ["Name", "Status", "Completions", "Duration", "Age", "Containers",
                             "Images", "Selector"]
    assert row_cells("jobs", job(), NOW) == [
        "pi", "Running", "0/1", "", "3m", "pi", "busybox",
        "batch.kubernetes.io/controller-uid=4f2b"]
    running = job(startTime=ago(seconds=150), active=1)
    assert row_cells("jobs", running, NOW)[1:4] == ["Running", "0/1", "2m30s"]
    done = job(startTime=ago(minutes=3), completionTime=ago(seconds=170), succeeded=1,
               conditions=[{"type": "SuccessCriteriaMet", "status": "True"},
                           {"type": "Complete", "status": "True"}])
    assert row_cells("jobs", done, NOW)[1:4] == ["Complete", "1/1", "10s"]
    failed = job(startTime=ago(minutes=3), failed=7, conditions=[
        {"type": "FailureTarget", "status": "True"}, {"type": "Failed", "status": "True"}])
    assert row_cells("jobs", failed, NOW)[1] == "Failed"
    suspended = job(conditions=[{"type": "Suspended", "status": "True"}])
    assert row_cells("jobs", suspended, NOW)[1] == "Suspended"
    parallel = job(succeeded=2)
    parallel["spec"].update(completions=None, parallelism=3)
    assert row_cells("jobs", parallel, NOW)[2] == "2/1 of 3"
    terminating = job()
    terminating["metadata"]["deletionTimestamp"] = ago(seconds=1)
    assert row_cells("jobs", terminating, NOW)[1] == "Terminating"


# --------------------------------------------------------------------------------------------
# HPA
# --------------------------------------------------------------------------------------------


def hpa(metrics: list[dict] | None, current: list[dict] | None = None,
        min_replicas: int | None = 2, current_replicas: int | None = None) -> dict:
    spec: dict = {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                     "name": "web"}, "maxReplicas": 10}
    if min_replicas is not None:
        spec["minReplicas"] = min_replicas
    if metrics is not None:
        spec["metrics"] = metrics
    status: dict = {"desiredReplicas": 0}
    if current_replicas is not None:
        status["currentReplicas"] = current_replicas
    if current is not None:
        status["currentMetrics"] = current
    return {"metadata": {"name": "web", "namespace": "default",
                         "creationTimestamp": ago(seconds=90)}, "spec": spec, "status": status}


CPU60 = {"type": "Resource", "resource": {"name": "cpu", "target": {
    "type": "Utilization", "averageUtilization": 60}}}


def cpu_status(pct: int, value: str = "150m") -> dict:
    return {"type": "Resource", "resource": {"name": "cpu", "current": {
        "averageUtilization": pct, "averageValue": value}}}


def test_hpa_columns() -> None:
    assert names("horizontalpodautoscalers") == [
        "Name", "Reference", "Targets", "MinPods", "MaxPods", "Replicas", "Age"]


def test_hpa_before_first_sync() -> None:
    assert row_cells("horizontalpodautoscalers", hpa([CPU60]), NOW) == [
        "web", "Deployment/web", "cpu: <unknown>/60%", "2", 10, 0, "90s"]


def test_hpa_with_metrics() -> None:
    h = hpa([CPU60], [cpu_status(45)], current_replicas=3)
    assert row_cells("horizontalpodautoscalers", h, NOW)[2:6] == ["cpu: 45%/60%", "2", 10, 3]


def test_hpa_variants() -> None:
    unset = hpa([], min_replicas=None)
    assert row_cells("horizontalpodautoscalers", unset, NOW)[2:4] == ["<none>", "<unset>"]
    auto = hpa([{"type": "Resource", "resource": {"name": "memory", "target": {
        "type": "Utilization"}}}])
    assert row_cells("horizontalpodautoscalers", auto, NOW)[2] == "memory: <unknown>/<auto>"
    avg = hpa([{"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "AverageValue", "averageValue": "0.5"}}}],
        [cpu_status(40, "250m")])
    assert row_cells("horizontalpodautoscalers", avg, NOW)[2] == "cpu: 250m/500m"
    pods = {"type": "Pods", "pods": {"metric": {"name": "rps"}, "target": {
        "type": "AverageValue", "averageValue": "1k"}}}
    obj = {"type": "Object", "object": {"metric": {"name": "hits"}, "describedObject": {
        "kind": "Service", "name": "web"}, "target": {"type": "Value", "value": "10"}}}
    ext = {"type": "External", "external": {"metric": {"name": "queue"}, "target": {
        "type": "AverageValue", "averageValue": "30"}}}
    many = hpa([CPU60, pods, obj, ext], [cpu_status(70)])
    assert row_cells("horizontalpodautoscalers", many, NOW)[2] == (
        "cpu: 70%/60%, <unknown>/1k + 2 more...")
    two = hpa([obj, ext], [
        {"type": "Object", "object": {"metric": {"name": "hits"}, "current": {"value": "12"}}},
        {"type": "External", "external": {"metric": {"name": "queue"},
                                          "current": {"averageValue": "2500m"}}}])
    assert row_cells("horizontalpodautoscalers", two, NOW)[2] == "12/10, 2500m/30 (avg)"
    container = hpa([{"type": "ContainerResource", "containerResource": {
        "name": "cpu", "container": "app", "target": {"type": "Utilization",
                                                      "averageUtilization": 50}}}])
    assert row_cells("horizontalpodautoscalers", container, NOW)[2] == "cpu: <unknown>/50%"


# --------------------------------------------------------------------------------------------
# leases and metrics
# --------------------------------------------------------------------------------------------


def test_lease() -> None:
    lease = {"metadata": {"name": "sandbox", "namespace": "kube-node-lease",
                          "creationTimestamp": ago(days=2)},
             "spec": {"holderIdentity": "sandbox", "leaseDurationSeconds": 40,
                      "renewTime": "2024-05-01T11:59:58.123456Z"}}
    assert names("leases") == ["Name", "Holder", "Age"]
    assert row_cells("leases", lease, NOW) == ["sandbox", "sandbox", "2d"]
    assert row_cells("leases", {"metadata": lease["metadata"], "spec": {}}, NOW)[1] == ""


def test_pod_metrics_table_like_metrics_server() -> None:
    pm = {"metadata": {"name": "web-1", "namespace": "default",
                       "creationTimestamp": ago(seconds=0), "labels": {"app": "web"}},
          "timestamp": ago(seconds=3), "window": "15s",
          "containers": [{"name": "nginx", "usage": {"cpu": "1500000n", "memory": "12Ki"}},
                         {"name": "probe", "usage": {"cpu": "3m", "memory": "100Ki"}}]}
    t = table("podmetrics", [pm], resource_version="", now=NOW)
    assert [(c["name"], c["format"]) for c in t["columnDefinitions"]] == [
        ("Name", "name"), ("cpu", "quantity"), ("memory", "quantity"), ("Window", "duration")]
    assert t["rows"][0]["cells"] == ["web-1", "4500u", "112Ki", "15s"]
    nm = {"metadata": {"name": "sandbox"}, "window": "20.5s",
          "usage": {"cpu": "250000000n", "memory": "2097152Ki"}}
    assert row_cells("nodemetrics", nm, NOW) == ["sandbox", "250m", "2Gi", "20.5s"]
    assert names("podmetrics") == ["Name", "cpu", "memory", "Window"]


# --------------------------------------------------------------------------------------------
# the Table envelope
# --------------------------------------------------------------------------------------------


def test_every_resource_key_has_columns_and_cells() -> None:
    for rt in RESOURCES:
        key = key_of(rt)
        cols = column_definitions(key)
        assert cols[0]["name"] in ("Name", "Last Seen"), key
        assert all(set(c) == {"name", "type", "format", "description", "priority"}
                   for c in cols), key
        obj = {"metadata": {"name": "x", "creationTimestamp": ago(seconds=5)}}
        assert len(row_cells(key, obj, NOW)) == len(cols), key


def test_table_metadata_mode() -> None:
    p = pod(conditions=conds(True), statuses=[cstatus(RUNNING, ready=True)])
    t = table("pods", [p], resource_version="130", now=NOW)
    assert t["kind"] == "Table" and t["apiVersion"] == "meta.k8s.io/v1"
    assert t["metadata"] == {"resourceVersion": "130"}
    assert t["columnDefinitions"] == column_definitions("pods")
    (row,) = t["rows"]
    assert row["cells"][:5] == ["web-7d4b9c8f5d-x2xkq", "1/1", "Running", "0", "5m"]
    assert row["object"] == {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                             "metadata": p["metadata"]}
    assert row["object"]["metadata"] is not p["metadata"]
    assert "conditions" not in row


def test_table_object_none_and_errors() -> None:
    d = {"metadata": {"name": "web", "namespace": "default", "creationTimestamp": ago(days=1)},
         "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                  "template": TEMPLATE}, "status": {}}
    full = table("deployments", [d], resource_version="9", include_object="Object", now=NOW)
    obj = full["rows"][0]["object"]
    assert obj["kind"] == "Deployment" and obj["apiVersion"] == "apps/v1"
    assert obj["spec"] == d["spec"] and "kind" not in d
    for none in (None, "None"):
        bare = table("deployments", [d], resource_version="9", include_object=none, now=NOW)
        assert "object" not in bare["rows"][0]
    assert "object" in table("deployments", [d], resource_version="9", include_object="",
                             now=NOW)["rows"][0]
    with pytest.raises(ApiError) as err:
        table("deployments", [d], resource_version="9", include_object="Everything")
    assert err.value.code == 400
    assert 'unrecognized includeObject value: "Everything"' in err.value.status()["message"]


def test_table_full_objects_for_converted_versions() -> None:
    h = hpa([CPU60], [cpu_status(45)], current_replicas=3)
    v1 = {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
          "metadata": h["metadata"], "spec": {"targetCPUUtilizationPercentage": 60}}
    t = table("horizontalpodautoscalers", [h], resource_version="5", include_object="Object",
              full_objects=[v1], now=NOW)
    assert t["rows"][0]["cells"][2] == "cpu: 45%/60%"
    assert t["rows"][0]["object"]["apiVersion"] == "autoscaling/v1"


def test_table_watch_event_and_chunking() -> None:
    ns = {"metadata": {"name": "default", "creationTimestamp": ago(days=3)},
          "status": {"phase": "Active"}}
    ev = table("namespaces", [ns], resource_version="77", with_columns=False, now=NOW)
    assert ev["columnDefinitions"] == [] and ev["rows"][0]["cells"] == ["default", "Active",
                                                                         "3d"]
    page = table("namespaces", [ns], resource_version="77", continue_token="abc",
                 remaining_item_count=4, now=NOW)
    assert page["metadata"] == {"resourceVersion": "77", "continue": "abc",
                                "remainingItemCount": 4}


def test_table_finished_pod_row_conditions() -> None:
    done = pod(phase="Succeeded", statuses=[cstatus({"terminated": {"exitCode": 0,
                                                                    "reason": "Completed"}})])
    row = table("pods", [done], resource_version="1", now=NOW)["rows"][0]
    assert row["conditions"] == [{"type": "Completed", "status": "True", "reason": "Succeeded",
                                  "message": "The pod has completed successfully."}]


def test_table_uses_current_time_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(printers.util, "now", lambda: NOW)
    ns = {"metadata": {"name": "default", "creationTimestamp": ago(seconds=42)},
          "status": {"phase": "Active"}}
    assert table("namespaces", [ns], resource_version="1")["rows"][0]["cells"][2] == "42s"


def test_unknown_key_uses_default_convertor() -> None:
    obj = {"metadata": {"name": "thing", "creationTimestamp": "2024-05-01T10:00:00Z"}}
    assert [c["name"] for c in column_definitions("widgets")] == ["Name", "Created At"]
    assert row_cells("widgets", obj, NOW) == ["thing", "2024-05-01T10:00:00Z"]
