"""The HTTP face of the API server: routing, authentication, content negotiation.

Requests are parsed by hand rather than with route patterns because Kubernetes paths are a
small grammar (`/apis/<g>/<v>/namespaces/<ns>/<plural>/<name>/<sub>/<rest>`) where the
same segment position means different things. Verbs themselves live in the registry.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import yaml
from aiohttp import web

from ..objects import clone
from . import discovery, errors, printers, watch
from .conversion import hpa_v1_to_v2, hpa_v2_to_v1
from .openapi import v2_protobuf, v3_group_version, v3_root
from .patch import PatchError, apply_patch
from .protobuf import ProtobufError, decode_request
from .registry import Registry
from .resources import RESOURCES, ResourceType, key_of, lookup
from .selectors import (
    SelectorError,
    check_field_labels,
    format_selector,
    parse_field_selector,
    parse_label_selector,
)

log = logging.getLogger("rollout_labs.sandbox.apiserver")

TABLE_TYPE = "application/json;as=Table;v=v1;g=meta.k8s.io"
ANONYMOUS_PATHS = ("/healthz", "/livez", "/readyz", "/version", "/version/")
SCALABLE = ("deployments", "replicasets", "statefulsets")


class NodeConnection(Protocol):
    """What the API server asks of a node (in a real cluster: the kubelet's HTTPS API)."""

    async def stream_logs(self, namespace: str, pod: str, container: str, *, follow: bool,
                          tail_lines: int | None, previous: bool, timestamps: bool,
                          response: web.StreamResponse) -> None: ...


class MetricsSource(Protocol):
    def pod_metrics(self, namespace: str | None) -> list[dict]: ...

    def node_metrics(self) -> list[dict]: ...


@dataclass
class ApiContext:
    registry: Registry
    token: str
    server_url: str
    version: dict
    nodes: dict[str, NodeConnection] = field(default_factory=dict)
    metrics: MetricsSource | None = None
    proxy: Any = None  # apiserver.proxy.ServiceProxy


@dataclass
class Target:
    """A parsed resource request."""

    rt: ResourceType
    version: str
    namespace: str | None
    name: str | None = None
    subresource: str | None = None
    rest: str = ""

    @property
    def key(self) -> str:
        return key_of(self.rt)


# -- helpers ----------------------------------------------------------------------------------
def _json(body: Any, status: int = 200, content_type: str = "application/json",
          warnings: list[str] | None = None) -> web.Response:
    resp = web.Response(body=json.dumps(body, separators=(",", ":")).encode(), status=status,
                        content_type=content_type.split(";")[0], headers=_warning_headers(warnings))
    if ";" in content_type:
        resp.headers["Content-Type"] = content_type
    return resp


def _warning_headers(warnings: list[str] | None) -> dict[str, str]:
    if not warnings:
        return {}
    return {"Warning": ", ".join(f'299 - "{w}"' for w in warnings)}


def _status_response(e: errors.ApiError) -> web.Response:
    return _json(e.status(), status=e.code)


def _wants_table(request: web.Request) -> bool:
    return "as=Table" in request.headers.get("Accept", "")


def _bool(q: str | None) -> bool:
    return (q or "").lower() in ("true", "1")


def _int(q: str | None) -> int | None:
    if q in (None, ""):
        return None
    try:
        return int(q)
    except ValueError:
        raise errors.bad_request(f"invalid integer {q!r}") from None


def _convert_out(t: Target, obj: dict) -> dict:
    if t.key == "horizontalpodautoscalers" and t.version == "v1":
        return hpa_v2_to_v1(obj)
    return obj


def _convert_in(t: Target, obj: dict) -> dict:
    if t.key == "horizontalpodautoscalers" and (
            t.version == "v1" or obj.get("apiVersion") == "autoscaling/v1"):
        return hpa_v1_to_v2(obj)
    return obj


# -- body decoding ----------------------------------------------------------------------------
async def _read_object(request: web.Request) -> dict:
    raw = await request.read()
    ctype = request.headers.get("Content-Type", "application/json").split(";")[0].strip()
    if not raw:
        raise errors.bad_request("the request body is empty")
    try:
        if ctype == "application/vnd.kubernetes.protobuf":
            return decode_request(raw)
        if ctype in ("application/yaml", "application/x-yaml", "text/yaml"):
            obj = yaml.safe_load(raw)
        elif ctype in ("application/json", "", "*/*", "text/plain"):
            obj = json.loads(raw)
        else:
            raise errors.unsupported_media_type(ctype)
    except ProtobufError as e:
        raise errors.bad_request(f"unable to decode protobuf body: {e}") from None
    except (ValueError, yaml.YAMLError) as e:
        raise errors.bad_request(f"the request body could not be decoded: {e}") from None
    if not isinstance(obj, dict):
        raise errors.bad_request("the request body must be an object")
    return obj


# -- path parsing -----------------------------------------------------------------------------
def parse_target(path: str) -> Target | None:
    parts = [p for p in path.split("/") if p != ""]
    if not parts:
        return None
    if parts[0] == "api" and len(parts) >= 2:
        group, version, rest = "", parts[1], parts[2:]
    elif parts[0] == "apis" and len(parts) >= 3:
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    if not rest:
        return None
    from urllib.parse import unquote
    rest = [unquote(p) for p in rest]
    namespace: str | None = None
    if rest[0] == "namespaces" and len(rest) >= 3:
        ns_rt = lookup(group, version, rest[2])
        if ns_rt is not None and ns_rt.namespaced:
            namespace = rest[1]
            rest = rest[2:]
    rt = lookup(group, version, rest[0])
    if rt is None:
        return None
    t = Target(rt=rt, version=version, namespace=namespace)
    if len(rest) >= 2:
        t.name = rest[1]
    if len(rest) >= 3:
        t.subresource = rest[2]
        t.rest = "/".join(rest[3:])
        if path.endswith("/") and t.rest:
            t.rest += "/"
    return t


# -- the application --------------------------------------------------------------------------
def build_app(ctx: ApiContext) -> web.Application:
    app = web.Application(client_max_size=16 * 1024 * 1024, middlewares=[_middleware(ctx)])
    app["ctx"] = ctx
    app.router.add_route("*", "/{tail:.*}", _dispatch)
    return app


def _middleware(ctx: ApiContext):
    token = ctx.token.encode()

    @web.middleware
    async def middleware(request: web.Request, handler):
        started = time.monotonic()
        if request.path not in ANONYMOUS_PATHS:
            auth = request.headers.get("Authorization", "")
            given = auth[7:].strip().encode() if auth.startswith("Bearer ") else b""
            if not given or not hmac.compare_digest(given, token):
                return _status_response(errors.unauthorized())
        try:
            resp = await handler(request)
        except errors.ApiError as e:
            resp = _status_response(e)
        except web.HTTPException:
            raise
        except Exception as e:  # never let bad input crash the server
            log.exception("%s %s failed", request.method, request.path_qs)
            resp = _status_response(errors.internal(str(e)))
        elapsed = (time.monotonic() - started) * 1000
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s %s %s %.1fms", request.method, request.path_qs,
                      getattr(resp, "status", "-"), elapsed)
        return resp

    return middleware


