"""Shared code for the sandbox's container apps.

The container contract (what the kubelet passes in the environment), the port shift, service
names through the node's hosts file, log lines, signals, and a small HTTP/1.1 server that can
drain. See README.md in this folder for the contract itself.

Apps run as `python -I -S <app>.py`, one process per container, so every import here costs
start-up time and resident memory in every pod. Only light stdlib modules are used: the stdlib
`http.server` pulls in `http.client`, `email` and `ssl` (about 8 MB more per pod), hence the
small server below.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import threading
import time

# ---------------------------------------------------------------------------------------------
# The container contract
# ---------------------------------------------------------------------------------------------


def parse_port_shift(value: str | None) -> tuple[int, int]:
    """`"1024:10000"` -> (1024, 10000): ports below 1024 are really at port + 10000."""
    try:
        below, offset = (value or "0:0").split(":")
        return int(below), int(offset)
    except ValueError:
        return 0, 0


def parse_argv(value: str | None) -> list[str]:
    """SANDBOX_ARGV is a JSON list of strings (manifest command + args); anything else is empty."""
    if not value:
        return []
    try:
        argv = json.loads(value)
    except ValueError:
        return []
    return [str(a) for a in argv] if isinstance(argv, list) else []


class Contract:
    """What the kubelet hands a container, read from the environment once."""

    def __init__(self, environ: dict[str, str] | None = None) -> None:
        env = dict(os.environ if environ is None else environ)
        self.env = env
        self.hostname = env.get("HOSTNAME") or socket.gethostname()
        self.image = env.get("SANDBOX_IMAGE", "")
        self.version = env.get("SANDBOX_APP_VERSION", "")
        self.pod_ip = env.get("SANDBOX_POD_IP", "127.0.0.1")
        self.namespace = env.get("SANDBOX_POD_NAMESPACE", "default")
        self.argv = parse_argv(env.get("SANDBOX_ARGV"))
        self.hosts_file = env.get("SANDBOX_HOSTS_FILE", "")
        self.port_shift = parse_port_shift(env.get("SANDBOX_PORT_SHIFT"))
        delay = env.get("SANDBOX_STARTUP_DELAY", "")
        self.startup_delay: float | None = float(delay) if delay else None

    def app_env(self) -> dict[str, str]:
        """The environment as the container itself would see it: without the SANDBOX_* plumbing."""
        return {k: v for k, v in self.env.items() if not k.startswith("SANDBOX_")}


CONTRACT = Contract()


def shift_port(port: int, shift: tuple[int, int] | None = None) -> int:
    below, offset = CONTRACT.port_shift if shift is None else shift
    return port + offset if port < below else port


def bind_port(port: int) -> int:
    """The port actually bound for container port `port` (unprivileged users cannot bind < 1024)."""
    return shift_port(port)


def dial_port(port: int) -> int:
    """The port actually dialled for `port`: the same shift the node applies when it binds."""
    return shift_port(port)


# ---------------------------------------------------------------------------------------------
# Names: the node's hosts file with the pod's namespace as search domain (like resolv.conf)
# ---------------------------------------------------------------------------------------------

CLUSTER_DOMAIN = "cluster.local"


def _is_ipv4(name: str) -> bool:
    parts = name.split(".")
    return len(parts) == 4 and all(p.isdigit() and int(p) < 256 for p in parts)


def _canonical(name: str) -> str:
    """`svc.ns` and `svc.ns.svc` are written out in full, so any form the node writes matches."""
    if name.endswith(".svc"):
        return f"{name}.{CLUSTER_DOMAIN}"
    if name.count(".") == 1:
        return f"{name}.svc.{CLUSTER_DOMAIN}"
    return name


def read_hosts(path: str) -> dict[str, str]:
    """Lines `ip name1 name2 ...`; `#` starts a comment; the first line naming a host wins."""
    table: dict[str, str] = {}
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError:
        return table
    for line in lines:
        fields = line.split("#", 1)[0].split()
        if len(fields) < 2:
            continue
        for name in fields[1:]:
            table.setdefault(_canonical(name.lower().rstrip(".")), fields[0])
    return table


def search_names(name: str, namespace: str) -> list[str]:
    """Candidates in resolv.conf order: `search <ns>.svc.cluster.local svc.cluster.local
    cluster.local` with ndots:5, so short names try the search domains first."""
    name = name.lower()
    if name.endswith("."):
        return [name.rstrip(".")]
    suffixes = [f"{namespace}.svc.{CLUSTER_DOMAIN}", f"svc.{CLUSTER_DOMAIN}", CLUSTER_DOMAIN]
    searched = [f"{name}.{s}" for s in suffixes]
    return [name, *searched] if name.count(".") >= 5 else [*searched, name]


def resolve(
    name: str, *, namespace: str | None = None, hosts_file: str | None = None
) -> str | None:
    """The IPv4 address for `name` as a pod in `namespace` would resolve it, or None."""
    if _is_ipv4(name):
        return name
    lowered = name.lower().rstrip(".")
    if lowered in ("localhost", "localhost.localdomain", CONTRACT.hostname.lower()):
        return CONTRACT.pod_ip  # a pod's loopback is its own address in the sandbox
    table = read_hosts(CONTRACT.hosts_file if hosts_file is None else hosts_file)
    for candidate in search_names(name, namespace or CONTRACT.namespace):
        if candidate in table:
            return table[candidate]
    return None


# ---------------------------------------------------------------------------------------------
# Logging
# ---------------------------------------------------------------------------------------------

_log_lock = threading.Lock()


def log(line: str, stream=None) -> None:
    """One line, flushed at once: `kubectl logs` reads the file the kubelet writes it to."""
    out = stream or sys.stdout
    with _log_lock:
        try:
            out.write(line + "\n")
            out.flush()
        except (OSError, ValueError):
            pass


def log_json(**fields: object) -> None:
    log(json.dumps(fields, separators=(",", ":")))


def iso_now(t: float | None = None) -> str:
    """`2026-11-22T04:05:06.789Z`: zap's ISO8601 encoder and JavaScript's Date#toISOString."""
    t = time.time() if t is None else t
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1000):03d}Z"


