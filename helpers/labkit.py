"""Small conveniences for the lab notebooks (labs/*.ipynb), on top of the other helpers.

Everything here goes through the public Kubernetes API (helpers.cluster, helpers.rollout,
helpers.traffic), so it works the same on the sandbox, minikube, kind or a cloud cluster.
"""

from __future__ import annotations

import html
import math
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from helpers._api import DEPLOYMENT
from helpers.cluster import Cluster, connect, current, lab_namespace
from helpers.pods import is_ready, list_pods, view

T = TypeVar("T")
REPO = Path(__file__).resolve().parent.parent
MANIFESTS = REPO / "manifests"


# --- starting a lab ---------------------------------------------------------------------


def start(lab: str, namespace: str, *, fresh: bool = True) -> Cluster:
    """Connect to the chosen cluster and give the lab a clean namespace of its own."""
    c = connect()
    lab_namespace(lab, namespace, fresh=fresh, cluster=c)
    where = "the built-in sandbox" if c.is_sandbox else f"kubeconfig context {c.context!r}"
    print(f"cluster: {where} ({c.server})\nnamespace: {namespace} (label rollout-labs.io/lab={lab}"
          f"{', freshly created' if fresh else ''})")
    return c


def manifest(*parts: str) -> str:
    """Path of a file or folder under manifests/, relative to the notebook's folder.

    Relative, so the kubectl command shown in the notebook is one a learner can copy.
    """
    target = MANIFESTS.joinpath(*parts)
    if not target.exists():
        raise FileNotFoundError(f"manifests/{'/'.join(parts)} does not exist")
    return os.path.relpath(target, Path.cwd())


