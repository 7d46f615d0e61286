"""Protobuf request bodies decode to the JSON the JSON API would receive.

The `*.bin` fixtures are real kubectl 1.32/1.33/1.37 request bodies captured by
`tests/sandbox/fixtures/protobuf/capture.py`; the hand-encoded cases cover fields that
`kubectl create` never sends (probes, env, resources, rolling update, behavior, times).
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from helpers.sandbox.apiserver.protobuf import MAGIC, ProtobufError, decode_request

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "protobuf"


def fixture(name: str) -> dict:
    return decode_request((FIXTURES / f"{name}.bin").read_bytes(), strict=True)


# --------------------------------------------------------------------------- a tiny encoder


def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def msg(*fields: tuple[int, object]) -> bytes:
    """Encode (number, value): int/bool -> varint, str/bytes -> bytes, tuple -> sub-message."""
    out = bytearray()
    for number, value in fields:
        if isinstance(value, bool | int):
            out += _varint(number << 3) + _varint(int(value))
            continue
        if isinstance(value, tuple):
            value = msg(*value)
        data = value.encode() if isinstance(value, str) else value
        out += _varint(number << 3 | 2) + _varint(len(data)) + data
    return bytes(out)


def envelope(api_version: str, kind: str, raw: bytes, encoding: str = "") -> bytes:
    return MAGIC + msg((1, ((1, api_version), (2, kind))), (2, raw), (3, encoding), (4, ""))


def entry(key: str, value: object) -> tuple:
    return ((1, key), (2, value))


# Go's zero-valued ObjectMeta as kubectl sends it: every non-pointer field present.
EMPTY_META = ((1, ""), (2, ""), (3, ""), (4, ""), (5, ""), (6, ""), (7, 0), (8, ()))


# --------------------------------------------------------------------------- real fixtures


def test_namespace() -> None:
    assert fixture("v1.37-namespace") == {
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"}}


def test_deployment_drops_go_zero_values() -> None:
    assert fixture("v1.37-deployment") == {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "hello", "labels": {"app": "hello"}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "hello"}},
            "template": {
                "metadata": {"labels": {"app": "hello"}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25"}]},
            },
        },
    }


def test_deployment_multi_container_ports_and_namespace() -> None:
    assert fixture("v1.37-deployment-multi") == {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "multi", "namespace": "demo", "labels": {"app": "multi"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "multi"}},
            "template": {
                "metadata": {"labels": {"app": "multi"}},
                "spec": {"containers": [
                    {"name": "nginx", "image": "nginx", "ports": [{"containerPort": 80}]},
                    {"name": "redis", "image": "redis"},
                ]},
            },
        },
    }


def test_pointer_zero_is_kept() -> None:
    spec = fixture("v1.37-deployment-zero")["spec"]
    assert spec["replicas"] == 0


def test_configmap_data_and_binary_data() -> None:
    assert fixture("v1.37-configmap") == {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "cfg", "namespace": "demo"},
        "data": {"a": "b", "c": ""},
        "binaryData": {"bin": base64.b64encode(bytes([0, 1, 2, 0xFF, 0xFE])).decode()},
    }


def test_secret_data_is_base64_and_default_type_dropped() -> None:
    assert fixture("v1.37-secret") == {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s1"},
        "data": {"k": "dg==", "empty": ""},
    }
    assert fixture("v1.37-secret-tls-type")["type"] == "example.com/x"


def test_serviceaccount() -> None:
    assert fixture("v1.37-serviceaccount") == {
        "apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "sa1"}}


def test_service_clusterip() -> None:
    assert fixture("v1.37-service-clusterip") == {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "svc1", "labels": {"app": "svc1"}},
        "spec": {
            "ports": [{"name": "80-8080", "protocol": "TCP", "port": 80, "targetPort": 8080}],
            "selector": {"app": "svc1"},
            "type": "ClusterIP",
        },
    }


def test_service_headless_named_target_port() -> None:
    spec = fixture("v1.37-service-headless")["spec"]
    assert spec["clusterIP"] == "None"
    assert spec["ports"] == [{"name": "53-dns", "protocol": "TCP", "port": 53,
                              "targetPort": "dns"}]


def test_service_nodeport() -> None:
    spec = fixture("v1.37-service-nodeport")["spec"]
    assert spec["type"] == "NodePort"
    assert spec["ports"][0]["nodePort"] == 30080


def test_job() -> None:
    assert fixture("v1.37-job") == {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "j1", "namespace": "demo"},
        "spec": {"template": {"spec": {
            "containers": [{"name": "j1", "image": "busybox", "command": ["echo", "hi"]}],
            "restartPolicy": "Never",
        }}},
    }


HPA_TARGET = {"kind": "Deployment", "name": "web", "apiVersion": "apps/v1"}


def test_hpa_v2_cpu_percent() -> None:
    assert fixture("v1.37-autoscale-cpu-percent") == {
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web", "namespace": "demo"},
        "spec": {
            "scaleTargetRef": HPA_TARGET, "minReplicas": 2, "maxReplicas": 4,
            "metrics": [{"type": "Resource", "resource": {
                "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}}}],
        },
    }


def test_hpa_v2_quantity_is_a_string() -> None:
    assert fixture("v1.37-autoscale-cpu-memory")["spec"]["metrics"] == [
        {"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "AverageValue", "averageValue": "500m"}}},
        {"type": "Resource", "resource": {
            "name": "memory", "target": {"type": "Utilization", "averageUtilization": 70}}},
    ]


def test_hpa_v2_max_only_has_no_defaults() -> None:
    assert fixture("v1.37-autoscale-max-only")["spec"] == {
        "scaleTargetRef": HPA_TARGET, "maxReplicas": 3}


def test_hpa_v1_from_kubectl_132_and_137_fallback() -> None:
    assert fixture("v1.32-autoscale-cpu-percent") == {
        "apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web"},
        "spec": {"scaleTargetRef": HPA_TARGET, "minReplicas": 2, "maxReplicas": 4,
                 "targetCPUUtilizationPercentage": 60},
    }
    # kubectl 1.37's v1 fallback loses the CPU target (a kubectl bug, see kubectl-137.md).
    assert fixture("v1.37-autoscale-v1-fallback")["spec"] == {
        "scaleTargetRef": HPA_TARGET, "minReplicas": 2, "maxReplicas": 4}


# Only pairs recorded with both kubectls: 1.32/1.33 never send the 1.37-only autoscale forms.
OLD_AND_NEW = sorted(
    (old, p.name.removeprefix("v1.37-").removesuffix(".bin"))
    for p in FIXTURES.glob("v1.37-*.bin") for old in ("v1.32", "v1.33")
    if (FIXTURES / p.name.replace("v1.37-", f"{old}-")).exists())


def test_older_kubectl_fixtures_exist() -> None:
    assert len(OLD_AND_NEW) >= 20


@pytest.mark.parametrize(("old", "name"), OLD_AND_NEW)
def test_older_kubectls_decode_the_same(old: str, name: str) -> None:
    new, before = fixture(f"v1.37-{name}"), fixture(f"{old}-{name}")
    if name.startswith("autoscale"):
        # 1.32 sends autoscaling/v1; 1.32/1.33 leave the HPA's metadata.namespace empty.
        new["metadata"].pop("namespace", None)
        if old == "v1.32":
            assert before["apiVersion"] == "autoscaling/v1"
            return
    assert before == new


def test_every_fixture_decodes_strictly() -> None:
    files = sorted(FIXTURES.glob("*.bin"))
    assert len(files) >= 30
    for path in files:
        obj = decode_request(path.read_bytes(), strict=True)
        assert obj["metadata"]["name"], path.name
        assert "status" not in obj, path.name


# --------------------------------------------------------------------------- hand-encoded


def test_pod_template_fields_kubectl_create_never_sends() -> None:
    probe = (
        (1, ((2, ((1, "/healthz"), (2, ((1, 1), (3, "http"))), (4, "HTTP"))),)),  # httpGet
        (2, 3), (3, 0), (4, 5), (5, 0), (6, 0),
    )
    container = (
        (1, "app"), (2, "web:1"), (4, "--port=8080"), (5, ""),
        (6, ((1, "http"), (2, 0), (3, 8080), (4, "TCP"), (5, ""))),
        (7, ((1, "MODE"), (2, "fast"))),
        (7, ((1, "POD"), (2, ""), (3, ((1, ((1, "v1"), (2, "metadata.name"))),)))),
        (7, ((1, "KEY"), (3, ((4, ((1, ((1, "s1"),)), (2, "k"))),)))),
        (8, ((1, entry("cpu", ((1, "500m"),))), (2, entry("memory", ((1, "64Mi"),))))),
        (9, ((1, "data"), (2, False), (3, "/data"))),
        (11, probe),
        (10, ((1, ((3, ((1, ((1, 0), (2, 8080))),)),)), (7, 0))),  # tcpSocket, grace 0
        (14, "Always"), (16, False),
    )
    pod_spec = (
        (1, ((1, "data"), (2, ((2, ()),)))),  # emptyDir: {} is a meaningful pointer
        (2, container), (3, ""), (4, 30), (6, ""), (11, False),
    )
    strategy = ((1, "RollingUpdate"), (2, ((1, ((1, 0), (2, 0))), (2, ((1, 1), (3, "25%"))))))
    spec = ((1, 3), (2, ((1, entry("app", "web")),)), (3, ((1, EMPTY_META), (2, pod_spec))),
            (4, strategy), (5, 0), (6, 10), (7, False))
    meta = ((1, "web"), (3, "demo"), (7, 0), (8, ((1, 1704164645), (2, 0))))
    body = envelope("apps/v1", "Deployment", msg((1, meta), (2, spec), (3, ((1, 0), (2, 0)))))
    assert decode_request(body, strict=True) == {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "demo",
                     "creationTimestamp": "2024-01-02T03:04:05Z"},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"spec": {
                "volumes": [{"name": "data", "emptyDir": {}}],
                "containers": [{
                    "name": "app", "image": "web:1", "args": ["--port=8080"],
                    "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
                    "env": [
                        {"name": "MODE", "value": "fast"},
                        {"name": "POD", "valueFrom": {"fieldRef": {
                            "apiVersion": "v1", "fieldPath": "metadata.name"}}},
                        {"name": "KEY", "valueFrom": {"secretKeyRef": {"name": "s1", "key": "k"}}},
                    ],
                    "resources": {"limits": {"cpu": "500m"}, "requests": {"memory": "64Mi"}},
                    "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                    "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http",
                                                   "scheme": "HTTP"},
                                       "initialDelaySeconds": 3, "periodSeconds": 5},
                    "livenessProbe": {"tcpSocket": {"port": 8080},
                                      "terminationGracePeriodSeconds": 0},
                    "imagePullPolicy": "Always",
                }],
                "terminationGracePeriodSeconds": 30,
            }},
            "strategy": {"type": "RollingUpdate",
                         "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "25%"}},
            "revisionHistoryLimit": 10,
        },
    }


def test_hpa_v2_behavior_and_negative_ints() -> None:
    rules = ((1, "Max"), (2, ((1, "Pods"), (2, 4), (3, 15))), (3, 0))
    spec = ((1, ((1, "Deployment"), (2, "web"), (3, "apps/v1"))), (2, 1), (3, 5),
            (5, ((1, rules), (2, ((3, 300), (4, ((1, "0.05"),)))))))
    body = envelope("autoscaling/v2", "HorizontalPodAutoscaler",
                    msg((1, ((1, "web"),)), (2, spec), (3, ((3, -1), (4, 0)))))
    obj = decode_request(body, strict=True)
    assert obj["spec"]["behavior"] == {
        "scaleUp": {"selectPolicy": "Max",
                    "policies": [{"type": "Pods", "value": 4, "periodSeconds": 15}],
                    "stabilizationWindowSeconds": 0},
        "scaleDown": {"stabilizationWindowSeconds": 300, "tolerance": "0.05"},
    }
    assert obj["status"] == {"currentReplicas": -1}


def test_unknown_fields_are_skipped_unless_strict() -> None:
    body = envelope("v1", "Namespace", msg((1, ((1, "demo"), (99, "future"))), (2, ())))
    assert decode_request(body) == {"apiVersion": "v1", "kind": "Namespace",
                                    "metadata": {"name": "demo"}}
    with pytest.raises(ProtobufError, match="ObjectMeta: unknown field number 99"):
        decode_request(body, strict=True)


def test_last_occurrence_of_a_scalar_wins() -> None:
    body = envelope("v1", "Namespace", msg((1, ((1, "old"), (1, "new")))))
    assert decode_request(body)["metadata"] == {"name": "new"}


@pytest.mark.parametrize(("body", "message"), [
    (b'{"kind":"Namespace"}', "k8s"),
    (MAGIC + b"\x0a\x05\x0a\x02v1", "truncated"),
    (envelope("v1", "Pod", msg((1, ((1, "p"),)))), "Pod"),
    (envelope("apps/v1beta1", "Deployment", b""), "apps/v1beta1"),
    (envelope("v1", "Namespace", b"", encoding="gzip"), "gzip"),
    (MAGIC + msg((2, b"")), "apiVersion/kind"),
    (envelope("v1", "Namespace", msg((1, ((1, b"\xff\xfe"),)))), "UTF-8"),
    (envelope("v1", "Namespace", msg((1, ((7, "x"),)))), "varint"),
])
def test_bad_bodies_raise_protobuf_error(body: bytes, message: str) -> None:
    with pytest.raises(ProtobufError, match=message):
        decode_request(body)


def test_protobuf_error_is_a_value_error() -> None:
    assert issubclass(ProtobufError, ValueError)
