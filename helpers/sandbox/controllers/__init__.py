"""The controller manager: every controller the sandbox runs, one module each."""

from __future__ import annotations

import importlib
import logging

from ..client import Client
from ..config import SandboxConfig
from .base import Controller

log = logging.getLogger("rollout_labs.sandbox.controllers")

# module, class — like kube-controller-manager's list; missing ones are logged and skipped.
CONTROLLERS = (
    ("deployment", "DeploymentController"),
    ("replicaset", "ReplicaSetController"),
    ("statefulset", "StatefulSetController"),
    ("endpoints", "EndpointsController"),
    ("endpointslice", "EndpointSliceController"),
    ("garbagecollector", "GarbageCollector"),
    ("namespace", "NamespaceController"),
    ("scheduler", "Scheduler"),
    ("volume", "PersistentVolumeBinder"),
    ("hpa", "HorizontalController"),
    ("job", "JobController"),
)


def build_controllers(client: Client, config: SandboxConfig) -> list[Controller]:
    out = []
    for module, cls in CONTROLLERS:
        try:
            mod = importlib.import_module(f"{__name__}.{module}")
        except ModuleNotFoundError as e:
            if e.name and e.name.endswith(module):
                log.debug("controller %s not available", module)
                continue
            raise
        out.append(getattr(mod, cls)(client, config))
    return out
