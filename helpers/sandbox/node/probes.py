"""Container probes, run for real against the process: httpGet and tcpSocket.

Semantics follow the kubelet's prober: a probe waits `initialDelaySeconds` after the container
starts, then runs every `periodSeconds` with `timeoutSeconds`; the result only flips after
`successThreshold` successes or `failureThreshold` failures in a row; readiness starts as
failure, liveness and startup as success. Exec and gRPC probes are never run: the sandbox
does not execute manifest commands, so they count as passing and the kubelet says so in an
event. Messages copy Go's net/http and the kubelet's wording.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Callable
from dataclasses import dataclass

from .. import network

USER_AGENT = "kube-probe/1.37"
# The kubelet reads at most this much of a probe's response body.
MAX_BODY = 10 * 1024


@dataclass
class ProbeResult:
    ok: bool
    message: str = ""
    warning: str = ""  # e.g. an unsupported probe type


def resolve_port(port: int | str | None, container: dict) -> int | None:
    """A probe/hook port: a number, or the name of one of the container's ports."""
    if isinstance(port, int):
        return port
    if isinstance(port, str):
        if port.isdigit():
            return int(port)
        for p in container.get("ports") or []:
            if p.get("name") == port:
                return int(p["containerPort"])
    return None


def _dial_error(host: str, port: int, exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return f"dial tcp {host}:{port}: connect: connection refused"
    if isinstance(exc, TimeoutError):
        return f"dial tcp {host}:{port}: i/o timeout"
    if isinstance(exc, OSError) and exc.strerror:
        return f"dial tcp {host}:{port}: connect: {exc.strerror.lower()}"
    return f"dial tcp {host}:{port}: {exc}"


async def http_get(host: str, port: int, path: str = "/", *, scheme: str = "HTTP",
                   headers: list[dict] | None = None, timeout: float = 1.0,
                   method: str = "GET") -> ProbeResult:
    """The kubelet's HTTP check: 200-399 is success. `port` is the container's port; the
    address dialled is the one the process really binds (see network.real_port)."""
    scheme = (scheme or "HTTP").upper()
    if not path.startswith("/"):
        path = "/" + path
    url = f"{scheme.lower()}://{host}:{port}{path}"
    sslctx = None
    if scheme == "HTTPS":
        sslctx = ssl.create_default_context()
        sslctx.check_hostname = False
        sslctx.verify_mode = ssl.CERT_NONE
    hdrs = {"Host": f"{host}:{port}", "User-Agent": USER_AGENT, "Accept": "*/*"}
    for h in headers or []:
        if h.get("name"):
            hdrs[h["name"]] = str(h.get("value", ""))
    hdrs["Connection"] = "close"
    request = f"{method} {path} HTTP/1.1\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in hdrs.items()) + "\r\n"
    writer = None
    try:
        async with asyncio.timeout(timeout):
            try:
                reader, writer = await asyncio.open_connection(
                    host, network.real_port(port), ssl=sslctx)
            except (OSError, ssl.SSLError) as e:
                return ProbeResult(False, f'{method.capitalize()} "{url}": {_dial_error(host, port, e)}')
            writer.write(request.encode("latin-1"))
            await writer.drain()
            status_line = await reader.readline()
            parts = status_line.split()
            if len(parts) < 2 or not parts[1].isdigit():
                return ProbeResult(False, f'{method.capitalize()} "{url}": malformed HTTP response')
            code = int(parts[1])
            # Drain a little of the body, as the kubelet does, then hang up.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(reader.read(MAX_BODY), 0.05)
    except TimeoutError:
        return ProbeResult(False, f'{method.capitalize()} "{url}": context deadline exceeded '
                                  "(Client.Timeout exceeded while awaiting headers)")
    except (OSError, ssl.SSLError, asyncio.IncompleteReadError) as e:
        return ProbeResult(False, f'{method.capitalize()} "{url}": {e or "EOF"}')
    finally:
        if writer is not None:
            writer.close()
    if 200 <= code < 400:
        return ProbeResult(True, f"HTTP probe succeeded with statuscode: {code}")
    return ProbeResult(False, f"HTTP probe failed with statuscode: {code}")


async def tcp_socket(host: str, port: int, timeout: float = 1.0) -> ProbeResult:
    try:
        async with asyncio.timeout(timeout):
            _, writer = await asyncio.open_connection(host, network.real_port(port))
    except TimeoutError:
        return ProbeResult(False, f"dial tcp {host}:{port}: i/o timeout")
    except OSError as e:
        return ProbeResult(False, _dial_error(host, port, e))
    writer.close()
    return ProbeResult(True)


async def run_handler(handler: dict, container: dict, pod_ip: str, timeout: float) -> ProbeResult:
    """One probe attempt with the probe's handler (httpGet, tcpSocket, exec, grpc)."""
    if "httpGet" in handler:
        hg = handler["httpGet"] or {}
        port = resolve_port(hg.get("port"), container)
        if port is None:
            return ProbeResult(False, f"unable to resolve port {hg.get('port')!r}")
        return await http_get(hg.get("host") or pod_ip, port, hg.get("path") or "/",
                              scheme=hg.get("scheme") or "HTTP",
                              headers=hg.get("httpHeaders"), timeout=timeout)
    if "tcpSocket" in handler:
        ts = handler["tcpSocket"] or {}
        port = resolve_port(ts.get("port"), container)
        if port is None:
            return ProbeResult(False, f"unable to resolve port {ts.get('port')!r}")
        return await tcp_socket(ts.get("host") or pod_ip, port, timeout)
    kind = "exec" if "exec" in handler else "grpc" if "grpc" in handler else "unknown"
    return ProbeResult(True, warning=f"{kind} probes are not run by the rollout-labs sandbox "
                                     "(it never executes commands from a manifest); "
                                     "the probe counts as passing")


class Prober:
    """One probe of one container run: calls `on_change(result)` when the visible result flips
    and `on_failure(result)` after every failed attempt (for the Unhealthy event)."""

    def __init__(self, kind: str, probe: dict, container: dict, pod_ip: str,
                 on_change: Callable[[bool, ProbeResult], None],
                 on_failure: Callable[[ProbeResult], None],
                 on_warning: Callable[[str], None]):
        self.kind = kind  # readiness | liveness | startup
        self.probe = probe
        self.container = container
        self.pod_ip = pod_ip
        self.on_change = on_change
        self.on_failure = on_failure
        self.on_warning = on_warning
        # Readiness starts failed, liveness passed; startup has not passed yet.
        self.result = kind == "liveness"
        self._task: asyncio.Task | None = None
        self._successes = 0
        self._failures = 0

    def start(self, delay: float = 0.0) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(delay))

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _run(self, delay: float) -> None:
        p = self.probe
        period = max(1, int(p.get("periodSeconds") or 10))
        timeout = max(1, int(p.get("timeoutSeconds") or 1))
        success_threshold = max(1, int(p.get("successThreshold") or 1))
        failure_threshold = max(1, int(p.get("failureThreshold") or 3))
        initial = max(0, int(p.get("initialDelaySeconds") or 0))
        await asyncio.sleep(max(initial, delay))
        loop = asyncio.get_running_loop()
        warned = False
        while True:
            started = loop.time()
            res = await run_handler(p, self.container, self.pod_ip, timeout)
            if res.warning and not warned:
                warned = True
                self.on_warning(res.warning)
            if res.ok:
                self._failures = 0
                self._successes += 1
                if not self.result and self._successes >= success_threshold:
                    self.result = True
                    self.on_change(True, res)
            else:
                self._successes = 0
                self._failures += 1
                self.on_failure(res)
                if self._failures >= failure_threshold and (self.result or self.kind == "startup"):
                    self.result = False
                    self.on_change(False, res)
            await asyncio.sleep(max(0.0, period - (loop.time() - started)))
