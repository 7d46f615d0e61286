"""Starting, stopping and inspecting the sandbox as a background process.

The sandbox is its own process (not a thread in a notebook kernel), so it survives kernel and
Jupyter restarts; these functions find it again through the state directory.
"""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .config import SandboxConfig, default_state_dir
from .pki import CONTEXT


class SandboxError(RuntimeError):
    pass


@dataclass(frozen=True)
class SandboxInfo:
    running: bool
    state_dir: Path
    kubeconfig: Path
    context: str = CONTEXT
    server: str | None = None
    pid: int | None = None
    already_running: bool = False

    def export_line(self) -> str:
        return f"export KUBECONFIG={self.kubeconfig}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours counts as gone
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return True


def _healthy(server: str, ca: Path, timeout: float = 0.5) -> bool:
    ctx = ssl.create_default_context(cafile=str(ca))
    try:
        with urllib.request.urlopen(f"{server}/healthz", context=ctx, timeout=timeout) as r:
            return r.status == 200
    except OSError:
        return False


def _read_server(state_dir: Path) -> dict:
    try:
        return json.loads((state_dir / "server.json").read_text())
    except (OSError, ValueError):
        return {}


def _pid(state_dir: Path) -> int | None:
    try:
        pid = int((state_dir / "sandbox.pid").read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _alive(pid) else None


def status(state_dir: Path | str | None = None) -> SandboxInfo:
    sd = Path(state_dir) if state_dir else default_state_dir()
    pid = _pid(sd)
    server = _read_server(sd).get("server")
    running = bool(pid and server and _healthy(server, sd / "pki" / "ca.crt"))
    return SandboxInfo(running=running, state_dir=sd, kubeconfig=sd / "kubeconfig",
                       server=server, pid=pid if running else None)


def start(state_dir: Path | str | None = None, port: int | None = None, nodes: int = 1,
          timeout: float = 30.0, env: dict[str, str] | None = None) -> SandboxInfo:
    """Start the sandbox daemon and return once its API answers (or say it already runs)."""
    sd = Path(state_dir) if state_dir else default_state_dir()
    current = status(sd)
    if current.running:
        return SandboxInfo(**{**current.__dict__, "already_running": True})
    if current.pid is None and _pid(sd):
        stop(sd)
    sd.mkdir(parents=True, exist_ok=True)
    os.chmod(sd, 0o700)
    (sd / "logs").mkdir(exist_ok=True)
    server_file = sd / "server.json"
    before = server_file.stat().st_mtime_ns if server_file.exists() else 0
    argv = [sys.executable, "-m", "helpers.sandbox", "run", "--state-dir", str(sd),
            "--nodes", str(nodes)]
    if port:
        argv += ["--port", str(port)]
    proc_env = {**os.environ, **(env or {})}
    # The package must be importable from the child whatever its cwd.
    root = str(Path(__file__).resolve().parents[2])
    proc_env["PYTHONPATH"] = root + os.pathsep + proc_env.get("PYTHONPATH", "")
    with open(sd / "logs" / "sandbox.log", "ab") as log:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True, env=proc_env,
                                close_fds=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = (sd / "logs" / "sandbox.log").read_text(errors="replace")[-2000:]
            raise SandboxError(f"the sandbox exited during start (code {proc.returncode}). "
                               f"Last log lines:\n{tail}\nSee {sd / 'logs' / 'sandbox.log'}.")
        if server_file.exists() and server_file.stat().st_mtime_ns != before:
            info = _read_server(sd)
            if info.get("pid") == proc.pid and _healthy(info["server"], sd / "pki" / "ca.crt"):
                return SandboxInfo(running=True, state_dir=sd, kubeconfig=sd / "kubeconfig",
                                   server=info["server"], pid=proc.pid)
        time.sleep(0.01)
    proc.terminate()
    raise SandboxError(f"the sandbox did not answer within {timeout:.0f} s; "
                       f"see {sd / 'logs' / 'sandbox.log'}")


def stop(state_dir: Path | str | None = None, timeout: float = 15.0) -> bool:
    """Stop the daemon (it stops its pods first). Returns False if it was not running."""
    sd = Path(state_dir) if state_dir else default_state_dir()
    pid = _pid(sd)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            break
        time.sleep(0.05)
    else:
        os.killpg(pid, signal.SIGKILL)
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    (sd / "sandbox.pid").unlink(missing_ok=True)
    return True


def run(config: SandboxConfig) -> None:
    from .server import run_forever

    run_forever(config)
