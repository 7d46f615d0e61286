"""PATCH semantics: the bodies kubectl really sends, and strategic-merge-patch edge cases."""

from __future__ import annotations

import copy
import json

import pytest

from helpers.sandbox.apiserver.errors import ApiError
from helpers.sandbox.apiserver.patch import (
    PatchError,
    UnsupportedPatchType,
    apply_patch,
    json_merge_patch,
    json_patch,
    strategic_merge_patch,
)

SMP = "application/strategic-merge-patch+json"
MERGE = "application/merge-patch+json"
JSONP = "application/json-patch+json"


def dollar_keys(obj) -> list[str]:
    """Every `$...` key anywhere in obj (must be none in a stored object)."""
    found = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k.startswith("$"):
                found.append(k)
            found += dollar_keys(v)
    elif isinstance(obj, list):
        for v in obj:
            found += dollar_keys(v)
    return found


def smp(original: dict, patch: dict, kind: str = "Deployment") -> dict:
    before_o, before_p = copy.deepcopy(original), copy.deepcopy(patch)
    result = strategic_merge_patch(original, patch, kind)
    assert original == before_o, "original mutated"
    assert patch == before_p, "patch mutated"
    assert dollar_keys(result) == []
    return result


def deployment(containers=None, **spec) -> dict:
    containers = containers or [{"name": "nginx", "image": "nginx:1.25",
                                 "ports": [{"containerPort": 80, "protocol": "TCP"}]}]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "demo", "uid": "u1", "resourceVersion": "7",
                     "labels": {"app": "web"},
                     "annotations": {"deployment.kubernetes.io/revision": "1"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "RollingUpdate",
                         "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                         "spec": {"containers": containers, "restartPolicy": "Always"}},
            **spec,
        },
    }


def containers_of(obj: dict) -> list[dict]:
    return obj["spec"]["template"]["spec"]["containers"]


def names(items: list[dict], key: str = "name") -> list:
    return [i[key] for i in items]


# --------------------------------------------------------------------------------------------
# Exact kubectl bodies (kubectl-surface.md §3/§4)


def test_kubectl_set_image():
    live = deployment([{"name": "nginx", "image": "nginx:1.25"},
                       {"name": "side", "image": "busybox:1"}])
    body = {"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "nginx"}, {"name": "side"}],
        "containers": [{"image": "nginx:2.0", "name": "nginx"}]}}}}
    out = smp(live, body)
    assert containers_of(out) == [{"name": "nginx", "image": "nginx:2.0"},
                                  {"name": "side", "image": "busybox:1"}]
    assert out["spec"]["replicas"] == 2
    assert out["metadata"] == live["metadata"]


def test_kubectl_set_image_single_container_body_verbatim():
    body = ('{"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"nginx"}],'
            '"containers":[{"image":"nginx:2.0","name":"nginx"}]}}}}')
    out = apply_patch(deployment(), body.encode(), SMP, "Deployment")
    assert containers_of(out) == [{"name": "nginx", "image": "nginx:2.0",
                                   "ports": [{"containerPort": 80, "protocol": "TCP"}]}]
    assert dollar_keys(out) == []


def test_kubectl_apply_second_time_replicas_image_and_annotation():
    applied = '{"apiVersion":"apps/v1","kind":"Deployment"}\n'
    body = {"metadata": {"annotations": {
        "kubectl.kubernetes.io/last-applied-configuration": applied}},
        "spec": {"replicas": 3, "template": {"spec": {
            "$setElementOrder/containers": [{"name": "nginx"}],
            "containers": [{"image": "nginx:1.26", "name": "nginx"}]}}}}
    out = smp(deployment(), body)
    assert out["spec"]["replicas"] == 3
    assert containers_of(out)[0]["image"] == "nginx:1.26"
    assert containers_of(out)[0]["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert out["metadata"]["annotations"] == {
        "deployment.kubernetes.io/revision": "1",
        "kubectl.kubernetes.io/last-applied-configuration": applied}


def test_rollout_pause_and_resume():
    paused = smp(deployment(), {"spec": {"paused": True}})
    assert paused["spec"]["paused"] is True
    resumed = apply_patch(paused, b'{"spec":{"paused":null}}', SMP, "Deployment")
    assert "paused" not in resumed["spec"]
    # resuming something that was never paused is a no-op, not a stored null
    assert smp(deployment(), {"spec": {"paused": None}}) == deployment()


def test_apply_strategy_retain_keys_drops_rolling_update():
    out = smp(deployment(), {"spec": {"strategy": {"$retainKeys": ["type"],
                                                   "type": "Recreate"}}})
    assert out["spec"]["strategy"] == {"type": "Recreate"}


