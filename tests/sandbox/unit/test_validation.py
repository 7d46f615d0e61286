"""Validation messages, byte for byte what kubectl prints after `The ` / `error: `."""

from __future__ import annotations

import copy
import time

import pytest

from helpers.sandbox.apiserver import errors
from helpers.sandbox.apiserver.defaults import apply_defaults
from helpers.sandbox.apiserver.validation import (
    go_quote,
    go_string_map,
    prune_unknown_fields,
    strict_decoding_message,
    unknown_fields,
    validate,
)

DNS1035 = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with "
           "an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
           "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")
DNS1123_LABEL = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
                 "'-', and must start and end with an alphanumeric character (e.g. 'my-name',  or "
                 "'123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
SUBDOMAIN = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
             "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "
             "regex used for validation is "
             "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")


def deployment(**spec) -> dict:
    obj = {"apiVersion": "apps/v1", "kind": "Deployment",
           "metadata": {"name": "web", "namespace": "default"},
           "spec": {"selector": {"matchLabels": {"app": "web"}},
                    "template": {"metadata": {"labels": {"app": "web"}},
                                 "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]}},
                    **spec}}
    apply_defaults("deployments", obj)
    return obj


def service(name: str = "web", **spec) -> dict:
    obj = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "default"},
           "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}], **spec}}
    apply_defaults("services", obj)
    return obj


def hpa(**spec) -> dict:
    obj = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
           "metadata": {"name": "web", "namespace": "default"},
           "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                    "maxReplicas": 5, **spec}}
    apply_defaults("horizontalpodautoscalers", obj)
    return obj


def message(kind: str, key: str, obj: dict, old: dict | None = None) -> str:
    plain, _, group = kind.partition(".")
    return errors.invalid(plain, group, obj["metadata"]["name"], validate(key, obj, old)).message


def describe(key: str, obj: dict, old: dict | None = None) -> list[str]:
    return [c.describe() for c in validate(key, obj, old)]


# -- Go rendering -------------------------------------------------------------------------------
def test_go_rendering():
    assert go_quote('a"b\\c\n') == '"a\\"b\\\\c\\n"'
    assert go_string_map({"b": "2", "a": "1"}) == 'map[string]string{"a":"1", "b":"2"}'
    assert go_string_map(None) == "map[string]string(nil)"
    assert go_string_map({}) == "map[string]string{}"


# -- Deployments --------------------------------------------------------------------------------
def test_valid_deployment_has_no_causes():
    assert validate("deployments", deployment()) == []


def test_selector_does_not_match_template_labels():
    d = deployment()
    d["spec"]["template"]["metadata"]["labels"] = {"app": "other"}
    assert message("Deployment.apps", "deployments", d) == (
        'Deployment.apps "web" is invalid: spec.template.metadata.labels: Invalid value: '
        'map[string]string{"app":"other"}: `selector` does not match template `labels`')
    cause = validate("deployments", d)[0]
    assert (cause.reason, cause.field) == ("FieldValueInvalid", "spec.template.metadata.labels")


def test_missing_selector_reports_both_errors_like_apps_v1():
    d = deployment()
    del d["spec"]["selector"]
    assert message("Deployment.apps", "deployments", d) == (
        'Deployment.apps "web" is invalid: [spec.selector: Required value, '
        'spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: '
        '`selector` does not match template `labels`]')


def test_empty_selector():
    d = deployment(selector={})
    assert describe("deployments", d) == [
        "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), "
        "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment"]


def test_selector_is_immutable_on_update():
    old = deployment()
    new = copy.deepcopy(old)
    new["spec"]["selector"]["matchLabels"]["tier"] = "fe"
    new["spec"]["template"]["metadata"]["labels"]["tier"] = "fe"
    assert describe("deployments", new, old) == [
        'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web", '
        '"tier":"fe"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable']
    assert validate("deployments", copy.deepcopy(old), old) == []


