"""Object defaults, as the real apiserver's defaulters (`pkg/apis/*/v1/defaults.go`) apply them.

kubectl and the workshop read objects back, so every defaulted field shows up in `-o yaml`,
in `kubectl describe` and in rollout maths (maxSurge/maxUnavailable). The functions work in
place on API-shaped dicts and are idempotent: the registry runs them on every create and
update, just as the real server defaults every decoded request.

Not here: what needs cluster state (clusterIP/nodePort allocation, uids) -- the registry and
strategies do that; `pod_admission_defaults` and `job_generate_selector` are the hooks they call.
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = [
    "apply_defaults",
    "job_generate_selector",
    "pod_admission_defaults",
    "pod_spec_defaults",
    "pod_template_defaults",
    "image_tag",
]

DEFAULT_MODE = 420  # 0644, for secret/configMap/downwardAPI/projected volumes
SA_MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
TOLERATION_SECONDS = 300


def _obj(parent: dict, key: str) -> dict:
    """parent[key] as a dict, created (or replaced when null) so defaults can be written."""
    val = parent.get(key)
    if not isinstance(val, dict):
        val = parent[key] = {}
    return val


def _dicts(value) -> list[dict]:
    """The dict items of a list field that may be missing or null."""
    return [x for x in value if isinstance(x, dict)] if isinstance(value, list) else []


def _setdefault(d: dict, key: str, value) -> None:
    """Go's `if x == nil/"" { x = default }`: null and empty string count as unset."""
    if d.get(key) in (None, ""):
        d[key] = value


# -- images ------------------------------------------------------------------------------------
_REPO_RE = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")


def image_tag(image: str) -> str | None:
    """The tag kubelet's `parsers.ParseImageName` sees: `latest` when neither tag nor digest is
    given, "" for a digest-only reference, None when the reference does not parse."""
    if not image or image != image.strip():
        return None
    name, _, digest = image.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    tag = ""
    if colon > slash:
        name, tag = name[:colon], name[colon + 1:]
    first, _, rest = name.partition("/")
    # A first component with a dot or port (or `localhost`) is a registry host, not a repo part.
    if rest and ("." in first or ":" in first or first == "localhost"):
        name = rest
    if not _REPO_RE.match(name):
        return None
    if not tag and not digest:
        return "latest"
    return tag


# -- PodSpec -----------------------------------------------------------------------------------
def _http_get_defaults(handler: dict | None) -> None:
    if isinstance(handler, dict) and isinstance(handler.get("httpGet"), dict):
        _setdefault(handler["httpGet"], "path", "/")
        _setdefault(handler["httpGet"], "scheme", "HTTP")


def _probe_defaults(probe: dict) -> None:
    for key, value in (("timeoutSeconds", 1), ("periodSeconds", 10),
                       ("successThreshold", 1), ("failureThreshold", 3)):
        if not probe.get(key):
            probe[key] = value
    _http_get_defaults(probe)


def _field_ref_defaults(items) -> None:
    """ObjectFieldSelector.apiVersion defaults to v1 (env valueFrom, downwardAPI items)."""
    for item in _dicts(items):
        ref = item.get("fieldRef")
        if isinstance(ref, dict):
            _setdefault(ref, "apiVersion", "v1")


def container_defaults(c: dict) -> None:
    """SetDefaults_Container + ContainerPort/Probe/HTTPGetAction/ObjectFieldSelector defaults."""
    if not c.get("imagePullPolicy"):
        c["imagePullPolicy"] = "Always" if image_tag(c.get("image") or "") == "latest" else "IfNotPresent"
    _setdefault(c, "terminationMessagePath", "/dev/termination-log")
    _setdefault(c, "terminationMessagePolicy", "File")
    # `resources` is a struct, not a pointer: the real server always serialises it.
    if not isinstance(c.get("resources"), dict):
        c["resources"] = {}
    for port in _dicts(c.get("ports")):
        _setdefault(port, "protocol", "TCP")
    for key in ("livenessProbe", "readinessProbe", "startupProbe"):
        if isinstance(c.get(key), dict):
            _probe_defaults(c[key])
    lifecycle = c.get("lifecycle")
    if isinstance(lifecycle, dict):
        _http_get_defaults(lifecycle.get("postStart"))
        _http_get_defaults(lifecycle.get("preStop"))
    _field_ref_defaults([e.get("valueFrom") for e in _dicts(c.get("env"))
                         if isinstance(e.get("valueFrom"), dict)])


