"""The RollingUpdate strategy: `rolling.go`.

Scale the new replica set up within maxSurge without looking at readiness, then scale old
ones down only as far as availability allows (maxUnavailable), unhealthy replicas first.
"""

from __future__ import annotations

from . import util


class RollingMixin:
    def rollout_rolling(self, d: dict, rss: list[dict]) -> None:
        new_rs, old_rss = self.get_all_rss_and_sync_revision(d, rss, True)
        all_rss = [*old_rss, new_rs]
        if self.reconcile_new_rs(all_rss, new_rs, d):
            self.sync_rollout_status(all_rss, new_rs, d)
            return
        if self.reconcile_old_rss(all_rss, util.active(old_rss), new_rs, d):
            self.sync_rollout_status(all_rss, new_rs, d)
            return
        if util.deployment_complete(d, d.get("status") or {}):
            self.cleanup_deployment(old_rss, d)
        self.sync_rollout_status(all_rss, new_rs, d)

    def reconcile_new_rs(self, all_rss: list[dict], new_rs: dict, d: dict) -> bool:
        want = util.replicas(d)
        if util.replicas(new_rs) == want:
            return False
        if util.replicas(new_rs) > want:
            return self.scale_rs_and_record_event(new_rs, want, d)
        return self.scale_rs_and_record_event(new_rs, util.new_rs_new_replicas(d, all_rss, new_rs), d)

    def reconcile_old_rss(self, all_rss: list[dict], old_rss: list[dict], new_rs: dict,
                          d: dict) -> bool:
        if util.total_replicas(old_rss) == 0:
            return False
        min_available = util.replicas(d) - util.max_unavailable(d)
        new_unavailable = util.replicas(new_rs) - util.status_int(new_rs, "availableReplicas")
        max_scaled_down = util.total_replicas(all_rss) - min_available - new_unavailable
        if max_scaled_down <= 0:
            return False
        # Unhealthy replicas first: they would otherwise block the rollout until the deadline
        # (kubernetes/kubernetes#16737).
        cleaned = self.cleanup_unhealthy_replicas(old_rss, d, max_scaled_down)
        scaled = self.scale_down_old_rss_for_rolling_update([*old_rss, new_rs], old_rss, d)
        return cleaned + scaled > 0

    def cleanup_unhealthy_replicas(self, old_rss: list[dict], d: dict, max_cleanup: int) -> int:
        total = 0
        for rs in util.by_creation(old_rss):
            if total >= max_cleanup:
                break
            available = util.status_int(rs, "availableReplicas")
            if util.replicas(rs) == 0 or util.replicas(rs) == available:
                continue
            count = min(max_cleanup - total, util.replicas(rs) - available)
            self.scale_rs_and_record_event(rs, util.replicas(rs) - count, d)
            total += count
        return total

    def scale_down_old_rss_for_rolling_update(self, all_rss: list[dict], old_rss: list[dict],
                                              d: dict) -> int:
        min_available = util.replicas(d) - util.max_unavailable(d)
        available = util.total_status(all_rss, "availableReplicas")
        if available <= min_available:
            return 0
        budget = available - min_available
        total = 0
        for rs in util.by_creation(old_rss):
            if total >= budget:
                break
            if util.replicas(rs) == 0:
                continue
            count = min(util.replicas(rs), budget - total)
            self.scale_rs_and_record_event(rs, util.replicas(rs) - count, d)
            total += count
        return total
