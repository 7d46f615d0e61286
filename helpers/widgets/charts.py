"""Live charts (plotly FigureWidget): ReplicaSet sizes over time and traffic by version.

Both poll at a modest rate (1 Hz) from a background thread and update the figure inside
`batch_update()`, so a chart costs one small message per second.
"""

from __future__ import annotations

import time

import plotly.graph_objects as go

from helpers import _api
from helpers.cluster import Cluster, current
from helpers.rollout import RSSize, rs_sizes
from helpers.traffic import Probe
from helpers.widgets._base import FAILURE, Live, colour


class RolloutTimeline(Live):
    """Ready replicas of each ReplicaSet over time; `.steps()` lists the distinct states."""

    def __init__(self, name: str, namespace: str, *, interval: float = 0.5,
                 window: float = 180, cluster: Cluster | None = None) -> None:
        super().__init__()
        self.cluster = current(cluster)
        self.name, self.namespace, self.window = name, namespace, window
        self.samples: list[tuple[float, list[RSSize]]] = []
        self._t0 = time.monotonic()
        self.widget = go.FigureWidget(layout=go.Layout(
            title=f"ReplicaSets of deployment/{name}", height=300,
            xaxis_title="seconds", yaxis_title="ready pods",
            margin={"l": 50, "r": 20, "t": 40, "b": 40}))
        self._every(interval, self._sample, "timeline")

    def _sample(self) -> None:
        sizes = rs_sizes(self.name, self.namespace, cluster=self.cluster)
        self.samples.append((time.monotonic() - self._t0, sizes))
        self._draw()

    def _draw(self) -> None:
        horizon = self.samples[-1][0] - self.window if self.samples else 0
        recent = [(t, s) for t, s in self.samples if t >= horizon]
        names = []
        for _, sizes in recent:
            for rs in sizes:
                if rs.name not in names:
                    names.append(rs.name)
        traces = []
        for rs_name in names:
            xs, ys, label = [], [], rs_name
            for t, sizes in recent:
                match = next((r for r in sizes if r.name == rs_name), None)
                xs.append(round(t, 1))
                ys.append(match.ready if match else 0)
                if match:
                    tag = _api.image_tag(match.image.split(",")[0])
                    label = f"rev {match.revision} · {tag}"
            traces.append((label, xs, ys, colour(label.split(" · ")[-1])))
        with self.widget.batch_update():
            while len(self.widget.data) < len(traces):
                self.widget.add_scatter(mode="lines", line_shape="hv")
            for trace, (label, xs, ys, col) in zip(self.widget.data, traces, strict=False):
                trace.x, trace.y, trace.name = xs, ys, label
                trace.line.color = col

    def steps(self) -> list[tuple[tuple[int, int], ...]]:
        """Distinct consecutive (desired, ready) per ReplicaSet, oldest revision first."""
        out: list[tuple[tuple[int, int], ...]] = []
        for _, sizes in self.samples:
            state = tuple((r.desired, r.ready) for r in sizes)
            if not out or out[-1] != state:
                out.append(state)
        return out


class TrafficChart(Live):
    """Answers per second by version (stacked), failures in red, from a running Probe."""

    def __init__(self, probe: Probe, *, window: int = 60, interval: float = 1.0) -> None:
        super().__init__()
        self.probe, self.window = probe, window
        self.widget = go.FigureWidget(layout=go.Layout(
            title="requests per second by version", barmode="stack", height=280,
            xaxis_title="seconds", yaxis_title="req/s",
            margin={"l": 50, "r": 20, "t": 40, "b": 40}))
        self._every(interval, self._draw, "traffic-chart")

    def _draw(self) -> None:
        rows = self.probe.summary().per_second[-self.window:]
        versions = sorted({v for _, counts, _ in rows for v in counts})
        series = [(v, [counts.get(v, 0) for _, counts, _ in rows], colour(v)) for v in versions]
        series.append(("failed", [f for _, _, f in rows], FAILURE))
        xs = [s for s, _, _ in rows]
        with self.widget.batch_update():
            while len(self.widget.data) < len(series):
                self.widget.add_bar()
            for trace, (label, ys, col) in zip(self.widget.data, series, strict=False):
                trace.x, trace.y, trace.name = xs, ys, label
                trace.marker.color = col
