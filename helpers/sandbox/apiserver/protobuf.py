"""Decode Kubernetes protobuf request bodies into the JSON dicts the JSON API receives.

kubectl >= 1.32 sends typed-client creates (`create namespace|deployment|configmap|secret|
serviceaccount|service|job`, `autoscale`) as `application/vnd.kubernetes.protobuf` and does not
retry with JSON on a 415, so the sandbox must read them. Only those kinds are supported.

Wire format: `k8s\\x00` + `runtime.Unknown{1 typeMeta{1 apiVersion, 2 kind}, 2 raw, 3
contentEncoding, 4 contentType}`; `raw` is the object message from `k8s.io/api/**/generated.proto`.
Go's gogo-protobuf (proto2) always emits non-pointer scalars and structs, so `""`, `0`, `false`
and `{}` mean "unset" for those fields and are dropped; pointer fields (marked `*` below) are
emitted only when set, so their zeros are kept (`replicas: 0`).

Message tables are written as `"<number> <jsonName> <type>; ..."`. Types: `str` (default),
`int`, `bool`, `bytes`, `Time`, `Quantity`, `IntOrString`, `map` (string->string),
`map<bytes>`, `map<Quantity>`, or a message name. Prefix `[]` = repeated, `*` = pointer,
`^` = embedded struct whose fields are inlined into the parent (Go anonymous members).
Unknown field numbers are skipped.
"""

from __future__ import annotations

import base64
import struct
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

MAGIC = b"k8s\x00"


class ProtobufError(ValueError):
    """The body is not a protobuf message the sandbox can decode."""


# --------------------------------------------------------------------------- wire format


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ProtobufError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ProtobufError("varint too long")


_FIXED = {1: (8, "<Q"), 5: (4, "<I")}  # wire type -> (size, struct format)


def iter_fields(buf: bytes) -> list[tuple[int, int, Any]]:
    """Split one message into (field number, wire type, value); value is int or bytes."""
    out: list[tuple[int, int, Any]] = []
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ProtobufError("field number 0")
        value: Any
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 2:
            length, pos = _varint(buf, pos)
            value, pos = buf[pos:pos + length], pos + length
        elif wire in _FIXED:
            size, fmt = _FIXED[wire]
            value = struct.unpack_from(fmt, buf, pos)[0] if pos + size <= len(buf) else 0
            pos += size
        else:
            raise ProtobufError(f"unsupported wire type {wire}")
        if pos > len(buf):
            raise ProtobufError("truncated message")
        out.append((number, wire, value))
    return out


def _signed(value: int) -> int:
    """int32/int64 fields are plain varints: negative numbers arrive as 64-bit two's complement."""
    return value - (1 << 64) if value >= 1 << 63 else value


# --------------------------------------------------------------------------- message tables


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    repeated: bool = False
    pointer: bool = False
    inline: bool = False


def _table(spec: str) -> dict[int, Field]:
    fields: dict[int, Field] = {}
    for item in filter(None, (part.strip() for part in spec.split(";"))):
        number, name, *rest = item.split()
        typ = rest[0] if rest else "str"
        repeated, typ = typ.startswith("[]"), typ.removeprefix("[]")
        pointer, typ = typ.startswith("*"), typ.removeprefix("*")
        inline, typ = typ.startswith("^"), typ.removeprefix("^")
        fields[int(number)] = Field(name, typ, repeated, pointer, inline)
    return fields


