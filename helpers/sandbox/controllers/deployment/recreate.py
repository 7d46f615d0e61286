"""The Recreate strategy: `recreate.go`.

Old pods must be gone (not merely scaled away: terminating pods still count) before the new
replica set is even created, so old and new pods never run together.
"""

from __future__ import annotations

from . import util


class RecreateMixin:
    def rollout_recreate(self, d: dict, rss: list[dict], pod_map: dict[str, list[dict]]) -> None:
        # Do not create the new RS yet: that would scale up before scaling down.
        new_rs, old_rss = self.get_all_rss_and_sync_revision(d, rss, False)
        all_rss = [*old_rss, new_rs]
        if self.scale_down_old_rss_for_recreate(util.active(old_rss), d):
            self.sync_rollout_status(all_rss, new_rs, d)
            return
        if old_pods_running(new_rs, old_rss, pod_map):
            self.sync_rollout_status(all_rss, new_rs, d)
            return
        if new_rs is None:
            new_rs, old_rss = self.get_all_rss_and_sync_revision(d, rss, True)
            all_rss = [*old_rss, new_rs]
        self.scale_rs_and_record_event(new_rs, util.replicas(d), d)
        if util.deployment_complete(d, d.get("status") or {}):
            self.cleanup_deployment(old_rss, d)
        self.sync_rollout_status(all_rss, new_rs, d)

    def scale_down_old_rss_for_recreate(self, old_rss: list[dict], d: dict) -> bool:
        scaled = False
        for rs in old_rss:
            if util.replicas(rs) and self.scale_rs_and_record_event(rs, 0, d):
                scaled = True
        return scaled


def old_pods_running(new_rs: dict | None, old_rss: list[dict], pod_map: dict[str, list[dict]]) -> bool:
    """Old RSes still report replicas, or an old pod is in any non-terminal phase
    (Terminating and Unknown pods count: they may still be running)."""
    if util.total_status(old_rss, "replicas") > 0:
        return True
    new_uid = new_rs["metadata"]["uid"] if new_rs else None
    for rs_uid, pods in pod_map.items():
        if rs_uid == new_uid:
            continue
        if any((p.get("status") or {}).get("phase") not in ("Succeeded", "Failed") for p in pods):
            return True
    return False
