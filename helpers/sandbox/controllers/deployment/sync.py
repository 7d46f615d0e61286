"""Revision sync, new-RS creation, proportional scaling, history cleanup, status: `sync.go`.

Methods of `DeploymentController` (mixed in), named after their upstream counterparts.
`d` is the controller's working copy of the Deployment; every status write goes through
`_update_status`, which keeps its resourceVersion current so later writes in the same
sync do not conflict. Replica sets updated here are refreshed in place, so every list
holding them sees the new size and annotations.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...apiserver.errors import ApiError
from ...objects import clone, controller_ref, owner_ref
from . import util

if TYPE_CHECKING:
    from ...client import Client
    from ..events import EventRecorder


class DeploymentSyncError(Exception):
    """A sync step failed after recording what it could; the key is retried with back-off."""


class SyncMixin:
    client: Client
    recorder: EventRecorder

    # -- writes ----------------------------------------------------------------------------
    def _update_status(self, d: dict) -> None:
        """UpdateStatus with the working copy (status and the revision annotation)."""
        updated = self.client.update_status("deployments", d)
        d["metadata"]["resourceVersion"] = updated["metadata"]["resourceVersion"]

    def _update_rs(self, rs: dict, changed: dict) -> dict:
        updated = self.client.update("replicasets", changed)
        rs.clear()
        rs.update(updated)
        return rs

    # -- entry points ----------------------------------------------------------------------
    def sync_status_only(self, d: dict, rss: list[dict]) -> None:
        """syncStatusOnly: a Deployment being deleted only gets its status refreshed."""
        new_rs, old_rss = self.get_all_rss_and_sync_revision(d, rss, False)
        self.sync_deployment_status([*old_rss, new_rs], new_rs, d)

    def sync_scaling(self, d: dict, rss: list[dict]) -> None:
        """Upstream `sync`: reconcile a scaling event or a paused Deployment (no rollout)."""
        new_rs, old_rss = self.get_all_rss_and_sync_revision(d, rss, False)
        self.scale(d, new_rs, old_rss)
        if d["spec"].get("paused") and util.ROLLBACK_TO not in (d["metadata"].get("annotations") or {}):
            self.cleanup_deployment(old_rss, d)
        self.sync_deployment_status([*old_rss, new_rs], new_rs, d)

    def check_paused_conditions(self, d: dict) -> None:
        """Mark Progressing Unknown while paused so a long pause is not taken for a stall."""
        if not util.has_progress_deadline(d):
            return
        status = d.setdefault("status", {})
        cond = util.get_condition(status, "Progressing")
        if cond is not None and cond.get("reason") == util.TIMED_OUT:
            return
        paused_cond = cond is not None and cond.get("reason") == util.PAUSED
        if d["spec"].get("paused") and not paused_cond:
            util.set_condition(status, util.new_condition(
                "Progressing", "Unknown", util.PAUSED, "Deployment is paused"))
        elif not d["spec"].get("paused") and paused_cond:
            util.set_condition(status, util.new_condition(
                "Progressing", "Unknown", util.RESUMED, "Deployment is resumed"))
        else:
            return
        self._update_status(d)

    def is_scaling_event(self, d: dict, rss: list[dict]) -> bool:
        """An active RS whose desired-replicas annotation differs from spec.replicas."""
        new_rs, old_rss = self.get_all_rss_and_sync_revision(d, rss, False)
        for rs in util.active([*old_rss, new_rs]):
            desired = util.desired_replicas_annotation(rs)
            if desired is not None and desired != util.replicas(d):
                return True
        return False

    # -- revisions and the new replica set -------------------------------------------------
    def get_all_rss_and_sync_revision(self, d: dict, rss: list[dict],
                                      create: bool) -> tuple[dict | None, list[dict]]:
        old_rss = util.find_old_rss(d, rss)
        new_rs = self.get_new_replicaset(d, rss, old_rss, create)
        return new_rs, old_rss

    def get_new_replicaset(self, d: dict, rss: list[dict], old_rss: list[dict],
                           create: bool) -> dict | None:
        """getNewReplicaSet: sync the existing new RS's annotations and revision, or create it."""
        existing = util.find_new_rs(d, rss)
        new_revision = util.max_revision(old_rss) + 1
        status = d.setdefault("status", {})

        if existing is not None:
            rs_copy = clone(existing)
            annotations_updated = util.set_new_rs_annotations(d, rs_copy, new_revision, True)
            min_ready = d["spec"].get("minReadySeconds") or 0
            if annotations_updated or (rs_copy["spec"].get("minReadySeconds") or 0) != min_ready:
                if min_ready:
                    rs_copy["spec"]["minReadySeconds"] = min_ready
                else:
                    rs_copy["spec"].pop("minReadySeconds", None)
                # Like upstream, return right after the RS write; the Deployment's revision
                # annotation follows on the sync that this write triggers.
                return self._update_rs(existing, rs_copy)
            needs_update = util.set_deployment_revision(
                d, (existing["metadata"].get("annotations") or {}).get(util.REVISION))
            if util.has_progress_deadline(d) and util.get_condition(status, "Progressing") is None:
                util.set_condition(status, util.new_condition(
                    "Progressing", "True", util.FOUND_NEW_RS,
                    f'Found new replica set "{existing["metadata"]["name"]}"'))
                needs_update = True
            if needs_update:
                self._update_status(d)
            return existing

        if not create:
            return None

        template = clone(d["spec"]["template"])
        pod_hash = util.compute_hash(template, status.get("collisionCount"))
        md = template.setdefault("metadata", {})
        md["labels"] = {**(md.get("labels") or {}), util.HASH_LABEL: pod_hash}
        selector = clone(d["spec"]["selector"])
        selector["matchLabels"] = {**(selector.get("matchLabels") or {}), util.HASH_LABEL: pod_hash}
        name = f"{d['metadata']['name']}-{pod_hash}"
        new_rs = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {"name": name, "namespace": d["metadata"]["namespace"],
                         "labels": dict(md["labels"]), "ownerReferences": [owner_ref(d)]},
            "spec": {"replicas": 0, "selector": selector, "template": template},
        }
        if d["spec"].get("minReadySeconds"):
            new_rs["spec"]["minReadySeconds"] = d["spec"]["minReadySeconds"]
        new_replicas = util.new_rs_new_replicas(d, [*old_rss, new_rs], new_rs)
        new_rs["spec"]["replicas"] = new_replicas
        util.set_new_rs_annotations(d, new_rs, new_revision, False)

        already_exists = False
        try:
            created = self.client.create("replicasets", new_rs, d["metadata"]["namespace"])
        except ApiError as e:
            if e.code == 409 and e.reason == "AlreadyExists":
                found = self.client.try_get("replicasets", d["metadata"]["namespace"], name)
                ref = controller_ref(found) if found is not None else None
                if found is not None and ref and ref.get("uid") == d["metadata"]["uid"] and \
                        util.equal_ignore_hash(d["spec"]["template"], found["spec"]["template"]):
                    created, already_exists = found, True
                else:
                    # A different template hashed to the same name: bump collisionCount so
                    # the next sync computes a new hash.
                    status["collisionCount"] = int(status.get("collisionCount") or 0) + 1
                    self._update_status(d)
                    raise DeploymentSyncError(f"hash collision for replica set {name}") from e
            elif e.code == 403 and "being terminated" in e.message:
                raise
            else:
                msg = f'Failed to create new replica set "{name}": {e.message}'
                if util.has_progress_deadline(d):
                    util.set_condition(status, util.new_condition(
                        "Progressing", "False", util.FAILED_RS_CREATE, msg))
                    try:
                        self._update_status(d)
                    except ApiError:
                        pass
                self.recorder.warning(d, util.FAILED_RS_CREATE, msg)
                raise
        if not already_exists and new_replicas > 0:
            self.recorder.normal(d, "ScalingReplicaSet",
                                 f"Scaled up replica set {created['metadata']['name']} to {new_replicas}")
        needs_update = util.set_deployment_revision(d, str(new_revision))
        if not already_exists and util.has_progress_deadline(d):
            util.set_condition(status, util.new_condition(
                "Progressing", "True", util.NEW_RS_CREATED,
                f'Created new replica set "{created["metadata"]["name"]}"'))
            needs_update = True
        if needs_update:
            self._update_status(d)
        return created

    # -- scaling ---------------------------------------------------------------------------
    def scale(self, d: dict, new_rs: dict | None, old_rss: list[dict]) -> None:
        """Scale for a resize or a paused Deployment, keeping each RS's share (§3.6)."""
        single = util.find_active_or_latest(new_rs, old_rss)
        if single is not None:
            if util.replicas(single) != util.replicas(d):
                self.scale_rs_and_record_event(single, util.replicas(d), d)
            return
        if util.is_saturated(d, new_rs):
            for old in util.active(old_rss):
                self.scale_rs_and_record_event(old, 0, d)
            return
        if not util.is_rolling_update(d):
            return
        all_rss = util.active([*old_rss, new_rs])
        allowed = util.replicas(d) + util.max_surge(d) if util.replicas(d) > 0 else 0
        to_add = allowed - util.total_replicas(all_rss)
        operation = ""
        if to_add > 0:
            all_rss = util.by_size_newer(all_rss)
            operation = "up"
        elif to_add < 0:
            all_rss = util.by_size_older(all_rss)
            operation = "down"
        added = 0
        sizes: dict[str, int] = {}
        for rs in all_rss:
            if to_add != 0:
                proportion = util.replica_set_proportion(rs, d, to_add, added)
                sizes[rs["metadata"]["name"]] = util.replicas(rs) + proportion
                added += proportion
            else:
                sizes[rs["metadata"]["name"]] = util.replicas(rs)
        for i, rs in enumerate(all_rss):
            name = rs["metadata"]["name"]
            if i == 0 and to_add != 0:
                sizes[name] = max(0, sizes[name] + to_add - added)
            self.scale_rs(rs, sizes[name], d, operation)

    def scale_rs_and_record_event(self, rs: dict, new_scale: int, d: dict) -> bool:
        if util.replicas(rs) == new_scale:
            return False
        operation = "up" if util.replicas(rs) < new_scale else "down"
        return self.scale_rs(rs, new_scale, d, operation)

    def scale_rs(self, rs: dict, new_scale: int, d: dict, operation: str) -> bool:
        """Set the size and the desired/max-replicas annotations; event only on a resize."""
        desired, max_total = util.replicas(d), util.replicas(d) + util.max_surge(d)
        size_changed = util.replicas(rs) != new_scale
        if not size_changed and not util.replicas_annotations_need_update(rs, desired, max_total):
            return False
        old_scale = util.replicas(rs)
        rs_copy = clone(rs)
        rs_copy["spec"]["replicas"] = new_scale
        util.set_replicas_annotations(rs_copy, desired, max_total)
        self._update_rs(rs, rs_copy)
        if size_changed:
            self.recorder.normal(d, "ScalingReplicaSet",
                                 f"Scaled {operation} replica set {rs['metadata']['name']} "
                                 f"to {new_scale} from {old_scale}")
        return size_changed

    # -- history ---------------------------------------------------------------------------
    def cleanup_deployment(self, old_rss: list[dict], d: dict) -> None:
        """Delete the oldest fully scaled-down old RSes beyond revisionHistoryLimit."""
        if not util.has_revision_history_limit(d):
            return
        cleanable = [rs for rs in old_rss if rs is not None
                     and not rs["metadata"].get("deletionTimestamp")]
        diff = len(cleanable) - int(d["spec"]["revisionHistoryLimit"])
        if diff <= 0:
            return
        for rs in util.by_revision(cleanable)[:diff]:
            if util.status_int(rs, "replicas") != 0 or util.replicas(rs) != 0 \
                    or int(rs["metadata"].get("generation") or 0) > util.status_int(rs, "observedGeneration") \
                    or rs["metadata"].get("deletionTimestamp"):
                continue
            self.client.delete("replicasets", rs["metadata"]["namespace"], rs["metadata"]["name"])

    # -- status ----------------------------------------------------------------------------
    def sync_deployment_status(self, all_rss: list[dict | None], new_rs: dict | None, d: dict) -> None:
        new_status = self.calculate_status(all_rss, new_rs, d)
        if (d.get("status") or {}) == new_status:
            return
        d["status"] = new_status
        self._update_status(d)

    @staticmethod
    def calculate_status(all_rss: list[dict | None], new_rs: dict | None, d: dict) -> dict:
        available = util.total_status(all_rss, "availableReplicas")
        unavailable = max(0, util.total_replicas(all_rss) - available)
        old = d.get("status") or {}
        status: dict = {}
        for field, value in (
            ("observedGeneration", int(d["metadata"].get("generation") or 0)),
            ("replicas", util.total_status(all_rss, "replicas")),
            ("updatedReplicas", util.total_status([new_rs], "replicas")),
            ("readyReplicas", util.total_status(all_rss, "readyReplicas")),
            ("availableReplicas", available),
            ("unavailableReplicas", unavailable),
        ):
            if value:
                status[field] = value
        if old.get("conditions"):
            status["conditions"] = clone(old["conditions"])
        if old.get("collisionCount") is not None:
            status["collisionCount"] = old["collisionCount"]
        if available >= util.replicas(d) - util.max_unavailable(d):
            cond = util.new_condition("Available", "True", util.MIN_AVAILABLE,
                                      "Deployment has minimum availability.")
        else:
            cond = util.new_condition("Available", "False", util.MIN_UNAVAILABLE,
                                      "Deployment does not have minimum availability.")
        util.set_condition(status, cond)
        return status