def test_apply_strategy_retain_keys_back_to_rolling_update():
    live = deployment()
    live["spec"]["strategy"] = {"type": "Recreate"}
    out = smp(live, {"spec": {"strategy": {
        "$retainKeys": ["rollingUpdate", "type"], "rollingUpdate": {"maxSurge": 1},
        "type": "RollingUpdate"}}})
    assert out["spec"]["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}


def test_apply_removal_forms_null_lists():
    live = deployment([{"name": "nginx", "image": "nginx", "ports": [{"containerPort": 80}],
                        "env": [{"name": "A", "value": "1"}]}])
    out = smp(live, {"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "nginx"}],
        "containers": [{"name": "nginx", "ports": None, "env": None}]}}}})
    assert containers_of(out) == [{"name": "nginx", "image": "nginx"}]


def test_apply_removal_of_list_element():
    live = deployment([{"name": "nginx", "image": "nginx"}, {"name": "side", "image": "bb"}])
    out = smp(live, {"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "nginx"}],
        "containers": [{"$patch": "delete", "name": "side"}]}}}})
    assert containers_of(out) == [{"name": "nginx", "image": "nginx"}]


def test_apply_with_nested_set_element_order_inside_container():
    live = deployment([{"name": "nginx", "image": "nginx",
                        "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}])
    out = smp(live, {"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "nginx"}],
        "containers": [{"name": "nginx",
                        "$setElementOrder/env": [{"name": "B"}, {"name": "C"}],
                        "env": [{"name": "C", "value": "3"}, {"$patch": "delete", "name": "A"}]}]
    }}}})
    assert containers_of(out)[0]["env"] == [{"name": "B", "value": "2"},
                                            {"name": "C", "value": "3"}]


