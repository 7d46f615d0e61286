"""Instructor kit: ``rollout-labs reset [LAB]`` and ``rollout-labs prepull --context NAME``."""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import time
from collections.abc import Iterable
from pathlib import Path

from kubernetes import client
from kubernetes.client.rest import ApiException

from helpers.preflight import Cluster, ClusterConfigError, _api_reason, connect

LAB_LABEL = "rollout-labs.io/lab"
PREPULL_NAMESPACE = "rollout-labs-prepull"
# Used when no lab names an image (the labs are the source of truth once they exist).
DEFAULT_IMAGES = ("ghcr.io/stefanprodan/podinfo:6.7.1", "busybox:1.28")
REPO_ROOT = Path(__file__).resolve().parent.parent
_IMAGE_REF = re.compile(
    r"^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*(?::\d+)?/)?[a-z0-9]+(?:[._/-][a-z0-9]+)*"
    r"(?::[\w][\w.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$"
)
_IMAGE_IN_TEXT = re.compile(
    r"""(?:["']image["']\s*:\s*["']([^"'\s]+)["']"""  # JSON / dict literal
    r"""|^\s*-?\s*image:\s*["']?([^"'\s#]+)"""  # YAML
    r"""|--image[= ]["']?([^"'\s]+)"""  # kubectl run/set image
    r"""|\bimage\s*=\s*["']([^"'\s]+)["'])""",  # keyword argument
    re.MULTILINE,
)
_DELIBERATELY_BROKEN = re.compile(r"typo|broken|bad", re.IGNORECASE)
_SET_IMAGE = re.compile(r"""\bset\s+image\s+\S+((?:\s+[\w.-]+=[^\s"'\\]+)+)""")


def images_in_text(text: str) -> set[str]:
    """Image references written in manifests, kubectl commands or Python in ``text``."""
    found = set()
    for match in _IMAGE_IN_TEXT.finditer(text):
        ref = next(g for g in match.groups() if g)
        if _IMAGE_REF.match(ref) and ("/" in ref or ":" in ref):
            found.add(ref)
    for match in _SET_IMAGE.finditer(text):  # kubectl set image deploy/web web=nginx:1.27
        for pair in match.group(1).split():
            ref = pair.split("=", 1)[1]
            if _IMAGE_REF.match(ref):
                found.add(ref)
    return found


def workshop_images(root: Path = REPO_ROOT) -> set[str]:
    """The images the labs use: named in ``labs/*.ipynb``, ``manifests/`` and helpers' YAML.

    Manifests whose file name says they are deliberately broken (``*typo*``, ``*broken*``,
    ``*bad*``) are left out: their image does not exist on purpose.
    """
    found: set[str] = set()
    for nb in sorted((root / "labs").glob("*.ipynb")):
        try:
            cells = json.loads(nb.read_text(encoding="utf-8")).get("cells", [])
        except (OSError, ValueError):
            continue
        for cell in cells:
            src = cell.get("source", "")
            found |= images_in_text(src if isinstance(src, str) else "".join(src))
    for base in (root / "manifests", root / "helpers"):
        for path in sorted(base.rglob("*")):
            rel = path.relative_to(base).parts
            if (path.suffix not in (".yaml", ".yml", ".json") or "sandbox" in rel
                    or _DELIBERATELY_BROKEN.search(path.name)):
                continue
            found |= images_in_text(path.read_text(encoding="utf-8", errors="replace"))
    return found or set(DEFAULT_IMAGES)


# --------------------------------------------------------------------------- reset


def lab_namespaces(core: client.CoreV1Api, lab: str | None = None) -> list[str]:
    """Names of the namespaces labelled as belonging to ``lab`` (or to any lab)."""
    selector = f"{LAB_LABEL}={lab}" if lab else LAB_LABEL
    items = core.list_namespace(label_selector=selector, _request_timeout=30).items
    return sorted(ns.metadata.name for ns in items)


