"""API semantics kubectl and client-go rely on, checked over HTTPS against the daemon."""

from __future__ import annotations

import base64
import json
import ssl
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException

from tests.conftest import FAST_ENV, Sandbox

from .conftest import PODINFO, wait_for


# -- raw HTTP --------------------------------------------------------------------------------
class Raw:
    """Plain HTTPS requests with the kubeconfig's CA and token."""

    def __init__(self, kubeconfig: Path):
        cfg = yaml.safe_load(kubeconfig.read_text())
        cluster = cfg["clusters"][0]["cluster"]
        self.server = cluster["server"]
        self.token = cfg["users"][0]["user"]["token"]
        ca = base64.b64decode(cluster["certificate-authority-data"]).decode()
        self.ctx = ssl.create_default_context(cadata=ca)

    def request(self, method: str, path: str, body: bytes | str | dict | list | None = None,
                content_type: str = "application/json", accept: str = "application/json",
                timeout: float = 10) -> tuple[int, dict, bytes]:
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        req = urllib.request.Request(self.server + path, data=body, method=method, headers={
            "Authorization": f"Bearer {self.token}", "Accept": accept,
            **({"Content-Type": content_type} if body is not None else {})})
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=timeout) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def json(self, method: str, path: str, body=None, **kw) -> tuple[int, dict]:
        code, _, raw = self.request(method, path, body, **kw)
        return code, json.loads(raw)

    def stream(self, path: str, timeout: float = 10) -> list[dict]:
        """A watch that ends by itself (timeoutSeconds in `path`): all its events."""
        code, _, raw = self.request("GET", path, timeout=timeout)
        assert code == 200, raw
        return [json.loads(line) for line in raw.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def raw(sandbox) -> Raw:
    return Raw(sandbox.kubeconfig)


@pytest.fixture(scope="module")
def ns(sandbox) -> str:
    return sandbox.namespace("sem")


def _cm(core, ns: str, name: str, labels: dict | None = None) -> client.V1ConfigMap:
    return core.create_namespaced_config_map(ns, {"metadata": {"name": name, "labels": labels or {}},
                                                  "data": {"k": name}})


def _deployment(name: str, image: str = f"{PODINFO}:6.9.0", replicas: int = 1, **spec) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [
                         {"name": "podinfo", "image": image}]}}, **spec}}


# -- WatchList and resourceVersions ------------------------------------------------------------
def test_watch_list_replays_then_bookmarks(raw, core, ns):
    for n in ("wl-a", "wl-b"):
        _cm(core, ns, n, {"wl": "1"})
    base = (f"/api/v1/namespaces/{ns}/configmaps?labelSelector=wl%3D1&watch=true"
            "&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true"
            "&timeoutSeconds=1")
    events = raw.stream(base)
    assert [(e["type"], e["object"]["metadata"].get("name")) for e in events] == [
        ("ADDED", "wl-a"), ("ADDED", "wl-b"), ("BOOKMARK", None)]
    bookmark = events[-1]["object"]
    assert bookmark["kind"] == "ConfigMap" and bookmark["apiVersion"] == "v1"
    assert bookmark["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    list_rv = core.list_namespaced_config_map(ns).metadata.resource_version
    assert int(bookmark["metadata"]["resourceVersion"]) <= int(list_rv)
    # kubectl 1.37's re-watch sends a resourceVersion with sendInitialEvents: replay again.
    again = raw.stream(base + f"&resourceVersion={list_rv}")
    assert [e["type"] for e in again] == ["ADDED", "ADDED", "BOOKMARK"]
    # The field selector kubectl uses for one object.
    one = raw.stream(base.replace("labelSelector=wl%3D1", "fieldSelector=metadata.name%3Dwl-b"))
    assert [(e["type"], e["object"]["metadata"].get("name")) for e in one] == [
        ("ADDED", "wl-b"), ("BOOKMARK", None)]


def test_plain_watch_from_resource_version_and_table_events(raw, core, ns):
    rv = core.list_namespaced_config_map(ns).metadata.resource_version
    _cm(core, ns, "tw-1")
    events = raw.stream(f"/api/v1/namespaces/{ns}/configmaps?watch=true&resourceVersion={rv}"
                        "&timeoutSeconds=1")
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "tw-1")]
    code, _, body = raw.request(
        "GET", f"/api/v1/namespaces/{ns}/configmaps?watch=true&resourceVersion={rv}&timeoutSeconds=1",
        accept="application/json;as=Table;v=v1;g=meta.k8s.io,application/json")
    [event] = [json.loads(line) for line in body.splitlines()]
    table = event["object"]
    assert table["kind"] == "Table" and table["rows"][0]["cells"][:2] == ["tw-1", 1]


