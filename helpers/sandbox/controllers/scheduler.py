"""The scheduler: binds pending pods to nodes that fit them, or says why none does.

Filters like kube-scheduler's default plugins that matter in a workshop (node readiness and
cordons, nodeSelector, required node affinity, taints, CPU/memory requests against
allocatable); scores by spreading a workload's pods over nodes and zones, then by load.
"""

from __future__ import annotations

from collections import Counter

from ..apiserver.errors import ApiError
from ..objects import condition, controller_ref, get_path
from ..quantity import cpu_millis, memory_bytes
from ..util import rfc3339
from .base import Controller, ns_name_key, split_key
from .events import EventRecorder

RETRY_SECONDS = 5.0


def pod_requests(pod: dict) -> tuple[int, int]:
    """(millicores, bytes) requested: sum over app containers, max with each init container."""
    cpu = mem = 0
    for c in pod.get("spec", {}).get("containers") or []:
        req = (c.get("resources") or {}).get("requests") or {}
        cpu += cpu_millis(req["cpu"]) if "cpu" in req else 0
        mem += memory_bytes(req["memory"]) if "memory" in req else 0
    for c in pod.get("spec", {}).get("initContainers") or []:
        req = (c.get("resources") or {}).get("requests") or {}
        cpu = max(cpu, cpu_millis(req["cpu"]) if "cpu" in req else 0)
        mem = max(mem, memory_bytes(req["memory"]) if "memory" in req else 0)
    return cpu, mem


def _node_ready(node: dict) -> bool:
    c = condition(node, "Ready")
    return bool(c and c.get("status") == "True")


def _tolerates(pod: dict, taint: dict) -> bool:
    for t in pod.get("spec", {}).get("tolerations") or []:
        if t.get("effect") and t.get("effect") != taint.get("effect"):
            continue
        if t.get("operator") == "Exists" and (not t.get("key") or t.get("key") == taint.get("key")):
            return True
        if t.get("key") == taint.get("key") and t.get("value", "") == taint.get("value", ""):
            return True
    return False


def _match_expression(labels: dict, expr: dict) -> bool:
    key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
    if op == "In":
        return labels.get(key) in values
    if op == "NotIn":
        return labels.get(key) not in values
    if op == "Exists":
        return key in labels
    if op == "DoesNotExist":
        return key not in labels
    if op in ("Gt", "Lt"):
        try:
            v, want = int(labels.get(key, "")), int(values[0])
        except (ValueError, IndexError):
            return False
        return v > want if op == "Gt" else v < want
    return False


def _affinity_ok(pod: dict, node: dict) -> bool:
    labels = node["metadata"].get("labels") or {}
    for k, v in (pod["spec"].get("nodeSelector") or {}).items():
        if labels.get(k) != v:
            return False
    terms = get_path(pod, "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
                          ".nodeSelectorTerms") or []
    if terms:
        return any(all(_match_expression(labels, e) for e in t.get("matchExpressions") or [])
                   for t in terms)
    return True


