"""Pods as the labs look at them: name, version, phase, readiness, kubectl's STATUS column."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from helpers import _api
from helpers.cluster import Cluster, current


@dataclass(frozen=True)
class PodView:
    name: str
    phase: str
    ready: bool
    status: str  # kubectl get pods' STATUS column (Running, Terminating, ImagePullBackOff, ...)
    image: str
    version: str  # the image tag: what the app reports as its version
    restarts: int
    created: datetime | None
    deleting: bool
    node: str
    ip: str
    labels: dict[str, str] = field(default_factory=dict, hash=False, compare=False)

    @property
    def template_hash(self) -> str:
        return self.labels.get("pod-template-hash") or self.labels.get(
            "controller-revision-hash", "")


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def status_column(pod: Mapping[str, Any]) -> str:
    """A close version of kubectl's printPod STATUS: the reason a learner should see."""
    st = pod.get("status", {})
    reason = st.get("reason") or st.get("phase") or "Unknown"
    for cs in st.get("initContainerStatuses") or []:
        state = cs.get("state") or {}
        if state.get("terminated", {}).get("exitCode", 0) != 0:
            reason = "Init:" + (state["terminated"].get("reason") or "Error")
            break
        if state.get("waiting", {}).get("reason") not in (None, "PodInitializing"):
            reason = "Init:" + state["waiting"]["reason"]
            break
    else:
        running = False
        for cs in reversed(st.get("containerStatuses") or []):
            state = cs.get("state") or {}
            if state.get("waiting", {}).get("reason"):
                reason = state["waiting"]["reason"]
            elif state.get("terminated"):
                reason = state["terminated"].get("reason") or "Error"
            elif state.get("running") and cs.get("ready"):
                running = True
        if reason == "Completed" and running:
            reason = "Running"
    if pod.get("metadata", {}).get("deletionTimestamp"):
        reason = "Terminating"
    return reason


def is_ready(pod: Mapping[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in pod.get("status", {}).get("conditions") or [])


def view(pod: Mapping[str, Any]) -> PodView:
    meta, spec, st = pod["metadata"], pod.get("spec", {}), pod.get("status", {})
    containers = spec.get("containers") or [{}]
    image = containers[0].get("image", "")
    labels = dict(meta.get("labels") or {})
    version = _api.image_tag(image) if image else ""
    return PodView(
        name=meta["name"],
        phase=st.get("phase", "Pending"),
        ready=is_ready(pod),
        status=status_column(pod),
        image=image,
        version=version,
        restarts=sum(cs.get("restartCount", 0) for cs in st.get("containerStatuses") or []),
        created=_time(meta.get("creationTimestamp")),
        deleting=bool(meta.get("deletionTimestamp")),
        node=spec.get("nodeName", ""),
        ip=st.get("podIP", ""),
        labels=labels,
    )


def list_pods(namespace: str, selector: str | Mapping[str, str] | None = None, *,
              cluster: Cluster | None = None) -> list[dict]:
    """Raw pod dicts, sorted by name; `selector` is `app=web` or {"app": "web"}."""
    c = current(cluster)
    if isinstance(selector, Mapping):
        selector = _api.map_selector(selector)
    data = c.request("GET", _api.POD.path(namespace), query={"labelSelector": selector or None})
    return sorted(data.get("items") or [], key=lambda p: p["metadata"]["name"])


def pods(namespace: str, selector: str | Mapping[str, str] | None = None, *,
         cluster: Cluster | None = None) -> list[PodView]:
    """The pods of a namespace (optionally by label selector) as PodViews."""
    return [view(p) for p in list_pods(namespace, selector, cluster=cluster)]
