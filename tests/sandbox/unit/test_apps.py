"""The container apps, started for real as the kubelet starts them: a subprocess per container
on its own 127.244.2xx.y address, with the environment contract, spoken to over HTTP."""

from __future__ import annotations

import http.client
import http.server
import importlib.util
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from helpers.sandbox.node import images

APPS = Path(images.__file__).parent / "apps"
_ips = itertools.count(10)
# 127.244.2xx.y: the third octet from the pid, so two test runs at once do not collide.
_OCTET = 200 + os.getpid() % 56
FIGURES: dict[str, tuple[float, float]] = {}  # app -> (seconds to listen, RSS MB)
SHIFT = "1024:10000"  # low ports move up by 10000, so the tests need no privileges


def next_ip() -> str:
    return f"127.244.{_OCTET}.{next(_ips)}"


class App:
    """One container process; its stdout and stderr go to files (pipes could fill and block)."""

    def __init__(self, image: str, tmp: Path, *, argv: list[str] | None = None,
                 env: dict[str, str] | None = None, shift: str = SHIFT, hosts: str = "",
                 name: str = "pod-0", namespace: str = "default") -> None:  # fmt: skip
        info = images.resolve(image)
        assert info is not None, image
        self.info = info
        self.ip = next_ip()
        self.name = name
        self.out_path, self.err_path = tmp / f"{name}.out", tmp / f"{name}.err"
        hosts_file = tmp / "hosts"
        hosts_file.write_text(hosts)
        full_env = images.container_env(
            info, image=image, pod_name=name, namespace=namespace, pod_ip=self.ip,
            argv=argv or [], hosts_file=str(hosts_file), port_shift=shift, env=env,
        )  # fmt: skip
        self.shift = tuple(int(x) for x in shift.split(":"))
        self.started = time.monotonic()
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(images.launch_argv(info), env=full_env, stdout=out,
                                         stderr=err, stdin=subprocess.DEVNULL, cwd=tmp)  # fmt: skip

    def real_port(self, port: int) -> int:
        below, offset = self.shift
        return port + offset if port < below else port

    def wait_listening(self, port: int, timeout: float = 10.0) -> float:
        """Seconds from start until `port` accepts connections."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"exited {self.proc.returncode}: {self.stderr}"
            try:
                socket.create_connection((self.ip, self.real_port(port)), timeout=0.2).close()
                return time.monotonic() - self.started
            except OSError:
                time.sleep(0.005)
        raise AssertionError(f"not listening on {port}")

    def request(self, path: str = "/", method: str = "GET", port: int | None = None,
                body: bytes | None = None, headers: dict[str, str] | None = None,
                timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:  # fmt: skip
        port = self.info.ports[0] if port is None else port
        conn = http.client.HTTPConnection(self.ip, self.real_port(port), timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, dict(resp.getheaders()), resp.read()
        finally:
            conn.close()

    def rss_mb(self) -> float:
        return psutil.Process(self.proc.pid).memory_info().rss / 2**20

    def wait(self, timeout: float) -> int:
        return self.proc.wait(timeout)

    @property
    def stdout(self) -> str:
        return self.out_path.read_text()

    @property
    def stderr(self) -> str:
        return self.err_path.read_text()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


@pytest.fixture
def start(tmp_path: Path) -> Iterator:
    started: list[App] = []

    def _start(image: str, **kwargs) -> App:
        app = App(image, tmp_path, name=kwargs.pop("name", f"pod-{len(started)}"), **kwargs)
        started.append(app)
        return app

    yield _start
    for app in started:
        app.kill()


def record(app: App, seconds: float) -> None:
    rss = app.rss_mb()
    FIGURES[app.info.app] = (seconds, rss)
    print(f"\n{app.info.app}: listening after {seconds * 1000:.0f} ms, RSS {rss:.1f} MB")
    assert rss < 25, f"{app.info.app} uses {rss:.1f} MB"


def eventually(check, timeout: float = 2.0) -> bool:
    """Access logs are written just after the response goes out, as real servers do."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def refused(app: App, port: int) -> bool:
    try:
        socket.create_connection((app.ip, app.real_port(port)), timeout=0.5).close()
        return False
    except ConnectionRefusedError:
        return True


PODINFO = "ghcr.io/stefanprodan/podinfo:6.7.0"

# ---------------------------------------------------------------------------------------------
# podinfo
# ---------------------------------------------------------------------------------------------