_VOLUME_MODES = ("secret", "configMap", "downwardAPI", "projected")


def volume_defaults(vol: dict) -> None:
    """A volume without a source is an emptyDir; file-projecting sources get mode 0644."""
    if not any(k != "name" and v is not None for k, v in vol.items()):
        vol["emptyDir"] = {}
    for kind in _VOLUME_MODES:
        src = vol.get(kind)
        if isinstance(src, dict) and src.get("defaultMode") is None:
            src["defaultMode"] = DEFAULT_MODE
    if isinstance(vol.get("downwardAPI"), dict):
        _field_ref_defaults(vol["downwardAPI"].get("items"))
    if isinstance(vol.get("hostPath"), dict) and vol["hostPath"].get("type") is None:
        vol["hostPath"]["type"] = ""
    projected = vol.get("projected")
    if isinstance(projected, dict):
        for src in _dicts(projected.get("sources")):
            token = src.get("serviceAccountToken")
            if isinstance(token, dict) and token.get("expirationSeconds") is None:
                token["expirationSeconds"] = 3600
            if isinstance(src.get("downwardAPI"), dict):
                _field_ref_defaults(src["downwardAPI"].get("items"))
    ephemeral = vol.get("ephemeral")
    if isinstance(ephemeral, dict) and isinstance(ephemeral.get("volumeClaimTemplate"), dict):
        _pvc_spec_defaults(_obj(ephemeral["volumeClaimTemplate"], "spec"))


def pod_spec_defaults(spec: dict) -> None:
    """SetDefaults_PodSpec plus the per-container and per-volume defaulters."""
    _setdefault(spec, "dnsPolicy", "ClusterFirst")
    _setdefault(spec, "restartPolicy", "Always")
    if not isinstance(spec.get("securityContext"), dict):
        spec["securityContext"] = {}
    if spec.get("terminationGracePeriodSeconds") is None:
        spec["terminationGracePeriodSeconds"] = 30
    _setdefault(spec, "schedulerName", "default-scheduler")
    for key in ("containers", "initContainers", "ephemeralContainers"):
        for c in _dicts(spec.get(key)):
            container_defaults(c)
    for vol in _dicts(spec.get("volumes")):
        volume_defaults(vol)


def pod_template_defaults(spec: dict) -> None:
    """Defaults for the PodSpec of a template (Deployment, ReplicaSet, StatefulSet, Job):
    the PodSpec ones only -- Pod-only defaults such as enableServiceLinks stay off templates."""
    pod_spec_defaults(spec)


def _template(spec: dict) -> None:
    pod_template_defaults(_obj(_obj(spec, "template"), "spec"))


def _requests_from_limits(containers) -> None:
    for c in _dicts(containers):
        res = c.get("resources")
        if not isinstance(res, dict) or not isinstance(res.get("limits"), dict):
            continue
        requests = _obj(res, "requests")
        for name, qty in res["limits"].items():
            requests.setdefault(name, qty)


def _pod(obj: dict) -> None:
    spec = _obj(obj, "spec")
    pod_spec_defaults(spec)
    _requests_from_limits(spec.get("containers"))
    _requests_from_limits(spec.get("initContainers"))
    if spec.get("enableServiceLinks") is None:
        spec["enableServiceLinks"] = True
    if spec.get("hostNetwork"):
        for key in ("containers", "initContainers"):
            for c in _dicts(spec.get(key)):
                for port in _dicts(c.get("ports")):
                    if not port.get("hostPort"):
                        port["hostPort"] = port.get("containerPort")


