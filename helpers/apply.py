"""`kubectl apply -f` for the lab manifests: create what is missing, update what exists.

Updates are full replaces (GET, then PUT with the live resourceVersion) rather than patches,
so the object ends up exactly as the file says: a lab that switches from "with readiness
probe" to "without" really loses the probe on every cluster. Like `kubectl apply`, fields the
file leaves out but the cluster filled in (Service ClusterIP and nodePorts, Deployment
replicas, annotations others added) are kept.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from kubernetes.client.exceptions import ApiException

from helpers import _api
from helpers.cluster import Cluster, current, require_lab_namespace
from helpers.kubectl import Step

Source = str | Path | Mapping[str, Any] | Iterable[Mapping[str, Any]]


def load_documents(source: Source) -> tuple[list[dict], list[str]]:
    """(objects, the -f arguments kubectl would get) from a path, folder, YAML text or dicts."""
    if isinstance(source, Mapping):
        return [dict(source)], ["-"]
    if isinstance(source, Path) or (isinstance(source, str) and "\n" not in source
                                    and ":" not in source.split("/")[-1]):
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(f"No manifest at {path}. Paths are relative to the "
                                    f"notebook's folder (cwd {Path.cwd()}).")
        files = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml", ".json")) \
            if path.is_dir() else [path]
        docs = [d for f in files for d in yaml.safe_load_all(f.read_text()) if d]
        return docs, [str(source)]
    if isinstance(source, str):
        return [d for d in yaml.safe_load_all(source) if d], ["-"]
    return [dict(d) for d in source], ["-"]


def _resource(c: Cluster, api_version: str, kind: str) -> _api.Kind:
    """Find the plural and scope of a kind through API discovery (cached per cluster)."""
    cache: dict = c.__dict__.setdefault("_discovery", {})
    key = (api_version, kind)
    if key not in cache:
        prefix = "api/v1" if api_version == "v1" else f"apis/{api_version}"
        listing = c.request("GET", f"/{prefix}")
        for r in listing.get("resources") or []:
            if r.get("kind") == kind and "/" not in r.get("name", ""):
                group = api_version.split("/")[0] if "/" in api_version else ""
                display = f"{kind.lower()}.{group}" if group else kind.lower()
                cache[key] = _api.Kind(prefix, r["name"], display, bool(r.get("namespaced")))
                break
        else:
            raise ValueError(f"The cluster does not serve {kind} in {api_version}. Check "
                             f"apiVersion/kind in the manifest (kubectl api-resources).")
    return cache[key]


def _keep_cluster_fields(kind: str, desired: dict, live: dict) -> None:
    """Fields kubectl apply leaves alone because the file does not mention them."""
    notes = dict(live.get("metadata", {}).get("annotations") or {})
    notes.update(desired.get("metadata", {}).get("annotations") or {})
    notes.pop("kubectl.kubernetes.io/last-applied-configuration", None)
    if notes:
        desired["metadata"]["annotations"] = notes
    spec, live_spec = desired.setdefault("spec", {}), live.get("spec", {})
    if kind in ("Deployment", "StatefulSet", "ReplicaSet") and "replicas" not in spec \
            and "replicas" in live_spec:
        spec["replicas"] = live_spec["replicas"]
    if kind == "Service":
        for key in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy",
                    "healthCheckNodePort"):
            if key not in spec and key in live_spec and (
                    key != "healthCheckNodePort" or spec.get("type") == live_spec.get("type")):
                spec[key] = live_spec[key]
        if spec.get("type") in ("NodePort", "LoadBalancer"):
            live_ports = live_spec.get("ports") or []
            for port in spec.get("ports") or []:
                if port.get("nodePort"):
                    continue
                match = next((p for p in live_ports if p.get("port") == port.get("port")
                              and p.get("protocol", "TCP") == port.get("protocol", "TCP")), None)
                if match and match.get("nodePort"):
                    port["nodePort"] = match["nodePort"]


def apply(source: Source, namespace: str, *, cluster: Cluster | None = None) -> Step:
    """Create-or-update every object in `source` inside `namespace` (a lab namespace).

    Prints kubectl's lines: `deployment.apps/web created|configured|unchanged`.
    """
    c = current(cluster)
    require_lab_namespace(namespace, c)
    docs, files = load_documents(source)
    lines = []
    for doc in docs:
        obj = copy.deepcopy(doc)
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if not api_version or not kind:
            raise ValueError(f"A manifest document lacks apiVersion or kind: {str(doc)[:120]}")
        res = _resource(c, api_version, kind)
        if not res.namespaced:
            raise ValueError(f"{kind} is cluster-scoped; the labs only create objects inside "
                             f"their own namespace. Remove it from the manifest.")
        meta = obj.setdefault("metadata", {})
        if meta.get("namespace") not in (None, namespace):
            raise ValueError(
                f'the namespace from the provided object "{meta["namespace"]}" does not match '
                f'the namespace "{namespace}". Remove metadata.namespace from the manifest.')
        meta["namespace"] = namespace
        name = meta.get("name")
        if not name:
            raise ValueError(f"{kind} without metadata.name in the manifest")
        path = res.path(namespace, name)
        live = c.get(path)
        if live is None:
            try:
                c.request("POST", res.path(namespace), body=obj,
                          query={"fieldManager": "rollout-labs"})
                lines.append(f"{res.display}/{name} created")
                continue
            except ApiException as exc:
                if exc.status != 409:
                    raise ValueError(f"{res.display}/{name}: {_api.status_message(exc)}") from None
                live = c.get(path) or {}
        _keep_cluster_fields(kind, obj, live)
        meta["resourceVersion"] = live["metadata"]["resourceVersion"]
        try:
            after = c.request("PUT", path, body=obj, query={"fieldManager": "rollout-labs"})
        except ApiException as exc:
            raise ValueError(f"{res.display}/{name}: {_api.status_message(exc)}") from None
        same = after["metadata"].get("resourceVersion") == live["metadata"]["resourceVersion"]
        lines.append(f"{res.display}/{name} {'unchanged' if same else 'configured'}")
    argv = ["apply", "-n", namespace, *[x for f in files for x in ("-f", f)]]
    return Step("\n".join(lines), argv, f"rollout.apply({str(files[0])!r}, {namespace!r})",
                data=lines)
