"""The sandbox's address plan: every address is on loopback, so nothing leaves the machine.

Pods get addresses from 127.244.0.0/16 and Services from 127.96.0.0/16, echoing the usual
10.244.0.0/16 and 10.96.0.0/12. Linux routes all of 127.0.0.0/8 to the loopback device, so
each pod can bind its own address and the same container port as its neighbours, as in a
real pod network.
"""

from __future__ import annotations

import ipaddress
import os
import random
import socket

POD_CIDR = ipaddress.ip_network("127.244.0.0/16")
SERVICE_CIDR = ipaddress.ip_network("127.96.0.0/16")
NODE_IP = "127.0.0.1"
NODE_PORT_RANGE = (30000, 32767)
# The static band (30000-30085) is kept for ports users pick, as the real allocator does.
NODE_PORT_STATIC_END = 30085
KUBERNETES_SERVICE_IP = str(SERVICE_CIDR.network_address + 1)
DNS_SERVICE_IP = str(SERVICE_CIDR.network_address + 10)


def _unprivileged_port_start() -> int:
    try:
        with open("/proc/sys/net/ipv4/ip_unprivileged_port_start") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return 1024


def port_shift() -> tuple[int, int]:
    """(below, offset): ports under `below` are really bound at port + offset.

    Unprivileged users cannot bind ports below 1024 (nginx's 80, for one); the sandbox moves
    those up by 10000 everywhere it binds or dials, and is honest about it in the docs.
    """
    if os.environ.get("ROLLOUT_LABS_PORT_SHIFT"):
        below, offset = os.environ["ROLLOUT_LABS_PORT_SHIFT"].split(":")
        return int(below), int(offset)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return 0, 0
    start = _unprivileged_port_start()
    return (start, 10000) if start > 0 else (0, 0)


_SHIFT = port_shift()


def real_port(port: int) -> int:
    """The port a process actually binds or dials for a container/service port."""
    below, offset = _SHIFT
    return port + offset if port < below else port


def shift_env() -> str:
    return f"{_SHIFT[0]}:{_SHIFT[1]}"


def loopback_range_works() -> bool:
    """Linux answers on all of 127/8; macOS only on 127.0.0.1 unless aliases are added."""
    probe = str(POD_CIDR.broadcast_address - 1)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((probe, 0))
        except OSError:
            return False
    return True


def allocate_ip(cidr: ipaddress.IPv4Network, used: set[str], *, skip: int = 1) -> str:
    """A free address in `cidr`, random first (like the real allocators), never the reserved ones."""
    size = cidr.num_addresses
    base = int(cidr.network_address)
    for _ in range(64):
        cand = str(ipaddress.ip_address(base + random.randint(skip + 1, size - 2)))
        if cand not in used:
            return cand
    for off in range(skip + 1, size - 1):
        cand = str(ipaddress.ip_address(base + off))
        if cand not in used:
            return cand
    raise RuntimeError(f"address range {cidr} is full")


def allocate_node_port(used: set[int]) -> int:
    """Random in the dynamic band first, then the static band, as kube-apiserver does."""
    lo, hi = NODE_PORT_RANGE
    dynamic = [p for p in range(NODE_PORT_STATIC_END + 1, hi + 1) if p not in used]
    if dynamic:
        return random.choice(dynamic)
    static = [p for p in range(lo, NODE_PORT_STATIC_END + 1) if p not in used]
    if static:
        return random.choice(static)
    raise RuntimeError("range of valid NodePorts is full")
