"""The helpers against a real sandbox, through the public API only.

One Deployment's life, step by step as the labs take it; before each step the matching
check must fail (the step has not happened), after it the check must pass.
"""

from __future__ import annotations

import time

import pytest

from helpers import checks, rollout
from helpers import cluster as cl
from helpers.kubectl import kubectl
from helpers.pods import pods
from helpers.traffic import Probe, fetch_once
from tests.helpers.manifests import PODINFO, podinfo

pytestmark = pytest.mark.slow

V1, V2, BAD = f"{PODINFO}:6.7.0", f"{PODINFO}:6.7.1", f"{PODINFO}:0.0.0-missing"


def test_namespaces_are_labelled_and_others_refused(lab_cluster):
    name = cl.lab_namespace("t", "h-labelled", cluster=lab_cluster)
    try:
        checks.check_namespace(name)
        uid = lab_cluster.get(f"/api/v1/namespaces/{name}")["metadata"]["uid"]
        assert cl.lab_namespace("t", name) == name  # idempotent
        assert cl.lab_namespace("t", name, fresh=True) == name
        assert lab_cluster.get(f"/api/v1/namespaces/{name}")["metadata"]["uid"] != uid
        lab_cluster.request("POST", "/api/v1/namespaces",
                            body={"metadata": {"name": "h-foreign"}})
        with pytest.raises(cl.NotALabNamespace):
            rollout.apply(podinfo(), "h-foreign")
        with pytest.raises(cl.NotALabNamespace):
            cl.lab_namespace("t", "h-foreign")
        with pytest.raises(AssertionError, match="no rollout-labs.io/lab label"):
            checks.check_namespace("h-foreign")
        with pytest.raises(cl.NotALabNamespace):
            cl.delete_lab_namespace("h-foreign")
    finally:
        lab_cluster.request("DELETE", "/api/v1/namespaces/h-foreign")
        cl.delete_lab_namespace(name, wait=True)
    checks.check_namespace_deleted(name, wait=0)


def test_kubectl_reaches_the_chosen_cluster(lab_cluster, ns):
    res = kubectl("get", "namespace", ns, "-o", "name")
    assert res.stdout.strip() == f"namespace/{ns}"
    checks.check_cluster()
    checks.check_preflight(metrics=True)


