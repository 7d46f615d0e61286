"""Real kubectl accepts the minimal OpenAPI: `apply/create/replace -f` pass client-side
validation and hand it to the server with `fieldValidation=Strict`.

Runs each kubectl against a throwaway plain-http fake apiserver (the one the protobuf
fixture capture uses) serving our v3 and/or v2 documents; no sandbox needed.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from helpers.sandbox.apiserver.openapi import (
    V2_CONTENT_TYPE,
    v2_protobuf,
    v3_group_version,
    v3_root,
)
from helpers.sandbox.apiserver.resources import RESOURCES
from tests.support.kubectl_bins import versioned_kubectl

REPO = Path(__file__).resolve().parents[3]
_spec = importlib.util.spec_from_file_location(
    "_kubectl_fake_apiserver", REPO / "tests/sandbox/fixtures/protobuf/capture.py")
assert _spec and _spec.loader
fake = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = fake  # dataclasses look their module up while being created
_spec.loader.exec_module(fake)

MANIFEST = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.25
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - port: 80
"""


def _kubectl(minor: str) -> str | None:
    if minor == "37":
        path = REPO / ".venv" / "bin" / "kubectl"
        return str(path) if path.exists() else None
    return versioned_kubectl(f"1.{minor}")


def openapi_routes(v3: bool, v2: bool) -> list:
    """Routes for the fake server; anything else under /openapi is a 404."""

    def route(req: fake.Request) -> tuple[int, str, bytes] | None:
        if v3 and req.path == "/openapi/v3":
            return 200, "application/json", json.dumps(v3_root(RESOURCES, "t")).encode()
        if v3 and req.path.startswith("/openapi/v3/"):
            parts = req.path.removeprefix("/openapi/v3/").split("/")
            group, version = ("", parts[1]) if parts[0] == "api" else (parts[1], parts[2])
            doc = v3_group_version(RESOURCES, group, version)
            if doc is not None:
                return 200, "application/json", json.dumps(doc).encode()
        if v2 and req.path == "/openapi/v2":
            return 200, V2_CONTENT_TYPE, v2_protobuf(RESOURCES)
        return None

    return [route]


def run(minor: str, v3: bool, v2: bool, args: list[str], tmp_path: Path):
    binary = _kubectl(minor)
    if binary is None:
        pytest.skip(f"kubectl 1.{minor} not installed")
    (tmp_path / "app.yaml").write_text(MANIFEST)
    srv = fake.FakeApiServer(minor=minor, routes=openapi_routes(v3, v2))
    with srv:
        fake.write_kubeconfig(tmp_path, srv.url)
        args = [a.replace("{file}", str(tmp_path / "app.yaml")) for a in args]
        proc = fake.run_kubectl(binary, tmp_path, args)
    return proc, srv.requests


def writes(requests: list) -> list:
    return [r for r in requests if r.method in ("POST", "PUT")]


CASES = [  # (kubectl minor, serve v3, serve v2)
    ("27", False, True),
    ("28", False, True),
    ("27", True, True),
    ("29", True, False),
    ("32", True, True),
    ("33", True, False),
    ("37", True, False),
    ("37", False, True),
    ("37", True, True),
]


@pytest.mark.parametrize(("minor", "v3", "v2"), CASES,
                         ids=[f"1.{m}-{'v3' if a else ''}{'v2' if b else ''}"
                              for m, a, b in CASES])
def test_apply_passes_validation_and_sends_strict(minor: str, v3: bool, v2: bool,
                                                  tmp_path: Path) -> None:
    proc, requests = run(minor, v3, v2, ["apply", "-f", "{file}"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "deployment.apps/web created" in proc.stdout
    assert "service/web created" in proc.stdout
    posts = writes(requests)
    assert [r.path for r in posts] == ["/apis/apps/v1/namespaces/demo/deployments",
                                       "/api/v1/namespaces/demo/services"]
    for r in posts:
        assert r.query["fieldValidation"] == ["Strict"]
        assert r.query["fieldManager"] == ["kubectl-client-side-apply"]
    fetched = {r.path for r in requests}
    if minor in ("27", "28") or not v3:
        assert "/openapi/v2" in fetched  # 1.27/1.28 read only v2; later ones fall back to it
    if v3 and minor not in ("27", "28"):
        assert "/openapi/v3/apis/apps/v1" in fetched


@pytest.mark.parametrize("verb", ["create", "replace"])
def test_create_and_replace_from_file(verb: str, tmp_path: Path) -> None:
    proc, requests = run("37", True, False, [verb, "-f", "{file}"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    past = "created" if verb == "create" else "replaced"
    assert f"deployment.apps/web {past}" in proc.stdout
    sent = writes(requests)
    assert [r.method for r in sent] == ["POST" if verb == "create" else "PUT"] * 2
    assert all(r.query["fieldValidation"] == ["Strict"] for r in sent)


@pytest.mark.parametrize("minor", ["27", "37"])
def test_without_openapi_apply_refuses(minor: str, tmp_path: Path) -> None:
    """Negative control: the fake server alone is not enough, the documents are what matter."""
    proc, requests = run(minor, False, False, ["apply", "-f", "{file}"], tmp_path)
    assert proc.returncode != 0
    assert not writes(requests)
