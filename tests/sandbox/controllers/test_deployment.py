"""Deployment controller scenarios (k8s-behaviour §2, §3, §7.3), in-process, exact strings."""

from __future__ import annotations

import asyncio
import re

import pytest

from helpers.sandbox.controllers import hashing
from helpers.sandbox.controllers.deployment import util
from helpers.sandbox.objects import condition

from .rollout_harness import NS, Cluster, deployment, eventually, is_available, run, steady

DC = "deployment-controller"


def conditions(d: dict) -> dict[str, tuple[str, str, str]]:
    return {c["type"]: (c["status"], c["reason"], c["message"])
            for c in d["status"].get("conditions") or []}


# -- §2 / §3.3: pure helpers ---------------------------------------------------------------
def test_pod_template_hash_format_and_normalisation():
    t = deployment()["spec"]["template"]
    h = util.compute_hash(t, None)
    assert re.fullmatch(r"[4-9bcdf]{1,10}", h)
    assert len(h) < 10 or h[0] in "5678"
    # Deterministic, blind to `creationTimestamp: null`, to missing defaults and to the hash label.
    same = {"metadata": {"creationTimestamp": None, "labels": {"app": "web", "pod-template-hash": "x"}},
            "spec": {"containers": [{"name": "app", "image": "nginx:1.25"}], "restartPolicy": "Always",
                     "dnsPolicy": "ClusterFirst"}}
    assert util.compute_hash(same, None) == h
    assert util.compute_hash(t, 1) != h != util.compute_hash(t, 2)
    assert hashing.safe_encode("0123456789") == "456789bcdf"


@pytest.mark.parametrize(("replicas", "surge", "unavailable"), [
    (1, 1, 0), (2, 1, 0), (3, 1, 0), (4, 1, 1), (5, 2, 1), (6, 2, 1), (8, 2, 2), (10, 3, 2),
    (15, 4, 3), (20, 5, 5)])
def test_resolve_fenceposts_defaults(replicas, surge, unavailable):
    d = deployment(replicas=replicas, strategy={"type": "RollingUpdate", "rollingUpdate": {
        "maxSurge": "25%", "maxUnavailable": "25%"}})
    assert (util.max_surge(d), util.max_unavailable(d)) == (surge, unavailable)


def test_fenceposts_both_zero_and_recreate():
    assert util.resolve_fenceposts("0%", "10%", 3) == (0, 1)
    d = deployment(replicas=3, strategy={"type": "Recreate"})
    assert (util.max_surge(d), util.max_unavailable(d)) == (0, 0)