_SPECS: dict[str, str] = {
    # apimachinery meta/v1
    "ObjectMeta": "1 name; 2 generateName; 3 namespace; 4 selfLink; 5 uid; 6 resourceVersion;"
                  "7 generation int; 8 creationTimestamp Time; 9 deletionTimestamp *Time;"
                  "10 deletionGracePeriodSeconds *int; 11 labels map; 12 annotations map;"
                  "13 ownerReferences []OwnerReference; 14 finalizers []str",
    "OwnerReference": "1 kind; 3 name; 4 uid; 5 apiVersion; 6 controller *bool;"
                      "7 blockOwnerDeletion *bool",
    "LabelSelector": "1 matchLabels map; 2 matchExpressions []LabelSelectorRequirement",
    "LabelSelectorRequirement": "1 key; 2 operator; 3 values []str",
    "Condition": "1 type; 2 status; 3 observedGeneration int; 4 lastTransitionTime Time;"
                 "5 reason; 6 message",
    # core/v1 objects
    "Namespace": "1 metadata ObjectMeta; 2 spec NamespaceSpec; 3 status NamespaceStatus",
    "NamespaceSpec": "1 finalizers []str",
    "NamespaceStatus": "1 phase",
    "ConfigMap": "1 metadata ObjectMeta; 2 data map; 3 binaryData map<bytes>; 4 immutable *bool",
    "Secret": "1 metadata ObjectMeta; 2 data map<bytes>; 3 type; 4 stringData map;"
              "5 immutable *bool",
    "ServiceAccount": "1 metadata ObjectMeta; 2 secrets []ObjectReference;"
                      "3 imagePullSecrets []LocalObjectReference;"
                      "4 automountServiceAccountToken *bool",
    "ObjectReference": "1 kind; 2 namespace; 3 name; 4 uid; 5 apiVersion; 6 resourceVersion;"
                       "7 fieldPath",
    "LocalObjectReference": "1 name",
    "Service": "1 metadata ObjectMeta; 2 spec ServiceSpec; 3 status ServiceStatus",
    "ServiceSpec": "1 ports []ServicePort; 2 selector map; 3 clusterIP; 4 type;"
                   "5 externalIPs []str; 7 sessionAffinity; 8 loadBalancerIP;"
                   "9 loadBalancerSourceRanges []str; 10 externalName;"
                   "11 externalTrafficPolicy; 12 healthCheckNodePort int;"
                   "13 publishNotReadyAddresses bool; 17 ipFamilyPolicy *str;"
                   "18 clusterIPs []str; 19 ipFamilies []str;"
                   "20 allocateLoadBalancerNodePorts *bool; 21 loadBalancerClass *str;"
                   "22 internalTrafficPolicy *str; 23 trafficDistribution *str",
    "ServicePort": "1 name; 2 protocol; 3 port int; 4 targetPort IntOrString; 5 nodePort int;"
                   "6 appProtocol *str",
    "ServiceStatus": "1 loadBalancer LoadBalancerStatus; 2 conditions []Condition",
    "LoadBalancerStatus": "1 ingress []LoadBalancerIngress",
    "LoadBalancerIngress": "1 ip; 2 hostname",
    # core/v1 pod template
    "PodTemplateSpec": "1 metadata ObjectMeta; 2 spec PodSpec",
    "PodSpec": "1 volumes []Volume; 2 containers []Container; 3 restartPolicy;"
               "4 terminationGracePeriodSeconds *int; 5 activeDeadlineSeconds *int;"
               "6 dnsPolicy; 7 nodeSelector map; 8 serviceAccountName; 9 serviceAccount;"
               "10 nodeName; 11 hostNetwork bool; 12 hostPID bool; 13 hostIPC bool;"
               "14 securityContext *PodSecurityContext;"
               "15 imagePullSecrets []LocalObjectReference; 16 hostname; 17 subdomain;"
               "19 schedulerName; 20 initContainers []Container;"
               "21 automountServiceAccountToken *bool; 22 tolerations []Toleration;"
               "24 priorityClassName; 25 priority *int; 27 shareProcessNamespace *bool;"
               "29 runtimeClassName *str; 30 enableServiceLinks *bool",
    "PodSecurityContext": "2 runAsUser *int; 3 runAsNonRoot *bool; 5 fsGroup *int;"
                          "6 runAsGroup *int",
    "Toleration": "1 key; 2 operator; 3 value; 4 effect; 5 tolerationSeconds *int",
    "Container": "1 name; 2 image; 3 command []str; 4 args []str; 5 workingDir;"
                 "6 ports []ContainerPort; 7 env []EnvVar; 8 resources ResourceRequirements;"
                 "9 volumeMounts []VolumeMount; 10 livenessProbe *Probe;"
                 "11 readinessProbe *Probe; 12 lifecycle *Lifecycle;"
                 "13 terminationMessagePath; 14 imagePullPolicy;"
                 "15 securityContext *SecurityContext; 16 stdin bool; 17 stdinOnce bool;"
                 "18 tty bool; 19 envFrom []EnvFromSource; 20 terminationMessagePolicy;"
                 "22 startupProbe *Probe; 24 restartPolicy *str",
    "ContainerPort": "1 name; 2 hostPort int; 3 containerPort int; 4 protocol; 5 hostIP",
    "EnvVar": "1 name; 2 value; 3 valueFrom *EnvVarSource",
    "EnvVarSource": "1 fieldRef *ObjectFieldSelector; 2 resourceFieldRef *ResourceFieldSelector;"
                    "3 configMapKeyRef *ConfigMapKeySelector; 4 secretKeyRef *SecretKeySelector",
    "ObjectFieldSelector": "1 apiVersion; 2 fieldPath",
    "ResourceFieldSelector": "1 containerName; 2 resource; 3 divisor Quantity",
    "ConfigMapKeySelector": "1 ref ^LocalObjectReference; 2 key; 3 optional *bool",
    "SecretKeySelector": "1 ref ^LocalObjectReference; 2 key; 3 optional *bool",
    "EnvFromSource": "1 prefix; 2 configMapRef *ConfigMapEnvSource; 3 secretRef *SecretEnvSource",
    "ConfigMapEnvSource": "1 ref ^LocalObjectReference; 2 optional *bool",
    "SecretEnvSource": "1 ref ^LocalObjectReference; 2 optional *bool",
    "ResourceRequirements": "1 limits map<Quantity>; 2 requests map<Quantity>",
    "VolumeMount": "1 name; 2 readOnly bool; 3 mountPath; 4 subPath; 5 mountPropagation *str;"
                   "6 subPathExpr",
    "Volume": "1 name; 2 source ^VolumeSource",
    "VolumeSource": "1 hostPath *HostPathVolumeSource; 2 emptyDir *EmptyDirVolumeSource;"
                    "6 secret *SecretVolumeSource; 19 configMap *ConfigMapVolumeSource",
    "HostPathVolumeSource": "1 path; 2 type *str",
    "EmptyDirVolumeSource": "1 medium; 2 sizeLimit *Quantity",
    "SecretVolumeSource": "1 secretName; 2 items []KeyToPath; 3 defaultMode *int; 4 optional *bool",
    "ConfigMapVolumeSource": "1 ref ^LocalObjectReference; 2 items []KeyToPath;"
                             "3 defaultMode *int; 4 optional *bool",
    "KeyToPath": "1 key; 2 path; 3 mode *int",
    "Probe": "1 handler ^ProbeHandler; 2 initialDelaySeconds int; 3 timeoutSeconds int;"
             "4 periodSeconds int; 5 successThreshold int; 6 failureThreshold int;"
             "7 terminationGracePeriodSeconds *int",
    "ProbeHandler": "1 exec *ExecAction; 2 httpGet *HTTPGetAction; 3 tcpSocket *TCPSocketAction;"
                    "4 grpc *GRPCAction",
    "Lifecycle": "1 postStart *LifecycleHandler; 2 preStop *LifecycleHandler",
    "LifecycleHandler": "1 exec *ExecAction; 2 httpGet *HTTPGetAction;"
                        "3 tcpSocket *TCPSocketAction; 4 sleep *SleepAction",
    "ExecAction": "1 command []str",
    "HTTPGetAction": "1 path; 2 port IntOrString; 3 host; 4 scheme; 5 httpHeaders []HTTPHeader",
    "HTTPHeader": "1 name; 2 value",
    "TCPSocketAction": "1 port IntOrString; 2 host",
    "GRPCAction": "1 port int; 2 service *str",
    "SleepAction": "1 seconds int",
    "SecurityContext": "1 capabilities *Capabilities; 2 privileged *bool; 4 runAsUser *int;"
                       "5 runAsNonRoot *bool; 6 readOnlyRootFilesystem *bool;"
                       "7 allowPrivilegeEscalation *bool; 8 runAsGroup *int",
    "Capabilities": "1 add []str; 2 drop []str",
    # apps/v1
    "Deployment": "1 metadata ObjectMeta; 2 spec DeploymentSpec; 3 status DeploymentStatus",
    "DeploymentSpec": "1 replicas *int; 2 selector *LabelSelector; 3 template PodTemplateSpec;"
                      "4 strategy DeploymentStrategy; 5 minReadySeconds int;"
                      "6 revisionHistoryLimit *int; 7 paused bool;"
                      "9 progressDeadlineSeconds *int",
    "DeploymentStrategy": "1 type; 2 rollingUpdate *RollingUpdateDeployment",
    "RollingUpdateDeployment": "1 maxUnavailable *IntOrString; 2 maxSurge *IntOrString",
    "DeploymentStatus": "1 observedGeneration int; 2 replicas int; 3 updatedReplicas int;"
                        "4 availableReplicas int; 5 unavailableReplicas int;"
                        "6 conditions []DeploymentCondition; 7 readyReplicas int;"
                        "8 collisionCount *int; 9 terminatingReplicas *int",
    "DeploymentCondition": "1 type; 2 status; 4 reason; 5 message; 6 lastUpdateTime Time;"
                           "7 lastTransitionTime Time",
    # batch/v1
    "Job": "1 metadata ObjectMeta; 2 spec JobSpec; 3 status JobStatus",
    "JobSpec": "1 parallelism *int; 2 completions *int; 3 activeDeadlineSeconds *int;"
               "4 selector *LabelSelector; 5 manualSelector *bool; 6 template PodTemplateSpec;"
               "7 backoffLimit *int; 8 ttlSecondsAfterFinished *int; 9 completionMode *str;"
               "10 suspend *bool; 12 backoffLimitPerIndex *int; 13 maxFailedIndexes *int;"
               "14 podReplacementPolicy *str; 15 managedBy *str",
    "JobStatus": "2 startTime *Time; 3 completionTime *Time; 4 active int; 5 succeeded int;"
                 "6 failed int; 7 completedIndexes; 9 ready *int; 10 failedIndexes *str;"
                 "11 terminating *int",
    # autoscaling/v1
    "HorizontalPodAutoscalerV1": "1 metadata ObjectMeta; 2 spec HPASpecV1; 3 status HPAStatusV1",
    "HPASpecV1": "1 scaleTargetRef CrossVersionObjectReference; 2 minReplicas *int;"
                 "3 maxReplicas int; 4 targetCPUUtilizationPercentage *int",
    "HPAStatusV1": "1 observedGeneration *int; 2 lastScaleTime *Time; 3 currentReplicas int;"
                   "4 desiredReplicas int; 5 currentCPUUtilizationPercentage *int",
    "CrossVersionObjectReference": "1 kind; 2 name; 3 apiVersion",
    # autoscaling/v2
    "HorizontalPodAutoscalerV2": "1 metadata ObjectMeta; 2 spec HPASpecV2; 3 status HPAStatusV2",
    "HPASpecV2": "1 scaleTargetRef CrossVersionObjectReference; 2 minReplicas *int;"
                 "3 maxReplicas int; 4 metrics []MetricSpec;"
                 "5 behavior *HorizontalPodAutoscalerBehavior",
    "HPAStatusV2": "1 observedGeneration *int; 2 lastScaleTime *Time; 3 currentReplicas int;"
                   "4 desiredReplicas int",
    "MetricSpec": "1 type; 2 object *ObjectMetricSource; 3 pods *PodsMetricSource;"
                  "4 resource *ResourceMetricSource; 5 external *ExternalMetricSource;"
                  "7 containerResource *ContainerResourceMetricSource",
    "ResourceMetricSource": "1 name; 2 target MetricTarget",
    "ContainerResourceMetricSource": "1 name; 2 target MetricTarget; 3 container",
    "PodsMetricSource": "1 metric MetricIdentifier; 2 target MetricTarget",
    "ExternalMetricSource": "1 metric MetricIdentifier; 2 target MetricTarget",
    "ObjectMetricSource": "1 describedObject CrossVersionObjectReference; 2 target MetricTarget;"
                          "3 metric MetricIdentifier",
    "MetricIdentifier": "1 name; 2 selector *LabelSelector",
    "MetricTarget": "1 type; 2 value *Quantity; 3 averageValue *Quantity;"
                    "4 averageUtilization *int",
    "HorizontalPodAutoscalerBehavior": "1 scaleUp *HPAScalingRules; 2 scaleDown *HPAScalingRules",
    "HPAScalingRules": "1 selectPolicy *str; 2 policies []HPAScalingPolicy;"
                       "3 stabilizationWindowSeconds *int; 4 tolerance *Quantity",
    "HPAScalingPolicy": "1 type; 2 value int; 3 periodSeconds int",
}

