"""The requests rollout.* sends, checked against kubectl's (k8s-behaviour §7, surface §3)."""

from __future__ import annotations

import pytest

from helpers import rollout
from helpers.cluster import NotALabNamespace
from helpers.revisions import History, Revision, equal_ignore_hash
from tests.helpers.fakes import FakeCluster, deployment, lab_ns, replicaset

D = "/apis/apps/v1/namespaces/lab/deployments/web"
RS = "/apis/apps/v1/namespaces/lab/replicasets"


def setup(dep=None, rss=()):
    c = FakeCluster()
    lab_ns(c)
    c.add(D, dep or deployment())
    c.lists[RS] = list(rss)
    return c


def test_scale_is_one_merge_patch_of_the_scale_subresource():
    c = setup()
    step = rollout.scale("web", "lab", 4, cluster=c)
    assert c.writes == [("PATCH", D + "/scale", {"spec": {"replicas": 4}},
                         "application/merge-patch+json")]
    assert step.message == "deployment.apps/web scaled"
    assert step.command == "kubectl scale deployment/web --replicas=4 -n lab"


def test_helpers_refuse_namespaces_without_the_lab_label():
    c = setup()
    c.add("/api/v1/namespaces/prod", {"metadata": {"name": "prod"}})
    with pytest.raises(NotALabNamespace, match="rollout-labs.io/lab"):
        rollout.scale("web", "prod", 0, cluster=c)
    assert c.writes == []


def test_set_image_sends_kubectls_strategic_merge_patch():
    c = setup()
    step = rollout.set_image("web", "lab", "podinfo", "podinfo:6.7.1", cluster=c)
    method, path, body, ctype = c.writes[0]
    assert (method, path, ctype) == ("PATCH", D, "application/strategic-merge-patch+json")
    assert body == {"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "podinfo"}],
        "containers": [{"image": "podinfo:6.7.1", "name": "podinfo"}]}}}}
    assert str(step) == ("$ kubectl set image deployment/web podinfo=podinfo:6.7.1 -n lab\n"
                         "deployment.apps/web image updated")


def test_set_image_same_image_sends_and_prints_nothing():
    c = setup()
    step = rollout.set_image("web", "lab", "podinfo", "podinfo:6.7.0", cluster=c)
    assert c.writes == [] and step.message == ""


def test_set_image_unknown_container_is_kubectls_error():
    c = setup()
    with pytest.raises(rollout.RolloutError, match='^unable to find container named "nginx"$'):
        rollout.set_image("web", "lab", "nginx", "nginx:1", cluster=c)


def test_set_image_with_change_cause_annotates():
    c = setup()
    step = rollout.set_image("web", "lab", "*", "podinfo:6.7.1", change_cause="v2", cluster=c)
    body = c.writes[0][2]
    assert body["metadata"] == {"annotations": {"kubernetes.io/change-cause": "v2"}}
    assert "kubectl annotate deployment/web kubernetes.io/change-cause=v2" in str(step)


def test_pause_and_resume_messages_and_errors():
    c = setup()
    assert rollout.pause("web", "lab", cluster=c).message == "deployment.apps/web paused"
    assert c.writes[-1][2] == {"spec": {"paused": True}}
    with pytest.raises(rollout.RolloutError, match='^deployments.apps "web" is not paused$'):
        rollout.resume("web", "lab", cluster=c)  # the fake did not apply the patch
    c.add(D, deployment(paused=True))
    assert rollout.resume("web", "lab", cluster=c).message == "deployment.apps/web resumed"
    assert c.writes[-1][2] == {"spec": {"paused": None}}
    with pytest.raises(rollout.RolloutError, match="is already paused"):
        rollout.pause("web", "lab", cluster=c)


def three_revisions():
    return [replicaset("web-1", "podinfo:6.6.0", 1, h="h1", change_cause="first"),
            replicaset("web-2", "podinfo:6.7.0", 2, h="h2"),
            replicaset("web-3", "podinfo:9.9.9", 3, h="h3", change_cause="bad"),
            replicaset("other", "x", 7, owner="someone-else")]


