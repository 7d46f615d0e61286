"""Checks for each lab step: a short ✓ when the step happened, else an AssertionError that
says what is wrong and how to fix it (a learner's success criteria, and the tests' too).

All checks read the cluster through the public API; none of them changes anything, except
`check_preflight`, which creates and deletes a scratch lab namespace.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from helpers import _api
from helpers.cluster import LAB_LABEL, Cluster, current, delete_lab_namespace, lab_namespace
from helpers.hpa import hpa_status
from helpers.pods import list_pods, view
from helpers.revisions import CHANGE_CAUSE, new_replicaset, owned_replicasets, revision_of
from helpers.status import deployment_status, pod_problems, statefulset_status
from helpers.traffic import Summary


def _ok(message: str) -> None:
    print(f"✓ {message}", flush=True)


def _fail(problem: str, fix: str) -> AssertionError:
    return AssertionError(f"{problem}\nHow to fix: {fix}")


def _deployment(c: Cluster, ns: str, name: str) -> dict:
    d = c.get(_api.DEPLOYMENT.path(ns, name))
    if d is None:
        raise _fail(f"There is no deployment {name!r} in namespace {ns!r}.",
                    f"run the cell that creates it (kubectl get deployments -n {ns}).")
    return d


def _images(obj: Mapping[str, Any]) -> list[str]:
    return [x.get("image", "") for x in obj["spec"]["template"]["spec"].get("containers") or []]


def _eventually(fn, timeout: float, interval: float = 0.5):
    """Retry a check for a short while: controllers are eventually consistent."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return fn()
        except AssertionError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(interval)


# --- lab 00: preflight ------------------------------------------------------------------


def check_cluster(*, cluster: Cluster | None = None) -> None:
    """The API answers, at least one node is Ready, and kubectl reaches the same cluster."""
    from helpers.kubectl import kubectl

    c = current(cluster)
    try:
        version = c.request("GET", "/version")
    except Exception as exc:
        raise _fail(f"The API server at {c.server} does not answer ({exc}).",
                    "start the cluster (rollout-labs sandbox start, minikube start, ...) and "
                    "re-run the connect cell.") from None
    nodes = c.request("GET", _api.NODE.path()).get("items") or []
    ready = [n["metadata"]["name"] for n in nodes
             if any(x.get("type") == "Ready" and x.get("status") == "True"
                    for x in n.get("status", {}).get("conditions") or [])]
    if not ready:
        raise _fail(f"No node is Ready ({len(nodes)} nodes).",
                    "wait a minute for the cluster to start, then run kubectl get nodes.")
    res = kubectl("get", "nodes", "-o", "name", check=False, cluster=c)
    if res.returncode != 0:
        raise _fail(f"kubectl cannot reach the cluster: {res.stderr.strip()}",
                    "check that kubectl is installed and the kubeconfig is readable.")
    _ok(f"cluster {c.context} (Kubernetes {version.get('gitVersion')}): {len(ready)} node(s) "
        f"Ready, kubectl works")


def check_metrics_api(*, cluster: Cluster | None = None) -> None:
    """metrics.k8s.io serves pod metrics: without it the HPA shows <unknown> and never scales."""
    c = current(cluster)
    try:
        c.request("GET", "/apis/metrics.k8s.io/v1beta1/pods", timeout=10)
    except Exception as exc:
        raise _fail(f"The metrics API is not available ({type(exc).__name__}).",
                    "install metrics-server: `minikube addons enable metrics-server`; on kind "
                    "apply metrics-server with --kubelet-insecure-tls; wait a minute.") from None
    _ok("metrics API available (kubectl top and the HPA will work)")


def check_preflight(*, metrics: bool = True, cluster: Cluster | None = None) -> None:
    """Everything later labs need: cluster, kubectl, a namespace we may create, metrics."""
    c = current(cluster)
    check_cluster(cluster=c)
    ns = lab_namespace("00", "rollout-labs-preflight", cluster=c)
    delete_lab_namespace(ns, wait=False, cluster=c)
    _ok("can create and delete lab namespaces")
    if metrics:
        check_metrics_api(cluster=c)


# --- namespaces, deployments, services -------------------------------------------------


