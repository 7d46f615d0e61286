"""The EndpointSlice controller: one slice per service (≤ 100 endpoints each) with conditions.

Unlike v1 Endpoints, slices keep terminating pods, marked `ready: false, terminating: true`,
with `serving` still telling whether the pod passes its readiness probe.
"""

from __future__ import annotations

from ..objects import owner_ref
from .base import Controller, ns_name_key, split_key
from .endpointutil import (
    candidate_pods,
    pod_ready,
    pod_terminating,
    service_selector,
    target_port,
    watch_map,
)

MANAGED_BY = "endpointslice-controller.k8s.io"
MAX_PER_SLICE = 100


def _zone(client, node_name: str | None) -> str | None:
    if not node_name:
        return None
    node = client.peek("nodes", None, node_name)
    if node is None:
        return None
    return (node["metadata"].get("labels") or {}).get("topology.kubernetes.io/zone")


def compute(client, svc: dict) -> tuple[list[dict], list[dict]]:
    """(endpoints, ports) for the service's slice."""
    publish = bool(svc.get("spec", {}).get("publishNotReadyAddresses"))
    eps, ports = [], None
    for pod in sorted(candidate_pods(client, svc), key=lambda p: p["status"]["podIP"]):
        pod_ports = []
        for sp in svc["spec"].get("ports") or []:
            tp = target_port(sp, pod)
            if tp is None:
                continue
            pod_ports.append({"name": sp.get("name", ""), "port": tp,
                              "protocol": sp.get("protocol", "TCP")})
        if ports is None:
            ports = pod_ports
        terminating = pod_terminating(pod)
        ready = pod_ready(pod)
        md = pod["metadata"]
        ep = {"addresses": [pod["status"]["podIP"]],
              "conditions": {"ready": publish or (ready and not terminating),
                             "serving": ready, "terminating": terminating},
              "targetRef": {"kind": "Pod", "namespace": md["namespace"], "name": md["name"],
                            "uid": md["uid"]}}
        node = pod["spec"].get("nodeName")
        if node:
            ep["nodeName"] = node
            zone = _zone(client, node)
            if zone:
                ep["zone"] = zone
        if pod["spec"].get("hostname") and pod["spec"].get("subdomain") == svc["metadata"]["name"]:
            ep["hostname"] = pod["spec"]["hostname"]
        eps.append(ep)
    if ports is None:
        ports = [{"name": sp.get("name", ""), "port": sp.get("targetPort", sp.get("port"))
                  if isinstance(sp.get("targetPort", sp.get("port")), int) else None,
                  "protocol": sp.get("protocol", "TCP")} for sp in svc["spec"].get("ports") or []]
        ports = [p for p in ports if p["port"] is not None]
    return eps, ports


class EndpointSliceController(Controller):
    name = "endpointslice-controller"
    resync_period = 30.0

    def watches(self):
        m = watch_map(self.client)
        m["endpointslices"] = lambda ev: [
            f"{ev.object['metadata']['namespace']}/{svc}"
            for svc in [(ev.object["metadata"].get("labels") or {}).get("kubernetes.io/service-name")]
            if svc]
        return m

    def initial_keys(self):
        return [ns_name_key(s) for s in self.client.scan("services")]

    def _owned(self, ns: str, name: str) -> list[dict]:
        return [s for s in self.client.list("endpointslices", ns,
                                            label_selector=f"kubernetes.io/service-name={name}")
                if (s["metadata"].get("labels") or {}).get(
                    "endpointslice.kubernetes.io/managed-by") == MANAGED_BY]

    async def sync(self, key: str) -> float | None:
        ns, name = split_key(key)
        svc = self.client.peek("services", ns, name)
        slices = self._owned(ns, name)
        if svc is None or service_selector(svc) is None:
            for s in slices:
                self.client.delete("endpointslices", ns, s["metadata"]["name"])
            return None
        eps, ports = compute(self.client, svc)
        chunks = [eps[i:i + MAX_PER_SLICE] for i in range(0, len(eps), MAX_PER_SLICE)] or [[]]
        labels = dict(svc["metadata"].get("labels") or {})
        labels["kubernetes.io/service-name"] = name
        labels["endpointslice.kubernetes.io/managed-by"] = MANAGED_BY
        if svc["spec"].get("clusterIP") == "None":
            labels["service.kubernetes.io/headless"] = ""
        slices.sort(key=lambda s: s["metadata"]["creationTimestamp"])
        for i, chunk in enumerate(chunks):
            if i < len(slices):
                s = slices[i]
                if s.get("endpoints", []) == chunk and s.get("ports") == ports and \
                        s["metadata"].get("labels") == labels:
                    continue
                s["endpoints"], s["ports"] = chunk, ports
                s["metadata"]["labels"] = labels
                self.client.update("endpointslices", s)
            else:
                svc_obj = {**svc, "apiVersion": "v1", "kind": "Service"}
                self.client.create("endpointslices", {
                    "metadata": {"generateName": f"{name}-", "namespace": ns, "labels": labels,
                                 "ownerReferences": [owner_ref(svc_obj)]},
                    "addressType": "IPv4", "endpoints": chunk, "ports": ports}, ns)
        for s in slices[len(chunks):]:
            self.client.delete("endpointslices", ns, s["metadata"]["name"])
        return None
