"""The zero-downtime probe: steady requests to a Service, one record per request.

A claim like "this rollout drops no requests" is only worth something if it was measured.
The probe sends a fixed rate of requests (default 50/s) from a background thread and records
when each was sent, how long it took, the HTTP status or error, and which app version and pod
answered (podinfo's JSON has `version` and `hostname`).

Route: the Service's NodePort on a node address when reachable (the sandbox: 127.0.0.1),
else the API server's service proxy, which works on every cluster. Every request uses a new
connection, so the Service spreads them over pods the way it spreads real clients.
"""

from __future__ import annotations

import http.client
import json
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from kubernetes.client.exceptions import ApiException

from helpers import _api
from helpers.cluster import Cluster, current

USER_AGENT = "rollout-labs-probe/1"  # not "Mozilla": podinfo answers JSON, not its web UI


@dataclass(frozen=True, slots=True)
class Record:
    t: float  # seconds since the probe started, when the request was sent
    latency: float  # seconds until the answer (or the error)
    status: int | None  # HTTP status, None when no HTTP answer came back
    error: str | None  # e.g. "ConnectionRefusedError", "timeout", "HTTP 503"
    version: str | None
    hostname: str | None

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None and 200 <= self.status < 400


def parse_podinfo(body: bytes) -> tuple[str | None, str | None]:
    """(version, hostname) from podinfo's JSON; (None, None) for anything else."""
    try:
        data = json.loads(body)
    except ValueError:
        return None, None
    if not isinstance(data, dict):
        return None, None
    version, host = data.get("version"), data.get("hostname")
    return (str(version) if version is not None else None,
            str(host) if host is not None else None)


# --- routes -----------------------------------------------------------------------------


class NodePortRoute:
    """GET http://host:nodePort/path over a fresh TCP connection per request."""

    def __init__(self, host: str, port: int, path: str) -> None:
        self.host, self.port, self.path = host, port, path

    def describe(self) -> str:
        return f"http://{self.host}:{self.port}{self.path} (NodePort)"

    def fetch(self, timeout: float) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.request("GET", self.path, headers={
                "Connection": "close", "User-Agent": USER_AGENT, "Accept": "application/json"})
            resp = conn.getresponse()
            return resp.status, resp.read(65536)
        finally:
            conn.close()

    def close(self) -> None:
        pass


class ProxyRoute:
    """GET through the API server: /api/v1/namespaces/NS/services/NAME:PORT/proxy/PATH."""

    def __init__(self, cluster: Cluster, namespace: str, service: str, port: int | str,
                 path: str, pool: int) -> None:
        self.api = cluster.new_api_client(pool_maxsize=pool, retries=False)
        self.url_path = (f"/api/v1/namespaces/{quote(namespace, safe='')}/services/"
                         f"{quote(service, safe='')}:{port}/proxy{path}")

    def describe(self) -> str:
        return f"{self.url_path} (API server service proxy)"

    def fetch(self, timeout: float) -> tuple[int, bytes]:
        try:
            text = _api.request(self.api, "GET", self.url_path, timeout=(timeout, timeout),
                                parse=False)
            return 200, text.encode()
        except ApiException as exc:
            return int(exc.status or 0), (exc.body or "").encode()

    def close(self) -> None:
        self.api.close()


def _service_port(svc: dict, port: int | str | None) -> dict:
    ports = svc.get("spec", {}).get("ports") or []
    if not ports:
        raise ValueError(f"Service {svc['metadata']['name']!r} has no ports")
    if port is None:
        return ports[0]
    for p in ports:
        if port in (p.get("port"), p.get("name")):
            return p
    raise ValueError(f"Service {svc['metadata']['name']!r} has no port {port!r}; it has "
                     f"{[p.get('port') for p in ports]}")


def _reachable(route: NodePortRoute, timeout: float) -> bool:
    try:
        route.fetch(timeout)
        return True
    except (OSError, http.client.HTTPException):
        return False


def node_addresses(cluster: Cluster) -> list[str]:
    """Node InternalIPs first, then ExternalIPs (where a NodePort may be reachable)."""
    nodes = cluster.request("GET", _api.NODE.path()).get("items") or []
    internal, external = [], []
    for n in nodes:
        for a in n.get("status", {}).get("addresses") or []:
            if a.get("type") == "InternalIP":
                internal.append(a["address"])
            elif a.get("type") == "ExternalIP":
                external.append(a["address"])
    return internal + external