class Scheduler(Controller):
    name = "default-scheduler"
    resync_period = RETRY_SECONDS

    def __init__(self, client, config=None):
        super().__init__(client, config)
        self.recorder = EventRecorder(client, "default-scheduler")

    def watches(self):
        def pods(ev):
            pod = ev.object
            if ev.type != "DELETED" and not pod["spec"].get("nodeName"):
                return [ns_name_key(pod)]
            return []

        def nodes(_ev):
            return list(self.initial_keys())

        return {"pods": pods, "nodes": nodes}

    def initial_keys(self):
        return [ns_name_key(p) for p in self.client.scan("pods")
                if not p["spec"].get("nodeName") and not p["metadata"].get("deletionTimestamp")]

    async def sync(self, key: str) -> float | None:
        ns, name = split_key(key)
        pod = self.client.peek("pods", ns, name)
        if pod is None or pod["spec"].get("nodeName") or pod["metadata"].get("deletionTimestamp"):
            return None
        if pod["spec"].get("schedulerName", "default-scheduler") != "default-scheduler":
            return None
        nodes = self.client.scan("nodes")
        node, reasons = self._pick(pod, nodes)
        if node is None:
            self._unschedulable(pod, len(nodes), reasons)
            return RETRY_SECONDS
        self._bind(pod, node)
        return None

    def _pick(self, pod: dict, nodes: list[dict]) -> tuple[dict | None, Counter]:
        reasons: Counter = Counter()
        want_cpu, want_mem = pod_requests(pod)
        pods = [p for p in self.client.scan("pods") if p["spec"].get("nodeName")
                and p.get("status", {}).get("phase") not in ("Succeeded", "Failed")]
        fits = []
        for node in nodes:
            nname = node["metadata"]["name"]
            if not _node_ready(node):
                reasons["node(s) had untolerated taint {node.kubernetes.io/not-ready: }"] += 1
                continue
            if node.get("spec", {}).get("unschedulable"):
                reasons["node(s) were unschedulable"] += 1
                continue
            taints = [t for t in node.get("spec", {}).get("taints") or []
                      if t.get("effect") in ("NoSchedule", "NoExecute") and not _tolerates(pod, t)]
            if taints:
                t = taints[0]
                reasons[f"node(s) had untolerated taint {{{t.get('key')}: {t.get('value', '')}}}"] += 1
                continue
            if not _affinity_ok(pod, node):
                reasons["node(s) didn't match Pod's node affinity/selector"] += 1
                continue
            on_node = [p for p in pods if p["spec"]["nodeName"] == nname]
            alloc = node.get("status", {}).get("allocatable") or {}
            used_cpu = sum(pod_requests(p)[0] for p in on_node)
            used_mem = sum(pod_requests(p)[1] for p in on_node)
            short = False
            if "cpu" in alloc and used_cpu + want_cpu > cpu_millis(alloc["cpu"]):
                reasons["Insufficient cpu"] += 1
                short = True
            if "memory" in alloc and used_mem + want_mem > memory_bytes(alloc["memory"]):
                reasons["Insufficient memory"] += 1
                short = True
            if "pods" in alloc and len(on_node) + 1 > int(alloc["pods"]):
                reasons["Too many pods"] += 1
                short = True
            if not short:
                fits.append((node, on_node))
        if not fits:
            return None, reasons
        owner = controller_ref(pod)
        owner_uid = owner["uid"] if owner else None
        zone_counts: Counter = Counter()
        for node, on_node in fits:
            zone = (node["metadata"].get("labels") or {}).get("topology.kubernetes.io/zone", "")
            zone_counts[zone] += sum(1 for p in on_node if _same_owner(p, owner_uid))

        def score(item):
            node, on_node = item
            zone = (node["metadata"].get("labels") or {}).get("topology.kubernetes.io/zone", "")
            siblings = sum(1 for p in on_node if _same_owner(p, owner_uid)) if owner_uid else 0
            return (siblings, zone_counts[zone] if owner_uid else 0, len(on_node),
                    node["metadata"]["name"])

        return min(fits, key=score)[0], reasons

    def _bind(self, pod: dict, node: dict) -> None:
        nname = node["metadata"]["name"]
        ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        try:
            bound = self.client.get("pods", ns, name)
            bound["spec"]["nodeName"] = nname
            bound = self.client.update("pods", bound)
            conds = [c for c in bound["status"].get("conditions") or [] if c["type"] != "PodScheduled"]
            conds.append({"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                          "lastTransitionTime": rfc3339()})
            bound["status"]["conditions"] = conds
            self.client.update_status("pods", bound)
        except ApiError:
            raise
        self.recorder.normal(pod, "Scheduled", f"Successfully assigned {ns}/{name} to {nname}")

    def _unschedulable(self, pod: dict, total: int, reasons: Counter) -> None:
        parts = sorted(f"{n} {r}" for r, n in reasons.items())
        preempt = ("No preemption victims found for incoming pod"
                   if any("Insufficient" in r or "Too many" in r for r in reasons)
                   else "Preemption is not helpful for scheduling")
        if total == 0:
            msg = "no nodes available to schedule pods"
        else:
            msg = (f"0/{total} nodes are available: {', '.join(parts)}. preemption: 0/{total} nodes "
                   f"are available: {total} {preempt}.")
        current = condition(pod, "PodScheduled")
        if current and current.get("reason") == "Unschedulable" and current.get("message") == msg:
            return
        fresh = self.client.get("pods", pod["metadata"]["namespace"], pod["metadata"]["name"])
        conds = [c for c in fresh["status"].get("conditions") or [] if c["type"] != "PodScheduled"]
        conds.append({"type": "PodScheduled", "status": "False", "lastProbeTime": None,
                      "lastTransitionTime": rfc3339(), "reason": "Unschedulable", "message": msg})
        fresh["status"]["conditions"] = conds
        self.client.update_status("pods", fresh)
        self.recorder.warning(pod, "FailedScheduling", msg)


def _same_owner(pod: dict, owner_uid: str | None) -> bool:
    ref = controller_ref(pod)
    return bool(ref and owner_uid and ref.get("uid") == owner_uid)