async def _dispatch(request: web.Request) -> web.StreamResponse:
    ctx: ApiContext = request.app["ctx"]
    path = request.path
    if path in ("/healthz", "/livez", "/readyz"):
        return web.Response(text="ok")
    if path in ("/version", "/version/"):
        return _json(ctx.version)
    if path.startswith("/openapi"):
        return _openapi(request)
    if path in ("/api", "/api/", "/apis", "/apis/"):
        return _discovery_root(request, ctx, core=path.startswith("/api/") or path == "/api")
    parts = [p for p in path.split("/") if p]
    if parts[0] == "api" and len(parts) == 2:
        body = discovery.api_resource_list("", parts[1])
        if body is None:
            raise errors.not_found("", parts[1])
        return _json(body)
    if parts[0] == "apis" and len(parts) == 2:
        body = discovery.api_group(parts[1])
        if body is None:
            raise _not_found_path()
        return _json(body)
    if parts[0] == "apis" and len(parts) == 3:
        body = discovery.api_resource_list(parts[1], parts[2])
        if body is None:
            raise _not_found_path()
        return _json(body)
    t = parse_target(path)
    if t is None:
        raise _not_found_path()
    return await _resource(request, ctx, t)


def _not_found_path() -> errors.ApiError:
    return errors.ApiError(404, "NotFound", "the server could not find the requested resource",
                           {})


