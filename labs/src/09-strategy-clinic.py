# %% [markdown]
# # Lab 09 · Strategy clinic: what really causes downtime?
#
# Lab 04 showed a rollout with zero failed requests. Which of its settings made the difference?
# Here you run the **same update** (podinfo 6.7.0 → 6.7.1, 4 replicas) five times. Each time one
# setting changes, and a probe measures what users would see.
#
# **Learning goals**
#
# - Measure failed requests, time without service, and rollout duration for five strategies.
# - Explain each result from how pods start, stop and join or leave a Service.
# - Know the recipe for zero-downtime updates, and what each part of it protects against.
#
# | variant | readiness probe | preStop pause | strategy |
# |---|---|---|---|
# | `no-probe` | no | no | RollingUpdate, maxSurge 25 %, maxUnavailable 25 % |
# | `readiness` | yes | no | RollingUpdate, maxSurge 25 %, maxUnavailable 25 % |
# | `readiness-prestop` | yes | 5 s | RollingUpdate, maxSurge 25 %, maxUnavailable 25 % |
# | `recreate` | yes | no | Recreate |
# | `max-unavailable-100` | yes | no | RollingUpdate, maxSurge 25 %, maxUnavailable 100 % |
#
# 25 % and 25 % are what you get when a Deployment does not say. With 4 replicas that means one
# extra pod and one missing pod at a time, so two pods change in each step.
#
# Each variant differs from `readiness` in one setting only, so each result has one cause.
# The files are in `manifests/clinic/`.
#
# One more detail: podinfo normally keeps serving for 3 seconds after it is told to stop. That
# hides the problem a preStop pause solves, and most apps do not do it. So every variant runs podinfo
# with `--level=debug`, which turns that pause off.

# %% [markdown]
# ## 1. Set up
#
# One namespace for all five variants. Each variant has its own Deployment and Service.

# %%
import time

from IPython.display import HTML, display

from helpers import checks, cluster, labkit, widgets
from helpers.kubectl import kubectl

LAB, NS = "09-strategy-clinic", "lab09-clinic"
V2 = "ghcr.io/stefanprodan/podinfo:6.7.1"
RATE = 50  # requests per second
c = labkit.start(LAB, NS)
results = {}

# %%
board = widgets.PodBoard(NS)
board

# %% [markdown]
# Each measurement below does the same five things:
#
# 1. `kubectl apply -f manifests/clinic/<variant>.yaml` and wait until all 4 pods serve;
# 2. start the probe (50 requests per second) on the variant's Service;
# 3. `kubectl set image deployment/<variant> podinfo=ghcr.io/stefanprodan/podinfo:6.7.1`;
# 4. wait for the rollout to finish, and a few seconds more for old pods to stop;
# 5. stop the probe and keep its numbers.
#
# The chart under each cell shows that run's traffic: answers by version, failures in red.

# %%
def run(variant: str, manifest: str):
    holder = {}

    def show(probe):
        holder["chart"] = widgets.TrafficChart(probe)
        display(holder["chart"])

    try:
        m = labkit.measure_update(variant, NS, labkit.manifest("clinic", manifest), V2,
                                  rate=RATE, on_probe=show)
    finally:
        if "chart" in holder:
            time.sleep(1.5)  # one last chart update
            labkit.stop(holder["chart"])
    results[variant] = m
    for step in m.steps:
        print(step)
    print("\n" + str(m))
    return m

# %% [markdown]
# ## 2. Variant 1: no readiness probe

# %%
run("no-probe", "1-no-probe.yaml");

# %% [markdown]
# Without a readiness probe, a pod counts as ready as soon as its process has started. podinfo
# needs a moment after that before it listens. The Service already sends it requests in that
# moment, and they are refused. Worse, the Deployment thinks the new pod is ready and removes an
# old one right away.

# %%
checks.check_deployment_ready(NS, "no-probe", replicas=4, image=V2)
kubectl("delete", "deployment,service", "no-probe", "-n", NS, "--wait=false")  # free its pods

# %% [markdown]
# ## 3. Variant 2: readiness probe

# %%
run("readiness", "2-readiness.yaml");

# %% [markdown]
# New pods now get traffic only once `/readyz` answers, so start-up is safe. The remaining risk is
# at the other end. When a pod is deleted, two things happen at the same time: it is removed from
# the Service's endpoints, and it receives SIGTERM. If the app stops before every node has heard
# about the removal, some requests still reach a pod that no longer listens. How many depends on
# how quickly endpoint changes travel on your cluster. You may see a few failures, or none.

# %%
checks.check_deployment_ready(NS, "readiness", replicas=4, image=V2)
kubectl("delete", "deployment,service", "readiness", "-n", NS, "--wait=false")  # free its pods