def test_watch_window_overflow_is_410_expired():
    from helpers.sandbox.storage import store as store_module
    from helpers.sandbox.storage.store import Store, TooOldResourceVersion

    s = Store(None)
    s._events = store_module.deque(maxlen=50)
    for i in range(60):
        s.put("configmaps", {"metadata": {"name": f"c{i}", "namespace": "d"}}, created=True)
    with pytest.raises(TooOldResourceVersion) as exc:
        s.watch({"configmaps"}, 3)
    assert str(exc.value) == "too old resource version: 3 (11)"
    _, backlog = s.watch({"configmaps"}, 55)
    assert [e.rv for e in backlog] == [56, 57, 58, 59, 60]


# -- selectors ---------------------------------------------------------------------------------
def test_label_selectors(core, ns):
    _cm(core, ns, "ls-a", {"tier": "web", "env": "prod"})
    _cm(core, ns, "ls-b", {"tier": "db", "env": "prod"})
    _cm(core, ns, "ls-c", {"tier": "web"})

    def names(sel: str) -> list[str]:
        return sorted(i.metadata.name for i in core.list_namespaced_config_map(
            ns, label_selector=sel).items if i.metadata.name.startswith("ls-"))

    assert names("tier=web") == ["ls-a", "ls-c"]
    assert names("tier!=web") == ["ls-b"]
    assert names("tier in (web,db),env=prod") == ["ls-a", "ls-b"]
    assert names("tier notin (web)") == ["ls-b"]
    assert names("!env") == ["ls-c"]
    assert names("env") == ["ls-a", "ls-b"]
    with pytest.raises(ApiException) as exc:
        core.list_namespaced_config_map(ns, label_selector="tier in web")
    assert exc.value.status == 400


def test_field_selectors_on_pods_and_events(sandbox, core, ns):
    core.create_namespaced_pod(ns, {"metadata": {"name": "fs-pod", "labels": {"app": "fs"}},
                                    "spec": {"containers": [{"name": "c",
                                                             "image": f"{PODINFO}:6.9.0"}]}})
    assert [p.metadata.name for p in core.list_namespaced_pod(
        ns, field_selector="metadata.name=fs-pod").items] == ["fs-pod"]
    assert core.list_namespaced_pod(ns, field_selector="metadata.name!=fs-pod,"
                                    "metadata.name=fs-pod").items == []
    phase = core.read_namespaced_pod("fs-pod", ns).status.phase
    assert [p.metadata.name for p in core.list_namespaced_pod(
        ns, field_selector=f"status.phase=={phase}").items if p.metadata.name == "fs-pod"]
    assert core.list_pod_for_all_namespaces(
        field_selector=f"metadata.namespace={ns},status.phase=Succeeded").items == []
    pod = core.read_namespaced_pod("fs-pod", ns)
    core.create_namespaced_event(ns, {
        "metadata": {"name": "fs-pod.1"}, "type": "Normal", "reason": "Tested",
        "message": "by the test", "involvedObject": {
            "kind": "Pod", "namespace": ns, "name": "fs-pod", "uid": pod.metadata.uid,
            "apiVersion": "v1"}, "count": 1})
    # kubectl describe's query, terms in any order.
    sel = (f"involvedObject.uid={pod.metadata.uid},involvedObject.name=fs-pod,"
           f"involvedObject.namespace={ns},involvedObject.kind=Pod")
    assert [e.reason for e in core.list_namespaced_event(ns, field_selector=sel).items
            if e.reason == "Tested"] == ["Tested"]
    assert [e for e in core.list_namespaced_event(
        ns, field_selector="involvedObject.kind=Deployment").items if e.reason == "Tested"] == []
    with pytest.raises(ApiException) as exc:
        core.list_namespaced_pod(ns, field_selector="spec.bogus=1")
    assert exc.value.status == 400
    body = json.loads(exc.value.body)
    assert (body["reason"], body["message"]) == ("BadRequest", "field label not supported: spec.bogus")
    proc = sandbox.kubectl("get", "pods", "-n", ns, "--field-selector=status.phse=Running",
                           check=False)
    assert proc.stderr == (
        'Error from server (BadRequest): Unable to find "/v1, Resource=pods" that match label '
        'selector "", field selector "status.phse=Running": field label not supported: '
        "status.phse\n")