def _discovery_root(request: web.Request, ctx: ApiContext, core: bool) -> web.Response:
    agg = discovery.wants_aggregated(request.headers.get("Accept", ""))
    if agg:
        ctype = discovery.AGGREGATED_V2 if agg == "v2" else discovery.AGGREGATED_V2BETA1
        return _json(discovery.aggregated(core, agg), content_type=ctype)
    if core:
        host = ctx.server_url.split("://", 1)[-1]
        return _json(discovery.api_versions(host))
    return _json(discovery.api_group_list())


def _openapi(request: web.Request) -> web.Response:
    path = request.path.rstrip("/")
    if path == "/openapi/v2":
        return web.Response(body=v2_protobuf(RESOURCES),
                            content_type="application/com.github.proto-openapi.spec.v2.v1.0+protobuf")
    if path == "/openapi/v3":
        return _json(v3_root(RESOURCES, "rollout-labs-1"))
    if path.startswith("/openapi/v3/"):
        rest = path[len("/openapi/v3/"):].split("/")
        if rest[0] == "api" and len(rest) == 2:
            doc = v3_group_version(RESOURCES, "", rest[1])
        elif rest[0] == "apis" and len(rest) == 3:
            doc = v3_group_version(RESOURCES, rest[1], rest[2])
        else:
            doc = None
        if doc is not None:
            return _json(doc)
    raise _not_found_path()


# -- resources --------------------------------------------------------------------------------
async def _resource(request: web.Request, ctx: ApiContext, t: Target) -> web.StreamResponse:
    method = request.method
    if t.rt.extra.get("virtual"):
        return _metrics(request, ctx, t)
    if t.subresource:
        return await _subresource(request, ctx, t)
    q = request.query
    if t.name is None:
        if method == "GET":
            if _bool(q.get("watch")):
                return await _watch(request, ctx, t)
            return _list(request, ctx, t)
        if method == "POST":
            return await _create(request, ctx, t)
        if method == "DELETE":
            return await _delete_collection(request, ctx, t)
        raise errors.method_not_allowed()
    if method == "GET":
        obj = ctx.registry.get(t.key, t.namespace, t.name)
        return _object_response(request, t, obj)
    if method == "PUT":
        return await _update(request, ctx, t)
    if method == "PATCH":
        return await _patch(request, ctx, t)
    if method == "DELETE":
        return await _delete(request, ctx, t)
    raise errors.method_not_allowed()


def _object_response(request: web.Request, t: Target, obj: dict, status: int = 200,
                     warnings: list[str] | None = None) -> web.Response:
    if _wants_table(request):
        table = printers.table(t.key, [obj], resource_version=obj["metadata"].get("resourceVersion", ""),
                               include_object=request.query.get("includeObject", "Metadata"))
        return _json(table, status=status, content_type=TABLE_TYPE, warnings=warnings)
    return _json(_convert_out(t, obj), status=status, warnings=warnings)


def _list(request: web.Request, ctx: ApiContext, t: Target) -> web.Response:
    q = request.query
    items, rv = ctx.registry.list(t.key, t.namespace, label_selector=q.get("labelSelector"),
                                  field_selector=q.get("fieldSelector"))
    if _wants_table(request):
        table = printers.table(t.key, items, resource_version=rv,
                               include_object=q.get("includeObject", "Metadata"))
        return _json(table, content_type=TABLE_TYPE)
    api_version = t.rt.api_version_for(t.version)
    body = {"kind": t.rt.list_kind, "apiVersion": api_version,
            "metadata": {"resourceVersion": rv},
            "items": [_convert_out(t, o) for o in items]}
    return _json(body)


