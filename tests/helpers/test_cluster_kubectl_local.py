"""Cluster choice (never the current-context by accident) and kubectl command rendering."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from helpers import cluster as cl
from helpers.kubectl import KubectlError, Result, Step, command_line, kubectl, show

KUBECONFIG = {
    "apiVersion": "v1", "kind": "Config", "current-context": "prod",
    "contexts": [{"name": "prod", "context": {"cluster": "prod", "user": "prod"}},
                 {"name": "kind-lab", "context": {"cluster": "kind", "user": "kind"}}],
    "clusters": [{"name": "prod", "cluster": {"server": "https://10.0.0.1:6443"}},
                 {"name": "kind", "cluster": {"server": "https://127.0.0.1:1",
                                              "certificate-authority": "certs/ca.crt"}}],
    "users": [{"name": "prod", "user": {"token": "secret-prod"}},
              {"name": "kind", "user": {"token": "t"}}],
}


@pytest.fixture
def kubeconfig(tmp_path, monkeypatch) -> str:
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "ca.crt").write_text("not a real cert")
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(KUBECONFIG))
    monkeypatch.delenv(cl.ENV_CONTEXT, raising=False)
    monkeypatch.delenv(cl.ENV_KUBECONFIG, raising=False)
    monkeypatch.setenv("KUBECONFIG", str(path))
    monkeypatch.setattr(cl, "_current", None)
    return str(path)


def test_without_a_choice_the_sandbox_is_used_not_the_current_context(kubeconfig, monkeypatch):
    started = []

    def fake_start():
        started.append(True)
        return SimpleNamespace(kubeconfig=kubeconfig, context="kind-lab")

    import helpers.sandbox

    monkeypatch.setattr(helpers.sandbox, "start", fake_start)
    c = cl.connect()
    assert started and c.is_sandbox and c.context == "kind-lab"
    assert c.server == "https://127.0.0.1:1"


def test_the_learners_context_is_used(kubeconfig, monkeypatch):
    monkeypatch.setenv(cl.ENV_CONTEXT, "kind-lab")
    c = cl.connect()
    assert (c.context, c.is_sandbox) == ("kind-lab", False)
    assert cl.connect() is c  # reused


def test_unknown_context_is_refused_with_the_alternatives(kubeconfig, monkeypatch):
    monkeypatch.setenv(cl.ENV_CONTEXT, "minikube")
    with pytest.raises(cl.ClusterChoiceError, match="Available contexts: prod, kind-lab"):
        cl.connect()
    monkeypatch.delenv(cl.ENV_CONTEXT)
    with pytest.raises(cl.ClusterChoiceError, match="without a context"):
        cl.connect(kubeconfig=kubeconfig)


def test_pinned_kubeconfig_holds_only_the_chosen_context(kubeconfig):
    c = cl.from_kubeconfig(kubeconfig, "kind-lab")
    env = c.kubectl_env()
    pinned = yaml.safe_load(Path(env["KUBECONFIG"]).read_text())
    assert pinned["current-context"] == "kind-lab"
    assert [x["name"] for x in pinned["contexts"]] == ["kind-lab"]
    assert "secret-prod" not in Path(env["KUBECONFIG"]).read_text()
    ca = pinned["clusters"][0]["cluster"]["certificate-authority"]
    assert os.path.isabs(ca) and Path(ca).read_text() == "not a real cert"
    assert oct(Path(env["KUBECONFIG"]).stat().st_mode & 0o777) == "0o600"


def test_kubectl_runs_the_real_binary_with_the_pinned_context(kubeconfig):
    c = cl.from_kubeconfig(kubeconfig, "kind-lab")
    res = kubectl("config", "current-context", cluster=c)
    assert res.stdout.strip() == "kind-lab"
    assert str(res).splitlines()[0] == "$ kubectl config current-context"
    with pytest.raises(KubectlError, match="kubectl get pods"):
        kubectl("get", "pods", "--request-timeout=1s", cluster=c, timeout=20)
    failed = kubectl("get", "pods", "--request-timeout=1s", cluster=c, check=False, timeout=20)
    assert failed.returncode != 0 and not failed.ok


def test_command_rendering_and_displays():
    assert command_line(["patch", "svc", "web", "-p", '{"spec":{}}']) == \
        "kubectl patch svc web -p '{\"spec\":{}}'"
    r = Result(["get", "pods"], "NAME  READY\nweb   1/1\n", "warning <x>\n", 0)
    assert str(r) == "$ kubectl get pods\nNAME  READY\nweb   1/1\nwarning <x>"
    html = r._repr_html_()
    assert "$ kubectl get pods" in html and "warning &lt;x&gt;" in html
    step = Step("deployment.apps/web scaled", ["scale", "deployment/web", "--replicas=4"],
                "rollout.scale('web', 'lab', 4)")
    assert str(step) == "$ kubectl scale deployment/web --replicas=4\ndeployment.apps/web scaled"
    assert "rollout.scale(&#x27;web&#x27;" in step._repr_html_()
    assert str(show("get", "pods", "-n", "x")) == "$ kubectl get pods -n x"