def test_service_selector_patch_merges_keys():
    svc = {"kind": "Service", "metadata": {"name": "web"},
           "spec": {"selector": {"app": "web", "version": "blue"},
                    "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}]}}
    out = smp(svc, {"spec": {"selector": {"version": "green"}}}, "Service")
    assert out["spec"]["selector"] == {"app": "web", "version": "green"}
    out = smp(svc, {"spec": {"selector": {"tier": "fe"}}}, "Service")
    assert out["spec"]["selector"] == {"app": "web", "version": "blue", "tier": "fe"}
    out = smp(svc, {"spec": {"selector": {"version": None}}}, "Service")
    assert out["spec"]["selector"] == {"app": "web"}


def test_cordon_node():
    node = {"kind": "Node", "metadata": {"name": "n1"}, "spec": {}}
    assert smp(node, {"spec": {"unschedulable": True}}, "Node")["spec"] == {"unschedulable": True}


def test_rollout_restart_annotation():
    body = {"spec": {"template": {"metadata": {"annotations": {
        "kubectl.kubernetes.io/restartedAt": "2024-01-02T03:04:05Z"}}}}}
    out = smp(deployment(), body)
    assert out["spec"]["template"]["metadata"] == {
        "labels": {"app": "web"},
        "annotations": {"kubectl.kubernetes.io/restartedAt": "2024-01-02T03:04:05Z"}}


def test_statefulset_rollback_replaces_template():
    sts = deployment()
    sts["kind"] = "StatefulSet"
    sts["spec"]["template"]["metadata"]["annotations"] = {"x": "y"}
    new_template = {"metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "nginx", "image": "nginx:1.24"}]},
                    "$patch": "replace"}
    out = smp(sts, {"spec": {"template": new_template}}, "StatefulSet")
    assert out["spec"]["template"] == {"metadata": {"labels": {"app": "web"}},
                                       "spec": {"containers": [{"name": "nginx",
                                                                "image": "nginx:1.24"}]}}


def test_python_client_scale_body_as_smp():
    scale = {"kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": {"name": "web"},
             "spec": {"replicas": 2}, "status": {"replicas": 2, "selector": "app=web"}}
    out = smp(scale, {"spec": {"replicas": 5}}, "Scale")
    assert out["spec"] == {"replicas": 5}
    assert out["status"] == scale["status"]


# --------------------------------------------------------------------------------------------
# Merge keys per field path


@pytest.mark.parametrize("kind,prefix", [
    ("Deployment", ["spec", "template", "spec"]),
    ("ReplicaSet", ["spec", "template", "spec"]),
    ("StatefulSet", ["spec", "template", "spec"]),
    ("DaemonSet", ["spec", "template", "spec"]),
    ("Job", ["spec", "template", "spec"]),
    ("CronJob", ["spec", "jobTemplate", "spec", "template", "spec"]),
    ("PodTemplate", ["template", "spec"]),
    ("Pod", ["spec"]),
])
def test_pod_spec_lists_merge_by_key_in_every_workload(kind, prefix):
    def wrap(pod_spec):
        obj = pod_spec
        for key in reversed(prefix):
            obj = {key: obj}
        return obj

    def unwrap(obj):
        for key in prefix:
            obj = obj[key]
        return obj

    live = wrap({
        "containers": [{"name": "a", "image": "a:1",
                        "ports": [{"containerPort": 80, "name": "http"}],
                        "env": [{"name": "X", "value": "1"}],
                        "volumeMounts": [{"mountPath": "/data", "name": "d"}],
                        "volumeDevices": [{"devicePath": "/dev/x", "name": "blk"}],
                        "args": ["--a", "--b"]}],
        "initContainers": [{"name": "init", "image": "i:1"}],
        "volumes": [{"name": "d", "emptyDir": {}}],
        "imagePullSecrets": [{"name": "reg1"}],
        "hostAliases": [{"ip": "127.0.0.1", "hostnames": ["a"]}],
        "tolerations": [{"key": "k1", "operator": "Exists"}],
        "topologySpreadConstraints": [{"topologyKey": "zone", "maxSkew": 1}],
    })
    patch = wrap({
        "containers": [{"name": "a",
                        "ports": [{"containerPort": 81, "name": "alt"}],
                        "env": [{"name": "Y", "value": "2"}, {"name": "X", "value": "9"}],
                        "volumeMounts": [{"mountPath": "/cache", "name": "c"}],
                        "volumeDevices": [{"devicePath": "/dev/y", "name": "blk2"}],
                        "args": ["--c"]}],
        "initContainers": [{"name": "init", "image": "i:2"}],
        "volumes": [{"name": "c", "emptyDir": {}}],
        "imagePullSecrets": [{"name": "reg2"}],
        "hostAliases": [{"ip": "127.0.0.1", "hostnames": ["b"]}],
        "tolerations": [{"key": "k2", "operator": "Exists"}],
        "topologySpreadConstraints": [{"topologyKey": "zone", "maxSkew": 2}],
    })
    out = unwrap(smp(live, patch, kind))
    c = out["containers"][0]
    assert c["image"] == "a:1"
    # without $setElementOrder, Go puts items new to the list ahead of server-only ones
    assert c["ports"] == [{"containerPort": 81, "name": "alt"},
                          {"containerPort": 80, "name": "http"}]
    assert c["env"] == [{"name": "Y", "value": "2"}, {"name": "X", "value": "9"}]
    assert names(c["volumeMounts"], "mountPath") == ["/cache", "/data"]
    assert names(c["volumeDevices"], "devicePath") == ["/dev/y", "/dev/x"]
    assert c["args"] == ["--c"]  # atomic
    assert out["initContainers"] == [{"name": "init", "image": "i:2"}]
    assert names(out["volumes"]) == ["c", "d"]
    assert names(out["imagePullSecrets"]) == ["reg2", "reg1"]
    assert out["hostAliases"] == [{"ip": "127.0.0.1", "hostnames": ["b"]}]  # hostnames atomic
    assert out["tolerations"] == [{"key": "k2", "operator": "Exists"}]  # atomic
    assert out["topologySpreadConstraints"] == [{"topologyKey": "zone", "maxSkew": 2}]


def test_ephemeral_containers_merge_by_name():
    pod = {"kind": "Pod", "spec": {"containers": [{"name": "app", "image": "a"}],
                                   "ephemeralContainers": [{"name": "dbg", "image": "bb"}]}}
    out = smp(pod, {"spec": {"ephemeralContainers": [{"name": "dbg2", "image": "bb"}]}}, "Pod")
    assert names(out["spec"]["ephemeralContainers"]) == ["dbg2", "dbg"]


def test_new_container_without_order_goes_first_like_kubernetes_docs_example():
    # docs "Update API Objects in Place Using kubectl patch": patching in a redis container
    # yields [redis, nginx] (Go mergeSortedSlice takes patch items not in the live list first)
    live = deployment([{"name": "patch-demo-ctr", "image": "nginx"}])
    out = smp(live, {"spec": {"template": {"spec": {"containers": [
        {"name": "patch-demo-ctr-2", "image": "redis"}]}}}})
    assert names(containers_of(out)) == ["patch-demo-ctr-2", "patch-demo-ctr"]
    live = deployment([{"name": "a", "image": "a"}, {"name": "b", "image": "b"}])
    out = smp(live, {"spec": {"template": {"spec": {"containers": [{"name": "c",
                                                                     "image": "c"}]}}}})
    assert names(containers_of(out)) == ["c", "a", "b"]


def test_patch_order_wins_over_live_order_for_patched_items():
    live = deployment([{"name": "a", "image": "a"}, {"name": "b", "image": "b"},
                       {"name": "c", "image": "c"}])
    out = smp(live, {"spec": {"template": {"spec": {"containers": [
        {"name": "c", "image": "c2"}, {"name": "a", "image": "a2"}]}}}})
    # patched items in patch order; the server-only item b goes in before the first patched
    # item that followed it in the live list (c)
    assert [(c["name"], c["image"]) for c in containers_of(out)] == [
        ("b", "b"), ("c", "c2"), ("a", "a2")]


def test_set_element_order_reorders_without_content_change():
    live = deployment([{"name": "a", "image": "a"}, {"name": "b", "image": "b"}])
    out = smp(live, {"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "b"}, {"name": "a"}]}}}})
    assert names(containers_of(out)) == ["b", "a"]


def test_set_element_order_places_new_item():
    live = deployment([{"name": "a", "image": "a"}, {"name": "c", "image": "c"}])
    out = smp(live, {"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "a"}, {"name": "b"}, {"name": "c"}],
        "containers": [{"name": "b", "image": "b"}]}}}})
    assert names(containers_of(out)) == ["a", "b", "c"]


def test_set_element_order_keeps_server_only_items_in_live_position():
    live = deployment([{"name": "a", "image": "a"}, {"name": "srv", "image": "s"},
                       {"name": "c", "image": "c"}])
    out = smp(live, {"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "a"}, {"name": "c"}],
        "containers": [{"name": "c", "image": "c2"}]}}}})
    assert names(containers_of(out)) == ["a", "srv", "c"]