MESSAGES: dict[str, dict[int, Field]] = {name: _table(spec) for name, spec in _SPECS.items()}

# (apiVersion, kind) -> top-level message. Everything kubectl >= 1.32 sends as protobuf.
KINDS: dict[tuple[str, str], str] = {
    ("v1", "Namespace"): "Namespace",
    ("v1", "ConfigMap"): "ConfigMap",
    ("v1", "Secret"): "Secret",
    ("v1", "ServiceAccount"): "ServiceAccount",
    ("v1", "Service"): "Service",
    ("apps/v1", "Deployment"): "Deployment",
    ("batch/v1", "Job"): "Job",
    ("autoscaling/v1", "HorizontalPodAutoscaler"): "HorizontalPodAutoscalerV1",
    ("autoscaling/v2", "HorizontalPodAutoscaler"): "HorizontalPodAutoscalerV2",
}

_SCALARS = {"str", "int", "bool", "bytes", "Time", "Quantity", "IntOrString"}


# --------------------------------------------------------------------------- decoding


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtobufError(f"invalid UTF-8 in string field: {exc}") from None


def _as_bytes(wire: int, value: Any, what: str) -> bytes:
    if wire != 2:
        raise ProtobufError(f"{what}: expected a length-delimited field, got wire type {wire}")
    return value


