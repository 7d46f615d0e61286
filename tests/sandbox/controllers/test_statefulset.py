"""StatefulSet controller scenarios (k8s-behaviour §9), in process with a fake kubelet."""

from __future__ import annotations

import asyncio

from helpers.sandbox.client import Client
from helpers.sandbox.controllers.statefulset import StatefulSetController
from helpers.sandbox.objects import is_pod_ready

from .conftest import FakeKubelet, control_plane, eventually, fast_config, mark_ready, settle

NS = "demo"
IMAGE_1 = "ghcr.io/stefanprodan/podinfo:6.9.0"
IMAGE_2 = "ghcr.io/stefanprodan/podinfo:6.9.1"


def sts_body(name: str = "web", replicas: int = 3, image: str = IMAGE_1, **spec) -> dict:
    return {
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "replicas": replicas,
            "serviceName": name,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                         "spec": {"containers": [{"name": "app", "image": image}]}},
            **spec,
        },
    }


def pods_of(client: Client, name: str = "web") -> dict[str, dict]:
    return {p["metadata"]["name"]: p for p in client.list("pods", NS, label_selector=f"app={name}")}


def set_image(client: Client, image: str, name: str = "web") -> dict:
    return client.patch("statefulsets", NS, name, {"spec": {"template": {"spec": {
        "containers": [{"name": "app", "image": image}]}}}}, "strategic")


def revisions(client: Client, name: str = "web") -> list[dict]:
    return sorted((r for r in client.list("controllerrevisions", NS)
                   if r["metadata"]["name"].startswith(name + "-")),
                  key=lambda r: r["revision"])


def events(client: Client, reason: str) -> list[str]:
    return [e["message"] for e in client.list("events", NS) if e["reason"] == reason]


def run(scenario) -> None:
    asyncio.run(asyncio.wait_for(scenario(), 30))


async def _start(auto: bool = True) -> tuple[Client, StatefulSetController, FakeKubelet]:
    client = control_plane(NS)
    ctrl = StatefulSetController(client, fast_config())
    ctrl.start()
    kubelet = FakeKubelet(client, NS, auto=auto)
    kubelet.start()
    return client, ctrl, kubelet


async def _rolled_out(client: Client, replicas: int, name: str = "web") -> dict:
    def done():
        sts = client.get("statefulsets", NS, name)
        st = sts.get("status") or {}
        return st if (st.get("observedGeneration") == sts["metadata"]["generation"]
                      and st.get("readyReplicas") == replicas and st.get("updatedReplicas") == replicas
                      and st.get("currentRevision") == st.get("updateRevision")) else None
    return await eventually(done, what=f"statefulset {name} rolled out")


def test_ordered_start_waits_for_each_pod_to_be_ready():
    async def scenario():
        client, ctrl, kubelet = await _start(auto=False)
        client.create("statefulsets", sts_body(replicas=3), NS)
        for i in range(3):
            await eventually(lambda i=i: f"web-{i}" in pods_of(client), what=f"web-{i}")
            await settle(0.05)
            # Nothing beyond this ordinal while it is not Running and Ready.
            assert sorted(pods_of(client)) == [f"web-{j}" for j in range(i + 1)]
            mark_ready(client, NS, f"web-{i}", started_ago=0)
        await _rolled_out(client, 3)
        pod = pods_of(client)["web-1"]
        rev = revisions(client)[0]["metadata"]["name"]
        assert pod["metadata"]["labels"] == {
            "app": "web", "controller-revision-hash": rev,
            "statefulset.kubernetes.io/pod-name": "web-1", "apps.kubernetes.io/pod-index": "1"}
        assert pod["spec"]["hostname"] == "web-1" and pod["spec"]["subdomain"] == "web"
        owner = pod["metadata"]["ownerReferences"][0]
        assert (owner["kind"], owner["name"], owner["controller"]) == ("StatefulSet", "web", True)
        assert events(client, "SuccessfulCreate") == [
            f"create Pod web-{i} in StatefulSet web successful" for i in range(3)]
        sts = client.get("statefulsets", NS, "web")
        assert sts["status"]["currentRevision"] == sts["status"]["updateRevision"] == rev
        assert sts["status"]["observedGeneration"] == 1
        assert sts["status"]["availableReplicas"] == 3
        assert sts["status"]["collisionCount"] == 0
        # Revision names use the pod-template-hash alphabet.
        suffix = rev.removeprefix("web-")
        assert set(suffix) <= set("bcdfghjklmnpqrstvwxz2456789")
        await kubelet.stop()
        await ctrl.stop()
    run(scenario)