def choose_route(service: str, namespace: str, *, port: int | str | None = None,
                 path: str = "/", via: str = "auto", pool: int = 32,
                 cluster: Cluster | None = None, probe_timeout: float = 1.0):
    """Pick NodePort (quick reachability test) or the API server proxy for a Service."""
    c = current(cluster)
    svc = c.get(_api.SERVICE.path(namespace, service))
    if svc is None:
        raise ValueError(f"Service {service!r} not found in namespace {namespace!r}. Apply the "
                         f"manifest first (kubectl get svc -n {namespace}).")
    sp = _service_port(svc, port)
    path = path if path.startswith("/") else "/" + path
    if via not in ("auto", "nodeport", "proxy"):
        raise ValueError("via must be 'auto', 'nodeport' or 'proxy'")
    node_port = sp.get("nodePort")
    if via in ("auto", "nodeport") and node_port:
        hosts = ["127.0.0.1"] if c.is_sandbox else node_addresses(c)[:3]
        for host in hosts:
            route = NodePortRoute(host, int(node_port), path)
            if via == "nodeport" or _reachable(route, probe_timeout):
                return route
    if via == "nodeport":
        raise ValueError(f"Service {service!r} has no nodePort (type "
                         f"{svc['spec'].get('type')}); use via='proxy'")
    return ProxyRoute(c, namespace, service, sp.get("port"), path, pool)


# --- summary ----------------------------------------------------------------------------


@dataclass
class Summary:
    total: int
    ok: int
    failures: int
    failure_rate: float
    longest_gap: float  # longest time (s) without a successful answer
    duration: float
    rate: float  # achieved requests per second
    versions: dict[str, int]  # successful answers per version
    per_second: list[tuple[int, dict[str, int], int]]  # (second, answers per version, failures)
    errors: dict[str, int]
    pods: dict[str, int] = field(default_factory=dict)
    route: str = ""
    skipped: int = 0  # ticks not sent because all workers were busy (client-side overload)

    def version_share(self) -> dict[str, float]:
        n = sum(self.versions.values())
        return {v: k / n for v, k in self.versions.items()} if n else {}

    def __str__(self) -> str:
        share = ", ".join(f"{v}: {s:.0%}" for v, s in self.version_share().items()) or "-"
        errs = ", ".join(f"{k} ×{n}" for k, n in self.errors.items()) or "none"
        return (f"{self.total} requests in {self.duration:.1f}s ({self.rate:.0f}/s): "
                f"{self.failures} failed ({self.failure_rate:.2%}); longest gap without a "
                f"successful answer {self.longest_gap:.2f}s; versions {share}; errors {errs}")

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(str(self))

    def _repr_html_(self) -> str:
        colour = "#1a7f37" if self.failures == 0 else "#cf222e"
        share = "".join(f"<li>{v}: {n} ({n / max(1, self.ok):.0%})</li>"
                        for v, n in self.versions.items())
        errs = "".join(f"<li>{k}: {n}</li>" for k, n in self.errors.items()) or "<li>none</li>"
        return (f'<div style="font-size:13px"><b style="color:{colour}">{self.failures} failed'
                f"</b> of {self.total} requests ({self.failure_rate:.2%}) over "
                f"{self.duration:.1f}s at {self.rate:.0f}/s; longest gap without a successful "
                f"answer: <b>{self.longest_gap:.2f}s</b><br>versions:<ul>{share}</ul>errors:"
                f"<ul>{errs}</ul><small>route: {self.route}</small></div>")


def summarize(records: Iterable[Record], *, route: str = "", skipped: int = 0,
              window: tuple[float, float] | None = None) -> Summary:
    """Totals, failures, the longest gap without a success and versions per second."""
    recs = sorted(records, key=lambda r: r.t)
    if not recs:
        return Summary(0, 0, 0, 0.0, 0.0, 0.0, 0.0, {}, [], {}, {}, route, skipped)
    start = window[0] if window else recs[0].t
    end = window[1] if window else max(r.t + r.latency for r in recs)
    oks = [r for r in recs if r.ok]
    marks = [start, *sorted(r.t + r.latency for r in oks), end]
    gap = max((b - a for a, b in zip(marks, marks[1:], strict=False)), default=0.0)
    versions = Counter(r.version or "?" for r in oks)
    pods = Counter(r.hostname or "?" for r in oks)
    errors = Counter(r.error or f"HTTP {r.status}" for r in recs if not r.ok)
    buckets: dict[int, tuple[Counter, list[int]]] = {}
    for r in recs:
        b = buckets.setdefault(int(r.t), (Counter(), [0]))
        if r.ok:
            b[0][r.version or "?"] += 1
        else:
            b[1][0] += 1
    per_second = [(s, dict(b[0]), b[1][0]) for s, b in sorted(buckets.items())]
    duration = max(end - start, 1e-9)
    failures = len(recs) - len(oks)
    return Summary(len(recs), len(oks), failures, failures / len(recs), gap, duration,
                   len(recs) / duration, dict(versions), per_second, dict(errors), dict(pods),
                   route, skipped)


# --- the probe --------------------------------------------------------------------------


