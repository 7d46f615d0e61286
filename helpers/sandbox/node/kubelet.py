"""The kubelet: makes the pods bound to its node real, and reports what really happens.

One `PodWorker` per pod (like the kubelet's pod workers) owns the pod's address, working
directory and containers; one `ContainerRunner` per container loops through pull, start, run,
exit and restart back-off, with its probes. Status is recomputed from that state and written
through the API's status subresource, coalesced per event-loop turn. Deletion runs preStop,
the stop signal and SIGKILL at the end of the grace period, then removes the pod object.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING

from .. import network
from ..apiserver.errors import ApiError
from ..client import Client
from ..config import SandboxConfig
from ..controllers.events import EventRecorder
from ..quantity import cpu_millis, memory_bytes
from ..storage.store import WatchEvent
from ..util import now, parse_time, rfc3339
from . import images as catalog
from .cgroups import Cgroups
from .env import ConfigError, container_argv, container_env
from .logs import PodLogs
from .probes import Prober, ProbeResult, http_get, resolve_port
from .pulls import ImageStore, go_duration
from .runtime import ContainerProcess, signal_number
from .status import ContainerState, build_status, pod_phase, terminated_state

if TYPE_CHECKING:
    from .metrics import MetricsCollector
    from .nodes import NodeSpec, PodAddresses

log = logging.getLogger("rollout_labs.sandbox.node")

CRASH_BACKOFF_START = 10.0
CRASH_BACKOFF_MAX = 300.0
CRASH_BACKOFF_RESET = 600.0  # a container that ran this long starts its back-off afresh
MIN_GRACE = 2.0  # the runtime's minimum stop timeout (kuberuntime minimumGracePeriodInSeconds)
CONFIG_RETRY = 10.0
# How long ErrImagePull shows before the kubelet's next sync turns it into ImagePullBackOff.
ERR_IMAGE_PULL_HOLD = 1.0

_SLEEP_RE = re.compile(r"^\s*(?:exec\s+)?(?:/bin/|/usr/bin/)?sleep\s+([0-9.]+)\s*;?\s*$")


def _default_pull_policy(image: str) -> str:
    ref = image.rsplit("/", 1)[-1]
    if "@" in ref:
        return "IfNotPresent"
    return "Always" if ":" not in ref or ref.endswith(":latest") else "IfNotPresent"


def sleep_seconds(command: list[str]) -> float | None:
    """The seconds of an exec hook that is only a sleep (`sleep 5`, `sh -c "sleep 5"`)."""
    if not command:
        return None
    prog = command[0].rsplit("/", 1)[-1]
    if prog == "sleep" and len(command) == 2:
        m = _SLEEP_RE.match("sleep " + command[1])
    elif prog in ("sh", "bash", "ash") and len(command) >= 3 and command[1] == "-c":
        m = _SLEEP_RE.match(command[2])
    else:
        return None
    return float(m.group(1)) if m else None


class ContainerRunner:
    """One container of a pod across its runs."""

    def __init__(self, worker: PodWorker, spec: dict, kind: str, restart_count: int = 0,
                 last_state: dict | None = None):
        self.worker = worker
        self.spec = spec
        self.kind = kind  # app | init | sidecar
        self.name = spec["name"]
        self.state = ContainerState(self.name, spec.get("image", ""), init=kind != "app",
                                    sidecar=kind == "sidecar", restart_count=restart_count,
                                    last_state=last_state or {})
        # Whether an earlier run exists (this kubelet's or one before a node restart).
        self.has_run = bool(last_state)
        self.proc: ContainerProcess | None = None
        self.info: catalog.ImageInfo | None = None
        self.task: asyncio.Task | None = None
        self._starting: asyncio.Future | None = None
        self.probers: dict[str, Prober] = {}
        self.backoff: float | None = None
        self.last_start = 0.0
        self.started_event = asyncio.Event()
        self.done = False  # finished for good (no restart)
        self._restart_now = False
        self._killing: asyncio.Task | None = None
        self._oom = False

    # -- helpers --------------------------------------------------------------------------------
    @property
    def field_path(self) -> str:
        key = "containers" if self.kind == "app" else "initContainers"
        return f"spec.{key}{{{self.name}}}"

    def event(self, etype: str, reason: str, message: str) -> None:
        self.worker.event(etype, reason, message, field_path=self.field_path)

    def dirty(self) -> None:
        self.worker.mark_dirty()

    @property
    def pod_ref(self) -> str:
        w = self.worker
        return f"{w.name}_{w.namespace}({w.uid})"

    # -- main loop ------------------------------------------------------------------------------
    async def run(self) -> None:
        while True:
            info = await self._ensure_image()
            try:
                env = container_env(self.worker.client, self.worker.pod_view(), self.spec,
                                    self.worker.kubelet.allocatable)
            except ConfigError as e:
                self.state.waiting("CreateContainerConfigError", str(e))
                self.event("Warning", "Failed", f"Error: {e}")
                self.dirty()
                await asyncio.sleep(CONFIG_RETRY)
                continue
            await self._start(info, env)
            if self.proc is None:
                await self._crash_backoff()
                continue
            code = await self.proc.wait()
            self._on_exit(code)
            if self.worker.terminating:
                return
            if not self._should_restart(code):
                self.done = True
                self.dirty()
                return
            if self._restart_now:
                self._restart_now = False
                continue
            await self._crash_backoff()

    def _should_restart(self, code: int) -> bool:
        if self._restart_now:
            return True
        if self.kind == "sidecar":
            return True
        policy = self.worker.pod["spec"].get("restartPolicy", "Always")
        if self.kind == "init":
            return code != 0 and policy != "Never"
        if policy == "Always":
            return True
        return policy == "OnFailure" and code != 0

    async def _crash_backoff(self) -> None:
        loop = asyncio.get_running_loop()
        ran = loop.time() - self.last_start
        if self.backoff is not None and ran >= CRASH_BACKOFF_RESET:
            self.backoff = None
        if self.backoff is None:
            self.backoff = CRASH_BACKOFF_START
            return  # the first restart is immediate, as the kubelet's back-off starts empty
        wait = self.last_start + self.backoff - loop.time()
        if wait > 0:
            seconds = int(self.backoff)
            self.state.state = {"waiting": {
                "reason": "CrashLoopBackOff",
                "message": f"back-off {go_duration(seconds)} restarting failed "
                           f"container={self.name} pod={self.pod_ref}"}}
            self.state.ready = False
            self.state.started = False
            self.event("Warning", "BackOff",
                       f"Back-off restarting failed container {self.name} in pod {self.pod_ref}")
            self.dirty()
            await asyncio.sleep(wait)
        self.backoff = min(self.backoff * 2, CRASH_BACKOFF_MAX)

    # -- image ----------------------------------------------------------------------------------
    async def _ensure_image(self) -> catalog.ImageInfo:
        store: ImageStore = self.worker.kubelet.images
        uid = self.worker.uid
        while True:
            image = self.spec.get("image", "")
            policy = self.spec.get("imagePullPolicy") or _default_pull_policy(image)
            try:
                catalog.parse_reference(image)
            except catalog.InvalidImageName as e:
                msg = (f'Failed to apply default image tag "{image}": couldn\'t parse image '
                       f'name "{image}": {e}')
                self.state.waiting("InvalidImageName", msg)
                self.event("Warning", "InspectFailed", msg)
                self.event("Warning", "Failed", "Error: InvalidImageName")
                self.dirty()
                await self.worker.spec_changed(60)
                continue
            info = catalog.resolve(image)
            present = info is not None and store.present(info)
            if policy == "Never":
                if present:
                    break
                msg = f'Container image "{image}" is not present with pull policy of Never'
                self.state.waiting("ErrImageNeverPull", msg)
                self.event("Warning", "ErrImageNeverPull", msg)
                self.event("Warning", "Failed", "Error: ErrImageNeverPull")
                self.dirty()
                await self.worker.spec_changed(60)
                continue
            if present and policy == "IfNotPresent":
                self.event("Normal", "Pulled",
                           f'Container image "{image}" already present on machine')
                break
            remaining = store.backoff_remaining(uid, image)
            if remaining > 0:
                err = catalog.pull_error(image) or "image pull failed"
                self.state.waiting("ImagePullBackOff",
                                   f'Back-off pulling image "{image}": ErrImagePull: {err}')
                self.event("Normal", "BackOff", f'Back-off pulling image "{image}"')
                self.event("Warning", "Failed", "Error: ImagePullBackOff")
                self.dirty()
                await self.worker.spec_changed(remaining)
                continue
            self.event("Normal", "Pulling", f'Pulling image "{image}"')
            pulled, total = await store.pull(info, quick=present)
            if self.spec.get("image", "") != image:
                continue
            if info is None:
                err = catalog.pull_error(image) or "not found"
                store.failed(uid, image)
                self.event("Warning", "Failed", f'Failed to pull image "{image}": {err}')
                self.event("Warning", "Failed", "Error: ErrImagePull")
                self.state.waiting("ErrImagePull", err)
                self.dirty()
                await self.worker.spec_changed(ERR_IMAGE_PULL_HOLD)
                continue
            store.succeeded(uid, image)
            self.event("Normal", "Pulled",
                       f'Successfully pulled image "{image}" in {go_duration(pulled)} '
                       f"({go_duration(total)} including waiting). "
                       f"Image size: {info.size_bytes} bytes.")
            break
        assert info is not None
        return info

    # -- start ----------------------------------------------------------------------------------
    async def _start(self, info: catalog.ImageInfo, env: dict[str, str]) -> None:
        w = self.worker
        if self.has_run:
            self.state.restart_count += 1
        self.has_run = True
        self.info = info
        argv = container_argv(self.spec, env)
        full_env = catalog.container_env(
            info, image=self.spec.get("image", ""), pod_name=w.hostname, namespace=w.namespace,
            pod_ip=w.pod_ip or "", argv=argv, hosts_file=str(w.kubelet.hosts_file),
            port_shift=network.shift_env(), env=env)
        run = self.state.restart_count
        log_path = w.kubelet.logs.path(w.namespace, w.name, w.uid, self.name, run)
        loop = asyncio.get_running_loop()
        self.last_start = loop.time()
        self._starting = asyncio.ensure_future(
            ContainerProcess.start(catalog.launch_argv(info), full_env, w.workdir, log_path))
        try:
            proc = await asyncio.shield(self._starting)
        except OSError as e:
            self._starting = None
            self.proc = None
            msg = (f"failed to create containerd task: failed to create shim task: {e}")
            self.state.last_state = terminated_state(128, now(), now(), "", "StartError", msg)
            self.state.waiting("RunContainerError", msg)
            self.event("Warning", "Failed", f"Error: {msg}")
            self.dirty()
            return
        self._starting = None
        self.proc = proc
        self.state.runtime_image = info.runtime_image
        self.state.image_id = info.image_id
        self.state.container_id = proc.container_id
        self.state.state = {"running": {"startedAt": rfc3339(proc.started_at)}}
        self.event("Normal", "Created", f"Created container: {self.name}")
        self.event("Normal", "Started", f"Started container: {self.name}")
        w.kubelet.metrics_track(w, self, proc)
        self._oom = False
        limits = (self.spec.get("resources") or {}).get("limits") or {}
        try:
            cpu = cpu_millis(limits["cpu"]) if "cpu" in limits else None
            mem = memory_bytes(limits["memory"]) if "memory" in limits else None
        except ValueError:
            cpu = mem = None
        w.kubelet.cgroups.add(self, proc.pid, cpu, mem, self._oom_killed)
        self._start_probes()
        self.dirty()
        self._post_start()

    def _oom_killed(self) -> None:
        self._oom = True

    def _post_start(self) -> None:
        hook = ((self.spec.get("lifecycle") or {}).get("postStart")) or {}
        if "httpGet" in hook:
            asyncio.get_running_loop().create_task(self._run_hook("PostStart", hook, 30))

    def _start_probes(self) -> None:
        spec = self.spec
        self.probers = {}
        startup = spec.get("startupProbe")
        self.state.started = startup is None
        self.state.ready = False
        if startup is not None:
            self._add_prober("startup", startup)
        else:
            self._start_running_probes()
            self.started_event.set()

    def _start_running_probes(self) -> None:
        if self.spec.get("livenessProbe") is not None:
            self._add_prober("liveness", self.spec["livenessProbe"])
        if self.spec.get("readinessProbe") is not None and self.kind != "init":
            self._add_prober("readiness", self.spec["readinessProbe"])
        elif self.kind != "init":
            self.state.ready = True

    def _add_prober(self, kind: str, probe: dict) -> None:
        label = kind.capitalize()

        def on_change(ok: bool, res: ProbeResult) -> None:
            self._probe_changed(kind, ok, res)

        def on_failure(res: ProbeResult) -> None:
            if self.worker.terminating and kind != "readiness":
                return
            self.event("Warning", "Unhealthy", f"{label} probe failed: {res.message}")

        def on_warning(msg: str) -> None:
            self.event("Warning", "ProbeWarning", f"{label} probe warning: {msg}")

        p = Prober(kind, probe, self.spec, self.worker.pod_ip or "127.0.0.1", on_change,
                   on_failure, on_warning)
        self.probers[kind] = p
        p.start()

    def _probe_changed(self, kind: str, ok: bool, res: ProbeResult) -> None:
        if self.proc is None or not self.proc.running:
            return
        if kind == "readiness":
            self.state.ready = ok and self.state.started
            self.dirty()
        elif kind == "startup":
            if ok:
                self.probers.pop("startup").stop()
                self.state.started = True
                self._start_running_probes()
                self.started_event.set()
                self.dirty()
            else:
                self._kill_for_restart("startup")
        elif kind == "liveness" and not ok:
            self._kill_for_restart("liveness")

    def stop_probes(self, keep_readiness: bool = False) -> None:
        for kind, p in list(self.probers.items()):
            if keep_readiness and kind == "readiness":
                continue
            p.stop()
            del self.probers[kind]

    def _kill_for_restart(self, why: str) -> None:
        if self._killing is not None or self.worker.terminating:
            return
        self.stop_probes()
        self.event("Normal", "Killing", f"Container {self.name} failed {why} probe, "
                                        "will be restarted")
        probe = self.spec.get(f"{why}Probe") or {}
        grace = probe.get("terminationGracePeriodSeconds")
        if grace is None:
            grace = self.worker.pod["spec"].get("terminationGracePeriodSeconds", 30)
        self._killing = asyncio.get_running_loop().create_task(self._kill(float(grace)))

    def restart_for_spec_change(self) -> None:
        if self.proc is None or not self.proc.running or self._killing is not None:
            return
        self.stop_probes()
        self._restart_now = True
        self.event("Normal", "Killing",
                   f"Container {self.name} definition changed, will be restarted")
        grace = self.worker.pod["spec"].get("terminationGracePeriodSeconds", 30)
        self._killing = asyncio.get_running_loop().create_task(self._kill(float(grace)))

    async def _kill(self, grace: float) -> None:
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + grace
            await self._pre_stop(deadline)
            await self._stop_process(max(deadline - loop.time(), MIN_GRACE))
        finally:
            self._killing = None

    # -- stopping -------------------------------------------------------------------------------
    def _stop_signal(self) -> int:
        sig = (self.spec.get("lifecycle") or {}).get("stopSignal")
        if not sig and self.info is not None:
            sig = self.info.stop_signal
        return signal_number(sig)

    async def _stop_process(self, grace: float) -> None:
        self.worker.kubelet.cgroups.remove(self)
        if self.proc is not None:
            await self.proc.stop(grace, self._stop_signal())

    async def _pre_stop(self, deadline: float) -> None:
        hook = ((self.spec.get("lifecycle") or {}).get("preStop")) or {}
        if not hook or self.proc is None or not self.proc.running:
            return
        timeout = deadline - asyncio.get_running_loop().time()
        if timeout <= 0:
            return
        await self._run_hook("PreStop", hook, timeout)

    async def _run_hook(self, which: str, hook: dict, timeout: float) -> None:
        w = self.worker
        try:
            async with asyncio.timeout(timeout):
                if "sleep" in hook:
                    await asyncio.sleep(float((hook["sleep"] or {}).get("seconds", 0)))
                elif "exec" in hook:
                    command = [str(c) for c in (hook["exec"] or {}).get("command") or []]
                    seconds = sleep_seconds(command)
                    if seconds is None:
                        self.event("Warning", f"Failed{which}Hook",
                                   f"Exec lifecycle hook ({command}) for Container \"{self.name}\" "
                                   f"in Pod \"{self.pod_ref}\" failed - error: the rollout-labs "
                                   "sandbox never runs commands from a manifest; only `sleep N` "
                                   "is understood, message: \"\"")
                        return
                    await asyncio.sleep(seconds)
                elif "httpGet" in hook:
                    hg = hook["httpGet"] or {}
                    port = resolve_port(hg.get("port"), self.spec)
                    if port is None:
                        return
                    res = await http_get(hg.get("host") or w.pod_ip or "127.0.0.1", port,
                                         hg.get("path") or "/", scheme=hg.get("scheme") or "HTTP",
                                         headers=hg.get("httpHeaders"), timeout=timeout)
                    if not res.ok and "statuscode" not in res.message:
                        self.event("Warning", f"Failed{which}Hook",
                                   f"HTTPGet hook failed: {res.message}")
        except TimeoutError:
            pass

    async def terminate(self, deadline: float, run_pre_stop: bool) -> None:
        """Stop this container for pod termination (preStop, stop signal, SIGKILL)."""
        if self._starting is not None and not self._starting.done():
            with contextlib.suppress(Exception):
                self.proc = await self._starting
        if self.proc is None or not self.proc.running:
            return
        self.stop_probes(keep_readiness=True)
        self.event("Normal", "Killing", f"Stopping container {self.name}")
        loop = asyncio.get_running_loop()
        if run_pre_stop and self._killing is None:
            await self._pre_stop(deadline)
        await self._stop_process(max(deadline - loop.time(), MIN_GRACE))

    def _on_exit(self, code: int) -> None:
        proc = self.proc
        assert proc is not None
        self.stop_probes()
        self.worker.kubelet.metrics_untrack(self.worker, self)
        self.worker.kubelet.cgroups.remove(self)
        term = terminated_state(code, proc.started_at, proc.finished_at, proc.container_id,
                                "OOMKilled" if self._oom else None, self._termination_message(code))
        self.state.ready = False
        self.state.started = False
        if self.worker.terminating or not self._should_restart(code):
            self.state.state = term
        else:
            self.state.last_state = term
            self.state.state = term  # until the restart or back-off replaces it
        self.dirty()

    def _termination_message(self, code: int) -> str | None:
        """terminationMessagePolicy FallbackToLogsOnError: the log's tail (80 lines, 2 KiB)
        becomes the message of a failed run. (The File policy reads a path inside the
        container, which a sandbox process has no place to write.)"""
        if code == 0 or self.spec.get("terminationMessagePolicy") != "FallbackToLogsOnError":
            return None
        if self.proc is None:
            return None
        from .logs import render_records, tail
        try:
            data = self.proc.writer.path.read_bytes()
        except OSError:
            return None
        text = render_records(tail(data, 80), False)[-2048:].decode("utf-8", "replace")
        return text or None

    def final_state(self) -> None:
        """After termination: the last run as `terminated`, the previous one as lastState."""
        proc = self.proc
        self.stop_probes()
        self.worker.kubelet.metrics_untrack(self.worker, self)
        self.worker.kubelet.cgroups.remove(self)
        if proc is not None and proc.exit_code is not None:
            self.state.state = terminated_state(proc.exit_code, proc.started_at,
                                                proc.finished_at, proc.container_id,
                                                "OOMKilled" if self._oom else None)
        self.state.ready = False
        self.state.started = False

    def kill_now(self) -> None:
        self.stop_probes()
        if self.proc is not None:
            self.proc.kill()
        if self._starting is not None and not self._starting.done():
            self._starting.add_done_callback(
                lambda f: f.result().kill() if not f.cancelled() and f.exception() is None
                else None)


class PodWorker:
    """Everything the node does for one pod, from first sight to final delete."""

    def __init__(self, kubelet: Kubelet, pod: dict, *, reboot: bool = False):
        self.kubelet = kubelet
        self.client: Client = kubelet.client
        self.pod = pod
        md = pod["metadata"]
        self.uid: str = md["uid"]
        self.name: str = md["name"]
        self.namespace: str = md["namespace"]
        self.hostname = pod["spec"].get("hostname") or self.name
        status = pod.get("status") or {}
        self.pod_ip: str | None = status.get("podIP") if reboot else None
        self.start_time: str = status.get("startTime") or rfc3339()
        self.sandbox_ready = False
        self.terminating = False
        self.terminal_phase: str | None = None
        self.status_reason: tuple[str, str] | None = None  # e.g. DeadlineExceeded
        self.workdir = kubelet.pods_dir / self.uid
        self._dirty = False
        self._flushing_disabled = False
        self._spec_changed = asyncio.Event()
        self.main: asyncio.Task | None = None
        self.finished = asyncio.Event()
        self._termination: asyncio.Task | None = None
        old = {c["name"]: c for c in (status.get("containerStatuses") or []) +
               (status.get("initContainerStatuses") or [])}
        self.init_runners: list[ContainerRunner] = []
        for c in pod["spec"].get("initContainers") or []:
            kind = "sidecar" if c.get("restartPolicy") == "Always" else "init"
            self.init_runners.append(self._runner(c, kind, old.get(c["name"]), reboot))
        self.runners = [self._runner(c, "app", old.get(c["name"]), reboot)
                        for c in pod["spec"].get("containers") or []]

    def _runner(self, spec: dict, kind: str, old: dict | None, reboot: bool) -> ContainerRunner:
        if not reboot or old is None or not old.get("containerID"):
            return ContainerRunner(self, spec, kind)
        # A node restart: the old run is gone; the next run counts as a restart.
        started = (old.get("state") or {}).get("running", {}).get("startedAt")
        term = terminated_state(255, parse_time(started), now(), "", "Unknown")
        term["terminated"]["containerID"] = old["containerID"]
        if not started:
            term = old.get("lastState") or term
        r = ContainerRunner(self, spec, kind, int(old.get("restartCount", 0)), term)
        return r

    # -- plumbing -------------------------------------------------------------------------------
    @property
    def all_runners(self) -> list[ContainerRunner]:
        return [*self.init_runners, *self.runners]

    def event(self, etype: str, reason: str, message: str, field_path: str | None = None) -> None:
        self.kubelet.recorder.event(self.pod, etype, reason, message, field_path=field_path)

    def pod_view(self) -> dict:
        """The pod with the addresses this kubelet knows (the stored status may lag a turn)."""
        status = dict(self.pod.get("status") or {})
        if self.pod_ip:
            status["podIP"], status["podIPs"] = self.pod_ip, [{"ip": self.pod_ip}]
        status["hostIP"] = self.kubelet.node.ip
        status["hostIPs"] = [{"ip": self.kubelet.node.ip}]
        return {**self.pod, "status": status}

    def mark_dirty(self) -> None:
        if self._dirty or self._flushing_disabled:
            return
        self._dirty = True
        asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        self._dirty = False
        if self._flushing_disabled:
            return
        stored = self.client.peek("pods", self.namespace, self.name)
        if stored is None or stored["metadata"]["uid"] != self.uid:
            return
        old = stored.get("status") or {}
        status = build_status(
            old, restart_policy=stored["spec"].get("restartPolicy", "Always"),
            containers=[r.state for r in self.runners],
            init_containers=[r.state for r in self.init_runners],
            sandbox_ready=self.sandbox_ready, pod_ip=self.pod_ip,
            host_ip=self.kubelet.node.ip, start_time=self.start_time,
            readiness_gates=[g.get("conditionType") for g in
                             stored["spec"].get("readinessGates") or []],
            terminal_phase=self.terminal_phase)
        if self.status_reason is not None:
            status["reason"], status["message"] = self.status_reason
        if status == old:
            return
        try:
            self.client.update_status("pods", {**stored, "status": status})
        except ApiError as e:
            if e.code == 409:
                self.mark_dirty()
            elif e.code != 404:
                log.warning("pod %s/%s: status update failed: %s", self.namespace, self.name,
                            e.message)

    async def spec_changed(self, timeout: float) -> None:
        """Sleep up to `timeout`, waking early if the pod's spec changes (a new image)."""
        self._spec_changed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._spec_changed.wait(), timeout)

    def update(self, pod: dict) -> None:
        """A newer version of the pod from the API."""
        old_spec = self.pod["spec"]
        self.pod = pod
        if pod["metadata"].get("deletionTimestamp"):
            self.request_termination(float(pod["metadata"].get("deletionGracePeriodSeconds", 0)))
            return
        if pod["spec"] != old_spec:
            images = {c["name"]: c.get("image") for c in (pod["spec"].get("containers") or []) +
                      (pod["spec"].get("initContainers") or [])}
            for r in self.all_runners:
                new_image = images.get(r.name)
                if new_image and new_image != r.spec.get("image"):
                    r.spec = {**r.spec, "image": new_image}
                    r.state.image = new_image
                    r.restart_for_spec_change()
            self._spec_changed.set()

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        self.main = asyncio.get_running_loop().create_task(self._run(),
                                                           name=f"pod:{self.namespace}/{self.name}")
        if self.pod["metadata"].get("deletionTimestamp"):
            self.request_termination(float(self.pod["metadata"].get(
                "deletionGracePeriodSeconds", 0)))

    async def _run(self) -> None:
        try:
            self.mark_dirty()  # ContainerCreating, hostIP, startTime
            await asyncio.sleep(0.02)  # the sandbox: network namespace and address
            self.workdir.mkdir(parents=True, exist_ok=True)
            if not self.pod_ip:
                self.pod_ip = self.kubelet.addresses.allocate(self.kubelet.node, self.uid)
            else:
                self.kubelet.addresses.reserve(self.pod_ip, self.uid)
            self.sandbox_ready = True
            self.mark_dirty()
            self._arm_active_deadline()
            for r in self.init_runners:
                if r.kind == "sidecar":
                    r.task = asyncio.get_running_loop().create_task(r.run())
                    await r.started_event.wait()
                    continue
                r.task = asyncio.get_running_loop().create_task(r.run())
                await r.task
                t = r.state.terminated
                if t is None or t.get("exitCode") != 0:
                    self.terminal_phase = "Failed"
                    self.mark_dirty()
                    return
            for r in self.runners:
                r.task = asyncio.get_running_loop().create_task(r.run())
            await asyncio.gather(*(r.task for r in self.runners if r.task))
            # Every app container finished for good: the pod is complete.
            for r in self.init_runners:
                if r.kind == "sidecar" and r.proc is not None and r.proc.running:
                    await r.terminate(asyncio.get_running_loop().time() + 30, True)
            self.terminal_phase = pod_phase(
                self.pod["spec"].get("restartPolicy", "Always"),
                [r.state for r in self.runners], [], None)
            self.sandbox_ready = False
            self.mark_dirty()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("pod %s/%s: worker failed", self.namespace, self.name)

    def _arm_active_deadline(self) -> None:
        """spec.activeDeadlineSeconds: past it, the kubelet fails the pod (jobs use this)."""
        seconds = self.pod["spec"].get("activeDeadlineSeconds")
        if not seconds:
            return
        started = parse_time(self.start_time)
        elapsed = (now() - started).total_seconds() if started else 0.0
        asyncio.get_running_loop().call_later(max(0.0, float(seconds) - elapsed),
                                              self._deadline_exceeded)

    def _deadline_exceeded(self) -> None:
        if self.terminating or self.terminal_phase is not None:
            return
        msg = "Pod was active on the node longer than the specified deadline"
        self.event("Normal", "DeadlineExceeded", msg)
        self.status_reason = ("DeadlineExceeded", msg)
        self.terminal_phase = "Failed"
        self.request_termination(float(self.pod["spec"].get("terminationGracePeriodSeconds", 30)))

    def request_termination(self, grace: float, *, removed: bool = False) -> None:
        """Begin (or shorten) termination: `grace` seconds from now."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(grace, 0)
        if self._termination is not None:
            if deadline < self._deadline:
                self._deadline = deadline
                self._deadline_moved.set()
            if removed:
                self._removed = True
            return
        self.terminating = True
        self._deadline = deadline
        self._deadline_moved = asyncio.Event()
        self._removed = removed
        self._termination = loop.create_task(self._terminate(grace, removed))

    async def _terminate(self, grace: float, removed: bool) -> None:
        loop = asyncio.get_running_loop()
        if self.main is not None:
            self.main.cancel()
        for r in self.all_runners:
            if r.task is not None:
                r.task.cancel()
        try:
            if self.main is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self.main
            run_pre_stop = grace > 0 and not removed
            # Sidecars stop after the app containers, as the kubelet orders them.
            for group in (self.runners, list(reversed(self.init_runners))):
                await asyncio.gather(*(self._terminate_runner(r, run_pre_stop) for r in group))
            for r in self.all_runners:
                r.final_state()
            codes = [r.proc.exit_code for r in self.runners if r.proc is not None]
            if self.terminal_phase is None:
                self.terminal_phase = "Succeeded" if codes and all(c == 0 for c in codes) \
                    else "Failed"
            self.sandbox_ready = False
            stored = self.client.peek("pods", self.namespace, self.name)
            keep = self.status_reason is not None and not (
                stored and stored["metadata"].get("deletionTimestamp"))
            if not self._removed:
                self.flush()
            if not self._removed and not keep:
                try:
                    self.client.delete("pods", self.namespace, self.name, grace_period=0,
                                       preconditions={"uid": self.uid})
                except ApiError as e:
                    if e.code not in (404, 409):
                        log.warning("pod %s/%s: final delete failed: %s", self.namespace,
                                    self.name, e.message)
        except Exception:
            log.exception("pod %s/%s: termination failed", self.namespace, self.name)
            for r in self.all_runners:
                r.kill_now()
        finally:
            self._flushing_disabled = True
            self.kubelet.forget(self)
            self.finished.set()
        del loop

    async def _terminate_runner(self, r: ContainerRunner, run_pre_stop: bool) -> None:
        """Stop one container, following deadline changes (a shorter grace on a second delete)."""
        task = asyncio.get_running_loop().create_task(r.terminate(self._deadline, run_pre_stop))
        while not task.done():
            self._deadline_moved.clear()
            moved = asyncio.ensure_future(self._deadline_moved.wait())
            await asyncio.wait({task, moved}, return_when=asyncio.FIRST_COMPLETED)
            moved.cancel()
            if not task.done() and self._deadline_moved.is_set():
                # Shortened: stop waiting for the hook and escalate at the new deadline.
                remaining = self._deadline - asyncio.get_running_loop().time()
                if r.proc is not None and r.proc.running:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(asyncio.shield(task), max(remaining, 0))
                    if not task.done():
                        r.proc.kill()
        with contextlib.suppress(Exception):
            await task

    def kill_all(self) -> list[asyncio.Task]:
        """Sandbox shutdown: every process goes at once; the API objects stay. Returns the
        cancelled tasks, for the caller to await."""
        self._flushing_disabled = True
        tasks = [t for t in [self.main, self._termination, *(r.task for r in self.all_runners),
                             *(r._killing for r in self.all_runners)] if t is not None]
        for t in tasks:
            t.cancel()
        for r in self.all_runners:
            r.kill_now()
        return tasks


class Kubelet:
    """The node agent for one node."""

    def __init__(self, client: Client, config: SandboxConfig, node: NodeSpec,
                 addresses: PodAddresses, hosts_file: Path, metrics: MetricsCollector | None):
        self.client = client
        self.config = config
        self.node = node
        self.addresses = addresses
        self.hosts_file = hosts_file
        self.metrics = metrics
        self.recorder = EventRecorder(client, "kubelet", host=node.name)
        root = config.state_dir / "node" / node.name
        self.root = root
        self.pods_dir = root / "pods"
        self.logs = PodLogs(root / "logs")
        self.images = ImageStore(root / "images.json", config.pull_seconds)
        self.cgroups = Cgroups()
        self.workers: dict[str, PodWorker] = {}
        self.allocatable: dict[str, str] = {}
        self._stopped = False

    # -- wiring ---------------------------------------------------------------------------------
    def start(self) -> None:
        self.allocatable = dict(self.node.allocatable)
        shutil.rmtree(self.pods_dir, ignore_errors=True)
        self.pods_dir.mkdir(parents=True, exist_ok=True)
        self.client.on_change({"pods"}, self._on_pod_event)
        for pod in self.client.list("pods"):
            if pod["spec"].get("nodeName") != self.node.name:
                continue
            phase = (pod.get("status") or {}).get("phase")
            if pod["metadata"].get("deletionTimestamp"):
                # Nothing runs after a restart: finish the deletion at once.
                self._finalize_orphan(pod)
                continue
            if phase in ("Succeeded", "Failed"):
                continue
            self._new_worker(pod, reboot=True)

    def _finalize_orphan(self, pod: dict) -> None:
        md = pod["metadata"]
        try:
            self.client.delete("pods", md["namespace"], md["name"], grace_period=0,
                               preconditions={"uid": md["uid"]})
        except ApiError:
            pass

    def _on_pod_event(self, event: WatchEvent) -> None:
        pod = event.object
        if pod.get("spec", {}).get("nodeName") != self.node.name:
            return
        if self._stopped:
            return
        asyncio.get_running_loop().call_soon(self._handle, event.type, pod)

    def _handle(self, etype: str, pod: dict) -> None:
        if self._stopped:
            return
        uid = pod["metadata"]["uid"]
        worker = self.workers.get(uid)
        if etype == "DELETED":
            if worker is not None:
                worker.request_termination(MIN_GRACE, removed=True)
            self._cleanup(pod)
            return
        if worker is not None:
            worker.update(pod)
            return
        phase = (pod.get("status") or {}).get("phase")
        if phase in ("Succeeded", "Failed"):
            return
        if pod["metadata"].get("deletionTimestamp"):
            self._finalize_orphan(pod)
            return
        self._new_worker(pod)

    def _new_worker(self, pod: dict, reboot: bool = False) -> None:
        w = PodWorker(self, pod, reboot=reboot)
        self.workers[w.uid] = w
        w.start()

    def forget(self, worker: PodWorker) -> None:
        if self.workers.get(worker.uid) is worker:
            del self.workers[worker.uid]
        self.addresses.release(worker.uid)
        self.images.forget_pod(worker.uid)
        shutil.rmtree(worker.workdir, ignore_errors=True)

    def _cleanup(self, pod: dict) -> None:
        md = pod["metadata"]
        uid = md["uid"]
        worker = self.workers.get(uid)

        def remove_logs() -> None:
            self.logs.remove_pod(md["namespace"], md["name"], uid)

        if worker is None:
            remove_logs()
            self.addresses.release(uid)
        else:
            asyncio.get_running_loop().create_task(self._cleanup_after(worker, remove_logs))

    @staticmethod
    async def _cleanup_after(worker: PodWorker, then) -> None:
        await worker.finished.wait()
        then()

    async def stop(self) -> None:
        self._stopped = True
        workers = list(self.workers.values())
        tasks = [t for w in workers for t in w.kill_all()]
        procs = [r.proc for w in workers for r in w.all_runners if r.proc is not None]
        if procs:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*(p.wait() for p in procs),
                                                      return_exceptions=True), 5)
        if tasks:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 2)
        await self.cgroups.stop()
        self.workers.clear()

    # -- metrics --------------------------------------------------------------------------------
    def metrics_track(self, worker: PodWorker, runner: ContainerRunner,
                      proc: ContainerProcess) -> None:
        if self.metrics is not None:
            self.metrics.track(self.node.name, worker.namespace, worker.name, worker.uid,
                               runner.name, proc)

    def metrics_untrack(self, worker: PodWorker, runner: ContainerRunner) -> None:
        if self.metrics is not None:
            self.metrics.untrack(worker.uid, runner.name)

    # -- logs (the API server's NodeConnection) ---------------------------------------------------
    def log_source(self, namespace: str, pod: str, container: str, previous: bool):
        """(path, writer) of the run `kubectl logs` means, or an ApiError to raise."""
        from ..apiserver import errors

        stored = self.client.peek("pods", namespace, pod)
        if stored is None:
            return errors.not_found("pods", pod, "", "pods")
        uid = stored["metadata"]["uid"]
        worker = self.workers.get(uid)
        runner = None
        if worker is not None:
            runner = next((r for r in worker.all_runners if r.name == container), None)
        statuses = {c["name"]: c for c in (stored.get("status") or {}).get("containerStatuses", [])
                    + (stored.get("status") or {}).get("initContainerStatuses", [])}
        cs = statuses.get(container) or {}
        count = runner.state.restart_count if runner is not None else int(cs.get("restartCount", 0))
        if previous:
            run = count - 1
            path = self.logs.path(namespace, pod, uid, container, run)
            if run < 0 or not path.exists():
                return errors.bad_request(
                    f'previous terminated container "{container}" in pod "{pod}" not found')
            return path, None
        path = self.logs.path(namespace, pod, uid, container, count)
        if not path.exists():
            waiting = (cs.get("state") or {}).get("waiting") or {}
            reason = waiting.get("reason", "ContainerCreating")
            if reason in ("ErrImagePull", "ImagePullBackOff"):
                reason = "trying and failing to pull image"
            return errors.bad_request(
                f'container "{container}" in pod "{pod}" is waiting to start: {reason}')
        writer = None
        if runner is not None and runner.proc is not None and \
                runner.state.restart_count == count:
            writer = runner.proc.writer
        return path, writer

    def check_logs(self, namespace: str, pod: str, container: str, previous: bool) -> None:
        from ..apiserver.errors import ApiError as _ApiError

        src = self.log_source(namespace, pod, container, previous)
        if isinstance(src, _ApiError):
            raise src

    async def stream_logs(self, namespace: str, pod: str, container: str, *, follow: bool,
                          tail_lines: int | None, previous: bool, timestamps: bool,
                          response) -> None:
        from ..apiserver.errors import ApiError as _ApiError
        from .logs import stream_file

        src = self.log_source(namespace, pod, container, previous)
        if isinstance(src, _ApiError):
            await response.write(src.message.encode() + b"\n")
            return
        path, writer = src
        await stream_file(path, writer, response, follow=follow and not previous,
                          tail_lines=tail_lines, timestamps=timestamps)


__all__ = ["Kubelet", "PodWorker", "ContainerRunner", "sleep_seconds", "time"]
