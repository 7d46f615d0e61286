"""Choose the cluster the labs run on, and keep the labs inside their own namespaces.

The learner chooses: `ROLLOUT_LABS_CONTEXT` names a kubeconfig context (minikube, kind, a
cloud cluster); without it the labs use the local sandbox, started on demand. The
current-context of ~/.kube/config is never used silently, so a lab cannot scale or delete
things on a production cluster just because a terminal happened to point at it.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException

from helpers import _api

ENV_CONTEXT = "ROLLOUT_LABS_CONTEXT"
ENV_KUBECONFIG = "ROLLOUT_LABS_KUBECONFIG"
LAB_LABEL = "rollout-labs.io/lab"
SANDBOX_CONTEXT = "rollout-labs"


class ClusterChoiceError(RuntimeError):
    """The labs could not use the cluster the learner chose (or none was chosen)."""


class NotALabNamespace(PermissionError):
    """A helper was asked to change a namespace the labs did not create."""


@dataclass
class Cluster:
    """One chosen cluster: an API client plus what a `kubectl` subprocess needs."""

    api_client: k8s.ApiClient
    kubeconfig: str
    context: str
    is_sandbox: bool = False
    _pinned: str | None = field(default=None, repr=False)
    _lab_ns_ok: dict[str, float] = field(default_factory=dict, repr=False)

    @property
    def core(self) -> k8s.CoreV1Api:
        return k8s.CoreV1Api(self.api_client)

    @property
    def apps(self) -> k8s.AppsV1Api:
        return k8s.AppsV1Api(self.api_client)

    @property
    def autoscaling(self) -> k8s.AutoscalingV2Api:
        return k8s.AutoscalingV2Api(self.api_client)

    @property
    def server(self) -> str:
        return self.api_client.configuration.host

    def request(self, method: str, path: str, **kw: Any) -> Any:
        """A raw JSON request (see `helpers._api.request`)."""
        return _api.request(self.api_client, method, path, **kw)

    def get(self, path: str, **kw: Any) -> dict | None:
        """GET an object; None when it does not exist."""
        return _api.get_or_none(self.api_client, path, **kw)

    def new_api_client(self, pool_maxsize: int = 16, retries: Any = None) -> k8s.ApiClient:
        """A separate client (own connection pool) for background threads such as the probe.

        `retries=False` turns off urllib3's silent connection retries, so a probe records
        every failure instead of hiding it.
        """
        cfg = k8s.Configuration()
        _load(self.kubeconfig, self.context, cfg)
        cfg.connection_pool_maxsize = pool_maxsize
        if retries is not None:
            cfg.retries = retries
        return k8s.ApiClient(configuration=cfg)

    def kubectl_env(self) -> dict[str, str]:
        """Environment for a `kubectl` subprocess: KUBECONFIG pinned to the chosen context.

        The pinned file holds only the chosen context (as its current-context), so the
        command shown in the notebook (`kubectl get pods ...`) is exactly the command run.
        """
        env = dict(os.environ)
        env["KUBECONFIG"] = self.pinned_kubeconfig()
        return env

    def pinned_kubeconfig(self) -> str:
        if self._pinned is None or not Path(self._pinned).exists():
            self._pinned = _pin_context(self.kubeconfig, self.context)
        return self._pinned

    def close(self) -> None:
        self.api_client.close()
        if self._pinned:
            shutil.rmtree(Path(self._pinned).parent, ignore_errors=True)
            self._pinned = None


_lock = threading.RLock()
_current: Cluster | None = None


def connect(context: str | None = None, kubeconfig: str | None = None, *,
            refresh: bool = False) -> Cluster:
    """The cluster the labs use; the first call decides, later calls reuse it.

    Order: explicit arguments, then `ROLLOUT_LABS_CONTEXT` (with `ROLLOUT_LABS_KUBECONFIG`,
    `KUBECONFIG` or ~/.kube/config), then the sandbox (started if it is not running).
    """
    global _current
    with _lock:
        if _current is not None and not refresh and context is None and kubeconfig is None:
            return _current
        context = context or os.environ.get(ENV_CONTEXT) or None
        if context:
            path = kubeconfig or os.environ.get(ENV_KUBECONFIG) or os.environ.get("KUBECONFIG") \
                or str(Path.home() / ".kube" / "config")
            cluster = from_kubeconfig(path, context)
        elif kubeconfig:
            raise ClusterChoiceError(
                "A kubeconfig was given without a context. Name the context too, e.g. "
                "connect(context='kind-kind', kubeconfig=...), so the labs never guess.")
        else:
            cluster = _sandbox_cluster()
        _current = cluster
        return cluster


def use(cluster: Cluster) -> Cluster:
    """Make `cluster` the one every helper uses by default (tests, or a second cluster)."""
    global _current
    with _lock:
        _current = cluster
    return cluster


def current(cluster: Cluster | None = None) -> Cluster:
    """`cluster` if given, else the connected one (connecting on first use)."""
    return cluster if cluster is not None else connect()


def from_kubeconfig(kubeconfig: str, context: str, *, is_sandbox: bool = False) -> Cluster:
    """A Cluster for one named context; refuses contexts that do not exist."""
    files = [p for p in kubeconfig.split(os.pathsep) if p]
    if not any(Path(p).expanduser().exists() for p in files):
        raise ClusterChoiceError(
            f"No kubeconfig found at {kubeconfig}. Start your cluster (e.g. `minikube start`) "
            f"or unset {ENV_CONTEXT} to use the built-in sandbox.")
    names = [c.get("name") for c in _merged(files)["contexts"]]
    if context not in names:
        raise ClusterChoiceError(
            f"Context {context!r} is not in {kubeconfig}. Available contexts: "
            f"{', '.join(n for n in names if n) or 'none'}. Set {ENV_CONTEXT} to one of them "
            f"(or unset it to use the sandbox).")
    cfg = k8s.Configuration()
    _load(kubeconfig, context, cfg)
    # `rollout-labs up` exports the sandbox's kubeconfig and context; recognise it.
    host = urlparse(cfg.host).hostname or ""
    is_sandbox = is_sandbox or (context == SANDBOX_CONTEXT and host in ("127.0.0.1", "localhost"))
    return Cluster(k8s.ApiClient(configuration=cfg), kubeconfig, context, is_sandbox)


def _load(kubeconfig: str, context: str, cfg: k8s.Configuration) -> None:
    k8s_config.load_kube_config(config_file=kubeconfig, context=context,
                                client_configuration=cfg, persist_config=False)


def _sandbox_cluster() -> Cluster:
    from helpers import sandbox  # the only sandbox calls the workshop makes: start/stop/status

    start = getattr(sandbox, "start", None)
    if start is None:
        raise ClusterChoiceError(
            "The sandbox is not available in this checkout. Set ROLLOUT_LABS_CONTEXT to a "
            "kubeconfig context (e.g. `minikube` or `kind-kind`) to use another cluster.")
    info = start()
    return from_kubeconfig(str(info.kubeconfig), str(info.context), is_sandbox=True)


def _merged(files: list[str]) -> dict[str, list[dict]]:
    """kubectl's merge rule for KUBECONFIG lists: the first file to name an entry wins."""
    out: dict[str, list[dict]] = {"contexts": [], "clusters": [], "users": []}
    seen: dict[str, set[str]] = {k: set() for k in out}
    for f in files:
        path = Path(f).expanduser()
        if not path.exists():
            continue
        doc = yaml.safe_load(path.read_text()) or {}
        for key in out:
            for entry in doc.get(key) or []:
                if entry.get("name") in seen[key]:
                    continue
                seen[key].add(entry.get("name"))
                out[key].append(_absolute_paths(entry, path.parent))
    return out


