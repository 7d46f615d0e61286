"""The API server's proxy subresource: `services/[scheme:]name[:port]/proxy/…`, `pods/…/proxy/…`.

As kube-apiserver does, a service request goes to one READY endpoint chosen at random (no
kube-proxy involved), a pod request to the pod's IP. The method, headers, body and query are
forwarded and the reply is streamed back, so the same client code reaches an app on any
cluster (`kubectl proxy` + curl, `connect_get_namespaced_service_proxy_with_path`, or
`kubectl get --raw`).
"""

from __future__ import annotations

import contextlib
import random
from urllib.parse import quote, unquote

import aiohttp
from aiohttp import web
from yarl import URL

from .. import network
from . import errors

# Hop-by-hop headers (RFC 9110 §7.6.1) and what only the API server may see.
_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
        "trailer", "transfer-encoding", "upgrade", "host", "authorization", "content-length"}
_TIMEOUT = aiohttp.ClientTimeout(total=None, connect=5, sock_read=300)


def _unavailable(message: str) -> errors.ApiError:
    return errors.ApiError(503, "ServiceUnavailable", message, {})


def parse_name(name: str) -> tuple[str, str, str]:
    """`[scheme:]name[:port]` -> (scheme, name, port); the python client percent-encodes ':'."""
    parts = unquote(name).split(":")
    if len(parts) == 1:
        return "", parts[0], ""
    if len(parts) == 2:
        return "", parts[0], parts[1]
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    raise errors.bad_request(f"invalid service request {name!r}")


class ServiceProxy:
    def __init__(self, registry):
        self.registry = registry
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=_TIMEOUT, auto_decompress=False,
                connector=aiohttp.TCPConnector(limit=0, force_close=True, ssl=False),
                cookie_jar=aiohttp.DummyCookieJar(), skip_auto_headers=("User-Agent",))
        return self._session

    # -- locating the backend -------------------------------------------------------------------
    def _service_target(self, namespace: str, name: str) -> tuple[str, str, int]:
        scheme, svc_name, port_str = parse_name(name)
        svc = self.registry.get("services", namespace, svc_name)
        spec = svc.get("spec") or {}
        # The port the request names, as the service port's *name* (endpoints are keyed by it).
        port_name = port_str
        for p in spec.get("ports") or []:
            if port_str and port_str.isdigit() and int(port_str) == p.get("port"):
                port_name = p.get("name") or ""
                break
        else:
            if port_str.isdigit():
                raise _unavailable(f'no service port {port_str} found for service "{svc_name}"')
        if not port_str and len(spec.get("ports") or []) == 1:
            port_name = spec["ports"][0].get("name") or ""
        if spec.get("type") == "ExternalName":
            raise _unavailable(f'no endpoints available for service "{svc_name}"')
        candidates: list[tuple[str, int]] = []
        for eps in self.registry.list("endpointslices", namespace,
                                      label_selector=f"kubernetes.io/service-name={svc_name}")[0]:
            number = next((p.get("port") for p in eps.get("ports") or []
                           if (p.get("name") or "") == port_name), None)
            if number is None:
                continue
            for ep in eps.get("endpoints") or []:
                if (ep.get("conditions") or {}).get("ready", True) is False:
                    continue
                candidates.extend((a, int(number)) for a in ep.get("addresses") or [])
        if not candidates:
            ep_obj = self.registry.get_ref("endpoints", namespace, svc_name)
            for subset in (ep_obj or {}).get("subsets") or []:
                number = next((p.get("port") for p in subset.get("ports") or []
                               if (p.get("name") or "") == port_name), None)
                if number is None:
                    continue
                candidates.extend((a["ip"], int(number)) for a in subset.get("addresses") or [])
        if not candidates:
            raise _unavailable(f'no endpoints available for service "{svc_name}"')
        ip, port = random.choice(candidates)
        return scheme or "http", ip, port

    def _pod_target(self, namespace: str, name: str) -> tuple[str, str, int]:
        scheme, pod_name, port_str = parse_name(name)
        pod = self.registry.get("pods", namespace, pod_name)
        ip = (pod.get("status") or {}).get("podIP")
        if not ip:
            raise _unavailable(f'pod "{pod_name}" does not have an IP address yet')
        containers = pod["spec"].get("containers") or []
        port: int | None = None
        if port_str.isdigit():
            port = int(port_str)
        elif port_str:
            for c in containers:
                for p in c.get("ports") or []:
                    if p.get("name") == port_str:
                        port = int(p["containerPort"])
            if port is None:
                raise errors.bad_request(f'unable to find port "{port_str}" in pod "{pod_name}"')
        else:
            for c in containers:
                if c.get("ports"):
                    port = int(c["ports"][0]["containerPort"])
                    break
            if port is None:
                port = 80
        return scheme or "http", ip, port

    # -- forwarding -----------------------------------------------------------------------------
    async def handle(self, request: web.Request, target) -> web.StreamResponse:
        kind = target.key
        if kind == "services":
            scheme, ip, port = self._service_target(target.namespace, target.name)
        elif kind == "pods":
            scheme, ip, port = self._pod_target(target.namespace, target.name)
        else:
            raise errors.ApiError(404, "NotFound", "the server could not find the requested resource", {})
        url = f"{scheme}://{ip}:{network.real_port(port)}/{_rest_path(request)}"
        if request.query_string:
            url += "?" + request.rel_url.raw_query_string
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
        headers["Host"] = f"{ip}:{port}"
        if request.remote:
            prior = request.headers.get("X-Forwarded-For")
            headers["X-Forwarded-For"] = f"{prior}, {request.remote}" if prior else request.remote
        body = await request.read() if request.can_read_body else None
        shown = f"{ip}:{port}"
        try:
            upstream = await self._client().request(
                request.method, URL(url, encoded=True), headers=headers,
                data=body, allow_redirects=False)
        except aiohttp.ClientConnectorError as e:
            reason = "connect: connection refused" if isinstance(
                e.os_error, ConnectionRefusedError) else str(e.os_error or e)
            raise _unavailable(f"error trying to reach service: dial tcp {shown}: {reason}") from None
        except (TimeoutError, aiohttp.ClientError) as e:
            raise _unavailable(f"error trying to reach service: {e or type(e).__name__}") from None
        async with upstream:
            resp = web.StreamResponse(status=upstream.status, reason=upstream.reason)
            for k, v in upstream.headers.items():
                if k.lower() not in _HOP:
                    resp.headers.add(k, v)
            length = upstream.headers.get("Content-Length")
            if length is not None:
                resp.content_length = int(length)
            else:
                resp.enable_chunked_encoding()
            await resp.prepare(request)
            with contextlib.suppress(aiohttp.ClientError, ConnectionResetError):
                async for chunk in upstream.content.iter_any():
                    await resp.write(chunk)
            with contextlib.suppress(ConnectionResetError, RuntimeError):
                await resp.write_eof()
        return resp

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def _rest_path(request: web.Request) -> str:
    """What follows `<kind>/<name>/proxy/` in the path, re-encoded once (Go decodes %2F too)."""
    parts = request.rel_url.raw_path.split("/")
    for i in range(len(parts) - 2):
        if parts[i] in ("services", "pods", "nodes") and parts[i + 2] == "proxy":
            rest = "/".join(parts[i + 3:])
            return quote(unquote(rest), safe="/:@!$&'()*+,;=-._~")
    return ""
