"""autoscaling/v1 <-> autoscaling/v2 HorizontalPodAutoscaler conversion.

HPAs are stored as v2 but `kubectl autoscale` (kubectl <= 1.33) and older clients speak v1,
which only knows a CPU-utilization target. Like the real apiserver
(`pkg/apis/autoscaling/v1/conversion.go`), whatever v1 cannot express travels in the
`autoscaling.alpha.kubernetes.io/*` annotations, so a v1 read-modify-write loses nothing.
The annotation payloads are byte-compatible with Go's `json.Marshal` of the same values
(including the behavior annotation, which real servers write from the *internal* type,
i.e. with Go field names).
"""

from __future__ import annotations

import copy
import json

__all__ = ["hpa_v1_to_v2", "hpa_v2_to_v1", "ROUND_TRIP_ANNOTATIONS"]

METRICS = "autoscaling.alpha.kubernetes.io/metrics"
CURRENT_METRICS = "autoscaling.alpha.kubernetes.io/current-metrics"
CONDITIONS = "autoscaling.alpha.kubernetes.io/conditions"
BEHAVIOR = "autoscaling.alpha.kubernetes.io/behavior"
ROUND_TRIP_ANNOTATIONS = (METRICS, CURRENT_METRICS, CONDITIONS, BEHAVIOR)
DEFAULT_CPU_UTILIZATION = 80


def _go_json(value) -> str:
    """Go's json.Marshal: compact, non-ASCII kept, HTML-significant characters escaped."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                    ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return text


def _put(d: dict, key: str, value) -> None:
    """Set an `omitempty` pointer field: absent when None."""
    if value is not None:
        d[key] = value


def _metadata(obj: dict) -> dict:
    """A copy of the metadata without round-trip annotations (DropRoundTripHorizontalPodAutoscalerAnnotations)."""
    md = copy.deepcopy(obj.get("metadata") or {})
    ann = {k: v for k, v in (md.get("annotations") or {}).items() if k not in ROUND_TRIP_ANNOTATIONS}
    if ann:
        md["annotations"] = ann
    else:
        md.pop("annotations", None)
    return md


def _is_cpu_utilization(m: dict) -> bool:
    res = m.get("resource") or {}
    return (m.get("type") == "Resource" and res.get("name") == "cpu"
            and (res.get("target") or {}).get("averageUtilization") is not None)


# -- MetricSpec / MetricStatus: v2 shape <-> the v2beta1-like shape autoscaling/v1 keeps ------------
def _v1_source(src: dict, prefix: str, kind: str) -> dict:
    """Resource/ContainerResource target or current values in v1 (flattened) form."""
    vals = src.get("target" if prefix == "target" else "current") or {}
    out = {"name": src.get("name", "")}
    _put(out, f"{prefix}AverageUtilization", vals.get("averageUtilization"))
    if prefix == "target":
        _put(out, "targetAverageValue", vals.get("averageValue"))
    else:  # a Quantity, not a pointer, in v1 status
        out["currentAverageValue"] = vals.get("averageValue") or "0"
    if kind == "containerResource":
        out["container"] = src.get("container", "")
    return out


def _metric_v2_to_v1(m: dict, status: bool) -> dict:
    prefix = "current" if status else "target"
    out: dict = {"type": m.get("type", "")}
    for kind in ("resource", "containerResource"):
        if isinstance(m.get(kind), dict):
            out[kind] = _v1_source(m[kind], prefix, kind)
    if isinstance(m.get("pods"), dict):
        src = m["pods"]
        metric, vals = src.get("metric") or {}, src.get(prefix) or {}
        pods = {"metricName": metric.get("name", ""), f"{prefix}AverageValue": vals.get("averageValue") or "0"}
        _put(pods, "selector", metric.get("selector"))
        out["pods"] = pods
    if isinstance(m.get("object"), dict):
        src = m["object"]
        metric, vals = src.get("metric") or {}, src.get(prefix) or {}
        obj = {"target": src.get("describedObject") or {}, "metricName": metric.get("name", ""),
               f"{prefix}Value": vals.get("value") or "0"}
        _put(obj, "selector", metric.get("selector"))
        _put(obj, "averageValue", vals.get("averageValue"))
        out["object"] = obj
    if isinstance(m.get("external"), dict):
        src = m["external"]
        metric, vals = src.get("metric") or {}, src.get(prefix) or {}
        ext = {"metricName": metric.get("name", "")}
        _put(ext, "metricSelector", metric.get("selector"))
        if status:
            ext["currentValue"] = vals.get("value") or "0"
            _put(ext, "currentAverageValue", vals.get("averageValue"))
        else:
            _put(ext, "targetValue", vals.get("value"))
            _put(ext, "targetAverageValue", vals.get("averageValue"))
        out["external"] = ext
    return out


def _target(kind: str, *, utilization=None, value=None, average=None) -> dict:
    t = {"type": kind}
    _put(t, "value", value)
    _put(t, "averageValue", average)
    _put(t, "averageUtilization", utilization)
    return t


def _current(*, utilization=None, value=None, average=None) -> dict:
    c: dict = {}
    _put(c, "value", value)
    _put(c, "averageValue", average)
    _put(c, "averageUtilization", utilization)
    return c


def _identifier(name, selector) -> dict:
    ident = {"name": name or ""}
    _put(ident, "selector", selector)
    return ident


def _metric_v1_to_v2(m: dict, status: bool) -> dict:
    out: dict = {"type": m.get("type", "")}
    for kind in ("resource", "containerResource"):
        src = m.get(kind)
        if not isinstance(src, dict):
            continue
        conv = {"name": src.get("name", "")}
        if status:
            conv["current"] = _current(utilization=src.get("currentAverageUtilization"),
                                       average=src.get("currentAverageValue"))
        else:
            util = src.get("targetAverageUtilization")
            conv["target"] = _target("AverageValue" if util is None else "Utilization",
                                     utilization=util, average=src.get("targetAverageValue"))
        if kind == "containerResource":
            conv["container"] = src.get("container", "")
        out[kind] = conv
    if isinstance(m.get("pods"), dict):
        src = m["pods"]
        conv = {"metric": _identifier(src.get("metricName"), src.get("selector"))}
        if status:
            conv["current"] = _current(average=src.get("currentAverageValue"))
        else:
            conv["target"] = _target("AverageValue", average=src.get("targetAverageValue"))
        out["pods"] = conv
    if isinstance(m.get("object"), dict):
        src = m["object"]
        conv = {"describedObject": src.get("target") or {},
                "metric": _identifier(src.get("metricName"), src.get("selector"))}
        if status:
            conv["current"] = _current(value=src.get("currentValue"), average=src.get("averageValue"))
        else:
            kind = "Value" if src.get("averageValue") is None else "AverageValue"
            conv["target"] = _target(kind, value=src.get("targetValue"), average=src.get("averageValue"))
        out["object"] = conv
    if isinstance(m.get("external"), dict):
        src = m["external"]
        conv = {"metric": _identifier(src.get("metricName"), src.get("metricSelector"))}
        if status:
            conv["current"] = _current(value=src.get("currentValue"),
                                       average=src.get("currentAverageValue"))
        else:
            value = src.get("targetValue")
            conv["target"] = _target("AverageValue" if value is None else "Value", value=value,
                                     average=src.get("targetAverageValue"))
        out["external"] = conv
    return out


# -- behavior: marshalled from the internal Go type (Go field names, nil -> null) ------------------
def _rules_to_internal(rules) -> dict | None:
    if not isinstance(rules, dict):
        return None
    policies = rules.get("policies")
    return {
        "StabilizationWindowSeconds": rules.get("stabilizationWindowSeconds"),
        "SelectPolicy": rules.get("selectPolicy"),
        "Policies": None if policies is None else [
            {"Type": p.get("type", ""), "Value": p.get("value", 0), "PeriodSeconds": p.get("periodSeconds", 0)}
            for p in policies],
    }


def _ci(d: dict, name: str):
    """Go's encoding/json matches object keys to field names case-insensitively."""
    for k, v in d.items():
        if k.lower() == name.lower():
            return v
    return None