def test_set_element_order_on_list_missing_from_live_object():
    live = deployment()
    del live["spec"]["template"]["spec"]["containers"][0]["ports"]
    out = smp(live, {"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "nginx"}],
        "containers": [{"name": "nginx", "$setElementOrder/ports": [{"containerPort": 8080}],
                        "ports": [{"containerPort": 8080}]}]}}}})
    assert containers_of(out)[0]["ports"] == [{"containerPort": 8080}]


def test_set_element_order_mismatch_is_rejected():
    live = deployment([{"name": "a", "image": "a"}, {"name": "b", "image": "b"}])
    with pytest.raises(PatchError, match="doesn't match \\$setElementOrder list"):
        smp(live, {"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "a"}, {"name": "b"}],
            "containers": [{"name": "b", "image": "b2"}, {"name": "a", "image": "a2"}]}}}})


def test_set_element_order_must_be_a_list():
    with pytest.raises(PatchError) as err:
        smp(deployment(), {"spec": {"template": {"spec": {
            "$setElementOrder/containers": {"name": "a"}}}}})
    assert err.value.code == 400
    assert str(err.value) == "invalid patch format of setElementOrder list"


def test_service_ports_merge_by_port():
    svc = {"kind": "Service", "spec": {"ports": [{"port": 80, "targetPort": 8080},
                                                 {"port": 443, "targetPort": 8443}]}}
    out = smp(svc, {"spec": {"ports": [{"port": 80, "targetPort": 9090}]}}, "Service")
    assert out["spec"]["ports"] == [{"port": 80, "targetPort": 9090},
                                    {"port": 443, "targetPort": 8443}]
    out = smp(svc, {"spec": {"ports": [{"$patch": "delete", "port": 443}]}}, "Service")
    assert out["spec"]["ports"] == [{"port": 80, "targetPort": 8080}]


def test_container_ports_list_is_not_keyed_by_port_outside_services():
    # a Deployment has no spec.ports: unknown list fields are replaced atomically
    live = deployment(ports=[{"port": 1}])
    out = smp(live, {"spec": {"ports": [{"port": 2}]}})
    assert out["spec"]["ports"] == [{"port": 2}]


def test_conditions_merge_by_type_for_any_kind():
    live = {"kind": "HorizontalPodAutoscaler", "status": {"conditions": [
        {"type": "AbleToScale", "status": "True"},
        {"type": "ScalingActive", "status": "False"}]}}
    out = smp(live, {"status": {"conditions": [{"type": "ScalingActive", "status": "True"},
                                               {"type": "ScalingLimited",
                                                "status": "False"}]}},
              "HorizontalPodAutoscaler")
    assert out["status"]["conditions"] == [
        {"type": "AbleToScale", "status": "True"},
        {"type": "ScalingActive", "status": "True"},
        {"type": "ScalingLimited", "status": "False"}]


def test_pod_status_conditions_and_pod_ips():
    pod = {"kind": "Pod", "status": {"conditions": [{"type": "Ready", "status": "False"}],
                                     "podIPs": [{"ip": "127.244.0.5"}]}}
    out = smp(pod, {"status": {"conditions": [{"type": "Ready", "status": "True"}],
                               "podIPs": [{"ip": "127.244.0.5"}]}}, "Pod")
    assert out["status"] == {"conditions": [{"type": "Ready", "status": "True"}],
                             "podIPs": [{"ip": "127.244.0.5"}]}


