"""The node: pods as local processes, the service proxy, service names, images and apps.

`start_nodes` wires one sandbox's node half: the Node objects and their heartbeats, one
kubelet per node, a kube-proxy and the hosts file (shared, since every node lives on the same
loopback), the metrics source, and the API server's hooks into them (logs, metrics, proxy).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from ..client import Client
from ..config import SandboxConfig

log = logging.getLogger("rollout_labs.sandbox.node")


class NodeComponents:
    """Everything `start_nodes` started, stopped in the reverse order."""

    def __init__(self, parts: list, kubelets: list):
        self.parts = parts
        self.kubelets = kubelets

    async def stop(self) -> None:
        # Pods first (every process group goes), then the rest.
        await asyncio.gather(*(k.stop() for k in self.kubelets), return_exceptions=True)
        for part in reversed(self.parts):
            with contextlib.suppress(Exception):
                await part.stop()


def start_nodes(client: Client, ctx, config: SandboxConfig) -> list:
    """Start the node half of the sandbox; returns components with `async stop()`."""
    from ..apiserver.proxy import ServiceProxy
    from .dns import HostsFile
    from .kubelet import Kubelet
    from .metrics import MetricsCollector
    from .nodes import NodeAgent, PodAddresses, plan_nodes
    from .proxy import KubeProxy

    specs = plan_nodes(config)
    kubelets: dict[str, Kubelet] = {}
    agent = NodeAgent(client, config, specs,
                      images_of=lambda name: kubelets[name].images.images()
                      if name in kubelets else [])
    agent.start()
    hosts = HostsFile(client, config)
    hosts.start()
    proxy = KubeProxy(client, config, [s.ip for s in specs])
    proxy.start()
    metrics = MetricsCollector(client, config)
    metrics.start([s.name for s in specs])
    addresses = PodAddresses(client)
    for spec in specs:
        k = Kubelet(client, config, spec, addresses, hosts.path, metrics)
        kubelets[spec.name] = k
        ctx.nodes[spec.name] = k
    ctx.metrics = metrics
    api_proxy = ServiceProxy(ctx.registry)
    ctx.proxy = api_proxy
    for k in kubelets.values():
        k.start()

    class _ApiProxy:
        async def stop(self) -> None:
            await api_proxy.close()

    # Keep handles for tests and tools that run the sandbox in-process.
    ctx.kube_proxy = proxy
    return [NodeComponents([agent, hosts, proxy, metrics, _ApiProxy()], list(kubelets.values()))]
