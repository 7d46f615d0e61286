"""The image catalog: reference parsing, which tags exist, digests, and the container env."""

from __future__ import annotations

import dataclasses
import json

import pytest

from helpers.sandbox.node import images
from helpers.sandbox.node.images import ImageRef, InvalidImageName, parse_reference, resolve


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("nginx", ImageRef("docker.io", "library/nginx", "latest", None)),
        ("nginx:1.27", ImageRef("docker.io", "library/nginx", "1.27", None)),
        ("docker.io/nginx:1.27", ImageRef("docker.io", "library/nginx", "1.27", None)),
        ("index.docker.io/library/nginx", ImageRef("docker.io", "library/nginx", "latest", None)),
        (
            "jocatalin/kubernetes-bootcamp:v2",
            ImageRef("docker.io", "jocatalin/kubernetes-bootcamp", "v2", None),
        ),
        (
            "ghcr.io/stefanprodan/podinfo:6.7.0",
            ImageRef("ghcr.io", "stefanprodan/podinfo", "6.7.0", None),
        ),
        ("localhost:5000/team/app:1.0", ImageRef("localhost:5000", "team/app", "1.0", None)),
        ("localhost/app", ImageRef("localhost", "app", "latest", None)),
        ("registry:5000/app", ImageRef("registry:5000", "app", "latest", None)),
        (
            "us-docker.pkg.dev/google-samples/containers/gke/hello-app:1.0",
            ImageRef("us-docker.pkg.dev", "google-samples/containers/gke/hello-app", "1.0", None),
        ),
        (
            "nginx@sha256:" + "a" * 64,
            ImageRef("docker.io", "library/nginx", None, "sha256:" + "a" * 64),
        ),
        (
            "nginx:1.27@sha256:" + "b" * 64,
            ImageRef("docker.io", "library/nginx", "1.27", "sha256:" + "b" * 64),
        ),
    ],
)
def test_parse_reference_normalises_like_the_runtime(image: str, expected: ImageRef) -> None:
    assert parse_reference(image) == expected


def test_reference_prints_in_full() -> None:
    assert str(parse_reference("nginx")) == "docker.io/library/nginx:latest"
    assert str(parse_reference("busybox:1.28")) == "docker.io/library/busybox:1.28"


@pytest.mark.parametrize(
    "image",
    ["", " nginx", "nginx:", "nginx:bad tag", "nginx@sha256:abc", "a//b", "nginx:1.0:2", "-nginx",
     "Nginx:1.0", "ghcr.io/Stefanprodan/podinfo", "nginx@md5:" + "a" * 32],
)  # fmt: skip
def test_invalid_references_raise(image: str) -> None:
    with pytest.raises(InvalidImageName):
        parse_reference(image)
    assert resolve(image) is None


def test_uppercase_repository_says_so() -> None:
    with pytest.raises(InvalidImageName, match="must be lowercase"):
        parse_reference("Nginx:1.0")


