"""Deployment operations with kubectl's semantics, on the official client.

Each function does what the matching kubectl command does (same requests, same decisions,
same messages; k8s-behaviour §7) and returns a `Step` that displays the kubectl command
beside kubectl's output. StatefulSet, HPA and apply helpers live in their own modules and
are re-exported here so a lab needs only `from helpers import rollout`.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from helpers import _api
from helpers._api import DEPLOYMENT, SERVICE
from helpers.apply import apply  # noqa: F401  (re-export)
from helpers.cluster import Cluster, current, require_lab_namespace
from helpers.hpa import HPAStatus, autoscale, delete_hpa, hpa_status  # noqa: F401
from helpers.kubectl import Step
from helpers.pods import list_pods
from helpers.revisions import (  # noqa: F401
    CHANGE_CAUSE,
    HASH_LABEL,
    REVISION,
    History,
    Revision,
    equal_ignore_hash,
    new_replicaset,
    owned_replicasets,
    revision_of,
)
from helpers.statefulset import (  # noqa: F401
    set_partition,
    statefulset_history,
    statefulset_undo,
)
from helpers.status import (
    ADVICE,
    HOPELESS,
    PodProblem,
    RolloutError,
    deployment_status,
    pod_problems,
    statefulset_status,
)

__all__ = [
    "RolloutError", "RolloutStuck", "RolloutTimeout", "RolloutStatus", "RSSize", "Revision",
    "apply", "wait_for_rollout", "rollout_status", "scale", "set_image", "history", "undo",
    "pause", "resume", "restart", "rs_sizes", "switch_service", "set_partition", "autoscale",
    "hpa_status", "delete_hpa", "HPAStatus",
]


class RolloutStuck(RolloutError):
    """The rollout cannot finish without a human: bad image, crash loop, deadline exceeded."""

    def __init__(self, message: str, problems: list[PodProblem] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class RolloutTimeout(TimeoutError):
    """The rollout was still progressing when the deadline passed."""


@dataclass
class RolloutStatus:
    name: str
    kind: str
    done: bool
    message: str
    seconds: float
    messages: list[str] = field(default_factory=list)
    stuck: str = ""

    def __str__(self) -> str:
        return "\n".join(self.messages) if self.messages else self.message


def _workload(c: Cluster, kind: str, namespace: str, name: str) -> dict:
    k = _api.workload(kind)
    obj = c.get(k.path(namespace, name))
    if obj is None:
        raise RolloutError(f'{k.plural}.apps "{name}" not found in namespace "{namespace}". '
                           f"Check the name with: kubectl get {k.plural} -n {namespace}")
    return obj


def _kind_name(kind: str) -> str:
    return _api.workload(kind).plural[:-1]


# --- rollout status ---------------------------------------------------------------------


def rollout_status(name: str, namespace: str, *, kind: str = "deployment",
                   cluster: Cluster | None = None) -> tuple[str, bool]:
    """One evaluation, like `kubectl rollout status --watch=false`: (message, done)."""
    c = current(cluster)
    obj = _workload(c, kind, namespace, name)
    fn = deployment_status if _kind_name(kind) == "deployment" else statefulset_status
    return fn(obj)


def _updating_pods(c: Cluster, kind: str, obj: dict) -> list[dict]:
    """Pods of the revision being rolled out (new RS / StatefulSet updateRevision)."""
    ns = obj["metadata"]["namespace"]
    sel = _api.selector_string(obj["spec"].get("selector"))
    if _kind_name(kind) == "deployment":
        rss = owned_replicasets(c, obj)
        new = new_replicaset(obj, rss)
        if new is None:
            return []
        h = _api.labels(new).get(HASH_LABEL)
        return list_pods(ns, f"{sel},{HASH_LABEL}={h}" if h else sel, cluster=c)
    rev = obj.get("status", {}).get("updateRevision")
    return list_pods(ns, f"{sel},controller-revision-hash={rev}" if rev else sel, cluster=c)


def _stuck_message(kind: str, obj: dict, problems: list[PodProblem]) -> str:
    name, ns = obj["metadata"]["name"], obj["metadata"]["namespace"]
    st = obj.get("status", {})
    lines = [f'{_kind_name(kind)} "{name}" cannot finish its rollout:']
    lines += [f"  - {p.describe()}" for p in problems[:3]]
    reason = problems[0].reason if problems else ""
    if reason in ADVICE:
        lines.append(f"Why: {ADVICE[reason]}")
    if _kind_name(kind) == "deployment":
        avail, want = st.get("availableReplicas", 0), obj["spec"].get("replicas", 1)
        lines.append(f"Meanwhile {avail} of {want} pods are available and keep serving "
                     f"(the old ReplicaSet is only scaled down as new pods become ready).")
    lines.append(f"What to do: roll back with rollout.undo({name!r}, {ns!r})  "
                 f"[$ kubectl rollout undo {_kind_name(kind)}/{name} -n {ns}], or fix the "
                 f"spec (e.g. rollout.set_image with a tag that exists).")
    return "\n".join(lines)


def wait_for_rollout(
    name: str,
    namespace: str,
    *,
    kind: str = "deployment",
    timeout: float = 180,
    poll: float = 0.5,
    stuck_grace: float = 10,
    raise_on_stuck: bool = True,
    quiet: bool = False,
    on_message: Callable[[str], None] | None = None,
    cluster: Cluster | None = None,
) -> RolloutStatus:
    """Wait like `kubectl rollout status`, printing its messages, but time-boxed.

    Unlike kubectl (which waits up to progressDeadlineSeconds, 600 s by default) this stops
    as soon as a pod of the new revision is in ImagePullBackOff, CrashLoopBackOff or a
    similar state that will not fix itself (ErrImagePull after `stuck_grace` seconds), and
    says what is wrong and what to do. With raise_on_stuck=False it returns the status
    with `stuck` set instead of raising (lab 05 shows a stuck rollout on purpose).
    """
    c = current(cluster)
    say = on_message or (None if quiet else (lambda m: print(m, flush=True)))
    start = time.monotonic()
    seen: dict[tuple[str, str], float] = {}
    messages: list[str] = []
    last_pod_check = 0.0
    fn = deployment_status if _kind_name(kind) == "deployment" else statefulset_status
    while True:
        obj = _workload(c, kind, namespace, name)
        elapsed = time.monotonic() - start
        try:
            message, done = fn(obj)
        except RolloutError as exc:  # ProgressDeadlineExceeded
            problems = _problems_or_empty(c, kind, obj)
            text = f"{exc}\n{_stuck_message(kind, obj, problems)}"
            if raise_on_stuck:
                raise RolloutStuck(text, problems) from None
            return RolloutStatus(name, kind, False, str(exc), elapsed, messages, text)
        if not messages or messages[-1] != message:
            messages.append(message)
            if say:
                say(message)
        if done:
            return RolloutStatus(name, kind, True, message, elapsed, messages)
        now = time.monotonic()
        if now - last_pod_check >= 1.0:
            last_pod_check = now
            problems = _problems_or_empty(c, kind, obj)
            hopeless = []
            for p in problems:
                first = seen.setdefault((p.pod, p.reason), now)
                if p.reason in HOPELESS or now - first >= (
                        30 if p.reason == "Unschedulable" else stuck_grace):
                    hopeless.append(p)
            if hopeless:
                text = _stuck_message(kind, obj, hopeless)
                if raise_on_stuck:
                    raise RolloutStuck(text, hopeless)
                return RolloutStatus(name, kind, False, message, elapsed, messages, text)
        if elapsed > timeout:
            raise RolloutTimeout(
                f"{_kind_name(kind)} {name!r} did not finish rolling out within {timeout:.0f}s; "
                f"last status: {message}\nLook at the pods (kubectl get pods -n {namespace}) "
                f"and events (kubectl get events -n {namespace}), or wait longer with "
                f"timeout=...")
        time.sleep(poll)


def _problems_or_empty(c: Cluster, kind: str, obj: dict) -> list[PodProblem]:
    try:
        return pod_problems(_updating_pods(c, kind, obj))
    except Exception:  # a diagnosis must never hide the real status
        return []


# --- scale, set image -------------------------------------------------------------------


def scale(name: str, namespace: str, replicas: int, *, kind: str = "deployment",
          cluster: Cluster | None = None) -> Step:
    """`kubectl scale`: one merge patch of the scale subresource."""
    c = current(cluster)
    require_lab_namespace(namespace, c)
    k = _api.workload(kind)
    c.request("PATCH", k.path(namespace, name, "scale"), body={"spec": {"replicas": int(replicas)}},
              content_type=_api.MERGE_PATCH)
    return Step(f"{k.display}/{name} scaled",
                ["scale", f"{_kind_name(kind)}/{name}", f"--replicas={replicas}", "-n", namespace],
                f"rollout.scale({name!r}, {namespace!r}, {replicas})")


def set_image(name: str, namespace: str, container: str, image: str, *,
              change_cause: str | None = None, kind: str = "deployment",
              cluster: Cluster | None = None) -> Step:
    """`kubectl set image <kind>/<name> <container>=<image>` (+ a change-cause annotation).

    Like kubectl, `container` may be `*`, init containers with the name change too, an
    unknown name is an error, and nothing is sent (nor printed) when nothing changes.
    """
    c = current(cluster)
    require_lab_namespace(namespace, c)
    k = _api.workload(kind)
    obj = _workload(c, kind, namespace, name)
    pod_spec = obj["spec"]["template"]["spec"]
    spec_patch: dict[str, Any] = {}
    found = False
    for field_name in ("initContainers", "containers"):
        items = pod_spec.get(field_name) or []
        changed = []
        for ctr in items:
            if container in ("*", ctr["name"]):
                found = True
                if ctr.get("image") != image:
                    changed.append({"image": image, "name": ctr["name"]})
        if changed:
            spec_patch[f"$setElementOrder/{field_name}"] = [{"name": x["name"]} for x in items]
            spec_patch[field_name] = changed
    if not found:
        raise RolloutError(f'unable to find container named "{container}"')
    patch: dict[str, Any] = {}
    if spec_patch:
        patch["spec"] = {"template": {"spec": spec_patch}}
    if change_cause is not None and _api.annotations(obj).get(CHANGE_CAUSE) != change_cause:
        patch["metadata"] = {"annotations": {CHANGE_CAUSE: change_cause}}
    argv = ["set", "image", f"{_kind_name(kind)}/{name}", f"{container}={image}", "-n", namespace]
    python = f"rollout.set_image({name!r}, {namespace!r}, {container!r}, {image!r})"
    if not patch:
        return Step("", argv, python)
    c.request("PATCH", k.path(namespace, name), body=patch, content_type=_api.STRATEGIC_PATCH,
              query={"fieldManager": "kubectl-set"})
    step = Step(f"{k.display}/{name} image updated" if spec_patch else "", argv, python)
    if "metadata" in patch:
        step.message = "\n".join(filter(None, [step.message, f"{k.display}/{name} annotated"]))
        step.also.append(["annotate", f"{_kind_name(kind)}/{name}",
                          f"{CHANGE_CAUSE}={change_cause}", "--overwrite", "-n", namespace])
    return step


# --- history and undo -------------------------------------------------------------------


def history(name: str, namespace: str, *, kind: str = "deployment",
            cluster: Cluster | None = None) -> History:
    """`kubectl rollout history`: one Revision per owned ReplicaSet, ascending."""
    if _kind_name(kind) == "statefulset":
        return statefulset_history(name, namespace, cluster=cluster)
    c = current(cluster)
    d = _workload(c, kind, namespace, name)
    revs = []
    for rs in owned_replicasets(c, d):
        rev = revision_of(rs)
        if rev is None:
            continue
        ctrs = rs["spec"]["template"]["spec"].get("containers") or []
        revs.append(Revision(rev, _api.annotations(rs).get(CHANGE_CAUSE), rs["metadata"]["name"],
                             ",".join(x.get("image", "") for x in ctrs)))
    return History(sorted(revs, key=lambda r: r.revision), f"{DEPLOYMENT.display}/{name}",
                   ["rollout", "history", f"deployment/{name}", "-n", namespace])


def undo(name: str, namespace: str, to_revision: int = 0, *, kind: str = "deployment",
         cluster: Cluster | None = None) -> Step:
    """`kubectl rollout undo [--to-revision=N]`, kubectl's algorithm step by step (§7.3)."""
    if _kind_name(kind) == "statefulset":
        return statefulset_undo(name, namespace, to_revision, cluster=cluster)
    c = current(cluster)
    require_lab_namespace(namespace, c)
    argv = ["rollout", "undo", f"deployment/{name}", "-n", namespace]
    if to_revision:
        argv.insert(3, f"--to-revision={to_revision}")
    python = f"rollout.undo({name!r}, {namespace!r}, to_revision={to_revision})"
    if to_revision < 0:
        raise RolloutError(f"unable to find specified revision {to_revision} in history")
    d = _workload(c, kind, namespace, name)
    target = _revision_rs(d, owned_replicasets(c, d), to_revision)
    if d["spec"].get("paused"):
        raise RolloutError(
            f"you cannot rollback a paused deployment; resume it first with 'kubectl rollout "
            f"resume deployment/{name}' and try again")
    if equal_ignore_hash(target["spec"]["template"], d["spec"]["template"]):
        return Step(f"{DEPLOYMENT.display}/{name} skipped rollback (current template already "
                    f"matches revision {to_revision})", argv, python)
    template = copy.deepcopy(target["spec"]["template"])
    tlabels = template.setdefault("metadata", {}).get("labels") or {}
    tlabels.pop(HASH_LABEL, None)
    if template["metadata"].get("creationTimestamp", 0) is None:
        del template["metadata"]["creationTimestamp"]
    skip = {"kubectl.kubernetes.io/last-applied-configuration", REVISION,
            "deployment.kubernetes.io/revision-history",
            "deployment.kubernetes.io/desired-replicas", "deployment.kubernetes.io/max-replicas",
            "deprecated.deployment.rollback.to"}
    notes = {k: v for k, v in _api.annotations(d).items() if k in skip}
    notes.update({k: v for k, v in _api.annotations(target).items() if k not in skip})
    patch = [{"op": "replace", "path": "/spec/template", "value": template},
             {"op": "replace", "path": "/metadata/annotations", "value": notes}]
    c.request("PATCH", DEPLOYMENT.path(namespace, name), body=patch,
              content_type=_api.JSON_PATCH)
    return Step(f"{DEPLOYMENT.display}/{name} rolled back", argv, python)


