"""The node's image catalog: which image references exist, and which app in `apps/` runs them.

The sandbox never runs a program named by a manifest. An image reference is looked up here and
maps to one of our own small apps; the manifest's command and args reach that app only as data
(SANDBOX_ARGV) for it to interpret. A reference not in the catalog is an image that does not
exist, and the kubelet reports ErrImagePull as a real one would for a missing tag.

Tags are real ones, seen in the projects' registries and in public manifests. Digests are not
the real ones: each image gets a stable sha256 of its own, and a reference pinned to that digest
resolves (a tag and its aliases, such as nginx `1.27` and `1.27.5`, share one image and digest).
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

APPS_DIR = Path(__file__).resolve().parent / "apps"
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# ---------------------------------------------------------------------------------------------
# References (the grammar of github.com/distribution/reference)
# ---------------------------------------------------------------------------------------------

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH_RE = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
_DOMAIN_RE = re.compile(
    r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
    r"(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]+)?"
)
_TAG_RE = re.compile(r"[\w][\w.-]{0,127}")
_DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}")


class InvalidImageName(ValueError):
    """The reference does not parse: the kubelet reports InvalidImageName, not ErrImagePull."""


@dataclass(frozen=True)
class ImageRef:
    registry: str  # docker.io, ghcr.io, localhost:5000
    repository: str  # library/nginx, stefanprodan/podinfo
    tag: str | None  # None only when a digest is given without a tag
    digest: str | None  # sha256:<64 hex>

    @property
    def name(self) -> str:
        return f"{self.registry}/{self.repository}"

    def __str__(self) -> str:
        tag = f":{self.tag}" if self.tag else ""
        return f"{self.name}{tag}{'@' + self.digest if self.digest else ''}"


def parse_reference(image: str) -> ImageRef:
    """`nginx` -> docker.io/library/nginx:latest; raises InvalidImageName for bad references."""
    if not image or image != image.strip():
        raise InvalidImageName("invalid reference format")
    rest, _, digest = image.partition("@")
    if digest and not _DIGEST_RE.fullmatch(digest):
        raise InvalidImageName("invalid reference format: unsupported or malformed digest")
    name, tag = rest, None
    colon = rest.rfind(":")
    if colon > rest.rfind("/"):
        name, tag = rest[:colon], rest[colon + 1 :]
        if not _TAG_RE.fullmatch(tag):
            raise InvalidImageName("invalid reference format")
    slash = name.find("/")
    first = name[:slash]
    if slash < 0 or (
        "." not in first and ":" not in first and first != "localhost" and first.islower()
    ):
        registry, path = "docker.io", name
    else:
        registry, path = first, name[slash + 1 :]
        if not _DOMAIN_RE.fullmatch(registry):
            raise InvalidImageName("invalid reference format")
    if registry == "index.docker.io":
        registry = "docker.io"
    if registry == "docker.io" and "/" not in path:
        path = f"library/{path}"
    if path.lower() != path and _PATH_RE.fullmatch(path.lower()):
        raise InvalidImageName(
            f"invalid reference format: repository name ({path}) must be lowercase"
        )
    if not _PATH_RE.fullmatch(path) or len(registry) + 1 + len(path) > 255:
        raise InvalidImageName("invalid reference format")
    if tag is None and not digest:
        tag = "latest"
    return ImageRef(registry, path, tag, digest or None)


# ---------------------------------------------------------------------------------------------
# The catalog
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageInfo:
    app: str  # file name in apps/
    version: str  # the app's version, passed as SANDBOX_APP_VERSION
    runtime_image: str  # as a runtime reports it: docker.io/library/nginx:1.27
    image_id: str  # <repo>@sha256:<64 hex>, the same for every alias of one image
    size_bytes: int
    default_pull_seconds: float
    ports: tuple[int, ...]  # ports the app listens on by default
    arch: str  # "multi-arch" or "amd64"
    stop_signal: str = "SIGTERM"  # the image's STOPSIGNAL, which containerd and CRI-O honour
    env: tuple[tuple[str, str], ...] = field(default=())  # the image config's Env


@dataclass(frozen=True)
class _Family:
    key: str  # names the images (and their digests) across mirrors of one repository
    app: str
    repos: tuple[str, ...]  # registry/repository, normalised
    tags: dict[str, str]  # tag -> the canonical tag of the image it points at
    versions: dict[str, str]  # canonical tag -> app version
    sizes: dict[str, int]  # canonical tag -> bytes
    pull_seconds: float
    ports: tuple[int, ...]
    arch: str
    stop_signal: str = "SIGTERM"
    env: tuple[tuple[str, str], ...] = (("PATH", DEFAULT_PATH),)

    def digest(self, canonical: str) -> str:
        return (
            "sha256:" + hashlib.sha256(f"rollout-labs {self.key}:{canonical}".encode()).hexdigest()
        )


def _jitter(text: str, spread: int) -> int:
    """A stable pseudo-random offset, so sizes differ per image as real ones do."""
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) % spread


def _podinfo() -> _Family:
    # Release tags of ghcr.io/stefanprodan/podinfo (also pushed to Docker Hub), as seen in
    # public manifests and podinfo's own repository.
    versions = [
        "6.0.0",
        "6.0.1",
        "6.0.2",
        "6.0.3",
        "6.1.0",
        "6.1.1",
        "6.1.4",
        "6.1.5",
        "6.1.6",
        "6.1.8",
        "6.2.0",
        "6.2.1",
        "6.2.2",
        "6.2.3",
        "6.3.0",
        "6.3.1",
        "6.3.2",
        "6.3.3",
        "6.3.5",
        "6.3.6",
        "6.4.0",
        "6.4.1",
        "6.5.0",
        "6.5.1",
        "6.5.2",
        "6.5.3",
        "6.5.4",
        "6.6.0",
        "6.6.1",
        "6.6.2",
        "6.6.3",
        "6.7.0",
        "6.7.1",
        "6.8.0",
        "6.9.0",
        "6.9.1",
        "6.9.2",
        "6.9.3",
        "6.9.4",
        "6.10.0",
        "6.10.1",
        "6.10.2",
    ]
    tags = {v: v for v in versions} | {"latest": versions[-1]}
    return _Family(
        key="podinfo",
        app="podinfo.py",
        repos=("ghcr.io/stefanprodan/podinfo", "docker.io/stefanprodan/podinfo"),
        tags=tags,
        versions={v: v for v in versions},
        sizes={v: 23_000_000 + 150_000 * i + _jitter(v, 300_000) for i, v in enumerate(versions)},
        pull_seconds=1.2,
        ports=(9898,),
        arch="multi-arch",
    )


def _nginx() -> _Family:
    patches = {"1.25": 5, "1.26": 3, "1.27": 5, "1.28": 3, "1.29": 8, "1.30": 4, "1.31": 5}
    newest = {minor: f"{minor}.{n}" for minor, n in patches.items()}
    base: dict[str, str] = {}
    for minor, n in patches.items():
        base[minor] = newest[minor]
        base |= {f"{minor}.{p}": f"{minor}.{p}" for p in range(n + 1)}
    mainline, stable = newest["1.31"], newest["1.30"]
    base |= {"latest": mainline, "mainline": mainline, "1": mainline, "stable": stable}
    tags = dict(base)
    for tag, canonical in base.items():
        tags["alpine" if tag == "latest" else f"{tag}-alpine"] = f"{canonical}-alpine"
    canon = set(tags.values())
    return _Family(
        key="nginx",
        app="nginx.py",
        repos=("docker.io/library/nginx",),
        tags=tags,
        versions={c: c.removesuffix("-alpine") for c in canon},
        sizes={
            c: (20_300_000 if c.endswith("-alpine") else 70_500_000) + _jitter(c, 2_500_000)
            for c in canon
        },
        pull_seconds=1.5,
        ports=(80,),
        arch="multi-arch",
        stop_signal="SIGQUIT",  # STOPSIGNAL in the official image: graceful shutdown
    )


def _busybox() -> _Family:
    series = {"1.28": "1.28.4", "1.36": "1.36.1", "1.37": "1.37.0"}
    base = dict(series) | {v: v for v in series.values()}
    base |= {"latest": "1.37.0", "1": "1.37.0", "stable": "1.36.1"}
    tags = dict(base)
    for tag, canonical in base.items():
        for libc in ("glibc", "musl", "uclibc"):
            tags[libc if tag == "latest" else f"{tag}-{libc}"] = f"{canonical}-{libc}"
    canon = set(tags.values())
    sizes = {"glibc": 2_150_000, "musl": 850_000, "uclibc": 1_100_000}

    # busybox:1.28 is the small (~1.1 MB) build; the later unsuffixed tags are ~2.1 MB.
    def libc(canonical: str) -> str:
        return (
            canonical.split("-")[1]
            if "-" in canonical
            else ("uclibc" if canonical < "1.31" else "glibc")
        )

    return _Family(
        key="busybox",
        app="busybox.py",
        repos=("docker.io/library/busybox",),
        tags=tags,
        versions={c: c.split("-")[0] for c in canon},
        sizes={c: sizes[libc(c)] + _jitter(c, 120_000) for c in canon},
        pull_seconds=0.4,
        ports=(),
        arch="multi-arch",
    )


def _single(key: str, app: str, repos: tuple[str, ...], versions: dict[str, str], size: int,
            pull: float, port: int) -> _Family:  # fmt: skip
    """The amd64-only tutorial images: a handful of tags, each its own image."""
    return _Family(
        key=key,
        app=app,
        repos=repos,
        tags={t: t for t in versions},
        versions=dict(versions),
        sizes={t: size + _jitter(t, size // 50) for t in versions},
        pull_seconds=pull,
        ports=(port,),
        arch="amd64",
    )


_FAMILIES: tuple[_Family, ...] = (
    _podinfo(),
    _nginx(),
    _busybox(),
    _single(
        "hpa-example",
        "hpa_example.py",
        ("registry.k8s.io/hpa-example", "k8s.gcr.io/hpa-example"),
        {"latest": "latest"},
        181_000_000,
        3.0,
        80,
    ),
    _single(
        "kubernetes-bootcamp",
        "bootcamp.py",
        ("gcr.io/google-samples/kubernetes-bootcamp", "docker.io/jocatalin/kubernetes-bootcamp"),
        {"v1": "v1", "v2": "v2"},
        83_000_000,
        2.5,
        8080,
    ),
    _single(
        "hello-app",
        "hello_app.py",
        (
            "us-docker.pkg.dev/google-samples/containers/gke/hello-app",
            "gcr.io/google-samples/hello-app",
        ),
        {"1.0": "1.0.0", "2.0": "2.0.0"},
        11_000_000,
        0.8,
        8080,
    ),
)
_BY_REPO = {repo: fam for fam in _FAMILIES for repo in fam.repos}
# Tags a repository mirror does not carry (the tutorial's v2 exists only on Docker Hub).
_MISSING = {("gcr.io/google-samples/kubernetes-bootcamp", "v2")}


def _canonical(fam: _Family, ref: ImageRef) -> str | None:
    """The image a reference names: by digest when given (the tag is then ignored, as
    containerd does), else by tag."""
    if ref.digest:
        for canonical in set(fam.tags.values()):
            if fam.digest(canonical) == ref.digest:
                return canonical
        return None
    if ref.tag is None or (ref.name, ref.tag) in _MISSING:
        return None
    return fam.tags.get(ref.tag)


def resolve(image: str) -> ImageInfo | None:
    """What the node runs for `image`, or None when no such image exists (or it does not parse)."""
    try:
        ref = parse_reference(image)
    except InvalidImageName:
        return None
    fam = _BY_REPO.get(ref.name)
    canonical = _canonical(fam, ref) if fam else None
    if fam is None or canonical is None:
        return None
    digest = fam.digest(canonical)
    env = fam.env
    if fam.key == "nginx":
        env = (*env, ("NGINX_VERSION", fam.versions[canonical]))
    return ImageInfo(
        app=fam.app,
        version=fam.versions[canonical],
        runtime_image=f"{ref.name}:{ref.tag}" if ref.tag else f"{ref.name}@{digest}",
        image_id=f"{ref.name}@{digest}",
        size_bytes=fam.sizes[canonical],
        default_pull_seconds=fam.pull_seconds,
        ports=fam.ports,
        arch=fam.arch,
        stop_signal=fam.stop_signal,
        env=env,
    )


def pull_error(image: str) -> str | None:
    """The runtime's error for an image that cannot be pulled (None when it can), as the kubelet
    shows it after `Failed to pull image "<image>": ` and in waiting.message."""
    try:
        ref = parse_reference(image)
    except InvalidImageName as exc:
        return f'couldn\'t parse image name "{image}": {exc}'
    if resolve(image) is not None:
        return None
    full = str(ref)
    prefix = f'failed to pull and unpack image "{full}": failed to resolve reference "{full}"'
    if ref.name not in _BY_REPO and ref.registry == "docker.io":
        return (
            f"rpc error: code = Unknown desc = {prefix}: pull access denied, repository does "
            "not exist or may require authorization: server message: insufficient_scope: "
            "authorization failed"
        )
    return f"rpc error: code = NotFound desc = {prefix}: {full}: not found"


def known_images() -> list[str]:
    """Every reference the catalog resolves by tag, first repository of each family only."""
    return [f"{fam.repos[0]}:{tag}" for fam in _FAMILIES for tag in fam.tags if
            (fam.repos[0], tag) not in _MISSING]  # fmt: skip


def app_path(info: ImageInfo) -> Path:
    return APPS_DIR / info.app


def launch_argv(info: ImageInfo) -> list[str]:
    """The process to start for a container of this image: our app, never the manifest's
    command. -I ignores PYTHON* variables and user site-packages; -S skips site (faster)."""
    return [sys.executable, "-I", "-S", str(app_path(info))]


def container_env(info: ImageInfo, *, image: str, pod_name: str, namespace: str, pod_ip: str,
                  argv: list[str], hosts_file: str, port_shift: str | tuple[int, int],
                  env: dict[str, str] | None = None) -> dict[str, str]:  # fmt: skip
    """The whole environment of a container process (apps/README.md describes the contract):
    the image's Env, HOSTNAME, the manifest's resolved env, then the SANDBOX_* variables."""
    shift = port_shift if isinstance(port_shift, str) else f"{port_shift[0]}:{port_shift[1]}"
    out = dict(info.env)
    out["HOSTNAME"] = pod_name
    out.update(env or {})
    out.update(
        SANDBOX_IMAGE=image,
        SANDBOX_APP_VERSION=info.version,
        SANDBOX_POD_IP=pod_ip,
        SANDBOX_POD_NAMESPACE=namespace,
        SANDBOX_ARGV=json.dumps(list(argv)),
        SANDBOX_HOSTS_FILE=hosts_file,
        SANDBOX_PORT_SHIFT=shift,
    )
    return out
