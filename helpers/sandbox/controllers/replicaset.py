"""The ReplicaSet controller: `pkg/controller/replicaset/replica_set.go` + `controller_utils.go`.

Keeps `spec.replicas` active pods: claims pods by selector and controllerRef, creates missing
ones in slow-start batches, deletes surplus ones least-valuable first (the
ActivePodsWithRanks order, with LogarithmicScaleDown and pod-deletion-cost), and reports
replicas/ready/available in status. Expectations stop it from acting twice on the same
shortfall before its own writes have been observed.
"""

from __future__ import annotations

import asyncio
import functools
import math
import time
from datetime import datetime, timedelta

from ..apiserver.errors import ApiError
from ..apiserver.selectors import LabelSelector, SelectorError, selector_from_spec
from ..objects import clone, condition, controller_ref, is_pod_ready, labels_of, owner_ref
from ..util import now, parse_time, rfc3339
from .base import Controller, ns_name_key, split_key
from .events import EventRecorder

BURST_REPLICAS = 500
SLOW_START_INITIAL_BATCH = 1
EXPECTATIONS_TIMEOUT = 300.0
DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"
_PHASE_ORDINAL = {"Pending": 0, "Unknown": 1, "Running": 2}


# -- pod predicates ----------------------------------------------------------------------------
def is_pod_active(pod: dict) -> bool:
    """FilterActivePods: not terminal and not terminating."""
    return ((pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
            and not pod["metadata"].get("deletionTimestamp"))


def ready_since(pod: dict) -> datetime | None:
    c = condition(pod, "Ready")
    if not c or c.get("status") != "True":
        return None
    return parse_time(c.get("lastTransitionTime"))


def is_pod_available(pod: dict, min_ready_seconds: int, at: datetime) -> bool:
    """Ready for more than minReadySeconds (or at all, when it is 0)."""
    if not is_pod_ready(pod):
        return False
    if not min_ready_seconds:
        return True
    since = ready_since(pod)
    return since is not None and since + timedelta(seconds=min_ready_seconds) < at


def _deletion_cost(pod: dict) -> int:
    try:
        return int((pod["metadata"].get("annotations") or {}).get(DELETION_COST, "0"))
    except ValueError:
        return 0


def _max_restarts(pod: dict) -> int:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return max((int(s.get("restartCount") or 0) for s in statuses), default=0)


def _log_rank(t: datetime, at: datetime) -> int:
    """floor(log2(age in ns)), -1 for a zero or future age (logarithmicRankDiff)."""
    ns = int((at - t).total_seconds() * 1e9)
    return int(math.log2(ns)) if ns > 0 else -1


def _time_less(t1: datetime | None, t2: datetime | None, uid1: str, uid2: str,
               at: datetime) -> bool | None:
    """Newer first, by log2-age bucket; same bucket: by uid. Zero times sort first."""
    if t1 == t2:
        return None
    if t1 is None or t2 is None:
        return t1 is None
    diff = _log_rank(t1, at) - _log_rank(t2, at)
    if diff == 0:
        return uid1 < uid2
    return diff < 0


def rank_pods_for_deletion(pods: list[dict], related: list[dict], at: datetime | None = None) -> list[dict]:
    """Sort `pods` so the ones to delete first come first (ActivePodsWithRanks.Less).

    Rank = active pods of the same owner (all its replica sets) on the pod's node."""
    at = at or now()
    on_node: dict[str, int] = {}
    for p in related:
        if is_pod_active(p):
            node = p["spec"].get("nodeName", "")
            on_node[node] = on_node.get(node, 0) + 1
    ranks = {id(p): on_node.get(p["spec"].get("nodeName", ""), 0) for p in pods}

    def less(a: dict, b: dict) -> bool:
        na, nb = a["spec"].get("nodeName", ""), b["spec"].get("nodeName", "")
        if na != nb and (not na or not nb):
            return not na
        pa = _PHASE_ORDINAL.get((a.get("status") or {}).get("phase"), 0)
        pb = _PHASE_ORDINAL.get((b.get("status") or {}).get("phase"), 0)
        if pa != pb:
            return pa < pb
        ra, rb = is_pod_ready(a), is_pod_ready(b)
        if ra != rb:
            return not ra
        ca, cb = _deletion_cost(a), _deletion_cost(b)
        if ca != cb:
            return ca < cb
        if ranks[id(a)] != ranks[id(b)]:
            return ranks[id(a)] > ranks[id(b)]
        uid_a, uid_b = a["metadata"].get("uid", ""), b["metadata"].get("uid", "")
        if ra and rb:
            res = _time_less(ready_since(a), ready_since(b), uid_a, uid_b, at)
            if res is not None:
                return res
        xa, xb = _max_restarts(a), _max_restarts(b)
        if xa != xb:
            return xa > xb
        res = _time_less(parse_time(a["metadata"].get("creationTimestamp")),
                         parse_time(b["metadata"].get("creationTimestamp")), uid_a, uid_b, at)
        return bool(res)

    def cmp(a: dict, b: dict) -> int:
        return -1 if less(a, b) else (1 if less(b, a) else 0)

    return sorted(pods, key=functools.cmp_to_key(cmp))


def pod_from_template(rs: dict) -> dict:
    """GetPodFromTemplate: labels, annotations, finalizers and spec, generateName `<rs>-`."""
    template = rs["spec"].get("template") or {}
    tmd = template.get("metadata") or {}
    md: dict = {"generateName": f"{rs['metadata']['name']}-", "ownerReferences": [owner_ref(rs)]}
    for key in ("labels", "annotations"):
        if tmd.get(key):
            md[key] = dict(tmd[key])
    if tmd.get("finalizers"):
        md["finalizers"] = list(tmd["finalizers"])
    return {"apiVersion": "v1", "kind": "Pod", "metadata": md, "spec": clone(template.get("spec") or {})}


class Expectations:
    """ControllerExpectations (creates counted, deletes tracked by pod key), per RS key."""

    def __init__(self) -> None:
        self._adds: dict[str, int] = {}
        self._dels: dict[str, set[str]] = {}
        self._stamp: dict[str, float] = {}

    def satisfied(self, key: str) -> bool:
        if key not in self._stamp:
            return True
        if self._adds.get(key, 0) <= 0 and not self._dels.get(key):
            return True
        return time.monotonic() - self._stamp[key] > EXPECTATIONS_TIMEOUT

    def expect_creations(self, key: str, n: int) -> None:
        self._adds[key] = n
        self._dels[key] = set()
        self._stamp[key] = time.monotonic()

    def expect_deletions(self, key: str, pod_keys: list[str]) -> None:
        self._adds[key] = 0
        self._dels[key] = set(pod_keys)
        self._stamp[key] = time.monotonic()

    def creation_observed(self, key: str) -> None:
        if key in self._adds:
            self._adds[key] -= 1

    def deletion_observed(self, key: str, pod_key: str) -> None:
        self._dels.get(key, set()).discard(pod_key)

    def forget(self, key: str) -> None:
        for m in (self._adds, self._dels, self._stamp):
            m.pop(key, None)


class ReplicaSetController(Controller):
    name = "replicaset-controller"

    def __init__(self, client, config=None):
        super().__init__(client, config)
        self.recorder = EventRecorder(client, "replicaset-controller")
        self.expectations = Expectations()

    # -- wiring ----------------------------------------------------------------------------
    def watches(self):
        def replicasets(ev):
            return [ns_name_key(ev.object)]

        def pods(ev):
            pod, old = ev.object, ev.old
            ns = pod["metadata"]["namespace"]
            pod_key = ns_name_key(pod)
            keys: set[str] = set()
            ref = controller_ref(pod)
            rs_key = f"{ns}/{ref['name']}" if ref and ref.get("kind") == "ReplicaSet" else None
            deleting = ev.type == "DELETED" or bool(
                pod["metadata"].get("deletionTimestamp")
                and not (old or {}).get("metadata", {}).get("deletionTimestamp"))
            if rs_key and ev.type == "ADDED" and not deleting:
                self.expectations.creation_observed(rs_key)
            elif rs_key and deleting:
                self.expectations.deletion_observed(rs_key, pod_key)
            if rs_key:
                keys.add(rs_key)
            elif ev.type != "DELETED":
                keys.update(self._rss_for_orphan(pod))
            old_ref = controller_ref(old) if old else None
            if old_ref and old_ref.get("kind") == "ReplicaSet" and old_ref.get("uid") != (ref or {}).get("uid"):
                keys.add(f"{ns}/{old_ref['name']}")
            if old is not None and not rs_key and labels_of(old) != labels_of(pod):
                keys.update(self._rss_for_orphan(old))
            return keys

        return {"replicasets": replicasets, "pods": pods}

    def initial_keys(self):
        return [ns_name_key(rs) for rs in self.client.scan("replicasets")]

    def _rss_for_orphan(self, pod: dict) -> list[str]:
        out = []
        for rs in self.client.scan("replicasets", pod["metadata"]["namespace"]):
            try:
                sel = selector_from_spec(rs["spec"].get("selector"))
            except SelectorError:
                continue
            if not sel.empty and sel.matches(labels_of(pod)):
                out.append(ns_name_key(rs))
        return out

    # -- sync ------------------------------------------------------------------------------
    async def sync(self, key: str) -> float | None:
        ns, name = split_key(key)
        rs = self.client.try_get("replicasets", ns, name)
        if rs is None:
            self.expectations.forget(key)
            return None
        needs_sync = self.expectations.satisfied(key)
        try:
            selector = selector_from_spec(rs["spec"].get("selector"))
        except SelectorError:
            return None
        active = [p for p in self.client.list("pods", ns) if is_pod_active(p)]
        pods = self.claim_pods(rs, selector, active)
        manage_error: ApiError | None = None
        if needs_sync and not rs["metadata"].get("deletionTimestamp"):
            try:
                await self.manage_replicas(pods, rs, key)
            except ApiError as e:
                manage_error = e
            # Status reflects the pods as they are after this round's writes.
            active = [p for p in self.client.list("pods", ns) if is_pod_active(p)]
            uid = rs["metadata"]["uid"]
            pods = [p for p in active if (controller_ref(p) or {}).get("uid") == uid]
        at = now()
        rs = self.update_status(rs, self.calculate_status(rs, pods, manage_error, at))
        if manage_error is not None:
            raise manage_error
        return self._next_availability_check(rs, pods, at)

    @staticmethod
    def _next_availability_check(rs: dict, pods: list[dict], at: datetime) -> float | None:
        """Seconds until the next ready pod passes minReadySeconds, so availability is
        reported without waiting for another pod event."""
        mrs = int(rs["spec"].get("minReadySeconds") or 0)
        if not mrs:
            return None
        waits = []
        for p in pods:
            since = ready_since(p)
            if since is not None and not is_pod_available(p, mrs, at):
                waits.append((since + timedelta(seconds=mrs) - at).total_seconds())
        # Availability is "strictly after", at second resolution: add a margin.
        return max(0.0, min(waits)) + 1.0 if waits else None

    # -- ownership -------------------------------------------------------------------------
    def claim_pods(self, rs: dict, selector: LabelSelector, pods: list[dict]) -> list[dict]:
        """ClaimPods: owned matching pods, adopted matching orphans; release non-matching."""
        md = rs["metadata"]
        uid, deleting = md["uid"], bool(md.get("deletionTimestamp"))
        claimed = []
        for pod in pods:
            ref = controller_ref(pod)
            matches = selector.matches(labels_of(pod))
            if ref is not None:
                if ref.get("uid") != uid:
                    continue
                if matches:
                    claimed.append(pod)
                elif not deleting:
                    self._release(pod, uid)
                continue
            if not matches or deleting or pod["metadata"].get("deletionTimestamp"):
                continue
            fresh = self.client.peek("replicasets", md["namespace"], md["name"])
            if fresh is None or fresh["metadata"]["uid"] != uid or fresh["metadata"].get("deletionTimestamp"):
                continue
            changed = clone(pod)
            changed["metadata"].setdefault("ownerReferences", []).append(owner_ref(rs))
            try:
                claimed.append(self.client.update("pods", changed))
            except ApiError as e:
                if e.code != 404:
                    raise
        return claimed

    def _release(self, pod: dict, uid: str) -> None:
        changed = clone(pod)
        refs = [r for r in pod["metadata"].get("ownerReferences") or [] if r.get("uid") != uid]
        if refs:
            changed["metadata"]["ownerReferences"] = refs
        else:
            changed["metadata"].pop("ownerReferences", None)
        try:
            self.client.update("pods", changed)
        except ApiError as e:
            if e.code not in (404, 422):
                raise

    # -- replicas --------------------------------------------------------------------------
    async def manage_replicas(self, pods: list[dict], rs: dict, key: str) -> None:
        diff = len(pods) - int(rs["spec"].get("replicas", 1))
        ns = rs["metadata"]["namespace"]
        if diff < 0:
            want = min(-diff, BURST_REPLICAS)
            self.expectations.expect_creations(key, want)
            created, error = 0, None
            batch = min(want, SLOW_START_INITIAL_BATCH)
            remaining = want
            while batch > 0:
                failed = None
                for _ in range(batch):
                    try:
                        self._create_pod(rs, ns)
                        created += 1
                    except ApiError as e:
                        failed = failed or e
                if failed is not None:
                    error = failed
                    break
                remaining -= batch
                batch = min(2 * batch, remaining)
                await asyncio.sleep(0)  # let other controllers run between batches
            for _ in range(want - created):
                # Never attempted (or failed): the informer will not observe these.
                self.expectations.creation_observed(key)
            if error is not None:
                raise error
        elif diff > 0:
            diff = min(diff, BURST_REPLICAS)
            victims = pods
            if diff < len(pods):
                victims = rank_pods_for_deletion(pods, self._related_pods(rs))
            victims = victims[:diff]
            self.expectations.expect_deletions(key, [ns_name_key(p) for p in victims])
            error = None
            for pod in victims:
                try:
                    if not self._delete_pod(rs, pod):
                        self.expectations.deletion_observed(key, ns_name_key(pod))
                except ApiError as e:
                    self.expectations.deletion_observed(key, ns_name_key(pod))
                    error = error or e
            if error is not None:
                raise error

    def _create_pod(self, rs: dict, ns: str) -> None:
        pod = pod_from_template(rs)
        try:
            created = self.client.create("pods", pod, ns)
        except ApiError as e:
            if e.code == 403 and "being terminated" in e.message:
                return  # every create would fail; the namespace is going away anyway
            self.recorder.warning(rs, "FailedCreate", f"Error creating: {e.message}")
            raise
        self.recorder.normal(rs, "SuccessfulCreate", f"Created pod: {created['metadata']['name']}")

    def _delete_pod(self, rs: dict, pod: dict) -> bool:
        """Delete (gracefully); False when the pod was already gone."""
        name = pod["metadata"]["name"]
        try:
            if self.client.delete("pods", pod["metadata"]["namespace"], name) is None:
                return False
        except ApiError as e:
            self.recorder.warning(rs, "FailedDelete", f"Error deleting: {e.message}")
            raise
        self.recorder.normal(rs, "SuccessfulDelete", f"Deleted pod: {name}")
        return True

    def _related_pods(self, rs: dict) -> list[dict]:
        """Pods of every replica set with the same controller as `rs` (the whole Deployment)."""
        ns = rs["metadata"]["namespace"]
        owner = controller_ref(rs)
        if owner is None:
            uids = {rs["metadata"]["uid"]}
        else:
            uids = {r["metadata"]["uid"] for r in self.client.scan("replicasets", ns)
                    if (controller_ref(r) or {}).get("uid") == owner.get("uid")}
        return [p for p in self.client.scan("pods", ns) if (controller_ref(p) or {}).get("uid") in uids]

    # -- status ----------------------------------------------------------------------------
    @staticmethod
    def calculate_status(rs: dict, pods: list[dict], manage_error: ApiError | None,
                         at: datetime) -> dict:
        template_labels = (rs["spec"].get("template") or {}).get("metadata", {}).get("labels") or {}
        mrs = int(rs["spec"].get("minReadySeconds") or 0)
        fully = sum(1 for p in pods if all(labels_of(p).get(k) == v for k, v in template_labels.items()))
        ready = [p for p in pods if is_pod_ready(p)]
        available = sum(1 for p in ready if is_pod_available(p, mrs, at))
        conds = (rs.get("status") or {}).get("conditions") or []
        failure = next((c for c in conds if c.get("type") == "ReplicaFailure"), None)
        if manage_error is not None and failure is None:
            diff = len(pods) - int(rs["spec"].get("replicas", 1))
            reason = "FailedCreate" if diff < 0 else "FailedDelete" if diff > 0 else ""
            conds = [*conds, {"type": "ReplicaFailure", "status": "True",
                              "lastTransitionTime": rfc3339(), "reason": reason,
                              "message": manage_error.message}]
        elif manage_error is None and failure is not None:
            conds = [c for c in conds if c.get("type") != "ReplicaFailure"]
        # Go omits zero counts except `replicas`.
        status = {"replicas": len(pods),
                  **{k: v for k, v in (("fullyLabeledReplicas", fully), ("readyReplicas", len(ready)),
                                       ("availableReplicas", available)) if v}}
        if conds:
            status["conditions"] = conds
        return status

    def update_status(self, rs: dict, new_status: dict) -> dict:
        old = rs.get("status") or {}
        generation = int(rs["metadata"].get("generation") or 0)
        same_counts = all(old.get(k, 0) == new_status.get(k, 0) for k in (
            "replicas", "fullyLabeledReplicas", "readyReplicas", "availableReplicas"))
        if same_counts and int(old.get("observedGeneration") or 0) == generation \
                and old.get("conditions") == new_status.get("conditions"):
            return rs
        new_status["observedGeneration"] = generation
        rs["status"] = new_status
        return self.client.update_status("replicasets", rs)
