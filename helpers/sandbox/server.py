"""Assembles the sandbox: storage, API server, controllers and nodes in one asyncio loop."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import ssl
from pathlib import Path

from aiohttp import web

from . import network
from .apiserver.errors import ApiError
from .apiserver.http import ApiContext, build_app
from .apiserver.registry import Registry
from .client import Client
from .config import SandboxConfig
from .pki import ensure_credentials, write_kubeconfig
from .storage.store import Store

log = logging.getLogger("rollout_labs.sandbox")

KUBERNETES_VERSION = {
    "major": "1",
    "minor": "37",
    "emulationMajor": "1",
    "emulationMinor": "37",
    "minCompatibilityMajor": "1",
    "minCompatibilityMinor": "36",
    "gitVersion": "v1.37.1",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-09-01T00:00:00Z",
    "goVersion": "go1.26.8",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class Sandbox:
    def __init__(self, config: SandboxConfig):
        self.config = config
        self.store: Store | None = None
        self.registry: Registry | None = None
        self.client: Client | None = None
        self.ctx: ApiContext | None = None
        self._runner: web.AppRunner | None = None
        self._components: list = []
        self.port = 0

    def _choose_port(self) -> int:
        if self.config.port:
            return self.config.port
        try:
            previous = json.loads(self.config.server_file.read_text())["port"]
            if _port_free(previous):
                return previous
        except (OSError, ValueError, KeyError):
            pass
        return _free_port()

    async def start(self) -> None:
        cfg = self.config
        cfg.state_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(cfg.state_dir, 0o700)
        creds = ensure_credentials(cfg.pki_dir)
        self.store = Store(cfg.db_path)
        self.registry = Registry(self.store)
        self.registry.ca_pem = creds.ca_cert.read_text()
        self.client = Client(self.registry)
        self.port = self._choose_port()
        server_url = f"https://127.0.0.1:{self.port}"
        self.ctx = ApiContext(registry=self.registry, token=creds.token, server_url=server_url,
                              version=KUBERNETES_VERSION)
        bootstrap(self.client, self.port)
        sslctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        sslctx.load_cert_chain(str(creds.server_cert), str(creds.server_key))
        self._runner = web.AppRunner(build_app(self.ctx), access_log=None,
                                     handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port, ssl_context=sslctx,
                          backlog=512).start()
        write_kubeconfig(cfg.kubeconfig, server_url, creds)
        self._start_components()
        cfg.server_file.write_text(json.dumps({"port": self.port, "server": server_url,
                                               "pid": os.getpid(),
                                               "kubeconfig": str(cfg.kubeconfig)}))
        log.info("sandbox API serving on %s", server_url)

    def _start_components(self) -> None:
        from .controllers import build_controllers

        for c in build_controllers(self.client, self.config):
            c.start()
            self._components.append(c)
        try:
            from .node import start_nodes
        except ImportError:
            log.warning("node component not available: pods will stay Pending")
            return
        self._components.extend(start_nodes(self.client, self.ctx, self.config))
        self.client.metrics = self.ctx.metrics

    async def stop(self) -> None:
        for c in reversed(self._components):
            try:
                await c.stop()
            except Exception:
                log.exception("stopping %s failed", c)
        self._components.clear()
        if self._runner is not None:
            await self._runner.cleanup()
        if self.store is not None:
            self.store.close()


def bootstrap(client: Client, port: int) -> None:
    """The objects every cluster has from its first second."""
    for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
        _ensure(client, "namespaces", None, {"metadata": {"name": ns}})
    _ensure(client, "services", "default", {
        "metadata": {"name": "kubernetes", "labels": {"component": "apiserver",
                                                       "provider": "kubernetes"}},
        "spec": {"type": "ClusterIP", "clusterIP": network.KUBERNETES_SERVICE_IP,
                 "ports": [{"name": "https", "port": 443, "protocol": "TCP",
                            "targetPort": 6443}]}})
    _ensure(client, "storageclasses", None, {
        "metadata": {"name": "standard", "annotations": {
            "storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": "rollout-labs.io/hostpath", "reclaimPolicy": "Delete",
        "volumeBindingMode": "Immediate"})
    eps = {"metadata": {"name": "kubernetes", "namespace": "default",
                        "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
           "subsets": [{"addresses": [{"ip": "127.0.0.1"}],
                        "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}]}
    existing = client.try_get("endpoints", "default", "kubernetes")
    if existing is None:
        client.create("endpoints", eps, "default")
    elif existing.get("subsets") != eps["subsets"]:
        existing["subsets"] = eps["subsets"]
        client.update("endpoints", existing)


def _ensure(client: Client, key: str, ns: str | None, obj: dict) -> None:
    if client.try_get(key, ns, obj["metadata"]["name"]) is None:
        try:
            client.create(key, obj, ns)
        except ApiError as e:
            if e.code != 409:
                raise


def run_forever(config: SandboxConfig) -> None:
    """The daemon's main: serve until SIGTERM/SIGINT, then stop every pod process."""
    import signal

    log_dir = config.log_dir
    log_dir.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=os.environ.get("ROLLOUT_LABS_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    async def main() -> None:
        sandbox = Sandbox(config)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await sandbox.start()
        config.pid_file.write_text(str(os.getpid()))
        try:
            await stop.wait()
        finally:
            await sandbox.stop()
            for f in (config.pid_file, config.server_file):
                try:
                    if f == config.server_file:
                        data = json.loads(f.read_text())
                        data.pop("pid", None)
                        f.write_text(json.dumps(data))
                    else:
                        f.unlink()
                except (OSError, ValueError):
                    pass

    asyncio.run(main())


__all__ = ["Sandbox", "SandboxConfig", "run_forever", "Path"]