# %% [markdown]
# ## 4. Variant 3: readiness probe and a preStop pause

# %%
run("readiness-prestop", "3-readiness-prestop.yaml");

# %% [markdown]
# The `preStop` hook runs **before** SIGTERM. `sleep: {seconds: 5}` keeps the old pod serving for
# 5 more seconds while the endpoint removal spreads. Only then does the app get SIGTERM, and by then
# no new requests arrive. `terminationGracePeriodSeconds` must cover the pause plus the app's own
# shutdown, otherwise the pod is killed early.

# %%
checks.check_deployment_ready(NS, "readiness-prestop", replicas=4, image=V2)
kubectl("delete", "deployment,service", "readiness-prestop", "-n", NS, "--wait=false")  # free its pods

# %% [markdown]
# ## 5. Variant 4: Recreate

# %%
run("recreate", "4-recreate.yaml");

# %% [markdown]
# `Recreate` stops every old pod first, and starts the new ones only when the old ones are gone.
# Between the two there is no pod at all: every request fails until the first new pod is ready.
# Use it only when two versions must never run at the same time, and plan for the gap.

# %%
checks.check_deployment_ready(NS, "recreate", replicas=4, image=V2)
kubectl("delete", "deployment,service", "recreate", "-n", NS, "--wait=false")  # free its pods

# %% [markdown]
# ## 6. Variant 5: maxUnavailable 100 %

# %%
run("max-unavailable-100", "5-max-unavailable-100.yaml");

# %% [markdown]
# `maxUnavailable: 100%` allows the Deployment to remove every old pod at once, before any new
# pod is ready. It is a rolling update in name only: the result looks like Recreate.
# Remember how the two limits round: with 4 replicas, `maxSurge: 25%` gives 1 (rounded up),
# `maxUnavailable: 25%` gives 1 (rounded down), and `maxUnavailable: 100%` gives 4.

# %%
checks.check_deployment_ready(NS, "max-unavailable-100", replicas=4, image=V2)
kubectl("delete", "deployment,service", "max-unavailable-100", "-n", NS, "--wait=false")  # free its pods

# %% [markdown]
# ## 7. The results

# %%
display(HTML(labkit.results_table(results)))

# %%
figure = labkit.results_figure(results)
figure

# %% [markdown]
# How to read it:
#
# - **failed requests**: requests that got an error or no answer within 1 second.
# - **longest gap without service**: the longest time in which no request succeeded. Users feel this one.
# - **rollout duration**: from `set image` until `rollout status` said done. Safer is not always slower:
#   Recreate is quick because it does not wait for anything.
#
# The check below states what we expect: the safe recipe loses nothing, and the three naive variants
# (no probe, Recreate, maxUnavailable 100 %) lose requests.

# %%
checks.check_strategy_results(results, safe="readiness-prestop",
                              naive=["no-probe", "recreate", "max-unavailable-100"])

# %% [markdown]
# What did `readiness` (without the pause) do on your cluster? Compare it with `readiness-prestop`:

# %%
for name in ("readiness", "readiness-prestop"):
    print(results[name])
if results["readiness"].failures:
    print("\nThe race happened here: some requests reached pods that had already stopped.")
else:
    print("\nNo failures this time: endpoint removals reached this cluster's proxy before the old "
          "pods stopped listening. On the sandbox that takes milliseconds; with kube-proxy on a "
          "busy real cluster it can take a second or more. Run it a few times, or on another "
          "cluster: the preStop pause is what makes the result independent of that timing.")

# %% [markdown]
# **The recipe for zero-downtime rolling updates**
#
# 1. A **readiness probe**, so new pods get traffic only when they can serve.
# 2. **maxUnavailable 0** (or small) and **maxSurge 1** or more, so capacity never drops.
# 3. A **preStop pause** of a few seconds, so old pods leave the endpoints before they stop.
# 4. A **terminationGracePeriodSeconds** longer than the pause plus the app's shutdown.
# 5. Measure it. A rollout that "looks fine" in `kubectl get pods` can still drop requests.
#
# Note that `readiness-prestop` lost nothing even with the default `maxUnavailable: 25%`.
# Lab 04's `maxUnavailable: 0` is about capacity: with it, the app never runs on fewer pods
# than you asked for, which matters when the pods are busy.

# %% [markdown]
# ## 8. Clean up

# %%
labkit.stop(board, final=True)
cluster.delete_lab_namespace(NS)

# %%
checks.check_namespace_deleted(NS)

# %% [markdown]
# **Recap**
#
# - Requests fail at start-up without a readiness probe, and at shutdown without a preStop pause.
# - Recreate and maxUnavailable 100 % leave a gap with no pods at all.
# - Readiness probe + maxUnavailable 0 + preStop pause + enough grace period: zero failed requests.
#
# That is the end of the workshop. Well done!