def test_podinfo_takes_a_moment_to_start_then_serves_its_json(start) -> None:
    app = start(PODINFO, env={"SANDBOX_STARTUP_DELAY": "0.5"}, name="podinfo-7d4b9c-x2x9q")
    time.sleep(0.25)
    assert refused(app, 9898)  # a pod without a readiness probe would get errors now
    seconds = app.wait_listening(9898)
    assert 0.5 <= seconds < 3  # loose above: interpreter start-up varies on busy machines
    record(app, seconds)
    status, headers, body = app.request("/")
    assert status == 200 and headers["Content-Type"] == "application/json; charset=utf-8"
    info = json.loads(body)
    assert list(info) == ["hostname", "version", "revision", "color", "logo", "message", "goos",
                          "goarch", "runtime", "num_goroutine", "num_cpu"]  # fmt: skip
    assert info["hostname"] == "podinfo-7d4b9c-x2x9q" and info["version"] == "6.7.0"
    assert info["message"] == "greetings from podinfo v6.7.0" and info["color"] == "#34577c"
    assert info["goos"] == "linux" and info["num_cpu"].isdigit() and len(info["revision"]) == 40
    assert json.loads(app.request("/version")[2]) == {
        "commit": info["revision"],
        "version": "6.7.0",
    }
    assert json.loads(app.request("/api/info")[2])["hostname"] == "podinfo-7d4b9c-x2x9q"
    assert eventually(lambda: '"uri":"/api/info"' in app.stdout)
    log = [json.loads(line) for line in app.stdout.splitlines()]
    assert log[0]["msg"] == "Starting podinfo" and log[0]["port"] == "9898"
    assert any(e.get("uri") == "/version" and e.get("status") == 200 for e in log)


def test_podinfo_default_startup_is_realistic(start) -> None:
    app = start(PODINFO)
    seconds = app.wait_listening(9898)
    print(f"\npodinfo default start-up: {seconds:.2f} s")
    assert 1.0 <= seconds <= 3.5


def test_podinfo_flags_and_env(start) -> None:
    app = start(
        "ghcr.io/stefanprodan/podinfo:6.5.0",
        argv=["./podinfo", "--port=9000", "--ui-message", "hello from v2", "--level=debug", "--h2c"],
        env={"PODINFO_UI_COLOR": "#ff0000", "PODINFO_UI_MESSAGE": "env loses to the flag",
             "SANDBOX_STARTUP_DELAY": "0"},
    )  # fmt: skip
    app.wait_listening(9000)
    info = json.loads(app.request("/", port=9000)[2])
    assert (info["message"], info["color"], info["version"]) == (
        "hello from v2",
        "#ff0000",
        "6.5.0",
    )
    args_only = start(PODINFO, argv=["--port", "9100"], env={"SANDBOX_STARTUP_DELAY": "0"})
    args_only.wait_listening(9100)
    assert args_only.request("/healthz", port=9100)[0] == 200


def test_podinfo_unknown_flag_exits_2_like_pflag(start) -> None:
    app = start(PODINFO, argv=["./podinfo", "--no-such-flag"])
    assert app.wait(5) == 2
    assert "unknown flag: --no-such-flag" in app.stderr


def test_podinfo_routes(start) -> None:
    app = start(PODINFO, env={"SANDBOX_STARTUP_DELAY": "0", "GREETING": "hi"})
    app.wait_listening(9898)
    assert app.request("/readyz")[0] == 200 and app.request("/healthz")[0] == 200
    assert app.request("/readyz/disable", "POST")[0] == 202
    assert app.request("/readyz")[0] == 503 and app.request("/healthz")[0] == 200
    assert app.request("/readyz/enable", "POST")[0] == 202
    assert app.request("/readyz")[0] == 200
    assert app.request("/healthz", "POST")[0] == 405  # podinfo has no POST /healthz
    status, _, body = app.request("/status/418")
    assert status == 418 and json.loads(body) == {"status": 418}
    began = time.monotonic()
    status, _, body = app.request("/delay/1")
    assert status == 200 and json.loads(body) == {"delay": 1} and time.monotonic() - began >= 1
    status, headers, body = app.request("/echo", "POST", body=b"ping")
    assert (status, body, headers["X-Color"]) == (202, b"ping", "#34577c")
    env = json.loads(app.request("/env")[2])
    assert "GREETING=hi" in env and "HOSTNAME=pod-0" in env
    assert not any(e.startswith("SANDBOX_") for e in env)
    headers_seen = json.loads(app.request("/headers", headers={"X-Test": "1"})[2])
    assert headers_seen["X-Test"] == ["1"] and headers_seen["X-Api-Version"] == ["6.7.0"]
    status, _, body = app.request("/nope")
    assert (status, body) == (404, b"404 page not found\n")
    status, headers, body = app.request("/", headers={"User-Agent": "Mozilla/5.0"})
    assert headers["Content-Type"].startswith("text/html") and b"greetings from podinfo" in body


