"""kube-proxy: Service addresses that really accept connections and spread them over pods.

For every TCP service port the proxy listens on `clusterIP:port` and, for NodePort and
LoadBalancer services, on `<node IP>:nodePort` (all on loopback; ports below the unprivileged
limit are shifted like everywhere in the sandbox, see network.real_port). Each accepted
connection is spliced to one endpoint chosen at random among the READY ones of the service's
EndpointSlices (falling back to serving-and-terminating ones when none is ready, as
kube-proxy does since 1.28), and keeps that backend for its lifetime.

Endpoint changes are applied like kube-proxy's iptables sync: at most once per
`proxy_min_sync` (minSyncPeriod, 1 s), immediately when the last sync is older than that.
Between a pod leaving the endpoints and the proxy noticing there is therefore a real gap,
which is what a preStop pause covers. A connection with no backend, or whose backend refuses
it, is reset, as a REJECT rule or a DNAT to a closed port would do.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import struct
import time
from dataclasses import dataclass, field

from .. import network
from ..client import Client
from ..config import SandboxConfig
from ..storage.store import WatchEvent

log = logging.getLogger("rollout_labs.sandbox.node.proxy")

Backend = tuple[str, int]
BIND_RETRY = 5.0


def _reset(transport: asyncio.BaseTransport) -> None:
    """Close with RST, not FIN: the client sees 'connection reset', as with a REJECT."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


@dataclass
class ServicePort:
    key: tuple[str, str, str, int]  # namespace, service, port name, port
    backends: list[Backend] = field(default_factory=list)
    affinity_timeout: float | None = None  # ClientIP affinity
    _affinity: dict[str, tuple[Backend, float]] = field(default_factory=dict)
    listeners: dict[tuple[str, int], asyncio.Server] = field(default_factory=dict)
    connections: int = 0

    def pick(self, client_ip: str | None) -> Backend | None:
        if not self.backends:
            return None
        if self.affinity_timeout and client_ip:
            hit = self._affinity.get(client_ip)
            now = time.monotonic()
            if hit is not None and hit[1] > now and hit[0] in self.backends:
                self._affinity[client_ip] = (hit[0], now + self.affinity_timeout)
                return hit[0]
            choice = random.choice(self.backends)
            self._affinity[client_ip] = (choice, now + self.affinity_timeout)
            return choice
        return random.choice(self.backends)


class _Upstream(asyncio.Protocol):
    def __init__(self, down: _Downstream):
        self.down = down
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.down.transport.write(data)

    def eof_received(self) -> bool:
        self.down.peer_eof()
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self.down.upstream_lost(exc)

    def pause_writing(self) -> None:
        self.down.transport.pause_reading()

    def resume_writing(self) -> None:
        self.down.transport.resume_reading()


class _Downstream(asyncio.Protocol):
    """The client's side of one proxied connection."""

    def __init__(self, sp: ServicePort):
        self.sp = sp
        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self.up: _Upstream | None = None
        self._client_eof = False
        self._upstream_eof = False
        self._closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        backend = self.sp.pick(peer[0] if peer else None)
        if backend is None:
            self._closed = True
            _reset(transport)
            return
        self.sp.connections += 1
        transport.pause_reading()  # type: ignore[attr-defined]
        asyncio.get_running_loop().create_task(self._connect(backend))

    async def _connect(self, backend: Backend) -> None:
        loop = asyncio.get_running_loop()
        try:
            _, up = await loop.create_connection(lambda: _Upstream(self), backend[0], backend[1])
        except OSError:
            self._closed = True
            _reset(self.transport)
            return
        if self._closed:
            up.transport.close()
            return
        self.up = up
        with contextlib.suppress(RuntimeError):
            self.transport.resume_reading()

    def data_received(self, data: bytes) -> None:
        if self.up is not None and self.up.transport is not None:
            self.up.transport.write(data)

    def eof_received(self) -> bool:
        self._client_eof = True
        if self.up is not None and self.up.transport is not None:
            if self._upstream_eof:
                self.up.transport.close()
                return False
            with contextlib.suppress(OSError, RuntimeError):
                self.up.transport.write_eof()
        return True

    def peer_eof(self) -> None:
        self._upstream_eof = True
        if self._client_eof:
            self.transport.close()
            return
        with contextlib.suppress(OSError, RuntimeError):
            self.transport.write_eof()

    def upstream_lost(self, exc: Exception | None) -> None:
        if self._closed:
            return
        self._closed = True
        if exc is not None:
            _reset(self.transport)
        else:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        if self.up is not None and self.up.transport is not None:
            if exc is not None:
                _reset(self.up.transport)
            else:
                self.up.transport.close()

    def pause_writing(self) -> None:
        if self.up is not None and self.up.transport is not None:
            self.up.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.up is not None and self.up.transport is not None:
            self.up.transport.resume_reading()


