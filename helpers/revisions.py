"""Revisions: how kubectl finds a Deployment's ReplicaSets and compares pod templates."""

from __future__ import annotations

import copy
import html
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from helpers import _api
from helpers.cluster import Cluster
from helpers.kubectl import command_line

REVISION = "deployment.kubernetes.io/revision"
CHANGE_CAUSE = "kubernetes.io/change-cause"
HASH_LABEL = "pod-template-hash"


@dataclass(frozen=True)
class Revision:
    revision: int
    change_cause: str | None
    rs_name: str  # the ReplicaSet (or ControllerRevision) holding this revision
    image: str


class History(list):
    """A list of Revisions that displays as `kubectl rollout history` prints it."""

    def __init__(self, items: list[Revision], resource: str, argv: list[str],
                 show_cause: bool = True) -> None:
        super().__init__(items)
        self.resource = resource
        self.argv = argv
        self.show_cause = show_cause

    @property
    def table(self) -> str:
        """kubectl's exact bytes: name line with a trailing space, tabwriter table, blank line."""
        if not self:
            return "No rollout history found.\n"
        if not self.show_cause:
            rows = [["REVISION"], *[[str(r.revision)] for r in self]]
        else:
            rows = [["REVISION", "CHANGE-CAUSE"],
                    *[[str(r.revision), r.change_cause or "<none>"] for r in self]]
        width = max(len(r[0]) for r in rows) + 2
        lines = [r[0] if len(r) == 1 else r[0].ljust(width) + r[1] for r in rows]
        return f"{self.resource} \n" + "\n".join(lines) + "\n\n"

    def __str__(self) -> str:
        return f"$ {command_line(self.argv)}\n{self.table.rstrip()}"

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(str(self))

    def _repr_html_(self) -> str:
        return (f'<div style="font-family:monospace;font-size:12px"><div style="color:#0550ae;'
                f'font-weight:600">$ {html.escape(command_line(self.argv))}</div><pre '
                f'style="margin:2px 0 0 0">{html.escape(self.table.rstrip())}</pre></div>')


def revision_of(obj: Mapping[str, Any]) -> int | None:
    try:
        return int(_api.annotations(obj).get(REVISION, ""))
    except ValueError:
        return None


def owned_replicasets(c: Cluster, deployment: Mapping[str, Any]) -> list[dict]:
    """ReplicaSets matching the selector whose controller ownerReference is the Deployment."""
    ns = deployment["metadata"]["namespace"]
    sel = _api.selector_string(deployment["spec"].get("selector"))
    data = c.request("GET", _api.REPLICASET.path(ns), query={"labelSelector": sel or None})
    return [rs for rs in data.get("items") or [] if _api.owned_by(rs, deployment)]


def _normalize(value: Any) -> Any:
    """Drop nulls and empty maps/lists, as apimachinery's Semantic.DeepEqual treats them alike."""
    if isinstance(value, Mapping):
        out = {k: _normalize(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        return [_normalize(v) for v in value]
    return value


def comparable_template(template: Mapping[str, Any]) -> Any:
    t = copy.deepcopy(dict(template))
    meta = t.setdefault("metadata", {}) or {}
    (meta.get("labels") or {}).pop(HASH_LABEL, None)
    meta.pop("creationTimestamp", None)
    return _normalize(t)


def equal_ignore_hash(t1: Mapping[str, Any], t2: Mapping[str, Any]) -> bool:
    """kubectl's equalIgnoreHash: equal pod templates apart from the pod-template-hash label."""
    return comparable_template(t1) == comparable_template(t2)


def new_replicaset(deployment: Mapping[str, Any], rss: list[dict]) -> dict | None:
    """The ReplicaSet whose template matches the Deployment's (oldest first, as kubectl)."""
    ordered = sorted(rss, key=lambda r: (r["metadata"].get("creationTimestamp") or "",
                                         r["metadata"]["name"]))
    for rs in ordered:
        if equal_ignore_hash(rs["spec"]["template"], deployment["spec"]["template"]):
            return rs
    return None
