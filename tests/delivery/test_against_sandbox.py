"""rollout-labs check and reset against a real API server: the local sandbox, over HTTPS."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def sandbox_env(tmp_path_factory) -> Iterator[dict[str, str]]:
    try:
        from helpers.sandbox import start, stop
    except ImportError as exc:
        pytest.skip(f"helpers.sandbox.start is not available yet: {exc}")
    state = tmp_path_factory.mktemp("sandbox")
    info = start(state_dir=state)
    try:
        yield {**os.environ, "KUBECONFIG": str(info.kubeconfig), "ROLLOUT_LABS_CONTEXT": "",
               "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    finally:
        stop(state_dir=state)


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / args[0]), *args[1:]], env=env, capture_output=True,
                          text=True, timeout=120)


def test_check_reports_each_item(sandbox_env) -> None:
    out = run(sandbox_env, "rollout-labs", "check", "--context", "rollout-labs")
    report = out.stdout
    assert "✓ API server reachable" in report, report
    assert "✓ kubectl present, within version skew" in report, report
    assert "✓ namespace create/delete allowed" in report, report
    for item in ("nodes Ready", "metrics API", "workshop images"):
        assert item in report, report
    assert ("✗" in report) == (out.returncode != 0), report
    # The throwaway namespace is gone again.
    ns = run(sandbox_env, "kubectl", "get", "ns", "-o", "name")
    assert "rollout-labs-preflight-" not in ns.stdout.replace("Terminating", "")


def test_reset_deletes_only_lab_namespaces(sandbox_env) -> None:
    for name, label in (("lab01-a", "01"), ("lab01-b", "01"), ("lab02-a", "02"), ("keep-me", "")):
        assert run(sandbox_env, "kubectl", "create", "namespace", name).returncode == 0
        if label:
            assert run(sandbox_env, "kubectl", "label", "namespace", name,
                       f"rollout-labs.io/lab={label}").returncode == 0

    dry = run(sandbox_env, "rollout-labs", "reset", "--context", "rollout-labs", "--dry-run")
    assert dry.returncode == 0 and "would delete namespace lab01-a" in dry.stdout

    out = run(sandbox_env, "rollout-labs", "reset", "01", "--context", "rollout-labs", "--wait", "30")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == ["deleted namespace lab01-a", "deleted namespace lab01-b"]

    def alive() -> set[str]:
        got = run(sandbox_env, "kubectl", "get", "ns", "-o",
                  "jsonpath={range .items[*]}{.metadata.name} {.status.phase}{'\\n'}{end}")
        return {line.split()[0] for line in got.stdout.splitlines()
                if line.split()[1:] != ["Terminating"]}

    deadline = time.monotonic() + 30
    while {"lab01-a", "lab01-b"} & alive() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert {"lab02-a", "keep-me", "default"} <= alive()
    assert not {"lab01-a", "lab01-b"} & alive()

    out = run(sandbox_env, "rollout-labs", "reset", "--context", "rollout-labs", "--wait", "30")
    assert "deleted namespace lab02-a" in out.stdout
    assert "keep-me" in alive() and "lab02-a" not in alive()