# -- tables --------------------------------------------------------------------------------------
HEADERS = {
    "pods": "NAME READY STATUS RESTARTS AGE",
    "services": "NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE",
    "endpoints": "NAME ENDPOINTS AGE",
    "endpointslices": "NAME ADDRESSTYPE PORTS ENDPOINTS AGE",
    "configmaps": "NAME DATA AGE",
    "secrets": "NAME TYPE DATA AGE",
    "serviceaccounts": "NAME SECRETS AGE",
    "persistentvolumeclaims": "NAME STATUS VOLUME CAPACITY ACCESS MODES STORAGECLASS "
                              "VOLUMEATTRIBUTESCLASS AGE",
    "deployments": "NAME READY UP-TO-DATE AVAILABLE AGE",
    "replicasets": "NAME DESIRED CURRENT READY AGE",
    "statefulsets": "NAME READY AGE",
    "controllerrevisions": "NAME CONTROLLER REVISION AGE",
    "horizontalpodautoscalers": "NAME REFERENCE TARGETS MINPODS MAXPODS REPLICAS AGE",
    "jobs": "NAME STATUS COMPLETIONS DURATION AGE",
    "events": "LAST SEEN TYPE REASON OBJECT MESSAGE",
    "leases": "NAME HOLDER AGE",
}
CLUSTER_HEADERS = {
    "namespaces": "NAME STATUS AGE",
    "nodes": "NAME STATUS ROLES AGE VERSION",
    "persistentvolumes": "NAME CAPACITY ACCESS MODES RECLAIM POLICY STATUS CLAIM STORAGECLASS "
                         "VOLUMEATTRIBUTESCLASS REASON AGE",
    "storageclasses": "NAME PROVISIONER RECLAIMPOLICY VOLUMEBINDINGMODE ALLOWVOLUMEEXPANSION AGE",
}


@pytest.fixture(scope="module")
def populated(sandbox, ns, core, apps, api) -> str:
    """One object of every namespaced kind, so every `kubectl get <kind>` prints a row."""
    docs = [
        _deployment("tbl"),
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "tbl"},
         "spec": {"selector": {"app": "tbl"}, "ports": [{"port": 80, "targetPort": 9898}]}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "tbl"},
         "stringData": {"a": "b"}},
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "tbl"},
         "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}},
        {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "tbl-sts"},
         "spec": {"replicas": 0, "serviceName": "tbl-sts",
                  "selector": {"matchLabels": {"app": "tbl-sts"}},
                  "template": {"metadata": {"labels": {"app": "tbl-sts"}}, "spec": {
                      "containers": [{"name": "podinfo", "image": f"{PODINFO}:6.9.0"}]}}}},
        {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
         "metadata": {"name": "tbl"},
         "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "tbl"},
                  "minReplicas": 1, "maxReplicas": 3}},
        {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "tbl"},
         "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
             {"name": "c", "image": "busybox:1.28", "command": ["true"]}]}}}},
        {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "tbl"},
         "spec": {"holderIdentity": "me"}},
    ]
    sandbox.kubectl("apply", "-n", ns, "-f", "-", input=yaml.safe_dump_all(docs))
    core.create_namespaced_event(ns, {
        "metadata": {"name": "tbl.1"}, "type": "Normal", "reason": "Tested", "message": "hi",
        "involvedObject": {"kind": "Deployment", "namespace": ns, "name": "tbl",
                           "apiVersion": "apps/v1"}, "count": 1})
    wait_for(lambda: apps.list_namespaced_controller_revision(ns).items, timeout=10,
             what="a ControllerRevision")
    return ns