def wait_until(fn: Callable[[], T], *, timeout: float, interval: float = 0.5,
               what: str = "the condition") -> T:
    """Call `fn` until it returns something truthy; raise TimeoutError after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {timeout:.0f}s")
        time.sleep(interval)


# --- pods -------------------------------------------------------------------------------


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def ready_since(pod: Mapping[str, Any]) -> datetime | None:
    """When the pod last became Ready (its Ready condition's lastTransitionTime)."""
    if not is_ready(pod):
        return None
    for cond in pod.get("status", {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return _time(cond.get("lastTransitionTime"))
    return None


def serving_pods(namespace: str, selector: str | Mapping[str, str], *,
                 cluster: Cluster | None = None) -> list[dict]:
    """Pods that are Ready and not being deleted: the ones a Service sends traffic to."""
    return [p for p in list_pods(namespace, selector, cluster=cluster)
            if is_ready(p) and not p["metadata"].get("deletionTimestamp")]


def wait_for_serving(namespace: str, selector: str | Mapping[str, str], count: int, *,
                     timeout: float = 120, cluster: Cluster | None = None) -> list[str]:
    """Wait until exactly `count` pods serve (Ready, not terminating); return their names."""
    def names() -> list[str] | None:
        pods = serving_pods(namespace, selector, cluster=cluster)
        return [p["metadata"]["name"] for p in pods] if len(pods) == count else None

    return wait_until(names, timeout=timeout, interval=0.2,
                      what=f"exactly {count} Ready pods matching {selector}")


def wait_for_scale_in(namespace: str, selector: str | Mapping[str, str], count: int, *,
                      timeout: float = 120, cluster: Cluster | None = None) -> list[str]:
    """Wait until exactly `count` pods are left that are not being deleted, all Ready; return
    their names.

    Which pods the controller deleted is what a scale-down check needs; a survivor that misses
    one readiness probe on a busy machine must not look deleted, so readiness is only waited for.
    """
    def names() -> list[str] | None:
        left = [p for p in list_pods(namespace, selector, cluster=cluster)
                if not p["metadata"].get("deletionTimestamp")]
        if len(left) == count and all(is_ready(p) for p in left):
            return [p["metadata"]["name"] for p in left]
        return None

    return wait_until(names, timeout=timeout, interval=0.2,
                      what=f"exactly {count} pods matching {selector} left after the scale-in")


class PodTable(list):
    """Pods as a small table: name, status, version, age and how long each has been Ready."""

    def __init__(self, pods: Iterable[Mapping[str, Any]], now: datetime | None = None) -> None:
        now = now or datetime.now(UTC)
        self.taken = now
        rows = []
        for p in pods:
            v = view(p)
            since = ready_since(p)
            rows.append({
                "name": v.name, "status": v.status, "version": v.version, "node": v.node,
                "age": round((now - v.created).total_seconds()) if v.created else None,
                "ready_for": round((now - since).total_seconds(), 1) if since else None,
            })
        super().__init__(sorted(rows, key=lambda r: (-(r["age"] or 0), r["name"])))

    def _repr_html_(self) -> str:
        head = "".join(f"<th style='text-align:left;padding:2px 10px'>{h}</th>"
                       for h in ("pod", "status", "version", "age (s)", "ready for (s)"))
        body = "".join(
            "<tr>" + "".join(f"<td style='padding:2px 10px'>{html.escape(str(x))}</td>" for x in
                             (r["name"], r["status"], r["version"], r["age"],
                              "-" if r["ready_for"] is None else r["ready_for"])) + "</tr>"
            for r in self)
        return f"<table style='font:12px monospace'><tr>{head}</tr>{body}</table>"

    def __str__(self) -> str:
        lines = [f"{'POD':40} {'STATUS':18} {'VERSION':8} {'AGE':>5} {'READY FOR':>9}"]
        lines += [f"{r['name']:40} {r['status']:18} {r['version']:8} {r['age']!s:>5} "
                  f"{'-' if r['ready_for'] is None else r['ready_for']!s:>9}" for r in self]
        return "\n".join(lines)

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(str(self))


def pod_table(namespace: str, selector: str | Mapping[str, str] | None = None, *,
              terminating: bool = False, cluster: Cluster | None = None) -> PodTable:
    """The pods (by default without those already shutting down) as a PodTable."""
    pods = list_pods(namespace, selector, cluster=cluster)
    if not terminating:
        pods = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
    return PodTable(pods)


# --- lab 02: recovery time --------------------------------------------------------------


@dataclass
class Recovery:
    seconds: float
    replacement: str
    deleted: str

    def __str__(self) -> str:
        return (f"pod {self.deleted} was replaced by {self.replacement}; the Deployment was back "
                f"to full strength {self.seconds:.1f}s after the delete")


def measure_recovery(namespace: str, selector: str, desired: int, deleted: str,
                     started: float, *, known: Iterable[str] = (), timeout: float = 90,
                     cluster: Cluster | None = None) -> Recovery:
    """Seconds from `started` (time.monotonic() at the delete) until `desired` pods serve again
    and one of them is new (its name not in `known`)."""
    known = set(known) | {deleted}

    def back() -> str | None:
        pods = serving_pods(namespace, selector, cluster=cluster)
        fresh = [p["metadata"]["name"] for p in pods if p["metadata"]["name"] not in known]
        return fresh[0] if len(pods) >= desired and fresh else None

    name = wait_until(back, timeout=timeout, interval=0.1,
                      what=f"a replacement for {deleted} becoming Ready")
    return Recovery(time.monotonic() - started, name, deleted)


# --- lab 03: which pods go first --------------------------------------------------------


def ready_bucket(seconds: float | None) -> int:
    """floor(log2(nanoseconds Ready)), -1 when not ready: the ReplicaSet controller's
    logarithmic ranking (LogarithmicScaleDown), so 2.2 s and 4.2 s fall in one bucket."""
    if seconds is None or seconds <= 0:
        return -1
    return int(math.floor(math.log2(seconds * 1e9)))


def check_scale_down_order(rows: PodTable, after: Iterable[str], *,
                           at: datetime | None = None) -> None:
    """The pods removed by a scale-down were never ones Ready for longer than a survivor.

    Ready times are compared in the controller's log2 buckets; ties are broken at random. The
    controller ranked the pods some time between the table (`rows.taken`) and `at` (now), and
    buckets shift as pods age, so only a pair whose buckets differ over that whole window
    counts as a wrong choice.
    """
    kept = set(after)
    before = [r for r in rows if r["status"] != "Terminating"]  # already on their way out
    removed = [r for r in before if r["name"] not in kept]
    survivors = [r for r in before if r["name"] in kept]
    if not removed:
        raise AssertionError("No pod was removed: the scale-down has not happened yet.\n"
                             "How to fix: move the slider (or run kubectl scale) to 2 first.")
    taken = getattr(rows, "taken", None)
    window = max(0.0, ((at or datetime.now(UTC)) - taken).total_seconds()) if taken else 0.0
    window += 0.1  # ready_for is rounded to 0.1 s
    # Rule 5 comes before rule 6: a pod sharing its node with more pods of the set goes first.
    # Compare ready times only between pods whose nodes hold equally many of them.
    per_node: dict[str, int] = {}
    for r in before:
        per_node[r.get("node", "")] = per_node.get(r.get("node", ""), 0) + 1
    for r in removed:
        for s in survivors:
            if per_node[r.get("node", "")] != per_node[s.get("node", "")]:
                continue
            if r["ready_for"] is None or s["ready_for"] is None:
                continue
            if ready_bucket(r["ready_for"] - 0.1) > ready_bucket(s["ready_for"] + window):
                raise AssertionError(
                    f"{r['name']} (Ready for {r['ready_for']}s) was removed although "
                    f"{s['name']} (Ready for {s['ready_for']}s) is younger.\nHow to fix: "
                    f"nothing in the lab; this would be a controller bug worth reporting.")
    names = ", ".join(f"{r['name']} (Ready {r['ready_for']}s)" for r in removed)
    print(f"✓ removed, as the ranking predicts (most recently ready first): {names}", flush=True)


# --- lab 04: ReplicaSet sizes step by step ------------------------------------------------


def _tag(image: str) -> str:
    ref = image.split(",")[0]
    return ref.rsplit(":", 1)[1] if ":" in ref.rsplit("/", 1)[-1] else "latest"


def rollout_steps(samples: Iterable[tuple[float, Sequence[Any]]]) -> list[dict[str, tuple]]:
    """Distinct consecutive states of a RolloutTimeline: {image tag: (desired, ready)}."""
    out: list[dict[str, tuple]] = []
    for _, sizes in samples:
        state: dict[str, tuple] = {}
        for r in sizes:
            d, rd = state.get(_tag(r.image), (0, 0))
            state[_tag(r.image)] = (d + r.desired, rd + r.ready)
        if not out or out[-1] != state:
            out.append(state)
    return out


class Steps(list):
    """rollout_steps() as a table: one row per state, `desired/ready` per version."""

    def __init__(self, states: list[dict[str, tuple]], tags: Sequence[str]) -> None:
        super().__init__(states)
        self.tags = list(tags)

    def __str__(self) -> str:
        head = "step  " + "".join(f"{t:>12}" for t in self.tags) + "   total pods  ready"
        lines = [head]
        for i, st in enumerate(self, 1):
            cells = "".join(f"{'/'.join(map(str, st.get(t, (0, 0)))):>12}" for t in self.tags)
            total = sum(d for d, _ in st.values())
            ready = sum(r for _, r in st.values())
            lines.append(f"{i:>4}  {cells}   {total:>10}  {ready:>5}")
        return "\n".join(lines)

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(str(self))


def steps_table(samples: Iterable[tuple[float, Sequence[Any]]], tags: Sequence[str]) -> Steps:
    """The ReplicaSet sizes a RolloutTimeline recorded, as desired/ready per version tag."""
    return Steps(rollout_steps(samples), tags)


# --- lab 05: progress deadline ------------------------------------------------------------


def progressing_reason(namespace: str, name: str, *, cluster: Cluster | None = None) -> str:
    """The reason of the Deployment's Progressing condition ("" when it has none)."""
    d = current(cluster).get(DEPLOYMENT.path(namespace, name)) or {}
    for cond in d.get("status", {}).get("conditions") or []:
        if cond.get("type") == "Progressing":
            return cond.get("reason", "")
    return ""


def check_progress_deadline_exceeded(namespace: str, name: str, *, wait: float = 60,
                                     cluster: Cluster | None = None) -> None:
    """The Deployment gave up: Progressing=False with reason ProgressDeadlineExceeded."""
    try:
        wait_until(lambda: progressing_reason(namespace, name, cluster=cluster)
                   == "ProgressDeadlineExceeded", timeout=wait, interval=1,
                   what="ProgressDeadlineExceeded")
    except TimeoutError:
        reason = progressing_reason(namespace, name, cluster=cluster)
        raise AssertionError(
            f"deployment/{name} still reports Progressing reason {reason or '(none)'}.\n"
            f"How to fix: lower spec.progressDeadlineSeconds (kubectl patch deployment {name} "
            f"-n {namespace} -p '{{\"spec\":{{\"progressDeadlineSeconds\":10}}}}') and wait a "
            f"little longer than that.") from None
    print(f"✓ deployment/{name} reports ProgressDeadlineExceeded", flush=True)


# --- lab 08: StatefulSet update order ---------------------------------------------------


def statefulset_update_order(namespace: str, name: str, image: str, *, replicas: int,
                             partition: int = 0, timeout: float = 240, interval: float = 0.2,
                             cluster: Cluster | None = None) -> list[str]:
    """Watch a StatefulSet roll out `image`; return the pods in the order they came back
    Ready with it. Stops once every ordinal >= partition runs the image, or at the deadline."""
    order: list[str] = []
    want = {f"{name}-{i}" for i in range(partition, replicas)}
    deadline = time.monotonic() + timeout
    while set(order) != want:
        for p in list_pods(namespace, {"app": name}, cluster=cluster):
            n = p["metadata"]["name"]
            v = view(p)
            if n in want and n not in order and v.image == image and v.ready \
                    and not v.deleting:
                order.append(n)
        if time.monotonic() > deadline:
            raise TimeoutError(f"after {timeout:.0f}s only {order} run {image}; look at "
                               f"kubectl get pods -n {namespace}")
        time.sleep(interval)
    return order


def check_update_order(order: Sequence[str], expected: Sequence[str]) -> None:
    if list(order) != list(expected):
        raise AssertionError(f"Pods were updated in the order {list(order)}, expected "
                             f"{list(expected)}.\nHow to fix: check updateStrategy (RollingUpdate) "
                             f"and podManagementPolicy (OrderedReady) in the manifest.")
    print(f"✓ updated from the highest ordinal down: {' → '.join(order)}", flush=True)


# --- lab 09: one measured update --------------------------------------------------------


@dataclass
class Measurement:
    variant: str
    summary: Any  # helpers.traffic.Summary
    rollout_seconds: float
    note: str = ""
    steps: list[str] = field(default_factory=list)

    @property
    def failures(self) -> int:
        return self.summary.failures

    @property
    def gap(self) -> float:
        return self.summary.longest_gap

    def __str__(self) -> str:
        return (f"{self.variant}: {self.summary.failures} of {self.summary.total} requests "
                f"failed, {self.summary.longest_gap:.2f}s without service, rollout "
                f"{self.rollout_seconds:.1f}s")


def measure_update(name: str, namespace: str, manifest_path: str, new_image: str, *,
                   container: str = "podinfo", rate: float = 50, settle: float = 2.0,
                   after: float = 6.0, timeout: float = 180, on_probe: Callable | None = None,
                   cluster: Cluster | None = None) -> Measurement:
    """Apply a variant, wait until it serves, then update its image under steady traffic.

    The probe starts `settle` seconds before the update and runs `after` seconds past the end
    of the rollout (old pods may still be shutting down), so every gap is inside the window.
    """
    from helpers import rollout, traffic

    steps = [str(rollout.apply(manifest_path, namespace, cluster=cluster))]
    rollout.wait_for_rollout(name, namespace, timeout=timeout, quiet=True, cluster=cluster)
    wait_until(lambda: traffic.fetch_once(name, namespace, cluster=cluster).ok, timeout=30,
               what=f"service/{name} answering")
    probe = traffic.Probe(name, namespace, rate=rate, cluster=cluster).start()
    try:
        if on_probe is not None:
            on_probe(probe)
        time.sleep(settle)
        t0 = time.monotonic()
        steps.append(str(rollout.set_image(name, namespace, container, new_image,
                                           cluster=cluster)))
        status = rollout.wait_for_rollout(name, namespace, timeout=timeout, quiet=True,
                                          cluster=cluster)
        seconds = time.monotonic() - t0
        steps.append("\n".join(status.messages))
        time.sleep(after)
    finally:
        summary = probe.stop()
        probe.close()
    return Measurement(name, summary, seconds, steps=steps)


def results_table(results: Mapping[str, Measurement]) -> str:
    """An HTML table of the clinic's measurements (display with IPython.display.HTML)."""
    head = ("<tr><th>variant</th><th>requests</th><th>failed</th><th>failed %</th>"
            "<th>seconds without service</th><th>rollout duration (s)</th></tr>")
    rows = []
    for m in results.values():
        s = m.summary
        colour = "#1a7f37" if s.failures == 0 else "#cf222e"
        rows.append(f"<tr><td>{html.escape(m.variant)}</td><td>{s.total}</td>"
                    f"<td style='color:{colour};font-weight:600'>{s.failures}</td>"
                    f"<td>{s.failure_rate:.1%}</td><td>{s.longest_gap:.2f}</td>"
                    f"<td>{m.rollout_seconds:.1f}</td></tr>")
    style = "<style>.rl-t td,.rl-t th{padding:3px 12px;text-align:right}</style>"
    return f"{style}<table class='rl-t'>{head}{''.join(rows)}</table>"


def results_figure(results: Mapping[str, Measurement]):
    """Failed requests and seconds without service per variant, side by side (plotly)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    names = list(results)
    fig = make_subplots(rows=1, cols=3, subplot_titles=(
        "failed requests", "longest gap without service (s)", "rollout duration (s)"))
    colours = ["#cf222e" if results[n].failures else "#1a7f37" for n in names]
    fig.add_bar(x=names, y=[results[n].failures for n in names], marker_color=colours,
                row=1, col=1, showlegend=False)
    fig.add_bar(x=names, y=[round(results[n].gap, 2) for n in names], marker_color=colours,
                row=1, col=2, showlegend=False)
    fig.add_bar(x=names, y=[round(results[n].rollout_seconds, 1) for n in names],
                marker_color="#57606a", row=1, col=3, showlegend=False)
    fig.update_layout(height=360, margin={"l": 40, "r": 20, "t": 40, "b": 90})
    return go.FigureWidget(fig)


# --- cleanup ----------------------------------------------------------------------------


def _ours(t: threading.Thread) -> bool:
    return t.name.startswith("rollout-labs")


def _flatten(things: Iterable[Any]) -> list[Any]:
    out: list[Any] = []
    for thing in things:
        if thing is None:
            continue
        controls = getattr(thing, "controls", None)  # hpa_panel's box holds its widgets here
        out.extend(_flatten(controls) if controls else [thing])
    return out


def _busy(thing: Any) -> bool:
    return bool(getattr(thing, "threads_alive", 0)) or bool(getattr(thing, "running", False))


def stop(*things: Any, final: bool = False, timeout: float = 10) -> None:
    """Stop widgets and probes: their background threads end, the widgets stay on screen
    with their last state (so the notebook still shows them).

    `final=True` (a lab's cleanup cell) also checks that no rollout-labs background thread
    at all is left in the kernel.
    """
    items = _flatten(things)
    for thing in items:
        halt = getattr(thing, "stop", None)
        if halt is not None:
            halt()
        route = getattr(thing, "route", None)
        if route is not None and hasattr(route, "close"):
            route.close()
    deadline = time.monotonic() + timeout
    while any(_busy(t) for t in items) or (final and ours_running()):
        if time.monotonic() > deadline:
            left = ours_running() if final else [type(t).__name__ for t in items if _busy(t)]
            raise AssertionError(f"background threads still running: {left}\nHow to fix: pass "
                                 f"every widget and probe of the lab to labkit.stop(...).")
        time.sleep(0.1)
    if final:
        print("✓ widgets and probes stopped; no background threads left", flush=True)


def ours_running() -> list[str]:
    """Names of rollout-labs background threads still alive (for a final check)."""
    return sorted(t.name for t in threading.enumerate() if _ours(t) and t.is_alive())


__all__ = [
    "start", "manifest", "wait_until", "ready_since", "serving_pods", "wait_for_serving", "PodTable", "pod_table",
    "Recovery", "measure_recovery", "rollout_steps", "steps_table", "progressing_reason",
    "check_progress_deadline_exceeded", "ready_bucket", "wait_for_scale_in", "check_scale_down_order",
    "statefulset_update_order", "check_update_order", "Measurement", "measure_update",
    "results_table", "results_figure", "stop", "ours_running",
]
