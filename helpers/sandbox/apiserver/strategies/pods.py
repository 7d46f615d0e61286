"""Pods: created Pending with admission defaults; most of the spec is immutable."""

from __future__ import annotations

from ...objects import clone
from ...util import random_suffix
from ..defaults import pod_admission_defaults
from ..errors import Cause, invalid
from ..strategy import Strategy

# The spec fields a pod update may change (pkg/apis/core/validation ValidatePodUpdate).
_MUTABLE_MESSAGE = (
    "pod updates may not change fields other than `spec.containers[*].image`,"
    "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` "
    "(only additions to existing tolerations),`spec.terminationGracePeriodSeconds` "
    "(allow it to be set to 1 if it was previously negative)")


def qos_class(pod: dict) -> str:
    """BestEffort without any request/limit; Guaranteed when every container has equal
    cpu and memory requests and limits; Burstable otherwise."""
    containers = pod.get("spec", {}).get("containers") or []
    any_set = False
    guaranteed = True
    for c in containers:
        res = c.get("resources") or {}
        req, lim = res.get("requests") or {}, res.get("limits") or {}
        if req or lim:
            any_set = True
        for r in ("cpu", "memory"):
            if r not in lim or req.get(r, lim.get(r)) != lim.get(r):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


class PodStrategy(Strategy):
    def prepare_create(self, reg, obj: dict) -> None:
        pod_admission_defaults(obj, random_suffix)
        obj["status"] = {"phase": "Pending", "qosClass": qos_class(obj)}

    def prepare_update(self, reg, new: dict, old: dict) -> None:
        new["status"] = clone(old.get("status", {}))

    def validate_update_extra(self, reg, new: dict, old: dict) -> None:
        a, b = clone(new.get("spec", {})), clone(old.get("spec", {}))
        for spec in (a, b):
            for key in ("containers", "initContainers"):
                for c in spec.get(key) or []:
                    c.pop("image", None)
            for key in ("activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds"):
                spec.pop(key, None)
            # Binding (the scheduler, pods/binding) sets nodeName once; in-process it is an update.
            if not old.get("spec", {}).get("nodeName"):
                spec.pop("nodeName", None)
        if a != b:
            raise invalid("Pod", "", new["metadata"]["name"],
                          [Cause("FieldValueForbidden", "Forbidden: " + _MUTABLE_MESSAGE, "spec")])
