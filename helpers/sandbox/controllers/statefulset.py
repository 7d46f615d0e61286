"""The StatefulSet controller, after pkg/controller/statefulset/stateful_set_control.go.

Pods have stable names `<set>-<ordinal>` and, with OrderedReady, start one at a time in
ordinal order. Each distinct template is a ControllerRevision; RollingUpdate replaces pods
from the highest ordinal down to `partition`, one at a time, each only after the previous
one is Running and Ready; OnDelete waits for you to delete pods. `rollout undo` works by
patching the template back, which makes an older revision current again (renumbered).
"""

from __future__ import annotations

from ..apiserver.errors import ApiError
from ..apiserver.selectors import selector_from_spec
from ..objects import clone, controller_ref, is_pod_ready, owner_ref
from .base import Controller, ns_name_key, split_key
from .events import EventRecorder
from .hashing import compute_hash

REVISION_LABEL = "controller-revision-hash"
POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"


def _go_map_order(value):
    """A copy with every object's keys sorted, as Go's json.Marshal writes a map."""
    if isinstance(value, dict):
        return {k: _go_map_order(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_go_map_order(v) for v in value]
    return value


def revision_data(sts: dict) -> dict:
    """The revision's patch, byte for byte what kubectl's getStatefulSetPatch computes (keys
    sorted, `$patch` first): `rollout undo` compares the raw bytes to decide whether the
    current template already matches a revision."""
    template = clone(sts["spec"]["template"])
    template["$patch"] = "replace"
    return {"spec": {"template": _go_map_order(template)}}


def template_of(revision: dict) -> dict:
    template = clone(revision["data"]["spec"]["template"])
    template.pop("$patch", None)
    return template


def ordinal_of(pod: dict, set_name: str) -> int | None:
    name = pod["metadata"]["name"]
    prefix = set_name + "-"
    if not name.startswith(prefix) or not name[len(prefix):].isdigit():
        return None
    return int(name[len(prefix):])


def _running_ready(pod: dict) -> bool:
    return pod.get("status", {}).get("phase") == "Running" and is_pod_ready(pod)


class StatefulSetController(Controller):
    name = "statefulset-controller"

    def __init__(self, client, config=None):
        super().__init__(client, config)
        self.recorder = EventRecorder(client, "statefulset-controller")

    def watches(self):
        def sets(ev):
            return [ns_name_key(ev.object)] if ev.type != "DELETED" else []

        def owned(ev):
            ref = controller_ref(ev.object)
            if ref and ref.get("kind") == "StatefulSet":
                return [f"{ev.object['metadata']['namespace']}/{ref['name']}"]
            return []

        return {"statefulsets": sets, "pods": owned, "controllerrevisions": owned}

    def initial_keys(self):
        return [ns_name_key(s) for s in self.client.scan("statefulsets")]

    # -- revisions -------------------------------------------------------------------------
    def _revisions(self, sts: dict) -> list[dict]:
        uid = sts["metadata"]["uid"]
        revs = [r for r in self.client.list("controllerrevisions", sts["metadata"]["namespace"])
                if (controller_ref(r) or {}).get("uid") == uid]
        return sorted(revs, key=lambda r: (r.get("revision", 0), r["metadata"]["name"]))

    def _update_revision(self, sts: dict, revisions: list[dict]) -> dict:
        data = revision_data(sts)
        latest = revisions[-1] if revisions else None
        if latest is not None and latest["data"] == data:
            return latest
        top = latest.get("revision", 0) if latest else 0
        for rev in revisions:
            if rev["data"] == data:
                # Rolling back to an older template makes its revision the newest again.
                rev["revision"] = top + 1
                return self.client.update("controllerrevisions", rev)
        ns, name = sts["metadata"]["namespace"], sts["metadata"]["name"]
        collisions = (sts.get("status") or {}).get("collisionCount", 0)
        while True:
            h = compute_hash(data, collisions or None)
            labels = dict(sts["spec"]["template"].get("metadata", {}).get("labels") or {})
            labels["controller.kubernetes.io/hash"] = h
            body = {"metadata": {"name": f"{name}-{h}", "namespace": ns, "labels": labels,
                                 "ownerReferences": [owner_ref(sts)]},
                    "data": data, "revision": top + 1}
            if sts["metadata"].get("annotations"):
                body["metadata"]["annotations"] = dict(sts["metadata"]["annotations"])
            try:
                return self.client.create("controllerrevisions", body, ns)
            except ApiError as e:
                if e.code != 409:
                    raise
                existing = self.client.get("controllerrevisions", ns, f"{name}-{h}")
                if existing["data"] == data and (controller_ref(existing) or {}).get(
                        "uid") == sts["metadata"]["uid"]:
                    return existing
                collisions += 1

    # -- pods ------------------------------------------------------------------------------
    def _new_pod(self, sts: dict, revision: dict, ordinal: int) -> dict:
        template = template_of(revision)
        name = f"{sts['metadata']['name']}-{ordinal}"
        md = template.get("metadata") or {}
        labels = dict(md.get("labels") or {})
        labels[REVISION_LABEL] = revision["metadata"]["name"]
        labels[POD_NAME_LABEL] = name
        labels[POD_INDEX_LABEL] = str(ordinal)
        spec = template["spec"]
        spec["hostname"] = name
        if sts["spec"].get("serviceName"):
            spec["subdomain"] = sts["spec"]["serviceName"]
        volumes = [v for v in spec.get("volumes") or []]
        for claim in sts["spec"].get("volumeClaimTemplates") or []:
            cname = claim["metadata"]["name"]
            volumes = [v for v in volumes if v.get("name") != cname]
            volumes.append({"name": cname, "persistentVolumeClaim": {
                "claimName": f"{cname}-{name}"}})
        if volumes:
            spec["volumes"] = volumes
        pod = {"metadata": {"name": name, "namespace": sts["metadata"]["namespace"],
                            "labels": labels, "ownerReferences": [owner_ref(sts)]},
               "spec": spec}
        if md.get("annotations"):
            pod["metadata"]["annotations"] = dict(md["annotations"])
        return pod

    def _ensure_claims(self, sts: dict, ordinal: int) -> None:
        ns, set_name = sts["metadata"]["namespace"], sts["metadata"]["name"]
        match = (sts["spec"].get("selector") or {}).get("matchLabels") or {}
        for claim in sts["spec"].get("volumeClaimTemplates") or []:
            cname = f"{claim['metadata']['name']}-{set_name}-{ordinal}"
            if self.client.peek("persistentvolumeclaims", ns, cname) is not None:
                continue
            body = clone(claim)
            body.pop("status", None)
            body["metadata"] = {"name": cname, "namespace": ns,
                                "labels": {**(claim["metadata"].get("labels") or {}), **match}}
            self.client.create("persistentvolumeclaims", body, ns)
            self.recorder.normal(sts, "SuccessfulCreate",
                                 f"create Claim {cname} Pod {set_name}-{ordinal} in StatefulSet "
                                 f"{set_name} success")

    def _create_pod(self, sts: dict, revision: dict, ordinal: int) -> None:
        self._ensure_claims(sts, ordinal)
        pod = self._new_pod(sts, revision, ordinal)
        self.client.create("pods", pod, sts["metadata"]["namespace"])
        self.recorder.normal(sts, "SuccessfulCreate",
                             f"create Pod {pod['metadata']['name']} in StatefulSet "
                             f"{sts['metadata']['name']} successful")

    def _delete_pod(self, sts: dict, pod: dict) -> None:
        self.client.delete("pods", pod["metadata"]["namespace"], pod["metadata"]["name"])
        self.recorder.normal(sts, "SuccessfulDelete",
                             f"delete Pod {pod['metadata']['name']} in StatefulSet "
                             f"{sts['metadata']['name']} successful")

    # -- sync ------------------------------------------------------------------------------
    async def sync(self, key: str) -> float | None:
        ns, name = split_key(key)
        sts = self.client.try_get("statefulsets", ns, name)
        if sts is None or sts["metadata"].get("deletionTimestamp"):
            return None
        spec = sts["spec"]
        revisions = self._revisions(sts)
        update_rev = self._update_revision(sts, revisions)
        revisions = self._revisions(sts)
        status = sts.get("status") or {}
        current_name = status.get("currentRevision") or update_rev["metadata"]["name"]
        current_rev = next((r for r in revisions if r["metadata"]["name"] == current_name), update_rev)
        sel = selector_from_spec(spec.get("selector"))
        uid = sts["metadata"]["uid"]
        pods = {}
        for p in self.client.list("pods", ns):
            if (controller_ref(p) or {}).get("uid") != uid or not sel.matches(p["metadata"].get("labels")):
                continue
            o = ordinal_of(p, name)
            if o is not None:
                pods[o] = p
        start = (spec.get("ordinals") or {}).get("start", 0)
        replicas = spec.get("replicas", 1)
        wanted = range(start, start + replicas)
        strategy = spec.get("updateStrategy") or {}
        rolling = strategy.get("type", "RollingUpdate") == "RollingUpdate"
        partition_block = strategy.get("rollingUpdate")
        partition = (partition_block or {}).get("partition", 0) if partition_block is not None else None
        ordered = spec.get("podManagementPolicy", "OrderedReady") == "OrderedReady"
        update_name = update_rev["metadata"]["name"]

        def revision_for(ordinal: int) -> dict:
            if rolling and ((partition is None and ordinal - start < status.get("currentReplicas", 0))
                            or (partition is not None and ordinal - start < partition)):
                return current_rev
            return update_rev

        acted = False
        # Replace failed pods, create missing ones (in order, waiting on each when ordered).
        for ordinal in wanted:
            pod = pods.get(ordinal)
            if pod is not None and pod["status"].get("phase") == "Failed" and \
                    not pod["metadata"].get("deletionTimestamp"):
                self.recorder.warning(sts, "RecreatingFailedPod",
                                      f"StatefulSet {ns}/{name} is recreating failed Pod "
                                      f"{pod['metadata']['name']}")
                self._delete_pod(sts, pod)
                acted = True
                if ordered:
                    break
                continue
            if pod is None:
                self._create_pod(sts, revision_for(ordinal), ordinal)
                acted = True
                if ordered:
                    break
                continue
            if ordered and (pod["metadata"].get("deletionTimestamp") or not _running_ready(pod)):
                acted = True  # wait for this one before touching later ordinals
                break
        # Scale down from the highest ordinal, one at a time when ordered.
        if not acted:
            condemned = sorted((o for o in pods if o not in wanted), reverse=True)
            for o in condemned:
                pod = pods[o]
                if pod["metadata"].get("deletionTimestamp"):
                    acted = ordered
                    if ordered:
                        break
                    continue
                self._delete_pod(sts, pod)
                acted = True
                if ordered:
                    break
        # Rolling update: highest ordinal first, down to the partition, one pod at a time.
        if not acted and rolling and all(
                o in pods and _running_ready(pods[o]) and not pods[o]["metadata"].get("deletionTimestamp")
                for o in wanted):
            floor = start + (partition or 0)
            for o in sorted(wanted, reverse=True):
                if o < floor:
                    break
                pod = pods[o]
                if pod["metadata"]["labels"].get(REVISION_LABEL) != update_name:
                    self._delete_pod(sts, pod)
                    break
        self._update_status(sts, pods, wanted, current_name, update_name, rolling)
        self._truncate_history(sts, revisions, pods, current_name, update_name)
        return None

    def _update_status(self, sts: dict, pods: dict, wanted: range, current_name: str,
                       update_name: str, rolling: bool) -> None:
        live = [p for o, p in pods.items() if not p["metadata"].get("deletionTimestamp")]
        status = {
            "observedGeneration": sts["metadata"].get("generation", 1),
            "replicas": len(live),
            "readyReplicas": sum(1 for p in live if is_pod_ready(p)),
            "currentReplicas": sum(1 for p in live
                                   if p["metadata"]["labels"].get(REVISION_LABEL) == current_name),
            "updatedReplicas": sum(1 for p in live
                                   if p["metadata"]["labels"].get(REVISION_LABEL) == update_name),
            "currentRevision": current_name,
            "updateRevision": update_name,
            "collisionCount": (sts.get("status") or {}).get("collisionCount", 0),
        }
        status["availableReplicas"] = status["readyReplicas"]
        if rolling and status["updatedReplicas"] == status["replicas"] == len(wanted) and \
                status["readyReplicas"] == status["replicas"]:
            status["currentRevision"] = update_name
            status["currentReplicas"] = status["updatedReplicas"]
        for k in ("readyReplicas", "currentReplicas", "updatedReplicas", "availableReplicas"):
            if not status[k]:
                del status[k]
        if status != (sts.get("status") or {}):
            sts["status"] = status
            self.client.update_status("statefulsets", sts)

    def _truncate_history(self, sts: dict, revisions: list[dict], pods: dict, current: str,
                          update: str) -> None:
        limit = sts["spec"].get("revisionHistoryLimit", 10)
        live = {p["metadata"]["labels"].get(REVISION_LABEL) for p in pods.values()}
        keep = {current, update} | live
        candidates = [r for r in revisions if r["metadata"]["name"] not in keep]
        excess = len(candidates) - limit
        for rev in candidates[:max(0, excess)]:
            self.client.delete("controllerrevisions", rev["metadata"]["namespace"],
                               rev["metadata"]["name"])
