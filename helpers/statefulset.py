"""StatefulSet rollouts: partition canaries, history and undo through ControllerRevisions."""

from __future__ import annotations

import json

from helpers import _api
from helpers._api import CONTROLLERREVISION, STATEFULSET
from helpers.cluster import Cluster, current, require_lab_namespace
from helpers.kubectl import Step
from helpers.revisions import CHANGE_CAUSE, History, Revision, comparable_template
from helpers.status import RolloutError


def _get(c: Cluster, namespace: str, name: str) -> dict:
    sts = c.get(STATEFULSET.path(namespace, name))
    if sts is None:
        raise RolloutError(f'statefulsets.apps "{name}" not found in namespace "{namespace}"')
    return sts


def controller_revisions(c: Cluster, sts: dict) -> list[dict]:
    """ControllerRevisions selected by the StatefulSet and controlled by it, by revision."""
    ns = sts["metadata"]["namespace"]
    sel = _api.selector_string(sts["spec"].get("selector"))
    data = c.request("GET", CONTROLLERREVISION.path(ns), query={"labelSelector": sel or None})
    owned = [cr for cr in data.get("items") or [] if _api.owned_by(cr, sts)]
    return sorted(owned, key=lambda cr: int(cr.get("revision", 0)))


def _template_of(cr: dict) -> dict:
    tmpl = dict((cr.get("data") or {}).get("spec", {}).get("template") or {})
    tmpl.pop("$patch", None)
    return tmpl


def set_partition(name: str, namespace: str, partition: int, *,
                  cluster: Cluster | None = None) -> Step:
    """Only pods with ordinal >= partition get the new revision (a canary for StatefulSets)."""
    c = current(cluster)
    require_lab_namespace(namespace, c)
    body = {"spec": {"updateStrategy": {"type": "RollingUpdate",
                                        "rollingUpdate": {"partition": int(partition)}}}}
    c.request("PATCH", STATEFULSET.path(namespace, name), body=body,
              content_type=_api.STRATEGIC_PATCH, query={"fieldManager": "kubectl-patch"})
    return Step(f"{STATEFULSET.display}/{name} patched",
                ["patch", "statefulset", name, "-n", namespace, "-p",
                 json.dumps(body, separators=(",", ":"))],
                f"rollout.set_partition({name!r}, {namespace!r}, {partition})")


def statefulset_history(name: str, namespace: str, *, cluster: Cluster | None = None) -> History:
    """`kubectl rollout history statefulset/<name>` (its table has only REVISION)."""
    c = current(cluster)
    sts = _get(c, namespace, name)
    revs = []
    for cr in controller_revisions(c, sts):
        ctrs = _template_of(cr).get("spec", {}).get("containers") or []
        revs.append(Revision(int(cr.get("revision", 0)), _api.annotations(cr).get(CHANGE_CAUSE),
                             cr["metadata"]["name"], ",".join(x.get("image", "") for x in ctrs)))
    return History(revs, f"{STATEFULSET.display}/{name}",
                   ["rollout", "history", f"statefulset/{name}", "-n", namespace],
                   show_cause=False)


def statefulset_undo(name: str, namespace: str, to_revision: int = 0, *,
                     cluster: Cluster | None = None) -> Step:
    """`kubectl rollout undo statefulset/<name>`: re-apply a ControllerRevision's template."""
    c = current(cluster)
    require_lab_namespace(namespace, c)
    argv = ["rollout", "undo", f"statefulset/{name}", "-n", namespace]
    if to_revision:
        argv.insert(3, f"--to-revision={to_revision}")
    python = f"rollout.undo({name!r}, {namespace!r}, to_revision={to_revision}, kind='statefulset')"
    if to_revision < 0:
        raise RolloutError(f"unable to find specified revision {to_revision} in history")
    sts = _get(c, namespace, name)
    history = controller_revisions(c, sts)
    if to_revision == 0 and len(history) <= 1:
        raise RolloutError("no last revision to roll back to")
    if to_revision == 0:
        target = history[-2]
    else:
        target = next((h for h in history if int(h.get("revision", 0)) == to_revision), None)
        if target is None:
            raise RolloutError(f"unable to find specified revision {to_revision} in history")
    if comparable_template(_template_of(target)) == comparable_template(
            sts["spec"]["template"]):
        return Step(f"{STATEFULSET.display}/{name} skipped rollback (current template already "
                    f"matches revision {to_revision})", argv, python)
    c.request("PATCH", STATEFULSET.path(namespace, name), body=target["data"],
              content_type=_api.STRATEGIC_PATCH)
    return Step(f"{STATEFULSET.display}/{name} rolled back", argv, python)
