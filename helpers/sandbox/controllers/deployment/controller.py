"""The Deployment controller: `deployment_controller.go` (watches, claiming, sync dispatch).

The rollout logic lives in the mixins, one per upstream file: `sync.py` (revisions, new RS,
proportional scaling, cleanup, status), `rolling.py`, `recreate.py`, `progress.py`.
"""

from __future__ import annotations

import logging

from ...apiserver.errors import ApiError
from ...apiserver.selectors import LabelSelector, SelectorError, selector_from_spec
from ...objects import clone, controller_ref, labels_of, owner_ref
from ..base import Controller, ns_name_key, split_key
from ..events import EventRecorder
from .progress import ProgressMixin
from .recreate import RecreateMixin
from .rolling import RollingMixin
from .sync import SyncMixin

log = logging.getLogger("rollout_labs.sandbox.controllers.deployment")


def _selector(d: dict) -> LabelSelector | None:
    try:
        return selector_from_spec(d.get("spec", {}).get("selector"))
    except SelectorError:
        return None


class DeploymentController(SyncMixin, RollingMixin, RecreateMixin, ProgressMixin, Controller):
    name = "deployment-controller"

    def __init__(self, client, config=None):
        super().__init__(client, config)
        self.recorder = EventRecorder(client, "deployment-controller")
        self._requeue_after: float | None = None

    # -- wiring ----------------------------------------------------------------------------
    def watches(self):
        def deployments(ev):
            return [ns_name_key(ev.object)]

        def replicasets(ev):
            keys: set[str] = set()
            for obj in (ev.object, ev.old):
                if obj is None:
                    continue
                ref = controller_ref(obj)
                if ref is not None:
                    if ref.get("kind") == "Deployment":
                        keys.add(f"{obj['metadata']['namespace']}/{ref['name']}")
                elif obj is ev.object and ev.type != "DELETED":
                    keys.update(self._deployments_for_orphan(obj))
            return keys

        def pods(ev):
            # Only Recreate waits on pods (for old ones to be gone), as upstream's deletePod.
            if ev.type != "DELETED":
                return []
            ref = controller_ref(ev.object)
            if ref is None or ref.get("kind") != "ReplicaSet":
                return []
            ns = ev.object["metadata"]["namespace"]
            rs = self.client.peek("replicasets", ns, ref["name"])
            dref = controller_ref(rs) if rs else None
            if dref is None or dref.get("kind") != "Deployment":
                return []
            d = self.client.peek("deployments", ns, dref["name"])
            if d is None or (d["spec"].get("strategy") or {}).get("type") != "Recreate":
                return []
            return [f"{ns}/{dref['name']}"]

        return {"deployments": deployments, "replicasets": replicasets, "pods": pods}

    def initial_keys(self):
        return [ns_name_key(d) for d in self.client.scan("deployments")]

    def _deployments_for_orphan(self, rs: dict) -> list[str]:
        out = []
        for d in self.client.scan("deployments", rs["metadata"]["namespace"]):
            sel = _selector(d)
            if sel is not None and not sel.empty and sel.matches(labels_of(rs)):
                out.append(ns_name_key(d))
        return out

    # -- sync ------------------------------------------------------------------------------
    async def sync(self, key: str) -> float | None:
        self._requeue_after = None
        ns, name = split_key(key)
        d = self.client.try_get("deployments", ns, name)
        if d is not None:
            self.sync_deployment(d)
        return self._requeue_after

    def sync_deployment(self, d: dict) -> None:
        selector = _selector(d)
        if selector is None:
            return
        if selector.empty:
            self.recorder.warning(d, "SelectingAll",
                                  "This deployment is selecting all pods. A non-empty selector is required.")
            status = d.setdefault("status", {})
            if int(status.get("observedGeneration") or 0) < int(d["metadata"].get("generation") or 0):
                status["observedGeneration"] = d["metadata"]["generation"]
                self._update_status(d)
            return
        rss = self.get_replicasets_for_deployment(d, selector)
        pod_map = self.get_pod_map(d, rss, selector)
        if d["metadata"].get("deletionTimestamp"):
            self.sync_status_only(d, rss)
            return
        self.check_paused_conditions(d)
        if d["spec"].get("paused"):
            self.sync_scaling(d, rss)
            return
        # The legacy rollbackTo annotation (extensions/v1beta1 rollback) is not supported:
        # kubectl rollout undo patches the template instead (§7.3).
        if self.is_scaling_event(d, rss):
            self.sync_scaling(d, rss)
            return
        if (d["spec"].get("strategy") or {}).get("type") == "Recreate":
            self.rollout_recreate(d, rss, pod_map)
        else:
            self.rollout_rolling(d, rss)

    # -- ownership -------------------------------------------------------------------------
    def get_replicasets_for_deployment(self, d: dict, selector: LabelSelector) -> list[dict]:
        """ClaimReplicaSets: keep owned matching RSes, adopt matching orphans, release the
        owned ones whose labels no longer match."""
        md = d["metadata"]
        uid, deleting = md["uid"], bool(md.get("deletionTimestamp"))
        claimed = []
        for rs in self.client.list("replicasets", md["namespace"]):
            ref = controller_ref(rs)
            matches = selector.matches(labels_of(rs))
            if ref is not None:
                if ref.get("uid") != uid:
                    continue
                if matches:
                    claimed.append(rs)
                elif not deleting:
                    self._release(rs, uid)
                continue
            if not matches or deleting or rs["metadata"].get("deletionTimestamp"):
                continue
            adopted = self._adopt(d, rs)
            if adopted is not None:
                claimed.append(adopted)
        return claimed

    def _can_adopt(self, d: dict) -> bool:
        """Recheck with a fresh read that the Deployment is the same and not being deleted."""
        fresh = self.client.peek("deployments", d["metadata"]["namespace"], d["metadata"]["name"])
        return (fresh is not None and fresh["metadata"]["uid"] == d["metadata"]["uid"]
                and not fresh["metadata"].get("deletionTimestamp"))

    def _adopt(self, d: dict, rs: dict) -> dict | None:
        if not self._can_adopt(d):
            return None
        changed = clone(rs)
        changed["metadata"].setdefault("ownerReferences", []).append(owner_ref(d))
        try:
            return self.client.update("replicasets", changed)
        except ApiError as e:
            if e.code == 404:
                return None
            raise

    def _release(self, rs: dict, uid: str) -> None:
        changed = clone(rs)
        changed["metadata"]["ownerReferences"] = [
            r for r in rs["metadata"].get("ownerReferences") or [] if r.get("uid") != uid]
        if not changed["metadata"]["ownerReferences"]:
            del changed["metadata"]["ownerReferences"]
        try:
            self.client.update("replicasets", changed)
        except ApiError as e:
            if e.code not in (404, 422):
                raise

    def get_pod_map(self, d: dict, rss: list[dict], selector: LabelSelector) -> dict[str, list[dict]]:
        """Pods selected by the Deployment, grouped by the uid of their owning RS."""
        pod_map: dict[str, list[dict]] = {rs["metadata"]["uid"]: [] for rs in rss}
        for pod in self.client.scan("pods", d["metadata"]["namespace"]):
            if not selector.matches(labels_of(pod)):
                continue
            ref = controller_ref(pod)
            if ref is not None and ref.get("uid") in pod_map:
                pod_map[ref["uid"]].append(pod)
        return pod_map