def reset(cluster: Cluster, lab: str | None = None, *, dry_run: bool = False,
          wait: float = 0) -> list[str]:
    """Delete the labs' namespaces (only those labelled ``rollout-labs.io/lab``)."""
    core = cluster.core
    names = lab_namespaces(core, lab)
    if dry_run:
        return names
    for name in names:
        try:
            core.delete_namespace(name, _request_timeout=30)
        except ApiException as exc:
            if exc.status != 404:
                raise
    deadline = time.monotonic() + wait
    while wait and names and time.monotonic() < deadline:
        if not set(names) & set(lab_namespaces(core, lab)):
            break
        time.sleep(1)
    return names


def _reset_cmd(args: argparse.Namespace) -> int:
    try:
        cluster = connect(args.context)
        names = reset(cluster, args.lab, dry_run=args.dry_run, wait=args.wait)
    except ClusterConfigError as exc:
        print(f"rollout-labs reset: {exc}", file=sys.stderr)
        return 1
    except ApiException as exc:
        print(f"rollout-labs reset: {_api_reason(exc)}; check your permissions on namespaces.",
              file=sys.stderr)
        return 1
    what = f"lab {args.lab!r}" if args.lab else "any lab"
    if not names:
        print(f"nothing to reset: no namespace labelled {LAB_LABEL} for {what}")
        return 0
    verb = "would delete" if args.dry_run else "deleted"
    for name in names:
        print(f"{verb} namespace {name}")
    return 0


# --------------------------------------------------------------------------- prepull


def _pod_name(node: str, image: str) -> str:
    digest = hashlib.sha256(f"{node}|{image}".encode()).hexdigest()[:10]
    return f"prepull-{digest}"