def check_namespace(namespace: str, *, cluster: Cluster | None = None) -> None:
    c = current(cluster)
    ns = c.get(_api.NAMESPACE.path(name=namespace))
    if ns is None:
        raise _fail(f"Namespace {namespace!r} does not exist.",
                    f"run cluster.lab_namespace('<lab>', {namespace!r}).")
    if LAB_LABEL not in _api.labels(ns):
        raise _fail(f"Namespace {namespace!r} has no {LAB_LABEL} label.",
                    "create it with cluster.lab_namespace so the helpers may change it.")
    _ok(f"namespace {namespace} exists ({LAB_LABEL}={_api.labels(ns)[LAB_LABEL]})")


def check_deployment_ready(namespace: str, name: str, replicas: int | None = None, *,
                           image: str | None = None, wait: float = 30,
                           cluster: Cluster | None = None) -> None:
    """Fully rolled out: every replica updated and available (optionally N of them, image)."""
    c = current(cluster)

    def once() -> dict:
        d = _deployment(c, namespace, name)
        want = d["spec"].get("replicas", 1)
        if replicas is not None and want != replicas:
            raise _fail(f"deployment/{name} wants {want} replicas, not {replicas}.",
                        f"scale it: rollout.scale({name!r}, {namespace!r}, {replicas}).")
        if image is not None and image not in _images(d):
            raise _fail(f"deployment/{name} runs {', '.join(_images(d))}, not {image}.",
                        f"set the image: rollout.set_image({name!r}, {namespace!r}, "
                        f"'<container>', {image!r}).")
        try:
            message, done = deployment_status(d)
        except Exception as exc:
            raise _fail(str(exc), f"see rollout.wait_for_rollout({name!r}, {namespace!r}) for "
                                  f"the reason; usually a bad image: roll back.") from None
        if not done:
            raise _fail(f"deployment/{name} is not ready: {message}",
                        f"wait for it: rollout.wait_for_rollout({name!r}, {namespace!r}).")
        return d

    d = _eventually(once, wait)
    st = d.get("status", {})
    _ok(f"deployment/{name}: {st.get('availableReplicas', 0)}/{d['spec'].get('replicas', 1)} "
        f"available, image {', '.join(_images(d))}")


def check_service(namespace: str, name: str, *, type: str | None = "NodePort",
                  min_endpoints: int = 1, wait: float = 30,
                  cluster: Cluster | None = None) -> None:
    """The Service exists (of `type`) and selects at least `min_endpoints` ready pods."""
    c = current(cluster)

    def once() -> dict:
        svc = c.get(_api.SERVICE.path(namespace, name))
        if svc is None:
            raise _fail(f"There is no service {name!r} in namespace {namespace!r}.",
                        "apply the manifest that defines it.")
        if type and svc["spec"].get("type") != type:
            raise _fail(f"service/{name} is {svc['spec'].get('type')}, not {type}.",
                        f"set spec.type: {type} in the manifest and apply it again.")
        pods = [view(p) for p in list_pods(namespace, svc["spec"].get("selector") or {},
                                           cluster=c)]
        ready = [p for p in pods if p.ready and not p.deleting]
        if not svc["spec"].get("selector") or len(ready) < min_endpoints:
            raise _fail(f"service/{name} selects {len(ready)} ready pods "
                        f"(selector {svc['spec'].get('selector')}).",
                        "check that the selector matches the pod labels and the pods are "
                        f"ready (kubectl get pods -n {namespace} --show-labels).")
        return svc

    svc = _eventually(once, wait)
    ports = ", ".join(f"{p.get('port')}" + (f"→nodePort {p['nodePort']}" if p.get("nodePort")
                                            else "") for p in svc["spec"].get("ports") or [])
    _ok(f"service/{name} ({svc['spec'].get('type')}, {ports}) has ready endpoints")


