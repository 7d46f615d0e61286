"""Plain-JSON access to the Kubernetes API through the official client's transport.

The helpers work on objects as the API serves them (dicts with camelCase keys), like kubectl
does, rather than on the client's typed models: templates can be compared and patched
exactly as kubectl compares and patches them, and a field the model does not know never
breaks a call. Authentication, TLS and proxies all come from the official `ApiClient`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from kubernetes.client import ApiClient
from kubernetes.client.exceptions import ApiException

JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"


@dataclass(frozen=True)
class Kind:
    """Where a resource lives in the API and how kubectl names it in messages."""

    prefix: str  # "api/v1" or "apis/apps/v1"
    plural: str
    display: str  # kubectl's "<resource>.<group>" prefix, e.g. "deployment.apps"
    namespaced: bool = True

    def path(self, namespace: str | None = None, name: str | None = None, sub: str = "") -> str:
        parts = ["", *self.prefix.split("/")]
        if self.namespaced and namespace is not None:
            parts += ["namespaces", quote(namespace, safe="")]
        parts.append(self.plural)
        if name is not None:
            parts.append(quote(name, safe=""))
        if sub:
            parts.append(sub)
        return "/".join(parts)


DEPLOYMENT = Kind("apis/apps/v1", "deployments", "deployment.apps")
REPLICASET = Kind("apis/apps/v1", "replicasets", "replicaset.apps")
STATEFULSET = Kind("apis/apps/v1", "statefulsets", "statefulset.apps")
CONTROLLERREVISION = Kind("apis/apps/v1", "controllerrevisions", "controllerrevision.apps")
POD = Kind("api/v1", "pods", "pod")
SERVICE = Kind("api/v1", "services", "service")
ENDPOINTS = Kind("api/v1", "endpoints", "endpoints")
EVENT = Kind("api/v1", "events", "event")
NODE = Kind("api/v1", "nodes", "node", namespaced=False)
NAMESPACE = Kind("api/v1", "namespaces", "namespace", namespaced=False)
HPA = Kind("apis/autoscaling/v2", "horizontalpodautoscalers", "horizontalpodautoscaler.autoscaling")

WORKLOADS = {"deployment": DEPLOYMENT, "statefulset": STATEFULSET}


def workload(kind: str) -> Kind:
    """Accept kubectl's spellings: deployment, deploy, deployments, statefulset, sts."""
    k = kind.lower().split(".")[0]
    aliases = {"deploy": "deployment", "deployments": "deployment", "sts": "statefulset",
               "statefulsets": "statefulset"}
    k = aliases.get(k, k)
    if k not in WORKLOADS:
        raise ValueError(f"kind must be 'deployment' or 'statefulset', not {kind!r}")
    return WORKLOADS[k]


def request(
    api_client: ApiClient,
    method: str,
    path: str,
    *,
    query: Mapping[str, Any] | None = None,
    body: Any = None,
    content_type: str | None = None,
    timeout: float | tuple[float, float] | None = 30,
    parse: bool = True,
) -> Any:
    """One API request; returns the decoded JSON body (or text), raises ApiException."""
    headers = {"Accept": JSON}
    if body is not None:
        headers["Content-Type"] = content_type or JSON
    params: Sequence[tuple[str, Any]] = [
        (k, str(v).lower() if isinstance(v, bool) else v)
        for k, v in (query or {}).items()
        if v is not None
    ]
    m, url, hdrs, payload, post = api_client.param_serialize(
        method, path, query_params=list(params), header_params=headers, body=body,
        auth_settings=["BearerToken"],
    )
    resp = api_client.call_api(m, url, hdrs, payload, post, _request_timeout=timeout)
    data = resp.read()
    if not 200 <= resp.status <= 299:
        raise ApiException.from_response(http_resp=resp, body=data.decode("utf-8", "replace"),
                                         data=None)
    if not parse:
        return data.decode("utf-8", "replace")
    if not data:
        return None
    try:
        return json.loads(data)
    except ValueError:
        return data.decode("utf-8", "replace")


def status_message(exc: ApiException) -> str:
    """The `message` of the Status the server sent, else the HTTP reason."""
    try:
        body = json.loads(exc.body or "")
        if isinstance(body, dict) and body.get("message"):
            return str(body["message"])
    except ValueError:
        pass
    return f"{exc.status} {exc.reason}"


def get_or_none(api_client: ApiClient, path: str, **kw: Any) -> dict | None:
    try:
        return request(api_client, "GET", path, **kw)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


def selector_string(selector: Mapping[str, Any] | None) -> str:
    """A LabelSelector (matchLabels + matchExpressions) as a query-string selector."""
    if not selector:
        return ""
    terms = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if op == "In":
            terms.append(f"{key} in ({','.join(values)})")
        elif op == "NotIn":
            terms.append(f"{key} notin ({','.join(values)})")
        elif op == "Exists":
            terms.append(key)
        elif op == "DoesNotExist":
            terms.append(f"!{key}")
    return ",".join(terms)


def map_selector(labels: Mapping[str, str] | None) -> str:
    """A Service-style selector map as a query-string selector."""
    return ",".join(f"{k}={v}" for k, v in sorted((labels or {}).items()))


def owned_by(obj: Mapping[str, Any], owner: Mapping[str, Any]) -> bool:
    """True when `owner` is `obj`'s controller (the ownerReference kubectl follows)."""
    uid = owner.get("metadata", {}).get("uid")
    return any(
        ref.get("uid") == uid and ref.get("controller")
        for ref in obj.get("metadata", {}).get("ownerReferences") or []
    )


def annotations(obj: Mapping[str, Any]) -> dict[str, str]:
    return dict(obj.get("metadata", {}).get("annotations") or {})


def labels(obj: Mapping[str, Any]) -> dict[str, str]:
    return dict(obj.get("metadata", {}).get("labels") or {})


def image_tag(image: str) -> str:
    """`ghcr.io/x/podinfo:6.7.0` -> `6.7.0`; digests keep a short form; no tag -> `latest`."""
    if "@" in image:
        return image.split("@", 1)[1][:19]
    last = image.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else "latest"