@pytest.mark.parametrize("kind", sorted(HEADERS))
def test_get_prints_the_apiserver_columns(sandbox, populated, kind):
    out = sandbox.kubectl("get", kind, "-n", populated).stdout
    lines = out.splitlines()
    assert " ".join(lines[0].split()) == HEADERS[kind]
    assert len(lines) >= 2, out


@pytest.mark.parametrize("kind", sorted(CLUSTER_HEADERS))
def test_get_cluster_scoped_columns(sandbox, populated, kind):
    out = sandbox.kubectl("get", kind).stdout
    assert " ".join(out.splitlines()[0].split()) == CLUSTER_HEADERS[kind]


def test_get_wide_labels_all_namespaces_and_sort_by(sandbox, populated):
    ns = populated
    wide = sandbox.kubectl("get", "deploy", "tbl", "-n", ns, "-o", "wide").stdout.splitlines()
    assert wide[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS",
                               "IMAGES", "SELECTOR"]
    assert wide[1].split()[5:] == ["podinfo", f"{PODINFO}:6.9.0", "app=tbl"]
    labels = sandbox.kubectl("get", "ns", ns, "--show-labels").stdout.splitlines()
    assert labels[0].split() == ["NAME", "STATUS", "AGE", "LABELS"]
    assert labels[1].split()[-1] == f"kubernetes.io/metadata.name={ns}"
    everywhere = sandbox.kubectl("get", "cm", "-A").stdout.splitlines()
    assert everywhere[0].split() == ["NAMESPACE", "NAME", "DATA", "AGE"]
    assert any(line.split()[:2] == [ns, "kube-root-ca.crt"] for line in everywhere)
    ordered = sandbox.kubectl("get", "cm", "-n", ns, "--sort-by=.metadata.name",
                              "-o", "name").stdout.split()
    assert ordered == sorted(ordered)
    by_rv = sandbox.kubectl("get", "cm", "-n", ns, "--sort-by=.metadata.resourceVersion").stdout
    assert by_rv.splitlines()[0].split() == ["NAME", "DATA", "AGE"]
    svc = sandbox.kubectl("get", "svc", "tbl", "-n", ns).stdout.splitlines()[1].split()
    assert svc[1:5] == ["ClusterIP", svc[2], "<none>", "80/TCP"]
    hpa = sandbox.kubectl("get", "hpa", "tbl", "-n", ns).stdout.splitlines()[1].split()
    assert hpa[:7] == ["tbl", "Deployment/tbl", "cpu:", "<unknown>/80%", "1", "3", hpa[6]]
    allout = sandbox.kubectl("get", "all", "-n", ns).stdout
    for prefix in ("service/tbl", "deployment.apps/tbl", "statefulset.apps/tbl-sts",
                   "horizontalpodautoscaler.autoscaling/tbl", "job.batch/tbl"):
        assert prefix in allout


# -- validation wording --------------------------------------------------------------------------
def _apply_error(sandbox: Sandbox, ns: str, doc: dict, *extra: str) -> str:
    proc = sandbox.kubectl("apply", "-n", ns, "-f", "-", *extra, input=yaml.safe_dump(doc),
                           check=False)
    assert proc.returncode == 1, proc.stdout
    return proc.stderr.strip()


