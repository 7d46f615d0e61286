"""Sandbox settings: where state lives and how fast its clocks run.

Defaults match a real cluster (HPA sync 15 s, scale-down stabilization 300 s); CI and labs
may shorten them through `ROLLOUT_LABS_*` environment variables read at sandbox start.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def default_state_dir() -> Path:
    return Path(os.environ.get("ROLLOUT_LABS_HOME") or Path.home() / ".rollout-labs")


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


@dataclass
class SandboxConfig:
    state_dir: Path = field(default_factory=default_state_dir)
    port: int = 0  # 0: reuse the last port, else pick a free one
    nodes: int = 1
    # Simulated image pull time for an image not yet on the node.
    pull_seconds: float = field(default_factory=lambda: _env_float("ROLLOUT_LABS_PULL_SECONDS", 0.5))
    hpa_sync_period: float = field(
        default_factory=lambda: _env_float("ROLLOUT_LABS_HPA_SYNC_PERIOD", 15.0))
    hpa_downscale_stabilization: float = field(
        default_factory=lambda: _env_float("ROLLOUT_LABS_HPA_DOWNSCALE_STABILIZATION", 300.0))
    # kube-proxy applies endpoint changes at most this often.
    proxy_min_sync: float = field(default_factory=lambda: _env_float("ROLLOUT_LABS_PROXY_SYNC", 1.0))
    metrics_window: float = field(default_factory=lambda: _env_float("ROLLOUT_LABS_METRICS_WINDOW", 15.0))

    @property
    def kubeconfig(self) -> Path:
        return self.state_dir / "kubeconfig"

    @property
    def pki_dir(self) -> Path:
        return self.state_dir / "pki"

    @property
    def db_path(self) -> Path:
        return self.state_dir / "objects.db"

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def server_file(self) -> Path:
        return self.state_dir / "server.json"

    @property
    def pid_file(self) -> Path:
        return self.state_dir / "sandbox.pid"