def prepull_pod(node: str, image: str) -> dict:
    """A pod pinned to ``node`` whose only job is to make the kubelet pull ``image``."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": _pod_name(node, image),
            "labels": {"app.kubernetes.io/name": "rollout-labs-prepull"},
            "annotations": {"rollout-labs.io/image": image, "rollout-labs.io/node": node},
        },
        "spec": {
            "nodeName": node,
            "restartPolicy": "Never",
            "activeDeadlineSeconds": 900,
            "terminationGracePeriodSeconds": 0,
            "automountServiceAccountToken": False,
            "tolerations": [{"operator": "Exists"}],
            "containers": [
                {
                    # No command: the image's own entrypoint runs (or fails) after the pull,
                    # which is all we need, and works for shell-less images too.
                    "name": "pull",
                    "image": image,
                    "imagePullPolicy": "IfNotPresent",
                    "resources": {"requests": {"cpu": "1m", "memory": "4Mi"}},
                }
            ],
        },
    }


PULL_FAILURES = {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull",
                 "RegistryUnavailable"}


def pull_state(pod: client.V1Pod) -> tuple[str, str]:
    """``("pulled"|"failed"|"pending", detail)`` for a prepull pod."""
    statuses = (pod.status and pod.status.container_statuses) or []
    for cs in statuses:
        state = cs.state
        if state and state.waiting and state.waiting.reason in PULL_FAILURES:
            return "failed", f"{state.waiting.reason}: {state.waiting.message or ''}".strip()
        if (state and (state.running or state.terminated)) or cs.image_id:
            return "pulled", cs.image_id or "pulled"
        if state and state.waiting and state.waiting.reason in ("CreateContainerError",
                                                                "RunContainerError"):
            return "pulled", state.waiting.reason  # pulled; the entrypoint is irrelevant
    if pod.status and pod.status.phase in ("Succeeded", "Failed") and not statuses:
        return "failed", pod.status.reason or pod.status.phase
    return "pending", (pod.status.phase if pod.status else "Pending")


def prepull(cluster: Cluster, images: Iterable[str], *, timeout: float = 600,
            poll: float = 2, log=print) -> dict[tuple[str, str], tuple[str, str]]:
    """Pull every image on every schedulable node; returns ``{(node, image): (state, detail)}``."""
    core = cluster.core
    images = sorted(set(images))
    nodes = [n.metadata.name for n in core.list_node(_request_timeout=30).items
             if not (n.spec and n.spec.unschedulable)]
    if not nodes:
        raise RuntimeError("no schedulable nodes to pull images on")
    try:
        core.create_namespace(
            {"metadata": {"name": PREPULL_NAMESPACE, "labels": {"rollout-labs.io/prepull": "true"}}},
            _request_timeout=30,
        )
    except ApiException as exc:
        if exc.status != 409:
            raise
    wanted = {(node, image): _pod_name(node, image) for node in nodes for image in images}
    log(f"pulling {len(images)} image(s) on {len(nodes)} node(s): {len(wanted)} pod(s)")
    try:
        for node, image in wanted:
            try:
                core.create_namespaced_pod(PREPULL_NAMESPACE, prepull_pod(node, image),
                                           _request_timeout=30)
            except ApiException as exc:
                if exc.status != 409:
                    raise
        results: dict[tuple[str, str], tuple[str, str]] = {}
        deadline = time.monotonic() + timeout
        while True:
            pods = {p.metadata.name: p for p in core.list_namespaced_pod(
                PREPULL_NAMESPACE, _request_timeout=30).items}
            for key, name in wanted.items():
                if key in results and results[key][0] != "pending":
                    continue
                pod = pods.get(name)
                results[key] = pull_state(pod) if pod else ("pending", "not created yet")
                if results[key][0] != "pending":
                    log(f"  {'✓' if results[key][0] == 'pulled' else '✗'} {key[1]} on {key[0]}")
            if all(state != "pending" for state, _ in results.values()):
                return results
            if time.monotonic() > deadline:
                return {k: (s, d) if s != "pending" else ("failed", f"timed out ({d})")
                        for k, (s, d) in results.items()}
            time.sleep(poll)
    finally:
        try:
            core.delete_namespace(PREPULL_NAMESPACE, _request_timeout=30)
        except ApiException as exc:
            if exc.status != 404:
                log(f"could not delete namespace {PREPULL_NAMESPACE}: {_api_reason(exc)}")


def _prepull_cmd(args: argparse.Namespace) -> int:
    images = args.image or sorted(workshop_images())
    try:
        cluster = connect(args.context)
        results = prepull(cluster, images, timeout=args.timeout)
    except ClusterConfigError as exc:
        print(f"rollout-labs prepull: {exc}", file=sys.stderr)
        return 1
    except ApiException as exc:
        print(f"rollout-labs prepull: {_api_reason(exc)}; you need to create namespaces and pods.",
              file=sys.stderr)
        return 1
    except RuntimeError as exc:
        print(f"rollout-labs prepull: {exc}", file=sys.stderr)
        return 1
    failed = {k: v for k, v in results.items() if v[0] != "pulled"}
    print(f"{len(results) - len(failed)}/{len(results)} pulls done")
    for (node, image), (_, detail) in sorted(failed.items()):
        print(f"  ✗ {image} on {node}: {detail}")
    if failed:
        print("fix: check the image names and tags, the node's registry access, or pull limits "
              "(log in with an imagePullSecret or use a mirror).")
    return 1 if failed else 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("reset", help="delete the namespaces the labs created")
    p.add_argument("lab", nargs="?", help="lab id (default: every lab)")
    p.add_argument("--context", help="kubeconfig context (default: $ROLLOUT_LABS_CONTEXT or current)")
    p.add_argument("--dry-run", action="store_true", help="list, do not delete")
    p.add_argument("--wait", type=float, default=0, metavar="SECONDS",
                   help="wait up to this long for the namespaces to disappear")
    p.set_defaults(func=_reset_cmd)

    p = subparsers.add_parser("prepull", help="pull the workshop's images on every node")
    p.add_argument("--context", required=True, help="kubeconfig context of the room's cluster")
    p.add_argument("--image", action="append", metavar="REF",
                   help="image to pull (repeatable; default: the images the labs use)")
    p.add_argument("--timeout", type=float, default=600, metavar="SECONDS")
    p.set_defaults(func=_prepull_cmd)