# -- creation ------------------------------------------------------------------------------
def test_new_deployment_creates_replicaset_pods_and_status():
    async def scenario():
        async with Cluster() as c:
            c.client.create("deployments", deployment(replicas=3), NS)
            d = await c.complete()
            [rs] = c.rss()
            h = rs["metadata"]["labels"]["pod-template-hash"]
            assert rs["metadata"]["name"] == f"web-{h}"
            assert h == util.compute_hash(d["spec"]["template"], None)
            assert rs["spec"]["selector"] == {"matchLabels": {"app": "web", "pod-template-hash": h}}
            assert rs["spec"]["template"]["metadata"]["labels"] == {"app": "web", "pod-template-hash": h}
            assert rs["metadata"]["annotations"] == {
                "deployment.kubernetes.io/revision": "1",
                "deployment.kubernetes.io/desired-replicas": "3",
                "deployment.kubernetes.io/max-replicas": "4"}
            ref = rs["metadata"]["ownerReferences"][0]
            assert ref == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                           "uid": d["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}
            assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
            assert "pod-template-hash" not in (d["metadata"].get("labels") or {})
            for pod in c.pods():
                assert pod["metadata"]["generateName"] == f"web-{h}-"
                assert re.fullmatch(rf"web-{h}-[bcdfghjklmnpqrstvwxz2456789]{{5}}", pod["metadata"]["name"])
                assert pod["metadata"]["labels"] == {"app": "web", "pod-template-hash": h}
            assert c.messages(DC) == [f"Scaled up replica set web-{h} to 3"]
            created = c.messages("replicaset-controller", rs["metadata"]["name"])
            assert sorted(created) == sorted(f"Created pod: {p['metadata']['name']}" for p in c.pods())
            st = d["status"]
            assert {k: v for k, v in st.items() if k != "conditions"} == {
                "observedGeneration": 1, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3,
                "availableReplicas": 3}
            assert [x["type"] for x in st["conditions"]] == ["Available", "Progressing"]
            assert conditions(d) == {
                "Available": ("True", "MinimumReplicasAvailable", "Deployment has minimum availability."),
                "Progressing": ("True", "NewReplicaSetAvailable",
                                f'ReplicaSet "web-{h}" has successfully progressed.')}
    run(scenario())


def test_annotations_copied_to_new_replicaset_except_skip_list():
    async def scenario():
        async with Cluster() as c:
            d = deployment(replicas=1)
            d["metadata"]["annotations"] = {"kubernetes.io/change-cause": "v1",
                                            "kubectl.kubernetes.io/last-applied-configuration": "{}"}
            c.client.create("deployments", d, NS)
            await c.complete()
            c.client.patch("deployments", NS, "web", {"metadata": {"annotations": {
                "kubernetes.io/change-cause": "v1 (annotated later)"}}})
            await eventually(lambda: c.rss()[0]["metadata"]["annotations"].get(
                "kubernetes.io/change-cause") == "v1 (annotated later)", what="annotation copy")
            ann = c.rss()[0]["metadata"]["annotations"]
            assert "kubectl.kubernetes.io/last-applied-configuration" not in ann
            assert ann["deployment.kubernetes.io/revision"] == "1"
    run(scenario())


# -- §3.4 rolling update -------------------------------------------------------------------
def test_rolling_update_first_events_and_invariants():
    async def scenario():
        async with Cluster() as c:
            c.client.create("deployments", deployment(replicas=4), NS)
            await c.complete()
            old = c.rss()[0]["metadata"]["name"]
            violations: list[str] = []
            samples = [0]

            def sample(_ev) -> None:
                pods = c.pods()
                samples[0] += 1
                rss = c.rss()
                if len(pods) > 5:
                    violations.append(f"{len(pods)} pods > replicas + maxSurge")
                if sum(rs["spec"]["replicas"] for rs in rss) > 5:
                    violations.append("replica sets sum above replicas + maxSurge")
                available = sum(1 for p in pods if is_available(p))
                if available < 3:
                    violations.append(f"{available} available < replicas - maxUnavailable")

            c.client.on_change({"pods", "replicasets"}, sample)
            before = len(c.messages(DC))
            c.set_image("nginx:1.26")
            await c.complete()
            new = c.rs_by_image("nginx:1.26")["metadata"]["name"]
            msgs = c.messages(DC)[before:]
            assert msgs[:3] == [f"Scaled up replica set {new} to 1",
                                f"Scaled down replica set {old} to 3 from 4",
                                f"Scaled up replica set {new} to 2 from 1"]
            assert msgs[-1] == f"Scaled down replica set {old} to 0 from 1"
            assert samples[0] > 20 and violations == []
            assert [rs["spec"]["replicas"] for rs in c.rss()] == [0, 4]
            d = c.deploy()
            assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
            assert conditions(d)["Progressing"] == (
                "True", "NewReplicaSetAvailable", f'ReplicaSet "{new}" has successfully progressed.')
    run(scenario())


@pytest.mark.parametrize(("replicas", "new", "old"), [(4, 2, 3), (10, 5, 8)])
def test_never_ready_image_stalls(replicas, new, old):
    async def scenario():
        async with Cluster({"nginx:broken"}) as c:
            c.client.create("deployments", deployment(replicas=replicas), NS)
            await c.complete()
            c.set_image("nginx:broken")

            def stalled():
                n, o = c.rs_by_image("nginx:broken"), c.rs_by_image("nginx:1.25")
                return (n and n["spec"]["replicas"] == new and o["spec"]["replicas"] == old
                        and len(c.pods(n)) == new and len(c.pods(o)) == old
                        and (c.deploy()["status"].get("updatedReplicas") == new))
            await eventually(stalled, what="stall")
            await steady(stalled, 0.5)
            st = c.deploy()["status"]
            # kubectl get deploy: READY old/replicas, UP-TO-DATE new, AVAILABLE old
            assert (st["readyReplicas"], st["updatedReplicas"], st["availableReplicas"]) == (old, new, old)
            assert st["replicas"] == new + old and st["unavailableReplicas"] == new + old - old
            assert conditions(c.deploy())["Available"][0] == "True"
            n = c.rs_by_image("nginx:broken")["metadata"]["name"]
            assert conditions(c.deploy())["Progressing"] == (
                "True", "ReplicaSetUpdated", f'ReplicaSet "{n}" is progressing.')
    run(scenario())


# -- §3.5 Recreate ---------------------------------------------------------------------------
def test_recreate_never_overlaps():
    async def scenario():
        async with Cluster(stop_delay=0.2) as c:
            c.client.create("deployments", deployment(replicas=3, strategy={"type": "Recreate"}), NS)
            await c.complete()
            old = c.rss()[0]
            overlaps: list[str] = []

            def sample(_ev) -> None:
                images = {p["spec"]["containers"][0]["image"] for p in c.pods(active=False)
                          if p["status"].get("phase") not in ("Succeeded", "Failed")}
                if len(images) > 1:
                    overlaps.append(str(images))

            c.client.on_change({"pods"}, sample)
            before = len(c.messages(DC))
            c.set_image("nginx:1.26")
            await c.complete()
            new = c.rs_by_image("nginx:1.26")["metadata"]["name"]
            assert c.messages(DC)[before:] == [
                f"Scaled down replica set {old['metadata']['name']} to 0 from 3",
                f"Scaled up replica set {new} to 3"]
            assert overlaps == []
            assert c.rs_by_image("nginx:1.26")["metadata"]["annotations"] == {
                "deployment.kubernetes.io/revision": "2",
                "deployment.kubernetes.io/desired-replicas": "3",
                "deployment.kubernetes.io/max-replicas": "3"}
    run(scenario())


# -- §3.6 proportional scaling ---------------------------------------------------------------
@pytest.mark.parametrize(("replicas", "stuck", "target", "expect", "max_before", "max_after"), [
    (10, (8, 5), 15, (12, 7), "13", "19"),
    (4, (3, 2), 8, (6, 4), "5", "10"),
])
def test_proportional_scaling_mid_rollout(replicas, stuck, target, expect, max_before, max_after):
    async def scenario():
        async with Cluster({"nginx:broken"}) as c:
            c.client.create("deployments", deployment(replicas=replicas), NS)
            await c.complete()
            c.set_image("nginx:broken")

            def sizes():
                o, n = c.rs_by_image("nginx:1.25"), c.rs_by_image("nginx:broken")
                return n and (o["spec"]["replicas"], n["spec"]["replicas"])
            await eventually(lambda: sizes() == stuck and c.deploy()["status"].get("updatedReplicas")
                             == stuck[1], what="stall")
            for rs in c.rss():
                assert rs["metadata"]["annotations"]["deployment.kubernetes.io/max-replicas"] == max_before
            before = len(c.messages(DC))
            c.scale(target)
            await eventually(lambda: sizes() == expect, what="proportional scale")
            await steady(lambda: sizes() == expect, 0.3)
            o, n = c.rs_by_image("nginx:1.25"), c.rs_by_image("nginx:broken")
            assert sorted(c.messages(DC)[before:]) == sorted([
                f"Scaled up replica set {o['metadata']['name']} to {expect[0]} from {stuck[0]}",
                f"Scaled up replica set {n['metadata']['name']} to {expect[1]} from {stuck[1]}"])
            for rs in (o, n):
                assert rs["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] == str(target)
                assert rs["metadata"]["annotations"]["deployment.kubernetes.io/max-replicas"] == max_after
    run(scenario())


def test_scale_without_rollout_scales_the_only_active_replicaset():
    async def scenario():
        async with Cluster() as c:
            c.client.create("deployments", deployment(replicas=2), NS)
            await c.complete()
            name = c.rss()[0]["metadata"]["name"]
            c.scale(5)
            await c.complete()
            c.scale(1)
            await c.complete()
            assert c.messages(DC) == [f"Scaled up replica set {name} to 2",
                                      f"Scaled up replica set {name} to 5 from 2",
                                      f"Scaled down replica set {name} to 1 from 5"]
            assert c.rss()[0]["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] == "1"
    run(scenario())


# -- §3.7 pause / resume ---------------------------------------------------------------------
def test_pause_resume_makes_exactly_one_revision():
    async def scenario():
        async with Cluster() as c:
            c.client.create("deployments", deployment(replicas=2), NS)
            await c.complete()
            c.client.patch("deployments", NS, "web", {"spec": {"paused": True}}, "strategic")
            await eventually(lambda: conditions(c.deploy())["Progressing"] == (
                "Unknown", "DeploymentPaused", "Deployment is paused"), what="paused condition")
            c.set_image("nginx:1.26")
            c.set_image("nginx:1.27")
            c.client.patch("deployments", NS, "web", {"spec": {"template": {"spec": {"containers": [
                {"name": "app", "env": [{"name": "MODE", "value": "x"}]}]}}}}, "strategic")
            c.scale(3)  # scaling still works while paused
            await eventually(lambda: c.rss()[0]["spec"]["replicas"] == 3 and len(c.pods()) == 3)
            await steady(lambda: len(c.rss()) == 1, 0.3)
            assert c.deploy()["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
            c.client.patch("deployments", NS, "web", {"spec": {"paused": None}}, "strategic")
            await c.complete()
            rss = c.rss()
            assert len(rss) == 2
            assert [rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] for rs in rss] == ["1", "2"]
            env = rss[1]["spec"]["template"]["spec"]["containers"][0]
            assert env["image"] == "nginx:1.27" and env["env"] == [{"name": "MODE", "value": "x"}]
            new = rss[1]["metadata"]["name"]
            await eventually(lambda: conditions(c.deploy())["Progressing"] == (
                "True", "NewReplicaSetAvailable", f'ReplicaSet "{new}" has successfully progressed.'))
    run(scenario())


# -- §3.2 / §7.3 rollback -------------------------------------------------------------------
def undo(c: Cluster, to_revision: int = 0) -> None:
    """The JSON patch `kubectl rollout undo` sends."""
    d = c.deploy()
    rss = c.rss()
    if to_revision == 0:
        revs = sorted(util.revision(rs) for rs in rss)
        to_revision = revs[-2]
    rs = next(rs for rs in rss if util.revision(rs) == to_revision)
    template = rs["spec"]["template"]
    template["metadata"]["labels"].pop("pod-template-hash")
    keep = {k: v for k, v in (d["metadata"].get("annotations") or {}).items() if k in util.ANNOTATIONS_TO_SKIP}
    ann = {**keep, **{k: v for k, v in rs["metadata"]["annotations"].items()
                      if k not in util.ANNOTATIONS_TO_SKIP}}
    c.client.patch("deployments", NS, "web", [
        {"op": "replace", "path": "/spec/template", "value": template},
        {"op": "replace", "path": "/metadata/annotations", "value": ann}], "json")


def test_undo_reuses_old_replicaset_with_next_revision():
    async def scenario():
        async with Cluster() as c:
            d = deployment(replicas=2)
            d["metadata"]["annotations"] = {"kubernetes.io/change-cause": "first"}
            c.client.create("deployments", d, NS)
            await c.complete()
            first = c.rss()[0]["metadata"]["name"]
            c.client.patch("deployments", NS, "web", {"metadata": {"annotations": {
                "kubernetes.io/change-cause": "second"}}, "spec": {"template": {"spec": {
                    "containers": [{"name": "app", "image": "nginx:1.26"}]}}}}, "strategic")
            await c.complete()
            second = c.rs_by_image("nginx:1.26")["metadata"]["name"]
            undo(c)
            await c.complete()
            by_name = {rs["metadata"]["name"]: rs for rs in c.rss()}
            assert set(by_name) == {first, second}
            ann = by_name[first]["metadata"]["annotations"]
            assert ann["deployment.kubernetes.io/revision"] == "3"
            assert ann["deployment.kubernetes.io/revision-history"] == "1"
            assert ann["kubernetes.io/change-cause"] == "first"
            assert by_name[first]["spec"]["replicas"] == 2 and by_name[second]["spec"]["replicas"] == 0
            d = c.deploy()
            assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
            assert d["metadata"]["annotations"]["kubernetes.io/change-cause"] == "first"
            assert conditions(d)["Progressing"][2] == f'ReplicaSet "{first}" has successfully progressed.'
            undo(c)  # back to the second template: revision 4, history "2"
            await c.complete()
            ann = c.client.get("replicasets", NS, second)["metadata"]["annotations"]
            assert (ann["deployment.kubernetes.io/revision"], ann["deployment.kubernetes.io/revision-history"]) \
                == ("4", "2")
            undo(c)
            await c.complete()
            ann = c.client.get("replicasets", NS, first)["metadata"]["annotations"]
            assert (ann["deployment.kubernetes.io/revision"], ann["deployment.kubernetes.io/revision-history"]) \
                == ("5", "1,3")
            assert len(c.rss()) == 2
    run(scenario())


# -- §3.10 history cleanup -------------------------------------------------------------------
def test_revision_history_limit_deletes_oldest_scaled_down_replicasets():
    async def scenario():
        async with Cluster() as c:
            c.client.create("deployments", deployment(replicas=1, revisionHistoryLimit=2), NS)
            await c.complete()
            for i in range(1, 6):
                c.set_image(f"nginx:1.{25 + i}")
                await c.complete()
            await eventually(lambda: len(c.rss()) == 3, what="cleanup")
            await steady(lambda: len(c.rss()) == 3, 0.2)
            assert sorted(util.revision(rs) for rs in c.rss()) == [4, 5, 6]
            assert [rs["spec"]["replicas"] for rs in c.rss()] == [0, 0, 1]
    run(scenario())


# -- §3.8 progress deadline ------------------------------------------------------------------
def test_progress_deadline_exceeded():
    async def scenario():
        async with Cluster({"nginx:broken"}) as c:
            c.client.create("deployments", deployment(replicas=2, progressDeadlineSeconds=2), NS)
            await c.complete()
            c.set_image("nginx:broken")
            await eventually(lambda: c.rs_by_image("nginx:broken"), what="new RS")
            new = c.rs_by_image("nginx:broken")["metadata"]["name"]
            d = await eventually(lambda: (d := c.deploy()) and conditions(d)["Progressing"][1]
                                 == "ProgressDeadlineExceeded" and d, timeout=8, what="deadline")
            assert conditions(d)["Progressing"] == (
                "False", "ProgressDeadlineExceeded", f'ReplicaSet "{new}" has timed out progressing.')
            assert conditions(d)["Available"] == (
                "True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
            # Fixing the image makes it progress again.
            c.set_image("nginx:1.26")
            await c.complete()
            fixed = c.rs_by_image("nginx:1.26")["metadata"]["name"]
            await eventually(lambda: conditions(c.deploy())["Progressing"] == (
                "True", "NewReplicaSetAvailable", f'ReplicaSet "{fixed}" has successfully progressed.'))
    run(scenario())


def test_min_ready_seconds_delays_availability():
    async def scenario():
        async with Cluster() as c:
            c.client.create("deployments", deployment(replicas=2, minReadySeconds=2), NS)
            await eventually(lambda: c.deploy()["status"].get("readyReplicas") == 2, what="ready")
            d = c.deploy()
            assert d["status"].get("availableReplicas", 0) == 0
            assert conditions(d)["Available"] == (
                "False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.")
            assert c.rss()[0]["spec"]["minReadySeconds"] == 2
            await eventually(lambda: c.deploy()["status"].get("availableReplicas") == 2, timeout=6,
                             what="available after minReadySeconds")
            assert conditions(c.deploy())["Available"][0] == "True"
    run(scenario())


def test_adopts_orphan_replicaset_and_pods():
    async def scenario():
        async with Cluster() as c:
            d = deployment(replicas=2)
            h = util.compute_hash(d["spec"]["template"], None)
            tmpl = {"metadata": {"labels": {"app": "web", "pod-template-hash": h}},
                    "spec": d["spec"]["template"]["spec"]}
            c.client.create("replicasets", {"metadata": {"name": f"web-{h}", "labels": tmpl["metadata"]["labels"]},
                                            "spec": {"replicas": 2, "template": tmpl, "selector": {
                                                "matchLabels": tmpl["metadata"]["labels"]}}}, NS)
            await eventually(lambda: len(c.pods()) == 2)
            c.client.create("deployments", d, NS)
            await c.complete()
            [rs] = c.rss()
            assert rs["metadata"]["name"] == f"web-{h}"
            assert rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
            assert c.messages(DC) == []
            await asyncio.sleep(0.1)
            assert len(c.pods()) == 2
            assert condition(c.deploy(), "Progressing")["reason"] == "NewReplicaSetAvailable"
    run(scenario())