def http_date(t: float | None = None) -> str:
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(t))


def clf_date(t: float | None = None) -> str:
    """`22/Nov/2026:04:05:06 +0000`, the access-log time of nginx and Apache."""
    return time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(t))


# ---------------------------------------------------------------------------------------------
# Signals
# ---------------------------------------------------------------------------------------------


def block_signals(*signals: int) -> None:
    """Block `signals` in this thread and every thread started after, so `wait_signal` (and
    nothing else) receives them. Call it before starting any thread. The dispositions are reset
    first: a signal the parent left ignored would be discarded even while blocked."""
    for sig in signals:
        signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_BLOCK, set(signals))


def wait_signal(*signals: int) -> int:
    return signal.sigwait(set(signals))


def ignore_signals(*signals: int) -> None:
    """What an app that installs no handler gets as PID 1 of its container: nothing happens."""
    for sig in signals:
        signal.signal(sig, signal.SIG_IGN)


def exit_now(code: int) -> None:
    """Exit at once, without waiting for handler threads (a process exiting, as in a container)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def startup_delay(default: float) -> float:
    return default if CONTRACT.startup_delay is None else CONTRACT.startup_delay


# ---------------------------------------------------------------------------------------------
# A small HTTP/1.1 server
# ---------------------------------------------------------------------------------------------

REASONS = {
    100: "Continue",
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No Content",
    301: "Moved Permanently",
    302: "Found",
    304: "Not Modified",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    409: "Conflict",
    411: "Length Required",
    413: "Request Entity Too Large",
    418: "I'm a teapot",
    429: "Too Many Requests",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 4 * 1024 * 1024


class BadRequest(Exception):
    pass


class Request:
    __slots__ = ("method", "target", "path", "query", "version", "headers", "body", "client")

    def __init__(
        self,
        method: str,
        target: str,
        version: str,
        headers: list[tuple[str, str]],
        client: tuple[str, int],
    ) -> None:
        self.method = method
        self.target = target
        self.path, _, self.query = target.partition("?")
        self.version = version
        self.headers = headers
        self.body = b""
        self.client = client

    def header(self, name: str, default: str = "") -> str:
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default


class Response:
    __slots__ = ("status", "body", "headers", "close", "reason")

    def __init__(
        self,
        status: int = 200,
        body: bytes | str = b"",
        content_type: str | None = None,
        headers: list[tuple[str, str]] | None = None,
        reason: str | None = None,
    ) -> None:
        self.status = status
        self.reason = reason or REASONS.get(status, "Status")
        self.body = body.encode() if isinstance(body, str) else body
        self.headers = list(headers or [])
        if content_type:
            self.headers.insert(0, ("Content-Type", content_type))
        self.close = False


def json_body(data: object, indent: int | None = 2) -> bytes:
    """Go's `json.MarshalIndent`-style output, as podinfo writes it (no trailing newline)."""
    if indent is None:
        return json.dumps(data, separators=(",", ":")).encode()
    return json.dumps(data, indent=indent).encode()


