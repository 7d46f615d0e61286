"""podinfo (ghcr.io/stefanprodan/podinfo): the Go microservice Flux and Flagger demos use.

Mirrors podinfo 6.x as its source has it (cmd/podinfo/main.go, pkg/api/http, pkg/signals):
its flags and PODINFO_* variables, the JSON fields, /healthz and /readyz, and the graceful
shutdown: on SIGTERM both probes fail at once, the server keeps serving for 3 s (skipped at
--level=debug) so endpoints can be removed, then stops accepting and lets requests in flight
finish until --server-shutdown-timeout (5 s) after the signal, and exits 0.

Sandbox additions: it takes SANDBOX_STARTUP_DELAY (default 1.2 s) before it listens, so a
pod without a readiness probe gets traffic too early, as heavier apps do; every request is
logged (real podinfo logs them at debug level only).
"""

from __future__ import annotations

import os
import random
import re
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # -I leaves it out
import common  # noqa: E402
from common import CONTRACT, Request, Response, json_body  # noqa: E402

VERSION = CONTRACT.version or "6.7.0"
# Images are built with the release commit as REVISION; a stable stand-in per version.
# The Go toolchain per minor release is approximate: only the field's shape matters.
REVISION = f"{random.Random(f'podinfo {VERSION}').getrandbits(160):040x}"
LOGO = "https://raw.githubusercontent.com/stefanprodan/podinfo/gh-pages/cuddle_clap.gif"
GO_BY_MINOR = {
    "6.0": "go1.17.2",
    "6.1": "go1.18.3",
    "6.2": "go1.19.2",
    "6.3": "go1.20.1",
    "6.4": "go1.20.6",
    "6.5": "go1.21.4",
    "6.6": "go1.22.2",
    "6.7": "go1.23.1",
    "6.8": "go1.24.1",
    "6.9": "go1.24.5",
    "6.10": "go1.25.3",
}
GOARCH = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(os.uname().machine, "amd64")

# name: (kind, default): the whole flag set of cmd/podinfo/main.go, so a manifest's flags parse
# as they would for real. Flags for what is not modelled here (gRPC, TLS, Redis, stress,
# tracing, config files, backends) are accepted and have no effect.
FLAGS: dict[str, tuple[str, object]] = {
    "host": ("str", ""),
    "port": ("int", 9898),
    "secure-port": ("int", 0),
    "port-metrics": ("int", 0),
    "grpc-port": ("int", 0),
    "grpc-service-name": ("str", "podinfo"),
    "level": ("str", "info"),
    "backend-url": ("list", []),
    "http-client-timeout": ("duration", 120.0),
    "http-server-timeout": ("duration", 30.0),
    "server-shutdown-timeout": ("duration", 5.0),
    "data-path": ("str", "/data"),
    "config-path": ("str", ""),
    "cert-path": ("str", "/data/cert"),
    "config": ("str", "config.yaml"),
    "ui-path": ("str", "./ui"),
    "ui-logo": ("str", LOGO),
    "ui-color": ("str", "#34577c"),
    "ui-message": ("str", f"greetings from podinfo v{VERSION}"),
    "h2c": ("bool", False),
    "random-delay": ("bool", False),
    "random-delay-unit": ("str", "s"),
    "random-delay-min": ("int", 0),
    "random-delay-max": ("int", 5),
    "random-error": ("bool", False),
    "unhealthy": ("bool", False),
    "unready": ("bool", False),
    "stress-cpu": ("int", 0),
    "stress-memory": ("int", 0),
    "cache-server": ("str", ""),
    "otel-service-name": ("str", ""),
    "version": ("bool", False),
}
PROGRAM_NAMES = {"podinfo", "./podinfo", "/home/app/podinfo"}


class FlagError(Exception):
    pass


def parse_duration(text: str) -> float:
    """Go's time.ParseDuration for the forms people write: 5s, 500ms, 1m30s, 2h."""
    units = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
    parts = re.findall(r"(\d+(?:\.\d*)?)(ns|us|µs|ms|s|m|h)", text)
    if text == "0":
        return 0.0
    if not parts or "".join(n + u for n, u in parts) != text:
        raise FlagError(f'time: invalid duration "{text}"')
    return sum(float(n) * units[u] for n, u in parts)


def _convert(name: str, kind: str, raw: str) -> object:
    try:
        if kind == "int":
            return int(raw)
        if kind == "bool":
            if raw.lower() not in ("1", "t", "true", "0", "f", "false"):
                raise ValueError
            return raw.lower() in ("1", "t", "true")
        if kind == "duration":
            return parse_duration(raw)
        if kind == "list":
            return [s for s in raw.split(",") if s]
        return raw
    except (ValueError, FlagError):
        raise FlagError(f'invalid argument "{raw}" for "--{name}" flag') from None


