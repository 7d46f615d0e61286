"""Which strategy each kind uses."""

from __future__ import annotations

from ..resources import ResourceType, key_of
from ..strategy import Strategy
from .namespaces import NamespaceStrategy
from .pods import PodStrategy
from .services import ServiceStrategy
from .workloads import (
    DeploymentStrategy,
    HPAStrategy,
    JobStrategy,
    ReplicaSetStrategy,
    StatefulSetStrategy,
    StatusClearingStrategy,
)

_BY_KEY: dict[str, type[Strategy]] = {
    "pods": PodStrategy,
    "services": ServiceStrategy,
    "namespaces": NamespaceStrategy,
    "deployments": DeploymentStrategy,
    "replicasets": ReplicaSetStrategy,
    "statefulsets": StatefulSetStrategy,
    "jobs": JobStrategy,
    "persistentvolumeclaims": StatusClearingStrategy,
    "persistentvolumes": StatusClearingStrategy,
    "horizontalpodautoscalers": HPAStrategy,
}


def strategy_for(rt: ResourceType) -> Strategy:
    return _BY_KEY.get(key_of(rt), Strategy)(rt)
