"""Dynamic provisioning and binding of PersistentVolumeClaims, like a hostpath provisioner.

A claim naming a StorageClass (or none, when a default class exists) gets a fresh volume
`pvc-<claim uid>` backed by a directory in the state dir; both end up Bound. Deleting the
claim deletes the volume when its reclaim policy is Delete.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ..apiserver.errors import ApiError
from ..util import rfc3339
from .base import Controller, ns_name_key, split_key
from .events import EventRecorder

DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"


class PersistentVolumeBinder(Controller):
    name = "persistentvolume-binder"
    resync_period = 15.0

    def __init__(self, client, config=None):
        super().__init__(client, config)
        self.recorder = EventRecorder(client, "persistentvolume-controller")

    def watches(self):
        def claims(ev):
            if ev.type == "DELETED":
                return [f"pv/pvc-{ev.object['metadata']['uid']}"]
            return [ns_name_key(ev.object)]

        def volumes(ev):
            ref = ev.object.get("spec", {}).get("claimRef")
            if ref and ev.type == "DELETED":
                return []
            return [f"pv/{ev.object['metadata']['name']}"] if ev.type != "DELETED" else []

        return {"persistentvolumeclaims": claims, "persistentvolumes": volumes}

    def initial_keys(self):
        keys = [ns_name_key(c) for c in self.client.scan("persistentvolumeclaims")]
        keys += [f"pv/{v['metadata']['name']}" for v in self.client.scan("persistentvolumes")]
        return keys

    def _class(self, name: str | None) -> dict | None:
        classes = self.client.scan("storageclasses")
        if name:
            return next((c for c in classes if c["metadata"]["name"] == name), None)
        return next((c for c in classes if (c["metadata"].get("annotations") or {}).get(
            DEFAULT_CLASS_ANNOTATION) == "true"), None)

    async def sync(self, key: str) -> float | None:
        if key.startswith("pv/"):
            return self._sync_volume(key[3:])
        ns, name = split_key(key)
        claim = self.client.try_get("persistentvolumeclaims", ns, name)
        if claim is None or claim["metadata"].get("deletionTimestamp"):
            return None
        if claim.get("status", {}).get("phase") == "Bound":
            return None
        spec = claim.setdefault("spec", {})
        sc = self._class(spec.get("storageClassName"))
        if sc is None:
            if spec.get("storageClassName"):
                self.recorder.warning(claim, "ProvisioningFailed",
                                      f'storageclass.storage.k8s.io "{spec["storageClassName"]}" '
                                      "not found")
            else:
                self.recorder.normal(claim, "FailedBinding",
                                     "no persistent volumes available for this claim and no "
                                     "storage class is set")
            return 15.0
        pv_name = f"pvc-{claim['metadata']['uid']}"
        size = ((spec.get("resources") or {}).get("requests") or {}).get("storage", "1Gi")
        pv = self.client.try_get("persistentvolumes", None, pv_name)
        if pv is None:
            path = str(self.config.state_dir / "volumes" / pv_name)
            try:
                pv = self.client.create("persistentvolumes", {
                    "metadata": {"name": pv_name, "annotations": {
                        "pv.kubernetes.io/provisioned-by": sc.get("provisioner", "")}},
                    "spec": {"capacity": {"storage": size},
                             "accessModes": list(spec.get("accessModes") or ["ReadWriteOnce"]),
                             "persistentVolumeReclaimPolicy": sc.get("reclaimPolicy", "Delete"),
                             "storageClassName": sc["metadata"]["name"],
                             "volumeMode": spec.get("volumeMode", "Filesystem"),
                             "hostPath": {"path": path, "type": ""},
                             "claimRef": {"kind": "PersistentVolumeClaim", "apiVersion": "v1",
                                          "namespace": ns, "name": name,
                                          "uid": claim["metadata"]["uid"],
                                          "resourceVersion": claim["metadata"]["resourceVersion"]}}})
            except ApiError as e:
                if e.code != 409:
                    raise
                return 0.1
            self.recorder.normal(claim, "ProvisioningSucceeded",
                                 f"Successfully provisioned volume {pv_name}")
        if pv.get("status", {}).get("phase") != "Bound":
            pv.setdefault("status", {})["phase"] = "Bound"
            pv["status"]["lastPhaseTransitionTime"] = rfc3339()
            self.client.update_status("persistentvolumes", pv)
        spec["volumeName"] = pv_name
        spec.setdefault("storageClassName", sc["metadata"]["name"])
        ann = claim["metadata"].setdefault("annotations", {})
        ann["pv.kubernetes.io/bind-completed"] = "yes"
        ann["pv.kubernetes.io/bound-by-controller"] = "yes"
        ann["volume.kubernetes.io/storage-provisioner"] = sc.get("provisioner", "")
        claim = self.client.update("persistentvolumeclaims", claim)
        claim["status"] = {"phase": "Bound", "accessModes": pv["spec"]["accessModes"],
                           "capacity": {"storage": size}}
        self.client.update_status("persistentvolumeclaims", claim)
        return None

    def _sync_volume(self, name: str) -> float | None:
        pv = self.client.try_get("persistentvolumes", None, name)
        if pv is None:
            return None
        ref = pv.get("spec", {}).get("claimRef")
        if not ref:
            return None
        claim = self.client.peek("persistentvolumeclaims", ref.get("namespace"), ref["name"])
        if claim is not None and claim["metadata"].get("uid") == ref.get("uid"):
            return None
        if pv["spec"].get("persistentVolumeReclaimPolicy", "Delete") == "Delete":
            self.client.delete("persistentvolumes", None, name)
            root = (self.config.state_dir / "volumes").resolve()
            path = Path(pv["spec"].get("hostPath", {}).get("path", "/nonexistent")).resolve()
            if root in path.parents:  # only ever remove what this provisioner created
                shutil.rmtree(path, ignore_errors=True)
        elif pv.get("status", {}).get("phase") != "Released":
            pv["status"] = {"phase": "Released", "lastPhaseTransitionTime": rfc3339()}
            self.client.update_status("persistentvolumes", pv)
        return None
