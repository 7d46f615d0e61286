"""Node objects: registration, status from the real host, heartbeats, pod addresses.

One node by default named like minikube's (`rollout-labs`), more with `--nodes N`
(`rollout-labs-m02`, …) spread over zones so topology spreading and affinity can be shown.
Capacity is the host's (each minikube node on one machine also sees the whole host). Every
node renews a Lease in `kube-node-lease` every 10 s and posts its status every 40 s, as the
kubelet does with node leases on.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import platform
import shutil
import uuid
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from .. import network
from ..apiserver.errors import ApiError
from ..client import Client
from ..config import SandboxConfig, default_state_dir
from ..controllers.events import EventRecorder
from ..util import rfc3339, rfc3339_micro

log = logging.getLogger("rollout_labs.sandbox.node")

NODE_NAME = "rollout-labs"
KUBELET_VERSION = "v1.37.1"
CONTAINER_RUNTIME = "containerd://2.1.4"
MAX_PODS = 110
LEASE_SECONDS = 40
LEASE_RENEW = 10.0
STATUS_REPORT = 40.0
ZONES = "abcdefghijklmnopqrstuvwxyz"
REGION = "rollout-labs-region-1"


def node_name(index: int) -> str:
    return NODE_NAME if index == 0 else f"{NODE_NAME}-m{index + 1:02d}"


def _arch() -> str:
    machine = platform.machine().lower()
    return {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
            "armv7l": "arm"}.get(machine, machine)


def _os_image() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return f"{platform.system()} {platform.release()}"


def _machine_id() -> str:
    for p in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        with contextlib.suppress(OSError):
            value = Path(p).read_text().strip()
            if value:
                return value
    return uuid.uuid5(uuid.NAMESPACE_DNS, platform.node()).hex


def _boot_id() -> str:
    with contextlib.suppress(OSError):
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    return str(uuid.uuid4())


@dataclass
class NodeSpec:
    """What the sandbox decided about one node."""

    index: int
    name: str
    ip: str
    pod_cidr: str
    zone: str
    capacity: dict[str, str] = field(default_factory=dict)
    allocatable: dict[str, str] = field(default_factory=dict)


def plan_nodes(config: SandboxConfig) -> list[NodeSpec]:
    cpu = str(os.cpu_count() or 1)
    mem_ki = psutil.virtual_memory().total // 1024
    try:
        disk_ki = shutil.disk_usage(config.state_dir).total // 1024
    except OSError:
        disk_ki = 100 * 1024 * 1024
    capacity = {"cpu": cpu, "ephemeral-storage": f"{disk_ki}Ki", "hugepages-1Gi": "0",
                "hugepages-2Mi": "0", "memory": f"{mem_ki}Ki", "pods": str(MAX_PODS)}
    out = []
    base = int(network.POD_CIDR.network_address)
    first = _first_subnet(config)
    for i in range(max(1, config.nodes)):
        # Node i: pods from a /24 of 127.244.0.0/16, addressed at 127.0.0.1 (first) or
        # 127.0.1.<i+1>.
        third = (first + i) % 256
        cidr = ipaddress.ip_network(f"{ipaddress.ip_address(base + third * 256)}/24")
        ip = network.NODE_IP if i == 0 else f"127.0.1.{i + 1}"
        out.append(NodeSpec(index=i, name=node_name(i), ip=ip, pod_cidr=str(cidr),
                            zone=f"zone-{ZONES[i % len(ZONES)]}", capacity=dict(capacity),
                            allocatable=dict(capacity)))
    return out


def _first_subnet(config: SandboxConfig) -> int:
    """0 for the learner's sandbox (pods at 127.244.0.x, like minikube's 10.244.0.x); other
    state directories (tests, a second sandbox) start elsewhere, since every sandbox on the
    machine shares the loopback network."""
    try:
        if config.state_dir.resolve() == default_state_dir().resolve():
            return 0
    except OSError:
        pass
    return 1 + zlib.crc32(str(config.state_dir).encode()) % 250


def listening_ips() -> set[str]:
    """Addresses some process on this machine listens on (another sandbox's pods)."""
    out: set[str] = set()
    try:
        with open("/proc/net/tcp") as f:
            next(f, None)
            for line in f:
                fields = line.split(None, 4)
                if len(fields) > 3 and fields[3] == "0A":  # LISTEN
                    hexip = fields[1].split(":")[0]
                    out.add(str(ipaddress.IPv4Address(int.from_bytes(bytes.fromhex(hexip),
                                                                     "little"))))
    except (OSError, ValueError):
        pass
    return out


class PodAddresses:
    """Pod IPs from each node's /24, handed out round-robin like host-local IPAM, never one
    that a pod in the store (on any node) still holds."""

    def __init__(self, client: Client):
        self.client = client
        self._by_uid: dict[str, str] = {}
        self._last: dict[str, int] = {}

    def _in_use(self) -> set[str]:
        used = set(self._by_uid.values()) | listening_ips()
        for pod in self.client.scan("pods"):
            ip = (pod.get("status") or {}).get("podIP")
            if ip:
                used.add(ip)
        return used

    def allocate(self, node: NodeSpec, uid: str) -> str:
        if uid in self._by_uid:
            return self._by_uid[uid]
        net = ipaddress.ip_network(node.pod_cidr)
        base = int(net.network_address)
        size = net.num_addresses
        used = self._in_use()
        last = self._last.get(node.name, 1)
        for step in range(1, size):
            off = (last - 1 + step) % (size - 3) + 2  # .2 … .254 (.1 is the gateway)
            ip = str(ipaddress.ip_address(base + off))
            if ip not in used:
                self._last[node.name] = off
                self._by_uid[uid] = ip
                return ip
        # The node's range is full: borrow from the whole pod CIDR.
        ip = network.allocate_ip(network.POD_CIDR, used)
        self._by_uid[uid] = ip
        return ip

    def reserve(self, ip: str, uid: str) -> None:
        self._by_uid[uid] = ip

    def release(self, uid: str) -> None:
        self._by_uid.pop(uid, None)


class NodeAgent:
    """Registers the nodes and keeps their heartbeats going (the kubelet's node status loop)."""

    def __init__(self, client: Client, config: SandboxConfig, nodes: list[NodeSpec],
                 images_of=None):
        self.client = client
        self.config = config
        self.nodes = nodes
        self.images_of = images_of or (lambda name: [])
        self._task: asyncio.Task | None = None
        self._boot_id = _boot_id()
        self._machine_id = _machine_id()

    # -- objects --------------------------------------------------------------------------------
    def _labels(self, n: NodeSpec) -> dict[str, str]:
        arch = _arch()
        labels = {
            "beta.kubernetes.io/arch": arch,
            "beta.kubernetes.io/os": "linux",
            "kubernetes.io/arch": arch,
            "kubernetes.io/hostname": n.name,
            "kubernetes.io/os": "linux",
            "topology.kubernetes.io/region": REGION,
            "topology.kubernetes.io/zone": n.zone,
        }
        if n.index == 0:
            labels["node-role.kubernetes.io/control-plane"] = ""
            labels["node.kubernetes.io/exclude-from-external-load-balancers"] = ""
        return labels

    def _status(self, n: NodeSpec, old: dict | None) -> dict:
        stamp = rfc3339()
        old_conds = {c["type"]: c for c in (old or {}).get("conditions") or []}

        def cond(ctype: str, status: str, reason: str, message: str) -> dict:
            prev = old_conds.get(ctype)
            since = prev["lastTransitionTime"] if prev and prev.get("status") == status else stamp
            return {"type": ctype, "status": status, "lastHeartbeatTime": stamp,
                    "lastTransitionTime": since, "reason": reason, "message": message}

        return {
            "capacity": n.capacity,
            "allocatable": n.allocatable,
            "conditions": [
                cond("MemoryPressure", "False", "KubeletHasSufficientMemory",
                     "kubelet has sufficient memory available"),
                cond("DiskPressure", "False", "KubeletHasNoDiskPressure",
                     "kubelet has no disk pressure"),
                cond("PIDPressure", "False", "KubeletHasSufficientPID",
                     "kubelet has sufficient PID available"),
                cond("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
            ],
            "addresses": [{"type": "InternalIP", "address": n.ip},
                          {"type": "Hostname", "address": n.name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "machineID": self._machine_id,
                "systemUUID": str(uuid.uuid5(uuid.NAMESPACE_URL, f"rollout-labs:{n.name}")),
                "bootID": self._boot_id,
                "kernelVersion": platform.release(),
                "osImage": _os_image(),
                "containerRuntimeVersion": CONTAINER_RUNTIME,
                "kubeletVersion": KUBELET_VERSION,
                "kubeProxyVersion": "",
                "operatingSystem": "linux",
                "architecture": _arch(),
            },
            "images": self.images_of(n.name),
            "runtimeHandlers": [{"name": "", "features": {"recursiveReadOnlyMounts": True,
                                                         "userNamespaces": False}}],
            "features": {"supplementalGroupsPolicy": True},
        }

    def register(self) -> None:
        wanted = {n.name for n in self.nodes}
        for n in self.nodes:
            existing = self.client.try_get("nodes", None, n.name)
            labels = self._labels(n)
            if existing is None:
                obj = {"metadata": {
                    "name": n.name, "labels": labels,
                    "annotations": {
                        "node.alpha.kubernetes.io/ttl": "0",
                        "volumes.kubernetes.io/controller-managed-attach-detach": "true",
                        "kubeadm.alpha.kubernetes.io/cri-socket":
                            "unix:///run/containerd/containerd.sock"}},
                    "spec": {"podCIDR": n.pod_cidr, "podCIDRs": [n.pod_cidr]}}
                created = self.client.create("nodes", obj)
                created["status"] = self._status(n, None)
                self.client.update_status("nodes", created)
            else:
                existing["metadata"].setdefault("labels", {}).update(labels)
                existing.setdefault("spec", {})["podCIDR"] = n.pod_cidr
                existing["spec"]["podCIDRs"] = [n.pod_cidr]
                updated = self.client.update("nodes", existing)
                updated["status"] = self._status(n, updated.get("status"))
                self.client.update_status("nodes", updated)
        self._announce()
        # Nodes of an earlier, larger sandbox: gone, and their pods with them (pod GC).
        for node in self.client.list("nodes"):
            name = node["metadata"]["name"]
            if name in wanted or not name.startswith(NODE_NAME):
                continue
            for pod in self.client.list("pods", field_selector=f"spec.nodeName={name}"):
                self.client.delete("pods", pod["metadata"]["namespace"], pod["metadata"]["name"],
                                   grace_period=0)
            self.client.delete("nodes", None, name)
            with contextlib.suppress(ApiError):
                self.client.delete("leases", "kube-node-lease", name)
        self.renew_leases()

    def _announce(self) -> None:
        """The events a kubelet start leaves on its Node (`kubectl describe node`)."""
        for n in self.nodes:
            node = self.client.peek("nodes", None, n.name)
            if node is None:
                continue
            kubelet = EventRecorder(self.client, "kubelet", host=n.name)
            kubelet.normal(node, "Starting", "Starting kubelet.")
            for status in ("NodeHasSufficientMemory", "NodeHasNoDiskPressure",
                           "NodeHasSufficientPID"):
                kubelet.normal(node, status, f"Node {n.name} status is now: {status}")
            kubelet.normal(node, "NodeAllocatableEnforced",
                           "Updated Node Allocatable limit across pods")
            kubelet.normal(node, "NodeReady", f"Node {n.name} status is now: NodeReady")
            EventRecorder(self.client, "node-controller").normal(
                node, "RegisteredNode", f"Node {n.name} event: Registered Node {n.name} in "
                "Controller")

    def renew_leases(self) -> None:
        stamp = rfc3339_micro()
        for n in self.nodes:
            lease = self.client.try_get("leases", "kube-node-lease", n.name)
            node = self.client.peek("nodes", None, n.name)
            owner = ([{"apiVersion": "v1", "kind": "Node", "name": n.name,
                       "uid": node["metadata"]["uid"]}] if node else [])
            try:
                if lease is None:
                    self.client.create("leases", {
                        "metadata": {"name": n.name, "namespace": "kube-node-lease",
                                     "ownerReferences": owner},
                        "spec": {"holderIdentity": n.name, "leaseDurationSeconds": LEASE_SECONDS,
                                 "renewTime": stamp}}, "kube-node-lease")
                else:
                    lease.setdefault("spec", {})["renewTime"] = stamp
                    lease["spec"]["holderIdentity"] = n.name
                    lease["spec"]["leaseDurationSeconds"] = LEASE_SECONDS
                    self.client.update("leases", lease)
            except ApiError as e:
                log.debug("lease %s: %s", n.name, e.message)

    def post_status(self) -> None:
        for n in self.nodes:
            node = self.client.try_get("nodes", None, n.name)
            if node is None:
                continue
            node["status"] = {**(node.get("status") or {}), **self._status(n, node.get("status"))}
            try:
                self.client.update_status("nodes", node)
            except ApiError as e:
                log.debug("node %s status: %s", n.name, e.message)

    # -- loop -----------------------------------------------------------------------------------
    def start(self) -> None:
        self.register()
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="node-heartbeat")

    async def _loop(self) -> None:
        since_status = 0.0
        while True:
            await asyncio.sleep(LEASE_RENEW)
            self.renew_leases()
            since_status += LEASE_RENEW
            if since_status >= STATUS_REPORT:
                since_status = 0.0
                self.post_status()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