def test_deploy_roll_out_roll_back(lab_cluster, ns, capsys):
    # lab 01: deploy
    with pytest.raises(AssertionError, match="no deployment 'web'"):
        checks.check_deployment_ready(ns, "web", wait=0)
    with pytest.raises(AssertionError, match="no service 'web'"):
        checks.check_service(ns, "web", wait=0)
    step = rollout.apply(podinfo(history_limit=3), ns)
    assert step.data == ["deployment.apps/web created", "service/web created"]
    assert step.command == f"kubectl apply -n {ns} -f -"
    status = rollout.wait_for_rollout("web", ns, timeout=90)
    assert status.done and status.message == 'deployment "web" successfully rolled out'
    assert capsys.readouterr().out.rstrip().endswith('deployment "web" successfully rolled out')
    checks.check_deployment_ready(ns, "web", 3, image=V1)
    checks.check_service(ns, "web", min_endpoints=3)
    checks.check_app_responds(ns, "web", version="6.7.0")
    again = rollout.apply(podinfo(history_limit=3), ns)
    assert again.data == ["deployment.apps/web unchanged", "service/web unchanged"]
    assert rollout.rollout_status("web", ns) == ('deployment "web" successfully rolled out', True)

    # both routes of the probe reach the app
    assert fetch_once("web", ns, via="proxy").version == "6.7.0"
    assert fetch_once("web", ns, via="nodeport").ok

    # lab 04: roll out under traffic, zero failures over >= 1000 requests
    with pytest.raises(AssertionError, match="runs .*6.7.0, not .*6.7.1"):
        checks.check_image(ns, "web", V2, wait=0)
    with pytest.raises(AssertionError, match="at least 2"):
        checks.check_history(ns, "web")
    probe = Probe("web", ns, rate=100).start()
    try:
        probe.wait_for(200, timeout=30)
        step = rollout.set_image("web", ns, "podinfo", V2, change_cause="upgrade to 6.7.1")
        assert "deployment.apps/web image updated" in step.message
        rollout.wait_for_rollout("web", ns, timeout=120)
        probe.wait_for(1000, timeout=60)
    finally:
        summary = probe.stop()
    assert "NodePort" in summary.route
    checks.check_zero_downtime(summary, min_requests=1000)
    assert set(summary.versions) == {"6.7.0", "6.7.1"}
    checks.check_image(ns, "web", V2)
    checks.check_history(ns, "web", min_revisions=2)
    checks.check_change_cause(ns, "web", "6.7.1")
    assert [(r.revision, r.change_cause) for r in rollout.history("web", ns)] == [
        (1, None), (2, "upgrade to 6.7.1")]
    kubectl_history = kubectl("rollout", "history", "deployment/web", "-n", ns).stdout
    assert kubectl_history == rollout.history("web", ns).table

    # lab 05: a bad release is stuck, old pods keep serving, the wait is time-boxed
    with pytest.raises(AssertionError, match="newest revision is failing"):
        checks.check_rollout_stuck(ns, "web", wait=0)
    rollout.set_image("web", ns, "podinfo", BAD, change_cause="bad release")
    started = time.monotonic()
    with pytest.raises(rollout.RolloutStuck) as stuck:
        rollout.wait_for_rollout("web", ns, timeout=120, stuck_grace=5, quiet=True)
    assert time.monotonic() - started < 45
    assert "ErrImagePull" in str(stuck.value) or "ImagePullBackOff" in str(stuck.value)
    assert "rollout undo deployment/web" in str(stuck.value)
    checks.check_rollout_stuck(ns, "web")
    checks.check_app_responds(ns, "web", version="6.7.1")
    with pytest.raises(AssertionError):
        checks.check_rolled_back_to(ns, "web", V2, wait=0)

    step = rollout.undo("web", ns)
    assert step.message == "deployment.apps/web rolled back"
    rollout.wait_for_rollout("web", ns, timeout=90, quiet=True)
    checks.check_rolled_back_to(ns, "web", V2, revision=4)
    assert [r.revision for r in rollout.history("web", ns)] == [1, 3, 4]

    step = rollout.undo("web", ns, to_revision=1)
    rollout.wait_for_rollout("web", ns, timeout=90, quiet=True)
    checks.check_rolled_back_to(ns, "web", V1, revision=5)
    assert rollout.undo("web", ns, to_revision=5).message.endswith(
        "skipped rollback (current template already matches revision 5)")
    with pytest.raises(rollout.RolloutError, match="unable to find specified revision 2"):
        rollout.undo("web", ns, to_revision=2)
    checks.check_history_limit(ns, "web", 3)

    # pause / resume (lab 04)
    with pytest.raises(AssertionError, match="is not paused"):
        checks.check_paused(ns, "web")
    assert rollout.pause("web", ns).message == "deployment.apps/web paused"
    checks.check_paused(ns, "web")
    with pytest.raises(rollout.RolloutError, match="already paused"):
        rollout.pause("web", ns)
    with pytest.raises(rollout.RolloutError, match="cannot rollback a paused deployment"):
        rollout.undo("web", ns)
    rollout.set_image("web", ns, "podinfo", V2)
    time.sleep(2)
    assert all(p.image == V1 for p in pods(ns, "app=web") if not p.deleting)  # paused: no change
    assert rollout.resume("web", ns).message == "deployment.apps/web resumed"
    rollout.wait_for_rollout("web", ns, timeout=90, quiet=True)
    checks.check_image(ns, "web", V2)


