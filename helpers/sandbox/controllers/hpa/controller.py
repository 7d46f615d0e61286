"""The HorizontalPodAutoscaler controller (autoscaling/v2 semantics), after horizontal.go.

Every sync period: read the target's scale, compute a proposal per metric from the
metrics API, take the largest, stabilize and rate-limit it, write the scale, and report
conditions and events worded like the real controller's.
"""

from __future__ import annotations

from datetime import datetime

from ...apiserver.errors import ApiError
from ...apiserver.selectors import selector_from_spec
from ...objects import clone
from ...util import now as utcnow
from ...util import rfc3339
from ..base import Controller, ns_name_key, split_key
from ..events import EventRecorder
from .normalization import Memory, remember_scale, with_behavior, without_behavior
from .replica_calculator import MetricsError, average_value_replicas, utilization_replicas

TARGET_KEYS = {"Deployment": "deployments", "ReplicaSet": "replicasets",
               "StatefulSet": "statefulsets"}


def _metric_name(metric: dict) -> str:
    res = metric.get("resource") or metric.get("containerResource") or {}
    name = res.get("name", "?")
    if (res.get("target") or {}).get("type") == "Utilization":
        return f"{name} resource utilization (percentage of request)"
    return f"{name} resource"


def _set_condition(conds: list[dict], ctype: str, status: str, reason: str, message: str,
                   stamp: str) -> None:
    for c in conds:
        if c["type"] == ctype:
            if c["status"] != status:
                c["lastTransitionTime"] = stamp
            c.update(status=status, reason=reason, message=message)
            return
    conds.append({"type": ctype, "status": status, "lastTransitionTime": stamp,
                  "reason": reason, "message": message})