_PATH_KEYS = ("certificate-authority", "client-certificate", "client-key", "tokenFile")


def _absolute_paths(entry: dict, base: Path) -> dict:
    entry = yaml.safe_load(yaml.safe_dump(entry))  # deep copy
    for section in ("cluster", "user"):
        body = entry.get(section) or {}
        for key in _PATH_KEYS:
            if isinstance(body.get(key), str) and not os.path.isabs(body[key]):
                body[key] = str((base / body[key]).resolve())
    return entry


def _pin_context(kubeconfig: str, context: str) -> str:
    """Write a kubeconfig holding only `context` (as current-context); return its path."""
    files = [p for p in kubeconfig.split(os.pathsep) if p]
    merged = _merged(files)
    ctx = next(c for c in merged["contexts"] if c.get("name") == context)
    cluster_name = (ctx.get("context") or {}).get("cluster")
    user_name = (ctx.get("context") or {}).get("user")
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": context,
        "contexts": [ctx],
        "clusters": [c for c in merged["clusters"] if c.get("name") == cluster_name],
        "users": [u for u in merged["users"] if u.get("name") == user_name],
        "preferences": {},
    }
    folder = Path(tempfile.mkdtemp(prefix="rollout-labs-kube-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / "config"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        yaml.safe_dump(doc, fh, sort_keys=False)
    return str(path)


# --- lab namespaces ---------------------------------------------------------------------


def lab_namespace(lab_id: str, name: str, *, fresh: bool = False, timeout: float = 120,
                  cluster: Cluster | None = None) -> str:
    """Create (idempotently) namespace `name`, labelled as belonging to lab `lab_id`.

    `fresh=True` deletes and recreates it, so a lab re-run starts from a clean state. A
    namespace that exists without the lab label is refused: it belongs to someone else.
    """
    c = current(cluster)
    path = _api.NAMESPACE.path(name=name)
    deadline = time.monotonic() + timeout
    while True:
        ns = c.get(path)
        if ns is not None and not _is_lab(ns):
            raise NotALabNamespace(
                f"Namespace {name!r} already exists and was not created by rollout-labs (it has "
                f"no {LAB_LABEL} label). Pick another name, or delete it yourself if it is a "
                f"leftover: kubectl delete namespace {name}")
        if ns is not None and fresh and not ns["metadata"].get("deletionTimestamp"):
            c.request("DELETE", path)
            fresh = False
            continue
        if ns is not None and (ns.get("status", {}).get("phase") == "Terminating"
                               or ns["metadata"].get("deletionTimestamp")):
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"Namespace {name!r} is still terminating after {timeout:.0f}s. Check what "
                    f"is left with `kubectl get all -n {name}` and try again.")
            time.sleep(0.5)
            continue
        if ns is not None:
            c._lab_ns_ok[name] = time.monotonic()
            return name
        body = {"apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": name, "labels": {LAB_LABEL: str(lab_id)}}}
        try:
            c.request("POST", _api.NAMESPACE.path(), body=body)
        except ApiException as exc:
            if exc.status != 409:
                raise
            continue  # created meanwhile, or still terminating: look again
        c._lab_ns_ok[name] = time.monotonic()
        return name