async def _watch(request: web.Request, ctx: ApiContext, t: Target) -> web.StreamResponse:
    q = request.query
    try:
        lsel = parse_label_selector(q["labelSelector"]) if q.get("labelSelector") else None
        fsel = parse_field_selector(q["fieldSelector"]) if q.get("fieldSelector") else None
        if fsel is not None:
            check_field_labels(t.key, fsel)
    except SelectorError as e:
        raise errors.bad_request(str(e)) from None

    def matches(obj: dict) -> bool:
        if lsel is not None and not lsel.matches(obj.get("metadata", {}).get("labels")):
            return False
        return fsel is None or fsel.matches(obj)

    table = _wants_table(request)
    first = [True]

    def encode(obj: dict) -> dict:
        if table:
            out = printers.table(t.key, [obj], resource_version=obj["metadata"].get("resourceVersion", ""),
                                 include_object=q.get("includeObject", "Metadata"),
                                 with_columns=first[0])
            first[0] = False
            return out
        return _convert_out(t, obj)

    def initial() -> list[dict]:
        items, _ = ctx.registry.list(t.key, t.namespace)
        return [o for o in items if matches(o)]

    timeout = _int(q.get("timeoutSeconds"))
    spec = watch.WatchSpec(
        key=t.key, namespace=t.namespace, matches=matches, encode=encode,
        bookmark_kind=(t.rt.api_version_for(t.version), t.rt.kind),
        resource_version=q.get("resourceVersion"), send_initial=_bool(q.get("sendInitialEvents")),
        allow_bookmarks=_bool(q.get("allowWatchBookmarks")),
        timeout=float(timeout) if timeout else None,
        content_type=TABLE_TYPE if table else "application/json", initial=initial)
    return await watch.serve(request, ctx.registry.store, spec)


def _write_options(request: web.Request) -> dict:
    q = request.query
    fv = q.get("fieldValidation") or "Warn"
    if fv not in ("Strict", "Warn", "Ignore"):
        raise errors.bad_request(f"fieldValidation must be one of Strict, Warn, Ignore, got {fv!r}")
    return {"dry_run": q.get("dryRun") == "All", "field_validation": fv}


async def _create(request: web.Request, ctx: ApiContext, t: Target) -> web.Response:
    body = _convert_in(t, await _read_object(request))
    _check_kind(t, body)
    obj, warnings = ctx.registry.create(t.key, t.namespace, body, **_write_options(request))
    return _object_response(request, t, obj, status=201, warnings=warnings)


def _check_kind(t: Target, body: dict) -> None:
    kind = body.get("kind")
    if kind and kind != t.rt.kind:
        raise errors.bad_request(
            f"the API version in the data ({body.get('apiVersion')}) does not match the expected "
            f"API version ({t.rt.api_version_for(t.version)})" if kind == t.rt.kind else
            f"{kind} in version \"{t.version}\" cannot be handled as a {t.rt.kind}: "
            f"the object kind does not match the resource")


async def _update(request: web.Request, ctx: ApiContext, t: Target) -> web.Response:
    body = _convert_in(t, await _read_object(request))
    _check_kind(t, body)
    obj, warnings = ctx.registry.update(t.key, t.namespace, t.name, body, **_write_options(request))
    return _object_response(request, t, obj, warnings=warnings)


async def _patch(request: web.Request, ctx: ApiContext, t: Target, subresource: str | None = None) -> web.Response:
    raw = await request.read()
    ctype = request.headers.get("Content-Type", "")
    opts = _write_options(request)
    if t.key == "horizontalpodautoscalers" and t.version == "v1" and "apply-patch" not in ctype:
        # Patch the v1 view, then store the v2 form.
        current = _convert_out(t, ctx.registry.get(t.key, t.namespace, t.name))
        try:
            patched = apply_patch(current, raw, ctype.split(";")[0].strip(), "HorizontalPodAutoscaler")
        except PatchError as e:
            raise errors.bad_request(str(e)) from None
        obj, warnings = ctx.registry.update(t.key, t.namespace, t.name, hpa_v1_to_v2(patched),
                                            subresource=subresource, **opts)
        return _object_response(request, t, obj, warnings=warnings)
    obj, warnings, created = ctx.registry.patch(t.key, t.namespace, t.name, raw, ctype,
                                                subresource=subresource,
                                                force=_bool(request.query.get("force")), **opts)
    return _object_response(request, t, obj, status=201 if created else 200, warnings=warnings)


