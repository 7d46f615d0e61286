#!/usr/bin/env python3
"""Per-notebook run time from a pytest JUnit XML report (nbval makes one test per cell).

Usage: scripts/lab-times.py test-artifacts/labs-nbval.xml   -> a Markdown table for README.md
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from collections import defaultdict


def lab_times(path: str) -> dict[str, tuple[float, int, int]]:
    """``{notebook: (seconds, cells, failed cells)}``."""
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0, 0])
    for case in ET.parse(path).getroot().iter("testcase"):
        # nbval cases: classname "labs.01-deploy.ipynb", name "Cell 3"
        notebook = case.get("file") or case.get("classname", "?")
        notebook = notebook.rsplit("/", 1)[-1].removeprefix("labs.")
        entry = totals[notebook]
        entry[0] += float(case.get("time", 0))
        entry[1] += 1
        entry[2] += any(child.tag in ("failure", "error") for child in case)
    return {k: (v[0], int(v[1]), int(v[2])) for k, v in sorted(totals.items())}


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    print("| notebook | cells | failed | run time |")
    print("|---|---|---|---|")
    total = 0.0
    for notebook, (seconds, cells, failed) in lab_times(argv[0]).items():
        total += seconds
        print(f"| {notebook} | {cells} | {failed} | {seconds:.0f} s |")
    print(f"| total | | | {total:.0f} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