class HttpServer:
    """Thread-per-connection HTTP/1.1 with keep-alive, bound to podIP:bind_port(port).

    It can stop accepting, close idle keep-alive connections and wait for requests in flight:
    the pieces graceful shutdowns (podinfo's, nginx's SIGQUIT) are made of.
    """

    def __init__(
        self,
        handler,
        host: str,
        port: int,
        *,
        server_header: str | None = None,
        idle_timeout: float = 60.0,
        on_request=None,
    ) -> None:
        self.handler = handler
        self.server_header = server_header
        self.idle_timeout = idle_timeout
        self.on_request = on_request  # called (request, response, seconds) after each reply
        self.port = port
        self.address = (host, bind_port(port))
        self.draining = False
        self._busy: dict[socket.socket, bool] = {}
        self._cond = threading.Condition()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._sock.bind(self.address)
            self._sock.listen(128)
        except OSError:
            self._sock.close()
            raise
        self._listening = True

    def start(self) -> HttpServer:
        threading.Thread(target=self._accept_loop, name="accept", daemon=True).start()
        return self

    # -- lifecycle ------------------------------------------------------------------------------

    def stop_accepting(self) -> None:
        """Close the listening socket: new connections are refused from now on."""
        if self._listening:
            self._listening = False
            try:
                self._sock.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
            except OSError:
                pass
            self._sock.close()

    def in_flight(self) -> int:
        with self._cond:
            return sum(self._busy.values())

    def drain(self, deadline: float | None = None) -> bool:
        """Stop accepting, close idle connections, wait for requests in flight (until the
        monotonic `deadline`, or for ever). True when everything finished in time."""
        self.draining = True
        self.stop_accepting()
        with self._cond:
            for conn, busy in self._busy.items():
                if not busy:
                    _shutdown(conn)
            while any(self._busy.values()):
                timeout = None if deadline is None else deadline - time.monotonic()
                if timeout is not None and timeout <= 0:
                    return False
                self._cond.wait(timeout)
        return True

    def close_all(self) -> None:
        self.draining = True
        self.stop_accepting()
        with self._cond:
            for conn in self._busy:
                _shutdown(conn)

    # -- connections ----------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        while self._listening:
            try:
                conn, client = self._sock.accept()
            except OSError:
                if not self._listening:
                    return
                time.sleep(0.05)  # EMFILE and friends: back off instead of spinning
                continue
            with self._cond:
                self._busy[conn] = False
            threading.Thread(target=self._serve, args=(conn, client), daemon=True).start()

    def _set_busy(self, conn: socket.socket, busy: bool) -> None:
        with self._cond:
            self._busy[conn] = busy
            self._cond.notify_all()

    def _serve(self, conn: socket.socket, client: tuple[str, int]) -> None:
        rfile = conn.makefile("rb")
        try:
            conn.settimeout(self.idle_timeout)
            while not self.draining:
                try:
                    line = rfile.readline(MAX_HEADER_BYTES)
                except OSError:
                    break
                if not line:
                    break
                if line in (b"\r\n", b"\n"):
                    continue  # a stray CRLF between requests is allowed (RFC 9112 2.2)
                self._set_busy(conn, True)
                try:
                    if not self._exchange(conn, rfile, line, client):
                        break
                finally:
                    self._set_busy(conn, False)
        finally:
            with self._cond:
                self._busy.pop(conn, None)
                self._cond.notify_all()
            try:
                rfile.close()
                conn.close()
            except OSError:
                pass

    def _exchange(self, conn: socket.socket, rfile, line: bytes, client) -> bool:
        """Read one request, answer it; False when the connection must close."""
        started = time.monotonic()
        try:
            req = _read_request(rfile, line, client)
        except BadRequest:
            self._write(conn, None, Response(400, b"400 Bad Request", "text/plain"), close=True)
            return False
        except OSError:
            return False
        try:
            resp = self.handler(req)
        except Exception as exc:  # a bug in an app must not kill the server
            log(f"handler error: {exc!r}", sys.stderr)
            resp = Response(500, b"", None)
            resp.close = True
        conn_hdr = req.header("Connection").lower()
        keep = (req.version == "HTTP/1.1" and "close" not in conn_hdr) or (
            req.version == "HTTP/1.0" and "keep-alive" in conn_hdr
        )
        close = resp.close or not keep or self.draining
        try:
            self._write(conn, req, resp, close=close)
        except OSError:
            return False
        if self.on_request is not None:
            self.on_request(req, resp, time.monotonic() - started)
        return not close

    def _write(self, conn: socket.socket, req: Request | None, resp: Response, close: bool) -> None:
        status = resp.status
        head = [f"HTTP/1.1 {status} {resp.reason}"]
        names = {k.lower() for k, _ in resp.headers}
        if self.server_header and "server" not in names:
            head.append(f"Server: {self.server_header}")
        head.append(f"Date: {http_date()}")
        head.extend(f"{k}: {v}" for k, v in resp.headers)
        if status >= 200 and status not in (204, 304) and "content-length" not in names:
            head.append(f"Content-Length: {len(resp.body)}")
        if close:
            head.append("Connection: close")
        elif req is not None and req.version == "HTTP/1.0":
            head.append("Connection: keep-alive")
        data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
        if req is None or req.method != "HEAD":
            data += resp.body
        conn.sendall(data)


