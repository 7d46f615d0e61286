"""Fixtures for the helpers' tests: a Cluster on a real sandbox (public API only), and a
podinfo-like HTTP server for the cluster-independent probe tests."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from helpers import cluster as cl
from tests.conftest import fresh_lab_namespace


@pytest.fixture
def ns(lab_cluster: cl.Cluster) -> Iterator[str]:
    """A fresh lab namespace per test (`lab_cluster` comes from tests/conftest.py)."""
    yield from fresh_lab_namespace(lab_cluster, "h")


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