def test_owner_references_merge_by_uid():
    live = {"metadata": {"ownerReferences": [{"uid": "1", "name": "a", "controller": True}]}}
    out = smp(live, {"metadata": {"ownerReferences": [{"uid": "2", "name": "b"},
                                                      {"uid": "1", "controller": False}]}},
              "ReplicaSet")
    assert out["metadata"]["ownerReferences"] == [
        {"uid": "2", "name": "b"}, {"uid": "1", "name": "a", "controller": False}]


def test_finalizers_are_a_merged_set():
    live = {"metadata": {"finalizers": ["a", "b"]}}
    out = smp(live, {"metadata": {"finalizers": ["b", "c"]}}, "Namespace")
    assert out["metadata"]["finalizers"] == ["a", "b", "c"]
    out = smp(live, {"metadata": {"finalizers": ["a"]}}, "Pod")
    assert out["metadata"]["finalizers"] == ["a", "b"]


def test_delete_from_primitive_list():
    live = {"metadata": {"finalizers": ["a", "b", "c"]}}
    out = smp(live, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["b", "zz"]}}, "Pod")
    assert out["metadata"]["finalizers"] == ["a", "c"]
    # nothing to delete from: no key is created
    out = smp({"metadata": {}}, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["b"]}},
              "Pod")
    assert out["metadata"] == {}


def test_delete_from_primitive_list_with_order_and_additions():
    live = {"metadata": {"finalizers": ["a", "b", "c"]}}
    out = smp(live, {"metadata": {"$setElementOrder/finalizers": ["d", "c", "a"],
                                  "$deleteFromPrimitiveList/finalizers": ["b"],
                                  "finalizers": ["d"]}}, "Pod")
    assert out["metadata"]["finalizers"] == ["d", "c", "a"]


def test_args_command_env_from_tolerations_are_atomic():
    live = deployment([{"name": "a", "image": "a", "args": ["x", "y"], "command": ["sh"],
                        "envFrom": [{"configMapRef": {"name": "one"}}]}])
    out = smp(live, {"spec": {"template": {"spec": {"containers": [
        {"name": "a", "args": ["y"], "command": ["bash", "-c"],
         "envFrom": [{"secretRef": {"name": "two"}}]}]}}}})
    c = containers_of(out)[0]
    assert c["args"] == ["y"]
    assert c["command"] == ["bash", "-c"]
    assert c["envFrom"] == [{"secretRef": {"name": "two"}}]


def test_unknown_list_of_maps_is_replaced():
    live = {"spec": {"rules": [{"host": "a"}, {"host": "b"}]}}
    assert smp(live, {"spec": {"rules": [{"host": "c"}]}}, "Ingress")["spec"] == {
        "rules": [{"host": "c"}]}


# --------------------------------------------------------------------------------------------
# Directives and null handling


def test_null_deletes_and_unmatched_nulls_are_not_stored():
    live = {"metadata": {"labels": {"app": "web", "tier": "fe"}}}
    out = smp(live, {"metadata": {"labels": {"tier": None, "ghost": None, "new": "x"}}}, "Pod")
    assert out["metadata"]["labels"] == {"app": "web", "new": "x"}


def test_new_map_value_has_nulls_and_directives_stripped():
    out = smp({"spec": {}}, {"spec": {"template": {"metadata": {"labels": {"a": "1", "b": None}},
                                                   "spec": {"$setElementOrder/containers": [
                                                       {"name": "x"}],
                                                       "containers": [{"name": "x",
                                                                       "image": "i",
                                                                       "env": None}]}}}})
    assert out == {"spec": {"template": {"metadata": {"labels": {"a": "1"}},
                                         "spec": {"containers": [{"name": "x", "image": "i"}]}}}}


def test_new_container_with_nested_directives_is_cleaned():
    live = deployment([{"name": "a", "image": "a"}])
    out = smp(live, {"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "a"}, {"name": "b"}],
        "containers": [{"name": "b", "image": "b",
                        "$setElementOrder/env": [{"name": "E"}],
                        "env": [{"name": "E", "value": "1"}],
                        "resources": {"limits": {"cpu": "1", "memory": None}}}]}}}})
    assert containers_of(out)[1] == {"name": "b", "image": "b",
                                     "env": [{"name": "E", "value": "1"}],
                                     "resources": {"limits": {"cpu": "1"}}}


def test_patch_replace_on_map():
    live = {"metadata": {"labels": {"a": "1", "b": "2"}}}
    out = smp(live, {"metadata": {"labels": {"$patch": "replace", "c": "3"}}}, "Pod")
    assert out["metadata"]["labels"] == {"c": "3"}


