"""The lab manifests: valid Kubernetes for 1.30 and the newest schema kubernetes-validate ships,
images the sandbox can run, and the namespace rule the helpers enforce."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from helpers.cluster import LAB_LABEL
from helpers.sandbox.node import images

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "manifests"
LABS = ROOT / "labs"
OLDEST = "1.30.0"
NEWEST = kubernetes_validate.latest_version()
# The one image that must NOT exist: lab 05's broken release (a typo for 6.7.1).
BAD_IMAGES = {"ghcr.io/stefanprodan/podinfo:6.71"}
CLUSTER_SCOPED = {"Namespace", "PersistentVolume", "StorageClass", "ClusterRole",
                  "ClusterRoleBinding"}
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}

FILES = sorted(MANIFESTS.rglob("*.yaml"))


def docs_of(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def all_docs() -> list[tuple[Path, dict]]:
    return [(f, d) for f in FILES for d in docs_of(f)]


def doc_id(item: tuple[Path, dict]) -> str:
    f, d = item
    return f"{f.relative_to(MANIFESTS)}:{d.get('kind')}/{d.get('metadata', {}).get('name')}"


DOCS = all_docs()


def load(rel: str, kind: str | None = None) -> dict:
    found = [d for d in docs_of(MANIFESTS / rel) if kind is None or d["kind"] == kind]
    assert len(found) == 1, f"{rel}: expected one {kind or 'document'}, found {len(found)}"
    return found[0]


def pod_spec(doc: dict) -> dict:
    return doc["spec"]["template"]["spec"]


def containers(doc: dict) -> list[dict]:
    spec = pod_spec(doc)
    return (spec.get("initContainers") or []) + (spec.get("containers") or [])


def test_manifests_exist() -> None:
    assert len(FILES) >= 12, FILES
    kinds = {d["kind"] for _, d in DOCS}
    assert {"Deployment", "Service", "StatefulSet", "HorizontalPodAutoscaler",
            "Namespace"} <= kinds


@pytest.mark.parametrize("version", [OLDEST, NEWEST])
@pytest.mark.parametrize("item", DOCS, ids=doc_id)
def test_validates_strict(item: tuple[Path, dict], version: str) -> None:
    _, doc = item
    # kubernetes-validate raises ValidationError (with the path of the bad field) on failure.
    kubernetes_validate.validate(copy.deepcopy(doc), version, strict=True)


def test_strict_validation_catches_a_typo() -> None:
    """The check above would fail on an unknown field (strict) or a wrong type."""
    doc = copy.deepcopy(load("podinfo/deployment.yaml"))
    pod_spec(doc)["containers"][0]["readinesProbe"] = pod_spec(doc)["containers"][0].pop(
        "readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, OLDEST, strict=True)
    doc = copy.deepcopy(load("podinfo/deployment.yaml"))
    doc["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, NEWEST, strict=True)


@pytest.mark.parametrize("item", [i for i in DOCS if i[1]["kind"] in WORKLOADS], ids=doc_id)
def test_images_exist_in_the_sandbox_catalog(item: tuple[Path, dict]) -> None:
    _, doc = item
    for c in containers(doc):
        image = c["image"]
        if image in BAD_IMAGES:
            assert images.resolve(image) is None, f"{image} was meant not to exist"
            continue
        info = images.resolve(image)
        assert info is not None, f"{image} is not an image the sandbox (or a registry) has"


def test_the_bad_image_is_used_exactly_once() -> None:
    used = [c["image"] for _, d in DOCS if d["kind"] in WORKLOADS for c in containers(d)]
    assert [i for i in used if i in BAD_IMAGES] == sorted(BAD_IMAGES)


def test_multi_arch_except_the_hpa_example() -> None:
    """Everything runs on arm64 except hpa-example, whose file names the alternative."""
    for f, d in DOCS:
        if d["kind"] not in WORKLOADS:
            continue
        for c in containers(d):
            info = images.resolve(c["image"])
            if info is None or info.arch == "multi-arch":
                continue
            assert c["image"].startswith("registry.k8s.io/hpa-example"), c["image"]
            text = f.read_text()
            assert "amd64" in text and "resource-consumer" in text and "Apple Silicon" in text


# --- namespaces ---------------------------------------------------------------------------

NAMESPACES = {d["metadata"]["name"]: d for d in docs_of(MANIFESTS / "namespaces.yaml")}


def test_every_namespace_is_labelled_as_a_lab() -> None:
    assert NAMESPACES
    for name, ns in NAMESPACES.items():
        labels = ns["metadata"].get("labels") or {}
        assert labels.get(LAB_LABEL), f"namespace {name} lacks the {LAB_LABEL} label"
    assert "hello-microservices" in NAMESPACES  # lab 01 keeps the seed's namespace


@pytest.mark.parametrize("item", [i for i in DOCS if i[1]["kind"] not in CLUSTER_SCOPED],
                         ids=doc_id)
def test_namespaced_objects_follow_the_namespace_rule(item: tuple[Path, dict]) -> None:
    """No file pins a namespace (each lab applies into its own), or it pins a lab namespace."""
    _, doc = item
    ns = doc["metadata"].get("namespace")
    assert ns is None or ns in NAMESPACES, f"namespace {ns!r} is not a labelled lab namespace"


def test_only_namespaces_are_cluster_scoped() -> None:
    for f, d in DOCS:
        if d["kind"] in CLUSTER_SCOPED:
            assert d["kind"] == "Namespace" and f.name == "namespaces.yaml", doc_id((f, d))


def _notebook_namespaces() -> dict[str, str]:
    """namespace -> lab id, as the notebooks declare them."""
    out = {}
    # labkit.start(LAB, NS) with `LAB, NS = "<lab>", "<ns>"`, or lab_namespace("<lab>", "<ns>")
    pattern = re.compile(r"(?:LAB,\s*NS\s*=\s*|lab_namespace\(\s*)[\"']([^\"']+)[\"']\s*,"
                         r"\s*[\"']([^\"']+)[\"']")
    for nb in sorted(LABS.glob("*.ipynb")):
        for cell in json.loads(nb.read_text())["cells"]:
            src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            for lab, ns in pattern.findall(src):
                out[ns] = lab
    return out


def test_notebook_namespaces_match_namespaces_yaml() -> None:
    used = _notebook_namespaces()
    if not used:
        pytest.skip("no notebooks yet")
    for ns, lab in used.items():
        assert ns in NAMESPACES, f"{ns} (lab {lab}) is missing from namespaces.yaml"
        assert NAMESPACES[ns]["metadata"]["labels"][LAB_LABEL] == lab, ns


# --- the podinfo Deployment and its releases ------------------------------------------------


def _podinfo_ok(doc: dict, *, prestop: bool = True) -> None:
    spec = pod_spec(doc)
    c = spec["containers"][0]
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert "cpu" in c["resources"]["requests"]
    if prestop:
        sleep = c["lifecycle"]["preStop"]["sleep"]["seconds"]
        # the grace period counts from the deletion and includes the preStop time
        assert spec["terminationGracePeriodSeconds"] >= sleep + 5


def test_podinfo_deployment() -> None:
    d = load("podinfo/deployment.yaml")
    assert d["spec"]["replicas"] == 2
    _podinfo_ok(d)
    ru = d["spec"]["strategy"]["rollingUpdate"]
    assert ru["maxUnavailable"] == 0 and ru["maxSurge"] == 1
    assert pod_spec(d)["containers"][0]["image"] == "ghcr.io/stefanprodan/podinfo:6.7.0"
    svc = load("podinfo/service.yaml")
    assert svc["spec"]["type"] == "NodePort"
    assert svc["spec"]["selector"] == d["spec"]["selector"]["matchLabels"]


@pytest.mark.parametrize("release,image", [
    ("releases/podinfo-6.7.1.yaml", "ghcr.io/stefanprodan/podinfo:6.7.1"),
    ("releases/podinfo-6.71-typo.yaml", "ghcr.io/stefanprodan/podinfo:6.71"),
])
def test_releases_differ_only_in_image_and_change_cause(release: str, image: str) -> None:
    base, rel = load("podinfo/deployment.yaml"), load(release)
    assert pod_spec(rel)["containers"][0]["image"] == image
    cause = rel["metadata"]["annotations"]["kubernetes.io/change-cause"]
    assert image.rsplit(":", 1)[1] in cause
    for d in (base, rel):
        pod_spec(d)["containers"][0]["image"] = "X"
        d["metadata"]["annotations"].pop("kubernetes.io/change-cause")
    assert base == rel


def test_blue_green() -> None:
    live = load("blue-green/live.yaml")
    assert live["spec"]["type"] == "NodePort"
    versions = {}
    for colour in ("blue", "green"):
        d = load(f"blue-green/{colour}.yaml", "Deployment")
        s = load(f"blue-green/{colour}.yaml", "Service")
        labels = d["spec"]["template"]["metadata"]["labels"]
        assert labels["version"] == colour
        assert s["spec"]["selector"] == {"app": "podinfo", "version": colour}
        _podinfo_ok(d)
        versions[colour] = pod_spec(d)["containers"][0]["image"]
    assert versions["blue"] != versions["green"]
    assert live["spec"]["selector"] == {"app": "podinfo", "version": "blue"}


def test_autoscaling() -> None:
    d = load("autoscale/php-apache.yaml", "Deployment")
    c = pod_spec(d)["containers"][0]
    assert c["image"].startswith("registry.k8s.io/hpa-example")
    assert c["resources"]["requests"]["cpu"] == "200m"
    hpa = load("autoscale/hpa.yaml")
    assert hpa["apiVersion"] == "autoscaling/v2"
    spec = hpa["spec"]
    assert (spec["minReplicas"], spec["maxReplicas"]) == (2, 6)
    assert spec["metrics"][0]["resource"]["target"]["averageUtilization"] == 60
    assert spec["scaleTargetRef"]["name"] == d["metadata"]["name"]
    assert spec["behavior"]["scaleDown"]["stabilizationWindowSeconds"] <= 60


def test_statefulset() -> None:
    svc = load("statefulset/web.yaml", "Service")
    sts = load("statefulset/web.yaml", "StatefulSet")
    assert svc["spec"]["clusterIP"] == "None"
    assert sts["spec"]["serviceName"] == svc["metadata"]["name"]
    assert sts["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "data"
    mounts = pod_spec(sts)["containers"][0]["volumeMounts"]
    assert mounts[0]["name"] == "data"
    assert sts["spec"]["updateStrategy"]["type"] == "RollingUpdate"


CLINIC = {
    "1-no-probe.yaml": (False, False, "RollingUpdate", "25%"),
    "2-readiness.yaml": (True, False, "RollingUpdate", "25%"),
    "3-readiness-prestop.yaml": (True, True, "RollingUpdate", "25%"),
    "4-recreate.yaml": (True, False, "Recreate", None),
    "5-max-unavailable-100.yaml": (True, False, "RollingUpdate", "100%"),
}


@pytest.mark.parametrize("name", sorted(CLINIC))
def test_clinic_variant(name: str) -> None:
    probe, prestop, strategy, unavailable = CLINIC[name]
    d = load(f"clinic/{name}", "Deployment")
    s = load(f"clinic/{name}", "Service")
    c = pod_spec(d)["containers"][0]
    assert ("readinessProbe" in c) is probe
    assert ("lifecycle" in c) is prestop
    assert d["spec"]["strategy"]["type"] == strategy
    if unavailable is not None:
        assert d["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == unavailable
    assert s["spec"]["selector"] == d["spec"]["selector"]["matchLabels"]
    assert c["image"] == "ghcr.io/stefanprodan/podinfo:6.7.0"


def test_clinic_variants_differ_in_one_thing_each() -> None:
    """Each variant changes one setting against variant 2, so its result has one cause."""
    def split(name: str) -> tuple[dict, set[str]]:
        d = copy.deepcopy(load(f"clinic/{name}", "Deployment"))
        spec = d["spec"]
        c = pod_spec(d)["containers"][0]
        aspects = {f"strategy={json.dumps(spec.pop('strategy'), sort_keys=True)}",
                   f"probe={json.dumps(c.pop('readinessProbe', None), sort_keys=True)}",
                   f"preStop={json.dumps(c.pop('lifecycle', None), sort_keys=True)}"}
        pod_spec(d).pop("terminationGracePeriodSeconds")  # follows the preStop time
        rest = {"spec": spec, "labels": d["metadata"]["labels"]}
        rest["labels"].pop("rollout-labs.io/variant")
        return json.loads(json.dumps(rest).replace(d["metadata"]["name"], "APP")), aspects

    ref_rest, ref_aspects = split("2-readiness.yaml")
    for name in CLINIC:
        rest, aspects = split(name)
        assert rest == ref_rest, name
        assert len(aspects - ref_aspects) <= 1, (name, aspects - ref_aspects)