def _rules_from_internal(rules) -> dict | None:
    if not isinstance(rules, dict):
        return None
    out: dict = {}
    _put(out, "stabilizationWindowSeconds", _ci(rules, "StabilizationWindowSeconds"))
    _put(out, "selectPolicy", _ci(rules, "SelectPolicy"))
    policies = _ci(rules, "Policies")
    if isinstance(policies, list):
        out["policies"] = [{"type": _ci(p, "Type") or "", "value": _ci(p, "Value") or 0,
                            "periodSeconds": _ci(p, "PeriodSeconds") or 0}
                           for p in policies if isinstance(p, dict)]
    return out


def _load(annotations: dict, key: str):
    """An annotation's JSON, or None when absent or malformed (the real server ignores those)."""
    try:
        return json.loads(annotations[key]) if key in annotations else None
    except (TypeError, ValueError):
        return None


# -- public ---------------------------------------------------------------------------------------
def hpa_v2_to_v1(obj: dict) -> dict:
    """The autoscaling/v1 view of a stored (v2) HPA; `obj` is not modified."""
    if obj.get("apiVersion") == "autoscaling/v1":
        return copy.deepcopy(obj)
    spec2, status2 = obj.get("spec") or {}, obj.get("status")
    md = _metadata(obj)
    spec: dict = {}
    for key in ("scaleTargetRef", "minReplicas", "maxReplicas"):
        if key in spec2:
            spec[key] = copy.deepcopy(spec2[key])
    metrics = spec2.get("metrics") or []
    for m in metrics:
        if m.get("type") == "Resource" and (m.get("resource") or {}).get("name") == "cpu":
            _put(spec, "targetCPUUtilizationPercentage",
                 ((m["resource"].get("target") or {}).get("averageUtilization")))
            break
    ann: dict[str, str] = {}
    others = [_metric_v2_to_v1(m, False) for m in metrics if not _is_cpu_utilization(m)]
    if others:
        ann[METRICS] = _go_json(others)
    out: dict = {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": md,
                 "spec": spec}
    if isinstance(status2, dict):
        status: dict = {}
        for key in ("observedGeneration", "lastScaleTime"):
            _put(status, key, status2.get(key))
        status["currentReplicas"] = status2.get("currentReplicas") or 0
        status["desiredReplicas"] = status2.get("desiredReplicas") or 0
        current = status2.get("currentMetrics") or []
        for m in current:
            res = m.get("resource") or {}
            util = (res.get("current") or {}).get("averageUtilization")
            if m.get("type") == "Resource" and res.get("name") == "cpu" and util is not None:
                status["currentCPUUtilizationPercentage"] = util
        if current:
            ann[CURRENT_METRICS] = _go_json([_metric_v2_to_v1(m, True) for m in current])
        if status2.get("conditions"):
            ann[CONDITIONS] = _go_json([
                {"type": c.get("type", ""), "status": c.get("status", ""),
                 "lastTransitionTime": c.get("lastTransitionTime"),
                 **{k: c[k] for k in ("reason", "message") if c.get(k)}}
                for c in status2["conditions"]])
        out["status"] = status
    if isinstance(spec2.get("behavior"), dict):
        behavior = spec2["behavior"]
        ann[BEHAVIOR] = _go_json({"ScaleUp": _rules_to_internal(behavior.get("scaleUp")),
                                  "ScaleDown": _rules_to_internal(behavior.get("scaleDown"))})
    if ann:
        md["annotations"] = {**(md.get("annotations") or {}), **ann}
    return out