def parse_flags(args: list[str]) -> dict[str, object]:
    """pflag semantics: --name=value, --name value, bare --bool, -v; unknown flags are errors."""
    given: dict[str, object] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            break
        if arg in ("-v", "--version"):
            given["version"] = True
            continue
        if not arg.startswith("--"):
            continue  # positional arguments are collected and ignored by podinfo
        name, has_value, raw = arg[2:].partition("=")
        if name not in FLAGS:
            raise FlagError(f"unknown flag: --{name}")
        kind = FLAGS[name][0]
        if not has_value:
            if kind == "bool":
                raw = "true"
            elif i < len(args):
                raw = args[i]
                i += 1
            else:
                raise FlagError(f"flag needs an argument: --{name}")
        given[name] = _convert(name, kind, raw)
    return given


class Config:
    """viper's precedence: a flag given on the command line, then PODINFO_<NAME>, then default."""

    def __init__(self, given: dict[str, object], env: dict[str, str]) -> None:
        self.values: dict[str, object] = {}
        for name, (kind, default) in FLAGS.items():
            env_name = "PODINFO_" + name.upper().replace("-", "_")
            if name in given:
                self.values[name] = given[name]
            elif env.get(env_name):
                try:
                    self.values[name] = _convert(name, kind, env[env_name])
                except FlagError:
                    self.values[name] = default
            else:
                self.values[name] = default

    def __getitem__(self, name: str):
        return self.values[name]


class Podinfo:
    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.healthy = False
        self.ready = False

    # -- routes ------------------------------------------------------------------------------

    def handle(self, req: Request) -> Response:
        if self.cfg["random-delay"]:
            lo, hi = self.cfg["random-delay-min"], self.cfg["random-delay-max"]
            unit = 0.001 if self.cfg["random-delay-unit"] == "ms" else 1.0
            time.sleep((random.randrange(hi - lo) + lo if hi > lo else lo) * unit)
        if self.cfg["random-error"] and random.randrange(3) == 0:
            common.log_json(level="error", ts=common.iso_now(), msg="random error occurred")
            return Response(random.choice([500, 400, 409]))
        path, method = req.path, req.method
        if path in ("/", "/api/info"):
            if method != "GET":
                return Response(405)
            if path == "/" and req.header("User-Agent").startswith("Mozilla"):
                return Response(200, self.index_html(), "text/html; charset=utf-8")
            return self.json(self.info())
        if path == "/version":
            return (
                self.json({"commit": REVISION, "version": VERSION})
                if method == "GET"
                else Response(405)
            )
        if path in ("/healthz", "/readyz"):
            if method != "GET":
                return Response(405)
            ok = self.healthy if path == "/healthz" else self.ready
            return self.json({"status": "OK"}) if ok else Response(503)
        if path in ("/readyz/enable", "/readyz/disable"):
            if method != "POST":
                return Response(405)
            self.ready = path.endswith("enable")
            return Response(202)
        if path == "/env":
            if method not in ("GET", "POST"):
                return Response(405)
            return self.json([f"{k}={v}" for k, v in CONTRACT.app_env().items()])
        if path == "/headers":
            return self.json(self.headers(req)) if method in ("GET", "POST") else Response(405)
        if path in ("/echo", "/api/echo") or path.startswith(("/echo/", "/api/echo/")):
            return Response(
                202, req.body, "text/plain; charset=utf-8", [("X-Color", str(self.cfg["ui-color"]))]
            )
        if path == "/panic":
            if method != "GET":
                return Response(405)
            common.log_json(level="info", ts=common.iso_now(), msg="Panic command received")
            common.exit_now(255)
        m = re.fullmatch(r"/delay/([0-9]+)", path)
        if m:
            if method != "GET":
                return Response(405)
            time.sleep(int(m.group(1)))
            return self.json({"delay": int(m.group(1))})
        m = re.fullmatch(r"/status/([0-9]+)", path)
        if m:
            if method not in ("GET", "POST", "PUT"):
                return Response(405)
            code = int(m.group(1))
            if not 100 <= code <= 999:  # Go's WriteHeader panics; the connection just drops
                resp = Response(500)
                resp.close = True
                return resp
            return self.json({"status": code}, code)
        return Response(
            404,
            "404 page not found\n",
            "text/plain; charset=utf-8",
            [("X-Content-Type-Options", "nosniff")],
        )

    def json(self, data: object, status: int = 200) -> Response:
        return Response(
            status,
            json_body(data),
            "application/json; charset=utf-8",
            [("X-Content-Type-Options", "nosniff")],
        )

    def info(self) -> dict[str, str]:
        minor = ".".join(VERSION.split(".")[:2])
        return {
            "hostname": CONTRACT.hostname,
            "version": VERSION,
            "revision": REVISION,
            "color": str(self.cfg["ui-color"]),
            "logo": str(self.cfg["ui-logo"]),
            "message": str(self.cfg["ui-message"]),
            "goos": "linux",
            "goarch": GOARCH,
            "runtime": GO_BY_MINOR.get(minor, "go1.23.1"),
            "num_goroutine": str(threading.active_count() + 5),
            "num_cpu": str(os.cpu_count() or 1),
        }

    def headers(self, req: Request) -> dict[str, list[str]]:
        """Go's http.Header: canonical names, Host moved out, plus the version middleware's."""
        out: dict[str, list[str]] = {}
        for name, value in req.headers:
            canon = "-".join(p.capitalize() for p in name.split("-"))
            if canon != "Host":
                out.setdefault(canon, []).append(value)
        out["X-Api-Version"] = [VERSION]
        out["X-Api-Revision"] = [REVISION]
        return dict(sorted(out.items()))

    def index_html(self) -> str:
        i = self.info()
        return (
            "<!DOCTYPE html>\n<html>\n<head>\n<title>podinfo</title>\n</head>\n"
            f'<body style="background-color:{i["color"]};color:#fff;font-family:sans-serif;'
            'text-align:center">\n'
            f'<img src="{i["logo"]}" alt="podinfo" height="160">\n'
            f"<h1>{i['message']}</h1>\n<p>Served by <b>{i['hostname']}</b></p>\n"
            f"<p>podinfo v{i['version']} {i['goos']}/{i['goarch']}</p>\n</body>\n</html>\n"
        )

    def log_request(self, req: Request, resp: Response, seconds: float) -> None:
        common.log_json(
            level="info",
            ts=common.iso_now(),
            msg="request completed",
            proto=req.version,
            uri=req.target,
            method=req.method,
            remote=f"{req.client[0]}:{req.client[1]}",
            status=resp.status,
            duration=round(seconds, 6),
            **{"user-agent": req.header("User-Agent")},
        )


