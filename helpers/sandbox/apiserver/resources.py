"""The resource types the sandbox serves.

One table drives discovery, OpenAPI, routing, storage keys and printing, so adding a kind
is one entry here plus its strategy. Plurals are unique, which lets the rest of the sandbox
name a resource by its plural alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
READ_VERBS = ("get", "list")


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    # Versions served besides `version` (the storage version), e.g. HPA autoscaling/v1.
    other_versions: tuple[str, ...] = ()
    list_kind: str = ""
    singular: str = ""
    has_generation: bool = False
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def api_version_for(self, version: str) -> str:
        return f"{self.group}/{version}" if self.group else version

    @property
    def versions(self) -> tuple[str, ...]:
        return (self.version, *self.other_versions)

    @property
    def group_resource(self) -> str:
        """`deployments.apps`, `pods`: the form the real apiserver uses in messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def __post_init__(self) -> None:
        if not self.list_kind:
            object.__setattr__(self, "list_kind", self.kind + "List")
        if not self.singular:
            object.__setattr__(self, "singular", self.kind.lower())


def _rt(*args, **kwargs) -> ResourceType:
    return ResourceType(*args, **kwargs)


RESOURCES: tuple[ResourceType, ...] = (
    # core/v1 -- order matters for `kubectl get all` (discovery order of the "all" category)
    _rt("", "v1", "Pod", "pods", short_names=("po",), categories=("all",),
        subresources=("status", "log", "proxy", "binding", "eviction")),
    _rt("", "v1", "Service", "services", short_names=("svc",), categories=("all",),
        subresources=("status", "proxy")),
    _rt("", "v1", "Namespace", "namespaces", namespaced=False, short_names=("ns",),
        subresources=("status", "finalize"), verbs=("create", "delete", "get", "list", "patch",
                                                    "update", "watch")),
    _rt("", "v1", "Node", "nodes", namespaced=False, short_names=("no",),
        subresources=("status", "proxy")),
    _rt("", "v1", "Endpoints", "endpoints", short_names=("ep",), singular="endpoints"),
    _rt("", "v1", "Event", "events", short_names=("ev",)),
    _rt("", "v1", "ConfigMap", "configmaps", short_names=("cm",)),
    _rt("", "v1", "Secret", "secrets"),
    _rt("", "v1", "ServiceAccount", "serviceaccounts", short_names=("sa",)),
    _rt("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", short_names=("pvc",),
        subresources=("status",)),
    _rt("", "v1", "PersistentVolume", "persistentvolumes", namespaced=False, short_names=("pv",),
        subresources=("status",)),
    # apps/v1
    _rt("apps", "v1", "Deployment", "deployments", short_names=("deploy",), categories=("all",),
        subresources=("status", "scale"), has_generation=True),
    _rt("apps", "v1", "ReplicaSet", "replicasets", short_names=("rs",), categories=("all",),
        subresources=("status", "scale"), has_generation=True),
    _rt("apps", "v1", "StatefulSet", "statefulsets", short_names=("sts",), categories=("all",),
        subresources=("status", "scale"), has_generation=True),
    _rt("apps", "v1", "ControllerRevision", "controllerrevisions"),
    # autoscaling: stored as v2, also served as v1 (v2 listed first = preferred)
    _rt("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers",
        short_names=("hpa",), categories=("all",), subresources=("status",),
        other_versions=("v1",), has_generation=True),
    # discovery.k8s.io/v1
    _rt("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices"),
    # storage.k8s.io/v1
    _rt("storage.k8s.io", "v1", "StorageClass", "storageclasses", namespaced=False,
        short_names=("sc",)),
    # batch/v1 (kubectl create job sends protobuf; jobs run busybox one-shots)
    _rt("batch", "v1", "Job", "jobs", categories=("all",), subresources=("status",),
        has_generation=True),
    # coordination.k8s.io/v1: node heartbeats
    _rt("coordination.k8s.io", "v1", "Lease", "leases"),
    # metrics.k8s.io/v1beta1: read-only, computed by the node, never stored
    _rt("metrics.k8s.io", "v1beta1", "PodMetrics", "pods", verbs=READ_VERBS,
        extra={"virtual": True, "plural_key": "podmetrics"}),
    _rt("metrics.k8s.io", "v1beta1", "NodeMetrics", "nodes", namespaced=False, verbs=READ_VERBS,
        extra={"virtual": True, "plural_key": "nodemetrics"}),
)


def key_of(rt: ResourceType) -> str:
    """The sandbox-wide name of a resource: its plural, or `podmetrics`/`nodemetrics`."""
    return rt.extra.get("plural_key", rt.plural)


BY_KEY: dict[str, ResourceType] = {key_of(rt): rt for rt in RESOURCES}


def by_key(key: str) -> ResourceType:
    try:
        return BY_KEY[key]
    except KeyError:
        raise KeyError(f"unknown resource {key!r}") from None


def lookup(group: str, version: str, plural: str) -> ResourceType | None:
    """Find the resource type served at /api(s)/<group>/<version>/<plural>."""
    for rt in RESOURCES:
        if rt.group == group and rt.plural == plural and version in rt.versions:
            return rt
    return None


def by_kind(api_version: str, kind: str) -> ResourceType | None:
    group, _, version = api_version.rpartition("/")
    for rt in RESOURCES:
        if rt.group == group and rt.kind == kind and version in rt.versions:
            return rt
    return None


def group_versions() -> list[tuple[str, list[str]]]:
    """Groups in discovery order with their versions, preferred first."""
    out: dict[str, list[str]] = {}
    for rt in RESOURCES:
        versions = out.setdefault(rt.group, [])
        for v in rt.versions:
            if v not in versions:
                versions.append(v)
    return list(out.items())