def test_podinfo_panic_exits_255(start) -> None:
    app = start(PODINFO, env={"SANDBOX_STARTUP_DELAY": "0"})
    app.wait_listening(9898)
    with pytest.raises((http.client.HTTPException, OSError)):
        app.request("/panic")
    assert app.wait(5) == 255


def test_podinfo_sigterm_drains_like_podinfo(start) -> None:
    """SIGTERM: /readyz fails at once, service goes on for 3 s, a request in flight finishes,
    new connections are refused, exit 0 within --server-shutdown-timeout of the signal."""
    app = start(PODINFO, argv=["./podinfo", "--server-shutdown-timeout=6s"],
                env={"SANDBOX_STARTUP_DELAY": "0"})  # fmt: skip
    app.wait_listening(9898)
    in_flight: dict[str, object] = {}

    def slow() -> None:
        in_flight["result"] = app.request("/delay/4")

    t = threading.Thread(target=slow)
    t.start()
    time.sleep(0.2)
    signalled = time.monotonic()
    app.proc.send_signal(signal.SIGTERM)
    time.sleep(0.2)
    assert app.request("/readyz")[0] == 503
    assert app.request("/healthz")[0] == 503
    served: list[float] = []  # seconds after the signal of each successful GET /
    ended = None
    while (now := time.monotonic() - signalled) < 5:
        try:
            assert app.request("/", timeout=2)[0] == 200
            served.append(now)
        except (http.client.HTTPException, OSError):
            ended = now  # refused (or reset in the backlog): the listener is closed
            break
        time.sleep(0.05)
    assert served and max(served) > 2.5  # still serving while endpoints are being removed
    assert ended is not None and ended > 2.9  # closes after the 3 s shutdown delay
    assert refused(app, 9898)
    assert app.wait(6) == 0
    t.join(5)
    assert in_flight["result"][0] == 200  # type: ignore[index]
    elapsed = time.monotonic() - signalled
    assert 3.7 < elapsed < 8.0  # the /delay/4 finished at ~4 s, then exit
    assert any('"Shutting down HTTP/HTTPS server"' in line for line in app.stdout.splitlines())


def test_podinfo_shutdown_timeout_cuts_long_requests(start) -> None:
    app = start(PODINFO, argv=["./podinfo", "--server-shutdown-timeout=4s"],
                env={"SANDBOX_STARTUP_DELAY": "0"})  # fmt: skip
    app.wait_listening(9898)
    outcome: list[object] = []

    def too_slow() -> None:
        try:
            outcome.append(app.request("/delay/30"))
        except (http.client.HTTPException, OSError) as exc:
            outcome.append(exc)

    t = threading.Thread(target=too_slow)
    t.start()
    time.sleep(0.2)
    signalled = time.monotonic()
    app.proc.send_signal(signal.SIGTERM)
    assert app.wait(8) == 0
    assert 3.8 < time.monotonic() - signalled < 6.0
    assert "graceful shutdown failed" in app.stdout
    t.join(5)
    assert isinstance(outcome[0], (http.client.HTTPException, OSError))  # cut off at the deadline


# ---------------------------------------------------------------------------------------------
# nginx
# ---------------------------------------------------------------------------------------------


def test_nginx_welcome_page_and_headers(start) -> None:
    app = start("nginx:1.27")
    seconds = app.wait_listening(80)
    record(app, seconds)
    socket.create_connection((app.ip, 10080), timeout=1).close()  # 80 is really at 10080
    status, headers, body = app.request("/")
    assert status == 200 and headers["Server"] == "nginx/1.27.5"
    assert headers["Content-Type"] == "text/html" and headers["Content-Length"] == "615"
    assert b"<title>Welcome to nginx!</title>" in body and len(body) == 615
    status, headers, body = app.request("/missing")
    assert status == 404 and b"<hr><center>nginx/1.27.5</center>" in body
    assert app.request("/", "POST")[0] == 405
    status, headers, body = app.request("/", "HEAD")
    assert status == 200 and body == b"" and headers["Content-Length"] == "615"
    assert app.request("/", headers={"If-None-Match": headers["ETag"]})[0] == 304
    assert eventually(lambda: '"GET / HTTP/1.1" 200 615' in app.stdout)
    assert "nginx/1.27.5" in app.stderr  # start-up notices, on stderr like nginx's error log