@pytest.mark.parametrize(
    ("image", "app", "version", "runtime_image"),
    [
        ("nginx", "nginx.py", "1.31.5", "docker.io/library/nginx:latest"),
        ("nginx:1.27", "nginx.py", "1.27.5", "docker.io/library/nginx:1.27"),
        ("nginx:1.25.3", "nginx.py", "1.25.3", "docker.io/library/nginx:1.25.3"),
        ("docker.io/library/nginx:1.26-alpine", "nginx.py", "1.26.3", "docker.io/library/nginx:1.26-alpine"),
        ("nginx:stable", "nginx.py", "1.30.4", "docker.io/library/nginx:stable"),
        ("nginx:alpine", "nginx.py", "1.31.5", "docker.io/library/nginx:alpine"),
        ("ghcr.io/stefanprodan/podinfo:6.7.0", "podinfo.py", "6.7.0", "ghcr.io/stefanprodan/podinfo:6.7.0"),
        ("stefanprodan/podinfo:6.0.0", "podinfo.py", "6.0.0", "docker.io/stefanprodan/podinfo:6.0.0"),
        ("busybox:1.28", "busybox.py", "1.28.4", "docker.io/library/busybox:1.28"),
        ("busybox", "busybox.py", "1.37.0", "docker.io/library/busybox:latest"),
        ("busybox:stable", "busybox.py", "1.36.1", "docker.io/library/busybox:stable"),
        ("busybox:1.36-musl", "busybox.py", "1.36.1", "docker.io/library/busybox:1.36-musl"),
        ("registry.k8s.io/hpa-example", "hpa_example.py", "latest", "registry.k8s.io/hpa-example:latest"),
        ("k8s.gcr.io/hpa-example:latest", "hpa_example.py", "latest", "k8s.gcr.io/hpa-example:latest"),
        ("gcr.io/google-samples/kubernetes-bootcamp:v1", "bootcamp.py", "v1",
         "gcr.io/google-samples/kubernetes-bootcamp:v1"),
        ("docker.io/jocatalin/kubernetes-bootcamp:v2", "bootcamp.py", "v2",
         "docker.io/jocatalin/kubernetes-bootcamp:v2"),
        ("us-docker.pkg.dev/google-samples/containers/gke/hello-app:2.0", "hello_app.py", "2.0.0",
         "us-docker.pkg.dev/google-samples/containers/gke/hello-app:2.0"),
        ("gcr.io/google-samples/hello-app:1.0", "hello_app.py", "1.0.0", "gcr.io/google-samples/hello-app:1.0"),
    ],
)  # fmt: skip
def test_known_images_resolve(image: str, app: str, version: str, runtime_image: str) -> None:
    info = resolve(image)
    assert info is not None
    assert (info.app, info.version, info.runtime_image) == (app, version, runtime_image)
    assert images.app_path(info).is_file()
    repo = runtime_image.rsplit(":", 1)[0]
    assert info.image_id.startswith(f"{repo}@sha256:") and len(info.image_id.split(":")[-1]) == 64
    assert 100_000 < info.size_bytes < 500_000_000
    assert 0 < info.default_pull_seconds < 10


@pytest.mark.parametrize(
    "image",
    [
        "nginx:9.9",
        "nginx:1.27.99",
        "ghcr.io/stefanprodan/podinfo:6.99.0",
        "ghcr.io/stefanprodan/podinfo:v6.7.0",  # podinfo's image tags have no v
        "jocatalin/kubernetes-bootcamp:v10",  # the Kubernetes Basics tutorial's bad tag
        "gcr.io/google-samples/kubernetes-bootcamp:v2",  # v2 lives only on Docker Hub
        "busybox:1.99",
        "registry.k8s.io/hpa-example:v2",
        "us-docker.pkg.dev/google-samples/containers/gke/hello-app:3.0",
        "example.com/nginx:1.27",  # same name, another registry
        "library/ngnix:1.27",
        "nginx@sha256:" + "0" * 64,  # a digest we never published
    ],
)
def test_unknown_images_and_tags_are_none(image: str) -> None:
    assert resolve(image) is None
    assert images.pull_error(image)


def test_aliases_share_one_image_and_digest() -> None:
    a, b, c = (
        resolve("nginx:1.27"),
        resolve("docker.io/library/nginx:1.27.5"),
        resolve("nginx:1.27.4"),
    )
    assert a and b and c
    assert a.image_id == b.image_id != c.image_id
    assert resolve("nginx").image_id == resolve("nginx:mainline").image_id  # type: ignore[union-attr]
    assert resolve("nginx:1.27").image_id != resolve("nginx:1.27-alpine").image_id  # type: ignore[union-attr]
    ghcr = resolve("ghcr.io/stefanprodan/podinfo:6.7.0")
    hub = resolve("stefanprodan/podinfo:6.7.0")
    assert ghcr and hub and ghcr.image_id.split("@")[1] == hub.image_id.split("@")[1]
    assert ghcr.image_id.startswith("ghcr.io/stefanprodan/podinfo@")


def test_digests_are_deterministic() -> None:
    assert resolve("busybox:1.28") == resolve("busybox:1.28")
    assert resolve("busybox:1.28").image_id == images.resolve("busybox:1.28").image_id  # type: ignore[union-attr]


