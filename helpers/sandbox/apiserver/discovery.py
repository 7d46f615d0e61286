"""API discovery, legacy (APIResourceList) and aggregated (APIGroupDiscoveryList v2/v2beta1).

kubectl takes short names (`po`, `deploy`) and the `all` category only from discovery, and
an aggregated reply must carry its exact content type or kubectl ignores it.
"""

from __future__ import annotations

from .resources import RESOURCES, ResourceType, group_versions

AGGREGATED_V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
AGGREGATED_V2BETA1 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"

_SUB_VERBS = {
    "status": ["get", "patch", "update"],
    "scale": ["get", "patch", "update"],
    "log": ["get"],
    "proxy": ["create", "delete", "get", "patch", "update"],
    "binding": ["create"],
    "eviction": ["create"],
    "finalize": ["update"],
}


def _sub_kind(rt: ResourceType, sub: str) -> tuple[str, str, str]:
    if sub == "scale":
        return "autoscaling", "v1", "Scale"
    if sub == "binding":
        return "", "v1", "Binding"
    if sub == "eviction":
        return "policy", "v1", "Eviction"
    if sub in ("log", "proxy"):
        return "", "v1", "Pod" if rt.plural == "pods" else rt.kind
    return rt.group, rt.version, rt.kind


def _resources_in(group: str, version: str) -> list[ResourceType]:
    return [rt for rt in RESOURCES if rt.group == group and version in rt.versions]


def api_resource_list(group: str, version: str) -> dict | None:
    rts = _resources_in(group, version)
    if not rts:
        return None
    gv = f"{group}/{version}" if group else version
    out = []
    for rt in rts:
        entry = {
            "name": rt.plural, "singularName": rt.singular, "namespaced": rt.namespaced,
            "kind": rt.kind, "verbs": list(rt.verbs),
        }
        if rt.short_names:
            entry["shortNames"] = list(rt.short_names)
        if rt.categories:
            entry["categories"] = list(rt.categories)
        out.append(entry)
        for sub in rt.subresources:
            g, v, k = _sub_kind(rt, sub)
            sub_entry = {"name": f"{rt.plural}/{sub}", "singularName": "", "namespaced": rt.namespaced,
                         "kind": k, "verbs": _SUB_VERBS.get(sub, ["get"])}
            if (g, v) != (group, version):
                sub_entry["group"], sub_entry["version"] = g, v
            out.append(sub_entry)
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": out}


def api_versions(server_address: str) -> dict:
    return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
        {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}


def _group_entry(group: str, versions: list[str]) -> dict:
    vs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": vs, "preferredVersion": vs[0]}


def api_group_list() -> dict:
    groups = [_group_entry(g, vs) for g, vs in group_versions() if g]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(group: str) -> dict | None:
    for g, vs in group_versions():
        if g == group and g:
            return {"kind": "APIGroup", "apiVersion": "v1", **_group_entry(g, vs)}
    return None


def _aggregated_resource(rt: ResourceType, version: str) -> dict:
    entry = {
        "resource": rt.plural,
        "responseKind": {"group": rt.group, "version": version, "kind": rt.kind},
        "scope": "Namespaced" if rt.namespaced else "Cluster",
        "singularResource": rt.singular,
        "verbs": list(rt.verbs),
    }
    if rt.short_names:
        entry["shortNames"] = list(rt.short_names)
    if rt.categories:
        entry["categories"] = list(rt.categories)
    subs = []
    for sub in rt.subresources:
        g, v, k = _sub_kind(rt, sub)
        if sub in ("status",):
            v = version
        subs.append({"subresource": sub, "responseKind": {"group": g, "version": v, "kind": k},
                     "verbs": _SUB_VERBS.get(sub, ["get"])})
    if subs:
        entry["subresources"] = subs
    return entry


def aggregated(core: bool, api_version: str) -> dict:
    """`/api` (core=True) or `/apis` in aggregated form; `api_version` is v2 or v2beta1."""
    items = []
    for group, versions in group_versions():
        if core != (group == ""):
            continue
        vs = []
        for v in versions:
            vs.append({"version": v, "freshness": "Current",
                       "resources": [_aggregated_resource(rt, v) for rt in _resources_in(group, v)]})
        items.append({"metadata": {"name": group, "creationTimestamp": None}, "versions": vs})
    return {"kind": "APIGroupDiscoveryList", "apiVersion": f"apidiscovery.k8s.io/{api_version}",
            "metadata": {}, "items": items}


def wants_aggregated(accept: str) -> str | None:
    """The aggregated version the client asks for first, if any."""
    for part in accept.split(","):
        p = part.replace(" ", "")
        if "as=APIGroupDiscoveryList" in p and "g=apidiscovery.k8s.io" in p:
            if "v=v2beta1" in p:
                return "v2beta1"
            if "v=v2" in p:
                return "v2"
    return None