def test_validation_messages_match_kubectl_on_a_real_cluster(sandbox, ns):
    bad = _deployment("mismatch")
    bad["spec"]["template"]["metadata"]["labels"] = {"app": "other"}
    assert _apply_error(sandbox, ns, bad) == (
        'The Deployment "mismatch" is invalid: spec.template.metadata.labels: Invalid value: '
        'map[string]string{"app":"other"}: `selector` does not match template `labels`')
    assert _apply_error(sandbox, ns, _deployment("Bad_Name")) == (
        'The Deployment "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a '
        "lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
        "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex "
        "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
    zero = _deployment("zero", strategy={"type": "RollingUpdate", "rollingUpdate": {
        "maxSurge": 0, "maxUnavailable": 0}})
    assert _apply_error(sandbox, ns, zero) == (
        'The Deployment "zero" is invalid: spec.strategy.rollingUpdate.maxUnavailable: Invalid '
        "value: intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}: may not be 0 when `maxSurge` "
        "is 0")
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "np"},
           "spec": {"type": "NodePort", "selector": {"app": "x"},
                    "ports": [{"port": 80, "nodePort": 80}]}}
    assert _apply_error(sandbox, ns, svc) == (
        'The Service "np" is invalid: spec.ports[0].nodePort: Invalid value: 80: provided port is '
        "not in the valid range. The range of valid ports is 30000-32767")
    typo = _deployment("typo")
    typo["spec"]["replica"] = 2
    assert _apply_error(sandbox, ns, typo) == (
        'Error from server (BadRequest): error when creating "STDIN": Deployment in version "v1" '
        'cannot be handled as a Deployment: strict decoding error: unknown field "spec.replica"')
    # Immutable selector on an existing Deployment.
    sandbox.kubectl("apply", "-n", ns, "-f", "-", input=yaml.safe_dump(_deployment("imm")))
    moved = _deployment("imm")
    moved["spec"]["selector"] = {"matchLabels": {"app": "imm", "v": "2"}}
    moved["spec"]["template"]["metadata"]["labels"] = {"app": "imm", "v": "2"}
    assert _apply_error(sandbox, ns, moved) == (
        'The Deployment "imm" is invalid: spec.selector: Invalid value: v1.LabelSelector'
        '{MatchLabels:map[string]string{"app":"imm", "v":"2"}, '
        "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable")
    for name in ("mismatch", "zero", "typo"):
        assert sandbox.kubectl("get", "deploy", name, "-n", ns, check=False).returncode == 1


def test_server_dry_run_changes_nothing(sandbox, ns, apps, core):
    doc = yaml.safe_dump(_deployment("dry"))
    out = sandbox.kubectl("apply", "-n", ns, "-f", "-", "--dry-run=server", input=doc).stdout
    assert out == "deployment.apps/dry created (server dry run)\n"
    with pytest.raises(ApiException):
        apps.read_namespaced_deployment("dry", ns)
    sandbox.kubectl("apply", "-n", ns, "-f", "-", input=doc)
    before = apps.read_namespaced_deployment("dry", ns)
    out = sandbox.kubectl("scale", "deploy/dry", "-n", ns, "--replicas=5",
                          "--dry-run=server").stdout
    assert out == "deployment.apps/dry scaled (server dry run)\n"
    out = sandbox.kubectl("set", "image", "deploy/dry", "-n", ns, f"podinfo={PODINFO}:6.9.1",
                          "--dry-run=server").stdout
    assert out == "deployment.apps/dry image updated (server dry run)\n"
    out = sandbox.kubectl("delete", "deploy/dry", "-n", ns, "--dry-run=server").stdout
    assert out.startswith('deployment.apps "dry" deleted') and "(server dry run)" in out
    after = apps.read_namespaced_deployment("dry", ns)
    assert after.metadata.generation == before.metadata.generation == 1
    assert after.spec == before.spec and after.metadata.uid == before.metadata.uid
    out = sandbox.kubectl("create", "configmap", "drycm", "-n", ns, "--from-literal=a=b",
                          "--dry-run=server").stdout
    assert out == "configmap/drycm created (server dry run)\n"
    with pytest.raises(ApiException):
        core.read_namespaced_config_map("drycm", ns)


