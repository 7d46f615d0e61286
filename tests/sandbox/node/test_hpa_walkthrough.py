"""The Kubernetes HPA walkthrough on the sandbox: real CPU from hpa-example drives the HPA up,
and it comes back down once the busybox load loop stops."""

from __future__ import annotations

import importlib.util
import json

import pytest

from .conftest import Cluster, wait_for

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("helpers.sandbox.controllers.deployment") is None
        or importlib.util.find_spec("helpers.sandbox.controllers.hpa") is None,
        reason="the Deployment and HPA controllers are not there yet"),
]

PHP_APACHE = [
    {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "php-apache"},
     "spec": {"selector": {"matchLabels": {"run": "php-apache"}},
              "template": {"metadata": {"labels": {"run": "php-apache"}},
                           "spec": {"containers": [{
                               "name": "php-apache", "image": "registry.k8s.io/hpa-example",
                               "ports": [{"containerPort": 80}],
                               "resources": {"limits": {"cpu": "500m"},
                                             "requests": {"cpu": "200m"}}}]}}}},
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "php-apache",
                                                         "labels": {"run": "php-apache"}},
     "spec": {"ports": [{"port": 80}], "selector": {"run": "php-apache"}}},
]


@pytest.fixture
def fast_cluster(tmp_path):
    c = Cluster(tmp_path / "state", hpa_sync_period=3.0, hpa_downscale_stabilization=10.0,
                metrics_window=5.0)
    try:
        yield c
    finally:
        c.stop()


def replicas(c: Cluster, ns: str) -> int:
    return (c.get("deployments", ns, "php-apache").get("spec") or {}).get("replicas", 0)


def test_hpa_scales_up_from_real_cpu_and_back_down(fast_cluster: Cluster):
    c = fast_cluster
    ns = c.namespace()
    c.kubectl("apply", "-n", ns, "-f", "-",
              input=json.dumps({"apiVersion": "v1", "kind": "List", "items": PHP_APACHE}))
    c.kubectl("rollout", "status", "deployment/php-apache", "-n", ns, "--timeout=60s")
    c.kubectl("autoscale", "deployment", "php-apache", "--cpu-percent=50", "--min=1",
              "--max=10", "-n", ns)
    c.kubectl("run", "load-generator", "--image=busybox:1.28", "--restart=Never", "-n", ns,
              "--", "/bin/sh", "-c", "while sleep 0.01; do wget -q -O- http://php-apache; done")
    wait_for(lambda: replicas(c, ns) > 1, 90, interval=1, what="scale up")
    hpa = c.kubectl("get", "hpa", "php-apache", "-n", ns).stdout
    assert "cpu:" in hpa and "<unknown>" not in hpa.splitlines()[1], hpa
    top = c.kubectl("top", "pods", "-n", ns).stdout
    assert "php-apache" in top
    # `wget -q -O-` prints `OK!` without a newline, so (as with containerd) the load
    # generator's own log fills up as one partial line; the pods' access logs show the load.
    logs = c.kubectl("logs", "deployment/php-apache", "-n", ns, "--tail=5").stdout
    assert '"GET / HTTP/1.1" 200 3 "-" "Wget"' in logs
    c.kubectl("delete", "pod", "load-generator", "-n", ns, "--grace-period=1")
    wait_for(lambda: replicas(c, ns) == 1, 120, interval=1, what="scale back down")
