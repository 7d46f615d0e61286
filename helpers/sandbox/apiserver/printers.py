"""Server-side printing: the meta.k8s.io/v1 Table kube-apiserver returns for `kubectl get`.

kubectl prints whatever columns and cells the server sends, so to look like a real cluster
the sandbox has to reproduce kube-apiserver's printers (`pkg/printers/internalversion/
printers.go`, v1.30-1.33) cell for cell. Like the real TableConvertor, cells are always
generated in wide form (priority-1 columns included); kubectl drops those columns unless
`-o wide`. One small function per resource key, registered with its columns in `_PRINTERS`.

Descriptions are the API's field docs (1.33 OpenAPI). Where the real printer quotes a
long-gone beta type (extensions/v1beta1, apps/v1beta1, autoscaling/v2beta1, discovery
v1beta1) the current v1 wording is used; kubectl never displays descriptions.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

from helpers.sandbox import util
from helpers.sandbox.apiserver import errors
from helpers.sandbox.apiserver.resources import BY_KEY

# ---------------------------------------------------------------------------------------------
# durations (k8s.io/apimachinery/pkg/util/duration)
# ---------------------------------------------------------------------------------------------

_NS = 1_000_000_000
_MINUTE = 60 * _NS
_HOUR = 60 * _MINUTE


def _nanos(d: timedelta) -> int:
    return ((d.days * 86400 + d.seconds) * 1_000_000 + d.microseconds) * 1000


def _trunc_div(a: int, b: int) -> int:
    """Go's integer division (truncates toward zero), which differs from // for negatives."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def human_duration(d: timedelta) -> str:
    """Port of duration.HumanDuration: ~2-3 significant figures, as in the AGE column."""
    ns = _nanos(d)
    seconds = _trunc_div(ns, _NS)
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 60 * 2:
        return f"{seconds}s"
    minutes = ns // _MINUTE
    if minutes < 10:
        s = (ns // _NS) % 60
        return f"{minutes}m" if s == 0 else f"{minutes}m{s}s"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = ns // _HOUR
    if hours < 8:
        m = minutes % 60
        return f"{hours}h" if m == 0 else f"{hours}h{m}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d" if h == 0 else f"{hours // 24}d{h}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        years = hours // 24 // 365
        return f"{years}y" if dy == 0 else f"{years}y{dy}d"
    return f"{hours // 24 // 365}y"


def short_human_duration(d: timedelta) -> str:
    """Port of duration.ShortHumanDuration (one unit). The apiserver printers do not use it;
    kept for client-side style output such as `kubectl rollout history`-like helpers."""
    ns = _nanos(d)
    seconds = _trunc_div(ns, _NS)
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 60:
        return f"{seconds}s"
    if (minutes := ns // _MINUTE) < 60:
        return f"{minutes}m"
    if (hours := ns // _HOUR) < 24:
        return f"{hours}h"
    if hours < 24 * 365:
        return f"{hours // 24}d"
    return f"{hours // 24 // 365}y"


def _since(ts: str | None, now: datetime) -> str:
    """translateTimestampSince: `<unknown>` for a zero/missing time."""
    t = util.parse_time(ts) if ts else None
    if t is None:
        return "<unknown>"
    return human_duration(now - t)


# ---------------------------------------------------------------------------------------------
# quantities (k8s.io/apimachinery/pkg/api/resource): cells print Quantity.String()
# ---------------------------------------------------------------------------------------------

_BIN = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DEC = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DEC_BY_EXP = {v: k for k, v in _DEC.items()}
_BIN_BY_EXP = {v: k for k, v in _BIN.items()}
_QTY_RE = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))([eE][+-]?\d+|[a-zA-Z]*)$")


def _parse_quantity(s: str) -> tuple[Fraction, str] | None:
    m = _QTY_RE.match(str(s).strip())
    if not m:
        return None
    num, suffix = Fraction(m.group(1)), m.group(2)
    if suffix in _BIN:
        return num * (2 ** _BIN[suffix]), "BinarySI"
    if suffix in _DEC:
        return num * Fraction(10) ** _DEC[suffix], "DecimalSI"
    if suffix[:1] in ("e", "E"):
        return num * Fraction(10) ** int(suffix[1:]), "DecimalExponent"
    return None


def _format_quantity(value: Fraction, fmt: str) -> str:
    """Quantity.CanonicalizeBytes: round up to nano precision, then the largest exact suffix."""
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    nanos = math.ceil(abs(value) * _NS)
    if fmt == "BinarySI" and nanos % _NS == 0 and nanos // _NS >= 1024:
        amount, exp = nanos // _NS, 0
        while amount % 1024 == 0 and exp < 60:
            amount //= 1024
            exp += 10
        return f"{sign}{amount}{_BIN_BY_EXP[exp]}"
    amount, exp = nanos, -9
    while amount % 10 == 0:
        amount //= 10
        exp += 1
    if exp % 3 == 1:
        amount, exp = amount * 10, exp - 1
    elif exp % 3 == 2:
        amount, exp = amount * 100, exp - 2
    if fmt == "DecimalExponent":
        suffix = f"e{exp}" if exp else ""
    else:
        suffix = _DEC_BY_EXP.get(exp, f"e{exp}")
    return f"{sign}{amount}{suffix}"


def _qty(value: Any) -> str:
    """(*Quantity).String(), including the `<nil>` a nil pointer prints."""
    if value is None:
        return "<nil>"
    parsed = _parse_quantity(value)
    return _format_quantity(*parsed) if parsed else str(value)


def _sum_quantities(values: list[Any]) -> str:
    """Quantity.Add over a list; the first addend's format wins, as in Go."""
    total, fmt = Fraction(0), ""
    for v in values:
        parsed = _parse_quantity(v)
        if parsed is None:
            continue
        if not fmt:
            fmt = parsed[1]
        total += parsed[0]
    return _format_quantity(total, fmt or "DecimalSI")


# ---------------------------------------------------------------------------------------------
# small helpers shared by several printers
# ---------------------------------------------------------------------------------------------


def _meta(obj: dict) -> dict:
    return obj.get("metadata") or {}


def _name(obj: dict) -> str:
    return _meta(obj).get("name", "")


def _age(obj: dict, now: datetime) -> str:
    return _since(_meta(obj).get("creationTimestamp"), now)


def _spec(obj: dict) -> dict:
    return obj.get("spec") or {}


def _status(obj: dict) -> dict:
    return obj.get("status") or {}


def _format_labels(labels: dict | None) -> str:
    """labels.FormatLabels: sorted k=v pairs, `<none>` when empty."""
    if not labels:
        return "<none>"
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def _selector_string(selector: dict | None) -> str | None:
    """LabelSelectorAsSelector(...).String(); None if the selector is invalid."""
    if not selector:
        return ""
    reqs: list[tuple[str, str]] = []
    for k, v in (selector.get("matchLabels") or {}).items():
        reqs.append((k, f"{k}={v}"))
    for expr in selector.get("matchExpressions") or []:
        key, op = expr.get("key", ""), expr.get("operator", "")
        values = ",".join(sorted(expr.get("values") or []))
        if op == "In":
            reqs.append((key, f"{key} in ({values})"))
        elif op == "NotIn":
            reqs.append((key, f"{key} notin ({values})"))
        elif op == "Exists":
            reqs.append((key, key))
        elif op == "DoesNotExist":
            reqs.append((key, f"!{key}"))
        else:
            return None
    reqs.sort(key=lambda r: r[0])
    return ",".join(r for _, r in reqs)


def _format_label_selector(selector: dict | None) -> str:
    """metav1.FormatLabelSelector: `<none>` when it selects everything, `<error>` if invalid."""
    s = _selector_string(selector)
    if s is None:
        return "<error>"
    return s or "<none>"


def _containers_cells(pod_spec: dict) -> list[str]:
    """layoutContainerCells: container names and images, comma-joined."""
    containers = pod_spec.get("containers") or []
    return [",".join(c.get("name", "") for c in containers),
            ",".join(c.get("image", "") for c in containers)]


def _template_spec(obj: dict) -> dict:
    return ((_spec(obj).get("template") or {}).get("spec")) or {}


def _int(value: Any, default: int = 0) -> int:
    return default if value is None else int(value)


def _list_with_more(items: list[str], count: int, limit: int = 3) -> str:
    """listWithMoreString: first `limit` entries, ` + N more...`, `<unset>` when empty."""
    ret = ",".join(items[:limit])
    if count > limit:
        return f"{ret} + {count - limit} more..."
    return ret or "<unset>"


# ---------------------------------------------------------------------------------------------
# column definitions
# ---------------------------------------------------------------------------------------------

D_NAME = (
    "Name must be unique within a namespace. Is required when creating resources, although "
    "some resources may allow a client to request the generation of an appropriate name "
    "automatically. Name is primarily intended for creation idempotence and configuration "
    "definition. Cannot be updated. More info: "
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
)
D_AGE = (
    "CreationTimestamp is a timestamp representing the server time when this object was "
    "created. It is not guaranteed to be set in happens-before order across separate "
    "operations. Clients may not set this value. It is represented in RFC3339 form and is in "
    "UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)
D_CONTAINERS = "Names of each container in the template."
D_IMAGES = "Images referenced by each container in the template."
D_READY_PODS = "Number of the pod with ready state"
D_RS_SELECTOR = (
    "Selector is a label query over pods that should match the replica count. Label keys and "
    "values that must match in order to be controlled by this replica set. It must match the "
    "pod template's labels. More info: "
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors"
)
D_NODE_ADDRESSES = (
    "List of addresses reachable to the node. Queried from cloud provider, if available. More "
    "info: https://kubernetes.io/docs/reference/node/node-status/#addresses Note: This field is "
    "declared as mergeable, but the merge key is not sufficiently unique, which can cause data "
    "corruption when it is merged. Callers should instead use a full-replacement patch. See "
    "https://pr.k8s.io/79391 for an example. Consumers should assume that addresses can change "
    "during the lifetime of a Node. However, there are some exceptions where this may not be "
    "possible, such as Pods that inherit a Node's address in its own status or consumers of the "
    "downward API (status.hostIP)."
)
D_ACCESS_MODES_PV = (
    "accessModes contains all ways the volume can be mounted. More info: "
    "https://kubernetes.io/docs/concepts/storage/persistent-volumes#access-modes"
)


def _col(name: str, description: str, *, type: str = "string", format: str = "",
         priority: int = 0) -> dict:
    return {"name": name, "type": type, "format": format, "description": description,
            "priority": priority}


def _name_col() -> dict:
    return _col("Name", D_NAME, format="name")


def _age_col() -> dict:
    return _col("Age", D_AGE)


Printer = Callable[[dict, datetime], list]
_PRINTERS: dict[str, tuple[list[dict], Printer]] = {}


def _printer(key: str, columns: list[dict]) -> Callable[[Printer], Printer]:
    def register(fn: Printer) -> Printer:
        _PRINTERS[key] = (columns, fn)
        return fn
    return register


# ---------------------------------------------------------------------------------------------
# pods
# ---------------------------------------------------------------------------------------------

_POD_COLUMNS = [
    _name_col(),
    _col("Ready", "The aggregate readiness state of this pod for accepting traffic."),
    _col("Status", "The aggregate status of the containers in this pod."),
    _col("Restarts", "The number of times the containers in this pod have been restarted and "
                     "when the last container in this pod has restarted."),
    _age_col(),
    _col("IP", "podIP address allocated to the pod. Routable at least within the cluster. "
               "Empty if not yet allocated.", priority=1),
    _col("Node", "NodeName indicates in which node this pod is scheduled. If empty, this pod is "
                 "a candidate for scheduling by the scheduler defined in schedulerName. Once "
                 "this field is set, the kubelet for this node becomes responsible for the "
                 "lifecycle of this pod. This field should not be used to express a desire for "
                 "the pod to be scheduled on a specific node. https://kubernetes.io/docs/"
                 "concepts/scheduling-eviction/assign-pod-node/#nodename", priority=1),
    _col("Nominated Node", "nominatedNodeName is set only when this pod preempts other pods on "
         "the node, but it cannot be scheduled right away as preemption victims receive their "
         "graceful termination periods. This field does not guarantee that the pod will be "
         "scheduled on this node. Scheduler may decide to place the pod elsewhere if other "
         "nodes become available sooner. Scheduler may also decide to give the resources on "
         "this node to a higher priority pod that is created after preemption. As a result, "
         "this field may be different than PodSpec.nodeName when the pod is scheduled.",
         priority=1),
    _col("Readiness Gates", "If specified, all readiness gates will be evaluated for pod "
         "readiness. A pod is ready when all its containers are ready AND all conditions "
         "specified in the readiness gates have status equal to \"True\" More info: "
         "https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates", priority=1),
]


def _condition_true(conditions: list[dict] | None, ctype: str) -> bool:
    """First condition of the type decides (isPodInitializedConditionTrue / hasJobCondition)."""
    for c in conditions or []:
        if c.get("type") == ctype:
            return c.get("status") == "True"
    return False


def _later(a: datetime | None, ts: str | None) -> datetime | None:
    t = util.parse_time(ts) if ts else None
    if t is None:
        return a
    return t if a is None or t > a else a


@_printer("pods", _POD_COLUMNS)
def _print_pod(pod: dict, now: datetime) -> list:
    """printPod, including sidecars (restartable init containers) and `N (Xs ago)` restarts."""
    spec, status = _spec(pod), _status(pod)
    meta = _meta(pod)
    restarts = 0
    sidecar_restarts = 0
    total = len(spec.get("containers") or [])
    ready = 0
    last_restart: datetime | None = None
    last_sidecar_restart: datetime | None = None

    phase = status.get("phase", "")
    reason = status.get("reason") or phase
    conditions = status.get("conditions") or []
    for c in conditions:
        if c.get("type") == "PodScheduled" and c.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"

    init_specs = {c.get("name"): c for c in spec.get("initContainers") or []}

    def is_sidecar(name: str | None) -> bool:
        return (init_specs.get(name) or {}).get("restartPolicy") == "Always"

    total += sum(1 for c in init_specs.values() if c.get("restartPolicy") == "Always")

    initializing = False
    n_init = len(spec.get("initContainers") or [])
    for i, cs in enumerate(status.get("initContainerStatuses") or []):
        state = cs.get("state") or {}
        terminated, waiting = state.get("terminated"), state.get("waiting")
        last_term = (cs.get("lastState") or {}).get("terminated")
        restarts += _int(cs.get("restartCount"))
        if last_term:
            last_restart = _later(last_restart, last_term.get("finishedAt"))
        if is_sidecar(cs.get("name")):
            sidecar_restarts += _int(cs.get("restartCount"))
            if last_term:
                last_sidecar_restart = _later(last_sidecar_restart, last_term.get("finishedAt"))
        if terminated is not None and _int(terminated.get("exitCode")) == 0:
            continue
        if is_sidecar(cs.get("name")) and cs.get("started"):
            if cs.get("ready"):
                ready += 1
            continue
        if terminated is not None:
            if not terminated.get("reason"):
                if _int(terminated.get("signal")):
                    reason = f"Init:Signal:{_int(terminated.get('signal'))}"
                else:
                    reason = f"Init:ExitCode:{_int(terminated.get('exitCode'))}"
            else:
                reason = "Init:" + terminated["reason"]
        elif waiting and waiting.get("reason") and waiting.get("reason") != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{i}/{n_init}"
        initializing = True
        break

    if not initializing or _condition_true(conditions, "Initialized"):
        restarts = sidecar_restarts
        last_restart = last_sidecar_restart
        has_running = False
        for cs in reversed(status.get("containerStatuses") or []):
            state = cs.get("state") or {}
            terminated, waiting = state.get("terminated"), state.get("waiting")
            restarts += _int(cs.get("restartCount"))
            last_term = (cs.get("lastState") or {}).get("terminated")
            if last_term:
                last_restart = _later(last_restart, last_term.get("finishedAt"))
            if waiting is not None and waiting.get("reason"):
                reason = waiting["reason"]
            elif terminated is not None and terminated.get("reason"):
                reason = terminated["reason"]
            elif terminated is not None:
                if _int(terminated.get("signal")):
                    reason = f"Signal:{_int(terminated.get('signal'))}"
                else:
                    reason = f"ExitCode:{_int(terminated.get('exitCode'))}"
            elif cs.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            reason = "Running" if _condition_true(conditions, "Ready") else "NotReady"

    if meta.get("deletionTimestamp") and status.get("reason") == "NodeLost":
        reason = "Unknown"
    elif meta.get("deletionTimestamp") and phase not in ("Succeeded", "Failed"):
        reason = "Terminating"

    restarts_str = str(restarts)
    if restarts and last_restart is not None:
        restarts_str = f"{restarts} ({human_duration(now - last_restart)} ago)"

    pod_ips = status.get("podIPs") or []
    pod_ip = (pod_ips[0].get("ip") if pod_ips else status.get("podIP")) or "<none>"
    gates = spec.get("readinessGates") or []
    readiness_gates = "<none>"
    if gates:
        true_count = 0
        for gate in gates:
            for c in conditions:
                if c.get("type") == gate.get("conditionType"):
                    true_count += c.get("status") == "True"
                    break
        readiness_gates = f"{true_count}/{len(gates)}"
    return [
        _name(pod), f"{ready}/{total}", reason, restarts_str, _age(pod, now),
        pod_ip, spec.get("nodeName") or "<none>", status.get("nominatedNodeName") or "<none>",
        readiness_gates,
    ]


def _pod_row_conditions(pod: dict) -> list[dict] | None:
    """Table row conditions the real printer attaches to finished pods."""
    phase = _status(pod).get("phase")
    if phase == "Succeeded":
        return [{"type": "Completed", "status": "True", "reason": "Succeeded",
                 "message": "The pod has completed successfully."}]
    if phase == "Failed":
        return [{"type": "Completed", "status": "True", "reason": "Failed",
                 "message": "The pod failed."}]
    return None


# ---------------------------------------------------------------------------------------------
# services, endpoints, endpointslices
# ---------------------------------------------------------------------------------------------

_SERVICE_COLUMNS = [
    _name_col(),
    _col("Type", "type determines how the Service is exposed. Defaults to ClusterIP. Valid "
         "options are ExternalName, ClusterIP, NodePort, and LoadBalancer. \"ClusterIP\" "
         "allocates a cluster-internal IP address for load-balancing to endpoints. Endpoints "
         "are determined by the selector or if that is not specified, by manual construction "
         "of an Endpoints object or EndpointSlice objects. If clusterIP is \"None\", no virtual "
         "IP is allocated and the endpoints are published as a set of endpoints rather than a "
         "virtual IP. \"NodePort\" builds on ClusterIP and allocates a port on every node which "
         "routes to the same endpoints as the clusterIP. \"LoadBalancer\" builds on NodePort "
         "and creates an external load-balancer (if supported in the current cloud) which "
         "routes to the same endpoints as the clusterIP. \"ExternalName\" aliases this service "
         "to the specified externalName. Several other fields do not apply to ExternalName "
         "services. More info: https://kubernetes.io/docs/concepts/services-networking/"
         "service/#publishing-services-service-types"),
    _col("Cluster-IP", "clusterIP is the IP address of the service and is usually assigned "
         "randomly. If an address is specified manually, is in-range (as per system "
         "configuration), and is not in use, it will be allocated to the service; otherwise "
         "creation of the service will fail. This field may not be changed through updates "
         "unless the type field is also being changed to ExternalName (which requires this "
         "field to be blank) or the type field is being changed from ExternalName (in which "
         "case this field may optionally be specified, as describe above).  Valid values are "
         "\"None\", empty string (\"\"), or a valid IP address. Setting this to \"None\" makes "
         "a \"headless service\" (no virtual IP), which is useful when direct endpoint "
         "connections are preferred and proxying is not required.  Only applies to types "
         "ClusterIP, NodePort, and LoadBalancer. If this field is specified when creating a "
         "Service of type ExternalName, creation will fail. This field will be wiped when "
         "updating a Service to type ExternalName. More info: https://kubernetes.io/docs/"
         "concepts/services-networking/service/#virtual-ips-and-service-proxies"),
    _col("External-IP", "externalIPs is a list of IP addresses for which nodes in the cluster "
         "will also accept traffic for this service.  These IPs are not managed by Kubernetes. "
         " The user is responsible for ensuring that traffic arrives at a node with this IP.  "
         "A common example is external load-balancers that are not part of the Kubernetes "
         "system."),
    _col("Port(s)", "The list of ports that are exposed by this service. More info: "
         "https://kubernetes.io/docs/concepts/services-networking/service/"
         "#virtual-ips-and-service-proxies"),
    _age_col(),
    _col("Selector", "Route service traffic to pods with label keys and values matching this "
         "selector. If empty or not present, the service is assumed to have an external "
         "process managing its endpoints, which Kubernetes will not modify. Only applies to "
         "types ClusterIP, NodePort, and LoadBalancer. Ignored if type is ExternalName. More "
         "info: https://kubernetes.io/docs/concepts/services-networking/service/", priority=1),
]

_LOAD_BALANCER_WIDTH = 16


def _service_external_ip(svc: dict) -> str:
    """getServiceExternalIP with wide=True (the server always renders wide)."""
    spec = _spec(svc)
    svc_type = spec.get("type") or "ClusterIP"
    external_ips = spec.get("externalIPs") or []
    if svc_type in ("ClusterIP", "NodePort"):
        return ",".join(external_ips) if external_ips else "<none>"
    if svc_type == "LoadBalancer":
        ingress = ((_status(svc).get("loadBalancer") or {}).get("ingress")) or []
        seen = sorted({i.get("ip") or i.get("hostname") for i in ingress
                       if i.get("ip") or i.get("hostname")})
        lb_ips = ",".join(seen)
        if external_ips:
            return ",".join([*seen, *external_ips])
        return lb_ips or "<pending>"
    if svc_type == "ExternalName":
        return spec.get("externalName", "")
    return "<unknown>"


def _port_string(ports: list[dict]) -> str:
    """makePortString: `80/TCP`, `80:30123/TCP`, comma-joined."""
    pieces = []
    for p in ports:
        proto = p.get("protocol") or "TCP"
        if _int(p.get("nodePort")) > 0:
            pieces.append(f"{p.get('port')}:{p['nodePort']}/{proto}")
        else:
            pieces.append(f"{p.get('port')}/{proto}")
    return ",".join(pieces)


@_printer("services", _SERVICE_COLUMNS)
def _print_service(svc: dict, now: datetime) -> list:
    spec = _spec(svc)
    cluster_ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
    return [
        _name(svc), spec.get("type") or "ClusterIP", cluster_ips[0] if cluster_ips else "<none>",
        _service_external_ip(svc), _port_string(spec.get("ports") or []) or "<none>",
        _age(svc, now), _format_labels(spec.get("selector")),
    ]


def _join_host_port(host: str, port: Any) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _format_endpoints(ep: dict) -> str:
    """formatEndpoints: ready `ip:port` entries, at most 3, then ` + N more...`."""
    subsets = ep.get("subsets") or []
    if not subsets:
        return "<none>"
    items: list[str] = []
    limit, count, more = 3, 0, False
    for ss in subsets:
        addresses = ss.get("addresses") or []
        ports = ss.get("ports") or []
        if not ports:
            count += len(addresses)
            for a in addresses:
                if len(items) == limit:
                    more = True
                    break
                items.append(a.get("ip", ""))
            continue
        for port in ports:
            count += len(addresses)
            for a in addresses:
                if len(items) == limit:
                    more = True
                    break
                items.append(_join_host_port(a.get("ip", ""), port.get("port")))
    ret = ",".join(items)
    return f"{ret} + {count - limit} more..." if more else ret


@_printer("endpoints", [
    _name_col(),
    _col("Endpoints", "The set of all endpoints is the union of all subsets. Addresses are "
         "placed into subsets according to the IPs they share. A single address with multiple "
         "ports, some of which are ready and some of which are not (because they come from "
         "different containers) will result in the address being displayed in different "
         "subsets for the different ports. No address will appear in both Addresses and "
         "NotReadyAddresses in the same subset. Sets of addresses and ports that comprise a "
         "service."),
    _age_col(),
])
def _print_endpoints(ep: dict, now: datetime) -> list:
    return [_name(ep), _format_endpoints(ep), _age(ep, now)]


@_printer("endpointslices", [
    _name_col(),
    _col("AddressType", "addressType specifies the type of address carried by this "
         "EndpointSlice. All addresses in this slice must be the same type. This field is "
         "immutable after creation. The following address types are currently supported: * "
         "IPv4: Represents an IPv4 Address. * IPv6: Represents an IPv6 Address. * FQDN: "
         "Represents a Fully Qualified Domain Name. (Deprecated) The EndpointSlice controller "
         "only generates, and kube-proxy only processes, slices of addressType \"IPv4\" and "
         "\"IPv6\". No semantics are defined for the \"FQDN\" type."),
    _col("Ports", "ports specifies the list of network ports exposed by each endpoint in this "
         "slice. Each port must have a unique name. Each slice may include a maximum of 100 "
         "ports. Services always have at least 1 port, so EndpointSlices generated by the "
         "EndpointSlice controller will likewise always have at least 1 port. EndpointSlices "
         "used for other purposes may have an empty ports list."),
    _col("Endpoints", "endpoints is a list of unique endpoints in this slice. Each slice may "
         "include a maximum of 1000 endpoints."),
    _age_col(),
])
def _print_endpointslice(es: dict, now: datetime) -> list:
    ports = []
    for p in es.get("ports") or []:
        if p.get("port") is not None:
            ports.append(str(p["port"]))
        elif p.get("name") is not None:
            ports.append(p["name"])
        else:
            ports.append("*")
    addresses = [a for e in es.get("endpoints") or [] for a in e.get("addresses") or []]
    return [
        _name(es), es.get("addressType", ""), _list_with_more(ports, len(ports)),
        _list_with_more(addresses, len(addresses)), _age(es, now),
    ]


# ---------------------------------------------------------------------------------------------
# namespaces, nodes, events, config
# ---------------------------------------------------------------------------------------------


@_printer("namespaces", [
    _name_col(), _col("Status", "The status of the namespace"), _age_col(),
])
def _print_namespace(ns: dict, now: datetime) -> list:
    return [_name(ns), _status(ns).get("phase", ""), _age(ns, now)]


@_printer("nodes", [
    _name_col(),
    _col("Status", "The status of the node"),
    _col("Roles", "The roles of the node"),
    _age_col(),
    _col("Version", "Kubelet Version reported by the node."),
    _col("Internal-IP", D_NODE_ADDRESSES, priority=1),
    _col("External-IP", D_NODE_ADDRESSES, priority=1),
    _col("OS-Image", "OS Image reported by the node from /etc/os-release (e.g. Debian "
         "GNU/Linux 7 (wheezy)).", priority=1),
    _col("Kernel-Version", "Kernel Version reported by the node from 'uname -r' (e.g. "
         "3.16.0-0.bpo.4-amd64).", priority=1),
    _col("Container-Runtime", "ContainerRuntime Version reported by the node through runtime "
         "remote API (e.g. containerd://1.4.2).", priority=1),
])
def _print_node(node: dict, now: datetime) -> list:
    status = _status(node)
    ready = None
    for c in status.get("conditions") or []:
        if c.get("type") == "Ready":
            ready = c  # a map keyed by type upstream: the last one wins
    states = [] if ready is None else ["Ready" if ready.get("status") == "True" else "NotReady"]
    states = states or ["Unknown"]
    if _spec(node).get("unschedulable"):
        states.append("SchedulingDisabled")
    roles = set()
    for k, v in (_meta(node).get("labels") or {}).items():
        if k.startswith("node-role.kubernetes.io/"):
            if role := k.removeprefix("node-role.kubernetes.io/"):
                roles.add(role)
        elif k == "kubernetes.io/role" and v:
            roles.add(v)
    info = status.get("nodeInfo") or {}

    def address(kind: str) -> str:
        return next((a.get("address", "") for a in status.get("addresses") or []
                     if a.get("type") == kind), "<none>")

    return [
        _name(node), ",".join(states), ",".join(sorted(roles)) or "<none>", _age(node, now),
        info.get("kubeletVersion", ""), address("InternalIP"), address("ExternalIP"),
        info.get("osImage") or "<unknown>", info.get("kernelVersion") or "<unknown>",
        info.get("containerRuntimeVersion") or "<unknown>",
    ]


@_printer("events", [
    _col("Last Seen", "The time at which the most recent occurrence of this event was "
         "recorded."),
    _col("Type", "Type of this event (Normal, Warning), new types could be added in the future"),
    _col("Reason", "This should be a short, machine understandable string that gives the "
         "reason for the transition into the object's current status."),
    _col("Object", "The object that this event is about."),
    _col("Subobject", "If referring to a piece of an object instead of an entire object, this "
         "string should contain a valid JSON/Go field access statement, such as "
         "desiredState.manifest.containers[2]. For example, if the object reference is to a "
         "container within a pod, this would take on a value like: \"spec.containers{name}\" "
         "(where \"name\" refers to the name of the container that triggered the event) or if "
         "no container name is specified \"spec.containers[2]\" (container with index 2 in "
         "this pod). This syntax is chosen only to have some well-defined way of referencing a "
         "part of an object.", priority=1),
    _col("Source", "The component reporting this event. Should be a short machine "
         "understandable string.", priority=1),
    _col("Message", "A human-readable description of the status of this operation."),
    _col("First Seen", "The time at which the event was first recorded. (Time of server "
         "receipt is in TypeMeta.)", priority=1),
    _col("Count", "The number of times this event has occurred.", priority=1),
    _col("Name", D_NAME, format="name", priority=1),
])
def _print_event(ev: dict, now: datetime) -> list:
    """printEvent (wide order): LAST SEEN falls back to firstTimestamp, then eventTime."""
    first = (_since(ev["firstTimestamp"], now) if ev.get("firstTimestamp")
             else _since(ev.get("eventTime"), now))
    last = _since(ev["lastTimestamp"], now) if ev.get("lastTimestamp") else first
    count = _int(ev.get("count"))
    if ev.get("series"):
        last = _since(ev["series"].get("lastObservedTime"), now)
        count = _int(ev["series"].get("count"))
    elif count == 0:
        count = 1
    involved = ev.get("involvedObject") or {}
    kind = (involved.get("kind") or "").lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    source = ev.get("source") or {}
    component = source.get("component") or ev.get("reportingComponent") or ""
    instance = source.get("host") or ev.get("reportingInstance") or ""
    return [
        last, ev.get("type", ""), ev.get("reason", ""), target, involved.get("fieldPath", ""),
        f"{component}, {instance}" if instance else component,
        (ev.get("message") or "").strip(), first, count, _name(ev),
    ]


@_printer("configmaps", [
    _name_col(),
    _col("Data", "Data contains the configuration data. Each key must consist of alphanumeric "
         "characters, '-', '_' or '.'. Values with non-UTF-8 byte sequences must use the "
         "BinaryData field. The keys stored in Data must not overlap with the keys in the "
         "BinaryData field, this is enforced during validation process."),
    _age_col(),
])
def _print_configmap(cm: dict, now: datetime) -> list:
    return [_name(cm), len(cm.get("data") or {}) + len(cm.get("binaryData") or {}), _age(cm, now)]


@_printer("secrets", [
    _name_col(),
    _col("Type", "Used to facilitate programmatic handling of secret data. More info: "
         "https://kubernetes.io/docs/concepts/configuration/secret/#secret-types"),
    _col("Data", "Data contains the secret data. Each key must consist of alphanumeric "
         "characters, '-', '_' or '.'. The serialized form of the secret data is a base64 "
         "encoded string, representing the arbitrary (possibly non-string) data value here. "
         "Described in https://tools.ietf.org/html/rfc4648#section-4"),
    _age_col(),
])
def _print_secret(secret: dict, now: datetime) -> list:
    return [_name(secret), secret.get("type", ""), len(secret.get("data") or {}),
            _age(secret, now)]


@_printer("serviceaccounts", [
    _name_col(),
    _col("Secrets", "Secrets is a list of the secrets in the same namespace that pods running "
         "using this ServiceAccount are allowed to use. Pods are only limited to this list if "
         "this service account has a \"kubernetes.io/enforce-mountable-secrets\" annotation "
         "set to \"true\". The \"kubernetes.io/enforce-mountable-secrets\" annotation is "
         "deprecated since v1.32. Prefer separate namespaces to isolate access to mounted "
         "secrets. This field should not be used to find auto-generated service account token "
         "secrets for use outside of pods. Instead, tokens can be requested directly using the "
         "TokenRequest API, or service account token secrets can be manually created. More "
         "info: https://kubernetes.io/docs/concepts/configuration/secret"),
    _age_col(),
])
def _print_serviceaccount(sa: dict, now: datetime) -> list:
    """1.30-1.33 still print SECRETS (the column was dropped in 1.34)."""
    return [_name(sa), len(sa.get("secrets") or []), _age(sa, now)]


# ---------------------------------------------------------------------------------------------
# storage
# ---------------------------------------------------------------------------------------------


def _access_modes(modes: list[str] | None) -> str:
    """GetAccessModesAsString: fixed order, duplicates dropped."""
    modes = modes or []
    short = [("ReadWriteOnce", "RWO"), ("ReadOnlyMany", "ROX"), ("ReadWriteMany", "RWX"),
             ("ReadWriteOncePod", "RWOP")]
    return ",".join(s for mode, s in short if mode in modes)


def _storage_class_of(obj: dict) -> str:
    """GetPersistentVolume(Claim)Class: the beta annotation wins over spec.storageClassName."""
    ann = _meta(obj).get("annotations") or {}
    if "volume.beta.kubernetes.io/storage-class" in ann:
        return ann["volume.beta.kubernetes.io/storage-class"]
    return _spec(obj).get("storageClassName") or ""


@_printer("persistentvolumes", [
    _name_col(),
    _col("Capacity", "capacity is the description of the persistent volume's resources and "
         "capacity. More info: "
         "https://kubernetes.io/docs/concepts/storage/persistent-volumes#capacity"),
    _col("Access Modes", D_ACCESS_MODES_PV),
    _col("Reclaim Policy", "persistentVolumeReclaimPolicy defines what happens to a persistent "
         "volume when released from its claim. Valid options are Retain (default for manually "
         "created PersistentVolumes), Delete (default for dynamically provisioned "
         "PersistentVolumes), and Recycle (deprecated). Recycle must be supported by the volume "
         "plugin underlying this PersistentVolume. More info: "
         "https://kubernetes.io/docs/concepts/storage/persistent-volumes#reclaiming"),
    _col("Status", "phase indicates if a volume is available, bound to a claim, or released by "
         "a claim. More info: "
         "https://kubernetes.io/docs/concepts/storage/persistent-volumes#phase"),
    _col("Claim", "claimRef is part of a bi-directional binding between PersistentVolume and "
         "PersistentVolumeClaim. Expected to be non-nil when bound. claim.VolumeName is the "
         "authoritative bind between PV and PVC. More info: "
         "https://kubernetes.io/docs/concepts/storage/persistent-volumes#binding"),
    _col("StorageClass", "StorageClass of the pv"),
    _col("VolumeAttributesClass", "VolumeAttributesClass of the pv"),
    _col("Reason", "reason is a brief CamelCase string that describes any failure and is meant "
         "for machine parsing and tidy display in the CLI."),
    _age_col(),
    _col("VolumeMode", "volumeMode defines if a volume is intended to be used with a formatted "
         "filesystem or to remain in raw block state. Value of Filesystem is implied when not "
         "included in spec.", priority=1),
])
def _print_pv(pv: dict, now: datetime) -> list:
    spec, status = _spec(pv), _status(pv)
    claim = spec.get("claimRef")
    claim_str = f"{claim.get('namespace', '')}/{claim.get('name', '')}" if claim else ""
    phase = "Terminating" if _meta(pv).get("deletionTimestamp") else status.get("phase", "")
    vac = spec.get("volumeAttributesClassName")
    return [
        _name(pv), _qty((spec.get("capacity") or {}).get("storage", "0")),
        _access_modes(spec.get("accessModes")), spec.get("persistentVolumeReclaimPolicy", ""),
        phase, claim_str, _storage_class_of(pv), "<unset>" if vac is None else vac,
        status.get("reason", ""), _age(pv, now), spec.get("volumeMode") or "<unset>",
    ]


@_printer("persistentvolumeclaims", [
    _name_col(),
    _col("Status", "phase represents the current phase of PersistentVolumeClaim."),
    _col("Volume", "volumeName is the binding reference to the PersistentVolume backing this "
         "claim."),
    _col("Capacity", "capacity represents the actual resources of the underlying volume."),
    _col("Access Modes", "accessModes contains the actual access modes the volume backing the "
         "PVC has. More info: "
         "https://kubernetes.io/docs/concepts/storage/persistent-volumes#access-modes-1"),
    _col("StorageClass", "StorageClass of the pvc"),
    _col("VolumeAttributesClass", "VolumeAttributesClass of the pvc"),
    _age_col(),
    _col("VolumeMode", "volumeMode defines what type of volume is required by the claim. Value "
         "of Filesystem is implied when not included in claim spec.", priority=1),
])
def _print_pvc(pvc: dict, now: datetime) -> list:
    """Capacity and access modes only show once bound (spec.volumeName set)."""
    spec, status = _spec(pvc), _status(pvc)
    phase = "Terminating" if _meta(pvc).get("deletionTimestamp") else status.get("phase", "")
    capacity = access = ""
    if spec.get("volumeName"):
        access = _access_modes(status.get("accessModes"))
        capacity = _qty((status.get("capacity") or {}).get("storage", "0"))
    vac = spec.get("volumeAttributesClassName")
    return [
        _name(pvc), phase, spec.get("volumeName", ""), capacity, access, _storage_class_of(pvc),
        "<unset>" if vac is None else vac, _age(pvc, now), spec.get("volumeMode") or "<unset>",
    ]


@_printer("storageclasses", [
    _name_col(),
    _col("Provisioner", "provisioner indicates the type of the provisioner."),
    _col("ReclaimPolicy", "reclaimPolicy controls the reclaimPolicy for dynamically "
         "provisioned PersistentVolumes of this storage class. Defaults to Delete."),
    _col("VolumeBindingMode", "volumeBindingMode indicates how PersistentVolumeClaims should be "
         "provisioned and bound.  When unset, VolumeBindingImmediate is used. This field is "
         "only honored by servers that enable the VolumeScheduling feature."),
    _col("AllowVolumeExpansion", "allowVolumeExpansion shows whether the storage class allow "
         "volume expand."),
    _age_col(),
])
def _print_storageclass(sc: dict, now: datetime) -> list:
    ann = _meta(sc).get("annotations") or {}
    name = _name(sc)
    if (ann.get("storageclass.kubernetes.io/is-default-class") == "true"
            or ann.get("storageclass.beta.kubernetes.io/is-default-class") == "true"):
        name += " (default)"
    return [
        name, sc.get("provisioner", ""), sc.get("reclaimPolicy") or "Delete",
        sc.get("volumeBindingMode") or "Immediate", bool(sc.get("allowVolumeExpansion")),
        _age(sc, now),
    ]


# ---------------------------------------------------------------------------------------------
# workloads
# ---------------------------------------------------------------------------------------------


@_printer("deployments", [
    _name_col(),
    _col("Ready", D_READY_PODS),
    _col("Up-to-date", "Total number of non-terminating pods targeted by this deployment that "
         "have the desired template spec."),
    _col("Available", "Total number of available non-terminating pods (ready for at least "
         "minReadySeconds) targeted by this deployment."),
    _age_col(),
    _col("Containers", D_CONTAINERS, priority=1),
    _col("Images", D_IMAGES, priority=1),
    _col("Selector", "Label selector for pods. Existing ReplicaSets whose pods are selected by "
         "this will be the ones affected by this deployment. It must match the pod template's "
         "labels.", priority=1),
])
def _print_deployment(d: dict, now: datetime) -> list:
    spec, status = _spec(d), _status(d)
    selector = _selector_string(spec.get("selector"))
    return [
        _name(d), f"{_int(status.get('readyReplicas'))}/{_int(spec.get('replicas'), 1)}",
        _int(status.get("updatedReplicas")), _int(status.get("availableReplicas")), _age(d, now),
        *_containers_cells(_template_spec(d)), "<invalid>" if selector is None else selector,
    ]


@_printer("replicasets", [
    _name_col(),
    _col("Desired", "Replicas is the number of desired pods. This is a pointer to distinguish "
         "between explicit zero and unspecified. Defaults to 1. More info: "
         "https://kubernetes.io/docs/concepts/workloads/controllers/replicaset",
         type="integer"),
    _col("Current", "Replicas is the most recently observed number of non-terminating pods. "
         "More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicaset",
         type="integer"),
    _col("Ready", "The number of non-terminating pods targeted by this ReplicaSet with a Ready "
         "Condition.", type="integer"),
    _age_col(),
    _col("Containers", D_CONTAINERS, priority=1),
    _col("Images", D_IMAGES, priority=1),
    _col("Selector", D_RS_SELECTOR, priority=1),
])
def _print_replicaset(rs: dict, now: datetime) -> list:
    spec, status = _spec(rs), _status(rs)
    return [
        _name(rs), _int(spec.get("replicas"), 1), _int(status.get("replicas")),
        _int(status.get("readyReplicas")), _age(rs, now), *_containers_cells(_template_spec(rs)),
        _format_label_selector(spec.get("selector")),
    ]


@_printer("statefulsets", [
    _name_col(),
    _col("Ready", D_READY_PODS),
    _age_col(),
    _col("Containers", D_CONTAINERS, priority=1),
    _col("Images", D_IMAGES, priority=1),
])
def _print_statefulset(sts: dict, now: datetime) -> list:
    spec, status = _spec(sts), _status(sts)
    return [
        _name(sts), f"{_int(status.get('readyReplicas'))}/{_int(spec.get('replicas'), 1)}",
        _age(sts, now), *_containers_cells(_template_spec(sts)),
    ]


@_printer("controllerrevisions", [
    _name_col(),
    _col("Controller", "Controller of the object"),
    _col("Revision", "Revision indicates the revision of the state represented by Data."),
    _age_col(),
])
def _print_controllerrevision(cr: dict, now: datetime) -> list:
    """CONTROLLER is `<kind>.<group>/<name>` lower-cased kind, e.g. `statefulset.apps/web`."""
    ref = next((r for r in _meta(cr).get("ownerReferences") or [] if r.get("controller")), None)
    controller = "<none>"
    if ref is not None:
        group = ref.get("apiVersion", "").rpartition("/")[0]
        kind = ref.get("kind", "")
        if kind:
            gk = f"{kind}.{group}" if group else kind
            controller = f"{gk.lower()}/{ref.get('name', '')}"
        else:
            controller = ref.get("name", "")
    return [_name(cr), controller, _int(cr.get("revision")), _age(cr, now)]


@_printer("jobs", [
    _name_col(),
    _col("Status", "Status of the job."),
    _col("Completions", "The number of pods which reached phase Succeeded. The value increases "
         "monotonically for a given spec. However, it may decrease in reaction to scale down "
         "of elastic indexed jobs."),
    _col("Duration", "Time required to complete the job."),
    _age_col(),
    _col("Containers", D_CONTAINERS, priority=1),
    _col("Images", D_IMAGES, priority=1),
    _col("Selector", "A label query over pods that should match the pod count. Normally, the "
         "system sets this field for you. More info: https://kubernetes.io/docs/concepts/"
         "overview/working-with-objects/labels/#label-selectors", priority=1),
])
def _print_job(job: dict, now: datetime) -> list:
    spec, status = _spec(job), _status(job)
    succeeded = _int(status.get("succeeded"))
    if spec.get("completions") is not None:
        completions = f"{succeeded}/{spec['completions']}"
    elif _int(spec.get("parallelism")) > 1:
        completions = f"{succeeded}/1 of {spec['parallelism']}"
    else:
        completions = f"{succeeded}/1"
    start = util.parse_time(status.get("startTime"))
    done = util.parse_time(status.get("completionTime"))
    duration = ""
    if start is not None:
        duration = human_duration((done or now) - start)
    conditions = status.get("conditions") or []
    if _condition_true(conditions, "Complete"):
        state = "Complete"
    elif _condition_true(conditions, "Failed"):
        state = "Failed"
    elif _meta(job).get("deletionTimestamp"):
        state = "Terminating"
    elif _condition_true(conditions, "Suspended"):
        state = "Suspended"
    elif _condition_true(conditions, "FailureTarget"):
        state = "FailureTarget"
    else:
        state = "Running"
    return [
        _name(job), state, completions, duration, _age(job, now),
        *_containers_cells(_template_spec(job)), _format_label_selector(spec.get("selector")),
    ]


# ---------------------------------------------------------------------------------------------
# autoscaling, coordination
# ---------------------------------------------------------------------------------------------


def _value_or_average(src: dict, cur: dict | None) -> str:
    """An External or Object metric: `current/target`, with ` (avg)` for an averageValue."""
    target = src.get("target") or {}
    if target.get("averageValue") is not None:
        current = "<unknown>"
        if cur and (cur.get("current") or {}).get("averageValue") is not None:
            current = _qty(cur["current"]["averageValue"])
        return f"{current}/{_qty(target['averageValue'])} (avg)"
    current = _qty((cur.get("current") or {}).get("value")) if cur else "<unknown>"
    return f"{current}/{_qty(target.get('value'))}"


def _format_hpa_metrics(specs: list[dict], statuses: list[dict]) -> str:
    """formatHPAMetrics (1.30+): `cpu: 45%/60%`; statuses are matched by index, as upstream."""
    if not specs:
        return "<none>"
    items: list[str] = []
    for i, spec in enumerate(specs):
        st = statuses[i] if i < len(statuses) else {}
        mtype = spec.get("type")
        if mtype in ("External", "Object"):
            field = mtype.lower()
            items.append(_value_or_average(spec.get(field) or {}, st.get(field)))
        elif mtype == "Pods":
            src, cur = spec.get("pods") or {}, st.get("pods")
            current = _qty((cur.get("current") or {}).get("averageValue")) if cur else "<unknown>"
            items.append(f"{current}/{_qty((src.get('target') or {}).get('averageValue'))}")
        elif mtype in ("Resource", "ContainerResource"):
            field = "resource" if mtype == "Resource" else "containerResource"
            src, cur = spec.get(field) or {}, st.get(field)
            target = src.get("target") or {}
            name = src.get("name", "")
            if target.get("averageValue") is not None:
                current = (_qty((cur.get("current") or {}).get("averageValue")) if cur
                           else "<unknown>")
                items.append(f"{name}: {current}/{_qty(target['averageValue'])}")
            else:
                current = "<unknown>"
                if cur and (cur.get("current") or {}).get("averageUtilization") is not None:
                    current = f"{cur['current']['averageUtilization']}%"
                want = "<auto>"
                if target.get("averageUtilization") is not None:
                    want = f"{target['averageUtilization']}%"
                items.append(f"{name}: {current}/{want}")
        else:
            items.append("<unknown type>")
    ret = ", ".join(items[:2])
    return f"{ret} + {len(items) - 2} more..." if len(items) > 2 else ret


@_printer("horizontalpodautoscalers", [
    _name_col(),
    _col("Reference", "scaleTargetRef points to the target resource to scale, and is used to "
         "the pods for which metrics should be collected, as well as to actually change the "
         "replica count."),
    _col("Targets", "metrics contains the specifications for which to use to calculate the "
         "desired replica count (the maximum replica count across all metrics will be used).  "
         "The desired replica count is calculated multiplying the ratio between the target "
         "value and the current value by the current number of pods.  Ergo, metrics used must "
         "decrease as the pod count is increased, and vice-versa.  See the individual metric "
         "source types for more information about how each type of metric must respond. If "
         "not set, the default metric will be set to 80% average CPU utilization."),
    _col("MinPods", "minReplicas is the lower limit for the number of replicas to which the "
         "autoscaler can scale down.  It defaults to 1 pod.  minReplicas is allowed to be 0 if "
         "the alpha feature gate HPAScaleToZero is enabled and at least one Object or External "
         "metric is configured.  Scaling is active as long as at least one metric value is "
         "available."),
    _col("MaxPods", "maxReplicas is the upper limit for the number of replicas to which the "
         "autoscaler can scale up. It cannot be less that minReplicas."),
    _col("Replicas", "currentReplicas is current number of replicas of pods managed by this "
         "autoscaler, as last seen by the autoscaler."),
    _age_col(),
])
def _print_hpa(hpa: dict, now: datetime) -> list:
    """Takes the stored autoscaling/v2 form, whatever version the client asked for."""
    spec, status = _spec(hpa), _status(hpa)
    ref = spec.get("scaleTargetRef") or {}
    min_replicas = spec.get("minReplicas")
    return [
        _name(hpa), f"{ref.get('kind', '')}/{ref.get('name', '')}",
        _format_hpa_metrics(spec.get("metrics") or [], status.get("currentMetrics") or []),
        "<unset>" if min_replicas is None else str(min_replicas), _int(spec.get("maxReplicas")),
        _int(status.get("currentReplicas")), _age(hpa, now),
    ]


@_printer("leases", [
    _name_col(),
    _col("Holder", "holderIdentity contains the identity of the holder of a current lease. If "
         "Coordinated Leader Election is used, the holder identity must be equal to the "
         "elected LeaseCandidate.metadata.name field."),
    _age_col(),
])
def _print_lease(lease: dict, now: datetime) -> list:
    return [_name(lease), _spec(lease).get("holderIdentity") or "", _age(lease, now)]


# ---------------------------------------------------------------------------------------------
# metrics.k8s.io: metrics-server's own convertor (columns follow the usage keys, sorted)
# ---------------------------------------------------------------------------------------------


def _metrics_usage(key: str, obj: dict) -> dict[str, list[Any]]:
    usage: dict[str, list[Any]] = {}
    if key == "nodemetrics":
        for k, v in (obj.get("usage") or {}).items():
            usage.setdefault(k, []).append(v)
    else:
        for c in obj.get("containers") or []:
            for k, v in (c.get("usage") or {}).items():
                usage.setdefault(k, []).append(v)
    return usage


def _metrics_columns(names: list[str]) -> list[dict]:
    return [
        _col("Name", "Name of the resource", format="name"),
        *(_col(n, "", format="quantity") for n in names),
        _col("Window", "", format="duration"),
    ]


def _metrics_names(key: str, objs: list[dict]) -> list[str]:
    """metrics-server takes the column set from the first item's usage keys."""
    return (sorted(_metrics_usage(key, objs[0])) if objs else []) or ["cpu", "memory"]


def _metrics_cells(key: str, obj: dict, names: list[str]) -> list:
    usage = _metrics_usage(key, obj)
    return [_name(obj), *(_sum_quantities(usage.get(n, [])) for n in names),
            obj.get("window", "0s")]


# ---------------------------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------------------------

_METRICS_KEYS = ("podmetrics", "nodemetrics")


def _default_columns() -> list[dict]:
    """rest.NewDefaultTableConvertor: what the apiserver uses for kinds without a printer."""
    return [_name_col(), _col("Created At", D_AGE, type="date")]


def column_definitions(key: str) -> list[dict]:
    """The Table columns for a resource key, in order; priority 1 = shown only with -o wide."""
    if key in _METRICS_KEYS:
        return _metrics_columns(["cpu", "memory"])
    if key in _PRINTERS:
        return copy.deepcopy(_PRINTERS[key][0])
    return _default_columns()


def row_cells(key: str, obj: dict, now: datetime) -> list:
    """The cells of one object's row, always in wide form as the apiserver generates them."""
    if key in _METRICS_KEYS:
        return _metrics_cells(key, obj, _metrics_names(key, [obj]))
    if key in _PRINTERS:
        return _PRINTERS[key][1](obj, now)
    created = util.parse_time(_meta(obj).get("creationTimestamp"))
    return [_name(obj), util.rfc3339(created) if created else "0001-01-01T00:00:00Z"]


def _row_object(key: str, obj: dict, include_object: str) -> dict:
    if include_object == "Object":
        out = copy.deepcopy(obj)
        rt = BY_KEY.get(key)
        if rt is not None:
            out.setdefault("kind", rt.kind)
            out.setdefault("apiVersion", rt.api_version)
        return out
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
            "metadata": copy.deepcopy(_meta(obj))}


def table(key: str, objs: list[dict], *, resource_version: str,
          include_object: str | None = "Metadata", now: datetime | None = None,
          with_columns: bool = True, continue_token: str = "",
          remaining_item_count: int | None = None,
          full_objects: list[dict] | None = None) -> dict:
    """A meta.k8s.io/v1 Table for `objs`, as the apiserver answers `as=Table` requests.

    `include_object` is the `includeObject` query parameter: `None`/"None" omits
    rows[].object, "Metadata" (default, also "") embeds PartialObjectMetadata (needed for
    `-A`'s NAMESPACE column and `--show-labels`), "Object" embeds the object (`--sort-by`).
    `full_objects` are what "Object" embeds when they differ from `objs` (e.g. an HPA
    converted to autoscaling/v1); the cells are always computed from `objs`.
    Watch events use `with_columns=False` for their one-row Tables. `continue_token` and
    `remaining_item_count` carry list chunking, which kubectl follows for Tables too.
    """
    mode = "None" if include_object is None else (include_object or "Metadata")
    if mode not in ("None", "Metadata", "Object"):
        raise errors.bad_request(f'unrecognized includeObject value: "{include_object}"')
    now = now or util.now()
    embedded = full_objects if full_objects is not None else objs

    if key in _METRICS_KEYS:
        names = _metrics_names(key, objs)
        columns = _metrics_columns(names)

        def cells_of(obj: dict) -> list:
            return _metrics_cells(key, obj, names)
    else:
        columns = column_definitions(key)

        def cells_of(obj: dict) -> list:
            return row_cells(key, obj, now)

    rows = []
    for obj, shown in zip(objs, embedded, strict=True):
        row: dict[str, Any] = {"cells": cells_of(obj)}
        if key == "pods" and (conditions := _pod_row_conditions(obj)):
            row["conditions"] = conditions
        if mode != "None":
            row["object"] = _row_object(key, shown, mode)
        rows.append(row)

    metadata: dict[str, Any] = {"resourceVersion": resource_version}
    if continue_token:
        metadata["continue"] = continue_token
    if remaining_item_count is not None:
        metadata["remainingItemCount"] = remaining_item_count
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": columns if with_columns else [],
        "rows": rows,
    }