def test_nginx_sigterm_is_a_fast_shutdown(start) -> None:
    app = start("nginx:1.25.3")
    app.wait_listening(80)
    began = time.monotonic()
    app.proc.send_signal(signal.SIGTERM)
    assert app.wait(2) == 0
    assert time.monotonic() - began < 0.5
    assert "signal 15 (SIGTERM) received, exiting" in app.stderr


def test_nginx_sigquit_is_graceful(start) -> None:
    app = start("nginx:stable-alpine")
    app.wait_listening(80)
    conn = http.client.HTTPConnection(app.ip, app.real_port(80), timeout=5)
    conn.request("GET", "/")
    assert conn.getresponse().read().startswith(b"<!DOCTYPE html>")  # an idle keep-alive conn
    app.proc.send_signal(signal.SIGQUIT)
    assert app.wait(3) == 0
    assert "signal 3 (SIGQUIT) received, shutting down" in app.stderr
    conn.close()


# ---------------------------------------------------------------------------------------------
# hpa-example, bootcamp, hello-app
# ---------------------------------------------------------------------------------------------


def test_hpa_example_burns_cpu_per_request(start) -> None:
    app = start("registry.k8s.io/hpa-example")
    record(app, app.wait_listening(80))
    proc = psutil.Process(app.proc.pid)
    before = sum(proc.cpu_times()[:2])
    for _ in range(5):
        status, headers, body = app.request("/")
        assert (status, body) == (200, b"OK!")
    per_request = (sum(proc.cpu_times()[:2]) - before) / 5
    print(f"hpa-example: {per_request * 1000:.0f} ms CPU per request")
    assert 0.005 < per_request < 0.5
    assert headers["Server"].startswith("Apache/")
    assert eventually(lambda: app.stdout.count('"GET / HTTP/1.1" 200 3') == 5)
    app.proc.send_signal(signal.SIGTERM)
    assert app.wait(2) == 0


def test_bootcamp_ignores_sigterm(start) -> None:
    app = start(
        "gcr.io/google-samples/kubernetes-bootcamp:v1", name="kubernetes-bootcamp-5485cc6795-abcde"
    )
    record(app, app.wait_listening(8080))
    body = app.request("/")[2].decode()
    assert (
        body
        == "Hello Kubernetes bootcamp! | Running on: kubernetes-bootcamp-5485cc6795-abcde | v=1\n"
    )
    app.proc.send_signal(signal.SIGTERM)
    time.sleep(1.0)
    assert app.proc.poll() is None and app.request("/")[0] == 200
    app.proc.send_signal(signal.SIGKILL)
    assert app.wait(2) == -signal.SIGKILL
    assert "Kubernetes Bootcamp App Started At:" in app.stdout
    assert "| Total Requests: 2 |" in app.stdout


def test_bootcamp_v2(start) -> None:
    app = start("jocatalin/kubernetes-bootcamp:v2", name="bootcamp-v2")
    app.wait_listening(8080)
    assert app.request("/")[2].decode().endswith("| v=2\n")


def test_hello_app(start) -> None:
    app = start("us-docker.pkg.dev/google-samples/containers/gke/hello-app:2.0", name="hello-abc")
    record(app, app.wait_listening(8080))
    assert app.request("/anything")[2] == b"Hello, world!\nVersion: 2.0.0\nHostname: hello-abc\n"
    assert "Serving request: /anything" in app.stdout
    on_port = start("gcr.io/google-samples/hello-app:1.0", env={"PORT": "9090"}, name="hello-port")
    on_port.wait_listening(9090)
    assert b"Version: 1.0.0" in on_port.request("/", port=9090)[2]
    app.proc.send_signal(signal.SIGTERM)
    assert app.wait(2) == 2  # Go's default for SIGTERM as PID 1


