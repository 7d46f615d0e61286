# %% [markdown]
# # Lab 02 · Self-healing
#
# A Deployment promises a number of pods. What if one of them disappears?
# In this lab you delete a pod on purpose, watch Kubernetes replace it, and time how long that takes.
#
# **Learning goals**
#
# - See the chain Deployment → ReplicaSet → Pods, and who replaces a missing pod.
# - Delete a pod with `kubectl` and with the Python client, and measure the recovery time.
# - Check that the app kept answering while one pod was gone.
# - See that a pod without a controller does not come back.

# %% [markdown]
# ## 1. Set up
#
# The same app as in lab 01: podinfo with two replicas and a Service, in namespace `lab02-self-heal`.

# %%
import time

from helpers import checks, cluster, labkit, rollout, traffic, widgets
from helpers.kubectl import kubectl

LAB, NS = "02-self-heal", "lab02-self-heal"
c = labkit.start(LAB, NS)
rollout.apply(labkit.manifest("podinfo"), NS)

# %%
status = rollout.wait_for_rollout("podinfo", NS, timeout=180)

# %%
checks.check_deployment_ready(NS, "podinfo", replicas=2)

# %% [markdown]
# ## 2. Who owns the pods?
#
# The Deployment does not create pods itself. It creates a **ReplicaSet**, and the ReplicaSet
# creates the pods. The ReplicaSet's only job is to keep the number of pods right.

# %%
kubectl("get", "replicaset", "-n", NS)

# %% [markdown]
# Every pod names its owner in `metadata.ownerReferences`:

# %%
victim = labkit.serving_pods(NS, "app=podinfo")[0]["metadata"]["name"]
kubectl("get", "pod", victim, "-n", NS, "-o",
        "jsonpath={.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name}")

# %% [markdown]
# ## 3. Watch, and keep traffic flowing
#
# Before we break anything, start two live views:
#
# - the **pod board**, one tile per pod;
# - a **traffic probe**: a steady stream of requests to the Service, 20 per second, with a chart.
#   Blue bars are answers, red bars would be failed requests.

# %%
board = widgets.PodBoard(NS, "app=podinfo")
board

# %%
probe = traffic.Probe("podinfo", NS, rate=20).start()
chart = widgets.TrafficChart(probe)
chart

# %% [markdown]
# ## 4. Delete a pod with kubectl
#
# `--wait=false` returns at once instead of waiting until the pod is completely gone.
# We note the time, then wait until two pods serve again and one of them is new.

# %%
before = {p["metadata"]["name"] for p in labkit.serving_pods(NS, "app=podinfo")}
t0 = time.monotonic()
kubectl("delete", "pod", victim, "-n", NS, "--wait=false")

# %% [markdown]
# Look at the pod board: the deleted pod fades out (it is shutting down) while a new tile
# appears, striped first, then solid.

# %%
recovery = labkit.measure_recovery(NS, "app=podinfo", 2, victim, t0, known=before, timeout=90)
print(recovery)

# %%
checks.check_self_healed(NS, "podinfo", victim)

# %% [markdown]
# Most of the recovery time is the new pod starting: pulling the image (if the node does not
# have it yet), starting the process, and passing the readiness probe.
#
# The ReplicaSet reports what it did as events:

# %%
kubectl("get", "events", "-n", NS, "--field-selector", "involvedObject.kind=ReplicaSet")

# %% [markdown]
# ## 5. Did anyone notice?
#
# The probe sent requests the whole time. Let it collect a few more seconds, then stop it.

# %%
probe.wait_for(300, timeout=60)
summary = probe.stop()
summary

# %% [markdown]
# Zero failures is not luck. Three settings in the Deployment make it happen:
#
# 1. While one pod shut down, the other one kept serving: two replicas, not one.
# 2. A deleted pod leaves the Service's endpoints first. Its `preStop` pause keeps it answering
#    a few more seconds, so requests already on their way still succeed.
# 3. The new pod got traffic only after its readiness probe passed.

# %%
checks.check_zero_downtime(summary, min_requests=300)

# %% [markdown]
# ## 6. The same with Python
#
# The official Kubernetes Python client has a call for every `kubectl` verb.
# `kubectl delete pod <name>` is `delete_namespaced_pod(<name>, <namespace>)`.

# %%
victim = labkit.serving_pods(NS, "app=podinfo")[0]["metadata"]["name"]
before = {p["metadata"]["name"] for p in labkit.serving_pods(NS, "app=podinfo")}
t0 = time.monotonic()
c.core.delete_namespaced_pod(victim, NS)
print(f"deleted {victim}  (same as: kubectl delete pod {victim} -n {NS})")

# %%
recovery2 = labkit.measure_recovery(NS, "app=podinfo", 2, victim, t0, known=before, timeout=90)
print(recovery2)

# %% [markdown]
# The second recovery is often faster: the image is already on the node.

# %%
checks.check_self_healed(NS, "podinfo", victim)

# %% [markdown]
# ## 7. A pod nobody owns
#
# `kubectl run` creates a bare pod, with no ReplicaSet behind it. Delete it and nothing replaces it.

# %%
kubectl("run", "lonely", "-n", NS, "--image=ghcr.io/stefanprodan/podinfo:6.7.0",
        "--command", "--", "./podinfo", "--port=9898")

# %%
labkit.wait_until(lambda: labkit.serving_pods(NS, "run=lonely"), timeout=90, what="pod lonely Ready")
kubectl("delete", "pod", "lonely", "-n", NS, "--wait=false")

# %%
time.sleep(3)
kubectl("get", "pods", "-n", NS)

# %% [markdown]
# No new `lonely` pod. (The old one may still show as `Terminating` for a few seconds while it
# shuts down.) Only controllers (ReplicaSets, StatefulSets, Jobs...) bring pods back.
# That is why you run apps as Deployments, never as bare pods.

# %%
checks.check_deleted(NS, "pod", "lonely")

# %% [markdown]
# ## 8. Clean up

# %%
labkit.stop(board, chart, probe, final=True)
cluster.delete_lab_namespace(NS)

# %%
checks.check_namespace_deleted(NS)

# %% [markdown]
# **Recap**
#
# - The ReplicaSet compares the pods it has with the number it wants, and creates or deletes pods to match.
# - Recovery time is mostly pod start-up time: image pull, process start, readiness.
# - With two replicas, a readiness probe and a short preStop pause, losing one pod costs no requests.
#
# Next: **Lab 03 · Scale**.
