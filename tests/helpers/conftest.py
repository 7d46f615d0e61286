"""Fixtures for the helpers' tests: a Cluster on a real sandbox (public API only), and a
podinfo-like HTTP server for the cluster-independent probe tests."""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from helpers import cluster as cl


@pytest.fixture(scope="session")
def lab_cluster(request) -> Iterator[cl.Cluster]:
    """The session sandbox (tests/conftest.py starts it in a temp state dir) as a Cluster.

    Skips while the sandbox cannot start yet; set ROLLOUT_LABS_REQUIRE_SANDBOX=1 to turn
    that into an error (CI, the final state).
    """
    try:
        sb = request.getfixturevalue("sandbox")
    except Exception as exc:
        if os.environ.get("ROLLOUT_LABS_REQUIRE_SANDBOX"):
            raise
        pytest.skip(f"sandbox not available yet: {type(exc).__name__}: {str(exc)[:200]}")
    c = cl.from_kubeconfig(str(sb.kubeconfig), cl.SANDBOX_CONTEXT, is_sandbox=True)
    previous = cl._current
    cl.use(c)
    yield c
    cl._current = previous
    c.close()


@pytest.fixture
def ns(lab_cluster: cl.Cluster) -> Iterator[str]:
    """A fresh lab namespace per test, deleted afterwards (without waiting)."""
    name = cl.lab_namespace("test", f"h-{uuid.uuid4().hex[:6]}", cluster=lab_cluster)
    yield name
    try:
        cl.delete_lab_namespace(name, wait=False, cluster=lab_cluster)
    except Exception:
        pass


class PodinfoLike:
    """A local HTTP server answering podinfo's JSON; `fail` makes it answer 503."""

    def __init__(self, versions: tuple[str, ...] = ("6.7.0",)) -> None:
        owner = self
        self.versions = versions
        self.fail = False
        self.count = 0
        self.clients: set[tuple[str, int]] = set()
        self._lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802
                with owner._lock:
                    owner.count += 1
                    n = owner.count
                    owner.clients.add(self.client_address)
                if owner.fail:
                    body, status = b'{"code":503}', 503
                else:
                    v = owner.versions[n % len(owner.versions)]
                    body = json.dumps({"hostname": f"podinfo-{n % 3}", "version": v,
                                       "message": "greetings from podinfo"}).encode()
                    status = 200
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def podinfo_server() -> Iterator[PodinfoLike]:
    srv = PodinfoLike(("6.7.0", "6.7.1"))
    yield srv
    srv.close()
