"""rollout-labs helpers: the Python side of the labs (public Kubernetes API only).

`import helpers` is cheap; submodules load on first use:
    from helpers import cluster, kubectl, rollout, traffic, checks, widgets
"""

from __future__ import annotations

import importlib
from typing import Any

_SUBMODULES = {"cluster", "kubectl", "rollout", "traffic", "checks", "widgets", "pods",
               "status", "hpa", "statefulset", "apply", "revisions", "sandbox"}


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
