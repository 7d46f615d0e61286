"""HorizontalPodAutoscaler controller scenarios (k8s-behaviour §8), in process.

The controller's sync is called directly with a controllable clock; metrics come from a fake
metrics source assigned to `client.metrics`, as the node's metrics server is in the daemon.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from helpers.sandbox.apiserver import printers
from helpers.sandbox.client import Client
from helpers.sandbox.controllers.hpa import controller as hpa_module
from helpers.sandbox.controllers.hpa.controller import HorizontalController
from helpers.sandbox.util import now as real_now
from helpers.sandbox.util import rfc3339

from .conftest import control_plane, fast_config, mark_ready

NS = "demo"
CPU_NAME = "cpu resource utilization (percentage of request)"


class FakeMetrics:
    """metrics.k8s.io as the HPA reads it: PodMetrics dicts per namespace."""

    def __init__(self) -> None:
        self.usage: dict[str, str] = {}  # pod name -> cpu usage
        self.at: datetime = real_now()

    def pod_metrics(self, namespace: str | None) -> list[dict]:
        return [{"metadata": {"name": name, "namespace": NS, "labels": {"app": "web"}},
                 "timestamp": rfc3339(self.at), "window": "15s",
                 "containers": [{"name": "app", "usage": {"cpu": cpu, "memory": "20Mi"}}]}
                for name, cpu in self.usage.items()]

    def node_metrics(self) -> list[dict]:
        return []


class Clock:
    def __init__(self) -> None:
        self.t = real_now()

    def __call__(self) -> datetime:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += timedelta(seconds=seconds)


class World:
    def __init__(self, monkeypatch, replicas: int, request: str | None = "200m"):
        self.client: Client = control_plane(NS)
        self.metrics = FakeMetrics()
        self.client.metrics = self.metrics
        self.clock = Clock()
        monkeypatch.setattr(hpa_module, "utcnow", self.clock)
        self.ctrl = HorizontalController(self.client, fast_config())
        resources = {"requests": {"cpu": request}} if request else {}
        self.client.create("deployments", {
            "metadata": {"name": "web", "namespace": NS},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [
                         {"name": "app", "image": "ghcr.io/stefanprodan/podinfo:6.9.0",
                          "resources": resources}]}}}}, NS)
        self.pods: list[str] = []
        for i in range(replicas):
            self.add_pod(f"web-{i}", resources)

    def add_pod(self, name: str, resources: dict | None = None, ready: bool = True) -> None:
        if resources is None:
            resources = {"requests": {"cpu": "200m"}}
        self.client.create("pods", {
            "metadata": {"name": name, "namespace": NS, "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "app", "image": "ghcr.io/stefanprodan/podinfo:6.9.0",
                                     "resources": resources}]}}, NS)
        if ready:
            mark_ready(self.client, NS, name)
        self.pods.append(name)

    def hpa(self, min_replicas: int = 1, max_replicas: int = 10, target: int = 60,
            behavior: dict | None = None) -> None:
        spec: dict = {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                         "name": "web"},
                      "minReplicas": min_replicas, "maxReplicas": max_replicas,
                      "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                          "type": "Utilization", "averageUtilization": target}}}]}
        if behavior is not None:
            spec["behavior"] = behavior
        self.client.create("horizontalpodautoscalers", {
            "metadata": {"name": "web", "namespace": NS}, "spec": spec}, NS)

    def load(self, cpu: str, pods: list[str] | None = None) -> None:
        self.metrics.at = self.clock.t
        self.metrics.usage = {p: cpu for p in (self.pods if pods is None else pods)}

    def sync(self) -> dict:
        asyncio.run(self.ctrl.sync(f"{NS}/web"))
        return self.client.get("horizontalpodautoscalers", NS, "web")

    @property
    def replicas(self) -> int:
        return self.client.get("deployments", NS, "web")["spec"]["replicas"]

    def conditions(self) -> dict[str, tuple[str, str, str]]:
        hpa = self.client.get("horizontalpodautoscalers", NS, "web")
        return {c["type"]: (c["status"], c["reason"], c["message"])
                for c in hpa["status"].get("conditions", [])}

    def events(self, reason: str | None = None) -> list[tuple[str, str, str]]:
        evs = sorted(self.client.list("events", NS), key=lambda e: e["metadata"]["name"])
        return [(e["type"], e["reason"], e["message"]) for e in evs
                if reason is None or e["reason"] == reason]

    def targets(self) -> str:
        hpa = self.client.get("horizontalpodautoscalers", NS, "web")
        table = printers.table("horizontalpodautoscalers", [hpa], resource_version="1")
        names = [c["name"] for c in table["columnDefinitions"]]
        return table["rows"][0]["cells"][names.index("Targets")]


def test_scale_up_from_utilization_ratio(monkeypatch):
    w = World(monkeypatch, replicas=4)
    w.hpa(max_replicas=10, target=60)
    w.load("180m")  # 90 % of a 200m request; ratio 1.5 -> ceil(1.5 * 4) = 6
    hpa = w.sync()
    assert w.replicas == 6
    assert hpa["status"]["currentReplicas"] == 4
    assert hpa["status"]["desiredReplicas"] == 6
    assert hpa["status"]["currentMetrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "current": {"averageUtilization": 90, "averageValue": "180m"}}}]
    assert "lastScaleTime" in hpa["status"]
    assert w.conditions() == {
        "AbleToScale": ("True", "SucceededRescale",
                        "the HPA controller was able to update the target scale to 6"),
        "ScalingActive": ("True", "ValidMetricFound",
                          f"the HPA was able to successfully calculate a replica count from {CPU_NAME}"),
        "ScalingLimited": ("False", "DesiredWithinRange",
                           "the desired count is within the acceptable range"),
    }
    assert [c["type"] for c in hpa["status"]["conditions"]] == [
        "AbleToScale", "ScalingActive", "ScalingLimited"]
    assert w.events("SuccessfulRescale") == [
        ("Normal", "SuccessfulRescale", f"New size: 6; reason: {CPU_NAME} above target")]
    assert w.targets() == "cpu: 90%/60%"


@pytest.mark.parametrize(("usage", "expected"), [
    ("128m", 4),  # 64 % vs 60 %: ratio 1.067, inside the 0.1 tolerance
    ("108m", 4),  # 54 %: ratio 0.9, still inside
    ("100m", 4),  # 50 %: ratio 0.833 -> ceil(3.33) = 4
    ("90m", 3),   # 45 %: ratio 0.75 -> 3 (after stabilization, see below)
    ("260m", 9),  # 130 %: ratio 2.167 -> ceil(8.67) = 9
])
def test_replica_math_and_tolerance(monkeypatch, usage, expected):
    w = World(monkeypatch, replicas=4)
    w.hpa(min_replicas=1, max_replicas=20, target=60)
    w.load(usage)
    w.sync()
    if expected < 4:
        assert w.replicas == 4  # the initial recommendation holds scale-down for 300 s
        w.clock.advance(301)
        w.load(usage)
        w.sync()
    if expected > 8:
        # Without behavior scale-up is limited to max(2 * current, 4) per sync.
        assert w.replicas == 8
        assert w.conditions()["ScalingLimited"] == (
            "True", "ScaleUpLimit",
            "the desired replica count is increasing faster than the maximum scale rate")
        return
    assert w.replicas == expected


def test_inside_tolerance_reports_ready_for_new_scale(monkeypatch):
    w = World(monkeypatch, replicas=4)
    w.hpa(target=60)
    w.load("128m")
    hpa = w.sync()
    assert w.replicas == 4
    assert hpa["status"]["desiredReplicas"] == 4
    assert w.conditions()["AbleToScale"] == (
        "True", "ReadyForNewScale", "recommended size matches current size")
    assert w.events("SuccessfulRescale") == []
    assert w.targets() == "cpu: 64%/60%"


def test_missing_pod_metrics_count_as_zero_when_scaling_up(monkeypatch):
    w = World(monkeypatch, replicas=4)
    w.hpa(target=60)
    w.load("180m", pods=w.pods[:3])  # web-3 has no sample
    w.sync()
    # 540m of 800m requested = 67 % -> ratio 1.125 > 1.1 -> ceil(1.125 * 4) = 5
    assert w.replicas == 5


def test_missing_pod_metrics_count_as_full_request_when_scaling_down(monkeypatch):
    w = World(monkeypatch, replicas=4)
    w.hpa(target=60)
    w.load("20m", pods=w.pods[:2])  # 10 % on two pods, two without samples
    w.sync()
    w.clock.advance(301)
    w.load("20m", pods=w.pods[:2])
    w.sync()
    # missing pods count as 100 % of request: (20+20+200+200)/800 = 55 % -> ratio 0.917: hold
    assert w.replicas == 4


def test_unready_pods_count_as_zero_when_scaling_up(monkeypatch):
    w = World(monkeypatch, replicas=3)
    w.add_pod("web-3", ready=False)  # Pending: no metrics trusted
    w.hpa(target=60)
    w.load("180m", pods=w.pods[:3])
    w.sync()
    # ratio 1.5 on ready pods; the unready one counts 0: 540/800 = 67 % -> ceil(1.125*4) = 5
    assert w.replicas == 5


def test_deleting_pods_are_ignored(monkeypatch):
    w = World(monkeypatch, replicas=2)
    w.hpa(target=60)
    pod = w.client.get("pods", NS, "web-1")
    pod["metadata"]["finalizers"] = ["test/hold"]
    w.client.update("pods", pod)
    w.client.delete("pods", NS, "web-1", grace_period=0)
    w.load("180m", pods=["web-0"])
    w.sync()
    assert w.replicas == 2  # ceil(1.5 * 1) = 2


def test_stabilization_window_delays_scale_down(monkeypatch):
    w = World(monkeypatch, replicas=4)
    w.hpa(min_replicas=2, max_replicas=6, target=60)
    w.load("30m")  # 15 %: raw proposal 1, below min 2
    hpa = w.sync()
    assert w.replicas == 4
    assert hpa["status"]["desiredReplicas"] == 4
    assert w.conditions()["AbleToScale"] == (
        "True", "ScaleDownStabilized",
        "recent recommendations were higher than current one, applying the highest recent "
        "recommendation")
    w.clock.advance(200)
    w.load("30m")
    w.sync()
    assert w.replicas == 4
    w.clock.advance(101)
    w.load("30m")
    w.sync()
    assert w.replicas == 2
    assert w.conditions()["ScalingLimited"] == (
        "True", "TooFewReplicas", "the desired replica count is less than the minimum replica count")
    assert w.events("SuccessfulRescale") == [
        ("Normal", "SuccessfulRescale", "New size: 2; reason: All metrics below target")]


def test_max_replicas_limit(monkeypatch):
    w = World(monkeypatch, replicas=2)
    w.hpa(min_replicas=2, max_replicas=3, target=60)
    w.load("400m")
    w.sync()
    assert w.replicas == 3
    assert w.conditions()["ScalingLimited"] == (
        "True", "TooManyReplicas", "the desired replica count is more than the maximum replica count")


def test_replicas_below_min_are_raised(monkeypatch):
    w = World(monkeypatch, replicas=1)
    w.hpa(min_replicas=2, max_replicas=4)
    w.sync()
    assert w.replicas == 2
    assert w.events("SuccessfulRescale") == [
        ("Normal", "SuccessfulRescale",
         "New size: 2; reason: Current number of replicas below Spec.MinReplicas")]


def test_scale_up_policy_limits_pods_per_period(monkeypatch):
    w = World(monkeypatch, replicas=2)
    w.hpa(max_replicas=10, target=60, behavior={"scaleUp": {
        "stabilizationWindowSeconds": 0, "selectPolicy": "Max",
        "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]}})
    w.load("300m")  # 150 % -> proposal 5
    w.sync()
    assert w.replicas == 3
    assert w.conditions()["ScalingLimited"] == (
        "True", "ScaleUpLimit",
        "the desired replica count is increasing faster than the maximum scale rate")
    w.add_pod("web-2")
    w.clock.advance(10)
    w.load("300m")
    w.sync()
    assert w.replicas == 3  # the one pod of this 60 s period is used up
    w.clock.advance(55)
    w.load("300m")
    w.sync()
    assert w.replicas == 4


def test_scale_down_percent_policy(monkeypatch):
    w = World(monkeypatch, replicas=8)
    w.hpa(min_replicas=1, max_replicas=10, target=60, behavior={"scaleDown": {
        "stabilizationWindowSeconds": 0,
        "policies": [{"type": "Percent", "value": 50, "periodSeconds": 60}]}})
    hpa = w.client.get("horizontalpodautoscalers", NS, "web")
    # Defaults completed the behavior the user gave (k8s-behaviour §1.7).
    assert hpa["spec"]["behavior"]["scaleUp"] == {
        "stabilizationWindowSeconds": 0, "selectPolicy": "Max",
        "policies": [{"type": "Pods", "value": 4, "periodSeconds": 15},
                     {"type": "Percent", "value": 100, "periodSeconds": 15}]}
    assert hpa["spec"]["behavior"]["scaleDown"]["selectPolicy"] == "Max"
    w.load("12m")  # 6 %: proposal 1
    w.sync()
    assert w.replicas == 4  # trunc(8 * 0.5)
    assert w.conditions()["ScalingLimited"] == (
        "True", "ScaleDownLimit",
        "the desired replica count is decreasing faster than the maximum scale rate")


def test_scale_up_stabilization_window_uses_lowest_recent_recommendation(monkeypatch):
    w = World(monkeypatch, replicas=2)
    w.hpa(max_replicas=10, target=60, behavior={"scaleUp": {"stabilizationWindowSeconds": 60}})
    w.load("300m")  # proposal 5, but the initial recommendation (2) is inside the window
    w.sync()
    assert w.replicas == 2
    assert w.conditions()["AbleToScale"] == (
        "True", "ScaleUpStabilized",
        "recent recommendations were lower than current one, applying the lowest recent "
        "recommendation")
    w.clock.advance(61)
    w.load("300m")
    w.sync()
    assert w.replicas == 5


def test_no_metrics_shows_unknown_and_failed_conditions(monkeypatch):
    w = World(monkeypatch, replicas=2)
    w.client.metrics = None
    w.hpa(target=60)
    assert w.targets() == "cpu: <unknown>/60%"
    hpa = w.sync()
    assert w.replicas == 2
    err = ("failed to get cpu utilization: unable to get metrics for resource cpu: "
           "no metrics returned from resource metrics API")
    assert w.conditions()["ScalingActive"] == (
        "False", "FailedGetResourceMetric", f"the HPA was unable to compute the replica count: {err}")
    assert w.conditions()["AbleToScale"] == (
        "True", "SucceededGetScale", "the HPA controller was able to get the target's current scale")
    assert ("Warning", "FailedGetResourceMetric", err) in w.events()
    assert ("Warning", "FailedComputeMetricsReplicas",
            "invalid metrics (1 invalid out of 1), first error is: failed to get cpu resource "
            f"metric value: {err}") in w.events()
    assert hpa["status"]["currentReplicas"] == 2
    assert "currentMetrics" not in hpa["status"]
    assert w.targets() == "cpu: <unknown>/60%"


def test_missing_cpu_request_is_reported(monkeypatch):
    w = World(monkeypatch, replicas=2, request=None)
    w.hpa(target=60)
    w.load("100m")
    w.sync()
    status, reason, message = w.conditions()["ScalingActive"]
    assert (status, reason) == ("False", "FailedGetResourceMetric")
    assert message == ("the HPA was unable to compute the replica count: failed to get cpu "
                       "utilization: missing request for cpu in container app of Pod web-0")
    assert w.targets() == "cpu: <unknown>/60%"


def test_target_missing_reports_failed_get_scale(monkeypatch):
    w = World(monkeypatch, replicas=1)
    w.hpa()
    w.client.delete("deployments", NS, "web")
    w.sync()
    assert w.conditions()["AbleToScale"] == (
        "False", "FailedGetScale",
        'the HPA controller was unable to get the target\'s current scale: '
        'deployments.apps "web" not found')
    assert w.events("FailedGetScale") == [
        ("Warning", "FailedGetScale", 'deployments.apps "web" not found')]


def test_repeated_events_are_counted(monkeypatch):
    w = World(monkeypatch, replicas=2)
    w.client.metrics = None
    w.hpa()
    for _ in range(3):
        w.clock.advance(15)
        w.sync()
    evs = [e for e in w.client.list("events", NS) if e["reason"] == "FailedComputeMetricsReplicas"]
    assert len(evs) == 1 and evs[0]["count"] == 3
    assert evs[0]["source"] == {"component": "horizontal-pod-autoscaler"}
    assert evs[0]["involvedObject"]["kind"] == "HorizontalPodAutoscaler"
