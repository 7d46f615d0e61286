"""Static checks of the lab notebooks (no cluster): clean, built from labs/src, complete."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LABS = ROOT / "labs"
EXPECTED = ["00-start-here", "01-deploy", "02-self-heal", "03-scale", "04-rollout",
            "05-rollback", "06-blue-green", "07-autoscale", "08-statefulset",
            "09-strategy-clinic"]
NOTEBOOKS = sorted(LABS.glob("[0-9][0-9]-*.ipynb"))


def cells(nb: Path) -> list[dict]:
    return json.loads(nb.read_text())["cells"]


def source(cell: dict) -> str:
    src = cell["source"]
    return "".join(src) if isinstance(src, list) else src


def code(nb: Path) -> list[str]:
    return [source(c) for c in cells(nb) if c["cell_type"] == "code"]


def test_all_ten_labs_exist() -> None:
    assert [p.stem for p in NOTEBOOKS] == EXPECTED


def test_notebooks_match_their_sources() -> None:
    proc = subprocess.run([sys.executable, str(LABS / "_build.py"), "--check"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_without_outputs(nb: Path) -> None:
    for cell in cells(nb):
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_structure(nb: Path) -> None:
    cs = cells(nb)
    first = source(cs[0])
    assert first.startswith("# Lab "), "starts with a title"
    assert "Learning goals" in first
    all_code = "\n".join(code(nb))
    for src in code(nb):
        ast.parse(src)  # every code cell is valid Python
    assert "checks.check_" in all_code
    assert 'LAB, NS = "' in all_code
    assert "kubectl(" in all_code
    # cleanup: widgets stopped, the namespace deleted and checked, at the end
    tail = "\n".join(code(nb)[-2:])
    assert "labkit.stop(" in tail and "final=True" in tail and "delete_lab_namespace(NS)" in tail
    assert "check_namespace_deleted(NS)" in tail


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_wait_has_a_deadline(nb: Path) -> None:
    for src in code(nb):
        for call in re.findall(r"kubectl\(\"rollout\", \"status\"[^)]*\)", src):
            assert "--timeout=" in call, call
        for call in re.findall(r"wait_for_rollout\([^)]*\)", src):
            assert "timeout=" in call, call


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_widget_is_stopped(nb: Path) -> None:
    text = "\n".join(code(nb))
    created = set(re.findall(r"^(\w+) = widgets\.\w+\(", text, re.MULTILINE))
    created |= set(re.findall(r"^(\w+) = traffic\.Probe\(", text, re.MULTILINE))
    stop_args = set()
    for call in re.findall(r"labkit\.stop\(([^)]*)\)", text):
        stop_args |= {a.strip() for a in call.split(",")}
    assert created <= stop_args, f"not stopped: {created - stop_args}"


def test_the_broken_image_is_not_written_as_an_image_reference() -> None:
    """The prepull tool scans notebooks for image references; the typo must not be pulled."""
    from helpers.instructor import images_in_text

    for nb in NOTEBOOKS:
        found = images_in_text("\n".join(source(c) for c in cells(nb)))
        assert not any(i.endswith(":6.71") for i in found), (nb.name, found)


def _shown_only_if_last(call: ast.expr) -> bool:
    """Calls whose result is only displayed as a cell's last expression (kubectl, Step)."""
    if not isinstance(call, ast.Call):
        return False
    f = call.func
    if isinstance(f, ast.Name):
        return f.id == "kubectl"
    return (isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name)
            and f.value.id == "rollout" and f.attr not in ("wait_for_rollout",))


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_output_is_silently_dropped(nb: Path) -> None:
    """A kubectl(...) or rollout.*(...) result that is not the cell's last expression would
    never be shown; such calls must be wrapped in display()."""
    for src in code(nb):
        body = ast.parse(src).body
        for stmt in body[:-1]:
            assert not (isinstance(stmt, ast.Expr) and _shown_only_if_last(stmt.value)), \
                f"output dropped in cell:\n{src}"
