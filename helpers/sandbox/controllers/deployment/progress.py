"""Progressing/Available conditions and the progress deadline: `progress.go`."""

from __future__ import annotations

from datetime import timedelta

from ...util import now, parse_time
from . import util


class ProgressMixin:
    # Seconds after which the current sync wants the Deployment synced again.
    _requeue_after: float | None

    def sync_rollout_status(self, all_rss: list[dict | None], new_rs: dict | None, d: dict) -> None:
        new_status = self.calculate_status(all_rss, new_rs, d)
        if not util.has_progress_deadline(d):
            util.remove_condition(new_status, "Progressing")
        current = util.get_condition(d.get("status") or {}, "Progressing")
        complete = (int(new_status.get("replicas") or 0) == int(new_status.get("updatedReplicas") or 0)
                    and current is not None and current.get("reason") == util.NEW_RS_AVAILABLE)
        name = d["metadata"]["name"]
        subject = f'ReplicaSet "{new_rs["metadata"]["name"]}"' if new_rs else f'Deployment "{name}"'
        if util.has_progress_deadline(d) and not complete:
            if util.deployment_complete(d, new_status):
                util.set_condition(new_status, util.new_condition(
                    "Progressing", "True", util.NEW_RS_AVAILABLE,
                    f"{subject} has successfully progressed."))
            elif util.deployment_progressing(d, new_status):
                cond = util.new_condition("Progressing", "True", util.RS_UPDATED,
                                          f"{subject} is progressing.")
                # Progress refreshes lastUpdateTime even when the reason stays the same.
                if current is not None:
                    if current.get("status") == "True":
                        cond["lastTransitionTime"] = current.get("lastTransitionTime")
                    util.remove_condition(new_status, "Progressing")
                util.set_condition(new_status, cond)
            elif util.deployment_timed_out(d, new_status):
                util.set_condition(new_status, util.new_condition(
                    "Progressing", "False", util.TIMED_OUT, f"{subject} has timed out progressing."))
        failures = self.get_replica_failures(all_rss, new_rs)
        if failures:
            util.set_condition(new_status, failures[0])
        else:
            util.remove_condition(new_status, "ReplicaFailure")
        if (d.get("status") or {}) == new_status:
            self.requeue_stuck_deployment(d, new_status)
            return
        d["status"] = new_status
        self._update_status(d)

    @staticmethod
    def get_replica_failures(all_rss: list[dict | None], new_rs: dict | None) -> list[dict]:
        """ReplicaFailure conditions of the new RS, else of any RS."""
        def failures(rss):
            return [util.rs_to_deployment_condition(c) for rs in rss if rs is not None
                    for c in (rs.get("status") or {}).get("conditions") or []
                    if c.get("type") == "ReplicaFailure"]
        return failures([new_rs]) or failures(all_rss)

    def requeue_stuck_deployment(self, d: dict, new_status: dict) -> None:
        """No visible progress: check again once the deadline could have passed."""
        current = util.get_condition(d.get("status") or {}, "Progressing")
        if not util.has_progress_deadline(d) or current is None:
            return
        if util.deployment_complete(d, new_status) or current.get("reason") == util.TIMED_OUT:
            return
        last = parse_time(current.get("lastUpdateTime"))
        if last is None:
            return
        after = (last + timedelta(seconds=int(d["spec"]["progressDeadlineSeconds"])) - now()).total_seconds()
        # Within a second of the deadline: check now (upstream rate-limits this requeue).
        self._requeue_after = 0.5 if after < 1 else after + 1