def test_scale_self_heal_restart(lab_cluster, ns):
    rollout.apply(podinfo(replicas=2), ns)
    rollout.wait_for_rollout("web", ns, timeout=90, quiet=True)

    # lab 03: scale
    with pytest.raises(AssertionError, match="wants 2 replicas, not 4"):
        checks.check_deployment_ready(ns, "web", 4, wait=0)
    assert str(rollout.scale("web", ns, 4)).endswith("deployment.apps/web scaled")
    checks.check_deployment_ready(ns, "web", 4, wait=60)
    sizes = rollout.rs_sizes("web", ns)
    assert len(sizes) == 1 and sizes[0].desired == 4 and sizes[0].ready == 4
    rollout.scale("web", ns, 2)
    checks.check_deployment_ready(ns, "web", 2, wait=60)

    # lab 02: self-heal
    victim = next(p.name for p in pods(ns, "app=web") if not p.deleting)
    with pytest.raises(AssertionError, match="still exists"):
        checks.check_self_healed(ns, "web", victim, wait=0)
    kubectl("delete", "pod", victim, "-n", ns, "--wait=false")
    checks.check_self_healed(ns, "web", victim, wait=60)
    assert victim not in {p.name for p in pods(ns, "app=web") if not p.deleting}

    # restart makes a new revision
    assert rollout.restart("web", ns).message == "deployment.apps/web restarted"
    rollout.wait_for_rollout("web", ns, timeout=90, quiet=True)
    assert [r.revision for r in rollout.history("web", ns)] == [1, 2]


def test_blue_green_switch_under_traffic(lab_cluster, ns):
    blue = {"app": "web", "color": "blue"}
    green = {"app": "web", "color": "green"}
    rollout.apply(podinfo("blue", labels=blue, node_port=False, replicas=2), ns)
    rollout.apply(podinfo("green", tag="6.7.1", labels=green, node_port=False, replicas=2), ns)
    rollout.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                   "spec": {"type": "NodePort", "selector": blue,
                            "ports": [{"port": 80, "targetPort": 9898}]}}, ns)
    for name in ("blue", "green"):
        rollout.wait_for_rollout(name, ns, timeout=90, quiet=True)
    checks.check_service_selects(ns, "web", blue)
    with pytest.raises(AssertionError, match="selects"):
        checks.check_service_selects(ns, "web", green)
    probe = Probe("web", ns, rate=80).start()
    try:
        probe.wait_for(300, timeout=30)
        switched_at = probe.now()
        step = rollout.switch_service("web", ns, green)
        assert step.message == "service/web patched"
        time.sleep(5)
    finally:
        summary = probe.stop()
    checks.check_zero_downtime(summary, min_requests=500)
    checks.check_service_selects(ns, "web", green)
    checks.check_traffic_version(probe.summary(since=switched_at + 3), "6.7.1")
    with pytest.raises(AssertionError):
        checks.check_traffic_version(probe.summary(until=switched_at), "6.7.1", min_share=0.5)
    with pytest.raises(AssertionError, match="still exists"):
        checks.check_deleted(ns, "deployment", "blue", wait=0)
    kubectl("delete", "deployment", "blue", "-n", ns)
    checks.check_deleted(ns, "deployment", "blue")


@pytest.mark.parametrize(("via", "route"), [("nodeport", "NodePort"), ("proxy", "service proxy")])
def test_probe_spreads_requests_over_all_pods(lab_cluster, ns, via, route):
    rollout.apply(podinfo(replicas=3), ns)
    rollout.wait_for_rollout("web", ns, timeout=90, quiet=True)
    probe = Probe("web", ns, rate=50, via=via).start()
    try:
        probe.wait_for(150, timeout=30)
    finally:
        summary = probe.stop()
    assert route in summary.route
    assert summary.failures == 0, summary
    assert summary.versions.keys() == {"6.7.0"}
    assert len(summary.pods) == 3, summary.pods  # a new connection per request
