"""hello-app (us-docker.pkg.dev/google-samples/containers/gke/hello-app:1.0|2.0).

The Go sample from GoogleCloudPlatform/kubernetes-engine-samples: listens on $PORT (default
8080), answers every path with three lines, logs `Serving request: <path>` per request. It
installs no signal handler; as PID 1 in its container the Go runtime cannot die from SIGTERM
by re-raising it, so it exits with status 2 at once.
"""

from __future__ import annotations

import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # -I leaves it out
import common  # noqa: E402
from common import CONTRACT, Request, Response  # noqa: E402

VERSION = CONTRACT.version or "1.0.0"


def go_log(message: str) -> None:
    common.log(time.strftime("%Y/%m/%d %H:%M:%S ", time.gmtime()) + message)


def handle(req: Request) -> Response:
    go_log(f"Serving request: {req.path}")
    body = f"Hello, world!\nVersion: {VERSION}\nHostname: {CONTRACT.hostname}\n"
    return Response(200, body, "text/plain; charset=utf-8")


def main() -> None:
    common.block_signals(signal.SIGTERM, signal.SIGINT)
    time.sleep(common.startup_delay(0.0))
    port_text = CONTRACT.env.get("PORT") or "8080"
    if not port_text.isdigit():
        go_log(f"listen tcp: lookup tcp/{port_text}: unknown port")
        common.exit_now(1)
    go_log(f"Server listening on port {port_text}")
    common.serve_or_exit(handle, int(port_text), idle_timeout=180.0)
    common.wait_signal(signal.SIGTERM, signal.SIGINT)
    common.exit_now(2)


if __name__ == "__main__":
    main()