def check_app_responds(namespace: str, service: str, *, version: str | None = None,
                       tries: int = 10, cluster: Cluster | None = None) -> None:
    """A request through the Service gets a podinfo answer (optionally from `version`)."""
    from helpers.traffic import fetch_once

    last = None
    for _ in range(tries):
        last = fetch_once(service, namespace, cluster=cluster)
        if last.ok and (version is None or last.version == version):
            _ok(f"service/{service} answered HTTP {last.status} from pod {last.hostname} "
                f"(version {last.version}) in {last.latency * 1000:.0f} ms")
            return
        time.sleep(0.5)
    assert last is not None
    what = f"HTTP {last.status}" if last.status else last.error
    if last.ok:
        raise _fail(f"service/{service} answers version {last.version}, not {version}.",
                    "finish the rollout (or switch the Service) first.")
    raise _fail(f"service/{service} did not answer successfully ({what}).",
                f"check the pods are Ready and the Service selector matches them "
                f"(kubectl get endpoints {service} -n {namespace}).")


# --- lab 02: self-healing ---------------------------------------------------------------


def check_self_healed(namespace: str, name: str, deleted_pod: str, *, wait: float = 60,
                      cluster: Cluster | None = None) -> None:
    """The deleted pod is gone and a replacement brought the Deployment back to full size."""
    c = current(cluster)

    def once() -> None:
        pod = c.get(_api.POD.path(namespace, deleted_pod))
        if pod is not None and not pod["metadata"].get("deletionTimestamp"):
            raise _fail(f"Pod {deleted_pod} still exists and is not being deleted.",
                        f"delete it: kubectl delete pod {deleted_pod} -n {namespace}.")
        d = _deployment(c, namespace, name)
        st = d.get("status", {})
        want = d["spec"].get("replicas", 1)
        if st.get("readyReplicas", 0) < want:
            raise _fail(f"deployment/{name} has {st.get('readyReplicas', 0)}/{want} ready pods.",
                        "wait a few seconds for the ReplicaSet to start a replacement.")

    _eventually(once, wait)
    _ok(f"pod {deleted_pod} was replaced; deployment/{name} is back to full strength")


# --- lab 04/05: rollouts ----------------------------------------------------------------


def check_image(namespace: str, name: str, image: str, *, wait: float = 60,
                cluster: Cluster | None = None) -> None:
    """The Deployment runs `image` everywhere: template updated and rollout complete."""
    check_deployment_ready(namespace, name, image=image, wait=wait, cluster=cluster)


def check_zero_downtime(summary: Summary, min_requests: int = 1000) -> None:
    """The probe saw at least `min_requests` requests and not a single failure."""
    if summary.total < min_requests:
        raise _fail(f"Only {summary.total} requests were measured (need {min_requests}).",
                    "start the probe before the change and stop it after the rollout finished "
                    "(or raise its rate).")
    if summary.failures:
        errs = ", ".join(f"{k} ×{n}" for k, n in summary.errors.items())
        raise _fail(f"{summary.failures} of {summary.total} requests failed ({errs}); the "
                    f"longest gap without a successful answer was {summary.longest_gap:.2f}s.",
                    "add a readiness probe, keep maxUnavailable at 0 and give pods a preStop "
                    "pause so endpoints are removed before they stop.")
    _ok(f"zero downtime: {summary.total} requests, 0 failed, longest gap "
        f"{summary.longest_gap:.2f}s")


def check_history(namespace: str, name: str, *, min_revisions: int = 2,
                  cluster: Cluster | None = None) -> None:
    from helpers.rollout import history

    revs = history(name, namespace, cluster=cluster)
    if len(revs) < min_revisions:
        raise _fail(f"deployment/{name} has {len(revs)} revision(s), expected at least "
                    f"{min_revisions}.", "change the pod template (e.g. set a new image).")
    _ok(f"deployment/{name} has revisions {[r.revision for r in revs]}")


def check_paused(namespace: str, name: str, paused: bool = True, *,
                 cluster: Cluster | None = None) -> None:
    d = _deployment(current(cluster), namespace, name)
    if bool(d["spec"].get("paused")) != paused:
        verb = "pause" if paused else "resume"
        raise _fail(f"deployment/{name} is {'not ' if paused else ''}paused.",
                    f"run rollout.{verb}({name!r}, {namespace!r}).")
    _ok(f"deployment/{name} is {'paused' if paused else 'not paused'}")