def test_port_in_use_exits_1(start) -> None:
    first = start("nginx:1.27")
    first.wait_listening(80)
    info = images.resolve("nginx:1.27")
    assert info
    env = images.container_env(info, image="nginx:1.27", pod_name="clash", namespace="default",
                               pod_ip=first.ip, argv=[], hosts_file="", port_shift=SHIFT)  # fmt: skip
    proc = subprocess.run(images.launch_argv(info), env=env, capture_output=True, timeout=10)
    assert proc.returncode == 1 and b"address already in use" in proc.stderr.lower()


# ---------------------------------------------------------------------------------------------
# busybox
# ---------------------------------------------------------------------------------------------


class Counter(http.server.BaseHTTPRequestHandler):
    hits = 0

    def do_GET(self) -> None:  # noqa: N802
        type(self).hits += 1
        self.send_response(200)
        self.send_header("Content-Length", "3")
        self.end_headers()
        self.wfile.write(b"OK!")

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def service() -> Iterator[tuple[str, int]]:
    """A stand-in for a Service: 127.96.2xx.y port 80, shifted to 10080 as the node would."""
    Counter.hits = 0
    ip = f"127.96.{_OCTET}.{next(_ips)}"
    srv = http.server.ThreadingHTTPServer((ip, 10080), Counter)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield ip, 10080
    srv.shutdown()
    srv.server_close()


def test_busybox_hpa_load_loop_hits_the_service_by_name(start, service) -> None:
    ip, _ = service
    app = start(
        "busybox:1.28",
        argv=["/bin/sh", "-c", "while sleep 0.01; do wget -q -O- http://php-apache; done"],
        hosts=f"# written by the node\n{ip} php-apache.default.svc.cluster.local php-apache.default.svc\n",
        name="load-generator",
    )  # fmt: skip
    time.sleep(1.5)
    assert app.proc.poll() is None
    assert Counter.hits >= 20
    assert app.stdout.startswith("OK!OK!OK!")
    rss = app.rss_mb()
    print(f"\nbusybox wget loop: {Counter.hits} requests in 1.5 s, RSS {rss:.1f} MB")
    assert rss < 25
    app.proc.send_signal(signal.SIGTERM)  # sh as PID 1 has no handler: nothing happens
    time.sleep(0.5)
    assert app.proc.poll() is None
    app.kill()


def test_busybox_resolves_with_namespace_search(start, service) -> None:
    ip, _ = service
    hosts = f"{ip} web.shop.svc.cluster.local\n"
    for url in (
        "http://web",
        "http://web.shop",
        "http://web.shop.svc",
        "http://web.shop.svc.cluster.local/x",
    ):
        app = start("busybox", argv=["wget", "-q", "-O-", url], hosts=hosts,
                    namespace="shop")  # fmt: skip
        assert app.wait(5) == 0, app.stderr
        assert app.stdout == "OK!"
    other_ns = start(
        "busybox", argv=["wget", "-q", "-O-", "http://web"], hosts=hosts, namespace="dev"
    )
    assert other_ns.wait(5) == 1
    assert "wget: bad address 'web'" in other_ns.stderr


def test_busybox_refuses_what_it_does_not_interpret(start, tmp_path: Path) -> None:
    target = tmp_path / "created-by-manifest"
    app = start("busybox:1.36", argv=["sh", "-c", f"touch {target}"])
    assert app.wait(5) == 127
    assert app.stderr.strip() == (
        'sandbox busybox: "touch" is not supported here; the sandbox only interprets sleep, wget, '
        "echo and while-loops"
    )
    assert not target.exists()
    # Checked before anything runs: the echo does not happen either.
    mixed = start("busybox", argv=["sh", "-c", f"echo start; echo x > {target}"])
    assert mixed.wait(5) == 127 and mixed.stdout == "" and not target.exists()
    assert "redirecting to files is not supported" in mixed.stderr
    for argv in (
        ["rm", "-rf", "/"],
        ["sh", "-c", "cat /etc/passwd | wc -l"],
        ["sh", "-c", "echo $(id)"],
        ["sh", "-c", "wget http://x"],
        ["bash", "-c", "true"],
        ["sh", "script.sh"],
    ):
        refused_app = start("busybox", argv=argv)
        assert refused_app.wait(5) == 127, argv
        assert refused_app.stderr.startswith("sandbox busybox: "), argv


