"""The Job controller, in its simplest useful form: run pods to completion, count outcomes.

Creates up to `parallelism` pods until `completions` succeed, retries failures up to
`backoffLimit`, and sets the Complete/Failed conditions kubectl shows.
"""

from __future__ import annotations

from ..apiserver.selectors import selector_from_spec
from ..objects import clone, controller_ref, owner_ref
from ..util import rfc3339
from .base import Controller, ns_name_key, split_key
from .events import EventRecorder


class JobController(Controller):
    name = "job-controller"

    def __init__(self, client, config=None):
        super().__init__(client, config)
        self.recorder = EventRecorder(client, "job-controller")

    def watches(self):
        def jobs(ev):
            return [ns_name_key(ev.object)] if ev.type != "DELETED" else []

        def pods(ev):
            ref = controller_ref(ev.object)
            if ref and ref.get("kind") == "Job":
                return [f"{ev.object['metadata']['namespace']}/{ref['name']}"]
            return []

        return {"jobs": jobs, "pods": pods}

    def initial_keys(self):
        return [ns_name_key(j) for j in self.client.scan("jobs")]

    async def sync(self, key: str) -> float | None:
        ns, name = split_key(key)
        job = self.client.try_get("jobs", ns, name)
        if job is None or job["metadata"].get("deletionTimestamp"):
            return None
        status = job.setdefault("status", {})
        if any(c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
               for c in status.get("conditions") or []):
            return None
        spec = job["spec"]
        uid = job["metadata"]["uid"]
        pods = [p for p in self.client.scan("pods", ns)
                if (controller_ref(p) or {}).get("uid") == uid]
        active = [p for p in pods if p["status"].get("phase") not in ("Succeeded", "Failed")
                  and not p["metadata"].get("deletionTimestamp")]
        succeeded = sum(1 for p in pods if p["status"].get("phase") == "Succeeded")
        failed = sum(1 for p in pods if p["status"].get("phase") == "Failed")
        completions = spec.get("completions", 1)
        parallelism = spec.get("parallelism", 1)
        now = rfc3339()
        new_status = dict(status)
        new_status.setdefault("startTime", now)
        if failed > spec.get("backoffLimit", 6):
            new_status["conditions"] = [{"type": "Failed", "status": "True", "lastProbeTime": now,
                                         "lastTransitionTime": now, "reason": "BackoffLimitExceeded",
                                         "message": "Job has reached the specified backoff limit"}]
            for p in active:
                self.client.delete("pods", ns, p["metadata"]["name"])
            active = []
        elif succeeded >= completions:
            new_status["completionTime"] = now
            new_status["conditions"] = [
                {"type": "SuccessCriteriaMet", "status": "True", "lastProbeTime": now,
                 "lastTransitionTime": now, "reason": "CompletionsReached",
                 "message": "Reached expected number of succeeded pods"},
                {"type": "Complete", "status": "True", "lastProbeTime": now,
                 "lastTransitionTime": now, "reason": "CompletionsReached",
                 "message": "Reached expected number of succeeded pods"}]
            self.recorder.normal(job, "Completed", "Job completed")
        else:
            want = min(parallelism, completions - succeeded) - len(active)
            for _ in range(max(0, want)):
                self._create_pod(job)
                active.append({})
        new_status["active"] = len(active)
        new_status["succeeded"] = succeeded
        new_status["failed"] = failed
        new_status["ready"] = sum(1 for p in active if p and any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in p.get("status", {}).get("conditions") or []))
        for k in ("active", "succeeded", "failed"):
            if not new_status[k]:
                new_status.pop(k)
        if new_status != status:
            job["status"] = new_status
            self.client.update_status("jobs", job)
        return None

    def _create_pod(self, job: dict) -> None:
        template = clone(job["spec"]["template"])
        md = template.setdefault("metadata", {})
        labels = md.setdefault("labels", {})
        sel = job["spec"].get("selector", {}).get("matchLabels") or {}
        labels.update(sel)
        labels.setdefault("job-name", job["metadata"]["name"])
        labels.setdefault("batch.kubernetes.io/job-name", job["metadata"]["name"])
        pod = {"metadata": {"generateName": f"{job['metadata']['name']}-",
                            "namespace": job["metadata"]["namespace"], "labels": labels,
                            "annotations": md.get("annotations") or {},
                            "ownerReferences": [owner_ref(job)]},
               "spec": template["spec"]}
        if not pod["metadata"]["annotations"]:
            del pod["metadata"]["annotations"]
        created = self.client.create("pods", pod, job["metadata"]["namespace"])
        self.recorder.normal(job, "SuccessfulCreate", f"Created pod: {created['metadata']['name']}")


__all__ = ["JobController", "selector_from_spec"]