def _revision_rs(d: dict, rss: list[dict], to_revision: int) -> dict:
    latest, latest_rev, previous, previous_rev = None, -1, None, -1
    for rs in rss:
        v = revision_of(rs)
        if v is None:
            continue
        if to_revision == 0:
            if latest_rev < v:
                previous, previous_rev, latest, latest_rev = latest, latest_rev, rs, v
            elif previous_rev < v:
                previous, previous_rev = rs, v
        elif to_revision == v:
            return rs
    if to_revision > 0:
        raise RolloutError(f"unable to find specified revision {to_revision} in history")
    if previous is None:
        raise RolloutError(f'no rollout history found for deployment "{d["metadata"]["name"]}"')
    return previous


# --- pause, resume, restart -------------------------------------------------------------


def pause(name: str, namespace: str, *, cluster: Cluster | None = None) -> Step:
    """`kubectl rollout pause deployment/<name>`."""
    return _set_paused(name, namespace, True, cluster)


def resume(name: str, namespace: str, *, cluster: Cluster | None = None) -> Step:
    """`kubectl rollout resume deployment/<name>`."""
    return _set_paused(name, namespace, False, cluster)


def _set_paused(name: str, namespace: str, paused: bool, cluster: Cluster | None) -> Step:
    c = current(cluster)
    require_lab_namespace(namespace, c)
    d = _workload(c, "deployment", namespace, name)
    verb = "pause" if paused else "resume"
    argv = ["rollout", verb, f"deployment/{name}", "-n", namespace]
    if bool(d["spec"].get("paused")) == paused:
        state = "already paused" if paused else "not paused"
        raise RolloutError(f'deployments.apps "{name}" is {state}')
    c.request("PATCH", DEPLOYMENT.path(namespace, name),
              body={"spec": {"paused": True if paused else None}},
              content_type=_api.STRATEGIC_PATCH, query={"fieldManager": "kubectl-rollout"})
    return Step(f"{DEPLOYMENT.display}/{name} {verb}d", argv,
                f"rollout.{verb}({name!r}, {namespace!r})")


