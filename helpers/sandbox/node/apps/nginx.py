"""nginx (docker.io/library/nginx:<tag>): the official image with its default configuration.

Serves the welcome page at / and /index.html, nginx's own error pages otherwise, and names its
version only in the `Server:` header. Signals as nginx's master process handles them: SIGTERM
and SIGINT are a fast shutdown (connections are dropped, exit at once), SIGQUIT is a graceful
one (stop accepting, finish requests in flight, exit 0). The image's STOPSIGNAL is SIGQUIT, so
a runtime that honours it (containerd, CRI-O) stops nginx gracefully.
"""

from __future__ import annotations

import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # -I leaves it out
import common  # noqa: E402
from common import CONTRACT, Request, Response  # noqa: E402

VERSION = CONTRACT.version or "1.27.5"
SERVER = f"nginx/{VERSION}"
MTIME = 1713277799  # the page's Last-Modified/ETag: the package's build time, fixed per image

WELCOME = b"""<!DOCTYPE html>
<html>
<head>
<title>Welcome to nginx!</title>
<style>
html { color-scheme: light dark; }
body { width: 35em; margin: 0 auto;
font-family: Tahoma, Verdana, Arial, sans-serif; }
</style>
</head>
<body>
<h1>Welcome to nginx!</h1>
<p>If you see this page, the nginx web server is successfully installed and
working. Further configuration is required.</p>

<p>For online documentation and support please refer to
<a href="http://nginx.org/">nginx.org</a>.<br/>
Commercial support is available at
<a href="http://nginx.com/">nginx.com</a>.</p>

<p><em>Thank you for using nginx.</em></p>
</body>
</html>
"""

FIFTY_X = b"""<!DOCTYPE html>
<html>
<head>
<title>Error</title>
<style>
html { color-scheme: light dark; }
body { width: 35em; margin: 0 auto;
font-family: Tahoma, Verdana, Arial, sans-serif; }
</style>
</head>
<body>
<h1>An error occurred.</h1>
<p>Sorry, the page you are looking for is currently unavailable.<br/>
Please try again later.</p>
<p>If you are the system administrator of this resource then you should check
the error log for details.</p>
<p><em>Faithfully yours, nginx.</em></p>
</body>
</html>
"""

FILES = {"/": WELCOME, "/index.html": WELCOME, "/50x.html": FIFTY_X}
REASONS = {404: "Not Found", 405: "Not Allowed"}


def error_page(status: int) -> Response:
    """nginx's built-in error page (CRLF line ends, version in the footer)."""
    title = f"{status} {REASONS[status]}"
    body = (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>{SERVER}</center>\r\n"
        "</body>\r\n</html>\r\n"
    )
    return Response(status, body, "text/html", reason=REASONS[status])


def handle(req: Request) -> Response:
    page = FILES.get(req.path)
    if page is None:
        return error_page(404)
    if req.method not in ("GET", "HEAD"):
        return error_page(405)
    etag = f'"{MTIME:x}-{len(page):x}"'
    headers = [
        ("Last-Modified", common.http_date(MTIME)),
        ("ETag", etag),
        ("Accept-Ranges", "bytes"),
    ]
    if req.header("If-None-Match") == etag:
        return Response(304, b"", None, headers)
    return Response(200, page, "text/html", headers)


def access_log(req: Request, resp: Response, seconds: float) -> None:
    sent = 0 if req.method == "HEAD" else len(resp.body)
    common.log(
        f'{req.client[0]} - - [{common.clf_date()}] "{req.method} {req.target} '
        f'{req.version}" {resp.status} {sent} "{req.header("Referer", "-")}" '
        f'"{req.header("User-Agent", "-")}" "{req.header("X-Forwarded-For", "-")}"'
    )


def notice(message: str) -> None:
    stamp = time.strftime("%Y/%m/%d %H:%M:%S", time.gmtime())
    common.log(f"{stamp} [notice] 1#1: {message}", sys.stderr)


def main() -> None:
    handled = (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGHUP)
    common.block_signals(*handled)
    time.sleep(common.startup_delay(0.0))
    common.log("/docker-entrypoint.sh: Configuration complete; ready for start up")
    srv = common.serve_or_exit(
        handle, 80, idle_timeout=65.0, server_header=SERVER, on_request=access_log
    )
    notice('using the "epoll" event method')
    notice(SERVER)
    notice(f"OS: Linux {os.uname().release}")
    notice("start worker processes")
    while True:
        sig = common.wait_signal(*handled)
        if sig == signal.SIGHUP:
            notice("signal 1 (SIGHUP) received, reconfiguring")
            continue
        if sig == signal.SIGQUIT:
            notice("signal 3 (SIGQUIT) received, shutting down")
            srv.drain()  # worker_shutdown_timeout is unset by default: wait for every request
        else:
            notice(f"signal {int(sig)} ({signal.Signals(sig).name}) received, exiting")
            srv.close_all()
        notice("exit")
        common.exit_now(0)


if __name__ == "__main__":
    main()
