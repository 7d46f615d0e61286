"""Defaults must match what `kubectl get -o yaml` shows on a real 1.30-1.33 cluster."""

from __future__ import annotations

import copy

import pytest

from helpers.sandbox.apiserver.defaults import (
    apply_defaults,
    image_tag,
    job_generate_selector,
    pod_admission_defaults,
)


def _deploy(**spec) -> dict:
    base = {"selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                         "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]}}}
    return {"metadata": {"name": "web", "namespace": "default"}, "spec": {**base, **spec}}


def test_deployment_defaults():
    d = _deploy()
    apply_defaults("deployments", d)
    spec = d["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "RollingUpdate",
                                "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
    assert spec["revisionHistoryLimit"] == 10
    assert spec["progressDeadlineSeconds"] == 600
    assert "minReadySeconds" not in spec and "paused" not in spec
    pod = spec["template"]["spec"]
    assert pod == {
        "containers": [{"name": "web", "image": "nginx:1.25", "imagePullPolicy": "IfNotPresent",
                        "terminationMessagePath": "/dev/termination-log",
                        "terminationMessagePolicy": "File", "resources": {}}],
        "dnsPolicy": "ClusterFirst", "restartPolicy": "Always", "securityContext": {},
        "terminationGracePeriodSeconds": 30, "schedulerName": "default-scheduler"}
    assert "enableServiceLinks" not in pod  # Pod-only default


def test_deployment_recreate_gets_no_rolling_block_and_keeps_user_values():
    d = _deploy(strategy={"type": "Recreate"}, replicas=0)
    apply_defaults("deployments", d)
    assert d["spec"]["strategy"] == {"type": "Recreate"}
    assert d["spec"]["replicas"] == 0
    d = _deploy(strategy={"rollingUpdate": {"maxSurge": 1}})
    apply_defaults("deployments", d)
    assert d["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": "25%"}


def test_defaults_are_idempotent():
    for key, obj in (("deployments", _deploy()), ("services", {"spec": {"ports": [{"port": 80}]}}),
                     ("horizontalpodautoscalers", {"spec": {"behavior": {}}})):
        apply_defaults(key, obj)
        once = copy.deepcopy(obj)
        apply_defaults(key, obj)
        assert obj == once


@pytest.mark.parametrize(("image", "policy"), [
    ("nginx", "Always"), ("nginx:latest", "Always"), ("nginx:1.25", "IfNotPresent"),
    ("localhost:5000/nginx", "Always"), ("registry.k8s.io/pause:3.9", "IfNotPresent"),
    ("busybox@sha256:" + "a" * 64, "IfNotPresent"), ("busybox:latest@sha256:" + "a" * 64, "Always"),
    ("Nginx", "IfNotPresent"),
])
def test_image_pull_policy_from_tag(image, policy):
    pod = {"spec": {"containers": [{"name": "c", "image": image}]}}
    apply_defaults("pods", pod)
    assert pod["spec"]["containers"][0]["imagePullPolicy"] == policy


def test_image_tag_parsing():
    assert image_tag("nginx") == "latest"
    assert image_tag("nginx@sha256:" + "0" * 64) == ""
    assert image_tag("") is None


def test_pod_only_defaults_probes_and_volumes():
    pod = {"spec": {"hostNetwork": True, "containers": [{
        "name": "c", "image": "app:1", "ports": [{"containerPort": 8080}],
        "resources": {"limits": {"cpu": "500m", "memory": "64Mi"}, "requests": {"cpu": "100m"}},
        "livenessProbe": {"httpGet": {"port": 8080}}, "readinessProbe": {"tcpSocket": {"port": 8080}},
        "env": [{"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}]}],
        "volumes": [{"name": "scratch"}, {"name": "cfg", "configMap": {"name": "cfg"}}]}}
    apply_defaults("pods", pod)
    spec = pod["spec"]
    c = spec["containers"][0]
    assert spec["enableServiceLinks"] is True
    assert c["resources"]["requests"] == {"cpu": "100m", "memory": "64Mi"}
    assert c["ports"] == [{"containerPort": 8080, "protocol": "TCP", "hostPort": 8080}]
    assert c["livenessProbe"] == {"httpGet": {"port": 8080, "path": "/", "scheme": "HTTP"},
                                  "timeoutSeconds": 1, "periodSeconds": 10,
                                  "successThreshold": 1, "failureThreshold": 3}
    assert "initialDelaySeconds" not in c["readinessProbe"]
    assert c["env"][0]["valueFrom"]["fieldRef"]["apiVersion"] == "v1"
    assert spec["volumes"] == [{"name": "scratch", "emptyDir": {}},
                               {"name": "cfg", "configMap": {"name": "cfg", "defaultMode": 420}}]


def test_pod_admission_defaults():
    pod = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "x"}]}}
    apply_defaults("pods", pod)
    pod_admission_defaults(pod, lambda: "x2kq9")
    spec = pod["spec"]
    assert spec["serviceAccountName"] == spec["serviceAccount"] == "default"
    assert spec["volumes"][-1]["name"] == "kube-api-access-x2kq9"
    assert spec["volumes"][-1]["projected"]["sources"][0] == {
        "serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}}
    assert spec["containers"][0]["volumeMounts"] == [{
        "name": "kube-api-access-x2kq9", "readOnly": True,
        "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}]
    assert spec["tolerations"] == [
        {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
         "tolerationSeconds": 300},
        {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
         "tolerationSeconds": 300}]
    assert spec["priority"] == 0 and spec["preemptionPolicy"] == "PreemptLowerPriority"
    before = copy.deepcopy(pod)
    pod_admission_defaults(pod, lambda: "other")
    assert pod == before


def test_statefulset_update_strategy_subtlety():
    sts = {"spec": {"template": {"spec": {"containers": []}}}}
    apply_defaults("statefulsets", sts)
    assert sts["spec"]["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    assert sts["spec"]["podManagementPolicy"] == "OrderedReady"
    assert sts["spec"]["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain",
                                                                   "whenScaled": "Retain"}
    assert (sts["spec"]["replicas"], sts["spec"]["revisionHistoryLimit"]) == (1, 10)
    explicit = {"spec": {"updateStrategy": {"type": "RollingUpdate"},
                         "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {}}]}}
    apply_defaults("statefulsets", explicit)
    assert explicit["spec"]["updateStrategy"] == {"type": "RollingUpdate"}  # block stays nil
    assert explicit["spec"]["volumeClaimTemplates"][0]["spec"]["volumeMode"] == "Filesystem"
    assert explicit["spec"]["volumeClaimTemplates"][0]["status"] == {"phase": "Pending"}


def test_job_defaults_and_selector():
    job = {"metadata": {"name": "pi"}, "spec": {"template": {"spec": {
        "restartPolicy": "Never", "containers": [{"name": "pi", "image": "busybox"}]}}}}
    apply_defaults("jobs", job)
    spec = job["spec"]
    assert (spec["completions"], spec["parallelism"], spec["backoffLimit"]) == (1, 1, 6)
    assert spec["completionMode"] == "NonIndexed" and spec["suspend"] is False
    assert spec["podReplacementPolicy"] == "TerminatingOrFailed"
    assert spec["template"]["spec"]["restartPolicy"] == "Never"
    assert "selector" not in spec  # needs the uid
    job["metadata"]["uid"] = "u-1"
    job_generate_selector(job)
    assert spec["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": "u-1"}}
    assert spec["template"]["metadata"]["labels"] == {
        "job-name": "pi", "batch.kubernetes.io/job-name": "pi",
        "controller-uid": "u-1", "batch.kubernetes.io/controller-uid": "u-1"}
    assert job["metadata"]["labels"] == spec["template"]["metadata"]["labels"]
    parallel = {"spec": {"parallelism": 3, "template": {"spec": {}}}}
    apply_defaults("jobs", parallel)
    assert "completions" not in parallel["spec"]


@pytest.mark.parametrize(("spec", "expected"), [
    ({"ports": [{"port": 80}]},
     {"type": "ClusterIP", "sessionAffinity": "None", "internalTrafficPolicy": "Cluster",
      "ipFamilyPolicy": "SingleStack", "ipFamilies": ["IPv4"],
      "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}]}),
    ({"type": "NodePort", "ports": [{"port": 80, "targetPort": "http"}]},
     {"type": "NodePort", "sessionAffinity": "None", "externalTrafficPolicy": "Cluster",
      "internalTrafficPolicy": "Cluster", "ipFamilyPolicy": "SingleStack", "ipFamilies": ["IPv4"],
      "ports": [{"port": 80, "protocol": "TCP", "targetPort": "http"}]}),
    ({"type": "ExternalName", "externalName": "example.com"},
     {"type": "ExternalName", "externalName": "example.com", "sessionAffinity": "None"}),
    ({"clusterIP": "None", "sessionAffinity": "ClientIP"},
     {"clusterIP": "None", "type": "ClusterIP", "sessionAffinity": "ClientIP",
      "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 10800}},
      "internalTrafficPolicy": "Cluster", "ipFamilyPolicy": "RequireDualStack",
      "ipFamilies": ["IPv4"]}),
])
def test_service_defaults(spec, expected):
    svc = {"spec": spec}
    apply_defaults("services", svc)
    assert svc["spec"] == expected
    assert "clusterIP" not in expected or expected["clusterIP"] == "None"  # no allocation here


def test_namespace_and_small_kinds():
    ns = {"metadata": {"name": "team-a"}}
    apply_defaults("namespaces", ns)
    assert ns == {"metadata": {"name": "team-a", "labels": {"kubernetes.io/metadata.name": "team-a"}},
                  "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}
    secret, sc = {"data": {}}, {"provisioner": "x"}
    apply_defaults("secrets", secret)
    apply_defaults("storageclasses", sc)
    assert secret["type"] == "Opaque"
    assert (sc["reclaimPolicy"], sc["volumeBindingMode"]) == ("Delete", "Immediate")
    pvc, pv = {"spec": {}}, {"spec": {}}
    apply_defaults("persistentvolumeclaims", pvc)
    apply_defaults("persistentvolumes", pv)
    assert pvc == {"spec": {"volumeMode": "Filesystem"}, "status": {"phase": "Pending"}}
    assert pv["spec"] == {"persistentVolumeReclaimPolicy": "Retain", "volumeMode": "Filesystem"}
    ep = {"subsets": [{"ports": [{"port": 80}]}]}
    apply_defaults("endpoints", ep)
    assert ep["subsets"][0]["ports"][0]["protocol"] == "TCP"
    eps = {"ports": [{"port": 80}]}
    apply_defaults("endpointslices", eps)
    assert eps["ports"] == [{"port": 80, "name": "", "protocol": "TCP"}]
    cm = {"data": {"a": "b"}}
    apply_defaults("configmaps", cm)
    assert cm == {"data": {"a": "b"}}


def test_hpa_defaults():
    hpa = {"spec": {"maxReplicas": 5}}
    apply_defaults("horizontalpodautoscalers", hpa)
    assert hpa["spec"] == {"maxReplicas": 5, "minReplicas": 1, "metrics": [
        {"type": "Resource", "resource": {"name": "cpu", "target": {
            "type": "Utilization", "averageUtilization": 80}}}]}
    with_behavior = {"spec": {"behavior": {"scaleDown": {"stabilizationWindowSeconds": 60}}}}
    apply_defaults("horizontalpodautoscalers", with_behavior)
    assert with_behavior["spec"]["behavior"] == {
        "scaleDown": {"selectPolicy": "Max", "stabilizationWindowSeconds": 60,
                      "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]},
        "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max", "policies": [
            {"type": "Pods", "value": 4, "periodSeconds": 15},
            {"type": "Percent", "value": 100, "periodSeconds": 15}]}}
    empty = {"spec": {"behavior": {}}}
    apply_defaults("horizontalpodautoscalers", empty)
    assert "stabilizationWindowSeconds" not in empty["spec"]["behavior"]["scaleDown"]