async def _delete_options(request: web.Request) -> dict:
    q = request.query
    opts: dict[str, Any] = {}
    raw = await request.read() if request.can_read_body else b""
    body = {}
    if raw:
        try:
            body = json.loads(raw)
        except ValueError:
            raise errors.bad_request("the DeleteOptions body could not be decoded") from None
    grace = body.get("gracePeriodSeconds", _int(q.get("gracePeriodSeconds")))
    prop = body.get("propagationPolicy") or q.get("propagationPolicy")
    if body.get("orphanDependents") is True or q.get("orphanDependents") == "true":
        prop = "Orphan"
    opts["grace_period"] = grace
    opts["propagation"] = prop
    opts["preconditions"] = body.get("preconditions")
    opts["dry_run"] = q.get("dryRun") == "All" or body.get("dryRun") == ["All"]
    return opts


async def _delete(request: web.Request, ctx: ApiContext, t: Target) -> web.Response:
    opts = await _delete_options(request)
    obj = ctx.registry.delete(t.key, t.namespace, t.name, **opts)
    # Immediate deletion answers 200 with the final object, graceful with the object
    # carrying deletionTimestamp (202 is used by the real server for the latter).
    status = 202 if obj["metadata"].get("deletionTimestamp") and ctx.registry.get_ref(
        t.key, t.namespace, t.name) is not None else 200
    return _json(_convert_out(t, obj), status=status)


async def _delete_collection(request: web.Request, ctx: ApiContext, t: Target) -> web.Response:
    opts = await _delete_options(request)
    opts.pop("preconditions", None)
    q = request.query
    items = ctx.registry.delete_collection(t.key, t.namespace, label_selector=q.get("labelSelector"),
                                           field_selector=q.get("fieldSelector"), **opts)
    return _json({"kind": t.rt.list_kind, "apiVersion": t.rt.api_version_for(t.version),
                  "metadata": {"resourceVersion": str(ctx.registry.store.rv)},
                  "items": [_convert_out(t, o) for o in items]})


# -- subresources -----------------------------------------------------------------------------
async def _subresource(request: web.Request, ctx: ApiContext, t: Target) -> web.StreamResponse:
    sub = t.subresource
    if sub not in t.rt.subresources:
        raise _not_found_path()
    method = request.method
    if sub in ("status", "finalize"):
        if method == "GET":
            return _object_response(request, t, ctx.registry.get(t.key, t.namespace, t.name))
        if method == "PUT":
            body = _convert_in(t, await _read_object(request))
            obj, warnings = ctx.registry.update(t.key, t.namespace, t.name, body, subresource=sub,
                                                **_write_options(request))
            return _object_response(request, t, obj, warnings=warnings)
        if method == "PATCH":
            return await _patch(request, ctx, t, subresource=sub)
        raise errors.method_not_allowed()
    if sub == "scale":
        return await _scale(request, ctx, t)
    if sub == "log":
        return await _logs(request, ctx, t)
    if sub == "proxy":
        if ctx.proxy is None:
            raise errors.service_unavailable("proxying is not available")
        return await ctx.proxy.handle(request, t)
    if sub == "binding" and method == "POST":
        body = await _read_object(request)
        node = (body.get("target") or {}).get("name")
        pod = clone(ctx.registry.get("pods", t.namespace, t.name))
        if pod["spec"].get("nodeName"):
            raise errors.ApiError(409, "Conflict", f'pod {t.name} is already assigned to node '
                                  f'"{pod["spec"]["nodeName"]}"')
        pod["spec"]["nodeName"] = node
        ctx.registry.update("pods", t.namespace, t.name, pod, trusted=True)
        return _json({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                      "code": 201}, status=201)
    if sub == "eviction" and method == "POST":
        body = await _read_object(request)
        grace = (body.get("deleteOptions") or {}).get("gracePeriodSeconds")
        ctx.registry.delete("pods", t.namespace, t.name, grace_period=grace)
        return _json({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                      "code": 201}, status=201)
    raise errors.method_not_allowed()


def _scale_of(obj: dict) -> dict:
    md = obj["metadata"]
    status: dict = {"replicas": (obj.get("status") or {}).get("replicas", 0)}
    sel = (obj.get("spec") or {}).get("selector")
    if sel:
        status["selector"] = format_selector(sel)
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {"name": md["name"], "namespace": md.get("namespace"), "uid": md["uid"],
                         "resourceVersion": md["resourceVersion"],
                         "creationTimestamp": md["creationTimestamp"]},
            "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
            "status": status}