def test_patch_replace_on_whole_object():
    out = smp(deployment(), {"$patch": "replace", "kind": "Deployment", "spec": {}})
    assert out == {"kind": "Deployment", "spec": {}}


def test_patch_replace_list_item_replaces_the_list():
    live = deployment([{"name": "a", "image": "a"}, {"name": "b", "image": "b"}])
    out = smp(live, {"spec": {"template": {"spec": {"containers": [
        {"name": "z", "image": "z"}, {"$patch": "replace"}]}}}})
    assert containers_of(out) == [{"name": "z", "image": "z"}]


def test_patch_delete_on_map_empties_it():
    # Go's mergeMap returns an empty map for `$patch: delete`
    live = {"spec": {"affinity": {"nodeAffinity": {"x": 1}}, "nodeName": "n"}}
    out = smp(live, {"spec": {"affinity": {"$patch": "delete"}}}, "Pod")
    assert out["spec"] == {"affinity": {}, "nodeName": "n"}


def test_patch_merge_on_map_is_a_plain_merge():
    live = {"metadata": {"labels": {"a": "1"}}}
    out = smp(live, {"metadata": {"labels": {"$patch": "merge", "b": "2"}}}, "Pod")
    assert out["metadata"]["labels"] == {"a": "1", "b": "2"}


def test_patch_delete_list_item_removes_every_match():
    live = {"spec": {"volumes": [{"name": "v", "emptyDir": {}}, {"name": "w"},
                                 {"name": "v", "hostPath": {}}]}}
    out = smp(live, {"spec": {"volumes": [{"name": "v", "$patch": "delete"}]}}, "Pod")
    assert out["spec"]["volumes"] == [{"name": "w"}]


def test_patch_delete_of_missing_item_is_a_noop():
    live = deployment([{"name": "a", "image": "a"}])
    out = smp(live, {"spec": {"template": {"spec": {"containers": [
        {"name": "ghost", "$patch": "delete"}]}}}})
    assert containers_of(out) == [{"name": "a", "image": "a"}]


def test_unknown_patch_directive_is_an_error():
    with pytest.raises(PatchError, match=r"unknown patch type: frobnicate in map: map\[\$patch:frobnicate a:1\]"):
        smp({"metadata": {}}, {"metadata": {"labels": {"$patch": "frobnicate", "a": 1}}})
    with pytest.raises(PatchError, match="unknown patch type: nope"):
        smp(deployment(), {"spec": {"template": {"spec": {"containers": [
            {"name": "a", "$patch": "nope"}]}}}})


def test_patch_merge_in_list_is_rejected_like_go():
    with pytest.raises(PatchError, match="merging lists cannot yet be specified in the patch"):
        smp(deployment(), {"spec": {"template": {"spec": {"containers": [
            {"name": "a", "$patch": "merge"}]}}}})


def test_list_item_without_merge_key_is_an_error():
    with pytest.raises(PatchError) as err:
        smp(deployment(), {"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}})
    assert str(err.value) == "map: map[image:x] does not contain declared merge key: name"
    assert err.value.code == 422
    with pytest.raises(PatchError, match="does not contain declared merge key: name"):
        smp(deployment(), {"spec": {"template": {"spec": {"containers": [
            {"$patch": "delete"}]}}}})


def test_retain_keys_with_patch_content_outside_the_list():
    with pytest.raises(PatchError) as err:
        smp(deployment(), {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate",
                                                 "rollingUpdate": {"maxSurge": 1}}}})
    assert str(err.value) == "patch content doesn't match retainKeys list"
    assert err.value.code == 422


def test_retain_keys_must_be_a_list():
    with pytest.raises(PatchError) as err:
        smp(deployment(), {"spec": {"strategy": {"$retainKeys": "type"}}})
    assert err.value.code == 400
    assert err.value.reason == "BadRequest"


def test_retain_keys_on_volume_source_switch():
    live = {"spec": {"volumes": [{"name": "d", "emptyDir": {}}]}}
    out = smp(live, {"spec": {"volumes": [{"name": "d", "$retainKeys": ["configMap", "name"],
                                           "configMap": {"name": "cm"}}]}}, "Pod")
    assert out["spec"]["volumes"] == [{"name": "d", "configMap": {"name": "cm"}}]


def test_unknown_dollar_keys_are_dropped():
    out = smp({"spec": {"replicas": 1}}, {"spec": {"$bogus": 1, "replicas": 2}})
    assert out == {"spec": {"replicas": 2}}


def test_type_change_replaces_value():
    live = {"spec": {"x": {"a": 1}, "y": [1], "z": "s"}}
    out = smp(live, {"spec": {"x": "now-a-string", "y": {"k": "v", "n": None}, "z": [1]}},
              "Thing")
    assert out == {"spec": {"x": "now-a-string", "y": {"k": "v"}, "z": [1]}}


