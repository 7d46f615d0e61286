"""Pod status as the kubelet computes it from its containers (k8s-behaviour.md §5).

Kept free of I/O so the rules can be read (and tested) on their own: the phase from container
states (`getPhase`), the conditions in the kubelet's order with `lastTransitionTime` moving
only on a change, and one containerStatus per container.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..util import rfc3339

CONDITION_ORDER = ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady",
                   "PodScheduled")


@dataclass
class ContainerState:
    """What the kubelet knows about one container (across its runs)."""

    name: str
    image: str  # as in the spec
    init: bool = False
    sidecar: bool = False  # an init container with restartPolicy: Always
    runtime_image: str = ""  # as the runtime reports it once created
    image_id: str = ""
    container_id: str = ""
    restart_count: int = 0
    state: dict = field(default_factory=lambda: {"waiting": {"reason": "ContainerCreating"}})
    last_state: dict = field(default_factory=dict)
    ready: bool = False
    started: bool = False

    @property
    def running(self) -> bool:
        return "running" in self.state

    @property
    def terminated(self) -> dict | None:
        return self.state.get("terminated")

    def waiting(self, reason: str, message: str | None = None) -> None:
        w: dict = {"reason": reason}
        if message:
            w["message"] = message
        self.state = {"waiting": w}
        self.ready = False
        self.started = False

    def to_status(self) -> dict:
        out: dict = {
            "name": self.name,
            "state": self.state,
            "lastState": self.last_state,
            "ready": self.ready,
            "restartCount": self.restart_count,
            "image": self.runtime_image or self.image,
            "imageID": self.image_id,
        }
        if self.container_id:
            out["containerID"] = f"containerd://{self.container_id}"
        out["started"] = self.started
        return out


def terminated_state(exit_code: int, started_at, finished_at, container_id: str,
                     reason: str | None = None, message: str | None = None,
                     signal: int | None = None) -> dict:
    t: dict = {"exitCode": exit_code}
    if signal:
        t["signal"] = signal
    t["reason"] = reason or ("Completed" if exit_code == 0 else "Error")
    if message:
        t["message"] = message
    t["startedAt"] = rfc3339(started_at) if started_at else None
    t["finishedAt"] = rfc3339(finished_at) if finished_at else None
    if container_id:
        t["containerID"] = f"containerd://{container_id}"
    return {"terminated": t}


def pod_phase(restart_policy: str, containers: list[ContainerState],
              init_containers: list[ContainerState], previous: str | None) -> str:
    """kubelet getPhase: Pending until every container has started once; terminal phases stick."""
    if previous in ("Succeeded", "Failed"):
        return previous
    for ic in init_containers:
        if ic.sidecar:
            continue
        t = ic.terminated
        if t is None or t.get("exitCode") != 0:
            if t is not None and restart_policy == "Never":
                return "Failed"
            return "Pending"
    waiting = running = stopped = succeeded = 0
    for c in containers:
        if c.running:
            running += 1
        elif c.terminated is not None:
            stopped += 1
            if c.terminated.get("exitCode") == 0:
                succeeded += 1
        elif "terminated" in c.last_state:
            stopped += 1  # restarting
        else:
            waiting += 1
    if waiting:
        return "Pending"
    if running:
        return "Running"
    if stopped:
        if restart_policy == "Always":
            return "Running"
        if stopped == succeeded:
            return "Succeeded"
        if restart_policy == "Never":
            return "Failed"
        return "Running"
    return "Pending"


def set_condition(conditions: dict[str, dict], ctype: str, status: bool,
                  reason: str | None = None, message: str | None = None) -> None:
    """Update one condition; `lastTransitionTime` only moves when the status changes."""
    value = "True" if status else "False"
    old = conditions.get(ctype)
    cond: dict = {"type": ctype, "status": value, "lastProbeTime": None,
                  "lastTransitionTime": rfc3339()}
    if old is not None and old.get("status") == value and old.get("lastTransitionTime"):
        cond["lastTransitionTime"] = old["lastTransitionTime"]
    if reason:
        cond["reason"] = reason
    if message:
        cond["message"] = message
    conditions[ctype] = cond


def build_status(old: dict, *, restart_policy: str, containers: list[ContainerState],
                 init_containers: list[ContainerState], sandbox_ready: bool, pod_ip: str | None,
                 host_ip: str, start_time: str, readiness_gates: list[str] | None = None,
                 terminal_phase: str | None = None) -> dict:
    """The whole pod status from the kubelet's view, keeping what others own (PodScheduled,
    nominatedNodeName, qosClass, extra conditions)."""
    phase = terminal_phase or pod_phase(restart_policy, containers, init_containers,
                                        old.get("phase"))
    conds = {c["type"]: c for c in old.get("conditions") or []}
    set_condition(conds, "PodReadyToStartContainers", sandbox_ready and phase not in (
        "Succeeded", "Failed"))
    incomplete = [c.name for c in init_containers
                  if not c.sidecar and (c.terminated is None or c.terminated.get("exitCode") != 0)]
    if incomplete:
        set_condition(conds, "Initialized", False, "ContainersNotInitialized",
                      f"containers with incomplete status: [{' '.join(incomplete)}]")
    else:
        set_condition(conds, "Initialized", True)
    unready = [c.name for c in [*(i for i in init_containers if i.sidecar), *containers]
               if not c.ready]
    if phase in ("Succeeded", "Failed"):
        set_condition(conds, "ContainersReady", False, "PodCompleted")
        set_condition(conds, "Ready", False, "PodCompleted")
    elif unready:
        msg = f"containers with unready status: [{' '.join(unready)}]"
        set_condition(conds, "ContainersReady", False, "ContainersNotReady", msg)
        set_condition(conds, "Ready", False, "ContainersNotReady", msg)
    else:
        set_condition(conds, "ContainersReady", True)
        gates_false = [g for g in readiness_gates or []
                       if (conds.get(g) or {}).get("status") != "True"]
        if gates_false:
            set_condition(conds, "Ready", False, "ReadinessGatesNotReady",
                          f"corresponding condition of pod readiness gate \"{gates_false[0]}\" "
                          "does not exist.")
        else:
            set_condition(conds, "Ready", True)
    if "PodScheduled" not in conds:
        set_condition(conds, "PodScheduled", True)
    ordered = [conds.pop(t) for t in CONDITION_ORDER if t in conds]
    ordered.extend(conds.values())

    status: dict = {"phase": phase, "conditions": ordered, "hostIP": host_ip,
                    "hostIPs": [{"ip": host_ip}]}
    if pod_ip:
        status["podIP"] = pod_ip
        status["podIPs"] = [{"ip": pod_ip}]
    status["startTime"] = start_time
    if init_containers:
        status["initContainerStatuses"] = [c.to_status() for c in init_containers]
    status["containerStatuses"] = [c.to_status() for c in containers]
    for key in ("qosClass", "nominatedNodeName", "reason", "message", "resize",
                "observedGeneration"):
        if key in old:
            status[key] = old[key]
    return status
