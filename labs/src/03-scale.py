# %% [markdown]
# # Lab 03 · Scale out and back in
#
# More users, more pods. Fewer users, fewer pods.
# In this lab you change the number of replicas from 2 to 4 and back to 2, first with
# `kubectl scale`, then with a slider. Then you find out which pods Kubernetes removes first, and why.
#
# **Learning goals**
#
# - Scale a Deployment with `kubectl scale` and with a live slider.
# - See that scaling changes only the number of pods: no new ReplicaSet, no new revision.
# - Predict which pods go first when you scale in.

# %% [markdown]
# ## 1. Set up

# %%
from helpers import checks, cluster, labkit, rollout, widgets
from helpers.kubectl import kubectl

LAB, NS = "03-scale", "lab03-scale"
c = labkit.start(LAB, NS)
rollout.apply(labkit.manifest("podinfo"), NS)

# %%
status = rollout.wait_for_rollout("podinfo", NS, timeout=180)

# %%
checks.check_deployment_ready(NS, "podinfo", replicas=2)

# %%
board = widgets.PodBoard(NS, "app=podinfo")
board

# %% [markdown]
# ## 2. Scale out to 4 with kubectl
#
# `kubectl scale` changes one field: the Deployment's `spec.replicas`.
# The ReplicaSet then starts two more pods. Watch the board.

# %%
kubectl("scale", "--replicas=4", "deployment/podinfo", "-n", NS)

# %%
status = rollout.wait_for_rollout("podinfo", NS, timeout=120)

# %%
kubectl("get", "pods", "-n", NS)

# %% [markdown]
# Still one ReplicaSet, now with `DESIRED 4`. Scaling does not create a new revision,
# because the pod template did not change.

# %%
kubectl("get", "replicaset", "-n", NS)

# %% [markdown]
# `kubectl describe deployment` says the same in words. Look at the `Replicas:` line and at the
# event `Scaled up replica set ... to 4` at the bottom.

# %%
kubectl("describe", "deployment", "podinfo", "-n", NS)

# %%
checks.check_deployment_ready(NS, "podinfo", replicas=4)

# %% [markdown]
# ## 3. Which pods go first?
#
# When a ReplicaSet has too many pods, it ranks them and deletes from the top of the list.
# Pods rank higher (go first) when they are:
#
# 1. not yet placed on a node;
# 2. still starting (Pending) rather than Running;
# 3. not ready rather than ready;
# 4. marked cheaper to delete with the annotation `controller.kubernetes.io/pod-deletion-cost`;
# 5. sharing a node with more pods of the same set;
# 6. **ready for a shorter time** (compared on a doubling scale: 1 s, 2 s, 4 s, 8 s ...);
# 7. restarted more often, or created more recently.
#
# Here every pod is placed, running and ready. On a one-node cluster such as the sandbox they
# also share a node, so rule 6 decides: **the pods that became ready most recently go first.**
# (With several nodes, rule 5 can decide first: a node running more of the pods loses one.) The old pods have warm caches and a
# proven track record, so the controller keeps them.
#
# Here are the pods now, oldest first, with how long each has been ready:

# %%
before = labkit.pod_table(NS, "app=podinfo")
before

# %% [markdown]
# ## 4. Scale back in to 2 with kubectl

# %%
kubectl("scale", "--replicas=2", "deployment/podinfo", "-n", NS)

# %%
after = labkit.wait_for_scale_in(NS, "app=podinfo", 2, timeout=120)
print("still serving:", after)

# %% [markdown]
# The two removed pods first show as `Terminating`: they finish their `preStop` pause and
# shut down cleanly. They already stopped getting new requests.

# %%
kubectl("get", "pods", "-n", NS)

# %%
labkit.check_scale_down_order(before, after)
checks.check_deployment_ready(NS, "podinfo", replicas=2)

# %% [markdown]
# ## 5. Now with the slider
#
# The slider below calls the same scale operation (it prints the `kubectl scale` command it stands for).
# It also follows changes made elsewhere, for example by the autoscaler in lab 07.
#
# Drag it to 4 and watch the board. The next cell does that for you, so the lab also runs unattended.

# %%
slider = widgets.ReplicaSlider("podinfo", NS, min=1, max=6)
slider

# %%
slider.set(4)
slider.wait()
status = rollout.wait_for_rollout("podinfo", NS, timeout=120)

# %%
checks.check_deployment_ready(NS, "podinfo", replicas=4)

# %% [markdown]
# Before scaling in again, note the ready times once more. Predict which two pods will go.

# %%
before = labkit.pod_table(NS, "app=podinfo")
before

# %%
slider.set(2)
slider.wait()
after = labkit.wait_for_scale_in(NS, "app=podinfo", 2, timeout=120)
print("still serving:", after)

# %%
labkit.check_scale_down_order(before, after)
checks.check_deployment_ready(NS, "podinfo", replicas=2)

# %% [markdown]
# ## 6. The Python call
#
# The slider uses `rollout.scale`. It sends the same request as `kubectl scale`:
# one patch of the Deployment's `scale` subresource.

# %%
rollout.scale("podinfo", NS, 3)

# %%
status = rollout.wait_for_rollout("podinfo", NS, timeout=120)
checks.check_deployment_ready(NS, "podinfo", replicas=3)

# %% [markdown]
# Still one revision in the history: scaling never creates one.

# %%
kubectl("rollout", "history", "deployment/podinfo", "-n", NS)

# %%
checks.check_history(NS, "podinfo", min_revisions=1)

# %% [markdown]
# ## 7. Clean up

# %%
labkit.stop(board, slider, final=True)
cluster.delete_lab_namespace(NS)

# %%
checks.check_namespace_deleted(NS)

# %% [markdown]
# **Recap**
#
# - `kubectl scale` (or the slider) changes `spec.replicas`; the ReplicaSet adds or removes pods.
# - Scaling is not a rollout: same template, same ReplicaSet, same revision.
# - On scale-in, pods that are not ready, or were ready most recently, are removed first.
#
# Next: **Lab 04 · Roll out a new version**.
