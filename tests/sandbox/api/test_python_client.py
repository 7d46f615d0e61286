"""The official Python client (`kubernetes` 37) against the sandbox, unchanged."""

from __future__ import annotations

import ast
import json
import threading
import time

import pytest
from kubernetes import client, dynamic, utils, watch
from kubernetes.client.rest import ApiException

from .conftest import PODINFO, wait_for

DEPLOYMENT_YAML = f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {{app: web}}
spec:
  replicas: 2
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
      - name: podinfo
        image: {PODINFO}:6.9.0
        ports: [{{containerPort: 9898}}]
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {{app: web}}
  ports: [{{port: 80, targetPort: 9898}}]
"""


@pytest.fixture(scope="module")
def ns(sandbox) -> str:
    return sandbox.namespace("py")


@pytest.fixture(scope="module")
def web(api, ns, tmp_path_factory) -> str:
    """`utils.create_from_yaml` of a Deployment and a Service (bodies without Content-Type)."""
    path = tmp_path_factory.mktemp("yaml") / "web.yaml"
    path.write_text(DEPLOYMENT_YAML)
    created = utils.create_from_yaml(api, str(path), namespace=ns)
    kinds = [type(o).__name__ for group in created for o in group]
    assert kinds == ["V1Deployment", "V1Service"]
    return str(path)


def _status_body(e: ApiException) -> dict:
    return json.loads(e.body)


def test_version_and_namespace_dict_body(api, core):
    info = client.VersionApi(api).get_code()  # GET /version/ (trailing slash)
    assert info.major == "1" and info.git_version.startswith("v1.")
    name = f"py-ns-{int(time.time() * 1000) % 100000}"
    ns = core.create_namespace({"metadata": {"name": name}})
    assert ns.status.phase == "Active"
    assert ns.metadata.labels == {"kubernetes.io/metadata.name": name}
    assert core.read_namespaced_service_account("default", name).metadata.name == "default"


def test_create_from_yaml_conflict_raises_fail_to_create(api, ns, web, apps, core):
    dep = apps.read_namespaced_deployment("web", ns)
    assert dep.spec.strategy.type == "RollingUpdate"
    assert dep.spec.strategy.rolling_update.max_surge == "25%"
    assert dep.spec.revision_history_limit == 10
    assert dep.spec.progress_deadline_seconds == 600
    assert dep.metadata.generation == 1
    svc = core.read_namespaced_service("web", ns)
    assert svc.spec.type == "ClusterIP" and svc.spec.cluster_ip.startswith("127.96.")
    assert svc.spec.ports[0].protocol == "TCP"
    with pytest.raises(utils.FailToCreateError) as exc:
        utils.create_from_yaml(api, web, namespace=ns)
    codes = [e.status for e in exc.value.api_exceptions]
    assert codes == [409, 409]
    assert _status_body(exc.value.api_exceptions[0])["message"] == \
        'deployments.apps "web" already exists'


def test_watch_without_resource_version_replays_current_state(core, ns):
    for name in ("w1", "w2"):
        core.create_namespaced_config_map(ns, {"metadata": {"name": name, "labels": {"w": "a"}},
                                               "data": {"k": "v"}})
    events = list(watch.Watch().stream(core.list_namespaced_config_map, ns,
                                       label_selector="w=a", timeout_seconds=1))
    assert [(e["type"], e["object"].metadata.name) for e in events] == [
        ("ADDED", "w1"), ("ADDED", "w2")]
    assert isinstance(events[0]["object"], client.V1ConfigMap)


def test_watch_from_resource_version_sends_only_newer_events(core, ns):
    core.create_namespaced_config_map(ns, {"metadata": {"name": "r1", "labels": {"w": "b"}}})
    rv = core.list_namespaced_config_map(ns, label_selector="w=b").metadata.resource_version
    core.create_namespaced_config_map(ns, {"metadata": {"name": "r2", "labels": {"w": "b"}}})
    core.patch_namespaced_config_map("r1", ns, {"data": {"x": "1"}})
    core.delete_namespaced_config_map("r2", ns)
    # Leaving the selector is seen as DELETED by a filtered watch.
    core.patch_namespaced_config_map("r1", ns, {"metadata": {"labels": {"w": "gone"}}})
    events = list(watch.Watch().stream(core.list_namespaced_config_map, ns, label_selector="w=b",
                                       resource_version=rv, timeout_seconds=1))
    assert [(e["type"], e["object"].metadata.name) for e in events] == [
        ("ADDED", "r2"), ("MODIFIED", "r1"), ("DELETED", "r2"), ("DELETED", "r1")]
    rvs = [int(e["object"].metadata.resource_version) for e in events]
    assert rvs == sorted(rvs) and rvs[0] > int(rv)


def test_watch_streams_live_events(core, ns):
    rv = core.list_namespaced_config_map(ns).metadata.resource_version
    w = watch.Watch()
    seen: list[tuple[str, str]] = []

    def consume():
        for e in w.stream(core.list_namespaced_config_map, ns, resource_version=rv,
                          field_selector="metadata.name=live", timeout_seconds=10):
            seen.append((e["type"], e["object"].metadata.name))
            if e["type"] == "DELETED":
                w.stop()

    t = threading.Thread(target=consume)
    t.start()
    time.sleep(0.2)
    core.create_namespaced_config_map(ns, {"metadata": {"name": "live"}})
    core.create_namespaced_config_map(ns, {"metadata": {"name": "other"}})
    core.delete_namespaced_config_map("live", ns)
    t.join(5)
    assert not t.is_alive()
    assert seen == [("ADDED", "live"), ("DELETED", "live")]


def test_watch_list_bookmark_marks_end_of_initial_events(core, ns):
    core.create_namespaced_config_map(ns, {"metadata": {"name": "b1", "labels": {"w": "c"}}})
    events = list(watch.Watch().stream(
        core.list_namespaced_config_map, ns, label_selector="w=c", send_initial_events=True,
        resource_version_match="NotOlderThan", allow_watch_bookmarks=True, timeout_seconds=1))
    assert [e["type"] for e in events] == ["ADDED", "BOOKMARK"]
    bookmark = events[1]["raw_object"]
    assert bookmark["kind"] == "ConfigMap" and bookmark["apiVersion"] == "v1"
    assert bookmark["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    assert int(bookmark["metadata"]["resourceVersion"]) >= int(
        events[0]["object"].metadata.resource_version)


def test_dynamic_client(api, ns, web):
    dyn = dynamic.DynamicClient(api)
    deployments = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    assert deployments.namespaced and "deploy" in deployments.short_names
    dep = deployments.get(name="web", namespace=ns)
    assert dep.spec.selector.matchLabels.app == "web"
    listed = deployments.get(namespace=ns)
    assert listed.kind == "DeploymentList" and [i.metadata.name for i in listed.items] == ["web"]
    cms = dyn.resources.get(api_version="v1", kind="ConfigMap")
    cms.create(body={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "dyn"},
                     "data": {"a": "1"}}, namespace=ns)
    patched = cms.patch(name="dyn", namespace=ns, body={"data": {"b": "2"}},
                        content_type="application/merge-patch+json")
    assert dict(patched.data) == {"a": "1", "b": "2"}
    hpa_v1 = dyn.resources.get(api_version="autoscaling/v1", kind="HorizontalPodAutoscaler")
    assert hpa_v1.group_version == "autoscaling/v1"
    cms.delete(name="dyn", namespace=ns)
    with pytest.raises(dynamic.exceptions.NotFoundError):
        cms.get(name="dyn", namespace=ns)


def test_scale_subresource_read_patch_replace(apps, ns, web):
    scale = apps.read_namespaced_deployment_scale("web", ns)
    assert scale.spec.replicas == 2
    assert scale.status.selector == "app=web"
    assert scale.metadata.name == "web"
    patched = apps.patch_namespaced_deployment_scale("web", ns, {"spec": {"replicas": 3}})
    assert patched.spec.replicas == 3
    assert apps.read_namespaced_deployment("web", ns).spec.replicas == 3
    body = client.V1Scale(metadata=client.V1ObjectMeta(name="web", namespace=ns),
                          spec=client.V1ScaleSpec(replicas=2))
    assert apps.replace_namespaced_deployment_scale("web", ns, body).spec.replicas == 2
    dep = apps.read_namespaced_deployment("web", ns)
    assert dep.spec.replicas == 2 and dep.metadata.generation == 3
    stale = client.V1Scale(metadata=client.V1ObjectMeta(name="web", namespace=ns,
                                                        resource_version="1"),
                           spec=client.V1ScaleSpec(replicas=5))
    with pytest.raises(ApiException) as exc:
        apps.replace_namespaced_deployment_scale("web", ns, stale)
    assert exc.value.status == 409
    with pytest.raises(ApiException) as exc:
        apps.patch_namespaced_deployment_scale("web", ns, {"spec": {"replicas": -1}})
    assert exc.value.status == 422


def test_statefulset_and_replicaset_scale(apps, ns):
    apps.create_namespaced_stateful_set(ns, {
        "metadata": {"name": "db"},
        "spec": {"replicas": 0, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                 "template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [
                     {"name": "podinfo", "image": f"{PODINFO}:6.9.0"}]}}}})
    apps.patch_namespaced_stateful_set_scale("db", ns, {"spec": {"replicas": 0}})
    scale = apps.read_namespaced_stateful_set_scale("db", ns)
    assert (scale.spec.replicas, scale.status.selector) == (0, "app=db")
    apps.create_namespaced_replica_set(ns, {
        "metadata": {"name": "rs"},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "rs"}},
                 "template": {"metadata": {"labels": {"app": "rs"}}, "spec": {"containers": [
                     {"name": "podinfo", "image": f"{PODINFO}:6.9.0"}]}}}})
    assert apps.read_namespaced_replica_set_scale("rs", ns).status.selector == "app=rs"


def test_hpa_v1_v2_round_trip(api, ns, web):
    v1 = client.AutoscalingV1Api(api)
    v2 = client.AutoscalingV2Api(api)
    target = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}
    v1.create_namespaced_horizontal_pod_autoscaler(ns, {
        "metadata": {"name": "h1"},
        "spec": {"scaleTargetRef": target, "minReplicas": 2, "maxReplicas": 6,
                 "targetCPUUtilizationPercentage": 60}})
    h = v2.read_namespaced_horizontal_pod_autoscaler("h1", ns)
    assert h.spec.min_replicas == 2 and h.spec.max_replicas == 6
    [metric] = h.spec.metrics
    assert (metric.type, metric.resource.name, metric.resource.target.type,
            metric.resource.target.average_utilization) == ("Resource", "cpu", "Utilization", 60)
    assert h.spec.behavior is None
    # No target in v1: the stored v2 object gets the 80 % CPU default, visible through v1.
    v1.create_namespaced_horizontal_pod_autoscaler(ns, {
        "metadata": {"name": "h2"}, "spec": {"scaleTargetRef": target, "maxReplicas": 3}})
    h2 = v1.read_namespaced_horizontal_pod_autoscaler("h2", ns)
    assert (h2.spec.min_replicas, h2.spec.target_cpu_utilization_percentage) == (1, 80)
    # A v2-only metric survives a v1 read-modify-write through the annotation.
    v2.create_namespaced_horizontal_pod_autoscaler(ns, {
        "metadata": {"name": "h3"},
        "spec": {"scaleTargetRef": target, "maxReplicas": 5, "metrics": [
            {"type": "Resource", "resource": {"name": "cpu", "target": {
                "type": "Utilization", "averageUtilization": 50}}},
            {"type": "Resource", "resource": {"name": "memory", "target": {
                "type": "AverageValue", "averageValue": "100Mi"}}}]}})
    h3 = v1.read_namespaced_horizontal_pod_autoscaler("h3", ns)
    assert h3.spec.target_cpu_utilization_percentage == 50
    carried = json.loads(h3.metadata.annotations["autoscaling.alpha.kubernetes.io/metrics"])
    assert carried[0]["resource"]["name"] == "memory"
    h3.spec.max_replicas = 7
    v1.replace_namespaced_horizontal_pod_autoscaler("h3", ns, h3)
    back = v2.read_namespaced_horizontal_pod_autoscaler("h3", ns)
    assert back.spec.max_replicas == 7
    # As upstream's conversion: the annotation's metrics first, then the v1 CPU target.
    assert [(m.resource.name, m.resource.target.type) for m in back.spec.metrics] == [
        ("memory", "AverageValue"), ("cpu", "Utilization")]
    assert back.spec.metrics[0].resource.target.average_value == "100Mi"
    assert not (back.metadata.annotations or {}).get("autoscaling.alpha.kubernetes.io/metrics")
    listed = v1.list_namespaced_horizontal_pod_autoscaler(ns)
    assert listed.api_version == "autoscaling/v1"
    assert sorted(i.metadata.name for i in listed.items) == ["h1", "h2", "h3"]


def test_stale_resource_version_update_conflicts(core, ns):
    cm = core.create_namespaced_config_map(ns, {"metadata": {"name": "occ"}, "data": {"v": "1"}})
    cm.data = {"v": "2"}
    core.replace_namespaced_config_map("occ", ns, cm)
    cm.data = {"v": "3"}  # still carries the first resourceVersion
    with pytest.raises(ApiException) as exc:
        core.replace_namespaced_config_map("occ", ns, cm)
    assert exc.value.status == 409
    body = _status_body(exc.value)
    assert body["reason"] == "Conflict"
    assert body["message"] == ('Operation cannot be fulfilled on configmaps "occ": the object has '
                               "been modified; please apply your changes to the latest version "
                               "and try again")
    assert body["details"] == {"name": "occ", "kind": "configmaps"}
    assert core.read_namespaced_config_map("occ", ns).data == {"v": "2"}


def _owned(core, ns: str, owner_name: str, dependents: list[str]) -> client.V1ConfigMap:
    owner = core.create_namespaced_config_map(ns, {"metadata": {"name": owner_name}})
    ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": owner_name,
           "uid": owner.metadata.uid, "controller": True, "blockOwnerDeletion": True}
    for d in dependents:
        core.create_namespaced_config_map(ns, {"metadata": {"name": d, "ownerReferences": [ref]}})
    return owner


def _exists(core, ns: str, name: str) -> bool:
    try:
        core.read_namespaced_config_map(name, ns)
    except ApiException as e:
        assert e.status == 404
        return False
    return True


def test_delete_background_propagation(core, ns):
    _owned(core, ns, "bg", ["bg-a", "bg-b"])
    status = core.delete_namespaced_config_map("bg", ns, propagation_policy="Background")
    assert status.metadata.name == "bg" if hasattr(status, "metadata") else True
    assert not _exists(core, ns, "bg")
    wait_for(lambda: not _exists(core, ns, "bg-a") and not _exists(core, ns, "bg-b"),
             timeout=10, what="dependents collected")


def test_delete_foreground_propagation(core, ns):
    _owned(core, ns, "fg", ["fg-a"])
    # Hold the dependent so the owner visibly waits in foregroundDeletion.
    core.patch_namespaced_config_map("fg-a", ns, {"metadata": {"finalizers": ["test/hold"]}})
    core.delete_namespaced_config_map("fg", ns, propagation_policy="Foreground")
    owner = core.read_namespaced_config_map("fg", ns)
    assert owner.metadata.deletion_timestamp is not None
    assert owner.metadata.finalizers == ["foregroundDeletion"]
    wait_for(lambda: core.read_namespaced_config_map("fg-a", ns).metadata.deletion_timestamp,
             timeout=10, what="dependent marked for deletion")
    assert _exists(core, ns, "fg")
    core.patch_namespaced_config_map("fg-a", ns, {"metadata": {"finalizers": None}})
    wait_for(lambda: not _exists(core, ns, "fg-a") and not _exists(core, ns, "fg"), timeout=10,
             what="owner removed after its dependent")


def test_delete_orphan_propagation(core, ns):
    _owned(core, ns, "or", ["or-a"])
    core.delete_namespaced_config_map("or", ns, propagation_policy="Orphan")
    wait_for(lambda: not _exists(core, ns, "or"), timeout=10, what="owner gone")
    dep = core.read_namespaced_config_map("or-a", ns)
    assert dep.metadata.owner_references is None


def test_service_proxy_with_path(core, ns, web, pods_run):
    wait_for(lambda: (core.read_namespaced_endpoints("web", ns).subsets or [None])[0],
             timeout=30, what="ready endpoints")
    body = core.connect_get_namespaced_service_proxy_with_path("web:80", ns, "version")
    # The client turns a JSON reply into the str() of the decoded dict.
    info = ast.literal_eval(body) if isinstance(body, str) else body
    assert info["version"] == "6.9.0"
