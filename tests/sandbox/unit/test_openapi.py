"""Structure of the minimal OpenAPI documents (what kubectl's fieldValidation check reads)."""

from __future__ import annotations

import yaml

from helpers.sandbox.apiserver.openapi import (
    served_group_versions,
    v2_protobuf,
    v3_group_version,
    v3_root,
)
from helpers.sandbox.apiserver.protobuf import iter_fields
from helpers.sandbox.apiserver.resources import RESOURCES


def test_root_lists_every_writable_group_version() -> None:
    root = v3_root(RESOURCES, "abc")
    assert list(root) == ["paths"]
    assert set(root["paths"]) == {
        "api/v1", "apis/apps/v1", "apis/autoscaling/v2", "apis/autoscaling/v1",
        "apis/discovery.k8s.io/v1", "apis/storage.k8s.io/v1", "apis/batch/v1",
        "apis/coordination.k8s.io/v1",
    }
    url = root["paths"]["apis/apps/v1"]["serverRelativeURL"]
    assert url.startswith("/openapi/v3/apis/apps/v1?hash=")
    assert len(url.split("hash=")[1]) == 128


def test_hashes_differ_per_document_and_base() -> None:
    a, b = v3_root(RESOURCES, "a")["paths"], v3_root(RESOURCES, "b")["paths"]
    assert a["api/v1"] != a["apis/apps/v1"]
    assert a["api/v1"] != b["api/v1"]
    assert a == v3_root(RESOURCES, "a")["paths"]


def test_served_group_versions_in_discovery_order_without_metrics() -> None:
    gvs = served_group_versions(RESOURCES)
    assert gvs[:2] == [("", "v1"), ("apps", "v1")]
    assert gvs.index(("autoscaling", "v2")) < gvs.index(("autoscaling", "v1"))
    assert ("metrics.k8s.io", "v1beta1") not in gvs


def _patch_ops(doc: dict) -> dict[str, dict]:
    return {path: item["patch"] for path, item in doc["paths"].items() if "patch" in item}


def test_deployment_patch_operation_accepts_field_validation() -> None:
    doc = v3_group_version(RESOURCES, "apps", "v1")
    assert doc is not None
    op = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert op["x-kubernetes-group-version-kind"] == {
        "group": "apps", "version": "v1", "kind": "Deployment"}
    assert {"name": "fieldValidation", "in": "query", "schema": {"type": "string"}} in \
        op["parameters"]
    assert "requestBody" not in op  # kubectl then builds SMP from its built-in types
    kinds = {op["x-kubernetes-group-version-kind"]["kind"] for op in _patch_ops(doc).values()}
    assert kinds == {"Deployment", "ReplicaSet", "StatefulSet", "ControllerRevision"}


def test_core_group_uses_empty_group_and_cluster_paths() -> None:
    doc = v3_group_version(RESOURCES, "", "v1")
    assert doc is not None
    ops = _patch_ops(doc)
    assert ops["/api/v1/namespaces/{name}"]["x-kubernetes-group-version-kind"] == {
        "group": "", "version": "v1", "kind": "Namespace"}
    assert ops["/api/v1/namespaces/{namespace}/services/{name}"][
        "x-kubernetes-group-version-kind"]["kind"] == "Service"
    assert "/api/v1/nodes/{name}" in ops
    assert "/api/v1/namespaces/{namespace}/nodes/{name}" not in ops
    # create -f posts to the collection; the post operation carries the same facts
    post = doc["paths"]["/api/v1/namespaces/{namespace}/configmaps"]["post"]
    assert post["x-kubernetes-group-version-kind"]["kind"] == "ConfigMap"


def test_every_operation_has_the_parameter_on_the_operation() -> None:
    for group, version in served_group_versions(RESOURCES):
        doc = v3_group_version(RESOURCES, group, version)
        assert doc is not None
        for path, item in doc["paths"].items():
            for verb in ("post", "put", "patch"):
                if verb in item:
                    names = {p["name"] for p in item[verb]["parameters"]}
                    assert "fieldValidation" in names, (path, verb)
                    assert "requestBody" not in item[verb]
            for param in item.get("parameters", []):
                assert param["in"] == "path"


def test_hpa_is_served_in_both_autoscaling_versions() -> None:
    for version in ("v1", "v2"):
        doc = v3_group_version(RESOURCES, "autoscaling", version)
        assert doc is not None
        op = doc["paths"][f"/apis/autoscaling/{version}/namespaces/{{namespace}}/"
                          "horizontalpodautoscalers/{name}"]["patch"]
        assert op["x-kubernetes-group-version-kind"]["version"] == version


def test_unknown_or_read_only_group_versions_have_no_document() -> None:
    assert v3_group_version(RESOURCES, "apps", "v1beta1") is None
    assert v3_group_version(RESOURCES, "nope", "v1") is None
    assert v3_group_version(RESOURCES, "metrics.k8s.io", "v1beta1") is None


# --------------------------------------------------------------------------- v2 protobuf


def _fields(buf: bytes) -> dict[int, list[bytes]]:
    out: dict[int, list[bytes]] = {}
    for number, wire, value in iter_fields(buf):
        assert wire == 2  # every field of the minimal document is length-delimited
        out.setdefault(number, []).append(value)
    return out


def _decode_v2(doc: bytes) -> tuple[dict[int, list[bytes]], dict[str, dict]]:
    """Document -> (top-level fields, {path: {"params": [...], "gvk": {...}}})."""
    top = _fields(doc)
    paths = {}
    for named in _fields(top[8][0])[2]:
        item = _fields(named)
        operation = _fields(_fields(item[2][0])[8][0])
        params = []
        for p in operation[8]:
            query = _fields(_fields(_fields(p)[1][0])[2][0])[3][0]
            q = _fields(query)
            params.append({"in": q[2][0].decode(), "name": q[4][0].decode(),
                           "type": q[6][0].decode()})
        ext = _fields(operation[13][0])
        assert ext[1] == [b"x-kubernetes-group-version-kind"]
        gvk = yaml.safe_load(_fields(ext[2][0])[2][0].decode())
        paths[item[1][0].decode()] = {"params": params, "gvk": gvk}
    return top, paths


def test_v2_document_header() -> None:
    top, _ = _decode_v2(v2_protobuf(RESOURCES))
    assert top[1] == [b"2.0"]
    info = _fields(top[2][0])
    assert info[1] == [b"Kubernetes"] and info[2]


def test_v2_has_one_patch_path_per_kind_and_version() -> None:
    _, paths = _decode_v2(v2_protobuf(RESOURCES))
    expected = sum(len(rt.versions) for rt in RESOURCES
                   if "patch" in rt.verbs and not rt.extra.get("virtual"))
    assert len(paths) == expected
    deploy = paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]
    assert deploy["gvk"] == {"group": "apps", "kind": "Deployment", "version": "v1"}
    assert {"in": "query", "name": "fieldValidation", "type": "string"} in deploy["params"]
    assert paths["/api/v1/namespaces/{name}"]["gvk"] == {
        "group": "", "kind": "Namespace", "version": "v1"}
    assert paths["/apis/autoscaling/v1/namespaces/{namespace}/horizontalpodautoscalers/{name}"][
        "gvk"]["version"] == "v1"
    assert not any("metrics.k8s.io" in p for p in paths)
