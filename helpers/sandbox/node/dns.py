"""Service names for pods: the node keeps a hosts file current instead of running CoreDNS.

`<state>/node/hosts` holds `clusterIP svc.ns.svc.cluster.local svc.ns.svc svc.ns` per Service;
headless Services list their ready endpoints (and `hostname.svc.ns…` for pods with a hostname
and subdomain, as StatefulSets have). Apps resolve through it with their namespace as the
search domain (apps/common.py), so `web`, `web.demo` and the full name all work. The file is
replaced atomically, debounced to once per event-loop turn burst.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path

from ..client import Client
from ..config import SandboxConfig
from ..storage.store import WatchEvent

DOMAIN = "cluster.local"
DEBOUNCE = 0.02


def hosts_path(config: SandboxConfig) -> Path:
    return config.state_dir / "node" / "hosts"


def _names(name: str, ns: str) -> str:
    return f"{name}.{ns}.svc.{DOMAIN} {name}.{ns}.svc {name}.{ns}"


def render(client: Client) -> str:
    lines = ["# Service names for sandbox pods, kept current by the node (like cluster DNS).",
             "127.0.0.1 localhost"]
    headless: list[dict] = []
    for svc in sorted(client.scan("services"),
                      key=lambda s: (s["metadata"]["namespace"], s["metadata"]["name"])):
        spec = svc.get("spec") or {}
        md = svc["metadata"]
        ip = spec.get("clusterIP")
        if spec.get("type") == "ExternalName":
            continue
        if ip == "None":
            headless.append(svc)
        elif ip:
            lines.append(f"{ip} {_names(md['name'], md['namespace'])}")
    for svc in headless:
        md = svc["metadata"]
        ns, name = md["namespace"], md["name"]
        publish = bool((svc.get("spec") or {}).get("publishNotReadyAddresses"))
        seen: set[str] = set()
        for eps in client.scan("endpointslices", ns,
                               label_selector=f"kubernetes.io/service-name={name}"):
            for ep in eps.get("endpoints") or []:
                cond = ep.get("conditions") or {}
                if not (publish or cond.get("ready", True)):
                    continue
                for addr in ep.get("addresses") or []:
                    if ep.get("hostname"):
                        lines.append(f"{addr} {_names(ep['hostname'] + '.' + name, ns)}")
                    if addr not in seen:
                        seen.add(addr)
                        lines.append(f"{addr} {_names(name, ns)}")
    return "\n".join(lines) + "\n"


class HostsFile:
    def __init__(self, client: Client, config: SandboxConfig):
        self.client = client
        self.path = hosts_path(config)
        self._handle: asyncio.TimerHandle | None = None
        self._last = ""

    def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.write()
        self.client.on_change({"services", "endpointslices"}, self._on_change)

    def _on_change(self, event: WatchEvent) -> None:
        if event.resource == "endpointslices":
            # Only headless services list endpoints.
            svc_name = (event.object["metadata"].get("labels") or {}).get(
                "kubernetes.io/service-name")
            svc = self.client.peek("services", event.object["metadata"].get("namespace"),
                                   svc_name or "") if svc_name else None
            if svc is None or (svc.get("spec") or {}).get("clusterIP") != "None":
                return
        if self._handle is None:
            self._handle = asyncio.get_running_loop().call_later(DEBOUNCE, self._flush)

    def _flush(self) -> None:
        self._handle = None
        self.write()

    def write(self) -> None:
        text = render(self.client)
        if text == self._last and self.path.exists():
            return
        tmp = self.path.with_name(f".hosts.{os.getpid()}.tmp")
        tmp.write_text(text)
        os.replace(tmp, self.path)
        self._last = text

    async def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        with contextlib.suppress(OSError):
            self.write()