class Probe:
    """Background traffic to a Service; `start()`, do the rollout, `stop()` -> Summary.

        probe = Probe("podinfo", "hello", rate=50).start()
        rollout.set_image(...); rollout.wait_for_rollout(...)
        summary = probe.stop()
    """

    def __init__(self, service: str, namespace: str, *, port: int | str | None = None,
                 path: str = "/", rate: float = 50.0, timeout: float = 1.0, via: str = "auto",
                 parse: Callable[[bytes], tuple[str | None, str | None]] = parse_podinfo,
                 max_records: int = 500_000, cluster: Cluster | None = None,
                 route: Any = None) -> None:
        if rate <= 0:
            raise ValueError("rate must be > 0 requests per second")
        self.service, self.namespace = service, namespace
        self.rate, self.timeout, self.parse = float(rate), float(timeout), parse
        self.max_records = max_records
        self.workers = min(256, math.ceil(self.rate * self.timeout * 2) + 4)
        self.route = route or choose_route(service, namespace, port=port, path=path, via=via,
                                           pool=self.workers, cluster=cluster)
        self._records: list[Record] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._inflight = 0
        self._skipped = 0
        self._t0 = time.monotonic()
        self.started_at = time.time()
        self._stopped_t: float | None = None

    # lifecycle
    def start(self) -> Probe:
        if self.running:
            return self
        self._stop.clear()
        self._stopped_t = None
        self._pool = ThreadPoolExecutor(max_workers=self.workers,
                                        thread_name_prefix="rollout-labs-probe")
        self._thread = threading.Thread(target=self._loop, name="rollout-labs-probe-tick",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> Summary:
        """Stop sending, wait for requests in flight, return the summary."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=False)
            self._pool = None
        if self._stopped_t is None:
            self._stopped_t = self.now()
        return self.summary()

    def close(self) -> None:
        self.stop()
        self.route.close()

    def __enter__(self) -> Probe:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __del__(self) -> None:
        self._stop.set()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def now(self) -> float:
        return time.monotonic() - self._t0

    def reset(self) -> None:
        """Forget the records so far (e.g. the warm-up before the step being measured)."""
        with self._lock:
            self._records.clear()
            self._skipped = 0

    # data
    @property
    def records(self) -> list[Record]:
        with self._lock:
            return list(self._records)

    def summary(self, since: float | None = None, until: float | None = None) -> Summary:
        recs = [r for r in self.records
                if (since is None or r.t >= since) and (until is None or r.t < until)]
        return summarize(recs, route=self.route.describe(), skipped=self._skipped)

    def wait_for(self, requests: int, timeout: float = 60) -> Probe:
        """Block until at least `requests` records exist (to reach a minimum sample size)."""
        deadline = time.monotonic() + timeout
        while len(self._records) < requests:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {len(self._records)} of {requests} requests after "
                                   f"{timeout:.0f}s; is the probe running?")
            time.sleep(0.1)
        return self

    # internals
    def _loop(self) -> None:
        interval = 1.0 / self.rate
        next_t = time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic()
            if now < next_t:
                self._stop.wait(next_t - now)
                continue
            if now - next_t > 1.0:  # woke up very late (suspended laptop): do not burst
                next_t = now
            next_t += interval
            with self._lock:
                busy = self._inflight >= self.workers
                if not busy:
                    self._inflight += 1
                else:
                    self._skipped += 1
            if not busy and self._pool is not None:
                try:
                    self._pool.submit(self._one)
                except RuntimeError:  # pool shut down meanwhile
                    break

    def _one(self) -> None:
        t = self.now()
        start = time.monotonic()
        status: int | None = None
        error: str | None = None
        version = host = None
        try:
            status, body = self.route.fetch(self.timeout)
            if 200 <= status < 400:
                version, host = self.parse(body)
            else:
                error = f"HTTP {status}"
        except TimeoutError:
            error = "timeout"
        except Exception as exc:  # every failure is data, never a crash of the probe
            error = "timeout" if "Timeout" in type(exc).__name__ else type(exc).__name__
        rec = Record(t, time.monotonic() - start, status, error, version, host)
        with self._lock:
            self._inflight -= 1
            if len(self._records) < self.max_records:
                self._records.append(rec)


def fetch_once(service: str, namespace: str, *, port: int | str | None = None, path: str = "/",
               timeout: float = 3.0, via: str = "auto", cluster: Cluster | None = None) -> Record:
    """One request through the same route a probe would use (for checks and quick tests)."""
    route = choose_route(service, namespace, port=port, path=path, via=via, pool=2,
                         cluster=cluster)
    start = time.monotonic()
    try:
        status, body = route.fetch(timeout)
        version, host = parse_podinfo(body) if 200 <= status < 400 else (None, None)
        err = None if 200 <= status < 400 else f"HTTP {status}"
        return Record(0.0, time.monotonic() - start, status, err, version, host)
    except Exception as exc:
        return Record(0.0, time.monotonic() - start, None, type(exc).__name__, None, None)
    finally:
        route.close()
