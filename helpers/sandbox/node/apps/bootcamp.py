"""kubernetes-bootcamp (gcr.io/google-samples/kubernetes-bootcamp:v1, jocatalin/...:v2).

The Node.js server.js of the Kubernetes Basics tutorial: port 8080, one line of text for any
request, a console.log line per request. It installs no signal handler and runs as PID 1 of
its container, where the kernel drops signals without a handler: SIGTERM does nothing and the
pod stays Terminating until the kubelet sends SIGKILL at the end of the grace period.
"""

from __future__ import annotations

import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # -I leaves it out
import common  # noqa: E402
from common import CONTRACT, Request, Response  # noqa: E402

MAJOR = (CONTRACT.version or "1").lstrip("v").split(".")[0]
STARTED = time.time()
requests = 0


def handle(req: Request) -> Response:
    global requests
    requests += 1
    common.log(
        f"Running On: {CONTRACT.hostname} | Total Requests: {requests} | App Uptime: "
        f"{time.time() - STARTED:.3f} seconds | Log Time: {common.iso_now()}"
    )
    body = f"Hello Kubernetes bootcamp! | Running on: {CONTRACT.hostname} | v={MAJOR}\n"
    return Response(200, body, "text/plain")


def main() -> None:
    common.ignore_signals(signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGHUP)
    time.sleep(common.startup_delay(0.0))
    common.serve_or_exit(handle, 8080, idle_timeout=5.0)  # Node's keepAliveTimeout
    common.log(
        f"Kubernetes Bootcamp App Started At: {common.iso_now()} | Running On:  "
        f"{CONTRACT.hostname} \n"
    )
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
