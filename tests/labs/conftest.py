"""Fixtures for the labkit tests that need a cluster: the session sandbox as a Cluster."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from helpers import cluster as cl


@pytest.fixture(scope="session")
def lab_cluster(request) -> Iterator[cl.Cluster]:
    """The session sandbox (tests/conftest.py) as the helpers' Cluster; skips without one
    unless ROLLOUT_LABS_REQUIRE_SANDBOX is set."""
    try:
        sb = request.getfixturevalue("sandbox")
    except Exception as exc:
        if os.environ.get("ROLLOUT_LABS_REQUIRE_SANDBOX"):
            raise
        pytest.skip(f"sandbox not available: {type(exc).__name__}: {str(exc)[:200]}")
    c = cl.from_kubeconfig(str(sb.kubeconfig), cl.SANDBOX_CONTEXT, is_sandbox=True)
    previous = cl._current
    cl.use(c)
    yield c
    cl._current = previous
    c.close()


@pytest.fixture
def ns(lab_cluster: cl.Cluster) -> Iterator[str]:
    name = cl.lab_namespace("test", f"lk-{uuid.uuid4().hex[:6]}", cluster=lab_cluster)
    yield name
    try:
        cl.delete_lab_namespace(name, wait=False, cluster=lab_cluster)
    except Exception:
        pass
