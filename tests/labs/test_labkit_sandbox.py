"""labkit's cluster-facing checks against a real sandbox: each passes after its step and
fails (with a hint) when the step did not happen."""

from __future__ import annotations

import time

import pytest

from helpers import labkit, rollout

pytestmark = pytest.mark.slow
V1 = "ghcr.io/stefanprodan/podinfo:6.7.0"
V2 = "ghcr.io/stefanprodan/podinfo:6.7.1"


def test_progress_deadline(lab_cluster, ns) -> None:
    rollout.apply(labkit.MANIFESTS / "podinfo", ns)
    rollout.wait_for_rollout("podinfo", ns, timeout=120)
    with pytest.raises(AssertionError, match="progressDeadlineSeconds"):
        labkit.check_progress_deadline_exceeded(ns, "podinfo", wait=3)
    rollout.apply(labkit.MANIFESTS / "releases" / "podinfo-6.71-typo.yaml", ns)
    lab_cluster.request("PATCH", f"/apis/apps/v1/namespaces/{ns}/deployments/podinfo",
                        body={"spec": {"progressDeadlineSeconds": 3}},
                        content_type="application/merge-patch+json")
    labkit.check_progress_deadline_exceeded(ns, "podinfo", wait=60)
    assert labkit.progressing_reason(ns, "podinfo") == "ProgressDeadlineExceeded"


def test_recovery_and_scale_down_order(lab_cluster, ns) -> None:
    rollout.apply(labkit.MANIFESTS / "podinfo" / "deployment.yaml", ns)
    rollout.wait_for_rollout("podinfo", ns, timeout=120)
    victim = labkit.serving_pods(ns, "app=podinfo")[0]["metadata"]["name"]
    with pytest.raises(TimeoutError, match="replacement"):  # nothing deleted: no recovery
        labkit.measure_recovery(ns, "app=podinfo", 2, victim, time.monotonic(),
                                known=[p["metadata"]["name"]
                                       for p in labkit.serving_pods(ns, "app=podinfo")],
                                timeout=2)
    known = [p["metadata"]["name"] for p in labkit.serving_pods(ns, "app=podinfo")]
    t0 = time.monotonic()
    lab_cluster.core.delete_namespaced_pod(victim, ns)
    rec = labkit.measure_recovery(ns, "app=podinfo", 2, victim, t0, known=known, timeout=60)
    assert rec.replacement not in known and 0 < rec.seconds < 60

    rollout.scale("podinfo", ns, 4)
    labkit.wait_for_serving(ns, "app=podinfo", 4, timeout=60)
    before = labkit.pod_table(ns, "app=podinfo")
    with pytest.raises(AssertionError, match="No pod was removed"):
        labkit.check_scale_down_order(before, [r["name"] for r in before])
    before = labkit.pod_table(ns, "app=podinfo")
    rollout.scale("podinfo", ns, 2)
    after = labkit.wait_for_scale_in(ns, "app=podinfo", 2, timeout=60)
    labkit.check_scale_down_order(before, after)
    oldest = before[0]["name"]  # Ready long before the two added pods: never the one to go
    assert oldest in after, (before, after)


def test_statefulset_update_order(lab_cluster, ns) -> None:
    rollout.apply(labkit.MANIFESTS / "statefulset" / "web.yaml", ns)
    rollout.wait_for_rollout("web", ns, kind="statefulset", timeout=180)
    with pytest.raises(TimeoutError):  # no update started: nothing to record
        labkit.statefulset_update_order(ns, "web", V2, replicas=3, timeout=2)
    rollout.set_image("web", ns, "podinfo", V2, kind="statefulset")
    order = labkit.statefulset_update_order(ns, "web", V2, replicas=3, timeout=180)
    labkit.check_update_order(order, ["web-2", "web-1", "web-0"])


def test_measure_update_sees_recreate_fail_and_prestop_hold(lab_cluster, ns) -> None:
    bad = labkit.measure_update("recreate", ns, labkit.MANIFESTS / "clinic" / "4-recreate.yaml",
                                V2, after=3)
    good = labkit.measure_update("readiness-prestop", ns,
                                 labkit.MANIFESTS / "clinic" / "3-readiness-prestop.yaml", V2)
    assert bad.failures > 0 and bad.gap > 0.5
    assert good.failures == 0 and good.summary.total > 200