def check_surge_respected(samples: Sequence[tuple[float, Sequence[Any]]], replicas: int,
                          max_surge: int, max_unavailable: int) -> None:
    """Observed ReplicaSet sizes (RolloutTimeline.samples) stayed within the strategy bounds."""
    if len(samples) < 2:
        raise _fail("No ReplicaSet sizes were recorded.",
                    "create the RolloutTimeline before the rollout and let it run through it.")
    worst_total = max(sum(r.current for r in sizes) for _, sizes in samples)
    worst_ready = min(sum(r.available for r in sizes) for _, sizes in samples[1:])
    if worst_total > replicas + max_surge:
        raise _fail(f"{worst_total} pods existed at once (limit {replicas}+{max_surge}).",
                    "check spec.strategy.rollingUpdate.maxSurge.")
    if worst_ready < replicas - max_unavailable:
        raise _fail(f"only {worst_ready} pods were available at one point (minimum "
                    f"{replicas}-{max_unavailable}).",
                    "check maxUnavailable and the readiness probe.")
    _ok(f"at most {worst_total} pods at once and at least {worst_ready} available: within "
        f"maxSurge={max_surge}, maxUnavailable={max_unavailable}")


def check_rollout_stuck(namespace: str, name: str, *, wait: float = 60,
                        cluster: Cluster | None = None) -> None:
    """The bad release is stuck (image cannot be pulled) while old pods keep serving."""
    c = current(cluster)

    def once() -> None:
        d = _deployment(c, namespace, name)
        new = new_replicaset(d, owned_replicasets(c, d))
        h = _api.labels(new or {}).get("pod-template-hash")
        problems = pod_problems(list_pods(namespace, f"pod-template-hash={h}", cluster=c)) \
            if h else []
        if not problems:
            raise _fail(f"No pod of deployment/{name}'s newest revision is failing to start.",
                        "set an image tag that does not exist (the lab's bad release).")
        if d.get("status", {}).get("availableReplicas", 0) < 1:
            raise _fail("No old pod is available any more: the bad release took the service "
                        "down.", "keep maxUnavailable below 100% so old pods stay.")

    _eventually(once, wait)
    d = _deployment(c, namespace, name)
    _ok(f"deployment/{name} is stuck on a bad release while "
        f"{d['status'].get('availableReplicas', 0)} old pods keep serving")


def check_rolled_back_to(namespace: str, name: str, image: str, *,
                         revision: int | None = None, wait: float = 90,
                         cluster: Cluster | None = None) -> None:
    """After undo: the template runs `image` again, the rollout finished, optionally revision."""
    c = current(cluster)
    check_deployment_ready(namespace, name, image=image, wait=wait, cluster=c)
    if revision is not None:
        d = _deployment(c, namespace, name)
        current_rev = revision_of(d)
        if current_rev != revision:
            raise _fail(f"deployment/{name} is at revision {current_rev}, expected {revision}.",
                        "remember that undo renumbers: the restored revision becomes the "
                        "newest.")
    _ok(f"deployment/{name} rolled back to {image}")


def check_change_cause(namespace: str, name: str, contains: str, *,
                       cluster: Cluster | None = None) -> None:
    """The newest revision records a change-cause that mentions `contains`."""
    from helpers.rollout import history

    revs = history(name, namespace, cluster=cluster)
    cause = revs[-1].change_cause if revs else None
    if not cause or contains not in cause:
        raise _fail(f"The newest revision's CHANGE-CAUSE is {cause or '<none>'}.",
                    f"pass change_cause=... to rollout.set_image, or kubectl annotate "
                    f"deployment/{name} {CHANGE_CAUSE}='...'.")
    _ok(f"revision {revs[-1].revision} change-cause: {cause}")


def check_history_limit(namespace: str, name: str, limit: int, *, wait: float = 30,
                        cluster: Cluster | None = None) -> None:
    """revisionHistoryLimit is `limit` and no more old ReplicaSets than that are kept."""
    c = current(cluster)

    def once() -> None:
        d = _deployment(c, namespace, name)
        have = d["spec"].get("revisionHistoryLimit", 10)
        if have != limit:
            raise _fail(f"revisionHistoryLimit is {have}, not {limit}.",
                        "set spec.revisionHistoryLimit in the manifest and apply it.")
        old = [rs for rs in owned_replicasets(c, d)
               if rs.get("spec", {}).get("replicas", 0) == 0]
        if len(old) > limit:
            raise _fail(f"{len(old)} old ReplicaSets are kept (limit {limit}).",
                        "wait for the controller to clean up.")

    _eventually(once, wait)
    _ok(f"deployment/{name} keeps at most {limit} old ReplicaSets")