def require_lab_namespace(namespace: str, cluster: Cluster | None = None) -> None:
    """Raise NotALabNamespace unless `namespace` carries the lab label; called before writes."""
    c = current(cluster)
    seen = c._lab_ns_ok.get(namespace)
    if seen is not None and time.monotonic() - seen < 30:
        return
    ns = c.get(_api.NAMESPACE.path(name=namespace))
    if ns is None:
        raise NotALabNamespace(
            f"Namespace {namespace!r} does not exist. Create it first with "
            f"helpers.cluster.lab_namespace('<lab>', {namespace!r}).")
    if not _is_lab(ns):
        raise NotALabNamespace(
            f"Refusing to change namespace {namespace!r}: it has no {LAB_LABEL} label, so it "
            f"was not created by a lab. The helpers only modify lab namespaces; create one "
            f"with helpers.cluster.lab_namespace('<lab>', '<name>').")
    c._lab_ns_ok[namespace] = time.monotonic()


def delete_lab_namespace(name: str, *, wait: bool = True, timeout: float = 120,
                         cluster: Cluster | None = None) -> str:
    """Delete a lab namespace (cleanup cells); refuses namespaces the labs did not create."""
    c = current(cluster)
    path = _api.NAMESPACE.path(name=name)
    ns = c.get(path)
    if ns is None:
        return f'namespace "{name}" not found (nothing to clean up)'
    if not _is_lab(ns):
        raise NotALabNamespace(f"Refusing to delete {name!r}: it was not created by a lab.")
    c._lab_ns_ok.pop(name, None)
    if not ns["metadata"].get("deletionTimestamp"):
        c.request("DELETE", path)
    deadline = time.monotonic() + timeout
    while wait and c.get(path) is not None:
        if time.monotonic() > deadline:
            raise TimeoutError(f"namespace {name!r} still terminating after {timeout:.0f}s")
        time.sleep(0.5)
    return f'namespace "{name}" deleted'


def _is_lab(ns: Mapping[str, Any]) -> bool:
    return LAB_LABEL in (ns.get("metadata", {}).get("labels") or {})