def service_backends(client: Client, svc: dict, port: dict) -> list[Backend]:
    """Ready endpoints of one service port (serving+terminating ones if none is ready)."""
    md = svc["metadata"]
    name = port.get("name") or ""
    ready: list[Backend] = []
    terminating: list[Backend] = []
    for eps in client.scan("endpointslices", md["namespace"],
                           label_selector=f"kubernetes.io/service-name={md['name']}"):
        number = None
        for p in eps.get("ports") or []:
            if (p.get("name") or "") == name and (p.get("protocol") or "TCP") == "TCP":
                number = p.get("port")
        if number is None:
            continue
        for ep in eps.get("endpoints") or []:
            cond = ep.get("conditions") or {}
            target = [(a, network.real_port(int(number))) for a in ep.get("addresses") or []]
            if cond.get("ready", True) is not False:
                ready.extend(target)
            elif cond.get("serving") and cond.get("terminating"):
                terminating.extend(target)
    return sorted(set(ready or terminating))


class KubeProxy:
    def __init__(self, client: Client, config: SandboxConfig, node_ips: list[str]):
        self.client = client
        self.min_sync = max(0.0, config.proxy_min_sync)
        self.node_ips = node_ips
        self.ports: dict[tuple[str, str, str, int], ServicePort] = {}
        self._last_sync = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._syncing: asyncio.Task | None = None
        self._again = False
        self._stopped = False
        self._bind_failures: set[tuple[str, int]] = set()

    def start(self) -> None:
        self.client.on_change({"services", "endpointslices"}, self._on_change)
        self._request_sync()

    def _on_change(self, event: WatchEvent) -> None:
        self._request_sync()

    def _request_sync(self) -> None:
        if self._stopped or self._timer is not None:
            return
        if self._syncing is not None and not self._syncing.done():
            self._again = True
            return
        loop = asyncio.get_running_loop()
        due = max(loop.time(), self._last_sync + self.min_sync)
        self._timer = loop.call_at(due, self._fire)

    def _fire(self) -> None:
        self._timer = None
        self._syncing = asyncio.get_running_loop().create_task(self._sync())

    def _desired(self) -> dict[tuple[str, str, str, int], tuple[list[tuple[str, int]],
                                                               list[Backend], float | None]]:
        out = {}
        for svc in self.client.scan("services"):
            spec = svc.get("spec") or {}
            ip = spec.get("clusterIP")
            if spec.get("type") == "ExternalName" or not ip or ip == "None":
                continue
            md = svc["metadata"]
            affinity = None
            if spec.get("sessionAffinity") == "ClientIP":
                affinity = float(((spec.get("sessionAffinityConfig") or {}).get("clientIP") or {})
                                 .get("timeoutSeconds", 10800))
            for p in spec.get("ports") or []:
                if (p.get("protocol") or "TCP") != "TCP":
                    continue
                key = (md["namespace"], md["name"], p.get("name") or "", int(p["port"]))
                addrs = [(ip, network.real_port(int(p["port"])))]
                if spec.get("type") in ("NodePort", "LoadBalancer") and p.get("nodePort"):
                    addrs += [(nip, int(p["nodePort"])) for nip in self.node_ips]
                if md["namespace"] == "default" and md["name"] == "kubernetes":
                    continue  # the API server itself answers on its own port
                out[key] = (addrs, service_backends(self.client, svc, p), affinity)
        return out

    async def _sync(self) -> None:
        loop = asyncio.get_running_loop()
        self._last_sync = loop.time()
        retry = False
        try:
            desired = self._desired()
            for key in [k for k in self.ports if k not in desired]:
                sp = self.ports.pop(key)
                for server in sp.listeners.values():
                    server.close()
            for key, (addrs, backends, affinity) in desired.items():
                sp = self.ports.get(key)
                if sp is None:
                    sp = self.ports[key] = ServicePort(key)
                sp.backends = backends
                sp.affinity_timeout = affinity
                for addr in [a for a in sp.listeners if a not in addrs]:
                    sp.listeners.pop(addr).close()
                for addr in addrs:
                    if addr in sp.listeners:
                        continue
                    try:
                        sp.listeners[addr] = await loop.create_server(
                            lambda sp=sp: _Downstream(sp), addr[0], addr[1],
                            reuse_address=True, backlog=1024)
                        self._bind_failures.discard(addr)
                    except OSError as e:
                        # Another program (or sandbox) holds the port: say so once, retry later.
                        if addr not in self._bind_failures:
                            self._bind_failures.add(addr)
                            log.warning("kube-proxy: cannot listen on %s:%s for %s/%s: %s",
                                        addr[0], addr[1], key[0], key[1], e)
                        retry = True
        except Exception:
            log.exception("kube-proxy sync failed")
        finally:
            self._syncing = None
            if retry and not self._stopped:
                loop.call_later(BIND_RETRY, self._request_sync)
            if self._again:
                self._again = False
                self._request_sync()

    def backends(self, namespace: str, service: str) -> list[Backend]:
        """What the proxy currently uses for a service (all its ports): for tests and checks."""
        out: list[Backend] = []
        for key, sp in self.ports.items():
            if key[0] == namespace and key[1] == service:
                out.extend(sp.backends)
        return out

    async def stop(self) -> None:
        self._stopped = True
        if self._timer is not None:
            self._timer.cancel()
        if self._syncing is not None:
            self._syncing.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._syncing
        for sp in self.ports.values():
            for server in sp.listeners.values():
                server.close()
        self.ports.clear()
