"""Fixtures for tests that talk to the real sandbox daemon over HTTPS."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

PODINFO = "ghcr.io/stefanprodan/podinfo"


def wait_for(check: Callable[[], object], timeout: float = 20.0, interval: float = 0.05,
             what: str = "") -> object:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except AssertionError as e:
            last = e
        else:
            if last:
                return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or check}; last: {last!r}")


@pytest.fixture(scope="session")
def api(sandbox):
    return sandbox.api_client()


@pytest.fixture(scope="module")
def core(api):
    from kubernetes import client

    return client.CoreV1Api(api)


@pytest.fixture(scope="module")
def apps(api):
    from kubernetes import client

    return client.AppsV1Api(api)


@pytest.fixture(scope="session")
def pods_run(sandbox, api) -> None:
    """Skip unless the sandbox turns a Deployment into Ready pods (ReplicaSet controller + node).

    Checked once per session with a one-replica Deployment; the reason names what is missing.
    """
    from kubernetes import client

    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    ns = sandbox.namespace("probe")
    apps.create_namespaced_deployment(ns, {
        "metadata": {"name": "probe"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "probe"}},
                 "template": {"metadata": {"labels": {"app": "probe"}}, "spec": {"containers": [
                     {"name": "podinfo", "image": f"{PODINFO}:6.9.0"}]}}}})
    deadline = time.monotonic() + 25
    reason = ""
    while time.monotonic() < deadline:
        dep = apps.read_namespaced_deployment("probe", ns)
        if (dep.status.ready_replicas or 0) >= 1:
            return
        pods = core.list_namespaced_pod(ns).items
        nodes = core.list_node().items
        if not apps.list_namespaced_replica_set(ns).items:
            reason = "the Deployment controller created no ReplicaSet"
        elif not pods:
            reason = ("the ReplicaSet controller (helpers/sandbox/controllers, another developer's "
                      "work in progress) created no pods")
        elif not nodes:
            reason = ("no Node is registered: the node (helpers/sandbox/node, in progress) is not "
                      "running, so pods stay Pending")
        else:
            reason = f"pod {pods[0].metadata.name} is {pods[0].status.phase}, not Ready"
        time.sleep(0.2)
    pytest.skip(f"pods never become Ready in the sandbox yet: {reason}")
