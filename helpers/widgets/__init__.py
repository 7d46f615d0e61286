"""Live widgets for the labs (ipywidgets + plotly). Imported lazily: plotly is heavy.

Every widget has `.close()` (stop its threads and remove it) and `.stop()` (freeze it);
`close_all()` closes every live widget, e.g. in a lab's cleanup cell.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "PodBoard": "podboard",
    "ReplicaSlider": "controls",
    "ImagePicker": "controls",
    "BlueGreenSwitch": "controls",
    "RolloutTimeline": "charts",
    "TrafficChart": "charts",
    "LoadControl": "hpa",
    "HPAChart": "hpa",
    "hpa_panel": "hpa",
    "close_all": "_base",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        module = importlib.import_module(f"{__name__}.{_EXPORTS[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