def hpa_v1_to_v2(obj: dict) -> dict:
    """An autoscaling/v1 HPA in the stored v2 form; `obj` is not modified. Unknown spec/status
    keys are carried over so strict field validation still sees (and names) them."""
    if obj.get("apiVersion") == "autoscaling/v2":
        return copy.deepcopy(obj)
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    out = {k: copy.deepcopy(v) for k, v in obj.items() if k not in ("metadata", "spec", "status")}
    out["apiVersion"] = "autoscaling/v2"
    out["metadata"] = _metadata(obj)
    spec = copy.deepcopy(obj.get("spec") or {})
    cpu = spec.pop("targetCPUUtilizationPercentage", None)
    metrics = [_metric_v1_to_v2(m, False) for m in _load(annotations, METRICS) or []
               if isinstance(m, dict)]
    if cpu is not None:
        metrics.append({"type": "Resource", "resource": {"name": "cpu", "target": {
            "type": "Utilization", "averageUtilization": cpu}}})
    if not metrics:  # v1's implicit default, made explicit by the conversion itself
        metrics = [{"type": "Resource", "resource": {"name": "cpu", "target": {
            "type": "Utilization", "averageUtilization": DEFAULT_CPU_UTILIZATION}}}]
    spec["metrics"] = metrics
    behavior = _load(annotations, BEHAVIOR)
    if isinstance(behavior, dict):
        up = _rules_from_internal(_ci(behavior, "ScaleUp"))
        down = _rules_from_internal(_ci(behavior, "ScaleDown"))
        if up is not None or down is not None:
            spec["behavior"] = {k: v for k, v in (("scaleUp", up), ("scaleDown", down)) if v is not None}
    out["spec"] = spec
    if isinstance(obj.get("status"), dict) or CURRENT_METRICS in annotations or CONDITIONS in annotations:
        out["status"] = _status_v1_to_v2(obj.get("status") or {}, annotations)
    return out


def _status_v1_to_v2(status1: dict, annotations: dict) -> dict:
    status = copy.deepcopy(status1)
    cpu = status.pop("currentCPUUtilizationPercentage", None)
    current = _load(annotations, CURRENT_METRICS)
    if isinstance(current, list):
        status["currentMetrics"] = [_metric_v1_to_v2(m, True) for m in current if isinstance(m, dict)]
    elif cpu is not None:
        status["currentMetrics"] = [{"type": "Resource", "resource": {
            "name": "cpu", "current": {"averageUtilization": cpu}}}]
    conditions = _load(annotations, CONDITIONS)
    if isinstance(conditions, list):
        status["conditions"] = [c for c in conditions if isinstance(c, dict)]
    return status