def test_rolling_update_bounds():
    both_zero = deployment(strategy={"type": "RollingUpdate",
                                     "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0}})
    assert describe("deployments", both_zero) == [
        'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: '
        'intstr.IntOrString{Type:0, IntVal:0, StrVal:""}: may not be 0 when `maxSurge` is 0']
    too_many = deployment(strategy={"rollingUpdate": {"maxUnavailable": "150%", "maxSurge": "200%"}})
    assert describe("deployments", too_many) == [
        'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: '
        'intstr.IntOrString{Type:1, IntVal:0, StrVal:"150%"}: must not be greater than 100%']
    bad = deployment(strategy={"rollingUpdate": {"maxSurge": "1"}})
    assert describe("deployments", bad) == [
        "spec.strategy.rollingUpdate.maxSurge: Invalid value: intstr.IntOrString{Type:1, IntVal:0, "
        "StrVal:\"1\"}: a valid percent string must be a numeric string followed by an ending '%' "
        "(e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"]


def test_negative_counts_and_template_restart_policy():
    d = deployment(replicas=-1, revisionHistoryLimit=-2)
    d["spec"]["template"]["spec"]["restartPolicy"] = "Never"
    assert describe("deployments", d) == [
        "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
        'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"',
        "spec.revisionHistoryLimit: Invalid value: -2: must be greater than or equal to 0"]


def test_pod_spec_rules_in_template():
    d = deployment()
    d["spec"]["template"]["spec"]["containers"] = [
        {"name": "web", "ports": [{"containerPort": 70000}], "readinessProbe": {}},
        {"name": "web", "image": "busybox"}]
    apply_defaults("deployments", d)
    p = "spec.template.spec.containers"
    assert describe("deployments", d) == [
        f"{p}[0].image: Required value",
        f"{p}[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
        f"{p}[0].readinessProbe: Required value: must specify a handler type",
        f'{p}[1].name: Duplicate value: "web"']
    d["spec"]["template"]["spec"]["containers"] = []
    assert describe("deployments", d) == [f"{p}: Required value"]


def test_two_probe_handlers_and_bad_resources():
    d = deployment()
    c = d["spec"]["template"]["spec"]["containers"][0]
    c["livenessProbe"] = {"httpGet": {"port": 80}, "tcpSocket": {"port": 80}}
    c["resources"] = {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}
    apply_defaults("deployments", d)
    p = "spec.template.spec.containers[0]"
    assert describe("deployments", d) == [
        f'{p}.resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1',
        f"{p}.livenessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type"]


def test_names_and_labels():
    d = deployment()
    d["metadata"]["name"] = "Web"
    d["metadata"]["labels"] = {"app": "bad value"}
    assert describe("deployments", d) == [
        f'metadata.name: Invalid value: "Web": {SUBDOMAIN}',
        'metadata.labels: Invalid value: "bad value": a valid label must be an empty string or '
        "consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
        "alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for "
        "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"]
    ns = {"metadata": {"name": "team.a"}}
    apply_defaults("namespaces", ns)
    ns["metadata"]["labels"] = {}
    assert describe("namespaces", ns) == ['metadata.name: Invalid value: "team.a": must not contain dots']
    sts = {"metadata": {"name": "db_1", "namespace": "default"}}
    assert f'metadata.name: Invalid value: "db_1": {DNS1123_LABEL}' in describe("statefulsets", sts)


# -- Services -----------------------------------------------------------------------------------
def test_service_name_must_be_dns1035():
    assert message("Service", "services", service("1web")) == (
        f'Service "1web" is invalid: metadata.name: Invalid value: "1web": {DNS1035}')


def test_node_port_range_and_duplicates():
    svc = service(type="NodePort", ports=[{"port": 80, "nodePort": 80}, {"port": 80, "name": "b"}])
    assert describe("services", svc) == [
        "spec.ports[0].name: Required value",
        "spec.ports[1]: Duplicate value: core.ServicePort{Name:\"\", Protocol:\"TCP\", "
        "AppProtocol:(*string)(nil), Port:80, TargetPort:intstr.IntOrString{Type:0, IntVal:0, "
        "StrVal:\"\"}, NodePort:0}",
        "spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. "
        "The range of valid ports is 30000-32767"]
    assert validate("services", service(type="NodePort", ports=[{"port": 80, "nodePort": 30080}])) == []


def test_service_other_rules():
    assert describe("services", service(ports=[{"port": 0}])) == [
        "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
        "spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive"]
    assert describe("services", service(type="ClusterIP", ports=[{"port": 80, "nodePort": 30001}])) == [
        "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"]
    assert describe("services", service(type="ExternalName", ports=[])) == [
        "spec.externalName: Required value"]


def test_enum_fields_empty_or_unsupported():
    d = deployment()
    pod = d["spec"]["template"]["spec"]
    pod["dnsPolicy"] = "Google"
    pod["containers"][0].update(imagePullPolicy="Sometimes", terminationMessagePolicy="Never",
                                ports=[{"containerPort": 80, "protocol": "HTTP"}])
    p = "spec.template.spec"
    assert sorted(describe("deployments", d)) == sorted([
        f'{p}.containers[0].ports[0].protocol: Unsupported value: "HTTP": supported values: '
        '"SCTP", "TCP", "UDP"',
        f'{p}.containers[0].terminationMessagePolicy: Unsupported value: "Never": supported values: '
        '"File", "FallbackToLogsOnError"',
        f'{p}.containers[0].imagePullPolicy: Unsupported value: "Sometimes": supported values: '
        '"Always", "IfNotPresent", "Never"',
        f'{p}.dnsPolicy: Unsupported value: "Google": supported values: '
        '"ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"'])
    pod["dnsPolicy"] = ""
    pod["containers"][0].update(imagePullPolicy="", terminationMessagePolicy="Never",
                                ports=[{"containerPort": 80, "protocol": "TCP"}])
    assert sorted(describe("deployments", d)) == sorted([
        f'{p}.containers[0].terminationMessagePolicy: Unsupported value: "Never": supported values: '
        '"File", "FallbackToLogsOnError"',
        f"{p}.containers[0].imagePullPolicy: Required value",
        f"{p}.dnsPolicy: Required value"])
    svc = service(sessionAffinity="Sticky", ports=[{"port": 80, "protocol": "QUIC"}])
    svc["spec"]["type"] = "Public"
    assert sorted(describe("services", svc)) == sorted([
        'spec.ports[0].protocol: Unsupported value: "QUIC": supported values: "SCTP", "TCP", "UDP"',
        'spec.sessionAffinity: Unsupported value: "Sticky": supported values: "ClientIP", "None"',
        'spec.type: Unsupported value: "Public": supported values: '
        '"ClusterIP", "ExternalName", "LoadBalancer", "NodePort"'])


# -- StatefulSets, Jobs -------------------------------------------------------------------------
def statefulset() -> dict:
    obj = {"metadata": {"name": "db", "namespace": "default"},
           "spec": {"serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                    "template": {"metadata": {"labels": {"app": "db"}},
                                 "spec": {"containers": [{"name": "db", "image": "redis"}]}}}}
    apply_defaults("statefulsets", obj)
    return obj


def test_statefulset_update_rules():
    old = statefulset()
    new = copy.deepcopy(old)
    new["spec"]["replicas"] = 3
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "redis:7"
    assert validate("statefulsets", new, old) == []
    new["spec"]["serviceName"] = "other"
    assert message("StatefulSet.apps", "statefulsets", new, old) == (
        'StatefulSet.apps "db" is invalid: spec: Forbidden: updates to statefulset spec for fields '
        "other than 'replicas', 'ordinals', 'template', 'updateStrategy', "
        "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden")


def test_job_needs_on_failure_or_never():
    job = {"metadata": {"name": "pi", "namespace": "default"},
           "spec": {"template": {"spec": {"containers": [{"name": "pi", "image": "busybox"}]}}}}
    apply_defaults("jobs", job)
    assert describe("jobs", job) == [
        'spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"']


# -- HPAs ---------------------------------------------------------------------------------------
def test_hpa_rules():
    assert validate("horizontalpodautoscalers", hpa()) == []
    assert describe("horizontalpodautoscalers", hpa(minReplicas=6)) == [
        "spec.maxReplicas: Invalid value: 5: must be greater than or equal to `minReplicas`"]
    assert describe("horizontalpodautoscalers", hpa(minReplicas=0, maxReplicas=0)) == [
        "spec.minReplicas: Invalid value: 0: must be greater than or equal to 1",
        "spec.maxReplicas: Invalid value: 0: must be greater than 0"]
    zero = hpa(metrics=[{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 0}}}])
    assert describe("horizontalpodautoscalers", zero) == [
        "spec.metrics[0].resource.target.averageUtilization: Invalid value: 0: must be greater than 0"]


