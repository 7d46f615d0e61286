"""hpa-example (registry.k8s.io/hpa-example): the CPU-burning PHP page of the HPA walkthrough.

The image is php:5-apache with an index.php that runs `$x += sqrt($x)` a million times and
prints `OK!`. The same loop here costs about the same tens of milliseconds of CPU per request
(SANDBOX_HPA_LOOPS changes the count, for tests). Requests run in parallel threads, but the
GIL keeps one pod to about one core: the walkthrough's 500m limit is below that anyway.
Apache stops at once on SIGTERM (and gracefully on SIGWINCH, its graceful-stop signal).
"""

from __future__ import annotations

import math
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # -I leaves it out
import common  # noqa: E402
from common import CONTRACT, Request, Response  # noqa: E402

LOOPS = int(CONTRACT.env.get("SANDBOX_HPA_LOOPS") or 1_000_000)
SERVER = "Apache/2.4.10 (Debian)"


def burn(loops: int = LOOPS) -> float:
    x = 0.0001
    sqrt = math.sqrt
    for _ in range(loops + 1):  # for ($i = 0; $i <= 1000000; $i++)
        x += sqrt(x)
    return x


def handle(req: Request) -> Response:
    if req.path not in ("/", "/index.php"):
        body = (
            '<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n'
            "<title>404 Not Found</title>\n</head><body>\n<h1>Not Found</h1>\n"
            f"<p>The requested URL {req.path} was not found on this server.</p>\n<hr>\n"
            f"<address>{SERVER} Server at {req.header('Host', CONTRACT.pod_ip).split(':')[0]} "
            "Port 80</address>\n</body></html>\n"
        )
        return Response(404, body, "text/html; charset=iso-8859-1")
    burn()
    return Response(200, "OK!", "text/html")


def access_log(req: Request, resp: Response, seconds: float) -> None:
    size = len(resp.body) if resp.body else "-"
    common.log(
        f'{req.client[0]} - - [{common.clf_date()}] "{req.method} {req.target} '
        f'{req.version}" {resp.status} {size} "{req.header("Referer", "-")}" '
        f'"{req.header("User-Agent", "-")}"'
    )


def main() -> None:
    common.block_signals(signal.SIGTERM, signal.SIGINT, signal.SIGWINCH)
    time.sleep(common.startup_delay(0.0))
    srv = common.serve_or_exit(
        handle, 80, idle_timeout=5.0, server_header=SERVER, on_request=access_log
    )
    stamp = time.strftime("%a %b %d %H:%M:%S.000000 %Y", time.gmtime())
    common.log(
        f"[{stamp}] [mpm_prefork:notice] [pid 1] AH00163: {SERVER} configured -- "
        "resuming normal operations"
    )
    sig = common.wait_signal(signal.SIGTERM, signal.SIGINT, signal.SIGWINCH)
    stamp = time.strftime("%a %b %d %H:%M:%S.000000 %Y", time.gmtime())
    if sig == signal.SIGWINCH:
        common.log(
            f"[{stamp}] [mpm_prefork:notice] [pid 1] AH00170: caught SIGWINCH, "
            "shutting down gracefully"
        )
        srv.drain()
    else:
        common.log(f"[{stamp}] [mpm_prefork:notice] [pid 1] AH00169: caught SIGTERM, shutting down")
    common.exit_now(0)


if __name__ == "__main__":
    main()