def restart(name: str, namespace: str, *, kind: str = "deployment",
            cluster: Cluster | None = None) -> Step:
    """`kubectl rollout restart`: a new template annotation, hence a new revision."""
    c = current(cluster)
    require_lab_namespace(namespace, c)
    k = _api.workload(kind)
    obj = _workload(c, kind, namespace, name)
    if obj["spec"].get("paused"):
        raise RolloutError(f"can't restart paused {_kind_name(kind)} (run rollout resume first)")
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    body = {"spec": {"template": {"metadata": {"annotations": {
        "kubectl.kubernetes.io/restartedAt": stamp}}}}}
    c.request("PATCH", k.path(namespace, name), body=body, content_type=_api.STRATEGIC_PATCH,
              query={"fieldManager": "kubectl-rollout"})
    return Step(f"{k.display}/{name} restarted",
                ["rollout", "restart", f"{_kind_name(kind)}/{name}", "-n", namespace],
                f"rollout.restart({name!r}, {namespace!r})")


# --- ReplicaSet sizes and blue-green ----------------------------------------------------


@dataclass(frozen=True)
class RSSize:
    name: str
    revision: int | None
    image: str
    desired: int
    current: int
    ready: int
    available: int


def rs_sizes(name: str, namespace: str, *, cluster: Cluster | None = None) -> list[RSSize]:
    """The Deployment's ReplicaSets (oldest revision first) with their sizes right now."""
    c = current(cluster)
    d = _workload(c, "deployment", namespace, name)
    out = []
    for rs in owned_replicasets(c, d):
        spec, st = rs.get("spec", {}), rs.get("status", {})
        ctrs = spec.get("template", {}).get("spec", {}).get("containers") or []
        out.append(RSSize(rs["metadata"]["name"], revision_of(rs),
                          ",".join(x.get("image", "") for x in ctrs), spec.get("replicas", 0),
                          st.get("replicas", 0), st.get("readyReplicas", 0),
                          st.get("availableReplicas", 0)))
    return sorted(out, key=lambda r: (r.revision or 0, r.name))


