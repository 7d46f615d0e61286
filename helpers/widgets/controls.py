"""Controls that act on the cluster: replica slider, image picker, blue/green switch.

Each control calls the same helper a lab cell would call (`rollout.scale`, `set_image`,
`switch_service`) on a background thread, and shows the matching kubectl command and its
output, so clicking teaches the same lesson as typing.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Callable, Mapping, Sequence

import ipywidgets as w

from helpers import rollout
from helpers._api import DEPLOYMENT, SERVICE
from helpers.cluster import Cluster, current
from helpers.kubectl import Step
from helpers.widgets._base import FAILURE, Live


def _step_html(step: Step | str, error: bool = False) -> str:
    text = str(step)
    colour = FAILURE if error else "inherit"
    return (f'<pre style="margin:0;font-size:12px;color:{colour};white-space:pre-wrap">'
            f"{html.escape(text)}</pre>")


class _Action(Live):
    """Runs one cluster action at a time off the UI thread and reports into `self.out`."""

    def __init__(self) -> None:
        super().__init__()
        self.out = w.HTML()
        self._busy = threading.Lock()
        self.last_error: BaseException | None = None
        self._workers: list[threading.Thread] = []

    def _run(self, fn: Callable[[], Step | str | None]) -> threading.Thread:
        def work() -> None:
            with self._busy:
                try:
                    result = fn()
                    if result is not None:
                        self.out.value = _step_html(result)
                    self.last_error = None
                except Exception as exc:  # show the helper's message, keep the widget usable
                    self.last_error = exc
                    self.out.value = _step_html(f"{type(exc).__name__}: {exc}", error=True)

        t = threading.Thread(target=work, daemon=True, name="rollout-labs-action")
        self._workers = [x for x in self._workers if x.is_alive()] + [t]
        t.start()
        return t

    def wait(self, timeout: float = 120) -> None:
        """Block until the last action finished (tests, unattended notebooks)."""
        for t in list(self._workers):
            t.join(timeout)

    def _on_stop(self) -> None:
        self.wait(timeout=5)


class ReplicaSlider(_Action):
    """A slider bound to `kubectl scale`; it also follows changes made elsewhere (HPA)."""

    def __init__(self, name: str, namespace: str, *, min: int = 0, max: int = 10,
                 follow: bool = True, cluster: Cluster | None = None) -> None:
        super().__init__()
        self.cluster = current(cluster)
        self.name, self.namespace = name, namespace
        self._syncing = False
        self.slider = w.IntSlider(value=self._replicas(), min=min, max=max,
                                  description="replicas", continuous_update=False)
        self.slider.observe(self._changed, names="value")
        self.widget = w.VBox([self.slider, self.out])
        if follow:
            self._every(1.0, self._follow, "replica-follow")

    def _replicas(self) -> int:
        d = self.cluster.get(DEPLOYMENT.path(self.namespace, self.name))
        return int((d or {}).get("spec", {}).get("replicas", 0))

    def _changed(self, change: dict) -> None:
        if not self._syncing:
            self._run(lambda: rollout.scale(self.name, self.namespace, int(change["new"]),
                                            cluster=self.cluster))

    def set(self, replicas: int) -> None:
        """Move the slider (as a learner would); scaling happens in the background."""
        self.slider.value = replicas

    def _follow(self) -> None:
        if self._busy.locked():
            return
        n = self._replicas()
        if n != self.slider.value:
            self._syncing = True
            try:
                self.slider.value = n
            finally:
                self._syncing = False


class ImagePicker(_Action):
    """Pick an image, press "Roll out": set image, then watch `rollout status` messages."""

    def __init__(self, name: str, namespace: str, container: str, images: Sequence[str], *,
                 timeout: float = 120, change_cause: bool = True,
                 cluster: Cluster | None = None) -> None:
        super().__init__()
        self.cluster = current(cluster)
        self.name, self.namespace, self.container = name, namespace, container
        self.timeout, self.change_cause = timeout, change_cause
        self.picker = w.Dropdown(options=list(images), description="image")
        self.button = w.Button(description="Roll out", button_style="primary", icon="play")
        self.button.on_click(lambda _b: self.roll_out())
        self.widget = w.VBox([w.HBox([self.picker, self.button]), self.out])

    def roll_out(self, image: str | None = None) -> threading.Thread:
        image = image or self.picker.value
        if image != self.picker.value:
            self.picker.value = image

        def act() -> str:
            cause = f"set image {self.container}={image}" if self.change_cause else None
            step = rollout.set_image(self.name, self.namespace, self.container, image,
                                     change_cause=cause, cluster=self.cluster)
            lines = [str(step), f"$ kubectl rollout status deployment/{self.name} -n "
                                f"{self.namespace}"]

            def note(msg: str) -> None:
                lines.append(msg)
                self.out.value = _step_html("\n".join(lines))

            rollout.wait_for_rollout(self.name, self.namespace, timeout=self.timeout,
                                     on_message=note, cluster=self.cluster)
            return "\n".join(lines)

        return self._run(act)


class BlueGreenSwitch(_Action):
    """Toggle which Deployment a Service selects: {"blue": {...}, "green": {...}}."""

    def __init__(self, service: str, namespace: str, selectors: Mapping[str, Mapping[str, str]],
                 *, cluster: Cluster | None = None) -> None:
        super().__init__()
        self.cluster = current(cluster)
        self.service, self.namespace = service, namespace
        self.selectors = {k: dict(v) for k, v in selectors.items()}
        self.toggle = w.ToggleButtons(options=list(self.selectors), value=self._active(),
                                      description="Service →")
        self.toggle.observe(self._changed, names="value")
        self.widget = w.VBox([self.toggle, self.out])

    def _active(self) -> str | None:
        svc = self.cluster.get(SERVICE.path(self.namespace, self.service)) or {}
        sel = svc.get("spec", {}).get("selector") or {}
        return next((k for k, v in self.selectors.items() if v == sel), None)

    def _changed(self, change: dict) -> None:
        if change["new"] is not None:
            self.switch(change["new"])

    def switch(self, colour: str) -> threading.Thread:
        if self.toggle.value != colour:
            self.toggle.value = colour  # observer calls back into switch()
            return self._workers[-1]
        return self._run(lambda: rollout.switch_service(
            self.service, self.namespace, self.selectors[colour], cluster=self.cluster))