def _as_int(wire: int, value: Any, what: str) -> int:
    if wire != 0:
        raise ProtobufError(f"{what}: expected a varint, got wire type {wire}")
    return _signed(value)


def _time(raw: bytes) -> str | None:
    """meta/v1 Time{1 seconds, 2 nanos} -> RFC3339; the zero Time is Go's "unset"."""
    seconds = nanos = 0
    for number, wire, value in iter_fields(raw):
        if number == 1:
            seconds = _as_int(wire, value, "Time.seconds")
        elif number == 2:
            nanos = _as_int(wire, value, "Time.nanos")
    if not seconds and not nanos:
        return None
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _quantity(raw: bytes) -> str:
    """resource.Quantity{1 string}: JSON carries the canonical string ("500m")."""
    text = ""
    for number, wire, value in iter_fields(raw):
        if number == 1:
            text = _text(_as_bytes(wire, value, "Quantity.string"))
    return text


def _int_or_string(raw: bytes) -> int | str:
    """intstr.IntOrString{1 type (0 int, 1 string), 2 intVal, 3 strVal} -> int or str."""
    kind, int_val, str_val = 0, 0, ""
    for number, wire, value in iter_fields(raw):
        if number == 1:
            kind = _as_int(wire, value, "IntOrString.type")
        elif number == 2:
            int_val = _as_int(wire, value, "IntOrString.intVal")
        elif number == 3:
            str_val = _text(_as_bytes(wire, value, "IntOrString.strVal"))
    return str_val if kind == 1 else int_val


