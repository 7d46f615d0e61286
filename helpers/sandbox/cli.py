"""`rollout-labs sandbox start|stop|status|run`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .config import SandboxConfig, default_state_dir
from .daemon import SandboxError, run, start, status, stop


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("sandbox", help="the local cluster: start, stop, status, run")
    sub = p.add_subparsers(dest="sandbox_command", required=True)
    for name, help_ in (("start", "start the sandbox in the background"),
                        ("run", "run the sandbox in the foreground"),
                        ("stop", "stop the sandbox and its pods"),
                        ("status", "say whether the sandbox runs")):
        sp = sub.add_parser(name, help=help_)
        sp.add_argument("--state-dir", type=Path, default=None,
                        help="where the sandbox keeps its state (default ~/.rollout-labs or "
                             "$ROLLOUT_LABS_HOME)")
        if name in ("start", "run"):
            sp.add_argument("--port", type=int, default=0, help="API server port (default: any)")
            sp.add_argument("--nodes", type=int, default=1, help="number of nodes (default 1)")
        sp.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    sd = args.state_dir or default_state_dir()
    cmd = args.sandbox_command
    if cmd == "run":
        run(SandboxConfig(state_dir=sd, port=args.port, nodes=args.nodes))
        return 0
    if cmd == "start":
        try:
            info = start(sd, port=args.port or None, nodes=args.nodes)
        except SandboxError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        if info.already_running:
            print(f"The sandbox is already running at {info.server} (pid {info.pid}).")
        else:
            print(f"The sandbox is running at {info.server} (pid {info.pid}).")
        print(f"kubeconfig: {info.kubeconfig}")
        print(info.export_line())
        return 0
    if cmd == "stop":
        print("The sandbox stopped." if stop(sd) else "The sandbox was not running.")
        return 0
    info = status(sd)
    if info.running:
        print(f"running at {info.server} (pid {info.pid}); kubeconfig {info.kubeconfig}")
        return 0
    print("not running; start it with: rollout-labs sandbox start")
    return 3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.sandbox")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["sandbox", *(argv if argv is not None else sys.argv[1:])])
    return args.func(args)