def test_undo_picks_second_highest_revision_and_sends_kubectls_json_patch():
    dep = deployment(image="podinfo:9.9.9", revision=3, annotations={
        "kubernetes.io/change-cause": "bad", "kubectl.kubernetes.io/last-applied-configuration":
        "{}", "deployment.kubernetes.io/desired-replicas": "3"})
    c = setup(dep, three_revisions())
    step = rollout.undo("web", "lab", cluster=c)
    assert step.message == "deployment.apps/web rolled back"
    method, path, body, ctype = c.writes[0]
    assert (method, path, ctype) == ("PATCH", D, "application/json-patch+json")
    assert body[0] == {"op": "replace", "path": "/spec/template", "value": {
        "metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [{"name": "podinfo", "image": "podinfo:6.7.0"}]}}}
    # the Deployment's own skip-list annotations stay; the RS's others come back; the old
    # change-cause is dropped because revision 2 had none
    assert body[1] == {"op": "replace", "path": "/metadata/annotations", "value": {
        "deployment.kubernetes.io/revision": "3",
        "kubectl.kubernetes.io/last-applied-configuration": "{}",
        "deployment.kubernetes.io/desired-replicas": "3"}}


def test_undo_to_revision_and_its_errors():
    dep = deployment(image="podinfo:9.9.9", revision=3)
    c = setup(dep, three_revisions())
    rollout.undo("web", "lab", to_revision=1, cluster=c)
    assert c.writes[0][2][0]["value"]["spec"]["containers"][0]["image"] == "podinfo:6.6.0"
    assert c.writes[0][2][1]["value"]["kubernetes.io/change-cause"] == "first"
    with pytest.raises(rollout.RolloutError,
                       match="^unable to find specified revision 5 in history$"):
        rollout.undo("web", "lab", to_revision=5, cluster=c)
    with pytest.raises(rollout.RolloutError, match="specified revision -1"):
        rollout.undo("web", "lab", to_revision=-1, cluster=c)


def test_undo_skips_when_template_matches_and_refuses_paused():
    dep = deployment(image="podinfo:6.7.0", revision=3)
    c = setup(dep, three_revisions())
    step = rollout.undo("web", "lab", to_revision=2, cluster=c)
    assert step.message == ("deployment.apps/web skipped rollback (current template already "
                            "matches revision 2)")
    assert c.writes == []
    c.add(D, deployment(image="podinfo:9.9.9", paused=True))
    with pytest.raises(rollout.RolloutError, match="you cannot rollback a paused deployment; "
                       "resume it first with 'kubectl rollout resume deployment/web'"):
        rollout.undo("web", "lab", cluster=c)


def test_undo_without_history():
    c = setup(deployment(), [replicaset("web-1", "podinfo:6.7.0", 1)])
    with pytest.raises(rollout.RolloutError,
                       match='^no rollout history found for deployment "web"$'):
        rollout.undo("web", "lab", cluster=c)


def test_history_lists_owned_replicasets_with_kubectls_table():
    c = setup(deployment(), three_revisions())
    h = rollout.history("web", "lab", cluster=c)
    assert [(r.revision, r.change_cause, r.image) for r in h] == [
        (1, "first", "podinfo:6.6.0"), (2, None, "podinfo:6.7.0"), (3, "bad", "podinfo:9.9.9")]
    assert h.table == ("deployment.apps/web \nREVISION  CHANGE-CAUSE\n1         first\n"
                       "2         <none>\n3         bad\n\n")


def test_history_table_edge_cases():
    assert History([], "deployment.apps/web", []).table == "No rollout history found.\n"
    sts = History([Revision(1, None, "db-1", "x"), Revision(12, None, "db-2", "y")],
                  "statefulset.apps/db", [], show_cause=False)
    assert sts.table == "statefulset.apps/db \nREVISION\n1\n12\n\n"


def test_equal_ignore_hash_treats_null_and_empty_alike():
    a = {"metadata": {"labels": {"app": "w", "pod-template-hash": "1"}, "creationTimestamp": None},
         "spec": {"containers": [{"name": "c", "image": "i", "env": []}]}}
    b = {"metadata": {"labels": {"app": "w"}}, "spec": {"containers": [{"name": "c",
                                                                        "image": "i"}]}}
    assert equal_ignore_hash(a, b)
    b["spec"]["containers"][0]["image"] = "j"
    assert not equal_ignore_hash(a, b)


def test_switch_service_replaces_the_selector_with_a_merge_patch():
    c = setup()
    svc = "/api/v1/namespaces/lab/services/web"
    c.add(svc, {"metadata": {"name": "web", "resourceVersion": "5"},
                "spec": {"selector": {"app": "web", "color": "blue", "tier": "x"}}})
    step = rollout.switch_service("web", "lab", {"app": "web", "color": "green"}, cluster=c)
    assert c.writes[0][2] == {"spec": {"selector": {"tier": None, "app": "web",
                                                    "color": "green"}}}
    assert c.writes[0][3] == "application/merge-patch+json"
    assert step.message == "service/web patched"
    assert step.argv[:3] == ["patch", "service", "web"]