def test_busybox_interprets_the_simple_forms(start) -> None:
    cases = [
        ([], "", 0),
        (["sh"], "", 0),
        (["echo", "hello", "world"], "hello world\n", 0),
        (["sh", "-c", 'echo "pod $HOSTNAME"; echo -n done'], "pod pod-x\ndone", 0),
        (["sh", "-c", "false && echo no || echo yes"], "yes\n", 0),
        (["sh", "-c", "echo a; exit 3; echo b"], "a\n", 3),
        (["/bin/sh", "-ec", "true\necho 'single $HOSTNAME' >/dev/null 2>&1\necho ok"], "ok\n", 0),
        (["busybox", "sleep", "0.1"], "", 0),
        (["sh", "-c", "sleep 0.1 && echo slept"], "slept\n", 0),
        (["sh", "-c", "sleep abc"], "", 1),
        (["sh", "-c", "hostname"], "pod-x\n", 0),
    ]
    for argv, out, code in cases:
        app = start("busybox:1.37", argv=argv, name="pod-x")
        assert app.wait(5) == code, (argv, app.stderr)
        assert app.stdout == out, argv


def test_busybox_sleep_infinity_keeps_running(start) -> None:
    quick = start("busybox", argv=["true"])
    quick.wait(5)
    ran = time.monotonic() - quick.started  # start-up and exit of the whole interpreter
    app = start("busybox", argv=["sleep", "infinity"])
    time.sleep(0.3)
    assert app.proc.poll() is None
    record(app, ran)
    app.proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    assert app.proc.poll() is None  # only SIGKILL (the end of the grace period) stops it


def test_busybox_wget_errors(start, service) -> None:
    ip, _ = service
    refused_app = start("busybox", argv=["wget", "-q", "-O-", "http://127.244.249.1:8080/"])
    assert refused_app.wait(5) == 1
    assert "can't connect to remote host (127.244.249.1): Connection refused" in refused_app.stderr
    loud = start("busybox", argv=["wget", "-O-", f"http://{ip}/"])
    assert loud.wait(5) == 0 and loud.stdout == "OK!"
    assert f"Connecting to {ip} ({ip}:80)" in loud.stderr


# ---------------------------------------------------------------------------------------------
# common.py and the busybox parser, in-process
# ---------------------------------------------------------------------------------------------


def load(name: str):
    sys.path.insert(0, str(APPS))
    try:
        spec = importlib.util.spec_from_file_location(f"sandbox_app_{name}", APPS / f"{name}.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(APPS))


def test_common_port_shift_and_resolution(tmp_path: Path) -> None:
    common = load("common")
    assert common.parse_port_shift("1024:10000") == (1024, 10000)
    assert common.shift_port(80, (1024, 10000)) == 10080
    assert common.shift_port(8080, (1024, 10000)) == 8080
    assert common.shift_port(80, (0, 0)) == 80
    hosts = tmp_path / "hosts"
    hosts.write_text("127.96.0.10 web.shop.svc.cluster.local\n127.96.0.11 api.shop # short form\n")
    look = lambda name, ns="shop": common.resolve(name, namespace=ns, hosts_file=str(hosts))  # noqa: E731
    assert look("web") == look("web.shop") == look("web.shop.svc") == "127.96.0.10"
    assert look("WEB.shop.svc.cluster.local.") == "127.96.0.10"
    assert look("api") == look("api.shop.svc.cluster.local") == "127.96.0.11"
    assert look("web", "other") is None and look("web.other") is None
    assert look("10.1.2.3") == "10.1.2.3"
    assert common.search_names("a.b.c.d.e.f", "ns")[0] == "a.b.c.d.e.f"  # ndots:5


def test_busybox_parser_refuses_before_running() -> None:
    busybox = load("busybox")
    tree = busybox.parse_argv(["sh", "-c", "while true; do wget -qO- http://a:8080/x; done"], {})
    assert isinstance(tree[0][1], busybox.While)
    for script in (
        "sleep 1 &",
        "for i in 1 2; do echo; done",
        "X=1 echo",
        "echo `id`",
        "curl http://x",
        "(echo)",
        "wget -O /tmp/f http://x",
    ):
        with pytest.raises(busybox.Unsupported):
            busybox.parse_argv(["sh", "-c", script], {})


def test_figures_summary() -> None:
    """Printed with -s: start-up and RSS per app measured by the tests above."""
    for app, (seconds, rss) in sorted(FIGURES.items()):
        print(f"{app:16} {seconds * 1000:6.0f} ms {rss:5.1f} MB")
