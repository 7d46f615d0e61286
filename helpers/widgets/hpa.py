"""The autoscaling lab's panel: a load control and a live CPU% / replicas chart.

Load comes from the same probe machinery (steady HTTP requests at a chosen rate), so it
reaches the Service the same way on every cluster, no load-generator pod needed.
"""

from __future__ import annotations

import time

import ipywidgets as w
import plotly.graph_objects as go

from helpers.cluster import Cluster, current
from helpers.hpa import HPAStatus, hpa_status
from helpers.traffic import Probe
from helpers.widgets._base import Live


def _parse_ok(body: bytes) -> tuple[str | None, str | None]:
    return (body.decode("utf-8", "replace").strip()[:20] or None), None


class LoadControl(Live):
    """Start/stop steady load on a Service; the slider sets requests per second."""

    def __init__(self, service: str, namespace: str, *, rate: int = 20, max_rate: int = 100,
                 path: str = "/", timeout: float = 5.0, cluster: Cluster | None = None) -> None:
        super().__init__()
        self.cluster = current(cluster)
        self.service, self.namespace, self.path, self.timeout = service, namespace, path, timeout
        self.probe: Probe | None = None
        self.rate = w.IntSlider(value=rate, min=1, max=max_rate, description="req/s")
        self.button = w.ToggleButton(description="Generate load", icon="bolt")
        self.button.observe(lambda ch: self.start() if ch["new"] else self.stop_load(),
                            names="value")
        self.status = w.HTML()
        self.widget = w.VBox([w.HBox([self.rate, self.button]), self.status])

    def start(self) -> Probe:
        if self.probe is None or not self.probe.running:
            self.probe = Probe(self.service, self.namespace, rate=self.rate.value,
                               path=self.path, timeout=self.timeout, parse=_parse_ok,
                               cluster=self.cluster).start()
            self.status.value = f"sending {self.rate.value} req/s via {self.probe.route.describe()}"
        if not self.button.value:
            self.button.value = True
        return self.probe

    def stop_load(self) -> None:
        if self.probe is not None:
            summary = self.probe.stop()
            self.status.value = f"stopped: {summary}"
        if self.button.value:
            self.button.value = False

    def _on_stop(self) -> None:
        self.stop_load()


class HPAChart(Live):
    """CPU utilization (with the target) and replica count of an HPA over time."""

    def __init__(self, name: str, namespace: str, *, interval: float = 2.0,
                 cluster: Cluster | None = None) -> None:
        super().__init__()
        self.cluster = current(cluster)
        self.name, self.namespace = name, namespace
        self.samples: list[tuple[float, HPAStatus]] = []
        self._t0 = time.monotonic()
        self.widget = go.FigureWidget(layout=go.Layout(
            title=f"hpa/{name}", height=300, xaxis_title="seconds",
            yaxis={"title": "CPU % of request", "rangemode": "tozero"},
            yaxis2={"title": "replicas", "overlaying": "y", "side": "right",
                    "rangemode": "tozero", "dtick": 1},
            margin={"l": 50, "r": 50, "t": 40, "b": 40}))
        self.widget.add_scatter(name="CPU %", mode="lines+markers")
        self.widget.add_scatter(name="target %", mode="lines", line={"dash": "dash"})
        self.widget.add_scatter(name="replicas", mode="lines", line_shape="hv", yaxis="y2")
        self._every(interval, self._sample, "hpa-chart")

    def _sample(self) -> None:
        st = hpa_status(self.name, self.namespace, cluster=self.cluster)
        self.samples.append((time.monotonic() - self._t0, st))
        xs = [round(t, 1) for t, _ in self.samples]
        with self.widget.batch_update():
            cpu, target, reps = self.widget.data
            cpu.x, cpu.y = xs, [s.cpu_percent for _, s in self.samples]
            target.x, target.y = xs, [s.cpu_target for _, s in self.samples]
            reps.x, reps.y = xs, [s.current_replicas for _, s in self.samples]
            self.widget.layout.title = f"hpa/{self.name}: {st.targets}, {st.current_replicas} " \
                                       f"replicas"


def hpa_panel(hpa: str, service: str, namespace: str, **kw: object) -> w.VBox:
    """LoadControl above HPAChart; returns the box with `.controls` for close()."""
    load = LoadControl(service, namespace, **kw)  # type: ignore[arg-type]
    chart = HPAChart(hpa, namespace, cluster=load.cluster)
    box = w.VBox([load.widget, chart.widget])
    box.controls = (load, chart)  # type: ignore[attr-defined]
    return box