class HorizontalController(Controller):
    name = "horizontal-pod-autoscaler"

    def __init__(self, client, config=None):
        super().__init__(client, config)
        self.recorder = EventRecorder(client, "horizontal-pod-autoscaler")
        self.memory: dict[str, Memory] = {}

    def watches(self):
        def mapper(ev):
            if ev.type == "DELETED":
                self.memory.pop(ns_name_key(ev.object), None)
                return []
            old = ev.old
            if old is not None and old.get("spec") == ev.object.get("spec"):
                return []  # our own status writes must not trigger a resync
            return [ns_name_key(ev.object)]

        return {"horizontalpodautoscalers": mapper}

    def initial_keys(self):
        return [ns_name_key(h) for h in self.client.scan("horizontalpodautoscalers")]

    async def sync(self, key: str) -> float | None:
        ns, name = split_key(key)
        hpa = self.client.try_get("horizontalpodautoscalers", ns, name)
        if hpa is None:
            self.memory.pop(key, None)
            return None
        period = self.config.hpa_sync_period
        now = utcnow()
        original_status = clone(hpa.get("status") or {})
        status = clone(original_status)
        conds: list[dict] = status.setdefault("conditions", [])
        stamp = rfc3339(now)
        spec = hpa["spec"]
        ref = spec["scaleTargetRef"]
        target_key = TARGET_KEYS.get(ref.get("kind", ""))
        target = self.client.peek(target_key, ns, ref["name"]) if target_key else None
        if target is None:
            group = ref.get("apiVersion", "").rpartition("/")[0]
            err = (f'{target_key}{"." + group if group else ""} "{ref["name"]}" not found'
                   if target_key else f'no matches for kind "{ref.get("kind")}" in group "{group}"')
            msg = f"the HPA controller was unable to get the target's current scale: {err}"
            self.recorder.warning(hpa, "FailedGetScale", err)
            _set_condition(conds, "AbleToScale", "False", "FailedGetScale", msg, stamp)
            self._write(hpa, original_status, status)
            return period
        current = int(target["spec"].get("replicas", 1))
        _set_condition(conds, "AbleToScale", "True", "SucceededGetScale",
                       "the HPA controller was able to get the target's current scale", stamp)
        mem = self.memory.get(key)
        if mem is None:
            mem = self.memory[key] = Memory()
            mem.recommendations.append(_rec(current, now))
        min_r = spec.get("minReplicas", 1)
        max_r = spec["maxReplicas"]
        rescale_reason = ""
        status["currentReplicas"] = current
        if current == 0 and min_r != 0:
            desired = 0
            _set_condition(conds, "ScalingActive", "False", "ScalingDisabled",
                           "scaling is disabled since the replica count of the target is zero", stamp)
        elif current > max_r:
            desired, rescale_reason = max_r, "Current number of replicas above Spec.MaxReplicas"
        elif current < min_r:
            desired, rescale_reason = min_r, "Current number of replicas below Spec.MinReplicas"
        else:
            computed = self._compute(hpa, target, current, now, conds, stamp, status)
            if computed is None:
                self._write(hpa, original_status, status)
                return period
            proposal, metric_name = computed
            if proposal > current:
                rescale_reason = f"{metric_name} above target"
            elif proposal < current:
                rescale_reason = "All metrics below target"
            behavior = spec.get("behavior")
            if behavior:
                out = with_behavior(mem, current, proposal, min_r, max_r, behavior,
                                    self.config.hpa_downscale_stabilization, now)
            else:
                out = without_behavior(mem, current, proposal, min_r, max_r,
                                       self.config.hpa_downscale_stabilization, now)
            desired = out.replicas
            _set_condition(conds, "AbleToScale", "True", out.able_reason, out.able_message, stamp)
            _set_condition(conds, "ScalingLimited", "True" if out.limited else "False",
                           out.limited_reason, out.limited_message, stamp)
        if desired != current:
            try:
                fresh = self.client.get(target_key, ns, ref["name"])
                fresh["spec"]["replicas"] = desired
                self.client.update(target_key, fresh)
            except ApiError as e:
                self.recorder.warning(hpa, "FailedRescale",
                                      f"New size: {desired}; reason: {rescale_reason}; error: {e.message}")
                _set_condition(conds, "AbleToScale", "False", "FailedUpdateScale",
                               f"the HPA controller was unable to update the target scale: {e.message}",
                               stamp)
                self._write(hpa, original_status, status)
                return period
            remember_scale(mem, spec.get("behavior"), current, desired, now)
            _set_condition(conds, "AbleToScale", "True", "SucceededRescale",
                           f"the HPA controller was able to update the target scale to {desired}", stamp)
            self.recorder.normal(hpa, "SuccessfulRescale",
                                 f"New size: {desired}; reason: {rescale_reason}")
            status["lastScaleTime"] = stamp
        status["desiredReplicas"] = desired
        self._write(hpa, original_status, status)
        return period

    def _compute(self, hpa: dict, target: dict, current: int, now: datetime, conds: list[dict],
                 stamp: str, status: dict) -> tuple[int, str] | None:
        metrics = hpa["spec"].get("metrics") or []
        source = getattr(self.client, "metrics", None)
        selector = target["spec"].get("selector")
        ns = hpa["metadata"]["namespace"]
        pods = []
        pod_metrics: list[dict] = []
        if selector:
            sel = selector_from_spec(selector)
            pods = [p for p in self.client.scan("pods", ns) if sel.matches(p["metadata"].get("labels"))]
            if source is not None:
                pod_metrics = [m for m in source.pod_metrics(ns)
                               if sel.matches(m["metadata"].get("labels"))]
        best: tuple[int, str] | None = None
        current_metrics, errors_ = [], []
        for metric in metrics:
            mtype = metric.get("type")
            res = metric.get("resource") if mtype == "Resource" else None
            if res is None:
                errors_.append((f"Failedget{mtype}Metric", f"the metric type {mtype} is not served "
                                "by the sandbox (only Resource metrics are)"))
                continue
            rname, tgt = res["name"], res.get("target") or {}
            try:
                if not selector:
                    raise MetricsError("selector is required")
                if tgt.get("type") == "Utilization":
                    p = utilization_replicas(current, int(tgt.get("averageUtilization", 80)), pods,
                                             pod_metrics, rname, now)
                    cur = {"averageUtilization": p.utilization,
                           "averageValue": f"{p.raw_average}m" if rname == "cpu" else str(p.raw_average)}
                else:
                    from ...quantity import cpu_millis, memory_bytes
                    want = tgt.get("averageValue", "0")
                    target_v = cpu_millis(want) if rname == "cpu" else memory_bytes(want)
                    p = average_value_replicas(current, target_v, pods, pod_metrics, rname, now)
                    cur = {"averageValue": f"{p.raw_average}m" if rname == "cpu" else str(p.raw_average)}
            except MetricsError as e:
                prefix = (f"failed to get {rname} utilization: " if tgt.get("type") == "Utilization"
                          else f"failed to get {rname} usage: ")
                errors_.append(("FailedGetResourceMetric", prefix + str(e)))
                self.recorder.warning(hpa, "FailedGetResourceMetric", prefix + str(e))
                continue
            current_metrics.append({"type": "Resource", "resource": {"name": rname, "current": cur}})
            name = _metric_name(metric)
            if best is None or p.replicas > best[0]:
                best = (p.replicas, name)
        if current_metrics:
            status["currentMetrics"] = current_metrics
        else:
            status.pop("currentMetrics", None)
        if errors_ and (best is None or best[0] < current):
            reason, first = errors_[0]
            self.recorder.warning(hpa, "FailedComputeMetricsReplicas",
                                  f"invalid metrics ({len(errors_)} invalid out of {len(metrics)}), "
                                  f"first error is: failed to get cpu resource metric value: {first}")
            _set_condition(conds, "ScalingActive", "False", reason,
                           f"the HPA was unable to compute the replica count: {first}", stamp)
            return None
        if best is None:
            return None
        _set_condition(conds, "ScalingActive", "True", "ValidMetricFound",
                       f"the HPA was able to successfully calculate a replica count from {best[1]}",
                       stamp)
        return best

    def _write(self, hpa: dict, original: dict, status: dict) -> None:
        status["observedGeneration"] = hpa["metadata"].get("generation", 1)
        status.setdefault("desiredReplicas", original.get("desiredReplicas", 0))
        if status == original:
            return
        hpa["status"] = status
        try:
            self.client.update_status("horizontalpodautoscalers", hpa)
        except ApiError as e:
            if e.code not in (404, 409):
                raise


def _rec(replicas: int, at: datetime):
    from .normalization import Recommendation

    return Recommendation(replicas, at)