# --- lab 06: blue-green -----------------------------------------------------------------


def check_service_selects(namespace: str, service: str, selector: Mapping[str, str], *,
                          cluster: Cluster | None = None) -> None:
    c = current(cluster)
    svc = c.get(_api.SERVICE.path(namespace, service))
    if svc is None:
        raise _fail(f"There is no service {service!r}.", "apply the blue-green manifests.")
    have = svc["spec"].get("selector") or {}
    if have != dict(selector):
        raise _fail(f"service/{service} selects {have}, not {dict(selector)}.",
                    f"switch it: rollout.switch_service({service!r}, {namespace!r}, "
                    f"{dict(selector)!r}).")
    _ok(f"service/{service} selects {have}")


def check_traffic_version(summary: Summary, version: str, *, min_share: float = 1.0) -> None:
    """At least `min_share` of the successful answers came from `version`."""
    share = summary.version_share().get(version, 0.0)
    if share < min_share:
        raise _fail(f"Only {share:.0%} of answers came from {version} "
                    f"(seen: {summary.versions}).",
                    "measure after the switch/rollout finished (probe.summary(since=...)).")
    _ok(f"{share:.0%} of {summary.ok} answers came from version {version}")


def check_deleted(namespace: str, kind: str, name: str, *, wait: float = 60,
                  cluster: Cluster | None = None) -> None:
    """`kind/name` is gone (e.g. the retired blue Deployment)."""
    c = current(cluster)
    k = {"deployment": _api.DEPLOYMENT, "service": _api.SERVICE, "pod": _api.POD,
         "hpa": _api.HPA, "statefulset": _api.STATEFULSET}[kind]

    def once() -> None:
        if c.get(k.path(namespace, name)) is not None:
            raise _fail(f"{kind}/{name} still exists.",
                        f"delete it: kubectl delete {kind} {name} -n {namespace}.")

    _eventually(once, wait)
    _ok(f"{kind}/{name} is gone")


def check_namespace_deleted(namespace: str, *, wait: float = 120,
                            cluster: Cluster | None = None) -> None:
    c = current(cluster)

    def once() -> None:
        if c.get(_api.NAMESPACE.path(name=namespace)) is not None:
            raise _fail(f"Namespace {namespace} still exists.",
                        f"run cluster.delete_lab_namespace({namespace!r}).")

    _eventually(once, wait)
    _ok(f"namespace {namespace} cleaned up")


# --- lab 07: autoscaling ----------------------------------------------------------------


def check_hpa(namespace: str, name: str, *, min_replicas: int, max_replicas: int,
              cpu_percent: int, cluster: Cluster | None = None) -> None:
    from helpers.status import RolloutError

    try:
        st = hpa_status(name, namespace, cluster=cluster)
    except RolloutError:
        raise _fail(f"There is no HPA {name!r} in {namespace!r}.",
                    "create it with rollout.autoscale(...) or apply the HPA manifest.") from None
    want = (min_replicas, max_replicas, cpu_percent)
    have = (st.min_replicas, st.max_replicas, st.cpu_target)
    if have != want:
        raise _fail(f"hpa/{name} has min/max/cpu {have}, expected {want}.",
                    "delete it and create it again with the lab's values.")
    _ok(f"hpa/{name}: min {min_replicas}, max {max_replicas}, target CPU {cpu_percent}%")


def check_hpa_metrics(namespace: str, name: str, *, wait: float = 90,
                      cluster: Cluster | None = None) -> None:
    """The HPA reads CPU (not <unknown>): metrics API, CPU requests and pods are in order."""

    def once() -> None:
        st = hpa_status(name, namespace, cluster=cluster)
        if st.cpu_percent is None:
            why = st.conditions.get("ScalingActive", ("", "", "no status yet"))[2]
            raise _fail(f"hpa/{name} shows {st.targets}: {why}",
                        "make sure the pods have CPU requests and the metrics API works "
                        "(check_metrics_api()).")

    _eventually(once, wait, interval=2)
    _ok(f"hpa/{name} reads CPU: {hpa_status(name, namespace, cluster=cluster).targets}")