MALFORMED = [
    ("POST", "configmaps", b"{not json", "application/json", 400),
    ("POST", "configmaps", b"[1, 2]", "application/json", 400),
    ("POST", "configmaps", b'"a string"', "application/json", 400),
    ("POST", "configmaps", b"", "application/json", 400),
    ("POST", "configmaps", b'{"metadata": "nope"}', "application/json", None),
    ("POST", "configmaps", b'{"metadata": {"name": 5}}', "application/json", None),
    ("POST", "configmaps", b'{"metadata": {"name": "x", "labels": ["a"]}}', "application/json", None),
    ("POST", "configmaps", b'{"metadata": {"name": "x"}, "data": {"a": 1}}', "application/json", None),
    ("POST", "configmaps", b"\x00\x01\x02", "application/vnd.kubernetes.protobuf", 400),
    ("POST", "configmaps", b"k8s\x00\x0a\xff\xff", "application/vnd.kubernetes.protobuf", 400),
    ("POST", "configmaps", b"a: [", "application/yaml", 400),
    ("POST", "configmaps", b"{}", "application/x-nonsense", 415),
    ("POST", "deployments", b'{"metadata": {"name": "d"}, "spec": {"replicas": "many"}}',
     "application/json", None),
    ("POST", "deployments", b'{"metadata": {"name": "d"}, "spec": null}', "application/json", None),
    ("POST", "deployments", b'{"metadata": {"name": "d"}, "spec": {"template": []}}',
     "application/json", None),
    ("POST", "services", b'{"metadata": {"name": "s"}, "spec": {"ports": [{"port": "x"}]}}',
     "application/json", None),
    ("POST", "pods", b'{"metadata": {"name": "p"}, "spec": {"containers": {}}}',
     "application/json", None),
    ("PUT", "configmaps/fz", b'{"metadata": {"name": "other"}}', "application/json", 400),
    ("PUT", "configmaps/fz", b'{"metadata": {"name": "fz", "resourceVersion": "abc"}}',
     "application/json", 409),
    ("PATCH", "configmaps/fz", b'{"data": [}', "application/merge-patch+json", 400),
    ("PATCH", "configmaps/fz", b'[{"op": "replace", "path": "/nope/x", "value": 1}]',
     "application/json-patch+json", 422),
    ("PATCH", "configmaps/fz", b'[{"op": "explode"}]', "application/json-patch+json", None),
    ("PATCH", "configmaps/fz", b'{"data": {"$patch": "nonsense"}}',
     "application/strategic-merge-patch+json", None),
    ("PATCH", "configmaps/fz", b'{"metadata": {"name": "renamed"}}',
     "application/merge-patch+json", 400),
    ("PATCH", "configmaps/fz", b"{}", "text/csv", 415),
    ("DELETE", "configmaps/fz", b"{oops", "application/json", 400),
    ("GET", "configmaps?labelSelector=a%20in%20", None, "application/json", 400),
    ("GET", "configmaps?watch=true&resourceVersion=abc", None, "application/json", 400),
    ("GET", "configmaps?limit=abc", None, "application/json", None),
    ("POST", "deployments/fz/scale", b"{}", "application/json", None),
    ("PATCH", "deployments/nothere/scale", b'{"spec": {"replicas": 2}}',
     "application/merge-patch+json", 404),
]


def test_malformed_input_is_rejected_without_changing_state(raw, core, ns):
    core.create_namespaced_config_map(ns, {"metadata": {"name": "fz"}, "data": {"k": "v"}})
    before = {(c.metadata.name, c.metadata.resource_version)
              for c in core.list_namespaced_config_map(ns).items}
    base = f"/api/v1/namespaces/{ns}/"
    wrong = []
    for method, rest, body, ctype, expected in MALFORMED:
        path = (base if rest.split("/")[0].split("?")[0] in ("configmaps", "services", "pods")
                else f"/apis/apps/v1/namespaces/{ns}/") + rest
        code, _, reply = raw.request(method, path, body, content_type=ctype)
        ok = code < 500 and (expected is None or code == expected)
        if code >= 400:
            status = json.loads(reply)
            ok = ok and status["kind"] == "Status" and status["code"] == code
        else:
            ok = ok and (method == "GET" or rest.endswith("scale"))
        if not ok:
            wrong.append((method, rest, body, code, reply[:300]))
    assert wrong == [], "\n".join(map(repr, wrong))
    after = {(c.metadata.name, c.metadata.resource_version)
             for c in core.list_namespaced_config_map(ns).items}
    assert after == before
    for kind in ("deployments", "services", "pods"):
        names = [i["metadata"]["name"] for i in raw.json("GET", (
            f"/apis/apps/v1/namespaces/{ns}/deployments" if kind == "deployments"
            else base + kind))[1]["items"]]
        assert not {"d", "s", "p"} & set(names)
    assert raw.request("GET", "/healthz")[0] == 200


