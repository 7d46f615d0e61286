"""Workload kinds: the API owns status, and spec changes bump generation."""

from __future__ import annotations

from ..defaults import job_generate_selector
from ..strategy import Strategy


class StatusClearingStrategy(Strategy):
    clears_status_on_create = True
    # The cleared status as the Go type serialises it: fields without `omitempty` stay.
    zero_status: dict = {}

    def prepare_create(self, reg, obj: dict) -> None:
        super().prepare_create(reg, obj)
        obj["status"] = dict(self.zero_status)


class ReplicaSetStrategy(StatusClearingStrategy):
    zero_status = {"replicas": 0}


class StatefulSetStrategy(StatusClearingStrategy):
    zero_status = {"replicas": 0, "availableReplicas": 0}


class DeploymentStrategy(StatusClearingStrategy):
    # Annotations are copied to ReplicaSets, so changing them is a change the controller
    # must observe; the controller writes the revision annotation through /status.
    generation_tracks_annotations = True
    status_updates_annotations = True


class HPAStrategy(Strategy):
    def prepare_create(self, reg, obj: dict) -> None:
        super().prepare_create(reg, obj)
        obj["status"] = {"desiredReplicas": 0}


class JobStrategy(StatusClearingStrategy):
    def prepare_create(self, reg, obj: dict) -> None:
        super().prepare_create(reg, obj)
        if not obj.get("spec", {}).get("manualSelector"):
            job_generate_selector(obj)
