"""A live pod board: one tile per pod, coloured by version, styled by phase and readiness.

A watch on the API keeps the board current (the same mechanism `kubectl get pods -w`
uses), and the HTML is redrawn at most `hz` times a second so a busy rollout stays cheap.
"""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime

import ipywidgets as w
from kubernetes import watch

from helpers import _api
from helpers.cluster import Cluster, current
from helpers.pods import PodView, view
from helpers.widgets._base import FAILURE, Live, colour

BAD = {"ImagePullBackOff", "ErrImagePull", "CrashLoopBackOff", "Error", "InvalidImageName",
       "CreateContainerConfigError", "Unschedulable"}


def tile(p: PodView, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    age = f"{int((now - p.created).total_seconds())}s" if p.created else ""
    base = colour(p.version)
    if p.deleting:
        style = f"background:{base};opacity:.35;text-decoration:line-through"
    elif p.ready:
        style = f"background:{base};color:white"
    else:
        style = (f"background:repeating-linear-gradient(45deg,{base}33,{base}33 6px,"
                 f"{base}66 6px,{base}66 12px);border:2px dashed {base}")
    status_colour = FAILURE if p.status in BAD else "inherit"
    short = p.name.rsplit("-", 1)[-1] if "-" in p.name else p.name
    return (f'<div title="{html.escape(p.name)}" style="{style};border-radius:6px;padding:6px;'
            f'width:118px;font:12px/1.35 monospace;margin:3px">'
            f"<b>{html.escape(short)}</b> {html.escape(age)}<br>{html.escape(p.version)}<br>"
            f'<span style="color:{status_colour}">{html.escape(p.status)}'
            f'{" ✓" if p.ready and not p.deleting else ""}</span></div>')


def render(pods: list[PodView], title: str = "") -> str:
    now = datetime.now(UTC)
    tiles = "".join(tile(p, now) for p in sorted(pods, key=lambda p: (p.created or now, p.name)))
    versions = sorted({p.version for p in pods})
    ready = sum(p.ready and not p.deleting for p in pods)
    legend = " ".join(f'<span style="background:{colour(v)};color:white;padding:1px 6px;'
                      f'border-radius:4px">{html.escape(v)}</span>' for v in versions)
    head = (f"<div style='font:13px sans-serif;margin-bottom:4px'><b>{html.escape(title)}</b> "
            f"{len(pods)} pods, {ready} ready &nbsp; {legend} &nbsp; <small>solid = ready, "
            f"striped = not ready, faded = terminating</small></div>")
    body = tiles or "<i>no pods</i>"
    return f"{head}<div style='display:flex;flex-wrap:wrap'>{body}</div>"


class PodBoard(Live):
    """`PodBoard(ns, "app=podinfo")`: display it; call close() when done."""

    def __init__(self, namespace: str, selector: str | Mapping[str, str] | None = None, *,
                 hz: float = 2.0, cluster: Cluster | None = None, title: str | None = None
                 ) -> None:
        super().__init__()
        self.cluster = current(cluster)
        self.namespace = namespace
        self.selector = _api.map_selector(selector) if isinstance(selector, Mapping) \
            else (selector or "")
        self.title = title if title is not None else f"{namespace} {self.selector}".strip()
        self.widget = w.HTML(render([], self.title))
        self._pods: dict[str, dict] = {}
        self._lock = threading.Lock()
        self._dirty = True
        self._drawn = 0.0
        self._stopping = threading.Event()
        self._api = self.cluster.new_api_client(pool_maxsize=2)
        self._watch = watch.Watch()
        self._watcher = threading.Thread(target=self._watch_loop, daemon=True,
                                         name="rollout-labs-podboard-watch")
        self._watcher.start()
        self._every(1.0 / hz, self._redraw, "podboard-render")

    @property
    def pods(self) -> list[PodView]:
        with self._lock:
            return [view(p) for p in self._pods.values()]

    def _relist(self) -> str:
        data = _api.request(self._api, "GET", _api.POD.path(self.namespace),
                            query={"labelSelector": self.selector or None})
        with self._lock:
            self._pods = {p["metadata"]["name"]: p for p in data.get("items") or []}
            self._dirty = True
        return data.get("metadata", {}).get("resourceVersion", "")

    def _watch_loop(self) -> None:
        from kubernetes import client as k8s

        core = k8s.CoreV1Api(self._api)
        while not self._stopping.is_set():
            try:
                rv = self._relist()
                kwargs = {"label_selector": self.selector or None, "timeout_seconds": 30,
                          "_request_timeout": 40, "deserialize": False}
                if rv:
                    kwargs["resource_version"] = rv
                for event in self._watch.stream(core.list_namespaced_pod, self.namespace,
                                                **kwargs):
                    if self._stopping.is_set():
                        break
                    obj, kind = event.get("object") or {}, event.get("type")
                    name = obj.get("metadata", {}).get("name")
                    if not name or kind not in ("ADDED", "MODIFIED", "DELETED"):
                        continue
                    with self._lock:
                        if kind == "DELETED":
                            self._pods.pop(name, None)
                        else:
                            self._pods[name] = obj
                        self._dirty = True
            except Exception:
                if self._stopping.wait(1.0):
                    break

    def _redraw(self) -> None:
        with self._lock:
            dirty, self._dirty = self._dirty, False
        # ages change every second, so redraw at least once a second anyway
        if dirty or time.monotonic() - self._drawn >= 1.0:
            self._drawn = time.monotonic()
            self.widget.value = render(self.pods, self.title)

    def _on_stop(self) -> None:
        self._stopping.set()
        self._watch.stop()
        self._watcher.join(timeout=3)
        self._api.close()

    @property
    def threads_alive(self) -> int:
        return super().threads_alive + int(self._watcher.is_alive())