def test_unsupported_patch_type_and_missing_namespace(sandbox, raw, ns):
    proc = sandbox.kubectl("get", "pods", "-n", "no-such-ns-here")
    assert (proc.stdout, proc.stderr) == ("", "No resources found in no-such-ns-here namespace.\n")
    code, body = raw.json("POST", "/api/v1/namespaces/no-such-ns-here/configmaps",
                          {"metadata": {"name": "x"}})
    assert (code, body["message"]) == (404, 'namespaces "no-such-ns-here" not found')
    proc = sandbox.kubectl("get", "deploy", "nope", "-n", ns, check=False)
    assert proc.stderr == 'Error from server (NotFound): deployments.apps "nope" not found\n'


# -- namespaces ----------------------------------------------------------------------------------
def test_namespace_termination(sandbox, raw, core):
    name = sandbox.namespace("term")
    core.create_namespaced_config_map(name, {"metadata": {"name": "held",
                                                          "finalizers": ["test.io/hold"]}})
    core.create_namespaced_config_map(name, {"metadata": {"name": "free"}})
    out = sandbox.kubectl("delete", "namespace", name, "--wait=false").stdout
    assert out == f'namespace "{name}" deleted\n'
    ns = core.read_namespace(name)
    assert ns.status.phase == "Terminating" and ns.metadata.deletion_timestamp
    wait_for(lambda: [c.metadata.name for c in core.list_namespaced_config_map(name).items
                      if not c.metadata.deletion_timestamp] == [], timeout=10,
             what="namespace content deleted")
    conds = {c.type: (c.status, c.reason) for c in core.read_namespace(name).status.conditions or []}
    assert conds.get("NamespaceContentRemaining", ("True", "SomeResourcesRemain")) == (
        "True", "SomeResourcesRemain")
    proc = sandbox.kubectl("create", "configmap", "late", "-n", name, check=False)
    assert proc.returncode == 1
    assert proc.stderr == (
        f'error: failed to create configmap: configmaps "late" is forbidden: unable to create new '
        f"content in namespace {name} because it is being terminated\n")
    code, body = raw.json("POST", f"/api/v1/namespaces/{name}/configmaps",
                          {"metadata": {"name": "late"}})
    assert (code, body["reason"]) == (403, "Forbidden")
    assert sandbox.kubectl("get", "ns", name).stdout.splitlines()[1].split()[1] == "Terminating"
    core.patch_namespaced_config_map("held", name, {"metadata": {"finalizers": None}})
    wait_for(lambda: name not in [n.metadata.name for n in core.list_namespace().items],
             timeout=15, what="namespace removed")


@pytest.mark.parametrize("protected", ["default", "kube-system", "kube-public"])
def test_protected_namespaces_cannot_be_deleted(sandbox, protected):
    proc = sandbox.kubectl("delete", "namespace", protected, check=False)
    assert proc.returncode == 1
    assert proc.stderr == (f'Error from server (Forbidden): namespaces "{protected}" is forbidden: '
                           "this namespace may not be deleted\n")


# -- garbage collection ---------------------------------------------------------------------------
def _rs_of(apps, ns: str, name: str) -> list:
    return [rs for rs in apps.list_namespaced_replica_set(ns, label_selector=f"app={name}").items]


