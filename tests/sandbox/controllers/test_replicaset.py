"""ReplicaSet controller scenarios (k8s-behaviour §4), in-process, exact strings."""

from __future__ import annotations

from datetime import timedelta

from helpers.sandbox.apiserver.errors import ApiError
from helpers.sandbox.controllers.replicaset import rank_pods_for_deletion
from helpers.sandbox.objects import condition
from helpers.sandbox.util import now, rfc3339

from .rollout_harness import NS, Cluster, eventually, run, steady

RC = "replicaset-controller"
LABELS = {"app": "web"}


def replicaset(replicas: int = 3, name: str = "web", **spec) -> dict:
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": name, "labels": LABELS},
            "spec": {"replicas": replicas, "selector": {"matchLabels": LABELS},
                     "template": {"metadata": {"labels": LABELS, "annotations": {"team": "a"}},
                                  "spec": {"containers": [{"name": "app", "image": "nginx:1.25"}]}},
                     **spec}}


def rs_status(c: Cluster, name: str = "web") -> dict:
    return c.client.get("replicasets", NS, name)["status"]


def test_scale_up_creates_owned_pods_and_reports_status():
    async def scenario():
        async with Cluster(controllers=("replicaset",)) as c:
            rs = c.client.create("replicasets", replicaset(5), NS)
            await eventually(lambda: rs_status(c).get("availableReplicas") == 5, what="available")
            pods = c.pods()
            assert len(pods) == 5
            for p in pods:
                assert p["metadata"]["generateName"] == "web-"
                assert p["metadata"]["name"].startswith("web-") and len(p["metadata"]["name"]) == 9
                assert p["metadata"]["labels"] == LABELS
                assert p["metadata"]["annotations"] == {"team": "a"}
                assert p["metadata"]["ownerReferences"] == [{
                    "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web",
                    "uid": rs["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]
            assert sorted(c.messages(RC, "web")) == sorted(f"Created pod: {p['metadata']['name']}" for p in pods)
            assert {e["reason"] for e in c.events} == {"SuccessfulCreate"}
            assert rs_status(c) == {"replicas": 5, "fullyLabeledReplicas": 5, "readyReplicas": 5,
                                    "availableReplicas": 5, "observedGeneration": 1}
    run(scenario())


def test_scale_down_deletes_surplus_with_events():
    async def scenario():
        async with Cluster(controllers=("replicaset",), stop_delay=0.2) as c:
            c.client.create("replicasets", replicaset(4), NS)
            await eventually(lambda: rs_status(c).get("availableReplicas") == 4)
            c.client.patch("replicasets", NS, "web", {"spec": {"replicas": 1}})
            await eventually(lambda: rs_status(c)["replicas"] == 1, what="scaled down")
            terminating = [p for p in c.pods(active=False) if p["metadata"].get("deletionTimestamp")]
            assert len(terminating) == 3  # graceful: terminating pods stop counting at once
            deleted = [m for m in c.messages(RC) if m.startswith("Deleted pod: ")]
            assert sorted(deleted) == sorted(f"Deleted pod: {p['metadata']['name']}" for p in terminating)
            await eventually(lambda: len(c.pods(active=False)) == 1, what="kubelet finishes deletion")
            await steady(lambda: len(c.pods()) == 1, 0.2)
    run(scenario())


def test_scale_down_prefers_unhealthy_pods():
    """Not-ready (never scheduled, pending, unready) pods go before ready ones."""
    async def scenario():
        async with Cluster({"nginx:broken"}, controllers=("replicaset",)) as c:
            c.client.create("replicasets", replicaset(3), NS)
            await eventually(lambda: rs_status(c).get("readyReplicas") == 3)
            healthy = {p["metadata"]["name"] for p in c.pods()}
            c.client.patch("replicasets", NS, "web", {"spec": {"template": {"spec": {"containers": [
                {"name": "app", "image": "nginx:broken"}]}}}}, "strategic")
            c.client.patch("replicasets", NS, "web", {"spec": {"replicas": 6}})
            await eventually(lambda: sum(1 for p in c.pods() if p["spec"].get("nodeName")) == 6)
            c.client.patch("replicasets", NS, "web", {"spec": {"replicas": 3}})
            await eventually(lambda: len(c.pods()) == 3)
            assert {p["metadata"]["name"] for p in c.pods()} == healthy
    run(scenario())


def _pod(name: str, *, node: str | None = "n1", phase: str = "Running", ready: bool = True,
         ready_ago: float = 3600, created_ago: float = 7200, restarts: int = 0,
         cost: int | None = None, uid: str | None = None) -> dict:
    at = now()
    pod = {"metadata": {"name": name, "uid": uid or name,
                        "creationTimestamp": rfc3339(at - timedelta(seconds=created_ago))},
           "spec": {"nodeName": node} if node else {},
           "status": {"phase": phase, "containerStatuses": [{"name": "app", "restartCount": restarts}],
                      "conditions": [{"type": "Ready", "status": "True" if ready else "False",
                                      "lastTransitionTime": rfc3339(at - timedelta(seconds=ready_ago))}]}}
    if cost is not None:
        pod["metadata"]["annotations"] = {"controller.kubernetes.io/pod-deletion-cost": str(cost)}
    return pod


def _order(pods: list[dict], related: list[dict] | None = None) -> list[str]:
    return [p["metadata"]["name"] for p in rank_pods_for_deletion(pods, related or pods)]


def test_deletion_ranking_rules():
    # 1. unassigned first; 2. Pending < Unknown < Running; 3. not ready first
    assert _order([_pod("run"), _pod("unknown", phase="Unknown"), _pod("pending", phase="Pending"),
                   _pod("unassigned", node=None, phase="Pending"), _pod("unready", ready=False)]) == \
        ["unassigned", "pending", "unknown", "unready", "run"]
    # 4. lower pod-deletion-cost first (beats everything after it)
    assert _order([_pod("keep", cost=100, ready_ago=1), _pod("cheap", cost=-5), _pod("plain")]) == \
        ["cheap", "plain", "keep"]
    # 5. more sibling pods (of the same owner) on the node first
    crowded = [_pod("a1", node="a"), _pod("b1", node="b")]
    siblings = [*crowded, _pod("a2", node="a"), _pod("a3", node="a")]
    assert _order(crowded, siblings) == ["a1", "b1"]
    # 6. ready for a shorter time first, compared in log2 buckets (uid breaks bucket ties)
    assert _order([_pod("old", ready_ago=100_000), _pod("young", ready_ago=10)]) == ["young", "old"]
    assert _order([_pod("z", ready_ago=1000, uid="2"), _pod("y", ready_ago=1010, uid="1")]) == ["y", "z"]
    # 7. more restarts first; 8. newer first (again in buckets)
    assert _order([_pod("calm"), _pod("crashy", restarts=4)]) == ["crashy", "calm"]
    assert _order([_pod("older", created_ago=100_000), _pod("newer", created_ago=100)]) == ["newer", "older"]


def test_adopts_orphans_and_releases_relabelled_pods():
    async def scenario():
        async with Cluster(controllers=("replicaset",)) as c:
            orphan = {"metadata": {"name": "orphan", "labels": LABELS},
                      "spec": {"containers": [{"name": "app", "image": "nginx:1.25"}]}}
            c.client.create("pods", orphan, NS)
            rs = c.client.create("replicasets", replicaset(2), NS)
            await eventually(lambda: rs_status(c).get("availableReplicas") == 2)
            adopted = c.client.get("pods", NS, "orphan")
            assert adopted["metadata"]["ownerReferences"][0]["uid"] == rs["metadata"]["uid"]
            assert len([m for m in c.messages(RC) if m.startswith("Created pod: ")]) == 1
            # Relabel an owned pod: it is released (ownerRef dropped) and replaced.
            adopted["metadata"]["labels"] = {"app": "debug"}
            c.client.update("pods", adopted)
            await eventually(lambda: not c.client.get("pods", NS, "orphan")["metadata"].get("ownerReferences"))
            await eventually(lambda: rs_status(c).get("availableReplicas") == 2
                             and len(c.pods(c.client.get("replicasets", NS, "web"))) == 2)
            assert len(c.pods()) == 3
    run(scenario())


def test_min_ready_seconds_availability_requeues():
    async def scenario():
        async with Cluster(controllers=("replicaset",)) as c:
            c.client.create("replicasets", replicaset(2, minReadySeconds=2), NS)
            await eventually(lambda: rs_status(c).get("readyReplicas") == 2)
            assert rs_status(c).get("availableReplicas", 0) == 0
            # No pod event happens after readiness: only the controller's own requeue can do this.
            await eventually(lambda: rs_status(c).get("availableReplicas") == 2, timeout=6)
    run(scenario())


def test_create_failure_sets_replica_failure_condition():
    async def scenario():
        async with Cluster(controllers=("replicaset",)) as c:
            real_create = c.client.create
            failing = {"on": True}

            def create(key, obj, namespace=None):
                if key == "pods" and failing["on"]:
                    raise ApiError(403, "Forbidden", 'pods "web-" is forbidden: exceeded quota: q')
                return real_create(key, obj, namespace)

            c.client.create = create
            real_create("replicasets", replicaset(2), NS)
            await eventually(lambda: condition(c.client.get("replicasets", NS, "web"), "ReplicaFailure"))
            cond = condition(c.client.get("replicasets", NS, "web"), "ReplicaFailure")
            assert (cond["status"], cond["reason"], cond["message"]) == (
                "True", "FailedCreate", 'pods "web-" is forbidden: exceeded quota: q')
            warnings = [(e["reason"], e["message"]) for e in c.events if e["type"] == "Warning"]
            assert warnings[0] == ("FailedCreate", 'Error creating: pods "web-" is forbidden: exceeded quota: q')
            failing["on"] = False
            await eventually(lambda: rs_status(c).get("availableReplicas") == 2, timeout=6)
            assert condition(c.client.get("replicasets", NS, "web"), "ReplicaFailure") is None
    run(scenario())


def test_slow_start_stops_after_a_failing_batch():
    async def scenario():
        async with Cluster(controllers=("replicaset",), kubelet=False) as c:
            real_create = c.client.create
            calls = []

            def create(key, obj, namespace=None):
                if key == "pods":
                    calls.append(obj["metadata"]["generateName"])
                    if len(calls) == 2:  # first pod of the second batch (size 2) fails
                        raise ApiError(500, "InternalError", "boom")
                return real_create(key, obj, namespace)

            c.client.create = create
            at_failure: list[int] = []
            c.client.on_change({"replicasets"}, lambda ev: not at_failure and condition(
                ev.object, "ReplicaFailure") and at_failure.append(len(calls)))
            real_create("replicasets", replicaset(10), NS)
            await eventually(lambda: at_failure, what="ReplicaFailure")
            # Batch 1 (one pod) succeeded, batch 2 (two pods) was attempted in full and failed
            # once; the remaining seven were not attempted in that sync.
            assert at_failure == [3]
            await eventually(lambda: len(c.pods()) == 10, what="retry creates the rest")
            assert len(calls) == 11