# -- workloads ---------------------------------------------------------------------------------
def _deployment(obj: dict) -> None:
    spec = _obj(obj, "spec")
    if spec.get("replicas") is None:
        spec["replicas"] = 1
    strategy = _obj(spec, "strategy")
    _setdefault(strategy, "type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = _obj(strategy, "rollingUpdate")
        for key in ("maxUnavailable", "maxSurge"):
            if rolling.get(key) is None:
                rolling[key] = "25%"
    if spec.get("revisionHistoryLimit") is None:
        spec["revisionHistoryLimit"] = 10
    if spec.get("progressDeadlineSeconds") is None:
        spec["progressDeadlineSeconds"] = 600
    _template(spec)


def _replicaset(obj: dict) -> None:
    spec = _obj(obj, "spec")
    if spec.get("replicas") is None:
        spec["replicas"] = 1
    _template(spec)


def _statefulset(obj: dict) -> None:
    spec = _obj(obj, "spec")
    _setdefault(spec, "podManagementPolicy", "OrderedReady")
    strategy = _obj(spec, "updateStrategy")
    if not strategy.get("type"):
        strategy["type"] = "RollingUpdate"
        _obj(strategy, "rollingUpdate")
    # `type: RollingUpdate` written without a block keeps it nil: partition is only defaulted
    # inside an existing block (this is what `kubectl rollout status` later looks at).
    rolling = strategy.get("rollingUpdate")
    if strategy["type"] == "RollingUpdate" and isinstance(rolling, dict) \
            and rolling.get("partition") is None:
        rolling["partition"] = 0
    policy = _obj(spec, "persistentVolumeClaimRetentionPolicy")
    _setdefault(policy, "whenDeleted", "Retain")
    _setdefault(policy, "whenScaled", "Retain")
    if spec.get("replicas") is None:
        spec["replicas"] = 1
    if spec.get("revisionHistoryLimit") is None:
        spec["revisionHistoryLimit"] = 10
    _template(spec)
    for pvc in _dicts(spec.get("volumeClaimTemplates")):
        _pvc(pvc)


def _job(obj: dict) -> None:
    spec = _obj(obj, "spec")
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
    if spec.get("parallelism") is None:
        spec["parallelism"] = 1
    if spec.get("backoffLimit") is None:
        spec["backoffLimit"] = 2147483647 if spec.get("backoffLimitPerIndex") is not None else 6
    template = _obj(spec, "template")
    labels = (template.get("metadata") or {}).get("labels")
    md = _obj(obj, "metadata")
    if labels and not md.get("labels"):
        md["labels"] = dict(labels)
    _setdefault(spec, "completionMode", "NonIndexed")
    if spec.get("suspend") is None:
        spec["suspend"] = False
    pfp = spec.get("podFailurePolicy")
    if isinstance(pfp, dict):
        for rule in _dicts(pfp.get("rules")):
            for pattern in _dicts(rule.get("onPodConditions")):
                _setdefault(pattern, "status", "True")
    if spec.get("podReplacementPolicy") is None:
        spec["podReplacementPolicy"] = "Failed" if isinstance(pfp, dict) else "TerminatingOrFailed"
    _template(spec)
    if md.get("uid"):
        job_generate_selector(obj)


JOB_LABELS = ("job-name", "batch.kubernetes.io/job-name")
JOB_UID_LABELS = ("controller-uid", "batch.kubernetes.io/controller-uid")


def job_generate_selector(job: dict) -> None:
    """What the Job strategy does at create unless `spec.manualSelector` is true: label the
    template with the job name and uid (new and legacy keys) and select on the uid. Needs
    `metadata.uid`; also copies the labels to the Job as read-back defaulting does."""
    spec = _obj(job, "spec")
    md = _obj(job, "metadata")
    if spec.get("manualSelector") is True or not md.get("uid"):
        return
    labels = _obj(_obj(_obj(spec, "template"), "metadata"), "labels")
    for key in JOB_LABELS:
        labels.setdefault(key, md.get("name", ""))
    for key in JOB_UID_LABELS:
        labels.setdefault(key, md["uid"])
    match = _obj(_obj(spec, "selector"), "matchLabels")
    match.setdefault("batch.kubernetes.io/controller-uid", md["uid"])
    if not md.get("labels"):
        md["labels"] = dict(labels)


# -- core ---------------------------------------------------------------------------------------
def _service(obj: dict) -> None:
    spec = _obj(obj, "spec")
    _setdefault(spec, "sessionAffinity", "None")
    if spec["sessionAffinity"] == "None":
        spec.pop("sessionAffinityConfig", None)
    elif spec["sessionAffinity"] == "ClientIP":
        cfg = spec.get("sessionAffinityConfig") or {}
        if (cfg.get("clientIP") or {}).get("timeoutSeconds") is None:
            spec["sessionAffinityConfig"] = {"clientIP": {"timeoutSeconds": 10800}}
    _setdefault(spec, "type", "ClusterIP")
    for port in _dicts(spec.get("ports")):
        _setdefault(port, "protocol", "TCP")
        if port.get("targetPort") in (None, 0, ""):
            port["targetPort"] = port.get("port")
    kind = spec["type"]
    externally = kind in ("NodePort", "LoadBalancer") or (kind == "ClusterIP" and spec.get("externalIPs"))
    if externally:
        _setdefault(spec, "externalTrafficPolicy", "Cluster")
    if spec.get("internalTrafficPolicy") is None and kind in ("ClusterIP", "NodePort", "LoadBalancer"):
        spec["internalTrafficPolicy"] = "Cluster"
    if kind == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts") is None:
        spec["allocateLoadBalancerNodePorts"] = True
    if kind != "ExternalName":
        # Registry-set on a single-stack IPv4 cluster; selectorless headless ones get
        # RequireDualStack (still one family here).
        if spec.get("ipFamilyPolicy") is None:
            headless = spec.get("clusterIP") == "None"
            spec["ipFamilyPolicy"] = ("RequireDualStack" if headless and not spec.get("selector")
                                      else "SingleStack")
        if not spec.get("ipFamilies"):
            spec["ipFamilies"] = ["IPv4"]


def _namespace(obj: dict) -> None:
    md = _obj(obj, "metadata")
    if md.get("name"):
        _obj(md, "labels")["kubernetes.io/metadata.name"] = md["name"]
    spec = _obj(obj, "spec")
    if spec.get("finalizers") is None:
        spec["finalizers"] = ["kubernetes"]
    _setdefault(_obj(obj, "status"), "phase", "Active")


def _pvc_spec_defaults(spec: dict) -> None:
    _setdefault(spec, "volumeMode", "Filesystem")


def _pvc(obj: dict) -> None:
    _pvc_spec_defaults(_obj(obj, "spec"))
    _setdefault(_obj(obj, "status"), "phase", "Pending")


def _pv(obj: dict) -> None:
    spec = _obj(obj, "spec")
    _setdefault(spec, "persistentVolumeReclaimPolicy", "Retain")
    _setdefault(spec, "volumeMode", "Filesystem")
    if isinstance(spec.get("hostPath"), dict) and spec["hostPath"].get("type") is None:
        spec["hostPath"]["type"] = ""
    _setdefault(_obj(obj, "status"), "phase", "Pending")


def _secret(obj: dict) -> None:
    _setdefault(obj, "type", "Opaque")


def _endpoints(obj: dict) -> None:
    for subset in _dicts(obj.get("subsets")):
        for port in _dicts(subset.get("ports")):
            _setdefault(port, "protocol", "TCP")


def _endpointslice(obj: dict) -> None:
    for port in _dicts(obj.get("ports")):
        if port.get("name") is None:
            port["name"] = ""
        if port.get("protocol") is None:
            port["protocol"] = "TCP"


def _storageclass(obj: dict) -> None:
    _setdefault(obj, "reclaimPolicy", "Delete")
    _setdefault(obj, "volumeBindingMode", "Immediate")


def _node(obj: dict) -> None:
    status = obj.get("status")
    if isinstance(status, dict) and status.get("allocatable") is None and status.get("capacity"):
        status["allocatable"] = dict(status["capacity"])


# -- autoscaling/v2 -------------------------------------------------------------------------------
DEFAULT_CPU_UTILIZATION = 80


def _scale_up_rules() -> dict:
    return {"stabilizationWindowSeconds": 0, "selectPolicy": "Max", "policies": [
        {"type": "Pods", "value": 4, "periodSeconds": 15},
        {"type": "Percent", "value": 100, "periodSeconds": 15}]}


def _scale_down_rules() -> dict:
    # stabilizationWindowSeconds stays nil: the controller substitutes its 300 s at run time.
    return {"selectPolicy": "Max", "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}


def _complete_rules(given, default: dict) -> dict:
    """copyHPAScalingRules: the user's non-nil fields over the defaults."""
    if not isinstance(given, dict):
        return default
    for key in ("selectPolicy", "stabilizationWindowSeconds", "policies", "tolerance"):
        if given.get(key) is not None:
            default[key] = given[key]
    return default


def _hpa(obj: dict) -> None:
    spec = _obj(obj, "spec")
    if spec.get("minReplicas") is None:
        spec["minReplicas"] = 1
    if not spec.get("metrics"):
        spec["metrics"] = [{"type": "Resource", "resource": {"name": "cpu", "target": {
            "type": "Utilization", "averageUtilization": DEFAULT_CPU_UTILIZATION}}}]
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        behavior["scaleUp"] = _complete_rules(behavior.get("scaleUp"), _scale_up_rules())
        behavior["scaleDown"] = _complete_rules(behavior.get("scaleDown"), _scale_down_rules())


def _none(obj: dict) -> None:
    """ConfigMap, ServiceAccount, Event, ControllerRevision, Lease: no visible defaults."""


_DEFAULTERS: dict[str, Callable[[dict], None]] = {
    "pods": _pod,
    "services": _service,
    "namespaces": _namespace,
    "nodes": _node,
    "endpoints": _endpoints,
    "events": _none,
    "configmaps": _none,
    "secrets": _secret,
    "serviceaccounts": _none,
    "persistentvolumeclaims": _pvc,
    "persistentvolumes": _pv,
    "deployments": _deployment,
    "replicasets": _replicaset,
    "statefulsets": _statefulset,
    "controllerrevisions": _none,
    "horizontalpodautoscalers": _hpa,
    "endpointslices": _endpointslice,
    "storageclasses": _storageclass,
    "jobs": _job,
    "leases": _none,
}


def apply_defaults(key: str, obj: dict) -> None:
    """Default `obj` (a resource named by its plural, HPAs in autoscaling/v2 form) in place."""
    fn = _DEFAULTERS.get(key)
    if fn is not None and isinstance(obj, dict):
        fn(obj)


# -- admission ----------------------------------------------------------------------------------
def _sa_volume(name: str) -> dict:
    return {"name": name, "projected": {"sources": [
        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {
            "apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
    ], "defaultMode": DEFAULT_MODE}}


def _mount_token(spec: dict, rand: Callable[[], str]) -> None:
    if spec.get("automountServiceAccountToken") is False:
        return
    volumes = spec.get("volumes") if isinstance(spec.get("volumes"), list) else []
    existing = [v for v in _dicts(volumes) if str(v.get("name", "")).startswith("kube-api-access-")]
    if existing:
        return
    containers = _dicts(spec.get("initContainers")) + _dicts(spec.get("containers"))
    name = "kube-api-access-" + rand()
    volumes.append(_sa_volume(name))
    spec["volumes"] = volumes
    for c in containers:
        mounts = c.get("volumeMounts") if isinstance(c.get("volumeMounts"), list) else []
        if any(m.get("mountPath") == SA_MOUNT_PATH for m in _dicts(mounts)):
            continue
        mounts.append({"name": name, "readOnly": True, "mountPath": SA_MOUNT_PATH})
        c["volumeMounts"] = mounts


def _tolerates(tolerations: list[dict], key: str) -> bool:
    for t in tolerations:
        key_ok = t.get("key") == key or (not t.get("key") and t.get("operator") == "Exists")
        if key_ok and t.get("effect") in (None, "", "NoExecute"):
            return True
    return False


def pod_admission_defaults(pod: dict, rand: Callable[[], str]) -> None:
    """What the ServiceAccount, DefaultTolerationSeconds and Priority admission plugins add to a
    new Pod on a real cluster; `rand()` gives the 5-character suffix of kube-api-access-xxxxx."""
    spec = _obj(pod, "spec")
    _setdefault(spec, "serviceAccountName", spec.get("serviceAccount") or "default")
    spec["serviceAccount"] = spec["serviceAccountName"]
    _mount_token(spec, rand)
    tolerations = spec.get("tolerations") if isinstance(spec.get("tolerations"), list) else []
    for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
        if not _tolerates(_dicts(tolerations), key):
            tolerations.append({"key": key, "operator": "Exists", "effect": "NoExecute",
                                "tolerationSeconds": TOLERATION_SECONDS})
    spec["tolerations"] = tolerations
    if spec.get("priority") is None:
        spec["priority"] = 0
    _setdefault(spec, "preemptionPolicy", "PreemptLowerPriority")