@pytest.mark.parametrize("cascade", ["background", "foreground", "orphan"])
def test_garbage_collection_of_deployment_replicasets(sandbox, apps, ns, cascade):
    name = f"gc-{cascade[:2]}"
    sandbox.kubectl("apply", "-n", ns, "-f", "-", input=yaml.safe_dump(_deployment(name)))
    wait_for(lambda: _rs_of(apps, ns, name), timeout=10, what="ReplicaSet created")
    out = sandbox.kubectl("delete", "deploy", name, "-n", ns, f"--cascade={cascade}").stdout
    assert out.startswith(f'deployment.apps "{name}" deleted')
    wait_for(lambda: name not in [d.metadata.name for d in apps.list_namespaced_deployment(ns).items],
             timeout=15, what="deployment gone")
    if cascade == "orphan":
        time.sleep(0.3)
        [rs] = _rs_of(apps, ns, name)
        assert rs.metadata.owner_references is None
        apps.delete_namespaced_replica_set(rs.metadata.name, ns)
    else:
        wait_for(lambda: not _rs_of(apps, ns, name), timeout=15, what="ReplicaSets collected")


# -- persistence ------------------------------------------------------------------------------------
def test_restart_keeps_objects_and_resource_versions(tmp_path):
    from helpers import sandbox as sb

    state = tmp_path / "state"
    home = tmp_path / "home"
    home.mkdir()
    info = sb.start(state_dir=state, env=FAST_ENV)
    box = Sandbox(state_dir=state, kubeconfig=info.kubeconfig, server=info.server or "", home=home)
    try:
        api = box.api_client()
        core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
        ns = box.namespace("keep")
        for i in range(5):
            core.create_namespaced_config_map(ns, {"metadata": {"name": f"c{i}"},
                                                   "data": {"i": str(i)}})
        core.patch_namespaced_config_map("c1", ns, {"data": {"i": "changed"}})
        core.delete_namespaced_config_map("c4", ns)
        apps.create_namespaced_deployment(ns, _deployment("kept"))
        before = {(o.metadata.name, o.metadata.resource_version)
                  for o in core.list_namespaced_config_map(ns).items}
        old_rv = core.list_namespaced_config_map(ns).metadata.resource_version
        dep_before = apps.read_namespaced_deployment("kept", ns)
        assert sb.stop(state)
        info = sb.start(state_dir=state, env=FAST_ENV)
        api = box.api_client()
        core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
        after = {(o.metadata.name, o.metadata.resource_version)
                 for o in core.list_namespaced_config_map(ns).items}
        assert after == before
        assert core.read_namespaced_config_map("c1", ns).data == {"i": "changed"}
        dep_after = apps.read_namespaced_deployment("kept", ns)
        assert dep_after.metadata.uid == dep_before.metadata.uid
        assert dep_after.metadata.creation_timestamp == dep_before.metadata.creation_timestamp
        list_rv = core.list_namespaced_config_map(ns).metadata.resource_version
        assert int(list_rv) >= int(old_rv)
        new = core.create_namespaced_config_map(ns, {"metadata": {"name": "c9"}})
        assert int(new.metadata.resource_version) > max(int(rv) for _, rv in before)
        raw = Raw(info.kubeconfig)
        # Watching from the current list RV resumes; an RV from before the restart may be 410.
        events = raw.stream(f"/api/v1/namespaces/{ns}/configmaps?watch=true"
                            f"&resourceVersion={list_rv}&timeoutSeconds=1")
        assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "c9")]
        code, _, body = raw.request("GET", f"/api/v1/namespaces/{ns}/configmaps?watch=true"
                                           f"&resourceVersion={old_rv}&timeoutSeconds=1")
        events = [json.loads(line) for line in body.splitlines()]
        if events and events[0]["type"] == "ERROR":
            assert events[0]["object"]["code"] == 410
            assert events[0]["object"]["reason"] == "Expired"
        else:
            assert [e["object"]["metadata"]["name"] for e in events] == ["c9"]
        assert oct((state / "kubeconfig").stat().st_mode & 0o777) == "0o600"
    finally:
        sb.stop(state)
