"""A tiny in-memory stand-in for `helpers.cluster.Cluster` that records every write.

It lets the tests assert the exact requests the helpers send (kubectl's patch bodies and
content types) without a cluster. Reads return deep copies, like an API server.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from kubernetes.client.exceptions import ApiException


class _Resp:
    def __init__(self, status: int) -> None:
        self.status, self.reason, self.data = status, "Not Found", b""

    def getheaders(self) -> dict:
        return {}

    @property
    def headers(self) -> dict:
        return {}


@dataclass
class FakeCluster:
    objects: dict[str, dict] = field(default_factory=dict)
    lists: dict[str, list[dict]] = field(default_factory=dict)
    writes: list[tuple[str, str, Any, str | None]] = field(default_factory=list)
    is_sandbox: bool = False
    _lab_ns_ok: dict[str, float] = field(default_factory=dict)

    def add(self, path: str, obj: dict) -> None:
        self.objects[path] = obj

    def get(self, path: str, **kw: Any) -> dict | None:
        obj = self.objects.get(path)
        return copy.deepcopy(obj) if obj is not None else None

    def request(self, method: str, path: str, *, query: dict | None = None, body: Any = None,
                content_type: str | None = None, **kw: Any) -> Any:
        if method == "GET":
            if path in self.lists:
                return {"items": copy.deepcopy(self.lists[path])}
            obj = self.get(path)
            if obj is None:
                raise ApiException(http_resp=_Resp(404))
            return obj
        self.writes.append((method, path, copy.deepcopy(body), content_type))
        base = self.objects.get(path.removesuffix("/scale"), {"metadata": {}})
        return {"metadata": {"resourceVersion": str(int(
            base.get("metadata", {}).get("resourceVersion", "1")) + 1)}}


def lab_ns(c: FakeCluster, name: str = "lab") -> str:
    c.add(f"/api/v1/namespaces/{name}", {"metadata": {
        "name": name, "labels": {"rollout-labs.io/lab": "t"}}})
    return name


def deployment(name: str = "web", image: str = "podinfo:6.7.0", *, paused: bool = False,
               revision: int = 2, annotations: dict | None = None, uid: str = "d-uid") -> dict:
    notes = {"deployment.kubernetes.io/revision": str(revision)}
    notes.update(annotations or {})
    spec: dict[str, Any] = {
        "replicas": 3, "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name}},
                     "spec": {"containers": [{"name": "podinfo", "image": image}]}},
    }
    if paused:
        spec["paused"] = True
    return {"metadata": {"name": name, "namespace": "lab", "uid": uid, "generation": 1,
                         "resourceVersion": "10", "annotations": notes},
            "spec": spec, "status": {"observedGeneration": 1}}


def replicaset(name: str, image: str, revision: int, *, owner: str = "d-uid",
               change_cause: str | None = None, h: str = "abc") -> dict:
    notes = {"deployment.kubernetes.io/revision": str(revision),
             "deployment.kubernetes.io/desired-replicas": "3"}
    if change_cause:
        notes["kubernetes.io/change-cause"] = change_cause
    return {"metadata": {"name": name, "namespace": "lab", "annotations": notes,
                         "creationTimestamp": f"2026-01-01T00:00:0{revision}Z",
                         "ownerReferences": [{"uid": owner, "controller": True}]},
            "spec": {"replicas": 0, "template": {
                "metadata": {"labels": {"app": "web", "pod-template-hash": h},
                             "creationTimestamp": None},
                "spec": {"containers": [{"name": "podinfo", "image": image}]}}},
            "status": {"replicas": 0}}