def main() -> None:
    argv = list(CONTRACT.argv)
    if argv and not argv[0].startswith("-"):
        if argv[0] not in PROGRAM_NAMES and os.path.basename(argv[0]) != "podinfo":
            common.log(
                f'sandbox podinfo: "{argv[0]}" is not supported here; the sandbox only '
                "runs podinfo itself (command ./podinfo with its flags)",
                sys.stderr,
            )
            common.exit_now(127)
        argv = argv[1:]
    try:
        given = parse_flags(argv)
    except FlagError as exc:
        common.log(f"Error: {exc}", sys.stderr)
        common.exit_now(2)
    if given.get("version"):
        common.log(VERSION)
        common.exit_now(0)
    cfg = Config(given, CONTRACT.env)
    app = Podinfo(cfg)

    # Block before any thread exists, so the signal reaches only wait_signal() below.
    common.block_signals(signal.SIGTERM, signal.SIGINT)
    time.sleep(common.startup_delay(1.2))  # loading config, caches, tracer: not listening yet
    port = int(cfg["port"])
    common.log_json(
        level="info",
        ts=common.iso_now(),
        msg="Starting podinfo",
        version=VERSION,
        revision=REVISION,
        port=str(port),
    )
    servers = []
    if port:
        common.log_json(
            level="info",
            ts=common.iso_now(),
            msg="Starting HTTP Server.",
            addr=f"{cfg['host']}:{port}",
        )
        servers.append(
            common.serve_or_exit(
                app.handle,
                port,
                idle_timeout=2 * float(cfg["http-server-timeout"]),
                on_request=app.log_request,
            )
        )
    if int(cfg["port-metrics"]):
        servers.append(common.serve_or_exit(metrics_handler, int(cfg["port-metrics"])))
    app.healthy = not cfg["unhealthy"]
    app.ready = not cfg["unready"]

    common.wait_signal(signal.SIGTERM, signal.SIGINT)
    deadline = time.monotonic() + float(cfg["server-shutdown-timeout"])
    app.healthy = app.ready = False  # all calls to /healthz and /readyz fail from now on
    common.log_json(
        level="info",
        ts=common.iso_now(),
        msg="Shutting down HTTP/HTTPS server",
        timeout=float(cfg["server-shutdown-timeout"]),
    )
    if cfg["level"] != "debug":
        time.sleep(3)  # wait for the readiness probe to take this instance out of the endpoints
    for srv in servers:
        if not srv.drain(deadline):
            common.log_json(
                level="warn",
                ts=common.iso_now(),
                msg="HTTP server graceful shutdown failed",
                error="context deadline exceeded",
            )
    common.exit_now(0)


def metrics_handler(req: Request) -> Response:
    """The --port-metrics listener: /metrics and a /healthz that always says OK."""
    if req.path == "/healthz":
        return Response(200, "OK")
    if req.path == "/metrics":
        body = f'# TYPE podinfo_info gauge\npodinfo_info{{version="{VERSION}"}} 1\n'
        return Response(200, body, "text/plain; version=0.0.4; charset=utf-8")
    return Response(404, "404 page not found\n", "text/plain; charset=utf-8")


if __name__ == "__main__":
    main()
