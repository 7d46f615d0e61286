"""What the Endpoints and EndpointSlice controllers share: which pods back a service port."""

from __future__ import annotations

from ..apiserver.selectors import LabelSelector, selector_from_spec
from ..objects import is_pod_ready, is_terminating
from .base import ns_name_key


def service_selector(svc: dict) -> LabelSelector | None:
    """None for services the controllers do not manage (no selector, ExternalName)."""
    spec = svc.get("spec") or {}
    sel = spec.get("selector")
    if not sel or spec.get("type") == "ExternalName":
        return None
    return selector_from_spec({"matchLabels": sel})


def candidate_pods(client, svc: dict) -> list[dict]:
    sel = service_selector(svc)
    if sel is None:
        return []
    pods = client.scan("pods", svc["metadata"]["namespace"])
    return [p for p in pods if sel.matches(p["metadata"].get("labels"))
            and p.get("status", {}).get("podIP")
            and p.get("status", {}).get("phase") not in ("Succeeded", "Failed")]


def target_port(svc_port: dict, pod: dict) -> int | None:
    """Resolve a service port's targetPort against a pod (named ports look up containers)."""
    tp = svc_port.get("targetPort", svc_port.get("port"))
    if isinstance(tp, int):
        return tp
    if isinstance(tp, str) and tp.isdigit():
        return int(tp)
    for c in pod.get("spec", {}).get("containers") or []:
        for p in c.get("ports") or []:
            if p.get("name") == tp and p.get("protocol", "TCP") == svc_port.get("protocol", "TCP"):
                return p.get("containerPort")
    return None


def pod_ready(pod: dict) -> bool:
    return is_pod_ready(pod)


def pod_terminating(pod: dict) -> bool:
    return is_terminating(pod)


def services_for_pod(client, pod: dict) -> list[str]:
    """Keys of services in the pod's namespace whose selector matches it (old or new labels)."""
    out = []
    for svc in client.scan("services", pod["metadata"].get("namespace")):
        sel = service_selector(svc)
        if sel is not None and sel.matches(pod["metadata"].get("labels")):
            out.append(ns_name_key(svc))
    return out


def watch_map(client):
    """Mapper pair used by both controllers: services map to themselves, pods to their services."""

    def services(ev):
        return [ns_name_key(ev.object)]

    def pods(ev):
        keys = set(services_for_pod(client, ev.object))
        if ev.old is not None:
            keys.update(services_for_pod(client, ev.old))
        return keys

    return {"services": services, "pods": pods}
