"""The ``rollout-labs`` command: up, check, reset, prepull and the sandbox group."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

SANDBOX_CLI = "helpers.sandbox.cli"


def _register_sandbox(subparsers: argparse._SubParsersAction) -> None:
    """Delegate ``rollout-labs sandbox ...`` to :mod:`helpers.sandbox.cli`.

    If that module is missing, a stub ``sandbox`` command explains why instead of
    breaking every other command.
    """
    try:
        module = importlib.import_module(SANDBOX_CLI)
        register = module.register
    except (ImportError, AttributeError) as exc:
        reason = f"{SANDBOX_CLI}.register is not available ({exc})"
        stub = subparsers.add_parser(
            "sandbox", help="local cluster (unavailable in this install)", add_help=False
        )
        stub.add_argument("rest", nargs=argparse.REMAINDER)
        stub.set_defaults(func=lambda _args: _sandbox_missing(reason))
        return
    register(subparsers)


def _sandbox_missing(reason: str) -> int:
    print(
        f"rollout-labs sandbox: {reason}.\n"
        "The sandbox ships with the project; reinstall it with `pip install -e .` from the "
        "repository root, or use a real cluster with `--context NAME` / ROLLOUT_LABS_CONTEXT.",
        file=sys.stderr,
    )
    return 2


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (exposed for tests and docs)."""
    from helpers import instructor, preflight, workshop

    parser = argparse.ArgumentParser(
        prog="rollout-labs",
        description="Zero-downtime Kubernetes workshop: start it, check a cluster, run a room.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    workshop.register(sub)
    preflight.register(sub)
    instructor.register(sub)
    _register_sandbox(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rollout-labs`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        result = func(args)
    except KeyboardInterrupt:
        return 130
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