def check_hpa_scaled_up(namespace: str, name: str, *, above: int, wait: float = 0,
                        cluster: Cluster | None = None) -> None:
    """The HPA raised the replica count above `above` (under load)."""

    def once() -> None:
        st = hpa_status(name, namespace, cluster=cluster)
        if max(st.current_replicas, st.desired_replicas) <= above:
            raise _fail(f"hpa/{name} still runs {st.current_replicas} replicas ({st.targets}).",
                        "keep the load running longer or raise its rate; the HPA syncs every "
                        "15 s.")

    _eventually(once, wait, interval=2)
    st = hpa_status(name, namespace, cluster=cluster)
    _ok(f"hpa/{name} scaled up to {max(st.current_replicas, st.desired_replicas)} replicas "
        f"({st.targets})")


def check_hpa_scaled_down(namespace: str, name: str, *, to: int, wait: float = 0,
                          cluster: Cluster | None = None) -> None:
    def once() -> None:
        st = hpa_status(name, namespace, cluster=cluster)
        if max(st.current_replicas, st.desired_replicas) > to:
            raise _fail(f"hpa/{name} still runs {st.current_replicas} replicas (desired "
                        f"{st.desired_replicas}).",
                        "stop the load and wait out the scale-down stabilization window "
                        "(spec.behavior.scaleDown.stabilizationWindowSeconds).")

    _eventually(once, wait, interval=2)
    _ok(f"hpa/{name} scaled back down to {to}")


# --- lab 08: StatefulSets ---------------------------------------------------------------


def check_statefulset_updated(namespace: str, name: str, image: str, *, partition: int = 0,
                              wait: float = 120, cluster: Cluster | None = None) -> None:
    """Pods with ordinal >= partition run `image`, those below do not, all Ready."""
    c = current(cluster)

    def once() -> None:
        sts = c.get(_api.STATEFULSET.path(namespace, name))
        if sts is None:
            raise _fail(f"There is no statefulset {name!r}.", "apply the StatefulSet manifest.")
        message, done = statefulset_status(sts)
        if not done:
            raise _fail(f"statefulset/{name}: {message}", "wait for the rolling update.")
        replicas = sts["spec"].get("replicas", 1)
        for i in range(replicas):
            pod = c.get(_api.POD.path(namespace, f"{name}-{i}"))
            if pod is None:
                raise _fail(f"pod {name}-{i} is missing.", "wait for the StatefulSet.")
            v = view(pod)
            if i >= partition and v.image != image:
                raise _fail(f"{name}-{i} runs {v.image}, expected {image}.",
                            "set the image and lower the partition to include it.")
            if i < partition and v.image == image:
                raise _fail(f"{name}-{i} already runs {image} although it is below the "
                            f"partition {partition}.", "raise the partition before the update.")
            if not v.ready:
                raise _fail(f"{name}-{i} is not ready ({v.status}).", "wait for it.")

    _eventually(once, wait)
    _ok(f"statefulset/{name}: ordinals >= {partition} run {image}")


# --- lab 09: strategy clinic ------------------------------------------------------------


def check_strategy_results(results: Mapping[str, Summary], *, safe: str,
                           naive: Iterable[str]) -> None:
    """The safe variant lost nothing; every naive variant visibly failed requests."""
    if safe not in results:
        raise _fail(f"No measurement for {safe!r}.", "run every variant of the experiment.")
    if results[safe].failures:
        raise _fail(f"{safe} lost {results[safe].failures} requests.",
                    "it needs a readiness probe and a preStop pause; compare the manifests.")
    quiet = [n for n in naive if results.get(n) is None or results[n].failures == 0]
    if quiet:
        raise _fail(f"These naive variants showed no failures: {quiet}.",
                    "raise the probe rate or repeat the measurement; a lucky run can hide "
                    "the gap.")
    _ok(f"{safe}: 0 failures; naive variants failed: "
        + ", ".join(f"{n} {results[n].failures}" for n in naive))