def test_scale_down_removes_highest_ordinal_first():
    async def scenario():
        client, ctrl, kubelet = await _start()
        client.create("statefulsets", sts_body(replicas=4), NS)
        await _rolled_out(client, 4)
        deleted: list[str] = []
        client.on_change({"pods"}, lambda ev: ev.type == "DELETED" and deleted.append(
            ev.object["metadata"]["name"]))
        client.patch("statefulsets", NS, "web", {"spec": {"replicas": 1}})
        await eventually(lambda: sorted(pods_of(client)) == ["web-0"], what="scaled to 1")
        assert deleted == ["web-3", "web-2", "web-1"]
        assert events(client, "SuccessfulDelete") == [
            f"delete Pod web-{i} in StatefulSet web successful" for i in (3, 2, 1)]
        await kubelet.stop()
        await ctrl.stop()
    run(scenario)


def test_rolling_update_replaces_pods_in_reverse_ordinal_order_one_at_a_time():
    async def scenario():
        client, ctrl, kubelet = await _start()
        client.create("statefulsets", sts_body(replicas=3), NS)
        first = (await _rolled_out(client, 3))["currentRevision"]
        order: list[str] = []
        min_ready = [3]

        def watch(ev):
            if ev.type == "DELETED":
                order.append(ev.object["metadata"]["name"])
            ready = sum(1 for p in client.scan("pods", NS) if is_pod_ready(p))
            min_ready[0] = min(min_ready[0], ready)

        client.on_change({"pods"}, watch)
        set_image(client, IMAGE_2)
        status = await _rolled_out(client, 3)
        assert order == ["web-2", "web-1", "web-0"]
        assert min_ready[0] == 2  # never more than one pod down
        assert status["currentRevision"] == status["updateRevision"] != first
        assert status["currentReplicas"] == status["updatedReplicas"] == 3
        for pod in pods_of(client).values():
            assert pod["spec"]["containers"][0]["image"] == IMAGE_2
            assert pod["metadata"]["labels"]["controller-revision-hash"] == status["updateRevision"]
        assert [r["revision"] for r in revisions(client)] == [1, 2]
        await kubelet.stop()
        await ctrl.stop()
    run(scenario)


def test_partition_keeps_lower_ordinals_on_the_current_revision():
    async def scenario():
        client, ctrl, kubelet = await _start()
        body = sts_body(replicas=3, updateStrategy={"type": "RollingUpdate",
                                                    "rollingUpdate": {"partition": 2}})
        client.create("statefulsets", body, NS)
        first = (await _rolled_out(client, 3))["currentRevision"]
        set_image(client, IMAGE_2)

        def canary():
            st = client.get("statefulsets", NS, "web").get("status") or {}
            return st if st.get("updatedReplicas") == 1 and st.get("readyReplicas") == 3 else None
        status = await eventually(canary, what="canary web-2 updated")
        await settle(0.1)
        images = {n: p["spec"]["containers"][0]["image"] for n, p in pods_of(client).items()}
        assert images == {"web-0": IMAGE_1, "web-1": IMAGE_1, "web-2": IMAGE_2}
        assert status["currentRevision"] == first != status["updateRevision"]
        assert status["currentReplicas"] == 2
        # A deleted pod below the partition comes back at the current revision.
        client.delete("pods", NS, "web-0")
        await eventually(lambda: is_pod_ready(pods_of(client).get("web-0", {})), what="web-0 back")
        assert pods_of(client)["web-0"]["spec"]["containers"][0]["image"] == IMAGE_1
        # Lowering the partition finishes the rollout.
        client.patch("statefulsets", NS, "web", {"spec": {"updateStrategy": {
            "rollingUpdate": {"partition": 0}}}}, "strategic")
        status = await _rolled_out(client, 3)
        assert status["currentRevision"] == status["updateRevision"]
        await kubelet.stop()
        await ctrl.stop()
    run(scenario)


