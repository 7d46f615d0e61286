# %% [markdown]
# # Lab 08 · Roll out a StatefulSet
#
# Some apps need pods with a fixed identity: a stable name, a stable network name, and a disk that
# stays with them. That is what a **StatefulSet** gives you. Its updates work differently from a
# Deployment's: one pod at a time, from the highest number down, and no extra pods.
#
# **Learning goals**
#
# - Update a StatefulSet with `kubectl set image` and follow it with `kubectl rollout status`.
# - Observe the reverse-ordinal order: `web-2`, then `web-1`, then `web-0`.
# - Undo an update with `kubectl rollout undo statefulset/...`.
# - Use `partition` to try a new version on one pod first (a canary), then roll it out to the rest.

# %% [markdown]
# ## 1. A StatefulSet with three pods
#
# `manifests/statefulset/web.yaml` holds two objects:
#
# - a **headless** Service `web` (`clusterIP: None`): every pod gets a DNS name such as `web-0.web`;
# - the StatefulSet `web`: three podinfo pods, each with its own volume from `volumeClaimTemplates`.

# %%
from helpers import checks, cluster, labkit, rollout, widgets
from helpers.kubectl import kubectl

LAB, NS = "08-statefulset", "lab08-statefulset"
V1 = "ghcr.io/stefanprodan/podinfo:6.7.0"
V2 = "ghcr.io/stefanprodan/podinfo:6.7.1"
c = labkit.start(LAB, NS)

# %%
kubectl("apply", "-f", labkit.manifest("statefulset", "web.yaml"), "-n", NS)

# %% [markdown]
# The pods start in order: `web-1` only once `web-0` is ready, and so on.

# %%
board = widgets.PodBoard(NS, "app=web")
board

# %%
kubectl("rollout", "status", "statefulset/web", "-n", NS, "--timeout=240s", timeout=260)

# %% [markdown]
# Each pod has its own PersistentVolumeClaim, named after the template and the pod.
# The claims survive pod restarts and updates: a replaced `web-1` gets `data-web-1` back.

# %%
kubectl("get", "pods,pvc", "-n", NS)

# %%
checks.check_statefulset_updated(NS, "web", V1)

# %% [markdown]
# ## 2. Update the image
#
# ```bash
# kubectl set image statefulset/web podinfo=ghcr.io/stefanprodan/podinfo:6.7.1 -n lab08-statefulset
# ```
#
# The StatefulSet replaces one pod at a time. It deletes the pod, waits until it is gone, creates
# it again with the new template, and waits until it is ready before moving to the next one.
# It starts at the highest ordinal.

# %%
kubectl("set", "image", "statefulset/web", f"podinfo={V2}", "-n", NS)

# %% [markdown]
# The next cell records the order in which the pods come back with the new image.

# %%
order = labkit.statefulset_update_order(NS, "web", V2, replicas=3, timeout=240)
order

# %%
kubectl("rollout", "status", "statefulset/web", "-n", NS, "--timeout=120s", timeout=140)

# %%
labkit.check_update_order(order, ["web-2", "web-1", "web-0"])
checks.check_statefulset_updated(NS, "web", V2)

# %% [markdown]
# Each pod can also be called on its own. The API server forwards requests to a single pod, the
# same path `kubectl proxy` would serve on `localhost:8001`. Every pod now reports 6.7.1:

# %%
for i in range(3):
    display(kubectl("get", "--raw", f"/api/v1/namespaces/{NS}/pods/web-{i}:9898/proxy/version"))

# %% [markdown]
# Why from the top down? Apps such as databases often treat the lowest ordinal as the leader.
# Updating it last keeps the leader stable for as long as possible.

# %% [markdown]
# ## 3. History and undo
#
# A StatefulSet keeps its revisions as **ControllerRevision** objects, not as ReplicaSets.
# `kubectl rollout history` lists them. (Older kubectl versions print only the REVISION column here.)

# %%
kubectl("rollout", "history", "statefulset/web", "-n", NS)

# %%
kubectl("get", "controllerrevisions", "-n", NS)

# %% [markdown]
# Undo works as for Deployments. The pods roll back in the same top-down order.

# %%
kubectl("rollout", "undo", "statefulset/web", "-n", NS)

# %%
order = labkit.statefulset_update_order(NS, "web", V1, replicas=3, timeout=240)
order

# %%
labkit.check_update_order(order, ["web-2", "web-1", "web-0"])
checks.check_statefulset_updated(NS, "web", V1)

# %% [markdown]
# ## 4. A canary with `partition`
#
# `spec.updateStrategy.rollingUpdate.partition` holds back part of the update: only pods with an
# ordinal **greater than or equal to** the partition get the new template. With 3 pods and
# partition 2, only `web-2` updates. It is your canary.

# %%
rollout.set_partition("web", NS, 2)

# %%
kubectl("set", "image", "statefulset/web", f"podinfo={V2}", "-n", NS)

# %%
order = labkit.statefulset_update_order(NS, "web", V2, replicas=3, partition=2, timeout=180)
order

# %% [markdown]
# `kubectl rollout status` knows about partitions: it reports the partitioned rollout as complete
# once the pods above the partition are done.

# %%
kubectl("rollout", "status", "statefulset/web", "-n", NS, "--timeout=60s", timeout=80)

# %%
kubectl("get", "pods", "-n", NS, "-o",
        "custom-columns=POD:.metadata.name,IMAGE:.spec.containers[0].image,"
        "REVISION:.metadata.labels.controller-revision-hash")

# %%
checks.check_statefulset_updated(NS, "web", V2, partition=2)

# %% [markdown]
# The canary looks good? Lower the partition to 0 and the rest follow, again from the top down.
# (Had it looked bad, you would set the image back, and only `web-2` would change again.)

# %%
rollout.set_partition("web", NS, 0)

# %%
order = labkit.statefulset_update_order(NS, "web", V2, replicas=3, timeout=240)
order

# %%
labkit.check_update_order(order, ["web-2", "web-1", "web-0"])
checks.check_statefulset_updated(NS, "web", V2)

# %%
kubectl("rollout", "status", "statefulset/web", "-n", NS, "--timeout=60s", timeout=80)

# %% [markdown]
# The volumes were never replaced: still the same three claims.

# %%
kubectl("get", "pvc", "-n", NS)

# %% [markdown]
# ## 5. Clean up
#
# Deleting the namespace also deletes the claims and their volumes.
# (Deleting only the StatefulSet would keep the claims, on purpose: data outlives pods.)

# %%
labkit.stop(board, final=True)
cluster.delete_lab_namespace(NS)

# %%
checks.check_namespace_deleted(NS)

# %% [markdown]
# **Recap**
#
# - StatefulSet pods have stable names, DNS names and volumes.
# - Updates go one pod at a time, from the highest ordinal to the lowest, without extra pods.
# - `partition` turns the highest pods into a canary; lowering it finishes the rollout.
# - `kubectl rollout status|history|undo` work on StatefulSets too.
#
# Next: **Lab 09 · Strategy clinic**.