def _shutdown(conn: socket.socket) -> None:
    try:
        conn.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _read_request(rfile, line: bytes, client) -> Request:
    try:
        method, target, version = line.decode("latin-1").rstrip("\r\n").split(" ")
    except ValueError:
        raise BadRequest from None
    if not version.startswith("HTTP/1.") or not method.isalpha():
        raise BadRequest
    headers: list[tuple[str, str]] = []
    total = 0
    while True:
        raw = rfile.readline(MAX_HEADER_BYTES)
        total += len(raw)
        if not raw or total > MAX_HEADER_BYTES:
            raise BadRequest
        if raw in (b"\r\n", b"\n"):
            break
        name, sep, value = raw.decode("latin-1").partition(":")
        if not sep or not name.strip() or name != name.strip():
            raise BadRequest
        headers.append((name, value.strip()))
    req = Request(method, target, version, headers, client)
    if "chunked" in req.header("Transfer-Encoding").lower():
        req.body = _read_chunked(rfile)
    else:
        length = req.header("Content-Length", "0") or "0"
        if not length.isdigit() or int(length) > MAX_BODY_BYTES:
            raise BadRequest
        req.body = rfile.read(int(length)) if int(length) else b""
    return req


def _read_chunked(rfile) -> bytes:
    body = b""
    while True:
        size_line = rfile.readline(1024).split(b";")[0].strip()
        try:
            size = int(size_line, 16)
        except ValueError:
            raise BadRequest from None
        if size == 0:
            while rfile.readline(MAX_HEADER_BYTES) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return body
        body += rfile.read(size)
        rfile.readline(8)
        if len(body) > MAX_BODY_BYTES:
            raise BadRequest


def serve_or_exit(handler, port: int, **kwargs) -> HttpServer:
    """Bind podIP:port and start serving, or exit 1 the way a Go/Node server dies on bind errors."""
    try:
        return HttpServer(handler, CONTRACT.pod_ip, port, **kwargs).start()
    except OSError as exc:
        log(f"listen tcp {CONTRACT.pod_ip}:{port}: bind: {exc.strerror or exc}", sys.stderr)
        exit_now(1)
        raise  # not reached