async def _scale(request: web.Request, ctx: ApiContext, t: Target) -> web.Response:
    method = request.method
    current = ctx.registry.get(t.key, t.namespace, t.name)
    if method == "GET":
        return _json(_scale_of(current))
    opts = _write_options(request)
    if method == "PUT":
        scale = await _read_object(request)
    elif method == "PATCH":
        raw = await request.read()
        ctype = request.headers.get("Content-Type", "").split(";")[0].strip()
        try:
            scale = apply_patch(_scale_of(current), raw, ctype, "Scale")
        except PatchError as e:
            raise errors.bad_request(str(e)) from None
    else:
        raise errors.method_not_allowed()
    replicas = (scale.get("spec") or {}).get("replicas")
    if not isinstance(replicas, int) or replicas < 0:
        raise errors.invalid("Scale", "autoscaling", t.name, [errors.Cause(
            "FieldValueInvalid", f"Invalid value: {replicas}: must be greater than or equal to 0",
            "spec.replicas")])
    rv = (scale.get("metadata") or {}).get("resourceVersion")
    obj = clone(current)
    obj["spec"]["replicas"] = replicas
    if rv:
        obj["metadata"]["resourceVersion"] = rv
    updated, _ = ctx.registry.update(t.key, t.namespace, t.name, obj, trusted=True,
                                     dry_run=opts["dry_run"])
    return _json(_scale_of(updated))


async def _logs(request: web.Request, ctx: ApiContext, t: Target) -> web.StreamResponse:
    pod = ctx.registry.get("pods", t.namespace, t.name)
    q = request.query
    containers = [c["name"] for c in pod["spec"].get("containers", [])]
    container = q.get("container")
    if not container:
        if len(containers) != 1:
            raise errors.bad_request(
                f"a container name must be specified for pod {t.name}, choose one of: "
                f"[{' '.join(containers)}]")
        container = containers[0]
    elif container not in containers + [c["name"] for c in pod["spec"].get("initContainers") or []]:
        raise errors.bad_request(f"container {container} is not valid for pod {t.name}")
    node = pod["spec"].get("nodeName")
    conn = ctx.nodes.get(node or "")
    if conn is None:
        raise errors.bad_request(f'container "{container}" in pod "{t.name}" is waiting to start: '
                                 "ContainerCreating")
    check = getattr(conn, "check_logs", None)  # errors must come before the 200 is sent
    if check is not None:
        check(t.namespace or "", t.name, container, _bool(q.get("previous")))
    resp = web.StreamResponse(status=200, headers={"Content-Type": "text/plain"})
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    await conn.stream_logs(t.namespace or "", t.name, container, follow=_bool(q.get("follow")),
                           tail_lines=_int(q.get("tailLines")), previous=_bool(q.get("previous")),
                           timestamps=_bool(q.get("timestamps")), response=resp)
    try:
        await resp.write_eof()
    except (ConnectionResetError, RuntimeError):
        pass
    return resp


def _metrics(request: web.Request, ctx: ApiContext, t: Target) -> web.Response:
    if request.method != "GET":
        raise errors.method_not_allowed()
    if ctx.metrics is None:
        raise errors.service_unavailable("the metrics API is not available yet")
    key = t.key
    items = ctx.metrics.pod_metrics(t.namespace) if key == "podmetrics" else ctx.metrics.node_metrics()
    q = request.query
    if q.get("labelSelector"):
        try:
            sel = parse_label_selector(q["labelSelector"])
        except SelectorError as e:
            raise errors.bad_request(str(e)) from None
        items = [i for i in items if sel.matches(i["metadata"].get("labels"))]
    if q.get("fieldSelector"):
        fsel = parse_field_selector(q["fieldSelector"])
        items = [i for i in items if fsel.matches(i)]
    if t.name:
        for i in items:
            if i["metadata"]["name"] == t.name:
                return _json(i)
        raise errors.not_found(f"{t.rt.plural}.metrics.k8s.io", t.name, "metrics.k8s.io", t.rt.plural)
    if _wants_table(request):
        return _json(printers.table(key, items, resource_version="",
                                    include_object=q.get("includeObject", "Metadata")),
                     content_type=TABLE_TYPE)
    return _json({"kind": t.rt.list_kind, "apiVersion": "metrics.k8s.io/v1beta1",
                  "metadata": {}, "items": items})
