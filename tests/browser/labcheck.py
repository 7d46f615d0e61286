"""Drive JupyterLab in headless Chromium: open a notebook, Run All, check the widgets render.

Used by the browser tests; also runnable by hand:
``python tests/browser/labcheck.py labs/01-x.ipynb`` (exit 1 when the check finds problems).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
BAD_TEXT = ("Error displaying widget", "Click to show javascript error")
SETTINGS = {
    # No autosave: a test run must never write outputs back into a notebook.
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    # No "get notified about Jupyter news?" toast, no update check (no network here).
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    # Keep every cell in the DOM so the checks see all outputs.
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


def chromium_executable() -> str | None:
    """Debian's chromium (or $ROLLOUT_LABS_CHROMIUM); None means Playwright's own build."""
    for candidate in (os.environ.get("ROLLOUT_LABS_CHROMIUM"), "/usr/bin/chromium",
                      shutil.which("chromium")):
        if candidate and os.access(candidate, os.X_OK) and "/snap/" not in os.path.realpath(candidate):
            return candidate
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LabServer:
    url: str
    root: Path
    process: subprocess.Popen
    log_path: Path

    def log_tail(self, n: int = 40) -> str:
        lines = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(lines[-n:])


@contextlib.contextmanager
def jupyter_lab(root: Path, startup_timeout: float = 90) -> Iterator[LabServer]:
    """A JupyterLab server on a free loopback port, with throwaway settings and workspaces."""
    with tempfile.TemporaryDirectory(prefix="rollout-labs-jlab-") as tmp:
        tmpdir = Path(tmp)
        settings = tmpdir / "settings"
        for rel, value in SETTINGS.items():
            path = settings / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(value))
        env = dict(os.environ)
        env.update(
            JUPYTERLAB_SETTINGS_DIR=str(settings),
            JUPYTERLAB_WORKSPACES_DIR=str(tmpdir / "workspaces"),
            JUPYTER_CONFIG_DIR=str(tmpdir / "config"),
            JUPYTER_RUNTIME_DIR=str(tmpdir / "runtime"),
        )
        log_path = tmpdir / "jupyter.log"
        for _attempt in range(3):  # a port taken between free_port() and bind: try another
            port = free_port()
            cmd = [
                sys.executable, "-m", "jupyterlab", "--no-browser",
                "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
                "--ServerApp.port_retries=0", "--IdentityProvider.token=",
                "--ServerApp.password=", f"--ServerApp.root_dir={root}",
                "--LabApp.expose_app_in_browser=True",
            ]
            if hasattr(os, "geteuid") and os.geteuid() == 0:
                cmd.append("--allow-root")
            log = log_path.open("w")
            proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                    cwd=root, start_new_session=True)
            url = f"http://127.0.0.1:{port}"
            server = LabServer(url, root, proc, log_path)
            if _wait_ready(url, proc, startup_timeout):
                try:
                    yield server
                finally:
                    proc.terminate()
                    try:
                        proc.wait(15)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        proc.wait()
                    log.close()
                return
            proc.kill()
            proc.wait()
            log.close()
        raise RuntimeError(f"JupyterLab did not start; its log:\n{server.log_tail()}")


def _wait_ready(url: str, proc: subprocess.Popen, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"{url}/api/status", timeout=2) as r:
                if r.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.3)
    return False


@dataclass
class NotebookReport:
    """What one Run All in the browser showed."""

    notebook: str
    problems: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    widget_outputs: int = 0
    widget_views: int = 0
    cells_run: int = 0
    screenshots: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        lines = [
            f"{self.notebook}: {self.cells_run} cells run, {self.widget_views}/"
            f"{self.widget_outputs} widget outputs rendered"
        ]
        lines += [f"  problem: {p}" for p in self.problems]
        lines += [f"  screenshot: {s}" for s in self.screenshots]
        return "\n".join(lines)


# Runs in the page: state of the open notebook, read from the JupyterLab model.
_STATE_JS = """
(mime) => {
  const app = window.jupyterapp;
  const panel = app && app.shell.currentWidget;
  if (!panel || !panel.content || !panel.content.model) return null;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  const cells = [];
  for (const cell of panel.content.model.cells) {
    if (cell.type !== 'code') continue;
    const outputs = cell.outputs.toJSON();
    cells.push({
      source: cell.sharedModel.getSource(),
      count: cell.executionCount,
      errors: outputs.filter(o => o.output_type === 'error').map(o => o.ename + ': ' + o.evalue),
      widgets: outputs.filter(o => o.data && o.data[mime]).length,
    });
  }
  const busy = [...document.querySelectorAll('.jp-InputPrompt')]
    .some(e => e.textContent.includes('*'));
  return {kernel: kernel ? kernel.status : 'none', busy, cells};
}
"""


WIDGET_OUTPUT = ".jp-OutputArea-output:not([data-mime-type])"
_VIEWS_JS = """
(selector) => [...document.querySelectorAll(selector)].filter(out =>
  out.firstElementChild
  && !out.querySelector('.jupyter-widgets-error-widget')
  && out.getBoundingClientRect().height > 0
).length
"""


def check_notebook(page, base_url: str, relpath: str, artifacts: Path,
                   run_timeout: float = 600) -> NotebookReport:
    """Open ``relpath`` in JupyterLab, Run All Cells from the menu, and inspect the result."""
    report = NotebookReport(relpath)
    stem = re.sub(r"[^\w.-]+", "_", Path(relpath).stem)
    artifacts.mkdir(parents=True, exist_ok=True)
    page.on("console", lambda m: report.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: report.console_errors.append(f"page error: {e}"))

    page.goto(f"{base_url}/lab/tree/{relpath}?reset")
    # The execution indicator says idle too early; the status bar text is the reliable signal.
    page.wait_for_selector(".jp-StatusBar-TextItem:has-text('| Idle')", timeout=90_000)
    with contextlib.suppress(Exception):
        page.click(".jp-toast-button:text-is('No')", timeout=1000)
    page.click(".lm-MenuBar-itemLabel:text-is('Run')")
    page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")

    # Finished when the kernel is idle and no cell is queued ([*]) twice in a row. Run All stops
    # at the first error, so waiting for every cell to get a number could wait forever.
    deadline = time.monotonic() + run_timeout
    state, stable = None, 0
    while time.monotonic() < deadline:
        state = page.evaluate(_STATE_JS, WIDGET_MIME)
        started = state and any(c["count"] is not None for c in state["cells"])
        if started and state["kernel"] == "idle" and not state["busy"]:
            stable += 1
            if stable >= 2:
                break
        else:
            stable = 0
        page.wait_for_timeout(500)
    else:
        report.problems.append(f"Run All did not finish within {run_timeout:.0f} s")
    # Give widget views a moment to render after the last output arrived.
    page.wait_for_timeout(1500)
    with contextlib.suppress(Exception):
        page.wait_for_function(
            "() => !document.body.innerText.includes('Loading widget')", timeout=20_000
        )

    cells = (state or {}).get("cells", [])
    report.cells_run = sum(c["count"] is not None for c in cells)
    report.widget_outputs = sum(c["widgets"] for c in cells)
    for c in cells:
        for err in c["errors"]:
            report.problems.append(f"cell raised {err}")
    unrun = sum(c["count"] is None and bool(c["source"].strip()) for c in cells)
    if unrun:
        report.problems.append(f"{unrun} code cell(s) never ran (Run All stops at an error)")

    body = page.inner_text("body")
    for text in (*BAD_TEXT, "Loading widget"):
        if text in body:
            report.problems.append(f"page shows {text!r}")
    error_boxes = page.locator(".jupyter-widgets-error-widget").count()
    if error_boxes:
        report.problems.append(f"{error_boxes} widget error box(es) (.jupyter-widgets-error-widget)")
    # One rendered view per widget output. Widget outputs are the output nodes without a
    # data-mime-type (every other renderer sets one); a rendered one has visible content and
    # no error box inside.
    report.widget_views = page.evaluate(_VIEWS_JS, WIDGET_OUTPUT)
    if report.widget_views < report.widget_outputs:
        report.problems.append(
            f"only {report.widget_views} of {report.widget_outputs} widget outputs rendered a view"
        )
    report.problems += [f"console error: {e}" for e in report.console_errors]

    full = artifacts / f"{stem}.png"
    page.screenshot(path=str(full), full_page=True)
    report.screenshots.append(full)
    outputs = page.locator(WIDGET_OUTPUT)
    for i in range(outputs.count()):
        shot = artifacts / f"{stem}-widget-{i + 1}.png"
        with contextlib.suppress(Exception):
            outputs.nth(i).scroll_into_view_if_needed(timeout=5000)
            outputs.nth(i).screenshot(path=str(shot), timeout=10_000)
            report.screenshots.append(shot)
    return report


@contextlib.contextmanager
def browser_page(executable: str | None = None):
    """A fresh headless Chromium page (1400x900)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=executable or chromium_executable(), args=CHROMIUM_ARGS, headless=True
        )
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            yield context.new_page()
        finally:
            browser.close()


def main(argv: list[str]) -> int:
    notebooks = [Path(a).resolve() for a in argv] or sorted(Path("labs").resolve().glob("*.ipynb"))
    if not notebooks:
        print("no notebooks to check")
        return 2
    root = Path(os.path.commonpath([nb.parent for nb in notebooks]))
    failed = 0
    with jupyter_lab(root) as lab:
        for nb in notebooks:
            with browser_page() as page:
                report = check_notebook(page, lab.url, nb.relative_to(root).as_posix(),
                                        Path("test-artifacts"))
            print(report.summary())
            failed += not report.ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
