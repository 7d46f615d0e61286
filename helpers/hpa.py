"""HorizontalPodAutoscaler helpers: `kubectl autoscale` and a readable status."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kubernetes.client.exceptions import ApiException

from helpers import _api
from helpers._api import HPA
from helpers.cluster import Cluster, current, require_lab_namespace
from helpers.kubectl import Step
from helpers.status import RolloutError

_KINDS = {"deployments": "Deployment", "statefulsets": "StatefulSet"}


def autoscale(name: str, namespace: str, *, min_replicas: int = 0, max_replicas: int,
              cpu_percent: int | None = None, kind: str = "deployment",
              hpa_name: str | None = None, cluster: Cluster | None = None) -> Step:
    """`kubectl autoscale <kind>/<name> --min --max --cpu=N%` (autoscaling/v2, kubectl >= 1.34)."""
    c = current(cluster)
    require_lab_namespace(namespace, c)
    if max_replicas < 1:
        raise RolloutError(f"--max=MAXPODS is required and must be at least 1, max: {max_replicas}")
    if max_replicas < min_replicas:
        raise RolloutError(f"--max=MAXPODS must be larger or equal to --min=MINPODS, max: "
                           f"{max_replicas}, min: {min_replicas}")
    workload = _api.workload(kind)
    hname = hpa_name or name
    spec: dict[str, Any] = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": _KINDS[workload.plural],
                           "name": name},
        "maxReplicas": int(max_replicas),
    }
    if min_replicas > 0:
        spec["minReplicas"] = int(min_replicas)
    if cpu_percent is not None and cpu_percent >= 0:
        spec["metrics"] = [{"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization",
                                      "averageUtilization": int(cpu_percent)}}}]
    body = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": hname, "namespace": namespace}, "spec": spec}
    try:
        c.request("POST", HPA.path(namespace), body=body,
                  query={"fieldManager": "kubectl-autoscale"})
    except ApiException as exc:
        if exc.status == 409:
            raise RolloutError(
                f'horizontalpodautoscalers.autoscaling "{hname}" already exists. Delete it '
                f"first (rollout.delete_hpa({hname!r}, {namespace!r}) or kubectl delete hpa "
                f"{hname} -n {namespace}) or change it with apply().") from None
        raise
    argv = ["autoscale", f"{workload.plural[:-1]}/{name}"]
    if min_replicas > 0:
        argv.append(f"--min={min_replicas}")
    argv.append(f"--max={max_replicas}")
    if cpu_percent is not None and cpu_percent >= 0:
        argv.append(f"--cpu={cpu_percent}%")
    if hpa_name:
        argv.append(f"--name={hpa_name}")
    argv += ["-n", namespace]
    return Step(f"{HPA.display}/{hname} autoscaled", argv,
                f"rollout.autoscale({name!r}, {namespace!r}, min_replicas={min_replicas}, "
                f"max_replicas={max_replicas}, cpu_percent={cpu_percent})")


def delete_hpa(name: str, namespace: str, *, cluster: Cluster | None = None) -> Step:
    c = current(cluster)
    require_lab_namespace(namespace, c)
    argv = ["delete", "hpa", name, "-n", namespace]
    try:
        c.request("DELETE", HPA.path(namespace, name))
    except ApiException as exc:
        if exc.status != 404:
            raise
        return Step(f'horizontalpodautoscalers.autoscaling "{name}" not found', argv)
    return Step(f'{HPA.display} "{name}" deleted from {namespace} namespace', argv)


@dataclass(frozen=True)
class HPAStatus:
    name: str
    target: str  # e.g. Deployment/php-apache
    min_replicas: int
    max_replicas: int
    current_replicas: int
    desired_replicas: int
    cpu_percent: int | None  # current average utilization; None until metrics arrive
    cpu_target: int | None
    targets: str  # the TARGETS column of kubectl get hpa
    conditions: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # type->status,reason,msg
    last_scale_time: str | None = None

    @property
    def metrics_ok(self) -> bool:
        active = self.conditions.get("ScalingActive")
        return self.cpu_percent is not None and (active is None or active[0] == "True")

    def __str__(self) -> str:
        return (f"{self.name}: {self.targets}  replicas {self.current_replicas} "
                f"(desired {self.desired_replicas}, min {self.min_replicas}, max "
                f"{self.max_replicas})")


def _targets(spec: dict, status: dict) -> str:
    metrics = spec.get("metrics") or []
    if not metrics:
        return "<none>"
    current = status.get("currentMetrics") or []
    parts = []
    for m in metrics[:2]:
        if m.get("type") != "Resource":
            parts.append("<unknown>/<unknown>")
            continue
        res = m["resource"]
        tgt = res.get("target") or {}
        cur = next((x.get("resource", {}).get("current", {}) for x in current
                    if x.get("type") == "Resource"
                    and x.get("resource", {}).get("name") == res["name"]), {})
        if tgt.get("type") == "AverageValue":
            parts.append(f"{res['name']}: {cur.get('averageValue', '<unknown>')}/"
                         f"{tgt.get('averageValue')}")
        else:
            now = cur.get("averageUtilization")
            want = tgt.get("averageUtilization")
            parts.append(f"{res['name']}: {'<unknown>' if now is None else f'{now}%'}/"
                         f"{'<auto>' if want is None else f'{want}%'}")
    text = ", ".join(parts)
    if len(metrics) > 2:
        text += f" + {len(metrics) - 2} more..."
    return text


def hpa_status(name: str, namespace: str, *, cluster: Cluster | None = None) -> HPAStatus:
    """The HPA as `kubectl get hpa` shows it, plus its conditions (why it does (not) scale)."""
    c = current(cluster)
    h = c.get(HPA.path(namespace, name))
    if h is None:
        raise RolloutError(f'horizontalpodautoscalers.autoscaling "{name}" not found in '
                           f'namespace "{namespace}"')
    spec, st = h.get("spec", {}), h.get("status", {})
    cpu_now = cpu_target = None
    for m in spec.get("metrics") or []:
        if m.get("type") == "Resource" and m["resource"].get("name") == "cpu":
            cpu_target = (m["resource"].get("target") or {}).get("averageUtilization")
    for m in st.get("currentMetrics") or []:
        if m.get("type") == "Resource" and m.get("resource", {}).get("name") == "cpu":
            cpu_now = m["resource"].get("current", {}).get("averageUtilization")
    ref = spec.get("scaleTargetRef", {})
    conds = {x["type"]: (x.get("status", ""), x.get("reason", ""), x.get("message", ""))
             for x in st.get("conditions") or []}
    return HPAStatus(name, f"{ref.get('kind')}/{ref.get('name')}", spec.get("minReplicas", 1),
                     spec.get("maxReplicas", 0), st.get("currentReplicas", 0),
                     st.get("desiredReplicas", 0), cpu_now, cpu_target, _targets(spec, st), conds,
                     st.get("lastScaleTime"))
