"""kubectl rollout status messages, branch by branch (k8s-behaviour §7.1)."""

from __future__ import annotations

import pytest

from helpers.status import RolloutError, deployment_status, pod_problems, statefulset_status


def dep(gen=2, observed=2, replicas=3, updated=3, total=3, available=3, reason=None):
    conds = [{"type": "Progressing", "reason": reason}] if reason else []
    return {"metadata": {"name": "web", "generation": gen},
            "spec": {"replicas": replicas},
            "status": {"observedGeneration": observed, "updatedReplicas": updated,
                       "replicas": total, "availableReplicas": available, "conditions": conds}}


@pytest.mark.parametrize(("obj", "message", "done"), [
    (dep(gen=3), "Waiting for deployment spec update to be observed...", False),
    (dep(updated=1, total=4),
     'Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have been '
     "updated...", False),
    (dep(total=4), 'Waiting for deployment "web" rollout to finish: 1 old replicas are pending '
                   "termination...", False),
    (dep(available=2), 'Waiting for deployment "web" rollout to finish: 2 of 3 updated replicas '
                       "are available...", False),
    (dep(), 'deployment "web" successfully rolled out', True),
])
def test_deployment_messages(obj, message, done):
    assert deployment_status(obj) == (message, done)


def test_progress_deadline_is_an_error_with_kubectls_text():
    with pytest.raises(RolloutError, match='^deployment "web" exceeded its progress deadline$'):
        deployment_status(dep(updated=1, reason="ProgressDeadlineExceeded"))


def sts(partition=None, block=True, ready=3, updated=3, cur="r1", upd="r1", strategy="RollingUpdate",
        observed=1):
    us = {"type": strategy}
    if block:
        us["rollingUpdate"] = {} if partition is None else {"partition": partition}
    return {"metadata": {"name": "db", "generation": 1},
            "spec": {"replicas": 3, "updateStrategy": us},
            "status": {"observedGeneration": observed, "readyReplicas": ready,
                       "updatedReplicas": updated, "currentReplicas": 3,
                       "currentRevision": cur, "updateRevision": upd}}


def test_statefulset_messages():
    assert statefulset_status(sts(observed=0))[0] == \
        "Waiting for statefulset spec update to be observed..."
    assert statefulset_status(sts(ready=1)) == ("Waiting for 2 pods to be ready...", False)
    assert statefulset_status(sts(partition=1, updated=1)) == (
        "Waiting for partitioned roll out to finish: 1 out of 2 new pods have been updated...",
        False)
    assert statefulset_status(sts(partition=1, updated=2)) == (
        "partitioned roll out complete: 2 new pods have been updated...", True)
    assert statefulset_status(sts(block=False, upd="r2", updated=1)) == (
        "waiting for statefulset rolling update to complete 1 pods at revision r2...", False)
    assert statefulset_status(sts(block=False)) == (
        "statefulset rolling update complete 3 pods at revision r1...", True)
    with pytest.raises(RolloutError, match="only available for RollingUpdate"):
        statefulset_status(sts(strategy="OnDelete", block=False))


def test_pod_problems_finds_bad_images_and_ignores_terminating_pods():
    waiting = {"state": {"waiting": {"reason": "ImagePullBackOff", "message": "no such tag"}},
               "name": "podinfo"}
    pods = [
        {"metadata": {"name": "a"}, "status": {"containerStatuses": [waiting]}},
        {"metadata": {"name": "b", "deletionTimestamp": "x"},
         "status": {"containerStatuses": [waiting]}},
        {"metadata": {"name": "c"}, "status": {"containerStatuses": [
            {"name": "podinfo", "state": {"waiting": {"reason": "ContainerCreating"}}}]}},
    ]
    found = pod_problems(pods)
    assert [(p.pod, p.reason) for p in found] == [("a", "ImagePullBackOff")]
    assert "no such tag" in found[0].describe()
