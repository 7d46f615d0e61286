"""A local Kubernetes-compatible cluster for the workshop.

The workshop only ever calls `start`, `stop` and `status`; everything else talks to the
sandbox through the Kubernetes API, like any other cluster.
"""

from .daemon import SandboxError, SandboxInfo, start, status, stop

__all__ = ["SandboxError", "SandboxInfo", "start", "status", "stop"]
