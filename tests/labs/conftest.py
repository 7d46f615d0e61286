"""The labkit tests' namespace; the session sandbox as a Cluster (`lab_cluster`) comes from
tests/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from helpers import cluster as cl
from tests.conftest import fresh_lab_namespace


@pytest.fixture
def ns(lab_cluster: cl.Cluster) -> Iterator[str]:
    yield from fresh_lab_namespace(lab_cluster, "lk")
