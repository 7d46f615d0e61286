"""Open notebooks in JupyterLab in headless Chromium, Run All, and check the widgets render.

nbval cannot see a widget that fails in the browser (its kernel side runs fine), so this is
the only test that would catch a broken front-end module or a widget that never renders.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from conftest import ARTIFACTS, REPO
from labcheck import check_notebook

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FIXTURES = "tests/browser/fixtures"
LABS = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "labs").glob("*.ipynb"))
LAB_TIMEOUT = float(os.environ.get("ROLLOUT_LABS_BROWSER_TIMEOUT", "600"))


def test_good_fixture_renders_and_responds(lab, page) -> None:
    report = check_notebook(page, lab.url, f"{FIXTURES}/good_widgets.ipynb", ARTIFACTS / "fixtures")
    assert report.ok, report.summary()
    assert report.widget_outputs == 2 and report.widget_views == 2, report.summary()
    assert page.locator(".js-plotly-plot .main-svg").count() >= 1
    assert page.locator(".js-plotly-plot .point").count() == 3  # the three bars
    # The slider is live: two key presses move the kernel-backed value from 3 to 5.
    readout = page.locator(".widget-slider .widget-readout").first
    assert readout.inner_text().strip() == "3"
    page.locator(".widget-slider .noUi-handle").first.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "() => document.querySelector('.widget-slider .widget-readout').innerText.trim() === '5'",
        timeout=10_000,
    )
    assert all(Path(s).stat().st_size > 0 for s in report.screenshots)


def test_checker_fails_on_broken_widget(lab, page) -> None:
    report = check_notebook(page, lab.url, f"{FIXTURES}/broken_widget.ipynb", ARTIFACTS / "fixtures")
    assert not report.ok, "the checker passed a notebook whose widget cannot render"
    text = "\n".join(report.problems)
    assert "Click to show javascript error" in text
    assert ".jupyter-widgets-error-widget" in text
    assert "No version of module rollout-labs-no-such-module" in text
    assert "only 1 of 2 widget outputs rendered" in text  # the good slider still counts


def test_checker_reports_a_failing_cell_without_hanging(lab, page) -> None:
    start = time.monotonic()
    report = check_notebook(page, lab.url, f"{FIXTURES}/raises.ipynb", ARTIFACTS / "fixtures",
                            run_timeout=120)
    assert time.monotonic() - start < 60, "the checker waited for cells Run All never runs"
    text = "\n".join(report.problems)
    assert "cell raised RuntimeError: replica set never became ready" in text
    assert "1 code cell(s) never ran" in text
    assert report.cells_run == 2


@pytest.mark.skipif(not LABS, reason="no notebooks in labs/ yet")
@pytest.mark.timeout(LAB_TIMEOUT + 180)
@pytest.mark.parametrize("notebook", LABS or ["-"])
def test_lab_widgets_render(lab, page, notebook: str) -> None:
    report = check_notebook(page, lab.url, notebook, ARTIFACTS, run_timeout=LAB_TIMEOUT)
    print(report.summary())
    assert report.ok, report.summary()
    assert report.cells_run > 0, report.summary()