def _scalar(typ: str, wire: int, value: Any, what: str) -> Any:
    if typ == "str":
        return _text(_as_bytes(wire, value, what))
    if typ == "bytes":
        return base64.b64encode(_as_bytes(wire, value, what)).decode("ascii")
    if typ == "int":
        return _as_int(wire, value, what)
    if typ == "bool":
        return bool(_as_int(wire, value, what))
    if typ == "Time":
        return _time(_as_bytes(wire, value, what))
    if typ == "Quantity":
        return _quantity(_as_bytes(wire, value, what))
    if typ == "IntOrString":
        return _int_or_string(_as_bytes(wire, value, what))
    raise AssertionError(typ)


def _map_entry(raw: bytes, value_type: str, what: str) -> tuple[str, Any]:
    """Map entries are messages {1 key, 2 value}; a missing value is the zero value."""
    key, val = "", _scalar(value_type, 2, b"", what)
    for number, wire, value in iter_fields(raw):
        if number == 1:
            key = _text(_as_bytes(wire, value, what))
        elif number == 2:
            val = _scalar(value_type, wire, value, what)
    return key, val


def _is_unset(value: Any) -> bool:
    return value is None or value == "" or value == 0 or value is False or value == {}


def decode_message(name: str, raw: bytes, strict: bool = False) -> dict[str, Any]:
    """Decode one message by its table; unset non-pointer fields are left out.

    Unknown field numbers are skipped (newer clients may send fields we do not model);
    `strict=True` raises instead, which the tests use to prove the tables cover real bodies.
    """
    table = MESSAGES[name]
    out: dict[str, Any] = {}
    for number, wire, value in iter_fields(raw):
        spec = table.get(number)
        if spec is None:
            if strict:
                raise ProtobufError(f"{name}: unknown field number {number}")
            continue
        what = f"{name}.{spec.name}"
        typ = spec.type
        if typ.startswith("map"):
            value_type = typ[4:-1] if typ != "map" else "str"
            key, val = _map_entry(_as_bytes(wire, value, what), value_type, what)
            out.setdefault(spec.name, {})[key] = val
            continue
        if typ in _SCALARS:
            item = _scalar(typ, wire, value, what)
        else:
            item = decode_message(typ, _as_bytes(wire, value, what), strict)
        if spec.inline:
            out.update(item)
        elif spec.repeated:
            out.setdefault(spec.name, []).append(item)
        elif (spec.pointer and item is not None) or not _is_unset(item):
            out[spec.name] = item
        else:
            out.pop(spec.name, None)  # proto2: the last occurrence wins
    return out