def test_lists_of_lists_are_rejected_when_merging():
    with pytest.raises(PatchError, match="lists of lists are not supported"):
        smp({"metadata": {"finalizers": [["a"]]}}, {"metadata": {"finalizers": [["b"]]}}, "Pod")


def test_mixed_element_types_are_rejected_when_merging():
    with pytest.raises(PatchError, match="list element types are not identical"):
        smp({"metadata": {"finalizers": ["a"]}}, {"metadata": {"finalizers": [1]}}, "Pod")


def test_merge_key_comparison_does_not_confuse_bool_and_number():
    live = {"spec": {"ports": [{"port": 1, "name": "one"}]}}
    out = smp(live, {"spec": {"ports": [{"port": True, "name": "bool"}]}}, "Service")
    assert names(out["spec"]["ports"]) == ["bool", "one"]
    out = smp(live, {"spec": {"ports": [{"port": 1.0, "name": "float"}]}}, "Service")
    assert names(out["spec"]["ports"]) == ["float"]


def test_empty_patch_is_identity():
    live = deployment()
    assert smp(live, {}) == live
    assert apply_patch(live, b"{}", SMP, "Deployment") == live


def test_smp_patch_must_be_object():
    with pytest.raises(PatchError) as err:
        strategic_merge_patch({}, [1], "Pod")  # type: ignore[arg-type]
    assert err.value.code == 400
    assert "cannot unmarshal array into Go value of type map[string]interface {}" in str(
        err.value)


# --------------------------------------------------------------------------------------------
# RFC 7386 merge patch


@pytest.mark.parametrize("target,patch,expected", [
    # RFC 7386 Appendix A
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
])
def test_json_merge_patch_rfc_examples(target, patch, expected):
    before = copy.deepcopy(target)
    assert json_merge_patch(target, patch) == expected
    assert target == before


def test_merge_patch_lists_are_replaced_not_merged():
    live = deployment([{"name": "a", "image": "a"}, {"name": "b", "image": "b"}])
    out = json_merge_patch(live, {"spec": {"template": {"spec": {"containers": [
        {"name": "b", "image": "b2"}]}}}})
    assert containers_of(out) == [{"name": "b", "image": "b2"}]


def test_kubectl_scale_and_label_merge_patches():
    scale = {"kind": "Scale", "spec": {"replicas": 2}, "status": {"replicas": 2}}
    assert apply_patch(scale, b'{"spec":{"replicas":4}}', MERGE, "Scale")["spec"] == {
        "replicas": 4}
    out = apply_patch(deployment(), b'{"metadata":{"labels":{"env":"prod"}}}', MERGE,
                      "Deployment")
    assert out["metadata"]["labels"] == {"app": "web", "env": "prod"}
    out = apply_patch(out, b'{"metadata":{"labels":{"env":null}}}', MERGE, "Deployment")
    assert out["metadata"]["labels"] == {"app": "web"}


def test_merge_patch_with_non_object_body_is_rejected():
    with pytest.raises(PatchError) as err:
        apply_patch(deployment(), b'["x"]', MERGE, "Deployment")
    assert err.value.code == 400
    with pytest.raises(PatchError):
        json_merge_patch({"a": 1}, "x")  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# RFC 6902 JSON patch


def test_kubectl_rollout_undo_json_patch():
    live = deployment([{"name": "nginx", "image": "nginx:1.26"}])
    live["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] = "{}"
    template = {"metadata": {"creationTimestamp": None, "labels": {"app": "web"}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25",
                                         "imagePullPolicy": "IfNotPresent"}],
                         "restartPolicy": "Always", "dnsPolicy": "ClusterFirst"}}
    annotations = {"deployment.kubernetes.io/revision": "1",
                   "kubectl.kubernetes.io/last-applied-configuration": "{}"}
    body = json.dumps([
        {"op": "replace", "path": "/spec/template", "value": template},
        {"op": "replace", "path": "/metadata/annotations", "value": annotations}])
    before = copy.deepcopy(live)
    out = apply_patch(live, body, JSONP, "Deployment")
    assert live == before
    assert out["spec"]["template"] == template
    assert out["metadata"]["annotations"] == annotations
    assert out["spec"]["replicas"] == 2


