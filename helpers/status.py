"""`kubectl rollout status` as pure functions, plus a diagnosis of pods that cannot start.

Kept free of I/O so the exact kubectl messages can be unit-tested on plain dicts
(k8s-behaviour §7.1; kubectl's polymorphichelpers/rollout_status.go).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


class RolloutError(RuntimeError):
    """A rollout failed the way kubectl reports failure (the message is kubectl's)."""


def _cond(obj: Mapping[str, Any], ctype: str) -> Mapping[str, Any] | None:
    for c in obj.get("status", {}).get("conditions") or []:
        if c.get("type") == ctype:
            return c
    return None


def deployment_status(d: Mapping[str, Any]) -> tuple[str, bool]:
    """(message, done) exactly as `kubectl rollout status deployment/<name>` prints it."""
    name = d["metadata"]["name"]
    spec, st = d.get("spec", {}), d.get("status", {})
    if d["metadata"].get("generation", 0) > st.get("observedGeneration", 0):
        return "Waiting for deployment spec update to be observed...", False
    cond = _cond(d, "Progressing")
    if cond and cond.get("reason") == "ProgressDeadlineExceeded":
        raise RolloutError(f'deployment "{name}" exceeded its progress deadline')
    want = spec.get("replicas", 1)
    updated = st.get("updatedReplicas", 0)
    replicas = st.get("replicas", 0)
    available = st.get("availableReplicas", 0)
    prefix = f'Waiting for deployment "{name}" rollout to finish: '
    if updated < want:
        return f"{prefix}{updated} out of {want} new replicas have been updated...", False
    if replicas > updated:
        return f"{prefix}{replicas - updated} old replicas are pending termination...", False
    if available < updated:
        return f"{prefix}{available} of {updated} updated replicas are available...", False
    return f'deployment "{name}" successfully rolled out', True


def statefulset_status(s: Mapping[str, Any]) -> tuple[str, bool]:
    """(message, done) exactly as `kubectl rollout status statefulset/<name>` prints it."""
    spec, st = s.get("spec", {}), s.get("status", {})
    strategy = spec.get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        raise RolloutError("rollout status is only available for RollingUpdate strategy type")
    observed = st.get("observedGeneration", 0)
    if observed == 0 or s["metadata"].get("generation", 0) > observed:
        return "Waiting for statefulset spec update to be observed...", False
    want = spec.get("replicas", 1)
    ready = st.get("readyReplicas", 0)
    if ready < want:
        return f"Waiting for {want - ready} pods to be ready...", False
    updated = st.get("updatedReplicas", 0)
    rolling = strategy.get("rollingUpdate")
    if rolling is not None:
        if rolling.get("partition") is not None and updated < want - rolling["partition"]:
            return (f"Waiting for partitioned roll out to finish: {updated} out of "
                    f"{want - rolling['partition']} new pods have been updated..."), False
        return f"partitioned roll out complete: {updated} new pods have been updated...", True
    if st.get("updateRevision") != st.get("currentRevision"):
        return (f"waiting for statefulset rolling update to complete {updated} pods at "
                f"revision {st.get('updateRevision')}..."), False
    return (f"statefulset rolling update complete {st.get('currentReplicas', 0)} pods at "
            f"revision {st.get('currentRevision')}..."), True


# Waiting reasons that never fix themselves while the spec stays the same.
HOPELESS = {"ImagePullBackOff", "CrashLoopBackOff", "InvalidImageName", "ErrImageNeverPull",
            "CreateContainerConfigError", "CreateContainerError", "RunContainerError"}
# Reasons that are hopeless only if they persist (a pull can fail once on a flaky network).
SUSPECT = {"ErrImagePull"}

ADVICE = {
    "ImagePullBackOff": "the image cannot be pulled: check the tag exists (typo? unreleased "
                        "version?) and that the registry is reachable.",
    "ErrImagePull": "the image cannot be pulled: check the tag exists and that the registry "
                    "is reachable.",
    "InvalidImageName": "the image name is not valid: fix its spelling.",
    "ErrImageNeverPull": "imagePullPolicy is Never but the image is not on the node.",
    "CrashLoopBackOff": "the container starts and exits again and again: read its logs "
                        "(kubectl logs <pod> --previous) and fix the command, config or probes.",
    "CreateContainerConfigError": "a ConfigMap, Secret or setting the container needs is "
                                  "missing.",
    "CreateContainerError": "the runtime could not create the container.",
    "RunContainerError": "the runtime could not start the container.",
    "Unschedulable": "no node can take the pod: lower its resource requests or free capacity.",
}


@dataclass(frozen=True)
class PodProblem:
    pod: str
    container: str
    reason: str
    message: str

    def describe(self) -> str:
        detail = f": {self.message}" if self.message else ""
        return f"pod {self.pod} container {self.container!r} is {self.reason}{detail}"


def pod_problems(pods: Iterable[Mapping[str, Any]]) -> list[PodProblem]:
    """Containers waiting for a reason that needs a human (bad image, crash loop, ...)."""
    found = []
    for pod in pods:
        name = pod["metadata"]["name"]
        if pod["metadata"].get("deletionTimestamp"):
            continue
        st = pod.get("status", {})
        for cs in (st.get("initContainerStatuses") or []) + (st.get("containerStatuses") or []):
            waiting = (cs.get("state") or {}).get("waiting") or {}
            reason = waiting.get("reason")
            if reason in HOPELESS or reason in SUSPECT:
                found.append(PodProblem(name, cs.get("name", "?"), reason,
                                        waiting.get("message", "")))
        sched = next((c for c in st.get("conditions") or [] if c.get("type") == "PodScheduled"),
                     None)
        if sched and sched.get("status") == "False" and sched.get("reason") == "Unschedulable":
            found.append(PodProblem(name, "-", "Unschedulable", sched.get("message", "")))
    return found