def _unknown(body: bytes) -> tuple[str, str, bytes]:
    """Parse the runtime.Unknown envelope: (apiVersion, kind, raw)."""
    api_version = kind = encoding = ""
    raw = b""
    for number, wire, value in iter_fields(body):
        if number == 1:
            for sub, sub_wire, sub_value in iter_fields(_as_bytes(wire, value, "typeMeta")):
                if sub == 1:
                    api_version = _text(_as_bytes(sub_wire, sub_value, "apiVersion"))
                elif sub == 2:
                    kind = _text(_as_bytes(sub_wire, sub_value, "kind"))
        elif number == 2:
            raw = _as_bytes(wire, value, "raw")
        elif number == 3:
            encoding = _text(_as_bytes(wire, value, "contentEncoding"))
    if encoding:
        raise ProtobufError(f"unsupported protobuf contentEncoding {encoding!r}")
    return api_version, kind, raw


def decode_request(body: bytes, strict: bool = False) -> dict[str, Any]:
    """Decode a `application/vnd.kubernetes.protobuf` request body into its JSON object."""
    if not body.startswith(MAGIC):
        raise ProtobufError("not a Kubernetes protobuf body (missing the k8s\\x00 prefix)")
    api_version, kind, raw = _unknown(body[len(MAGIC):])
    if not api_version or not kind:
        raise ProtobufError("protobuf body has no apiVersion/kind")
    message = KINDS.get((api_version, kind))
    if message is None:
        raise ProtobufError(f"protobuf bodies for {kind} ({api_version}) are not supported; "
                            "send JSON instead")
    return {"apiVersion": api_version, "kind": kind, **decode_message(message, raw, strict)}