def test_json_patch_ops():
    doc = {"metadata": {"labels": {"a": "1"}}, "spec": {"items": [1, 2]}}
    out = json_patch(doc, [
        {"op": "add", "path": "/metadata/labels/b", "value": "2"},
        {"op": "remove", "path": "/metadata/labels/a"},
        {"op": "add", "path": "/spec/items/-", "value": 3},
        {"op": "test", "path": "/spec/items/0", "value": 1},
        {"op": "copy", "from": "/spec/items", "path": "/spec/copy"},
        {"op": "move", "from": "/spec/copy", "path": "/spec/moved"},
    ])
    assert out == {"metadata": {"labels": {"b": "2"}},
                   "spec": {"items": [1, 2, 3], "moved": [1, 2, 3]}}
    assert doc == {"metadata": {"labels": {"a": "1"}}, "spec": {"items": [1, 2]}}


@pytest.mark.parametrize("ops", [
    [{"op": "remove", "path": "/metadata/labels/missing"}],
    [{"op": "replace", "path": "/spec/nothing/here", "value": 1}],
    [{"op": "add", "path": "/no/parent", "value": 1}],
    [{"op": "test", "path": "/spec/replicas", "value": 99}],
    [{"op": "frobnicate", "path": "/spec"}],
    [{"path": "/spec"}],
])
def test_json_patch_failures_are_422_with_apiserver_wording(ops):
    live = {"metadata": {"labels": {}}, "spec": {"replicas": 1}}
    with pytest.raises(PatchError) as err:
        json_patch(live, ops)
    assert err.value.code == 422
    assert err.value.reason == "Invalid"
    assert str(err.value) == "the server rejected our request due to an error in our request"
    assert err.value.detail


def test_json_patch_body_shape_errors_are_400():
    with pytest.raises(PatchError) as err:
        apply_patch({}, b'{"op":"add"}', JSONP, "Pod")
    assert err.value.code == 400
    assert str(err.value) == ("json: cannot unmarshal object into Go value of type "
                              "jsonpatch.Patch")
    with pytest.raises(PatchError) as err:
        json_patch({}, ["add"])
    assert err.value.code == 400


def test_json_patch_operation_limit():
    with pytest.raises(PatchError) as err:
        json_patch({"a": 1}, [{"op": "test", "path": "/a", "value": 1}] * 10001)
    assert err.value.code == 413


def test_json_patch_replacing_root_with_non_object_is_rejected():
    with pytest.raises(PatchError):
        json_patch({"a": 1}, [{"op": "replace", "path": "", "value": [1]}])


# --------------------------------------------------------------------------------------------
# apply_patch dispatch and errors


def test_content_type_parameters_and_case_are_ignored():
    out = apply_patch({"spec": {"paused": True}}, '{"spec":{"paused":null}}',
                      "Application/Strategic-Merge-Patch+JSON; charset=utf-8", "Deployment")
    assert out == {"spec": {}}


@pytest.mark.parametrize("ctype", ["application/apply-patch+yaml", "application/json", "",
                                   "text/plain"])
def test_unsupported_content_types(ctype):
    with pytest.raises(UnsupportedPatchType) as err:
        apply_patch({}, b"{}", ctype, "Pod")
    assert isinstance(err.value, PatchError)
    assert err.value.code == 415
    assert err.value.reason == "UnsupportedMediaType"
    assert str(err.value).startswith(
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json-patch+json, application/merge-patch+json, "
        "application/strategic-merge-patch+json")


@pytest.mark.parametrize("body,message", [
    (b"{not json}", "invalid character 'n'"),
    (b'{"spec":', "unexpected end of JSON input"),
    (b"", "unexpected end of JSON input"),
    (b'{"a": NaN}', "invalid character 'N' looking for beginning of value"),
    (b"\xff\xfe", "invalid UTF-8"),
])
def test_bad_json_is_400(body, message):
    for ctype in (SMP, MERGE, JSONP):
        with pytest.raises(PatchError) as err:
            apply_patch({}, body, ctype, "Pod")
        assert err.value.code == 400
        assert err.value.reason == "BadRequest"
        assert message in str(err.value)


def test_smp_body_must_be_an_object_and_null_is_noop():
    with pytest.raises(PatchError) as err:
        apply_patch({}, b'"x"', SMP, "Pod")
    assert err.value.code == 400
    assert apply_patch({"a": 1}, b"null", SMP, "Pod") == {"a": 1}


def test_patch_error_converts_to_api_error_status():
    err = PatchError("patch content doesn't match retainKeys list")
    api = err.as_api_error()
    assert isinstance(api, ApiError)
    status = api.status()
    assert status["code"] == 422
    assert status["reason"] == "Invalid"
    assert status["message"] == "patch content doesn't match retainKeys list"
    assert UnsupportedPatchType("x/y").as_api_error().code == 415


def test_json_patch_result_shares_nothing_with_the_ops():
    ops = [{"op": "add", "path": "/spec", "value": {"replicas": 1}}]
    out = json_patch({}, ops)
    out["spec"]["replicas"] = 5
    assert ops[0]["value"] == {"replicas": 1}
