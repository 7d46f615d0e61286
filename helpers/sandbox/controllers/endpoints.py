"""The Endpoints controller: v1 Endpoints listing ready and not-ready addresses of a service.

Terminating pods leave `addresses` the moment their deletion starts (unless the service
publishes not-ready addresses), which is what lets a preStop pause drain traffic.
"""

from __future__ import annotations

from ..apiserver.errors import ApiError
from ..util import rfc3339
from .base import Controller, ns_name_key, split_key
from .endpointutil import (
    candidate_pods,
    pod_ready,
    pod_terminating,
    service_selector,
    target_port,
    watch_map,
)

SKIP_MIRROR = "endpointslice.kubernetes.io/skip-mirror"


def _address(pod: dict, svc: dict) -> dict:
    addr = {"ip": pod["status"]["podIP"]}
    spec = pod.get("spec", {})
    if spec.get("hostname") and spec.get("subdomain") == svc["metadata"]["name"]:
        addr["hostname"] = spec["hostname"]
    if spec.get("nodeName"):
        addr["nodeName"] = spec["nodeName"]
    md = pod["metadata"]
    addr["targetRef"] = {"kind": "Pod", "namespace": md["namespace"], "name": md["name"],
                         "uid": md["uid"]}
    return addr


def compute_subsets(client, svc: dict) -> list[dict]:
    publish = bool(svc.get("spec", {}).get("publishNotReadyAddresses"))
    groups: dict[tuple, dict] = {}
    for pod in candidate_pods(client, svc):
        if pod_terminating(pod) and not publish:
            continue
        ports = []
        for sp in svc["spec"].get("ports") or []:
            tp = target_port(sp, pod)
            if tp is None:
                continue
            p = {"port": tp, "protocol": sp.get("protocol", "TCP")}
            if sp.get("name"):
                p["name"] = sp["name"]
            ports.append(p)
        if not ports and svc["spec"].get("ports"):
            continue
        key = tuple(sorted((p.get("name", ""), p["port"], p["protocol"]) for p in ports))
        subset = groups.setdefault(key, {"addresses": [], "notReadyAddresses": [], "ports": ports})
        ready = publish or pod_ready(pod)
        subset["addresses" if ready else "notReadyAddresses"].append(_address(pod, svc))
    out = []
    for key in sorted(groups):
        s = groups[key]
        for field in ("addresses", "notReadyAddresses"):
            s[field].sort(key=lambda a: a["ip"])
            if not s[field]:
                del s[field]
        if not s["ports"]:
            del s["ports"]
        if "addresses" in s or "notReadyAddresses" in s:
            out.append(s)
    return out


class EndpointsController(Controller):
    name = "endpoint-controller"
    resync_period = 30.0

    def watches(self):
        return watch_map(self.client)

    def initial_keys(self):
        return [ns_name_key(s) for s in self.client.scan("services")]

    async def sync(self, key: str) -> float | None:
        ns, name = split_key(key)
        svc = self.client.peek("services", ns, name)
        existing = self.client.try_get("endpoints", ns, name)
        if svc is None:
            if existing is not None and (existing["metadata"].get("labels") or {}).get(SKIP_MIRROR):
                self.client.delete("endpoints", ns, name)
            return None
        if service_selector(svc) is None:
            return None  # user-managed Endpoints (or ExternalName) are left alone
        subsets = compute_subsets(self.client, svc)
        labels = dict(svc["metadata"].get("labels") or {})
        labels[SKIP_MIRROR] = "true"
        if svc["spec"].get("clusterIP") == "None":
            labels["service.kubernetes.io/headless"] = ""
        if existing is None:
            body = {"metadata": {"name": name, "namespace": ns, "labels": labels,
                                 "annotations": {
                                     "endpoints.kubernetes.io/last-change-trigger-time": rfc3339()}}}
            if subsets:
                body["subsets"] = subsets
            try:
                self.client.create("endpoints", body, ns)
            except ApiError as e:
                if e.code != 409:
                    raise
                return 0.01
            return None
        if (existing.get("subsets") or []) == subsets and existing["metadata"].get("labels") == labels:
            return None
        existing["metadata"]["labels"] = labels
        existing["metadata"].setdefault("annotations", {})[
            "endpoints.kubernetes.io/last-change-trigger-time"] = rfc3339()
        if subsets:
            existing["subsets"] = subsets
        else:
            existing.pop("subsets", None)
        self.client.update("endpoints", existing)
        return None
