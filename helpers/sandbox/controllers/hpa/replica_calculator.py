"""Replica proposals from resource metrics, after pkg/controller/podautoscaler/replica_calculator.go.

Pods are grouped as ignored (deleting or failed), unready (pending, or still warming up:
their CPU is not trusted yet), missing (no metric) and ready; only ready pods' samples set
the ratio, and the others are counted pessimistically so the autoscaler does not flap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from ...objects import condition
from ...quantity import cpu_millis, memory_bytes
from ...util import parse_time

TOLERANCE = 0.1
CPU_INITIALIZATION_PERIOD = timedelta(minutes=5)
INITIAL_READINESS_DELAY = timedelta(seconds=30)


class MetricsError(Exception):
    """Why a replica count could not be computed; the message goes into the condition."""


@dataclass
class PodSample:
    value: int  # millicores or bytes, summed over containers
    timestamp: datetime
    window: timedelta


@dataclass
class Proposal:
    replicas: int
    utilization: int | None  # percent, for Utilization targets
    raw_average: int  # milli-units (cpu) or bytes (memory)


def _quantity(resource: str, value: str) -> int:
    return cpu_millis(value) if resource == "cpu" else memory_bytes(value)


def pod_samples(pod_metrics: list[dict], resource: str) -> dict[str, PodSample]:
    out: dict[str, PodSample] = {}
    for pm in pod_metrics:
        containers = pm.get("containers") or []
        if not containers:
            continue
        total, ok = 0, True
        for c in containers:
            usage = (c.get("usage") or {}).get(resource)
            if usage is None:
                ok = False
                break
            total += _quantity(resource, usage)
        if not ok:
            continue
        window = pm.get("window", "15s")
        seconds = float(window[:-1]) if window.endswith("s") else 15.0
        out[pm["metadata"]["name"]] = PodSample(total, parse_time(pm["timestamp"]),
                                                timedelta(seconds=seconds))
    return out


def _unready_for_cpu(pod: dict, sample: PodSample | None, now: datetime) -> bool:
    """The CPU warm-up rules: which running pods' samples are not trusted yet."""
    ready = condition(pod, "Ready")
    start = parse_time(pod.get("status", {}).get("startTime"))
    if ready is None or start is None:
        return True
    since_ready = parse_time(ready.get("lastTransitionTime")) or start
    if now < start + CPU_INITIALIZATION_PERIOD:
        if ready.get("status") != "True":
            return True
        return sample is not None and sample.timestamp < since_ready + sample.window
    return ready.get("status") != "True" and since_ready < start + INITIAL_READINESS_DELAY


def group_pods(pods: list[dict], samples: dict[str, PodSample], resource: str, now: datetime):
    ready, unready, missing, ignored = [], [], [], []
    for pod in pods:
        name = pod["metadata"]["name"]
        if pod["metadata"].get("deletionTimestamp") or pod["status"].get("phase") == "Failed":
            ignored.append(name)
            continue
        if pod["status"].get("phase") == "Pending":
            unready.append(name)
            continue
        sample = samples.get(name)
        if sample is None:
            missing.append(name)
            continue
        if resource == "cpu" and _unready_for_cpu(pod, sample, now):
            unready.append(name)
            continue
        ready.append(name)
    return ready, unready, missing, ignored


def pod_requests(pods: list[dict], resource: str) -> dict[str, int]:
    out = {}
    for pod in pods:
        total = 0
        for c in pod["spec"].get("containers") or []:
            req = ((c.get("resources") or {}).get("requests") or {}).get(resource)
            if req is None:
                raise MetricsError(f"missing request for {resource} in container {c['name']} of "
                                   f"Pod {pod['metadata']['name']}")
            total += _quantity(resource, req)
        out[pod["metadata"]["name"]] = total
    return out


def _usable_samples(pods: list[dict], pod_metrics: list[dict], resource: str, now: datetime):
    """Checks shared by both target types; returns the samples and the pod groups."""
    if not pod_metrics:
        raise MetricsError(f"unable to get metrics for resource {resource}: no metrics returned "
                           "from resource metrics API")
    if not pods:
        raise MetricsError("no pods returned by selector while calculating replica count")
    samples = pod_samples(pod_metrics, resource)
    ready, unready, missing, ignored = group_pods(pods, samples, resource, now)
    considered = {n: samples[n].value for n in samples if n not in ignored and n not in unready}
    if not considered:
        raise MetricsError("did not receive metrics for targeted pods (pods might be unready)")
    return considered, ready, unready, missing


def _settle(current: int, ratio: float, new_ratio: float, count: int) -> int:
    """The second pass's answer: keep the current size unless the pessimistic estimate
    still points the same way as the first one, beyond the tolerance."""
    if abs(1.0 - new_ratio) <= TOLERANCE or (ratio < 1.0 < new_ratio) or (ratio > 1.0 > new_ratio):
        return current
    new_replicas = math.ceil(new_ratio * count)
    if (new_ratio < 1.0 and new_replicas > current) or (new_ratio > 1.0 and new_replicas < current):
        return current
    return new_replicas


def utilization_replicas(current: int, target_utilization: int, pods: list[dict],
                         pod_metrics: list[dict], resource: str, now: datetime) -> Proposal:
    """GetResourceReplicas for an averageUtilization target."""
    values, ready, unready, missing = _usable_samples(pods, pod_metrics, resource, now)
    requests = pod_requests(pods, resource)
    usage = sum(values.values())
    request = sum(requests[n] for n in values)
    if request == 0:
        raise MetricsError(f"missing request for {resource}")
    utilization = usage * 100 // request
    ratio = utilization / target_utilization
    raw_average = usage // len(values)
    if not missing and not (unready and ratio > 1.0):
        if abs(1.0 - ratio) <= TOLERANCE:
            return Proposal(current, utilization, raw_average)
        return Proposal(math.ceil(ratio * len(ready)), utilization, raw_average)
    for n in missing:
        values[n] = requests[n] * max(100, target_utilization) // 100 if ratio < 1.0 else 0
    if unready and ratio > 1.0:
        for n in unready:
            values[n] = 0
    new_request = sum(requests[n] for n in values)
    new_ratio = (sum(values.values()) * 100 / new_request) / target_utilization if new_request else 0
    return Proposal(_settle(current, ratio, new_ratio, len(values)), utilization, raw_average)


def average_value_replicas(current: int, target_milli: int, pods: list[dict],
                           pod_metrics: list[dict], resource: str, now: datetime) -> Proposal:
    """GetRawResourceReplicas for an averageValue target (milli-units for cpu, bytes otherwise)."""
    values, ready, unready, missing = _usable_samples(pods, pod_metrics, resource, now)
    usage = sum(values.values())
    ratio = (usage / len(values)) / target_milli
    raw_average = usage // len(values)
    if not missing and not (unready and ratio > 1.0):
        if abs(1.0 - ratio) <= TOLERANCE:
            return Proposal(current, None, raw_average)
        return Proposal(math.ceil(ratio * len(ready)), None, raw_average)
    for n in missing:
        values[n] = target_milli if ratio < 1.0 else 0
    if unready and ratio > 1.0:
        for n in unready:
            values[n] = 0
    new_ratio = (sum(values.values()) / len(values)) / target_milli
    return Proposal(_settle(current, ratio, new_ratio, len(values)), None, raw_average)