# -- schema -------------------------------------------------------------------------------------
def test_type_errors_come_alone():
    d = deployment(replicas="two")
    d["spec"]["template"]["metadata"]["labels"] = {"app": "other"}
    causes = validate("deployments", d)
    assert [c.describe() for c in causes] == [
        'spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"']
    assert causes[0].reason == "FieldValueInvalid"


def test_schema_required_fills_gaps_only():
    d = deployment()
    d["spec"]["selector"] = {"matchExpressions": [{"operator": "Exists"}]}
    # The semantic rule already reports the key, so the schema's `required` stays out.
    assert describe("deployments", d)[0] == (
        'spec.selector.matchExpressions[0].key: Invalid value: "": name part must be non-empty')
    assert not [m for m in describe("deployments", d) if "Required value" in m]
    d = deployment()
    d["spec"]["template"]["spec"]["containers"][0]["env"] = [{"value": "x"}]
    assert describe("deployments", d) == ["spec.template.spec.containers[0].env[0].name: Required value"]
    d = deployment()  # no semantic rule here: the schema's `required` speaks
    d["spec"]["template"]["spec"]["containers"][0]["env"] = [
        {"name": "A", "valueFrom": {"configMapKeyRef": {"name": "cfg"}}}]
    assert describe("deployments", d) == [
        "spec.template.spec.containers[0].env[0].valueFrom.configMapKeyRef.key: Required value"]
    d = deployment()
    del d["spec"]["template"]["spec"]["containers"][0]["name"]
    assert describe("deployments", d) == ["spec.template.spec.containers[0].name: Required value"]


