"""autoscaling/v1 <-> v2: what `kubectl autoscale` + `kubectl get hpa -o yaml` see."""

from __future__ import annotations

import copy
import json

from helpers.sandbox.apiserver.conversion import hpa_v1_to_v2, hpa_v2_to_v1
from helpers.sandbox.apiserver.defaults import apply_defaults

REF = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}


def _v1(**spec) -> dict:
    return {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"scaleTargetRef": REF, "maxReplicas": 5, **spec}}


def test_v1_cpu_target_becomes_v2_metric():
    v2 = hpa_v1_to_v2(_v1(minReplicas=2, targetCPUUtilizationPercentage=50))
    assert v2["apiVersion"] == "autoscaling/v2"
    assert v2["spec"] == {"scaleTargetRef": REF, "minReplicas": 2, "maxReplicas": 5, "metrics": [
        {"type": "Resource", "resource": {"name": "cpu", "target": {
            "type": "Utilization", "averageUtilization": 50}}}]}
    assert "status" not in v2


def test_v1_without_target_reads_back_as_80_percent():
    v2 = hpa_v1_to_v2(_v1())
    apply_defaults("horizontalpodautoscalers", v2)
    assert v2["spec"]["minReplicas"] == 1
    v1 = hpa_v2_to_v1(v2)
    assert v1["spec"]["targetCPUUtilizationPercentage"] == 80
    assert "annotations" not in v1["metadata"]


def test_input_is_not_modified():
    src = _v1(targetCPUUtilizationPercentage=50)
    before = copy.deepcopy(src)
    hpa_v2_to_v1(hpa_v1_to_v2(src))
    assert src == before


def test_v2_extras_travel_in_annotations():
    v2 = hpa_v1_to_v2(_v1(targetCPUUtilizationPercentage=60))
    v2["spec"]["metrics"].append({"type": "Resource", "resource": {
        "name": "memory", "target": {"type": "AverageValue", "averageValue": "100Mi"}}})
    v2["spec"]["behavior"] = {"scaleDown": {"stabilizationWindowSeconds": 30}}
    apply_defaults("horizontalpodautoscalers", v2)
    v2["status"] = {
        "currentReplicas": 2, "desiredReplicas": 3,
        "currentMetrics": [{"type": "Resource", "resource": {
            "name": "cpu", "current": {"averageUtilization": 75, "averageValue": "150m"}}}],
        "conditions": [{"type": "AbleToScale", "status": "True",
                        "lastTransitionTime": "2024-01-02T03:04:05Z", "reason": "ReadyForNewScale",
                        "message": "recommended size matches current size"}]}
    v1 = hpa_v2_to_v1(v2)
    ann = v1["metadata"]["annotations"]
    assert v1["spec"]["targetCPUUtilizationPercentage"] == 60
    assert v1["status"] == {"currentReplicas": 2, "desiredReplicas": 3,
                            "currentCPUUtilizationPercentage": 75}
    assert ann["autoscaling.alpha.kubernetes.io/metrics"] == (
        '[{"type":"Resource","resource":{"name":"memory","targetAverageValue":"100Mi"}}]')
    assert ann["autoscaling.alpha.kubernetes.io/current-metrics"] == (
        '[{"type":"Resource","resource":{"name":"cpu","currentAverageUtilization":75,'
        '"currentAverageValue":"150m"}}]')
    assert json.loads(ann["autoscaling.alpha.kubernetes.io/conditions"]) == v2["status"]["conditions"]
    # Real servers marshal the *internal* behavior type: Go field names, nil as null.
    assert ann["autoscaling.alpha.kubernetes.io/behavior"] == (
        '{"ScaleUp":{"StabilizationWindowSeconds":0,"SelectPolicy":"Max","Policies":['
        '{"Type":"Pods","Value":4,"PeriodSeconds":15},{"Type":"Percent","Value":100,"PeriodSeconds":15}]},'
        '"ScaleDown":{"StabilizationWindowSeconds":30,"SelectPolicy":"Max","Policies":['
        '{"Type":"Percent","Value":100,"PeriodSeconds":15}]}}')
    # ... and a v1 read-modify-write loses nothing.
    back = hpa_v1_to_v2(v1)
    assert back["spec"]["metrics"] == [v2["spec"]["metrics"][1], v2["spec"]["metrics"][0]]
    assert back["spec"]["behavior"] == v2["spec"]["behavior"]
    assert back["status"]["conditions"] == v2["status"]["conditions"]
    assert back["status"]["currentMetrics"] == v2["status"]["currentMetrics"]
    assert "annotations" not in back["metadata"]


def test_user_annotations_kept_and_stale_round_trip_ones_dropped():
    v2 = hpa_v1_to_v2(_v1(targetCPUUtilizationPercentage=50))
    v2["metadata"]["annotations"] = {"team": "a", "autoscaling.alpha.kubernetes.io/metrics": "[]"}
    assert hpa_v2_to_v1(v2)["metadata"]["annotations"] == {"team": "a"}


def test_unknown_v1_spec_fields_are_carried_for_strict_validation():
    v2 = hpa_v1_to_v2(_v1(targetCPUUtilizationPercentag=50))
    assert v2["spec"]["targetCPUUtilizationPercentag"] == 50


def test_malformed_annotation_is_ignored():
    src = _v1(targetCPUUtilizationPercentage=50)
    src["metadata"]["annotations"] = {"autoscaling.alpha.kubernetes.io/metrics": "{not json"}
    v2 = hpa_v1_to_v2(src)
    assert len(v2["spec"]["metrics"]) == 1