def test_digest_pinned_references_resolve_when_published() -> None:
    info = resolve("nginx:1.27.5")
    assert info
    digest = info.image_id.split("@")[1]
    pinned = resolve(f"nginx@{digest}")
    assert pinned and pinned.version == "1.27.5"
    assert pinned.runtime_image == f"docker.io/library/nginx@{digest}"
    # With a tag and a digest the digest decides, as containerd pulls by digest.
    both = resolve(f"nginx:1.25@{digest}")
    assert both and both.version == "1.27.5"
    assert resolve(f"busybox@{digest}") is None  # another repository's digest


def test_image_info_is_frozen() -> None:
    info = resolve("nginx")
    assert info
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.version = "x"  # type: ignore[misc]


def test_ports_arch_and_stop_signal() -> None:
    assert resolve("nginx").ports == (80,)  # type: ignore[union-attr]
    assert resolve("ghcr.io/stefanprodan/podinfo:6.7.0").ports == (9898,)  # type: ignore[union-attr]
    assert resolve("busybox").ports == ()  # type: ignore[union-attr]
    assert resolve("registry.k8s.io/hpa-example").arch == "amd64"  # type: ignore[union-attr]
    assert resolve("gcr.io/google-samples/kubernetes-bootcamp:v1").arch == "amd64"  # type: ignore[union-attr]
    assert resolve("busybox:1.28").arch == "multi-arch"  # type: ignore[union-attr]
    assert resolve("nginx:1.27").stop_signal == "SIGQUIT"  # type: ignore[union-attr]
    assert resolve("ghcr.io/stefanprodan/podinfo:6.7.0").stop_signal == "SIGTERM"  # type: ignore[union-attr]


def test_pull_error_messages() -> None:
    assert images.pull_error("nginx:1.27") is None
    assert images.pull_error("nginx:9.9") == (
        'rpc error: code = NotFound desc = failed to pull and unpack image "docker.io/library/nginx:9.9": '
        'failed to resolve reference "docker.io/library/nginx:9.9": docker.io/library/nginx:9.9: not found'
    )
    assert "pull access denied" in images.pull_error("someone/nothing:1")  # type: ignore[operator]
    assert "couldn't parse image name" in images.pull_error("Nginx")  # type: ignore[operator]


def test_known_images_all_resolve() -> None:
    known = images.known_images()
    assert (
        "ghcr.io/stefanprodan/podinfo:6.7.0" in known and "docker.io/library/busybox:1.28" in known
    )
    assert all(resolve(ref) is not None for ref in known)


def test_launch_argv_runs_our_app_only() -> None:
    info = resolve("busybox:1.28")
    assert info
    argv = images.launch_argv(info)
    assert argv[1:3] == ["-I", "-S"] and argv[3].endswith("/node/apps/busybox.py")


def test_container_env_is_the_contract() -> None:
    info = resolve("nginx:1.27")
    assert info
    env = images.container_env(
        info, image="nginx:1.27", pod_name="web-1", namespace="demo", pod_ip="127.244.0.7",
        argv=["nginx", "-g", "daemon off;"], hosts_file="/state/node/hosts", port_shift=(1024, 10000),
        env={"GREETING": "hi", "PATH": "/custom"},
    )  # fmt: skip
    assert env["HOSTNAME"] == "web-1" and env["GREETING"] == "hi"
    assert env["PATH"] == "/custom" and env["NGINX_VERSION"] == "1.27.5"
    assert env["SANDBOX_IMAGE"] == "nginx:1.27" and env["SANDBOX_APP_VERSION"] == "1.27.5"
    assert env["SANDBOX_POD_IP"] == "127.244.0.7" and env["SANDBOX_POD_NAMESPACE"] == "demo"
    assert json.loads(env["SANDBOX_ARGV"]) == ["nginx", "-g", "daemon off;"]
    assert (
        env["SANDBOX_HOSTS_FILE"] == "/state/node/hosts"
        and env["SANDBOX_PORT_SHIFT"] == "1024:10000"
    )