def test_unknown_fields_and_pruning():
    d = deployment()
    d["spec"]["template"]["spec"]["containers"][0]["ports"] = [{"containerPort": 80, "protocl": "TCP"}]
    d["spec"]["replica"] = 2
    d["metadata"]["labels"] = {"any.key/x": "ok"}
    found = unknown_fields("deployments", d)  # document order, like the strict decoder
    assert found == ["spec.template.spec.containers[0].ports[0].protocl", "spec.replica"]
    assert strict_decoding_message(found) == (
        'strict decoding error: unknown field "spec.template.spec.containers[0].ports[0].protocl", '
        'unknown field "spec.replica"')
    pruned = prune_unknown_fields("deployments", d)
    assert "replica" not in pruned["spec"] and d["spec"]["replica"] == 2
    assert pruned["spec"]["template"]["spec"]["containers"][0]["ports"] == [{"containerPort": 80}]
    assert unknown_fields("deployments", pruned) == []
    assert unknown_fields("deployments", deployment()) == []


def test_validation_is_fast():
    d = deployment()
    validate("deployments", d)  # compile
    n = 200
    start = time.perf_counter()
    for _ in range(n):
        validate("deployments", d)
    per_object = (time.perf_counter() - start) / n
    assert per_object < 0.01, per_object


@pytest.mark.parametrize("key", ["configmaps", "secrets", "serviceaccounts", "events", "leases"])
def test_simple_kinds_need_valid_names(key):
    obj = {"metadata": {"name": "ok-name", "namespace": "default"}}
    if key == "events":
        obj["involvedObject"] = {"kind": "Pod", "name": "web-0", "namespace": "default"}
    assert validate(key, obj) == []
    obj["metadata"]["name"] = "Bad_Name"
    assert describe(key, obj) == [f'metadata.name: Invalid value: "Bad_Name": {SUBDOMAIN}']