def test_on_delete_replaces_only_pods_you_delete_at_the_update_revision():
    async def scenario():
        client, ctrl, kubelet = await _start()
        client.create("statefulsets", sts_body(replicas=2, updateStrategy={"type": "OnDelete"}), NS)
        await eventually(lambda: (client.get("statefulsets", NS, "web").get("status") or {})
                         .get("readyReplicas") == 2, what="2 ready")
        set_image(client, IMAGE_2)
        await settle(0.2)
        assert {p["spec"]["containers"][0]["image"] for p in pods_of(client).values()} == {IMAGE_1}
        st = client.get("statefulsets", NS, "web")["status"]
        assert st["currentRevision"] != st["updateRevision"]
        assert "updatedReplicas" not in st
        client.delete("pods", NS, "web-1")
        await eventually(lambda: is_pod_ready(pods_of(client).get("web-1", {})), what="web-1 back")
        pods = pods_of(client)
        assert pods["web-1"]["spec"]["containers"][0]["image"] == IMAGE_2
        assert pods["web-0"]["spec"]["containers"][0]["image"] == IMAGE_1
        assert pods["web-1"]["metadata"]["labels"]["controller-revision-hash"] == st["updateRevision"]
        await eventually(lambda: client.get("statefulsets", NS, "web")["status"].get(
            "updatedReplicas") == 1, what="status counts the updated pod")
        await kubelet.stop()
        await ctrl.stop()
    run(scenario)


def test_undo_reuses_the_old_revision_and_renumbers_it():
    async def scenario():
        client, ctrl, kubelet = await _start()
        client.create("statefulsets", sts_body(replicas=2), NS)
        await _rolled_out(client, 2)
        set_image(client, IMAGE_2)
        await _rolled_out(client, 2)
        revs = revisions(client)
        assert [r["revision"] for r in revs] == [1, 2]
        first_name = revs[0]["metadata"]["name"]
        # What `kubectl rollout undo statefulset/web` sends: the old revision's data.
        client.patch("statefulsets", NS, "web", revs[0]["data"], "strategic")
        status = await _rolled_out(client, 2)
        revs = revisions(client)
        assert [(r["metadata"]["name"], r["revision"]) for r in revs] == [
            (revs[0]["metadata"]["name"], 2), (first_name, 3)]
        assert status["updateRevision"] == first_name
        assert {p["spec"]["containers"][0]["image"] for p in pods_of(client).values()} == {IMAGE_1}
        await kubelet.stop()
        await ctrl.stop()
    run(scenario)


def test_volume_claim_templates_create_one_claim_per_pod():
    async def scenario():
        client, ctrl, kubelet = await _start()
        body = sts_body(replicas=2, volumeClaimTemplates=[{
            "metadata": {"name": "data"},
            "spec": {"accessModes": ["ReadWriteOnce"],
                     "resources": {"requests": {"storage": "1Gi"}}}}])
        client.create("statefulsets", body, NS)
        await _rolled_out(client, 2)
        claims = {c["metadata"]["name"]: c for c in client.list("persistentvolumeclaims", NS)}
        assert sorted(claims) == ["data-web-0", "data-web-1"]
        assert claims["data-web-0"]["metadata"]["labels"] == {"app": "web"}
        assert claims["data-web-0"]["spec"]["resources"]["requests"]["storage"] == "1Gi"
        vols = pods_of(client)["web-1"]["spec"]["volumes"]
        assert {"name": "data", "persistentVolumeClaim": {"claimName": "data-web-1"}} in vols
        assert "create Claim data-web-0 Pod web-0 in StatefulSet web success" in events(
            client, "SuccessfulCreate")
        # Claims outlive their pods (whenScaled: Retain).
        client.patch("statefulsets", NS, "web", {"spec": {"replicas": 1}})
        await eventually(lambda: sorted(pods_of(client)) == ["web-0"], what="scaled to 1")
        assert len(client.list("persistentvolumeclaims", NS)) == 2
        await kubelet.stop()
        await ctrl.stop()
    run(scenario)


def test_revision_history_limit_deletes_the_oldest_unused_revisions():
    async def scenario():
        client, ctrl, kubelet = await _start()
        client.create("statefulsets", sts_body(replicas=1, revisionHistoryLimit=2), NS)
        await _rolled_out(client, 1)
        for tag in ("6.9.1", "6.9.2", "6.9.3", "6.9.4", "6.10.0"):
            set_image(client, f"ghcr.io/stefanprodan/podinfo:{tag}")
            await _rolled_out(client, 1)
            await eventually(lambda tag=tag: pods_of(client)["web-0"]["spec"]["containers"][0]["image"]
                             .endswith(tag), what=tag)
        await settle(0.1)
        revs = revisions(client)
        # The live revision plus at most `revisionHistoryLimit` older ones, newest kept.
        assert [r["revision"] for r in revs] == [4, 5, 6]
        current = client.get("statefulsets", NS, "web")["status"]["currentRevision"]
        assert revs[-1]["metadata"]["name"] == current
        await kubelet.stop()
        await ctrl.stop()
    run(scenario)