def switch_service(service: str, namespace: str, selector: Mapping[str, str], *,
                   cluster: Cluster | None = None) -> Step:
    """Blue-green: point the Service at exactly `selector` (a merge patch; dropped keys null)."""
    c = current(cluster)
    require_lab_namespace(namespace, c)
    svc = c.get(SERVICE.path(namespace, service))
    if svc is None:
        raise RolloutError(f'services "{service}" not found in namespace "{namespace}"')
    old = svc.get("spec", {}).get("selector") or {}
    new: dict[str, Any] = {k: None for k in old if k not in selector}
    new.update(selector)
    body = {"spec": {"selector": new}}
    before = svc["metadata"].get("resourceVersion")
    after = c.request("PATCH", SERVICE.path(namespace, service), body=body,
                      content_type=_api.MERGE_PATCH, query={"fieldManager": "kubectl-patch"})
    changed = after.get("metadata", {}).get("resourceVersion") != before
    return Step(f"service/{service} patched" + ("" if changed else " (no change)"),
                ["patch", "service", service, "-n", namespace, "--type=merge", "-p",
                 json.dumps(body, separators=(",", ":"))],
                f"rollout.switch_service({service!r}, {namespace!r}, {dict(selector)!r})")


def replicasets(name: str, namespace: str, *, cluster: Cluster | None = None) -> list[dict]:
    """The raw ReplicaSets the Deployment controls (label selector + controller ownerRef)."""
    c = current(cluster)
    return owned_replicasets(c, _workload(c, "deployment", namespace, name))

