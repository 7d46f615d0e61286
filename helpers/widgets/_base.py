"""Shared plumbing for live widgets: stoppable background loops, colours, close_all()."""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable

# One colour per version, in order of first appearance, shared by every widget so the pod
# board, the traffic chart and the timeline agree on what "green" means.
_PALETTE = ["#2f81f7", "#2da44e", "#bf8700", "#8250df", "#cf6b00", "#1b7c83", "#bc4c00",
            "#6639ba"]
_colours: dict[str, str] = {}
FAILURE = "#cf222e"


def colour(version: str | None) -> str:
    key = version or "?"
    if key not in _colours:
        _colours[key] = _PALETTE[len(_colours) % len(_PALETTE)]
    return _colours[key]


class Loop:
    """Call `fn` every `interval` seconds on a daemon thread until stop(); errors are kept."""

    def __init__(self, fn: Callable[[], None], interval: float, name: str) -> None:
        self.fn, self.interval = fn, interval
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> Loop:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.fn()
                self.error = None
            except Exception as exc:  # keep the widget alive; show the error instead
                self.error = exc
            self._stop.wait(max(0.05, self.interval - (time.monotonic() - started)))

    def stop(self, timeout: float = 3.0) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()


_live: weakref.WeakSet = weakref.WeakSet()


class Live:
    """Base for widgets with background work: display it, then close() it (or close_all())."""

    widget: object

    def __init__(self) -> None:
        self._loops: list[Loop] = []
        self.closed = False
        _live.add(self)

    def _every(self, interval: float, fn: Callable[[], None], name: str) -> Loop:
        loop = Loop(fn, interval, f"rollout-labs-{name}").start()
        self._loops.append(loop)
        return loop

    def stop(self) -> None:
        """Stop background updates; the widget stays on screen with its last state."""
        for loop in self._loops:
            loop.stop()
        self._on_stop()

    def _on_stop(self) -> None:
        pass

    def close(self) -> None:
        """Stop background updates and remove the widget."""
        if self.closed:
            return
        self.closed = True
        self.stop()
        close = getattr(self.widget, "close", None)
        if close:
            close()

    @property
    def threads_alive(self) -> int:
        return sum(loop.alive for loop in self._loops)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


def close_all() -> int:
    """Close every live widget (a lab's cleanup cell); returns how many were closed."""
    items = list(_live)
    for w in items:
        w.close()
    return len(items)
